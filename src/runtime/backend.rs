//! What every backend is: the [`Runtime`] trait, with what concerns files,
//! devices and images in traits of their own, each implemented beside the
//! backend's code for it.
//!
//! Every method is a slow, lock-free step of a command: callers never hold
//! the config lock while calling one. Instance names are the runtime's
//! (`<project>-<name>`). Each backend checks the names and paths it is
//! given against [`super::rules`] itself, before anything runs: it is
//! used directly too (tests), and relies on no caller.

use std::path::Path;

use anyhow::Result;

use super::provision::{ContainerUser, Provisioning};
use super::rules;
use super::types::{
    ExecOptions, FileKind, Hook, Image, Instance, LogRequest, LogSource, Push, Source, SshFacts,
    StoragePool, Tags,
};
use crate::config::devices::Spec as DeviceSpec;
use crate::config::ledger::Step;

/// Errors: a create, clone or snapshot whose name is already taken in the
/// runtime fails with [`crate::error::Error::Conflict`]: it made nothing, so
/// the caller must not record anything as made. Every other failure carries
/// the runtime command and its stderr.
pub trait Runtime: Files + Devices + Images + Environment + Send + Sync {
    /// `fake`, `lxd` or `incus`.
    fn name(&self) -> &'static str;

    /// Creates `instance` from `image`, on the placement's storage pool,
    /// and starts it. Returns only once the runtime said it made the
    /// instance under that exact name.
    fn create(&self, instance: &str, image: &str, tags: &Tags<'_>) -> Result<()>;

    /// Copies `source` (or its snapshot) to `instance`, without snapshots.
    /// The rules hold here for every backend (each name is checked), then
    /// the backend makes the copy ([`Runtime::copy`]).
    fn clone_instance(
        &self,
        source: &str,
        snapshot: Option<&str>,
        instance: &str,
        tags: &Tags<'_>,
    ) -> Result<()> {
        rules::check_copy(source, snapshot, instance)?;
        let from = Source {
            instance: source,
            snapshot,
        };
        self.copy(&from, instance, tags)
    }

    /// Makes `instance` (its name checked) a copy of `from`, without
    /// snapshots and without the devices a copy drops
    /// ([`rules::copy_keeps`]). Call [`Runtime::clone_instance`] instead.
    fn copy(&self, from: &Source<'_>, instance: &str, tags: &Tags<'_>) -> Result<()>;

    /// Deletes `instance`, stopping it first if needed.
    fn remove(&self, instance: &str) -> Result<()>;

    fn snapshot_create(&self, instance: &str, snapshot: &str) -> Result<()>;
    fn snapshot_delete(&self, instance: &str, snapshot: &str) -> Result<()>;
    fn snapshot_restore(&self, instance: &str, snapshot: &str) -> Result<()>;

    /// The instances that belong to `project`: named `<project>-...` or
    /// tagged with it.
    fn list(&self, project: &str) -> Result<Vec<Instance>>;

    /// The instance with exactly this name, or `None` if it does not exist.
    fn status(&self, instance: &str) -> Result<Option<Instance>>;

    /// What the runtime is still doing to `instance`, if anything: work a
    /// killed lxdev started goes on without it (the daemon's operation, an
    /// orphaned client), and must finish before `doctor` may judge what
    /// exists.
    fn busy(&self, instance: &str) -> Result<Option<String>>;

    fn start(&self, instance: &str) -> Result<()>;
    fn stop(&self, instance: &str) -> Result<()>;

    /// Runs `command` inside `instance` with the terminal attached and
    /// returns its exit status. An empty command opens a login shell (as
    /// `options.user`, when given).
    fn exec(&self, instance: &str, command: &[String], options: &ExecOptions) -> Result<i32>;

    /// What to tell the user before `exec` runs a command in `instance`,
    /// when it is not what they would take it for: the fake runtime runs it
    /// on this host. The caller prints it; a runtime never prints.
    fn exec_note(&self, _instance: &str) -> Option<String> {
        None
    }

    /// Runs provisioning `step` ([`Step::Ready`], [`Step::User`] or
    /// [`Step::Ssh`]) inside the running `instance`. `Ok(Some(warning))`
    /// when the step did what it could but not everything (sshd could not
    /// be installed): the create goes on and the warning is recorded.
    fn provision(&self, instance: &str, step: Step, spec: &Provisioning) -> Result<Option<String>>;

    /// Runs the provisioning `steps` ([`Step::Ready`], [`Step::User`],
    /// [`Step::Ssh`], in that order) inside the running `instance`,
    /// calling `begin(step)` before each: a step's work starts only once
    /// `begin` returned `Ok` (the caller records the step in flight), and a
    /// `begin` that fails ends the run there. Returns the steps' warnings
    /// (see [`Runtime::provision`]), or the step that failed with its
    /// error. A backend may run them in fewer calls than one a step, as
    /// long as it keeps to `begin`.
    fn provision_steps(
        &self,
        instance: &str,
        steps: &[Step],
        spec: &Provisioning,
        begin: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<Vec<String>, (Step, anyhow::Error)> {
        let mut warnings = Vec::new();
        for &step in steps {
            begin(step).map_err(|err| (step, err))?;
            if let Some(warning) = self
                .provision(instance, step, spec)
                .map_err(|err| (step, err))?
            {
                warnings.push(warning);
            }
        }
        Ok(warnings)
    }

    /// The user `name` inside `instance`, or `None` when it has none.
    fn container_user(&self, instance: &str, name: &str) -> Result<Option<ContainerUser>>;

    /// The address to reach `instance` at (global IPv4 first), or `None`
    /// when it has no network.
    fn address(&self, instance: &str) -> Result<Option<String>>;

    /// Where this runtime's instances live, for messages: `lxd`, or
    /// `lxd (remote loop, project team)`.
    fn location(&self) -> String {
        self.name().to_owned()
    }

    /// The client's remote calls go to, when not the client's default.
    fn remote(&self) -> Option<&str> {
        None
    }

    /// The storage pool `pool`, or with `None` the pool the default
    /// profile's root disk is on (where new instances go when the file
    /// names none); `Ok(None)` when there is no such pool.
    fn storage_pool(&self, pool: Option<&str>) -> Result<Option<StoragePool>>;

    /// The project the client would use when a file names none (its
    /// current one), for `init` to record; `None` where projects do not
    /// exist (fake) or one is already set.
    fn current_project(&self) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Files of a running instance: what is at a path, copies in and out.
pub trait Files {
    /// What is at absolute `path` inside the running `instance`, if anything.
    fn file_kind(&self, instance: &str, path: &str) -> Result<Option<FileKind>>;

    /// Copies the host file or directory `push.source` to `push.dest`
    /// inside the running `instance`: `dest` becomes the copy (a file there
    /// is replaced). Missing parents of `dest` are made. The copy and the
    /// parents made belong to `push.owner` (root when `None`). A failure
    /// leaves nothing at `dest` that was not there.
    fn push(&self, instance: &str, push: &Push<'_>) -> Result<()>;

    /// Copies `source` (a file, or a directory recursively) from the
    /// running `instance` into the existing host directory `dir`, as
    /// `dir/<last name of source>`.
    fn pull_into(&self, instance: &str, source: &str, dir: &Path) -> Result<()>;
}

/// An instance's own devices (mounts, forwarded ports) and its ID map.
pub trait Devices {
    /// Adds device `name` to `instance` (a running instance gets it at
    /// once). A name already taken is a conflict that made nothing.
    fn device_add(&self, instance: &str, name: &str, spec: &DeviceSpec) -> Result<()>;

    /// Removes device `name` from `instance`.
    fn device_remove(&self, instance: &str, name: &str) -> Result<()>;

    /// Maps host IDs `host` (uid, gid) to `inside` (uid, gid) in
    /// `instance` through its `raw.idmap`, restarting it if it runs and
    /// the map changed. A map that already gives either ID another
    /// partner is a conflict that changed nothing.
    fn map_ids(&self, instance: &str, host: (u32, u32), inside: (u32, u32)) -> Result<()>;
}

/// The runtime's image store.
pub trait Images {
    /// Publishes the stopped `instance` as an image with alias `alias`,
    /// tagged `user.lxdev.project=<project>`. An alias already taken is a
    /// conflict that made nothing.
    fn publish(&self, instance: &str, alias: &str, project: &str) -> Result<()>;

    /// Every image in the store.
    fn images(&self) -> Result<Vec<Image>>;

    /// Deletes the image that has alias `alias`.
    fn image_delete(&self, alias: &str) -> Result<()>;

    /// Renames the alias `old` to `new`.
    fn image_rename(&self, old: &str, new: &str) -> Result<()>;
}

/// What a dev environment needs of an instance beyond making and starting
/// it: the file's limits and environment, its hooks, its sshd, its logs.
/// A runtime never prints: what a command in the instance prints comes
/// back through a `line` callback, one line at a time, as it comes.
pub trait Environment {
    /// Sets (`Some`) or unsets (`None`) config keys of `instance`, each a
    /// key a project file may set (`config::devenv::is_managed_key`,
    /// checked); the sets in one change.
    fn configure(&self, instance: &str, changes: &[(String, Option<String>)]) -> Result<()>;

    /// Runs one hook command with `sh -c` inside the running `instance`,
    /// as `hook.user` in `hook.cwd`, with the instance's environment and
    /// no standard input; each line it prints (stdout and stderr) goes to
    /// `line` as it comes. Returns its exit status. Never run on the host.
    fn run_hook(&self, instance: &str, hook: &Hook<'_>, line: &mut dyn FnMut(&str)) -> Result<i32>;

    /// Whether `instance` has an sshd, its host keys, and the keys `user`
    /// accepts.
    fn ssh_facts(&self, instance: &str, user: &str) -> Result<SshFacts>;

    /// Starts the instance's sshd in inetd mode (`sshd -i`) with this
    /// process's standard input and output as its connection, setting
    /// `env` in the sessions it opens; returns its exit status once the
    /// connection ends.
    fn sshd_session(&self, instance: &str, env: &[(String, String)]) -> Result<i32>;

    /// The instance's journal where systemd runs, else its console log;
    /// each line goes to `line`. With `request.follow`, goes on until
    /// SIGINT or SIGTERM.
    fn logs(
        &self,
        instance: &str,
        request: &LogRequest,
        line: &mut dyn FnMut(&str),
    ) -> Result<LogSource>;
}
