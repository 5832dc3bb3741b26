//! The command line, as clap derive types. The `///` comments are the help
//! text users read.
//!
//! Besides the types: the `SECS` parser, the words of a line clap could not
//! parse (for `--json`), and the hooks of shell completion that need
//! [`Cli`] itself; what completion offers is in `completion.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::engine::CompletionCandidate;
use clap_complete::{ArgValueCandidates, ArgValueCompleter};

pub mod completion;

/// Dev containers on LXD/Incus for a project, recorded in containers.yaml.
///
/// Any number of lxdev commands may run at once: each change to
/// containers.yaml is made under a short exclusive lock and saved atomically,
/// and slow container work runs outside the lock.
#[derive(Debug, Parser)]
#[command(name = "lxdev", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project directory [default: the nearest directory upward with a containers.yaml]
    // `--project-dir` is lxc-dev-manager's spelling (hidden).
    #[arg(
        short = 'C',
        long = "dir",
        alias = "project-dir",
        value_name = "DIR",
        global = true
    )]
    pub dir: Option<PathBuf>,

    /// The project file itself, instead of searching for containers.yaml
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "dir")]
    pub config: Option<PathBuf>,

    /// Seconds to wait for the lock on containers.yaml; 0 fails at once if busy
    #[arg(
        long,
        value_name = "SECS",
        env = "LXDEV_LOCK_TIMEOUT",
        default_value = "10",
        value_parser = seconds,
        global = true
    )]
    pub lock_timeout: Duration,

    /// Seconds to wait for the runtime's daemon (or a remote) to answer
    /// lxdev's first call; an unreachable remote fails then, with exit 69
    #[arg(
        long,
        value_name = "SECS",
        env = "LXDEV_CONNECT_TIMEOUT",
        default_value = "10",
        value_parser = seconds,
        global = true
    )]
    pub connect_timeout: Duration,

    /// Seconds any one call to lxc/incus may take before lxdev stops it
    /// (exit 69); `exec` and `ssh` sessions are not limited
    #[arg(
        long,
        value_name = "SECS",
        env = "LXDEV_RUNTIME_TIMEOUT",
        default_value = "600",
        value_parser = seconds,
        global = true
    )]
    pub runtime_timeout: Duration,

    /// Container runtime: fake, lxd or incus [env: LXDEV_RUNTIME; default: the file's
    /// `runtime:`, else detected]. `init` records it (or the one it detects) in the
    /// new file; a file that records one refuses any other.
    // Not clap's `env`: messages say which of the two named the runtime.
    #[arg(long, value_name = "NAME", global = true)]
    pub runtime: Option<String>,

    /// The lxc/incus remote the containers live on (`lxc remote list`)
    /// [default: the file's `remote:`, else the client's own]
    #[arg(long, value_name = "NAME", global = true)]
    pub remote: Option<String>,

    /// Print machine-readable JSON: listings print their document, every
    /// other command one outcome object (ok, error, exit_code, ...) at the end
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print each step, with lock wait times, and each lxc/incus call lxdev
    /// makes with how long it took: where the time goes
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a project: write a new containers.yaml here (or in -C DIR)
    #[command(alias = "create")]
    Init(InitArgs),
    /// Create, clone, remove and list containers
    #[command(subcommand, alias = "c")]
    Container(ContainerCommand),
    /// Create, delete, list and restore snapshots
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// List the project's containers (same as `container list`)
    List,
    /// Find stale or failed operations and disagreements between
    /// containers.yaml and the runtime
    Doctor(DoctorArgs),
    /// Start containers, first creating any the runtime lacks from its image
    ///
    /// An entry recorded in containers.yaml but missing from the runtime (a
    /// teammate's checked-in file on a new machine) is created from its
    /// `image`, as `container create` would (running the file's `setup`
    /// hook), then started. An existing container first gets the file's
    /// current limits and env. The file's `start` hook runs in each
    /// container `up` started. Hooks run inside the container, never here.
    Up(UpArgs),
    /// Stop containers
    Down(BulkArgs),
    /// Commands on the whole project
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Publish containers as images, and manage those images
    #[command(subcommand)]
    Image(ImageCommand),
    /// List images (same as `image list`; lxc-dev-manager's `images`)
    #[command(hide = true)]
    Images(ImageListArgs),
    /// Run a command inside a container, as its dev user
    Exec(ExecArgs),
    /// Open a login shell inside a container, as its dev user
    #[command(alias = "shell")]
    Ssh(SshArgs),
    /// Print (or --write) OpenSSH entries that reach the containers' sshd
    /// through lxdev, with no container network
    ///
    /// One `Host <project>-<name>` per container: `User` the dev user,
    /// `IdentityFile` each of your keys it accepts, a `ProxyCommand` that
    /// runs lxdev to start the container's sshd through the runtime, and
    /// host keys checked against lxdev's own known_hosts (filled from the
    /// container). `ssh`, `scp`, `rsync -e ssh`, git and VS Code Remote-SSH
    /// then work with `<project>-<name>`.
    SshConfig(SshConfigArgs),
    /// OpenSSH's ProxyCommand for `ssh-config`'s entries: the container's
    /// sshd on stdin/stdout
    #[command(hide = true)]
    SshProxy(NameArg),
    /// Show a container's logs: its systemd journal, else its console log
    Logs(LogsArgs),
    /// Copy files or directories between the host and containers
    ///
    /// `lxdev cp ./app dev:~/app` copies to container `dev` (`~` is the dev
    /// user's home; the copy belongs to the dev user); `lxdev cp 'dev*:/etc/x' .`
    /// is refused, but `lxdev cp ./x 'dev*:/tmp/'` copies to every container
    /// whose name starts with `dev`; `lxdev cp dev:/var/log ./logs` copies back.
    #[command(visible_alias = "mv")]
    Cp(CpArgs),
    /// Remove containers (same as `container remove`)
    #[command(hide = true)]
    Remove(RemoveArgs),
    /// Mount a host folder in a container (read-only unless --rw)
    ///
    /// Recorded in containers.yaml as a `disk` device, so a checked-in file
    /// brings its mounts to every machine. Files in the folder belong to the
    /// container's dev user inside and to the folder's owner outside: lxdev
    /// maps the owner's uid/gid onto the dev user's (`raw.idmap`, which
    /// restarts a running container once).
    Mount(MountArgs),
    /// Remove a mount (by device name, or by its path in the container)
    Unmount(UnmountArgs),
    /// List mounts and other devices: ok, missing (in the file only) or
    /// untracked (in the runtime only)
    Mounts(MountsArgs),
    /// Forward the container's ports from 127.0.0.1 on this host
    ///
    /// One runtime proxy device per port (`lxdev-port-PORT`): it needs no
    /// container network, survives restarts and stays until `--stop`. The
    /// ports are the container's `ports:`, else `defaults.ports`; `8080` or
    /// `"8080:80"` (host port 8080 to the container's 80).
    Proxy(ProxyArgs),
    /// Push the host files listed under a container's `sync:` into it
    ///
    /// `lxdev sync add dev .env ~/app/.env` records one (the source is
    /// relative to the project directory, or absolute; the destination is
    /// the file's path in the container); `lxdev sync dev` pushes them all,
    /// each owned by the dev user and replacing the file there.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sync(SyncArgs),
    /// Print the shell script that completes lxdev's commands, options,
    /// container and snapshot names
    ///
    /// bash: `source <(lxdev completions bash)` in ~/.bashrc; zsh:
    /// `source <(lxdev completions zsh)` in ~/.zshrc; fish: `lxdev completions
    /// fish | source` in ~/.config/fish/config.fish. The script runs lxdev on
    /// each Tab, which reads the names from containers.yaml without locking it.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub command: Option<SyncCommand>,
    /// Container whose entries to push
    #[arg(required = true, add = ArgValueCandidates::new(containers))]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Record a file to push (an entry with the same SOURCE gets the new DEST)
    Add(SyncAddArgs),
    /// Forget the entry whose source is SOURCE
    Rm(SyncRmArgs),
    /// List a container's entries
    List(SyncListArgs),
}

