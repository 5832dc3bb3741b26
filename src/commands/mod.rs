//! One function per subcommand. Mutating commands follow the same three
//! steps: reserve (a short transaction that validates and records the
//! operation in flight), do the runtime work with no lock held, commit (a
//! second transaction that records the outcome).

mod completions;

use std::path::Path;

use anyhow::Result;

use crate::cli::{
    Cli, Command, ContainerCommand, GlobalArgs, ImageCommand, ProjectCommand, SnapshotCommand,
    SyncCommand,
};
use crate::config::ConfigManager;
use crate::error::Error;
use crate::interrupt;
use crate::ops::context::{Context, Settings};
use crate::ops::outcome::Report;
use crate::ops::{
    create, doctor, exec, exposure, files, image, init, lifecycle, list, mounts, proxy, remove,
    snapshot, sync,
};
use crate::output::Output;
use crate::runtime;

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
    let ctx = match context(&cli.global, for_init, cwd, report) {
        Ok(ctx) => ctx,
        Err(err) => {
            let err = Err(err);
            if cli.global.json {
                Report::new(&cli.command).print(None, &err);
            }
            return err;
        }
    };
    let ctx = ctx.with_target(target);
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
        ctx.print_outcome(&result);
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
            } => create::create(ctx, &name, &image, &provision),
            ContainerCommand::Clone {
                source,
                name,
                snapshot,
                no_initial_snapshot,
                ready_timeout,
                target: _,
            } => create::clone(
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
                remove::remove(ctx, &names, force, yes)
            }
            ContainerCommand::List => list::list(ctx),
            ContainerCommand::Snapshot(command) => snapshot_command(ctx, command),
        },
        Command::List => list::list(ctx),
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
        Command::Project(ProjectCommand::Delete { force, yes }) => {
            remove::delete_project(ctx, force, yes)
        }
        Command::Exec(args) => {
            let request = exec::ExecRequest {
                user: args.user.as_deref(),
                cwd: args.cwd.as_deref(),
                env: &args.env,
            };
            return exec::exec(ctx, &args.name, &args.command, &request);
        }
        Command::Ssh(args) => return exec::ssh(ctx, &args.name, args.user.as_deref()),
        Command::Remove(args) => remove::remove(ctx, &args.names, args.force, args.yes),
        Command::Mount(args) => {
            let options = mounts::MountOptions {
                device: args.device,
                writable: args.rw,
                shift: args.shift,
                allow_outside: args.allow_outside,
                allow_risky: args.allow_risky,
            };
            mounts::mount(ctx, &args.name, &args.source, &args.path, &options)
        }
        Command::Unmount(args) => mounts::unmount(ctx, &args.name, &args.device),
        Command::Mounts(args) => mounts::mounts(ctx, args.name.as_deref(), args.sync),
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
    Ok(Context::new(manager, out, settings, report))
}
