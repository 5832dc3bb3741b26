//! One function per subcommand. Mutating commands follow the same three
//! steps: reserve (a short transaction that validates and records the
//! operation in flight), do the runtime work with no lock held, commit (a
//! second transaction that records the outcome).

mod checks;
mod container;
mod doctor;
mod init;
mod lifecycle;
mod snapshot;

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{Cli, Command, ContainerCommand, GlobalArgs, SnapshotCommand};
use crate::config::{ConfigManager, Project};
use crate::error::Error;
use crate::output::Output;
use crate::runtime::{self, Runtime};

/// Committing work the runtime already did waits at least this long for
/// the lock: giving up would leave the entry in flight until `doctor`.
const MIN_COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest `--lock-timeout` accepted, in seconds (a year). Larger
/// values would not fit a `Duration` or would overflow the deadline
/// (`Instant + Duration` panics), and no one means to wait longer.
const MAX_LOCK_TIMEOUT_SECS: f64 = 31_536_000.0;

/// What every command needs: where the project file is, how to reach the
/// runtime, and how to talk to the user.
pub struct Context {
    pub manager: ConfigManager,
    pub out: Output,
    runtime_override: Option<String>,
}

impl Context {
    /// The runtime for this project: `--runtime`, else `LXDEV_RUNTIME`,
    /// else the file's `runtime:`, else detected.
    pub fn runtime(&self, project: &Project) -> Result<Box<dyn Runtime>> {
        let from_env = std::env::var("LXDEV_RUNTIME")
            .ok()
            .filter(|v| !v.is_empty());
        let name = self
            .runtime_override
            .clone()
            .or(from_env)
            .or_else(|| project.config().runtime.clone());
        runtime::select(name.as_deref(), project.name(), project.dir())
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
pub fn run(cli: Cli, cwd: &Path) -> Result<u8> {
    let ctx = context(&cli.global, matches!(cli.command, Command::Init(_)), cwd)?;
    match cli.command {
        Command::Init(args) => {
            init::init(&ctx, args.project.as_deref(), cli.global.runtime.as_deref())
        }
        Command::Container(command) => match command {
            ContainerCommand::Create { name, image } => container::create(&ctx, &name, &image),
            ContainerCommand::Clone {
                source,
                name,
                snapshot,
            } => container::clone(&ctx, &source, &name, snapshot.as_deref()),
            ContainerCommand::Remove { names, force } => container::remove(&ctx, &names, force),
            ContainerCommand::List => container::list(&ctx),
        },
        Command::List => container::list(&ctx),
        Command::Snapshot(command) => match command {
            SnapshotCommand::Create {
                container,
                snapshot,
                description,
            } => snapshot::create(&ctx, &container, &snapshot, description.as_deref()),
            SnapshotCommand::Delete {
                container,
                snapshot,
                force,
            } => snapshot::delete(&ctx, &container, &snapshot, force),
            SnapshotCommand::List { container } => snapshot::list(&ctx, &container),
            SnapshotCommand::Restore {
                container,
                snapshot,
                force,
            } => snapshot::restore(&ctx, &container, &snapshot, force),
        },
        Command::Doctor(args) => doctor::doctor(&ctx, args.fix),
        Command::Up(args) => lifecycle::up(&ctx, &args.name),
        Command::Down(args) => lifecycle::down(&ctx, &args.name),
        Command::Exec(args) => return lifecycle::exec(&ctx, &args.name, &args.command),
        Command::Shell(args) => return lifecycle::exec(&ctx, &args.name, &[]),
    }?;
    Ok(0)
}

fn context(global: &GlobalArgs, for_init: bool, cwd: &Path) -> Result<Context> {
    // `!(a <= x <= b)` rather than `x < a || x > b`: NaN fails it too.
    let secs = global.lock_timeout;
    if !(0.0..=MAX_LOCK_TIMEOUT_SECS).contains(&secs) {
        // 1e300 would print as 301 digits.
        let got = if secs.abs() >= 1e9 {
            format!("{secs:e}")
        } else {
            secs.to_string()
        };
        return Err(Error::Usage(format!(
            "--lock-timeout (or LXDEV_LOCK_TIMEOUT) must be a number of seconds, \
             0 or more and at most {MAX_LOCK_TIMEOUT_SECS} (a year); got {got}"
        ))
        .into());
    }
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
            .with_lock_timeout(Duration::from_secs_f64(global.lock_timeout))
            .with_messages(!global.quiet, global.verbose),
        out,
        runtime_override: global.runtime.clone(),
    })
}
