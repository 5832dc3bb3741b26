//! One thin handler per subcommand, grouped by noun: each turns clap's
//! arguments into its operation's options and calls the operation in
//! `ops/`. This file holds [`run`] and the one `match` on [`Command`],
//! which says for each command both what its `--json` outcome is about and
//! which handler runs it.

mod access;
mod completions;
mod container;
mod devices;
mod doctor;
mod exec;
mod files;
mod image;
mod project;
mod snapshot;

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use crate::cli::{
    Cli, Command, ContainerCommand, GlobalArgs, ImageCommand, ProjectCommand, SnapshotCommand,
    SyncCommand,
};
use crate::config::ConfigManager;
use crate::error::Error;
use crate::interrupt;
use crate::ops::context::{Context, Settings};
use crate::ops::report::{About, Report};
use crate::output::Output;
use crate::runtime;

/// Runs one parsed command line; returns the exit status to use on success
/// (`exec` passes on its command's status).
///
/// With `--json` the command's outcome is printed at the end, failed or
/// not, even when the project file could not be read.
pub fn run(cli: Cli, cwd: &Path) -> Result<u8> {
    let Cli { global, command } = cli;
    let Job { outline, work } = job(command);
    let work = match work {
        Work::Alone(work) => return work(),
        Work::InProject(work) => work,
    };
    let report = Report::new(outline.words, outline.name, outline.about, outline.details);
    let manager = match manager(&global, outline.file, cwd) {
        Ok(manager) => manager,
        Err(err) => {
            let err = Err(err);
            if global.json {
                report.print(None, &err);
            }
            return err;
        }
    };
    let ctx = context(&global, manager, cwd, report);
    if outline.signals {
        interrupt::install().map_err(|err| anyhow::anyhow!("cannot handle signals: {err}"))?;
    }
    let result = work(&ctx);
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
        ctx.print_outcome(&result);
    }
    result
}

/// One command line, ready to run: what its `--json` outcome is about
/// (read from the command line before it runs), and its handler.
struct Job {
    outline: Outline,
    work: Work,
}

/// What [`run`] needs to know of a command before its handler runs.
struct Outline {
    /// The subcommand's words, as typed (`container create`).
    words: &'static str,
    /// The container (or image alias, or project) it is about.
    name: Option<String>,
    about: About,
    /// What the command line already tells, for the outcome.
    details: Vec<(&'static str, Value)>,
    file: ProjectFile,
    /// Whether lxdev catches SIGINT and SIGTERM to settle what is in
    /// flight; `exec` and `ssh` leave them to the command they run.
    signals: bool,
}

/// Where the project file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProjectFile {
    /// Found upward from the current directory (or `-C`, `--config`).
    Found,
    /// Written by the command (`init`): in the current directory or `-C`.
    New,
}

/// A handler: it returns the exit status.
type Handler = Box<dyn FnOnce(&Context) -> Result<u8>>;

/// What runs.
enum Work {
    /// Needs no project file (`completions`).
    Alone(Box<dyn FnOnce() -> Result<u8>>),
    InProject(Handler),
}

impl Outline {
    fn new(words: &'static str, name: Option<String>, about: About) -> Outline {
        Outline {
            words,
            name,
            about,
            details: Vec::new(),
            file: ProjectFile::Found,
            signals: true,
        }
    }

    fn detail(mut self, key: &'static str, value: impl Into<Value>) -> Outline {
        self.details.push((key, value.into()));
        self
    }

    fn new_file(mut self) -> Outline {
        self.file = ProjectFile::New;
        self
    }

    /// Runs `handler` in the project; it exits 0 when it succeeds.
    fn runs(self, handler: impl FnOnce(&Context) -> Result<()> + 'static) -> Job {
        self.runs_status(move |ctx| handler(ctx).map(|()| 0))
    }

    /// Runs `handler` in the project; it says the exit status.
    fn runs_status(self, handler: impl FnOnce(&Context) -> Result<u8> + 'static) -> Job {
        Job {
            outline: self,
            work: Work::InProject(Box::new(handler)),
        }
    }

    /// Runs `handler` with the terminal's signals left to what it runs.
    fn runs_attached(mut self, handler: impl FnOnce(&Context) -> Result<u8> + 'static) -> Job {
        self.signals = false;
        self.runs_status(handler)
    }

    /// Runs `handler` without a project file.
    fn runs_alone(self, handler: impl FnOnce() -> Result<u8> + 'static) -> Job {
        Job {
            outline: self,
            work: Work::Alone(Box::new(handler)),
        }
    }
}