#[derive(Debug, Args)]
pub struct SyncAddArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Host file or folder: relative to the project directory, or absolute
    pub source: String,
    /// Its path in the container: absolute, or `~/...` in the dev user's home
    pub dest: String,
    /// Allow a source outside the project directory (remembered for
    /// this project on this machine, never in containers.yaml)
    #[arg(long)]
    pub allow_outside: bool,
    /// Allow a source in or holding a secrets folder (~/.ssh, ...);
    /// remembered like --allow-outside
    #[arg(long)]
    pub allow_risky: bool,
}

#[derive(Debug, Args)]
pub struct SyncRmArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// The source, as `sync list` shows it
    pub source: String,
}

#[derive(Debug, Args)]
pub struct SyncListArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: completion::Shell,
}

#[derive(Debug, Args)]
pub struct MountArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Host folder (relative to the current directory), inside the project
    /// directory unless --allow-outside
    pub source: String,
    /// Absolute path inside the container
    pub path: String,
    /// Device name [default: from the folder's name]
    #[arg(short = 'n', long = "name", value_name = "DEV")]
    pub device: Option<String>,
    /// Mount read-write
    #[arg(long)]
    pub rw: bool,
    /// Use an idmapped mount (`shift=true`) instead of mapping the owner;
    /// right only when the folder's owner and the dev user share a uid
    #[arg(long)]
    pub shift: bool,
    /// Allow a folder outside the project directory
    #[arg(long)]
    pub allow_outside: bool,
    /// Allow a secrets folder (~/.ssh, ...), or a system or home folder read-write
    #[arg(long)]
    pub allow_risky: bool,
    /// Accepted for lxc-dev-manager scripts; lxdev never asks here
    #[arg(short = 'y', long = "yes", hide = true)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct UnmountArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Device name, or the mount's absolute path inside the container
    #[arg(value_name = "DEV|PATH")]
    pub device: String,
    /// Accepted for lxc-dev-manager scripts; lxdev never asks here
    #[arg(short = 'f', long = "force", hide = true)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct MountsArgs {
    /// Container name [default: every container]
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: Option<String>,
    /// Fix the side that is wrong: add missing devices to the runtime,
    /// record untracked ones in containers.yaml
    #[arg(long)]
    pub sync: bool,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Stop forwarding: remove the port devices
    #[arg(long, conflicts_with = "foreground")]
    pub stop: bool,
    /// Forward until Ctrl-C, then stop (lxc-dev-manager's `proxy`)
    #[arg(long)]
    pub foreground: bool,
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// What to copy: a host path, or NAME:PATH in a container
    #[arg(add = ArgValueCompleter::new(cp_endpoint))]
    pub source: String,
    /// Where to: NAME:PATH (NAME may be `*` or `PREFIX*`), or a host path;
    /// an existing directory (or a path ending in `/`) receives the copy inside it
    #[arg(add = ArgValueCompleter::new(cp_endpoint))]
    pub dest: String,
    /// Accepted for lxc-dev-manager's `mv -y`: lxdev never asks, and makes
    /// missing directories of the destination
    #[arg(short, long)]
    pub yes: bool,
    /// Copy into a container even a host path in or holding a secrets
    /// folder (~/.ssh, /etc/shadow, ...), which is refused otherwise
    #[arg(long)]
    pub allow_risky: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Containers to remove
    #[arg(required = true, add = ArgValueCandidates::new(containers))]
    pub names: Vec<String>,
    /// Remove even containers owned by another user, without asking
    /// (lxc-dev-manager's `-f`)
    #[arg(short, long)]
    pub force: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SshConfigArgs {
    /// Containers [default: every container of the project]
    #[arg(add = ArgValueCandidates::new(containers))]
    pub names: Vec<String>,
    /// Keep the entries in ~/.ssh/lxdev/<project>-<hash>.conf and add one
    /// `Include` line at the top of ~/.ssh/config if it is missing
    #[arg(long)]
    pub write: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Only the last N lines
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<u32>,
    /// Go on showing new lines until Ctrl-C
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct SshArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Log in as this user instead of the container's dev user (`root` for root)
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
}

