//! What every operation needs: where the project file is, how to reach
//! the runtime, how to talk to the user, and the three steps a mutating
//! operation takes: reserve (a short transaction that validates and records
//! the operation in flight), work on the runtime with no lock held, commit
//! (a second transaction that records the outcome).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;

use super::checks;
use super::report::{Outcome, Report};
use crate::config::{ConfigManager, Project};
use crate::env::EnvVars;
use crate::error::Error;
use crate::interrupt;
use crate::output::Output;
use crate::runtime::{self, Runtime};

/// Committing work the runtime already did waits at least this long for
/// the lock: giving up would leave the entry in flight until `doctor`.
const MIN_COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// What every command needs: where the project file is, how to reach the
/// runtime, and how to talk to the user.
pub struct Context {
    pub manager: ConfigManager,
    pub out: Output,
    runtime_override: Option<String>,
    remote_override: Option<String>,
    /// How long runtime calls may take (`--connect-timeout`,
    /// `--runtime-timeout`).
    limits: runtime::Limits,
    /// What relative host paths on the command line are relative to: the
    /// current directory, or the one `-C` names.
    pub base_dir: PathBuf,
    /// Set while a bulk command draws its own progress lines: runtime work
    /// then shows no spinner of its own.
    own_progress: AtomicBool,
    /// What `--json` prints when the command ends.
    report: Report,
}

/// While alive, [`Context::work`] draws no spinner (see
/// [`Context::own_progress`]).
#[must_use = "spinners come back when the guard is dropped"]
pub struct OwnProgress<'c>(&'c AtomicBool);

impl Drop for OwnProgress<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// What the command line says about how to run (the global options).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--runtime`.
    pub runtime: Option<String>,
    /// `--remote`.
    pub remote: Option<String>,
    /// `--connect-timeout`, `--runtime-timeout`.
    pub limits: runtime::Limits,
    /// What relative host paths on the command line are relative to.
    pub base_dir: PathBuf,
}

impl Context {
    /// The context of one command: `report` is its `--json` outcome so far.
    pub fn new(manager: ConfigManager, out: Output, settings: Settings, report: Report) -> Context {
        Context {
            manager,
            out,
            runtime_override: settings.runtime,
            remote_override: settings.remote,
            limits: settings.limits,
            base_dir: settings.base_dir,
            own_progress: AtomicBool::new(false),
            report,
        }
    }

    /// Prints the `--json` outcome of the command, which ended in `result`.
    pub fn print_outcome(self, result: &Result<u8>) {
        self.report.print(Some(&self.manager), result);
    }

    /// The runtime for this project. A file that names its `runtime:` is
    /// bound to it: `--runtime` or `LXDEV_RUNTIME` naming another is an
    /// error, never a silent switch (entries would be judged by a runtime
    /// that never had them). A file that names none uses the override, else
    /// the detected runtime, and says which it detected.
    pub fn runtime(&self, project: &Project) -> Result<Box<dyn Runtime>> {
        self.runtime_placed(project, None, None)
    }

    /// [`Context::runtime`], making new instances on cluster member
    /// `target` (`container create --target`) and on storage pool `storage`
    /// (see [`Project::storage`]).
    pub fn runtime_placed(
        &self,
        project: &Project,
        target: Option<&str>,
        storage: Option<&str>,
    ) -> Result<Box<dyn Runtime>> {
        let asked = self.runtime_asked();
        let recorded = project.config().runtime.as_deref();
        if let (Some(recorded), Some((asked, source))) = (recorded, &asked)
            && recorded != asked
        {
            return Err(Error::Usage(format!(
                "`{}` records `runtime: {recorded}`, but {source} asks for `{asked}`; \
                 drop {source} to use {recorded}, or edit `runtime:` in the file to move \
                 the project (its containers stay where they are)",
                project.path().display()
            ))
            .into());
        }
        let name = asked.as_ref().map(|(name, _)| name.as_str()).or(recorded);
        let config = project.config();
        if let Some(target) = target {
            crate::config::names::validate_target(target).map_err(Error::Usage)?;
        }
        let placement = runtime::Placement {
            remote: self.remote_asked()?.or(config.remote.clone()),
            project: config.runtime_project.clone(),
            target: target.map(str::to_owned),
            storage: storage.map(str::to_owned),
        };
        let runtime = runtime::select(name, placement, self.limits, project.name(), project.dir())?;
        if name.is_none() {
            self.out.note(format!(
                "using the {0} runtime (detected); pin it with `runtime: {0}` in `{1}` or --runtime {0}",
                runtime.name(),
                project.path().display()
            ));
        }
        Ok(runtime)
    }

