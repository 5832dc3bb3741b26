//! One loaded containers.yaml: the typed model for reading, the document
//! for edits.
//!
//! Within a transaction `config()` is the file as it was when the lock was
//! taken; edits go to the document only, and the manager validates the
//! edited text (parsing it with the typed model) before saving it. Commands
//! therefore check first, then edit. The document is parsed on the first
//! edit: read-only loads never pay for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::devices::Spec;
use super::document::{Document, Frozen, Value};
use super::ledger::{ContainerState, DeviceState, Effect, SnapshotState, Step, Target};
use super::model::{Config, Container, Operation, Port, SyncEntry};
use super::names;
use super::progress::{self, Progress};
use crate::error::Error;

/// The dev user when the file names none (lxc-dev-manager's default).
pub const DEFAULT_USER: &str = "dev";

pub struct Project {
    path: PathBuf,
    loaded_text: String,
    doc: Option<Document>,
    /// The document of `loaded_text`, when the manager kept one from an
    /// earlier transaction: thawed instead of parsed.
    frozen: Option<Frozen>,
    config: Arc<Config>,
}

/// What lxdev records about a container it is about to create.
pub struct NewContainer<'a> {
    pub image: &'a str,
    pub owner: &'a str,
    pub created_at: &'a str,
    /// `SOURCE` or `SOURCE/SNAPSHOT` for clones.
    pub cloned_from: Option<&'a str>,
    /// The runtime it is made on.
    pub runtime: &'a str,
}

impl Project {
    pub(super) fn new(
        path: PathBuf,
        text: String,
        config: Arc<Config>,
        frozen: Option<Frozen>,
    ) -> Project {
        Project {
            path,
            loaded_text: text,
            doc: None,
            frozen,
            config,
        }
    }

    /// The text of a new project file, commented for the people who will
    /// edit it, with `ports` as `defaults.ports` (`8080` as a number, like
    /// lxc-dev-manager writes it; `"8080:80"` as a string).
    pub fn initial_text(project: &str, runtime: Option<&str>, ports: &[Port]) -> String {
        let runtime_line = runtime
            .map(|r| format!("runtime: {}\n", super::document::quote(r)))
            .unwrap_or_default();
        let ports: Vec<String> = ports
            .iter()
            .map(|p| match p.host == p.container {
                true => p.host.to_string(),
                false => super::document::quote(&p.to_string()),
            })
            .collect();
        format!(
            "# Dev containers of this project, managed by lxdev (compatible with lxc-dev-manager).\n\
             # Runtime containers are named <project>-<name>. Edit by hand freely:\n\
             # lxdev keeps comments, key order and keys it does not know.\n\
             project: {}\n\
             {runtime_line}\
             defaults:\n  ports: [{}]\n\
             containers: {{}}\n",
            super::document::quote(project),
            ports.join(", ")
        )
    }

    /// The file as loaded at the start of this transaction.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Reads the step notes of every create in flight over the file's
    /// records (see `config::progress`).
    pub fn read_all_notes(&mut self, progress: &Progress) {
        self.config = progress::overlay(progress, Arc::clone(&self.config));
    }

    /// Reads the step notes of containers `names` only: a transaction's
    /// view of the entries it settles.
    pub fn read_notes(&mut self, progress: &Progress, names: &[&str]) {
        self.config = progress::overlay_named(progress, Arc::clone(&self.config), names);
    }

    pub fn name(&self) -> &str {
        &self.config.project
    }

    /// The path of containers.yaml.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory that holds containers.yaml.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The runtime's name for container `name`.
    pub fn instance_name(&self, name: &str) -> String {
        names::instance_name(&self.config.project, name)
    }

    /// The runtime container `name` lives on: its own `runtime`, else the
    /// file's; `None` for an entry nothing says anything about (written by
    /// lxc-dev-manager or by hand in a file without `runtime:`).
    pub fn runtime_of(&self, name: &str) -> Option<&str> {
        let entry = self.config.containers.get(name)?;
        entry.runtime.as_deref().or(self.config.runtime.as_deref())
    }

    /// The dev user of container `name` and its password, if the file gives
    /// one: `containers.<name>.user`, else `defaults.user`, else `dev` with
    /// none (lxc-dev-manager's rule, without its shared default password).
    pub fn dev_user(&self, name: &str) -> (String, Option<String>) {
        let entry = self
            .config
            .containers
            .get(name)
            .and_then(|c| c.user.as_ref());
        let defaults = self.config.defaults.user.as_ref();
        let user = entry
            .and_then(|u| u.name.clone())
            .or_else(|| defaults.and_then(|u| u.name.clone()))
            .unwrap_or_else(|| DEFAULT_USER.to_string());
        let password = entry
            .and_then(|u| u.password.clone())
            .or_else(|| defaults.and_then(|u| u.password.clone()));
        (user, password)
    }