/// How a new container is made ready to use.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Skip every step after the runtime made the container: no readiness
    /// wait, no user, no SSH, no initial-state snapshot
    #[arg(long)]
    pub no_provision: bool,
    /// Skip only the `initial-state` snapshot
    #[arg(long)]
    pub no_initial_snapshot: bool,
    /// Public key to install for the dev user (repeatable) [default: the
    /// invoking user's ~/.ssh/*.pub; under sudo, SUDO_USER's]
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_keys: Vec<PathBuf>,
    /// Seconds to wait for the container to boot
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = seconds)]
    pub ready_timeout: Duration,
    /// Mount the project directory read-write at PATH [default:
    /// /home/<user>/<project>], recorded as device `project`
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "")]
    pub mount_project: Option<String>,
    /// Do not run the file's `setup` hook (nor, for `up`, its `start` hook)
    #[arg(long)]
    pub no_setup: bool,
}

/// Where in a cluster a new container goes.
#[derive(Debug, Args, Default)]
pub struct TargetArgs {
    /// Cluster member to put the new container on (`@GROUP`: a member of
    /// that cluster group), when the remote is a cluster [default: the
    /// cluster chooses]
    #[arg(long, value_name = "MEMBER")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Project name, the prefix of every runtime container name [default: the directory name]
    // `-n`/`--name` are lxc-dev-manager's spellings (`create --name`), hidden.
    #[arg(long, short_alias = 'n', alias = "name")]
    pub project: Option<String>,
    /// Ports `proxy` forwards by default, comma-separated: `5173,8000` or
    /// `8080:80` (host 8080 to the container's 80); written to `defaults.ports`
    #[arg(short, long, value_name = "PORTS")]
    pub ports: Option<String>,
    /// Storage pool new containers go on, which must exist (`lxc storage
    /// list`); written to `storage:` [default: the default profile's pool].
    /// A copy-on-write pool (btrfs, zfs) makes snapshots, resets and clones
    /// take a fraction of a second; a `dir` pool copies the whole root
    /// filesystem each time
    #[arg(short, long, value_name = "POOL")]
    pub storage: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create a container from an image
    Create(CreateArgs),
    /// Copy a container (or one of its snapshots) to a new container
    Clone(CloneArgs),
    /// Bring a container back to a snapshot: stop, restore, start
    Reset(ResetArgs),
    /// Remove containers, from the runtime and from containers.yaml
    Remove(ContainerRemoveArgs),
    /// List containers with their state, owner and runtime status
    List,
    /// lxc-dev-manager's `container snapshot ...`: the same as `lxdev snapshot ...`
    #[command(subcommand, hide = true)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Container name: letters, digits and `-` (the runtime name is `<project>-<name>`)
    pub name: String,
    /// Image to launch, e.g. `busybox` or `ubuntu:24.04`
    pub image: String,
    #[command(flatten)]
    pub provision: ProvisionArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The container to copy
    #[arg(add = ArgValueCandidates::new(containers))]
    pub source: String,
    /// Name of the new container
    pub name: String,
    /// Copy this snapshot of SOURCE instead of its current state
    #[arg(short, long, value_name = "SNAP",
        add = ArgValueCandidates::new(|| snapshots("source")))]
    pub snapshot: Option<String>,
    /// Skip the copy's own `initial-state` snapshot
    #[arg(long)]
    pub no_initial_snapshot: bool,
    /// Seconds to wait for the copy to boot
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = seconds)]
    pub ready_timeout: Duration,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// The snapshot to go back to
    #[arg(default_value = "initial-state",
        add = ArgValueCandidates::new(|| snapshots("name")))]
    pub snapshot: String,
    /// Reset even a container owned by another user
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ContainerRemoveArgs {
    /// Containers to remove
    #[arg(required = true, add = ArgValueCandidates::new(containers))]
    pub names: Vec<String>,
    /// Remove even containers owned by another user, without asking
    #[arg(short, long)]
    pub force: bool,
    /// Do not ask for confirmation (asked only when stdin is a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot of a container
    Create(SnapshotCreateArgs),
    /// Delete a snapshot
    Delete(SnapshotDeleteArgs),
    /// List a container's snapshots
    List(SnapshotListArgs),
    /// Roll a container back to a snapshot
    Restore(SnapshotRestoreArgs),
}