/// The one `match` on the command line: each command's outcome skeleton
/// and its handler.
fn job(command: Command) -> Job {
    use About::{Container, Containers, Exec, Listing, Other};
    let one = |names: &[String]| (names.len() == 1).then(|| names[0].clone());
    match command {
        Command::Init(args) => Outline::new("init", args.project.clone(), Other)
            .new_file()
            .runs(move |ctx| project::init(ctx, args)),
        Command::Project(ProjectCommand::Create(args)) => {
            Outline::new("project create", args.project.clone(), Other)
                .new_file()
                .runs(move |ctx| project::init(ctx, args))
        }
        Command::Project(ProjectCommand::Delete(args)) => {
            Outline::new("project delete", None, About::Project)
                .runs(move |ctx| project::delete(ctx, args))
        }
        Command::Container(command) => match command {
            ContainerCommand::Create(args) => {
                Outline::new("container create", Some(args.name.clone()), Container)
                    .detail("image", args.image.as_str())
                    .runs(move |ctx| container::create(ctx, args))
            }
            ContainerCommand::Clone(args) => {
                Outline::new("container clone", Some(args.name.clone()), Container)
                    .detail("source", args.source.as_str())
                    .detail("snapshot", args.snapshot.clone())
                    .runs(move |ctx| container::clone(ctx, args))
            }
            ContainerCommand::Reset(args) => {
                Outline::new("container reset", Some(args.name.clone()), Container)
                    .detail("snapshot", args.snapshot.as_str())
                    .runs(move |ctx| container::reset(ctx, args))
            }
            ContainerCommand::Remove(args) => {
                Outline::new("container remove", one(&args.names), Containers)
                    .runs(move |ctx| container::remove(ctx, args))
            }
            ContainerCommand::List => {
                Outline::new("container list", None, Listing).runs(container::list)
            }
            ContainerCommand::Snapshot(command) => snapshot_job(command, true),
        },
        Command::List => Outline::new("list", None, Listing).runs(container::list),
        Command::Remove(args) => Outline::new("remove", one(&args.names), Containers)
            .runs(move |ctx| container::remove_any(ctx, args)),
        Command::Up(args) => Outline::new("up", one(&args.bulk.names), Containers)
            .runs(move |ctx| container::up(ctx, args)),
        Command::Down(args) => Outline::new("down", one(&args.names), Containers)
            .runs(move |ctx| container::down(ctx, args)),
        Command::Snapshot(command) => snapshot_job(command, false),
        Command::Doctor(args) => {
            Outline::new("doctor", None, Other).runs(move |ctx| doctor::doctor(ctx, args))
        }
        Command::Image(command) => match command {
            ImageCommand::Create(args) => {
                Outline::new("image create", Some(args.container.clone()), Container)
                    .detail("image", args.alias.as_str())
                    .runs(move |ctx| image::create(ctx, args))
            }
            ImageCommand::List(args) => {
                Outline::new("image list", None, Listing).runs(move |ctx| image::list(ctx, args))
            }
            ImageCommand::Delete(args) => {
                Outline::new("image delete", Some(args.alias.clone()), Other)
                    .runs(move |ctx| image::delete(ctx, args))
            }
            ImageCommand::Rename(args) => {
                Outline::new("image rename", Some(args.old.clone()), Other)
                    .detail("new", args.new.as_str())
                    .runs(move |ctx| image::rename(ctx, args))
            }
        },
        Command::Images(args) => {
            Outline::new("images", None, Listing).runs(move |ctx| image::list(ctx, args))
        }
        Command::Exec(args) => Outline::new("exec", Some(args.name.clone()), Exec)
            .runs_attached(move |ctx| exec::exec(ctx, args)),
        Command::Ssh(args) => Outline::new("ssh", Some(args.name.clone()), Exec)
            .runs_attached(move |ctx| exec::ssh(ctx, args)),
        Command::SshConfig(args) => Outline::new("ssh-config", one(&args.names), Containers)
            .detail("write", args.write)
            .runs(move |ctx| access::ssh_config(ctx, args)),
        // Its stdout is the SSH connection: nothing else may go there.
        Command::SshProxy(args) => Outline::new("ssh-proxy", Some(args.name.clone()), Exec)
            .runs_attached(move |ctx| access::ssh_proxy(ctx, args)),
        Command::Logs(args) => Outline::new("logs", Some(args.name.clone()), Container)
            .detail("follow", args.follow)
            .runs(move |ctx| access::logs(ctx, args)),
        Command::Cp(args) => {
            // The container side's name, unless it is a glob.
            let named = [&args.source, &args.dest]
                .into_iter()
                .find_map(|arg| arg.split_once(':').map(|(name, _)| name.to_string()))
                .filter(|name| !name.is_empty() && !name.contains('*') && !name.contains('/'));
            Outline::new("cp", named, Containers)
                .detail("source", args.source.as_str())
                .detail("dest", args.dest.as_str())
                .runs(move |ctx| files::cp(ctx, args))
        }
        Command::Sync(args) => match args.command {
            Some(SyncCommand::Add(args)) => {
                Outline::new("sync add", Some(args.name.clone()), Container)
                    .detail("source", args.source.as_str())
                    .detail("dest", args.dest.as_str())
                    .runs(move |ctx| files::sync_add(ctx, args))
            }
            Some(SyncCommand::Rm(args)) => {
                Outline::new("sync rm", Some(args.name.clone()), Container)
                    .detail("source", args.source.as_str())
                    .runs(move |ctx| files::sync_rm(ctx, args))
            }
            Some(SyncCommand::List(args)) => {
                Outline::new("sync list", Some(args.name.clone()), Listing)
                    .runs(move |ctx| files::sync_list(ctx, args))
            }
            None => Outline::new("sync", args.name.clone(), Container)
                .runs(move |ctx| files::sync(ctx, args.name)),
        },
        Command::Mount(args) => Outline::new("mount", Some(args.name.clone()), Container)
            .detail("source", args.source.as_str())
            .detail("path", args.path.as_str())
            .runs(move |ctx| devices::mount(ctx, args)),
        Command::Unmount(args) => Outline::new("unmount", Some(args.name.clone()), Container)
            .detail("device", args.device.as_str())
            .runs(move |ctx| devices::unmount(ctx, args)),
        Command::Mounts(args) => {
            Outline::new("mounts", None, Listing).runs(move |ctx| devices::mounts(ctx, args))
        }
        Command::Proxy(args) => Outline::new("proxy", Some(args.name.clone()), Container)
            .runs(move |ctx| devices::proxy(ctx, args)),
        Command::Completions(args) => Outline::new("completions", None, Other)
            .runs_alone(move || completions::completions(args.shell)),
    }
}

