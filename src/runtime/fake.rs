//! The `fake` runtime: containers as directories, for tests and for trying
//! lxdev anywhere.
//!
//! State lives under `<project dir>/.lxdev/fake/instances/`, one directory
//! per instance and one per snapshot (`<instance>/snapshots/<snap>/`). Every
//! change is a single `mkdir` or `rename`, so the state is shared by
//! processes and race-safe without a lock of its own: two creates of one
//! name cannot both succeed, and a removal is never half-visible (the
//! directory is renamed away before it is deleted).
//!
//! Knobs, read from the environment at each operation:
//! - `LXDEV_FAKE_DELAY_MS=N`: every operation that changes something sleeps
//!   N ms first (queries do not).
//! - `LXDEV_FAKE_FAIL=op:name[,op:name...]`: that operation fails before it
//!   does anything. `op` is `create`, `clone`, `remove`, `snapshot_create`,
//!   `snapshot_delete`, `snapshot_restore`, `start`, `stop`, `publish`,
//!   `image_delete` or `image_rename`; `name` is the
//!   lxdev container name (`dev2`), `container/snapshot` for snapshot
//!   operations, or `*`. A third field `:after` makes the operation take
//!   effect and then report failure, like a runtime that dies mid-way.
//!
//! An instance's files live in `<instance>/rootfs/`; `cp` cannot change
//! owners there without root, so it records who each copied path belongs
//! to, one `UID:GID PATH` line each, in `<instance>/owners`.
//!
//! Names are checked as the LXD backend checks them ([`check_names`]), so a
//! name the fake accepts is one LXD's client would be given safely, and a
//! snapshot named `..` cannot address the instance's own directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{
    ContainerUser, DeviceSpec, ExecOptions, FileKind, Image, Instance, InstanceStatus,
    Provisioning, Runtime, Tags,
};
use crate::config::ledger::Step;
use crate::config::names::{self, RuntimeName};
use crate::error::Error;

#[derive(Debug)]
pub struct FakeRuntime {
    /// The project directory, whose `.lxdev/fake` holds the state.
    project_dir: PathBuf,
    instances: PathBuf,
    /// Project prefix (`<project>-`), to map instance names back to the
    /// container names `LXDEV_FAKE_FAIL` uses.
    prefix: String,
}

/// How an injected failure behaves.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    Before,
    After,
    /// A signal arrived while the operation waited to start.
    Interrupted,
}

impl FakeRuntime {
    pub fn new(project_dir: &Path, project: &str) -> FakeRuntime {
        FakeRuntime {
            project_dir: project_dir.to_path_buf(),
            instances: project_dir.join(".lxdev").join("fake").join("instances"),
            prefix: format!("{project}-"),
        }
    }

    /// [`FakeRuntime::new`], once the state folders that exist are real
    /// folders: a cloned repository may ship `.lxdev` (or a folder below
    /// it) as a symlink, and the fake runtime's state must not land, or be
    /// read, wherever that points (see `fs::own_dir`).
    pub fn open(project_dir: &Path, project: &str) -> Result<FakeRuntime> {
        for last in [INSTANCES, IMAGES] {
            crate::fs::own_dir::existing(project_dir, &[".lxdev", "fake", last])?;
        }
        Ok(FakeRuntime::new(project_dir, project))
    }

    /// Makes (if missing) and checks state folder `last` of `.lxdev/fake`.
    fn state_dir(&self, last: &str) -> Result<PathBuf> {
        crate::fs::own_dir::ensure(&self.project_dir, &[".lxdev", "fake", last])
    }

    fn dir(&self, instance: &str) -> PathBuf {
        self.instances.join(instance)
    }

    fn snapshot_dir(&self, instance: &str, snapshot: &str) -> PathBuf {
        self.dir(instance).join("snapshots").join(snapshot)
    }

