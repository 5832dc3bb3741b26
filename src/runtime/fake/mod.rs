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
//! Names are checked as the LXD backend checks them
//! ([`rules::check_names`]), so a name the fake accepts is one LXD's client
//! would be given safely, and a snapshot named `..` cannot address the
//! instance's own directory. By topic: `files.rs`, `devices.rs`,
//! `images.rs`, `pools.rs` (storage pools: `default`, and those listed in
//! `.lxdev/fake/pools`), `devenv.rs` (settings, hooks recorded and never run).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::devices::Spec as DeviceSpec;
use crate::config::ledger::Step;
use crate::config::names::RuntimeName;
use crate::error::{Error, refused};
use crate::runtime::backend::Runtime;
use crate::runtime::provision::{ContainerUser, Provisioning};
use crate::runtime::rules::{self, check_names};
use crate::runtime::types::{ExecOptions, Instance, InstanceStatus, Source, StoragePool, Tags};

mod devenv;
mod devices;
mod files;
mod images;
mod pools;

#[derive(Debug)]
pub struct FakeRuntime {
    /// The project directory, whose `.lxdev/fake` holds the state.
    project_dir: PathBuf,
    instances: PathBuf,
    /// Project prefix (`<project>-`), to map instance names back to the
    /// container names `LXDEV_FAKE_FAIL` uses.
    prefix: String,
    /// The pool new instances go on (see `pools.rs`); `None`: `default`.
    storage: Option<String>,
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
            storage: None,
        }
    }

    /// New instances go on `pool` (when given), which must exist.
    pub fn with_storage(mut self, pool: Option<String>) -> FakeRuntime {
        self.storage = pool;
        self
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
            Some(Failure::Before) => Err(refused(self.injected(op, target))),
            Some(Failure::Interrupted) => Err(refused(anyhow::anyhow!(
                "fake runtime: {op} of `{target}` was interrupted before it started"
            ))),
            Some(Failure::After) => {
                change()?;
                Err(self.injected(op, target))
            }
            None => change(),
        }
    }

    /// Claims `instance` on `pool` (see [`FakeRuntime::pool_for_new`]).
    fn make_instance(
        &self,
        instance: &str,
        image: &str,
        pool: &str,
        tags: &Tags<'_>,
    ) -> Result<()> {
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
        // Each file whole or not at all (temp file, then rename): a kill
        // between open and write would leave an empty `project` tag, which
        // reads as another project's (`belonging`), never to be removed.
        let write = |name: &str, value: &str| {
            let temp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&temp, value)
                .and_then(|()| std::fs::rename(&temp, dir.join(name)))
                .with_context(|| format!("failed to write `{}`", dir.join(name).display()))
        };
        write("image", image)?;
        write("project", tags.project)?;
        write("config", &tags.config_path.to_string_lossy())?;
        write("pool", pool)?;
        devenv::write_settings(&dir, tags.settings)?;
        write("status", InstanceStatus::Running.as_str())
    }

    fn require_instance(&self, instance: &str) -> Result<PathBuf> {
        let dir = self.dir(instance);
        if !is_real_dir(&dir) {
            return Err(refused(anyhow::anyhow!(
                "fake runtime: instance `{instance}` does not exist"
            )));
        }
        check_state(&dir)?;
        Ok(dir)
    }

    fn require_snapshot(&self, instance: &str, snapshot: &str) -> Result<PathBuf> {
        self.require_instance(instance)?;
        let dir = self.snapshot_dir(instance, snapshot);
        if !dir.is_dir() {
            return Err(refused(anyhow::anyhow!(
                "fake runtime: snapshot `{instance}/{snapshot}` does not exist"
            )));
        }
        Ok(dir)
    }

    /// What the fake runtime has of instance `name`: `None` when it has
    /// no such instance, an error (exit 77) when its folder holds a link or
    /// anything but files and folders (see [`check_state`]).
    fn read_instance(&self, name: &str) -> Result<Option<Instance>> {
        let dir = self.dir(name);
        if !is_real_dir(&dir) {
            return Ok(None);
        }
        check_state(&dir)?;
        Ok(self.read_checked(name, &dir))
    }

    fn read_checked(&self, name: &str, dir: &Path) -> Option<Instance> {
        // One directory read tells which files exist, so an instance costs
        // one open (plus one per file it has) rather than one per file it
        // might have: `list` reads every instance.
        let present: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
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
            settings: if has(devenv::SETTINGS) {
                devenv::read_settings(dir)
            } else {
                Default::default()
            },
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

    fn set_status(&self, instance: &str, status: &InstanceStatus) -> Result<()> {
        let dir = self.require_instance(instance)?;
        std::fs::write(dir.join("status"), status.as_str())
            .with_context(|| format!("failed to write status of `{instance}`"))
    }
}

/// The fake runtime's state folders under `.lxdev/fake`.
const INSTANCES: &str = "instances";
const IMAGES: &str = "images";