#[derive(Debug, Args)]
pub struct SnapshotCreateArgs {
    #[arg(add = ArgValueCandidates::new(containers))]
    pub container: String,
    pub snapshot: String,
    /// A note stored with the snapshot
    #[arg(short, long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct SnapshotDeleteArgs {
    #[arg(add = ArgValueCandidates::new(containers))]
    pub container: String,
    #[arg(add = ArgValueCandidates::new(|| snapshots("container")))]
    pub snapshot: String,
    /// Delete even if the container is owned by another user
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotListArgs {
    #[arg(add = ArgValueCandidates::new(containers))]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct SnapshotRestoreArgs {
    #[arg(add = ArgValueCandidates::new(containers))]
    pub container: String,
    #[arg(add = ArgValueCandidates::new(|| snapshots("container")))]
    pub snapshot: String,
    /// Restore even if the container is owned by another user
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Remove every container of the project, then containers.yaml
    ///
    /// All containers are marked as being removed in one step first, so
    /// other lxdev commands on them fail at once (exit 75) instead of racing
    /// the removal. If interrupted, containers.yaml lists exactly what is
    /// left. The lock file stays.
    Delete(ProjectDeleteArgs),
    /// lxc-dev-manager's `project create`: the same as `lxdev init`
    #[command(hide = true)]
    Create(InitArgs),
}

#[derive(Debug, Args)]
pub struct ProjectDeleteArgs {
    /// Remove even containers owned by another user, without asking
    #[arg(short, long)]
    pub force: bool,
    /// Do not ask for confirmation (asked only when stdin is a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Publish a container as an image (stopped meanwhile, then restarted)
    Create(ImageCreateArgs),
    /// List the images published by this project
    List(ImageListArgs),
    /// Delete an image
    Delete(ImageDeleteArgs),
    /// Rename an image's alias
    Rename(ImageRenameArgs),
}

#[derive(Debug, Args)]
pub struct ImageCreateArgs {
    /// The container to publish
    #[arg(add = ArgValueCandidates::new(containers))]
    pub container: String,
    /// Alias of the new image: letters, digits, `-`, `_` and `.`
    pub alias: String,
}

#[derive(Debug, Args)]
pub struct ImageDeleteArgs {
    pub alias: String,
    /// Delete it even if a container in containers.yaml names it as its image
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImageRenameArgs {
    pub old: String,
    pub new: String,
}

#[derive(Debug, Args)]
pub struct ImageListArgs {
    /// List every image in the runtime, not only this project's
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Container names
    #[arg(
        required_unless_present = "all",
        conflicts_with = "all",
        add = ArgValueCandidates::new(containers)
    )]
    pub names: Vec<String>,
    /// Every container of the project
    #[arg(long)]
    pub all: bool,
    /// Work on at most N containers at a time [default: the number of CPUs]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub bulk: BulkArgs,
    /// Create missing containers without provisioning them (no user, SSH,
    /// hooks or initial-state snapshot)
    #[arg(long)]
    pub no_provision: bool,
    /// Run neither the file's `setup` hook (for containers it creates) nor
    /// its `start` hook
    #[arg(long)]
    pub no_setup: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Settle every finding by asking the runtime what exists
    #[arg(long)]
    pub fix: bool,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Container name
    #[arg(add = ArgValueCandidates::new(containers))]
    pub name: String,
    /// Run as this user instead of the container's dev user (`root` for root)
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container [default: the user's home]
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// Set an environment variable (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The command and its arguments (after `--`)
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The subcommand words of a command line clap could not parse, as far as
/// they can be told (`container create`), else `lxdev`: for the `--json`
/// outcome of a usage error. Options and their values are skipped roughly:
/// a word starting with `-` is skipped, its value is not.
pub fn typed_command(args: &[String]) -> String {
    let mut command = Cli::command();
    let mut words: Vec<String> = Vec::new();
    for arg in args.iter().filter(|a| !a.starts_with('-')) {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            break;
        };
        words.push(sub.get_name().to_string());
        command = sub;
    }
    if words.is_empty() {
        "lxdev".into()
    } else {
        words.join(" ")
    }
}

/// The longest wait any `SECS` option takes: a year. Larger values would
/// not fit a `Duration`, or would overflow a deadline (`Instant +
/// Duration` panics), and no one means to wait longer.
pub const MAX_SECONDS: f64 = 31_536_000.0;

/// Parses a `SECS` option: a number of seconds (fractions allowed), from 0
/// to [`MAX_SECONDS`]; anything else is clap's usage error (exit 2), so no
/// value can reach a deadline computation and panic.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.trim().parse().map_err(|_| {
        format!(
            "must be a number of seconds, 0 or more and at most {MAX_SECONDS} (a year); got {text}"
        )
    })?;
    // `!(a <= x <= b)` rather than `x < a || x > b`: NaN fails it too.
    if !(0.0..=MAX_SECONDS).contains(&secs) {
        // 1e300 would print as 301 digits.
        let got = if secs.abs() >= 1e9 {
            format!("{secs:e}")
        } else {
            secs.to_string()
        };
        return Err(format!(
            "must be a number of seconds, 0 or more and at most {MAX_SECONDS} (a year); got {got}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Answers a completion request and exits when lxdev was run by a
/// registered script; returns at once otherwise (see `completion`).
pub fn complete_if_asked() {
    completion::complete_if_asked(Cli::command);
}

/// Tab completion of a container argument.
fn containers() -> Vec<CompletionCandidate> {
    completion::containers(Cli::command)
}

/// Tab completion of a snapshot argument, of the container that the
/// argument `container_arg` names.
fn snapshots(container_arg: &str) -> Vec<CompletionCandidate> {
    completion::snapshots(Cli::command, container_arg)
}

/// Tab completion of `cp`'s SOURCE and DEST.
fn cp_endpoint(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    completion::cp_endpoint(Cli::command, current)
}