    /// Sleeps for the configured delay, then says whether to fail. A
    /// SIGINT or SIGTERM ends the delay: the operation then fails before
    /// doing anything, as a runtime stopped mid-request would.
    fn step(&self, op: &str, target: &str) -> Option<Failure> {
        let env = crate::env::get();
        if let Some(ms) = env.fake_delay_ms {
            let until = std::time::Instant::now() + Duration::from_millis(ms);
            while std::time::Instant::now() < until {
                if crate::interrupt::received().is_some() {
                    return Some(Failure::Interrupted);
                }
                std::thread::sleep(
                    Duration::from_millis(10).min(until - std::time::Instant::now()),
                );
            }
        }
        let spec = env.fake_fail.as_deref()?;
        let short = target.strip_prefix(&self.prefix).unwrap_or(target);
        spec.split(',').find_map(|rule| {
            let mut fields = rule.trim().splitn(3, ':');
            let (rule_op, rule_name) = (fields.next()?, fields.next()?);
            let when = match fields.next() {
                Some("after") => Failure::After,
                _ => Failure::Before,
            };
            (rule_op == op && (rule_name == "*" || rule_name == short || rule_name == target))
                .then_some(when)
        })
    }

    fn injected(&self, op: &str, target: &str) -> anyhow::Error {
        anyhow::anyhow!("fake runtime: {op} of `{target}` failed (injected by LXDEV_FAKE_FAIL)")
    }

    /// Runs `change` unless a failure is injected before it; reports an
    /// injected failure after it.
    fn mutate(&self, op: &str, target: &str, change: impl FnOnce() -> Result<()>) -> Result<()> {
        match self.step(op, target) {
            Some(Failure::Before) => Err(crate::error::refused(self.injected(op, target))),
            Some(Failure::Interrupted) => Err(crate::error::refused(anyhow::anyhow!(
                "fake runtime: {op} of `{target}` was interrupted before it started"
            ))),
            Some(Failure::After) => {
                change()?;
                Err(self.injected(op, target))
            }
            None => change(),
        }
    }