    /// The storage pool the instance of container `name` is made on:
    /// `containers.<name>.storage`, else the file's `storage:`; `None`: the
    /// runtime's default profile's pool (lxc-dev-manager's files).
    pub fn storage(&self, name: &str) -> Option<&str> {
        self.config
            .containers
            .get(name)
            .and_then(|c| c.storage.as_deref())
            .or(self.config.storage.as_deref())
    }

    /// The container `name`, or a not-found error naming the file.
    pub fn container(&self, name: &str) -> Result<&Container, Error> {
        self.config
            .containers
            .get(name)
            .map(|c| &**c)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no container `{name}` in `{}`",
                    self.path.display()
                ))
            })
    }

    /// The edited text, if any edit changed it, with its document.
    pub(super) fn edited(&self) -> Option<(String, Frozen)> {
        let doc = self.doc.as_ref()?;
        let text = doc.text();
        (text != self.loaded_text).then(|| (text, doc.freeze()))
    }

    /// The record `target` names, if the file has it: its state word (or
    /// `None` when ready), its operation and its error.
    pub fn record(&self, target: &Target) -> Option<Record<'_>> {
        let container = self.config.containers.get(target.container())?;
        Some(match target {
            Target::Container(_) => Record {
                state: container.state.map(ContainerState::as_str),
                effect: container
                    .state
                    .and_then(|s| s.effect(container.operation.as_ref().map(|op| op.kind))),
                operation: container.operation.as_ref(),
                error: container.error.as_deref(),
            },
            Target::Snapshot(_, snapshot) => {
                let snap = container.snapshots.get(snapshot)?;
                Record {
                    state: snap.state.map(SnapshotState::as_str),
                    effect: snap.state.and_then(SnapshotState::effect),
                    operation: snap.operation.as_ref(),
                    error: snap.error.as_deref(),
                }
            }
            Target::Device(_, device) => {
                let device = container.devices.get(device)?;
                Record {
                    state: device.state.map(DeviceState::as_str),
                    effect: device
                        .state
                        .and_then(|s| s.effect(device.operation.as_ref().map(|op| op.kind))),
                    operation: device.operation.as_ref(),
                    error: device.error.as_deref(),
                }
            }
        })
    }

    // --- Edits. Paths are chains of mapping keys from the root. ---

    /// Records a new container in one edit: in flight with `op` (`creating`),
    /// or ready when `op` is `None` (adopted by `doctor --fix`).
    pub fn insert_container(
        &mut self,
        name: &str,
        new: &NewContainer<'_>,
        op: Option<&Operation>,
    ) -> Result<()> {
        let mut fields = vec![
            ("image", Value::Str(new.image)),
            ("owner", Value::Str(new.owner)),
            ("created_at", Value::Str(new.created_at)),
        ];
        if let Some(source) = new.cloned_from {
            fields.push(("cloned_from", Value::Str(source)));
        }
        // A file that names its runtime speaks for every entry; in one that
        // does not (lxc-dev-manager's), each entry remembers its own.
        if self.config.runtime.is_none() {
            fields.push(("runtime", Value::Str(new.runtime)));
        }
        let operation = op.map(operation_fields);
        if let Some(operation) = &operation {
            fields.push(("state", Value::Str(ContainerState::Creating.as_str())));
            fields.push(("operation", Value::Map(operation)));
        }
        let path = ["containers", name];
        self.edit(&path)?.set(&path, Value::Map(&fields))
    }

    /// Records a new snapshot in one edit: in flight with `op` (`creating`),
    /// or ready when `op` is `None`.
    pub fn insert_snapshot(
        &mut self,
        container: &str,
        snapshot: &str,
        description: Option<&str>,
        created_at: &str,
        op: Option<&Operation>,
    ) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(description) = description {
            fields.push(("description", Value::Str(description)));
        }
        fields.push(("created_at", Value::Str(created_at)));
        let operation = op.map(operation_fields);
        if let Some(operation) = &operation {
            fields.push(("state", Value::Str(SnapshotState::Creating.as_str())));
            fields.push(("operation", Value::Map(operation)));
        }
        let path = ["containers", container, "snapshots", snapshot];
        self.edit(&path)?.set(&path, Value::Map(&fields))
    }

    /// Records a new device of `container` in one edit, in flight with `op`
    /// (`adding`), or ready when `op` is `None` (adopted from the runtime).
    pub fn insert_device(
        &mut self,
        container: &str,
        device: &str,
        spec: &Spec,
        op: Option<&Operation>,
    ) -> Result<()> {
        let config: Vec<(&str, Value<'_>)> = spec
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), Value::Str(v)))
            .collect();
        let mut fields = vec![
            ("type", Value::Str(&spec.kind)),
            ("config", Value::Map(&config)),
        ];
        let operation = op.map(operation_fields);
        if let Some(operation) = &operation {
            fields.push(("state", Value::Str(DeviceState::Adding.as_str())));
            fields.push(("operation", Value::Map(operation)));
        }
        let path = ["containers", container, "devices", device];
        self.edit(&path)?.set(&path, Value::Map(&fields))
    }

    /// Records that `sync` pushes host `source` to `dest` in `container`:
    /// an entry with the same source gets the new dest in its place
    /// (lxc-dev-manager's rule), else one is added at the end. Returns the
    /// dest it replaced, if any.
    pub fn add_sync(
        &mut self,
        container: &str,
        source: &str,
        dest: &str,
    ) -> Result<Option<String>> {
        let mut entries = self.container(container)?.sync.clone();
        let replaced = match entries.iter_mut().find(|e| e.source == source) {
            Some(entry) => Some(std::mem::replace(&mut entry.dest, dest.to_string())),
            None => {
                entries.push(SyncEntry {
                    source: source.to_string(),
                    dest: dest.to_string(),
                });
                None
            }
        };
        self.write_sync(container, &entries)?;
        Ok(replaced)
    }

    /// Forgets the `sync` entry of `container` whose source is `source`;
    /// `sync:` goes with its last entry (lxc-dev-manager omits it empty).
    /// Returns whether there was one.
    pub fn remove_sync(&mut self, container: &str, source: &str) -> Result<bool> {
        let mut entries = self.container(container)?.sync.clone();
        let before = entries.len();
        entries.retain(|e| e.source != source);
        if entries.len() == before {
            return Ok(false);
        }
        self.write_sync(container, &entries)?;
        Ok(true)
    }

    fn write_sync(&mut self, container: &str, entries: &[SyncEntry]) -> Result<()> {
        let path = ["containers", container, "sync"];
        if entries.is_empty() {
            self.edit(&path)?.remove(&path)?;
            return Ok(());
        }
        let fields: Vec<[(&str, Value<'_>); 2]> = entries
            .iter()
            .map(|e| {
                [
                    ("source", Value::Str(&e.source)),
                    ("dest", Value::Str(&e.dest)),
                ]
            })
            .collect();
        let items: Vec<&[(&str, Value<'_>)]> = fields.iter().map(|f| &f[..]).collect();
        self.edit(&path)?.set(&path, Value::MapList(&items))
    }

    /// Marks an existing record as busy: `state` and the operation doing it.
    pub fn begin(&mut self, target: &Target, state: impl StateWord, op: &Operation) -> Result<()> {
        let base = target.path();
        self.set(&base, "state", Value::Str(state.word()))?;
        self.set(&base, "operation", Value::Map(&operation_fields(op)))?;
        self.remove_key(&base, "error")
    }

    /// Records the provisioning step the operation on `target` is at.
    pub fn set_step(&mut self, target: &Target, step: Step) -> Result<()> {
        let mut path = target.path();
        path.push("operation");
        self.set(&path, "step", Value::Str(step.as_str()))
    }

    /// Records the provisioning steps container `name` has not done yet
    /// (see `Container::pending_steps`); none removes the key.
    pub fn set_pending_steps(&mut self, name: &str, steps: &[Step]) -> Result<()> {
        if steps.is_empty() {
            return self.remove_key(&["containers", name], "pending_steps");
        }
        let words: Vec<&str> = steps.iter().map(|s| s.as_str()).collect();
        self.set(&["containers", name], "pending_steps", Value::Words(&words))
    }

    /// Records (or clears) what provisioning could not do on `name`.
    pub fn set_warning(&mut self, name: &str, warning: Option<&str>) -> Result<()> {
        match warning {
            Some(text) => self.set(&["containers", name], "warning", Value::Str(text)),
            None => self.remove_key(&["containers", name], "warning"),
        }
    }

    /// The operation on `target` is over and it is ready (a container
    /// has no provisioning step left either).
    pub fn finish(&mut self, target: &Target) -> Result<()> {
        let base = target.path();
        for key in ["state", "operation", "error"] {
            self.remove_key(&base, key)?;
        }
        if let Target::Container(name) = target {
            self.set_pending_steps(name, &[])?;
        }
        Ok(())
    }

    /// `target` is failed with `error`: the runtime may be left half done.
    pub fn fail(&mut self, target: &Target, error: &str) -> Result<()> {
        let base = target.path();
        // The steps not done, as read (a step note may have said more than
        // the file's record): kept in the file once the note is gone.
        if let Target::Container(name) = target {
            let pending = self
                .config()
                .containers
                .get(name)
                .map(|c| c.pending_steps.clone())
                .unwrap_or_default();
            if !pending.is_empty() {
                self.set_pending_steps(name, &pending)?;
            }
        }
        self.remove_key(&base, "operation")?;
        let failed = match target {
            Target::Container(_) => ContainerState::Failed.as_str(),
            Target::Snapshot(..) => SnapshotState::Failed.as_str(),
            Target::Device(..) => DeviceState::Failed.as_str(),
        };
        self.set(&base, "state", Value::Str(failed))?;
        self.set(&base, "error", Value::Str(error))
    }

    /// Drops the record. A snapshot's `snapshots:` goes with its last entry,
    /// so rolling back a first snapshot restores the file byte for byte
    /// (lxc-dev-manager omits an empty `snapshots` too).
    pub fn remove(&mut self, target: &Target) -> Result<()> {
        let path = target.path();
        let doc = self.edit(&path)?;
        doc.remove(&path)?;
        if let Target::Snapshot(..) | Target::Device(..) = target {
            let section = &path[..3];
            if doc.is_empty_mapping(section)? {
                doc.remove(section)?;
            }
        }
        Ok(())
    }

    /// The document, parsed on first use.
    fn doc(&mut self) -> Result<&mut Document> {
        if self.doc.is_none()
            && let Some(frozen) = self.frozen.take()
        {
            self.doc = Some(frozen.thaw());
        }
        if self.doc.is_none() {
            // The typed model accepted this text; should the editor not,
            // the file is still reported as the user's to fix.
            let doc = Document::parse(&self.loaded_text).map_err(|err| {
                Error::InvalidConfig(format!("invalid `{}`: {err:#}", self.path.display()))
            })?;
            self.doc = Some(doc);
        }
        Ok(self.doc.as_mut().expect("parsed above"))
    }

    /// The document, once an edit at `path` is known not to change any
    /// other part of the file through YAML anchors.
    fn edit(&mut self, path: &[&str]) -> Result<&mut Document> {
        let file = self.path.display().to_string();
        let doc = self.doc()?;
        doc.check_unshared(path)
            .with_context(|| format!("cannot change `{file}`"))?;
        Ok(doc)
    }

    fn set(&mut self, base: &[&str], key: &str, value: Value<'_>) -> Result<()> {
        let path: Vec<&str> = base.iter().copied().chain([key]).collect();
        self.edit(&path)?.set(&path, value)
    }

    fn remove_key(&mut self, base: &[&str], key: &str) -> Result<()> {
        let path: Vec<&str> = base.iter().copied().chain([key]).collect();
        self.edit(&path)?.remove(&path)?;
        Ok(())
    }
}

/// A record as the ledger sees it (see [`Project::record`]).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The YAML word of its state; `None` when ready.
    pub state: Option<&'static str>,
    /// What the operation in flight does; `None` when ready or failed.
    pub effect: Option<Effect>,
    pub operation: Option<&'a Operation>,
    pub error: Option<&'a str>,
}

/// A state a record can be put in by [`Project::begin`]: only the ledger's
/// typed words, never a free string.
pub trait StateWord: Copy {
    fn word(self) -> &'static str;
}

impl StateWord for ContainerState {
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl StateWord for DeviceState {
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl StateWord for SnapshotState {
    fn word(self) -> &'static str {
        self.as_str()
    }
}

/// An operation record as document fields.
fn operation_fields(op: &Operation) -> [(&'static str, Value<'_>); 4] {
    [
        ("kind", Value::Str(op.kind.as_str())),
        ("pid", Value::Int(i64::from(op.pid))),
        ("host", Value::Str(&op.host)),
        ("started_at", Value::Str(&op.started_at)),
    ]
}