/// A folder, not a symlink to one.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// Refuses (exit 77) an instance's or image's folder that holds anything
/// but plain files and folders of one name each, down to (not into) its
/// `rootfs`: the fake runtime reads, writes, renames and deletes by path
/// there, and a cloned repository may ship `.lxdev/fake/...` with a
/// `snapshots` link to `~` or a `status` link to a file of the user's. The
/// `rootfs` is the container's own file system, where links are content
/// (and the file calls refuse to follow them: `files.rs`).
fn check_state(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |path: &Path, what: &str| -> anyhow::Error {
        Error::PermissionDenied(format!(
            "refusing to use the fake runtime's state: `{}` is {what}; the fake runtime keeps \
             only plain files and folders there (a cloned repository may have shipped it): \
             remove `.lxdev/fake` and run the command again",
            path.display()
        ))
        .into()
    };
    // Another lxdev may change the folder while it is walked (a snapshot
    // of the same instance deleted, a file renamed into place): what is
    // gone meanwhile was no link of ours to refuse.
    let gone = |err: &std::io::Error| err.kind() == std::io::ErrorKind::NotFound;
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(err) if gone(&err) && folder != dir => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("failed to read `{}`", folder.display()));
            }
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("failed to read `{}`", folder.display()))?;
            let path = entry.path();
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(err) if gone(&err) => continue,
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("failed to read `{}`", path.display()));
                }
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                return Err(refuse(&path, "a symbolic link"));
            }
            if kind.is_dir() {
                if entry.file_name() != "rootfs" {
                    folders.push(path);
                }
            } else if !kind.is_file() {
                return Err(refuse(&path, "neither a file nor a folder"));
            } else if meta.nlink() > 1 {
                return Err(refuse(&path, "a file with another name (a hard link)"));
            }
        }
    }
    Ok(())
}

impl Runtime for FakeRuntime {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn create(&self, instance: &str, image: &str, tags: &Tags<'_>) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Image(image)])?;
        self.mutate("create", instance, || {
            let pool = self.pool_for_new(pools::DEFAULT_POOL)?;
            self.make_instance(instance, image, &pool, tags)
        })
    }

    fn copy(&self, from: &Source<'_>, instance: &str, tags: &Tags<'_>) -> Result<()> {
        let (source, snapshot) = (from.instance, from.snapshot);
        self.mutate("clone", instance, || {
            let source_dir = match snapshot {
                Some(snap) => {
                    self.require_snapshot(source, snap)?;
                    self.dir(source)
                }
                None => self.require_instance(source)?,
            };
            let image = std::fs::read_to_string(source_dir.join("image")).unwrap_or_default();
            // As LXD's copy: on the source's pool unless one is asked for,
            // with the source's settings under the new ones.
            let source_pool = std::fs::read_to_string(source_dir.join("pool"))
                .unwrap_or_else(|_| pools::DEFAULT_POOL.to_owned());
            let pool = self.pool_for_new(&source_pool)?;
            let mut settings = devenv::read_settings(&source_dir);
            settings.extend(tags.settings.iter().map(|(k, v)| (k.clone(), v.clone())));
            self.make_instance(
                instance,
                &image,
                &pool,
                &Tags {
                    settings: &settings,
                    ..tags.clone()
                },
            )?;
            // As LXD's copy: the devices come along, but what a copy drops.
            let devices = self.require_instance(source)?.join("devices");
            let source_devices = self
                .read_instance(source)?
                .map(|i| i.devices)
                .unwrap_or_default();
            for entry in std::fs::read_dir(&devices).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let dropped = source_devices
                    .get(&name)
                    .is_some_and(|d| !rules::copy_keeps(d));
                if name.starts_with('.') || dropped {
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
                .map_err(refused)?;
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
            .filter_map(|e| {
                self.read_instance(&e.file_name().to_string_lossy())
                    .transpose()
            })
            .collect::<Result<Vec<Instance>>>()?
            .into_iter()
            .filter(|i| i.name.starts_with(&prefix) || i.project_tag.as_deref() == Some(project))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    fn status(&self, instance: &str) -> Result<Option<Instance>> {
        self.read_instance(instance)
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

    /// Runs the command on the host, in the instance's directory: enough to
    /// exercise `lxdev exec` without containers ([`Runtime::exec_note`]
    /// says so); refuses a stopped instance as every runtime does, so
    /// scripts see the same behaviour. The user and environment options
    /// are not simulated.
    fn exec(&self, instance: &str, command: &[String], _options: &ExecOptions) -> Result<i32> {
        let dir = self.require_instance(instance)?;
        if let Some(found) = self.read_instance(instance)? {
            rules::must_run(instance, &found)?;
        }
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

    /// A user may take the fake's `exec` for a container's: the command of
    /// a running instance runs on this host.
    fn exec_note(&self, instance: &str) -> Option<String> {
        let found = self.read_instance(instance).ok()??;
        found.status.is_running().then(|| {
            format!(
                "fake runtime: the command runs on the host, in `{}`, not in a container",
                self.dir(instance).display()
            )
        })
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

    /// Fake instances have no network.
    fn address(&self, _instance: &str) -> Result<Option<String>> {
        Ok(None)
    }

    fn storage_pool(&self, pool: Option<&str>) -> Result<Option<StoragePool>> {
        self.pool(pool)
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
            settings: &Default::default(),
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