    fn make_instance(&self, instance: &str, image: &str, tags: &Tags<'_>) -> Result<()> {
        self.state_dir(INSTANCES)?;
        let dir = self.dir(instance);
        // mkdir is the atomic claim on the name.
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Conflict(format!(
                    "fake runtime: instance `{instance}` already exists"
                ))
                .into());
            }
            Err(err) => {
                return Err(err).with_context(|| format!("failed to create `{}`", dir.display()));
            }
        }
        let write = |name: &str, value: &str| {
            std::fs::write(dir.join(name), value)
                .with_context(|| format!("failed to write `{}`", dir.join(name).display()))
        };
        write("image", image)?;
        write("project", tags.project)?;
        write("config", &tags.config_path.to_string_lossy())?;
        write("status", InstanceStatus::Running.as_str())
    }

    fn require_instance(&self, instance: &str) -> Result<PathBuf> {
        let dir = self.dir(instance);
        if !is_real_dir(&dir) {
            return Err(crate::error::refused(anyhow::anyhow!(
                "fake runtime: instance `{instance}` does not exist"
            )));
        }
        Ok(dir)
    }

    /// The instance's directory, if it runs: files are copied only to and
    /// from a running instance, as with LXD (whose scripts need `exec`).
    fn require_running(&self, instance: &str) -> Result<PathBuf> {
        let dir = self.require_instance(instance)?;
        if let Some(found) = self.read_instance(instance)
            && !found.status.is_running()
        {
            return Err(crate::error::refused(anyhow::anyhow!(
                "instance `{instance}` is {}, not running: start it first",
                found.status.as_str().to_lowercase()
            )));
        }
        Ok(dir)
    }

    /// Where path `path` of `instance` is on the host. A real container
    /// resolves a symlink inside itself; this one is a host folder, where a
    /// symlink would lead out of it, so none is followed on the way: every
    /// folder from `rootfs` down to the path's own folder must be real.
    fn file_path(&self, instance: &str, path: &str) -> Result<PathBuf> {
        super::check_container_path(path).map_err(|why| anyhow::anyhow!(why))?;
        let rootfs = self.dir(instance).join("rootfs");
        let host = rootfs.join(path.trim_start_matches('/'));
        let mut folder = rootfs.clone();
        let parents = Path::new(path.trim_start_matches('/'))
            .parent()
            .unwrap_or(Path::new(""));
        for part in std::iter::once(None).chain(parents.components().map(Some)) {
            if let Some(part) = part {
                folder.push(part);
            }
            if std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_symlink()) {
                return Err(crate::error::refused(anyhow::anyhow!(
                    "fake runtime: `{path}` in `{instance}` passes through a symlink; the fake \
                     runtime keeps a container as a host folder and follows no link in it"
                )));
            }
        }
        Ok(host)
    }

    /// Records `path` (and everything under it) as `owner`'s.
    fn record_owner(
        &self,
        instance: &str,
        root: &Path,
        path: &str,
        owner: (u32, u32),
    ) -> Result<()> {
        use std::io::Write as _;
        let mut lines = String::new();
        let mut walk = vec![(root.to_path_buf(), path.to_string())];
        while let Some((host, inside)) = walk.pop() {
            lines.push_str(&format!("{}:{} {inside}\n", owner.0, owner.1));
            if host.is_dir() && !host.is_symlink() {
                for entry in std::fs::read_dir(&host)? {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    walk.push((
                        entry.path(),
                        format!("{}/{name}", inside.trim_end_matches('/')),
                    ));
                }
            }
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir(instance).join("owners"))?
            .write_all(lines.as_bytes())?;
        Ok(())
    }

    fn require_snapshot(&self, instance: &str, snapshot: &str) -> Result<PathBuf> {
        self.require_instance(instance)?;
        let dir = self.snapshot_dir(instance, snapshot);
        if !dir.is_dir() {
            return Err(crate::error::refused(anyhow::anyhow!(
                "fake runtime: snapshot `{instance}/{snapshot}` does not exist"
            )));
        }
        Ok(dir)
    }

    fn read_instance(&self, name: &str) -> Option<Instance> {
        let dir = self.dir(name);
        if !is_real_dir(&dir) {
            return None;
        }
        // One directory read tells which files exist, so an instance costs
        // one open (plus one per file it has) rather than one per file it
        // might have: `list` reads every instance.
        let present: Vec<std::ffi::OsString> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        let has = |file: &str| present.iter().any(|p| p == file);
        let read = |file: &str| {
            has(file)
                .then(|| std::fs::read_to_string(dir.join(file)).ok())
                .flatten()
        };
        let mut snapshots: Vec<String> = if has("snapshots") {
            std::fs::read_dir(dir.join("snapshots"))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .filter(|e| e.path().is_dir())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        snapshots.sort();
        let devices = std::fs::read_dir(dir.join("devices"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        // A device is one file, renamed into place whole.
                        let text = std::fs::read_to_string(e.path()).ok()?;
                        let (kind, config) = serde_json::from_str(&text).ok()?;
                        Some((name, DeviceSpec { kind, config }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Instance {
            devices,
            idmap: read("raw.idmap"),
            name: name.to_string(),
            // Metadata is written just after the mkdir that creates the
            // instance; a reader in between sees it as running.
            status: read("status").map_or(InstanceStatus::Running, InstanceStatus::from),
            snapshots,
            project_tag: read("project"),
            config_tag: read("config"),
            address: None,
        })
    }

    fn device_path(&self, instance: &str, name: &str) -> PathBuf {
        self.dir(instance).join("devices").join(name)
    }

    fn set_status(&self, instance: &str, status: &InstanceStatus) -> Result<()> {
        let dir = self.require_instance(instance)?;
        std::fs::write(dir.join("status"), status.as_str())
            .with_context(|| format!("failed to write status of `{instance}`"))
    }
}

/// Copies a file, a symlink (as a symlink) or a directory tree.
/// The fake runtime's state folders under `.lxdev/fake`.
const INSTANCES: &str = "instances";
const IMAGES: &str = "images";

/// A folder, not a symlink to one.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(from)
        .with_context(|| format!("fake runtime: cannot read `{}`", from.display()))?;
    if meta.is_symlink() {
        let link = std::fs::read_link(from)?;
        std::os::unix::fs::symlink(link, to)?;
    } else if meta.is_dir() {
        std::fs::create_dir(to)
            .with_context(|| format!("fake runtime: failed to make `{}`", to.display()))?;
        // Its mode, as a copy through LXD keeps it: never wider than the
        // source's (a 0700 folder stays 0700).
        std::fs::set_permissions(to, meta.permissions())?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to).with_context(|| {
            format!(
                "fake runtime: failed to copy `{}` to `{}`",
                from.display(),
                to.display()
            )
        })?;
    }
    Ok(())
}

/// Refuses (usage, exit 2) any name that fails its rule in
/// `config::names`, before anything changes: the backend does not rely on
/// its callers having checked.
fn check_names(names: &[RuntimeName<'_>]) -> Result<()> {
    names::validate_runtime_names(names).map_err(|why| Error::Usage(why).into())
}

impl FakeRuntime {
    /// Published images live beside the instances: `images/<alias>/`.
    fn image_dir(&self, alias: &str) -> PathBuf {
        self.instances.with_file_name(IMAGES).join(alias)
    }

    fn require_image(&self, alias: &str) -> Result<PathBuf> {
        let dir = self.image_dir(alias);
        if !is_real_dir(&dir) {
            return Err(crate::error::refused(anyhow::anyhow!(
                "fake runtime: image `{alias}` does not exist"
            )));
        }
        Ok(dir)
    }
}

impl Runtime for FakeRuntime {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn create(&self, instance: &str, image: &str, tags: &Tags<'_>) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Image(image)])?;
        self.mutate("create", instance, || {
            self.make_instance(instance, image, tags)
        })
    }

    fn clone_instance(
        &self,
        source: &str,
        snapshot: Option<&str>,
        instance: &str,
        tags: &Tags<'_>,
    ) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(source),
            RuntimeName::Instance(instance),
        ])?;
        if let Some(snap) = snapshot {
            check_names(&[RuntimeName::Snapshot(snap)])?;
        }
        self.mutate("clone", instance, || {
            let source_dir = match snapshot {
                Some(snap) => {
                    self.require_snapshot(source, snap)?;
                    self.dir(source)
                }
                None => self.require_instance(source)?,
            };
            let image = std::fs::read_to_string(source_dir.join("image")).unwrap_or_default();
            self.make_instance(instance, &image, tags)?;
            // As LXD's copy: the devices come along, except forwarded
            // ports, which the source still listens on.
            let devices = self.require_instance(source)?.join("devices");
            // As with LXD, a copy gets no forwarded port, whatever its name:
            // its source still listens on it.
            let source_devices = self
                .read_instance(source)
                .map(|i| i.devices)
                .unwrap_or_default();
            for entry in std::fs::read_dir(&devices).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let proxy = source_devices.get(&name).is_some_and(|d| d.kind == "proxy");
                if name.starts_with('.') || proxy {
                    continue;
                }
                let target = self.dir(instance).join("devices");
                std::fs::create_dir_all(&target)?;
                std::fs::copy(entry.path(), target.join(&name))?;
            }
            Ok(())
        })
    }

    fn remove(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.mutate("remove", instance, || {
            let dir = self.require_instance(instance)?;
            // Rename first so the instance disappears in one step, then
            // delete at leisure.
            let trash = self.instances.with_file_name(format!(
                "trash-{instance}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            // A failed rename changed nothing.
            std::fs::rename(&dir, &trash)
                .with_context(|| format!("fake runtime: failed to remove `{instance}`"))
                .map_err(crate::error::refused)?;
            std::fs::remove_dir_all(&trash)
                .with_context(|| format!("failed to delete `{}`", trash.display()))
        })
    }

    fn snapshot_create(&self, instance: &str, snapshot: &str) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::Snapshot(snapshot),
        ])?;
        let target = format!("{instance}/{snapshot}");
        self.mutate("snapshot_create", &target, || {
            let dir = self.require_instance(instance)?.join("snapshots");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("failed to create `{}`", dir.display()))?;
            match std::fs::create_dir(dir.join(snapshot)) {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(
                    Error::Conflict(format!("fake runtime: snapshot `{target}` already exists"))
                        .into(),
                ),
                Err(err) => {
                    Err(err).with_context(|| format!("failed to create snapshot `{target}`"))
                }
            }
        })
    }

    fn snapshot_delete(&self, instance: &str, snapshot: &str) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::Snapshot(snapshot),
        ])?;
        let target = format!("{instance}/{snapshot}");
        self.mutate("snapshot_delete", &target, || {
            let dir = self.require_snapshot(instance, snapshot)?;
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("failed to delete snapshot `{target}`"))
        })
    }

    fn snapshot_restore(&self, instance: &str, snapshot: &str) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::Snapshot(snapshot),
        ])?;
        let target = format!("{instance}/{snapshot}");
        self.mutate("snapshot_restore", &target, || {
            self.require_snapshot(instance, snapshot).map(drop)
        })
    }

    fn list(&self, project: &str) -> Result<Vec<Instance>> {
        let prefix = format!("{project}-");
        let entries = match std::fs::read_dir(&self.instances) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("failed to list `{}`", self.instances.display()));
            }
        };
        let mut found: Vec<Instance> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| self.read_instance(&e.file_name().to_string_lossy()))
            .filter(|i| i.name.starts_with(&prefix) || i.project_tag.as_deref() == Some(project))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    fn status(&self, instance: &str) -> Result<Option<Instance>> {
        Ok(self.read_instance(instance))
    }

    /// The fake runtime works inside the lxdev process: its work dies with it.
    fn busy(&self, _instance: &str) -> Result<Option<String>> {
        Ok(None)
    }

    fn start(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.mutate("start", instance, || {
            self.set_status(instance, &InstanceStatus::Running)
        })
    }

    fn stop(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.mutate("stop", instance, || {
            self.set_status(instance, &InstanceStatus::Stopped)
        })
    }

    fn device_add(&self, instance: &str, name: &str, spec: &DeviceSpec) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Device(name)])?;
        let dir = self.require_instance(instance)?.join("devices");
        self.mutate("device_add", &format!("{instance}/{name}"), || {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("failed to create `{}`", dir.display()))?;
            let text = serde_json::to_string(&(&spec.kind, &spec.config))?;
            let temp = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&temp, text)
                .with_context(|| format!("failed to write `{}`", temp.display()))?;
            // link(2) claims the name atomically, as LXD refuses a taken one.
            let taken = std::fs::hard_link(&temp, self.device_path(instance, name));
            let _ = std::fs::remove_file(&temp);
            match taken {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::Conflict(format!(
                        "fake runtime: device `{name}` already exists on `{instance}`"
                    ))
                    .into())
                }
                Err(err) => Err(err).context("failed to add the device"),
            }
        })
    }

    fn device_remove(&self, instance: &str, name: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Device(name)])?;
        self.require_instance(instance)?;
        let path = self.device_path(instance, name);
        if !path.exists() {
            return Err(crate::error::refused(anyhow::anyhow!(
                "fake runtime: device `{name}` does not exist on `{instance}`"
            )));
        }
        self.mutate("device_remove", &format!("{instance}/{name}"), || {
            std::fs::remove_file(&path).context("failed to remove the device")
        })
    }

    fn map_ids(&self, instance: &str, host: (u32, u32), inside: (u32, u32)) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let dir = self.require_instance(instance)?;
        let current = std::fs::read_to_string(dir.join("raw.idmap")).ok();
        let merged = super::merged_idmap(current.as_deref(), host, inside).map_err(|m| {
            crate::error::refused(Error::Conflict(format!("`{instance}`: {m}")).into())
        })?;
        let Some(merged) = merged else {
            return Ok(());
        };
        self.mutate("map_ids", instance, || {
            std::fs::write(dir.join("raw.idmap"), merged).context("failed to write raw.idmap")
        })
    }

    /// Runs the command on the host, in the instance's directory: enough to
    /// exercise `lxdev exec` without containers. Says so on stderr, since a
    /// user may take it for a container; refuses a stopped instance with
    /// the LXD backend's words, so scripts see the same behaviour. The user
    /// and environment options are not simulated.
    fn exec(&self, instance: &str, command: &[String], _options: &ExecOptions) -> Result<i32> {
        let dir = self.require_instance(instance)?;
        if let Some(found) = self.read_instance(instance)
            && !found.status.is_running()
        {
            bail!(
                "instance `{instance}` is {}, not running: start it first",
                found.status.as_str().to_lowercase()
            );
        }
        crate::output::notice(&format!(
            "fake runtime: the command runs on the host, in `{}`, not in a container",
            dir.display()
        ));
        let (program, args) = match command.split_first() {
            Some((program, args)) => (program.as_str(), args),
            None => ("sh", &[][..]),
        };
        let status = std::process::Command::new(program)
            .args(args)
            .current_dir(&dir)
            .status()
            .with_context(|| format!("fake runtime: failed to run `{program}`"))?;
        Ok(status.code().unwrap_or(1))
    }

    /// Simulates each step: `LXDEV_FAKE_FAIL=provision_user:NAME` (or
    /// `provision_ready`, `provision_ssh`) fails it, and the user step
    /// records the user as `users/<name>` in the instance's directory.
    fn provision(&self, instance: &str, step: Step, spec: &Provisioning) -> Result<Option<String>> {
        let op = format!("provision_{step}");
        self.mutate(&op, instance, || {
            let dir = self.require_instance(instance)?;
            if step == Step::User {
                let users = dir.join("users");
                std::fs::create_dir_all(&users)
                    .with_context(|| format!("failed to create `{}`", users.display()))?;
                std::fs::write(
                    users.join(&spec.user),
                    format!("1000\n1000\n/home/{}\n", spec.user),
                )
                .with_context(|| format!("failed to record user `{}`", spec.user))?;
            }
            Ok(())
        })?;
        Ok(None)
    }

    fn container_user(&self, instance: &str, name: &str) -> Result<Option<ContainerUser>> {
        let dir = self.require_instance(instance)?;
        Ok(std::fs::read_to_string(dir.join("users").join(name))
            .ok()
            .and_then(|ids| ContainerUser::parse(name, &ids)))
    }

    fn file_kind(&self, instance: &str, path: &str) -> Result<Option<FileKind>> {
        self.require_running(instance)?;
        let host = self.file_path(instance, path)?;
        Ok(match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.is_dir() => Some(FileKind::Dir),
            Ok(meta) if meta.is_symlink() => Some(FileKind::Link),
            Ok(_) => Some(FileKind::File),
            Err(_) => None,
        })
    }

    fn push(
        &self,
        instance: &str,
        source: &Path,
        dest: &str,
        owner: Option<&ContainerUser>,
    ) -> Result<()> {
        self.require_running(instance)?;
        let target = self.file_path(instance, dest)?;
        let parent = target
            .parent()
            .ok_or_else(|| anyhow::anyhow!("`{dest}` names no file"))?;
        // The parents to make, outermost first, for their owner record.
        let mut missing = Vec::new();
        let (mut host, mut inside) = (
            parent.to_path_buf(),
            dest.rsplit_once('/').map_or("", |p| p.0).to_string(),
        );
        while !host.exists() && !inside.is_empty() {
            missing.push((host.clone(), inside.clone()));
            host = host.parent().map(Path::to_path_buf).unwrap_or_default();
            inside = inside.rsplit_once('/').map_or("", |p| p.0).to_string();
        }
        std::fs::create_dir_all(parent)
            .with_context(|| format!("fake runtime: failed to make `{}`", parent.display()))?;
        // Copied beside the target first, then renamed: a failure leaves
        // nothing at `dest`.
        let staging = tempfile::Builder::new()
            .prefix(".lxdev-cp.")
            .tempdir_in(parent)
            .context("fake runtime: failed to make a staging directory")?;
        let copy = staging.path().join("copy");
        copy_tree(source, &copy)?;
        std::fs::rename(&copy, &target)
            .with_context(|| format!("fake runtime: failed to move the copy to `{dest}`"))?;
        let ids = owner.map_or((0, 0), |u| (u.uid, u.gid));
        // Parents made inside the owner's home are the owner's; the rest
        // root's, as LXD's backend does.
        let home = owner.map_or("/root".to_string(), |u| format!("{}/", u.home));
        for (host, inside) in missing.iter().rev() {
            let ids = if inside.starts_with(&home) {
                ids
            } else {
                (0, 0)
            };
            self.record_owner(instance, &PathBuf::from("/nonexistent"), inside, ids)
                .with_context(|| format!("fake runtime: failed to record `{}`", host.display()))?;
        }
        self.record_owner(instance, &target, dest, ids)
    }

    fn pull_into(&self, instance: &str, source: &str, dir: &Path) -> Result<()> {
        self.require_running(instance)?;
        let from = self.file_path(instance, source)?;
        let name = from
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("`{source}` names no file"))?;
        copy_tree(&from, &dir.join(name))
    }

    /// Fake instances have no network.
    fn address(&self, _instance: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// An image is a directory named after its alias holding the source
    /// image's name and the project tag; `mkdir` claims the alias.
    fn publish(&self, instance: &str, alias: &str, project: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Alias(alias)])?;
        self.mutate("publish", instance, || {
            let source = self.require_instance(instance)?;
            self.state_dir(IMAGES)?;
            let dir = self.image_dir(alias);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::Conflict(format!(
                        "fake runtime: image alias `{alias}` already exists"
                    ))
                    .into());
                }
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("failed to create `{}`", dir.display()));
                }
            }
            let image = std::fs::read_to_string(source.join("image")).unwrap_or_default();
            std::fs::write(dir.join("image"), image)?;
            std::fs::write(dir.join("project"), project)?;
            Ok(())
        })
    }

    fn images(&self) -> Result<Vec<Image>> {
        let dir = self.image_dir("x");
        let dir = dir.parent().expect("images/x has a parent");
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(err).with_context(|| format!("failed to list `{}`", dir.display()));
            }
        };
        let mut found: Vec<Image> = entries
            .filter_map(|e| e.ok())
            .map(|e| {
                let alias = e.file_name().to_string_lossy().into_owned();
                let read = |f: &str| std::fs::read_to_string(e.path().join(f)).ok();
                Image {
                    fingerprint: format!("fake-{alias}"),
                    project_tag: read("project"),
                    description: read("image").map(|i| format!("published from {i}")),
                    size: 0,
                    created_at: String::new(),
                    aliases: vec![alias],
                }
            })
            .collect();
        found.sort_by(|a, b| a.aliases.cmp(&b.aliases));
        Ok(found)
    }

    fn image_delete(&self, alias: &str) -> Result<()> {
        check_names(&[RuntimeName::Alias(alias)])?;
        self.mutate("image_delete", alias, || {
            let dir = self.require_image(alias)?;
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("failed to delete `{}`", dir.display()))
        })
    }

    fn image_rename(&self, old: &str, new: &str) -> Result<()> {
        check_names(&[RuntimeName::Alias(old), RuntimeName::Alias(new)])?;
        self.mutate("image_rename", old, || {
            let dir = self.require_image(old)?;
            let to = self.image_dir(new);
            if to.exists() {
                return Err(Error::Conflict(format!(
                    "fake runtime: image alias `{new}` already exists"
                ))
                .into());
            }
            std::fs::rename(&dir, &to).with_context(|| format!("failed to rename `{old}`"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(err: anyhow::Error) -> String {
        match err.downcast_ref::<Error>() {
            Some(Error::Usage(message)) => message.clone(),
            _ => panic!("expected a usage error, got {err:#}"),
        }
    }

    /// The backend refuses bad names itself, whatever its caller checked,
    /// and changes nothing.
    #[test]
    fn bad_names_are_refused_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeRuntime::new(dir.path(), "demo");
        let tags = Tags {
            project: "demo",
            config_path: &dir.path().join("containers.yaml"),
        };
        fake.create("demo-web", "busybox", &tags).unwrap();
        fake.snapshot_create("demo-web", "clean").unwrap();

        let err = usage(fake.create("demo-y", "--empty", &tags).unwrap_err());
        assert!(err.contains("`--empty`"), "{err}");
        let err = usage(fake.create("--empty", "busybox", &tags).unwrap_err());
        assert!(err.contains("`--empty`"), "{err}");
        for snap in ["..", ".", "--reuse", "a/b", "a\nb"] {
            let shown = snap.escape_debug().to_string();
            for err in [
                fake.snapshot_create("demo-web", snap).unwrap_err(),
                fake.snapshot_delete("demo-web", snap).unwrap_err(),
                fake.snapshot_restore("demo-web", snap).unwrap_err(),
                fake.clone_instance("demo-web", Some(snap), "demo-c", &tags)
                    .unwrap_err(),
            ] {
                let err = usage(err);
                assert!(err.contains(&format!("`{shown}`")), "{snap:?}: {err}");
            }
        }
        for instance in ["..", "-f", "demo-web/../x"] {
            usage(fake.remove(instance).unwrap_err());
            usage(fake.start(instance).unwrap_err());
            usage(fake.stop(instance).unwrap_err());
        }
        let names: Vec<String> = fake
            .list("demo")
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, ["demo-web"]);
        assert_eq!(
            fake.status("demo-web").unwrap().unwrap().snapshots,
            ["clean"]
        );
    }
}
