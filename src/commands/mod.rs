//! One function per subcommand. Mutating commands follow the same three
//! steps: reserve (a short transaction that validates and records the
//! operation in flight), do the runtime work with no lock held, commit (a
//! second transaction that records the outcome).

mod bulk;
mod checks;
mod completions;
mod container;
mod devices;
mod doctor;
mod exposure;
mod files;
mod image;
mod init;
mod lifecycle;
mod mount;
mod outcome;
mod project;
mod provision;
mod proxy;
mod runner;
mod snapshot;
mod sync;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;

use crate::cli::{
    Cli, Command, ContainerCommand, GlobalArgs, ImageCommand, ProjectCommand, SnapshotCommand,
    SyncCommand,
};
use crate::config::{ConfigManager, Project};
use crate::env::EnvVars;
use crate::error::Error;
use crate::interrupt;
use crate::output::{Outcome, Output};
use crate::runtime::{self, Runtime};
use outcome::Report;

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
    pub base_dir: std::path::PathBuf,
    /// `--target` of `container create` and `clone`: the cluster member new
    /// instances go to.
    target: Option<String>,
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

impl Context {
    /// The runtime for this project. A file that names its `runtime:` is
    /// bound to it: `--runtime` or `LXDEV_RUNTIME` naming another is an
    /// error, never a silent switch (entries would be judged by a runtime
    /// that never had them). A file that names none uses the override, else
    /// the detected runtime, and says which it detected.
    pub fn runtime(&self, project: &Project) -> Result<Box<dyn Runtime>> {
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
        if let Some(target) = &self.target {
            crate::config::names::validate_target(target).map_err(Error::Usage)?;
        }
        let placement = runtime::Placement {
            remote: self.remote_asked()?.or(config.remote.clone()),
            project: config.runtime_project.clone(),
            target: self.target.clone(),
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

    /// Runs runtime work (no lock held), with a spinner on a terminal. Once
    /// SIGINT or SIGTERM has asked lxdev to stop, work not yet started is
    /// refused instead: the caller then settles its record as unchanged.
    pub fn work<T>(
        &self,
        message: impl Into<String>,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if let Some(signal) = interrupt::received() {
            return Err(crate::error::refused(anyhow::anyhow!(
                "{} arrived before the runtime was asked",
                interrupt::name(signal)
            )));
        }
        if self.own_progress.load(Ordering::SeqCst) {
            self.out.step(message.into());
            return work();
        }
        self.out.progress(message, work)
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

/// Runs one parsed command line; returns the exit status to use on success
/// (`exec` passes on its command's status).
///
/// With `--json` the command's [`Outcome`] is printed at the end, failed
/// or not, even when the project file could not be read.
pub fn run(cli: Cli, cwd: &Path) -> Result<u8> {
    if let Command::Completions(args) = &cli.command {
        return completions::completions(args.shell);
    }
    let target = match &cli.command {
        Command::Container(
            ContainerCommand::Create { target, .. } | ContainerCommand::Clone { target, .. },
        ) => target.target.clone(),
        _ => None,
    };
    let report = Report::new(&cli.command);
    let for_init = matches!(
        cli.command,
        Command::Init(_) | Command::Project(ProjectCommand::Create(_))
    );
    let mut ctx = match context(&cli.global, for_init, cwd, report) {
        Ok(ctx) => ctx,
        Err(err) => {
            let err = Err(err);
            if cli.global.json {
                Report::new(&cli.command).print(None, &err);
            }
            return err;
        }
    };
    ctx.target = target;
    if !matches!(cli.command, Command::Exec(_) | Command::Ssh(_)) {
        interrupt::install().map_err(|err| anyhow::anyhow!("cannot handle signals: {err}"))?;
    }
    let result = dispatch(&ctx, cli);
    let result = match interrupt::received() {
        None => result,
        Some(signal) => {
            let outcome = match &result {
                Ok(_) => "the command had finished".to_string(),
                Err(err) => format!("{err:#}"),
            };
            Err(Error::Interrupted {
                message: format!("interrupted by {}: {outcome}", interrupt::name(signal)),
                signal,
            }
            .into())
        }
    };
    if ctx.out.json {
        let Context {
            manager, report, ..
        } = ctx;
        report.print(Some(&manager), &result);
    }
    result
}

fn dispatch(ctx: &Context, cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Init(args) | Command::Project(ProjectCommand::Create(args)) => {
            init::init(ctx, &args)
        }
        Command::Container(command) => match command {
            ContainerCommand::Create {
                name,
                image,
                provision,
                target: _,
            } => container::create(ctx, &name, &image, &provision),
            ContainerCommand::Clone {
                source,
                name,
                snapshot,
                no_initial_snapshot,
                ready_timeout,
                target: _,
            } => container::clone(
                ctx,
                &source,
                &name,
                snapshot.as_deref(),
                !no_initial_snapshot,
                ready_timeout,
            ),
            ContainerCommand::Reset {
                name,
                snapshot,
                force,
            } => snapshot::reset(ctx, &name, &snapshot, force),
            ContainerCommand::Remove { names, force, yes } => {
                container::remove(ctx, &names, force, yes)
            }
            ContainerCommand::List => container::list(ctx),
            ContainerCommand::Snapshot(command) => snapshot_command(ctx, command),
        },
        Command::List => container::list(ctx),
        Command::Snapshot(command) => snapshot_command(ctx, command),
        Command::Doctor(args) => doctor::doctor(ctx, args.fix),
        Command::Up(args) => lifecycle::up(
            ctx,
            &args.bulk.names,
            args.bulk.all,
            args.bulk.jobs.map(usize::from),
            args.no_provision,
        ),
        Command::Down(args) => {
            lifecycle::down(ctx, &args.names, args.all, args.jobs.map(usize::from))
        }
        Command::Image(command) => match command {
            ImageCommand::Create { container, alias } => image::create(ctx, &container, &alias),
            ImageCommand::List(args) => image::list(ctx, args.all),
            ImageCommand::Delete { alias, force } => image::delete(ctx, &alias, force),
            ImageCommand::Rename { old, new } => image::rename(ctx, &old, &new),
        },
        Command::Images(args) => image::list(ctx, args.all),
        Command::Project(ProjectCommand::Delete { force, yes }) => project::delete(ctx, force, yes),
        Command::Exec(args) => {
            let request = lifecycle::ExecRequest {
                user: args.user.as_deref(),
                cwd: args.cwd.as_deref(),
                env: &args.env,
            };
            return lifecycle::exec(ctx, &args.name, &args.command, &request);
        }
        Command::Ssh(args) => return lifecycle::ssh(ctx, &args.name, args.user.as_deref()),
        Command::Remove(args) => container::remove(ctx, &args.names, args.force, args.yes),
        Command::Mount(args) => {
            let options = mount::MountOptions {
                device: args.device,
                writable: args.rw,
                shift: args.shift,
                allow_outside: args.allow_outside,
                allow_risky: args.allow_risky,
            };
            mount::mount(ctx, &args.name, &args.source, &args.path, &options)
        }
        Command::Unmount(args) => mount::unmount(ctx, &args.name, &args.device),
        Command::Mounts(args) => mount::mounts(ctx, args.name.as_deref(), args.sync),
        Command::Proxy(args) => {
            let mode = match (args.stop, args.foreground) {
                (true, _) => proxy::Mode::Stop,
                (_, true) => proxy::Mode::Foreground,
                _ => proxy::Mode::Start,
            };
            proxy::proxy(ctx, &args.name, mode)
        }
        Command::Cp(args) => {
            let options = files::CopyOptions {
                allow_risky: args.allow_risky,
            };
            files::cp(ctx, &args.source, &args.dest, &options)
        }
        Command::Sync(args) => match (args.command, args.name) {
            (
                Some(SyncCommand::Add {
                    name,
                    source,
                    dest,
                    allow_outside,
                    allow_risky,
                }),
                _,
            ) => {
                let allowed = exposure::Allowed {
                    outside: allow_outside,
                    risky: allow_risky,
                };
                sync::add(ctx, &name, &source, &dest, allowed)
            }
            (Some(SyncCommand::Rm { name, source }), _) => sync::remove(ctx, &name, &source),
            (Some(SyncCommand::List { name }), _) => sync::list(ctx, &name),
            (None, Some(name)) => sync::sync(ctx, &name),
            (None, None) => Err(Error::Usage("name a container: `lxdev sync NAME`".into()).into()),
        },
        // Answered before a context is made (it needs no project file).
        Command::Completions(args) => return completions::completions(args.shell),
    }?;
    Ok(0)
}

/// `lxdev snapshot ...`, and lxc-dev-manager's `container snapshot ...`.
fn snapshot_command(ctx: &Context, command: SnapshotCommand) -> Result<()> {
    match command {
        SnapshotCommand::Create {
            container,
            snapshot,
            description,
        } => snapshot::create(ctx, &container, &snapshot, description.as_deref()),
        SnapshotCommand::Delete {
            container,
            snapshot,
            force,
        } => snapshot::delete(ctx, &container, &snapshot, force),
        SnapshotCommand::List { container } => snapshot::list(ctx, &container),
        SnapshotCommand::Restore {
            container,
            snapshot,
            force,
        } => snapshot::restore(ctx, &container, &snapshot, force),
    }
}

fn context(global: &GlobalArgs, for_init: bool, cwd: &Path, report: Report) -> Result<Context> {
    let manager = if for_init && global.config.is_none() {
        let dir = global
            .dir
            .as_deref()
            .map_or(cwd.to_path_buf(), |d| cwd.join(d));
        ConfigManager::new(dir.join(crate::config::FILE_NAME))
    } else {
        ConfigManager::discover(global.dir.as_deref(), global.config.as_deref(), cwd)?
    };
    let out = Output {
        quiet: global.quiet,
        verbose: global.verbose,
        json: global.json,
    };
    Ok(Context {
        manager: manager
            .with_lock_timeout(global.lock_timeout)
            .with_output(out),
        out,
        runtime_override: global.runtime.clone(),
        limits: runtime::Limits {
            connect: global.connect_timeout,
            call: global.runtime_timeout,
        },
        remote_override: global.remote.clone(),
        target: None,
        own_progress: AtomicBool::new(false),
        // As `git -C`: relative paths on the command line are relative to
        // the directory -C names.
        base_dir: global
            .dir
            .as_deref()
            .map_or(cwd.to_path_buf(), |d| cwd.join(d)),
        report,
    })
}