    /// How long runtime calls may take.
    pub fn limits(&self) -> runtime::Limits {
        self.limits
    }

    /// The remote `--remote` names, checked like the file's `remote:`.
    pub fn remote_asked(&self) -> Result<Option<String>> {
        if let Some(remote) = &self.remote_override {
            crate::config::names::validate_placement("--remote", remote).map_err(Error::Usage)?;
        }
        Ok(self.remote_override.clone())
    }

    /// The runtime named by `--runtime`, else by `LXDEV_RUNTIME`, with
    /// where it came from, for messages.
    pub fn runtime_asked(&self) -> Option<(String, &'static str)> {
        if let Some(name) = &self.runtime_override {
            return Some((name.clone(), "--runtime"));
        }
        crate::env::get()
            .runtime
            .clone()
            .map(|name| (name, EnvVars::RUNTIME))
    }

    /// The runtime's instance of entry `name`, unless it is another
    /// project's (see [`checks::own_instance`]).
    pub fn own_instance(
        &self,
        runtime: &dyn Runtime,
        project: &Project,
        name: &str,
    ) -> Result<Option<runtime::Instance>> {
        checks::own_instance(runtime, project, &self.manager.canonical_path(), name)
    }

    /// Entry `name`, which must be ready, with its runtime and its
    /// instance there (if the runtime has one, and never another
    /// project's).
    pub fn ready_instance(&self, name: &str) -> Result<ReadyInstance> {
        let project = self.manager.load()?;
        checks::ready_container(&project, name)?;
        let runtime = self.runtime(&project)?;
        checks::on_runtime(&project, name, runtime.name())?;
        let found = self.own_instance(runtime.as_ref(), &project, name)?;
        let (user, _) = project.dev_user(name);
        Ok(ReadyInstance {
            runtime,
            instance: project.instance_name(name),
            user,
            found,
        })
    }

    /// Runs runtime work (no lock held), with a spinner on a terminal. Once
    /// SIGINT or SIGTERM has asked lxdev to stop, work not yet started is
    /// refused instead: the caller then settles its record as unchanged.
    pub fn work<T>(
        &self,
        message: impl Into<String>,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        refuse_if_interrupted()?;
        if self.own_progress.load(Ordering::SeqCst) {
            self.out.step(message.into());
            return work();
        }
        self.out.progress(message, work)
    }

    /// Runtime work whose output is shown as it comes (a hook): as
    /// [`Context::work`], with no spinner, which would draw over it.
    pub fn work_shown<T>(
        &self,
        message: impl Into<String>,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        refuse_if_interrupted()?;
        self.out.step(message.into());
        work()
    }

    /// For a command that shows its own progress (one line per container):
    /// until the guard is dropped, runtime work draws no spinner.
    pub fn own_progress(&self) -> OwnProgress<'_> {
        self.own_progress.store(true, Ordering::SeqCst);
        OwnProgress(&self.own_progress)
    }

    /// Adds to what `--json` prints when the command ends (details,
    /// `results`); a no-op in effect without `--json`.
    pub fn outcome(&self, change: impl FnOnce(&mut Outcome)) {
        self.report.update(change);
    }

    /// The reserving transaction.
    pub fn reserve<T>(&self, change: impl FnOnce(&mut Project) -> Result<T>) -> Result<T> {
        self.manager.update(change)
    }

    /// The committing transaction, after runtime work.
    pub fn commit<T>(&self, change: impl FnOnce(&mut Project) -> Result<T>) -> Result<T> {
        let timeout = self.manager.lock_timeout().max(MIN_COMMIT_TIMEOUT);
        self.manager.update_with_timeout(timeout, change)
    }
}

/// Once SIGINT or SIGTERM has asked lxdev to stop, runtime work not yet
/// started is refused: the caller settles its record as unchanged.
pub fn refuse_if_interrupted() -> Result<()> {
    match interrupt::received() {
        Some(signal) => Err(crate::error::refused(anyhow::anyhow!(
            "{} arrived before the runtime was asked",
            interrupt::name(signal)
        ))),
        None => Ok(()),
    }
}

/// A ready container as `exec`, `ssh` and `down` need it.
pub struct ReadyInstance {
    pub runtime: Box<dyn Runtime>,
    /// The runtime's name for it.
    pub instance: String,
    /// The configured dev user.
    pub user: String,
    /// The runtime's instance, if it has one (never another project's:
    /// see [`checks::own_instance`]).
    pub found: Option<runtime::Instance>,
}
