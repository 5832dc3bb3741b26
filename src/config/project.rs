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

use super::document::{Document, Value};
use super::model::{Config, Container, Operation};
use super::names;
use crate::error::Error;

pub struct Project {
    path: PathBuf,
    loaded_text: String,
    doc: Option<Document>,
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
    pub(super) fn new(path: PathBuf, text: String, config: Arc<Config>) -> Project {
        Project {
            path,
            loaded_text: text,
            doc: None,
            config,
        }
    }

    /// The text of a new project file, commented for the people who will
    /// edit it.
    pub fn initial_text(project: &str, runtime: Option<&str>) -> String {
        let runtime_line = runtime
            .map(|r| format!("runtime: {}\n", super::document::quote(r)))
            .unwrap_or_default();
        format!(
            "# Dev containers of this project, managed by lxdev (compatible with lxc-dev-manager).\n\
             # Runtime containers are named <project>-<name>. Edit by hand freely:\n\
             # lxdev keeps comments, key order and keys it does not know.\n\
             project: {}\n\
             {runtime_line}\
             defaults:\n  ports: []\n\
             containers: {{}}\n",
            super::document::quote(project)
        )
    }

    /// The file as loaded at the start of this transaction.
    pub fn config(&self) -> &Config {
        &self.config
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

    /// The container `name`, or a not-found error naming the file.
    pub fn container(&self, name: &str) -> Result<&Container, Error> {
        self.config.containers.get(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no container `{name}` in `{}`",
                self.path.display()
            ))
        })
    }

    /// The edited text, if any edit changed it.
    pub(super) fn edited_text(&self) -> Option<String> {
        let text = self.doc.as_ref()?.text();
        (text != self.loaded_text).then_some(text)
    }

    // --- Edits. Paths are chains of mapping keys from the root. ---

    /// Records a new container, in flight (`state`) with `op`, in one edit.
    pub fn insert_container(
        &mut self,
        name: &str,
        new: &NewContainer<'_>,
        state: &str,
        op: &Operation,
    ) -> Result<()> {
        let operation = operation_fields(op);
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
        fields.push(("state", Value::Str(state)));
        fields.push(("operation", Value::Map(&operation)));
        self.edit(&["containers", name])?
            .set(&["containers", name], Value::Map(&fields))
    }

    /// Marks container `name` as busy with `op` (state `removing`, ...).
    pub fn begin_container_operation(
        &mut self,
        name: &str,
        state: &str,
        op: &Operation,
    ) -> Result<()> {
        self.begin_operation(&["containers", name], state, op)
    }

    /// The container's operation succeeded: it is ready.
    pub fn finish_container_operation(&mut self, name: &str) -> Result<()> {
        self.clear_operation(&["containers", name], true)
    }

    /// The container's operation failed and the runtime still has something.
    pub fn fail_container(&mut self, name: &str, error: &str) -> Result<()> {
        self.fail(&["containers", name], error)
    }

    pub fn remove_container(&mut self, name: &str) -> Result<()> {
        self.edit(&["containers", name])?
            .remove(&["containers", name])?;
        Ok(())
    }

    /// Records a new snapshot, in flight (`creating`) with `op`, in one edit.
    pub fn insert_snapshot(
        &mut self,
        container: &str,
        snapshot: &str,
        description: Option<&str>,
        created_at: &str,
        op: &Operation,
    ) -> Result<()> {
        let operation = operation_fields(op);
        let mut fields = Vec::new();
        if let Some(description) = description {
            fields.push(("description", Value::Str(description)));
        }
        fields.push(("created_at", Value::Str(created_at)));
        fields.push(("state", Value::Str("creating")));
        fields.push(("operation", Value::Map(&operation)));
        let path = ["containers", container, "snapshots", snapshot];
        self.edit(&path)?.set(&path, Value::Map(&fields))
    }

    pub fn begin_snapshot_operation(
        &mut self,
        container: &str,
        snapshot: &str,
        state: &str,
        op: &Operation,
    ) -> Result<()> {
        self.begin_operation(&["containers", container, "snapshots", snapshot], state, op)
    }

    pub fn finish_snapshot_operation(&mut self, container: &str, snapshot: &str) -> Result<()> {
        self.clear_operation(&["containers", container, "snapshots", snapshot], true)
    }

    pub fn fail_snapshot(&mut self, container: &str, snapshot: &str, error: &str) -> Result<()> {
        self.fail(&["containers", container, "snapshots", snapshot], error)
    }

    /// Removes a snapshot entry, and `snapshots:` with it when it was the
    /// last, so that rolling back a first snapshot restores the file byte
    /// for byte (lxc-dev-manager omits an empty `snapshots` too).
    pub fn remove_snapshot(&mut self, container: &str, snapshot: &str) -> Result<()> {
        let snapshots = ["containers", container, "snapshots"];
        let path = ["containers", container, "snapshots", snapshot];
        let doc = self.edit(&path)?;
        doc.remove(&path)?;
        if doc.is_empty_mapping(&snapshots)? {
            doc.remove(&snapshots)?;
        }
        Ok(())
    }

    /// The document, parsed on first use.
    fn doc(&mut self) -> Result<&mut Document> {
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

    fn begin_operation(&mut self, base: &[&str], state: &str, op: &Operation) -> Result<()> {
        self.set(base, "state", Value::Str(state))?;
        self.set(base, "operation", Value::Map(&operation_fields(op)))?;
        self.remove_key(base, "error")
    }

    fn clear_operation(&mut self, base: &[&str], clear_error: bool) -> Result<()> {
        self.remove_key(base, "state")?;
        self.remove_key(base, "operation")?;
        if clear_error {
            self.remove_key(base, "error")?;
        }
        Ok(())
    }

    fn fail(&mut self, base: &[&str], error: &str) -> Result<()> {
        self.clear_operation(base, false)?;
        self.set(base, "state", Value::Str("failed"))?;
        self.set(base, "error", Value::Str(error))
    }

    fn remove_key(&mut self, base: &[&str], key: &str) -> Result<()> {
        let path: Vec<&str> = base.iter().copied().chain([key]).collect();
        self.edit(&path)?.remove(&path)?;
        Ok(())
    }
}

/// An operation record as document fields.
fn operation_fields(op: &Operation) -> [(&'static str, Value<'_>); 4] {
    [
        ("kind", Value::Str(&op.kind)),
        ("pid", Value::Int(i64::from(op.pid))),
        ("host", Value::Str(&op.host)),
        ("started_at", Value::Str(&op.started_at)),
    ]
}
