//! The command line, as clap derive types. The `///` comments are the help
//! text users read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    #[arg(short = 'C', long = "dir", value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,

    /// The project file itself, instead of searching for containers.yaml
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "dir")]
    pub config: Option<PathBuf>,

    /// Seconds to wait for the lock on containers.yaml; 0 fails at once if busy
    #[arg(
        long,
        value_name = "SECS",
        env = "LXDEV_LOCK_TIMEOUT",
        default_value_t = 10.0,
        global = true
    )]
    pub lock_timeout: f64,

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

    /// Print machine-readable JSON (list, container list, snapshot list, doctor)
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print each step, with lock wait times
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a project: write a new containers.yaml here (or in -C DIR)
    #[command(alias = "create")]
    Init(InitArgs),
    /// Create, clone, remove and list containers
    #[command(subcommand)]
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
    /// `image`, as `container create` would, then started.
    Up(UpArgs),
    /// Stop containers
    Down(BulkArgs),
    /// Commands on the whole project
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Publish containers as images, and manage those images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Run a command inside a container, as its dev user
    Exec(ExecArgs),
    /// Open a login shell inside a container, as its dev user
    #[command(alias = "shell")]
    Ssh(SshArgs),
    /// Remove containers (same as `container remove`)
    #[command(hide = true)]
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Containers to remove
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Remove even containers owned by another user
    #[arg(short, long)]
    pub force: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SshArgs {
    /// Container name
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
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub ready_timeout: u64,
}

impl ProvisionArgs {
    /// What `up` provisions a checked-in entry with: everything, as a
    /// plain `container create` would.
    pub fn for_up(no_provision: bool) -> ProvisionArgs {
        ProvisionArgs {
            no_provision,
            no_initial_snapshot: false,
            ssh_keys: Vec::new(),
            ready_timeout: 120,
        }
    }
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
    #[arg(long)]
    pub project: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create a container from an image
    Create {
        /// Container name: letters, digits and `-` (the runtime name is `<project>-<name>`)
        name: String,
        /// Image to launch, e.g. `busybox` or `ubuntu:24.04`
        image: String,
        #[command(flatten)]
        provision: ProvisionArgs,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Copy a container (or one of its snapshots) to a new container
    Clone {
        /// The container to copy
        source: String,
        /// Name of the new container
        name: String,
        /// Copy this snapshot of SOURCE instead of its current state
        #[arg(short, long, value_name = "SNAP")]
        snapshot: Option<String>,
        /// Skip the copy's own `initial-state` snapshot
        #[arg(long)]
        no_initial_snapshot: bool,
        /// Seconds to wait for the copy to boot
        #[arg(long, value_name = "SECS", default_value_t = 120)]
        ready_timeout: u64,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Bring a container back to a snapshot: stop, restore, start
    Reset {
        name: String,
        /// The snapshot to go back to
        #[arg(default_value = "initial-state")]
        snapshot: String,
        /// Reset even a container owned by another user
        #[arg(long)]
        force: bool,
    },
    /// Remove containers, from the runtime and from containers.yaml
    Remove {
        /// Containers to remove
        #[arg(required = true)]
        names: Vec<String>,
        /// Remove even containers owned by another user
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation (asked only when stdin is a terminal)
        #[arg(short, long)]
        yes: bool,
    },
    /// List containers with their state, owner and runtime status
    List,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot of a container
    Create {
        container: String,
        snapshot: String,
        /// A note stored with the snapshot
        #[arg(short, long)]
        description: Option<String>,
    },
    /// Delete a snapshot
    Delete {
        container: String,
        snapshot: String,
        /// Delete even if the container is owned by another user
        #[arg(long)]
        force: bool,
    },
    /// List a container's snapshots
    List { container: String },
    /// Roll a container back to a snapshot
    Restore {
        container: String,
        snapshot: String,
        /// Restore even if the container is owned by another user
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Remove every container of the project, then containers.yaml
    ///
    /// All containers are marked as being removed in one step first, so
    /// other lxdev commands on them fail at once (exit 75) instead of racing
    /// the removal. If interrupted, containers.yaml lists exactly what is
    /// left. The lock file stays.
    Delete {
        /// Remove even containers owned by another user
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation (asked only when stdin is a terminal)
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Publish a container as an image (stopped meanwhile, then restarted)
    Create {
        /// The container to publish
        container: String,
        /// Alias of the new image: letters, digits, `-`, `_` and `.`
        alias: String,
    },
    /// List the images published by this project
    List {
        /// List every image in the runtime, not only this project's
        #[arg(long)]
        all: bool,
    },
    /// Delete an image
    Delete {
        alias: String,
        /// Delete it even if a container in containers.yaml names it as its image
        #[arg(long)]
        force: bool,
    },
    /// Rename an image's alias
    Rename { old: String, new: String },
}

#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Container names
    #[arg(required_unless_present = "all", conflicts_with = "all")]
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
    /// Create missing containers without provisioning them (no user, SSH
    /// or initial-state snapshot)
    #[arg(long)]
    pub no_provision: bool,
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
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Container name
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