/// `snapshot ...`, or lxc-dev-manager's `container snapshot ...` when
/// `under_container`: the words as typed, as for a usage error.
fn snapshot_job(command: SnapshotCommand, under_container: bool) -> Job {
    let pick = |plain, long| if under_container { long } else { plain };
    match command {
        SnapshotCommand::Create(args) => Outline::new(
            pick("snapshot create", "container snapshot create"),
            Some(args.container.clone()),
            About::Container,
        )
        .detail("snapshot", args.snapshot.as_str())
        .runs(move |ctx| snapshot::create(ctx, args)),
        SnapshotCommand::Delete(args) => Outline::new(
            pick("snapshot delete", "container snapshot delete"),
            Some(args.container.clone()),
            About::Container,
        )
        .detail("snapshot", args.snapshot.as_str())
        .runs(move |ctx| snapshot::delete(ctx, args)),
        SnapshotCommand::Restore(args) => Outline::new(
            pick("snapshot restore", "container snapshot restore"),
            Some(args.container.clone()),
            About::Container,
        )
        .detail("snapshot", args.snapshot.as_str())
        .runs(move |ctx| snapshot::restore(ctx, args)),
        SnapshotCommand::List(args) => Outline::new(
            pick("snapshot list", "container snapshot list"),
            Some(args.container.clone()),
            About::Listing,
        )
        .runs(move |ctx| snapshot::list(ctx, args)),
    }
}

/// The project file's manager: the file `-C`/`--config` or the search
/// names, or for `init`, the one to write.
fn manager(global: &GlobalArgs, file: ProjectFile, cwd: &Path) -> Result<ConfigManager> {
    if file == ProjectFile::New && global.config.is_none() {
        let dir = global
            .dir
            .as_deref()
            .map_or(cwd.to_path_buf(), |d| cwd.join(d));
        return Ok(ConfigManager::new(dir.join(crate::config::FILE_NAME)));
    }
    ConfigManager::discover(global.dir.as_deref(), global.config.as_deref(), cwd)
}

/// The operations' context, from the global options.
fn context(global: &GlobalArgs, manager: ConfigManager, cwd: &Path, report: Report) -> Context {
    let out = Output {
        quiet: global.quiet,
        verbose: global.verbose,
        json: global.json,
    };
    if out.verbose {
        // Each lxc/incus call and its duration, as `cargo -v` prints the
        // commands it runs: where a command's time goes.
        runtime::trace::observe(Box::new(move |call| out.step(call.to_string())));
    }
    let settings = Settings {
        runtime: global.runtime.clone(),
        remote: global.remote.clone(),
        limits: runtime::Limits {
            connect: global.connect_timeout,
            call: global.runtime_timeout,
        },
        // As `git -C`: relative paths on the command line are relative to
        // the directory -C names.
        base_dir: global
            .dir
            .as_deref()
            .map_or(cwd.to_path_buf(), |d| cwd.join(d)),
    };
    let manager = manager
        .with_lock_timeout(global.lock_timeout)
        .with_output(out);
    Context::new(manager, out, settings, report)
}
