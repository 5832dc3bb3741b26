//! What a runtime reports and is given, the same for every backend: an
//! instance and its status, whose it is, what is at a path in it, how a
//! command runs in it, an image, where instances live, how long a call may
//! take.

use std::collections::BTreeMap;
use std::path::Path;

use super::provision::ContainerUser;
use crate::config::devices::Spec as DeviceSpec;

/// What the runtime reports about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    /// Whether it runs, in the runtime's word.
    pub status: InstanceStatus,
    /// Snapshot names, in the runtime's order.
    pub snapshots: Vec<String>,
    /// The `user.lxdev.project` tag, when lxdev created it.
    pub project_tag: Option<String>,
    /// The `user.lxdev.config` tag: the project file it was created for.
    pub config_tag: Option<String>,
    /// Its address (global IPv4 first), when the listing says and it has
    /// a network.
    pub address: Option<String>,
    /// Its own devices (not those of its profiles), by name.
    pub devices: BTreeMap<String, DeviceSpec>,
    /// Its `raw.idmap`: extra host IDs mapped into it (`uid H C` lines).
    pub idmap: Option<String>,
    /// Its config keys a project file may set (`limits.*`,
    /// `environment.*`, see `config::devenv::is_managed_key`), and only
    /// those.
    pub settings: BTreeMap<String, String>,
}

/// An instance's state as the runtime reports it. lxdev acts on two of
/// them; any other (`Frozen`, `Error`, ...) is kept as the runtime spells
/// it, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceStatus {
    Running,
    Stopped,
    Other(String),
}

impl InstanceStatus {
    /// The runtime's word: `Running`, `Stopped`, or the other as reported.
    pub fn as_str(&self) -> &str {
        match self {
            InstanceStatus::Running => "Running",
            InstanceStatus::Stopped => "Stopped",
            InstanceStatus::Other(word) => word,
        }
    }

    pub fn is_running(&self) -> bool {
        *self == InstanceStatus::Running
    }
}

impl From<String> for InstanceStatus {
    fn from(word: String) -> InstanceStatus {
        match word.as_str() {
            "Running" => InstanceStatus::Running,
            "Stopped" => InstanceStatus::Stopped,
            _ => InstanceStatus::Other(word),
        }
    }
}

/// Compares with the runtime's word (`status == "Running"`).
impl PartialEq<&str> for InstanceStatus {
    fn eq(&self, word: &&str) -> bool {
        self.as_str() == *word
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for InstanceStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Whose an instance is, by the tags lxdev puts on what it creates; never by
/// the name prefix alone, which another project (`web` and `web-b`) or
/// another checkout of the same repository shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Belonging {
    /// Tagged for this project and this project file.
    Ours,
    /// No lxdev tags (lxc-dev-manager's, or made by hand): the name
    /// prefix is all there is to go by.
    Untagged,
    /// Tagged for another project.
    OtherProject(String),
    /// Tagged for this project name but another project file: another
    /// checkout of the same repository.
    OtherCheckout(String),
}

impl Instance {
    /// Whose this instance is, for the project `project` whose file is
    /// `config` (canonical).
    pub fn belonging(&self, project: &str, config: &Path) -> Belonging {
        match (&self.project_tag, &self.config_tag) {
            (None, None) => Belonging::Untagged,
            (Some(tag), _) if tag != project => Belonging::OtherProject(tag.clone()),
            (_, Some(tag)) if !same_file(Path::new(tag), config) => {
                Belonging::OtherCheckout(tag.clone())
            }
            _ => Belonging::Ours,
        }
    }
}

/// Whether two paths name one file (comparing canonical paths when they
/// exist, the paths as written otherwise).
fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canonical(a) == canonical(b)
}

/// Tags lxdev puts on every instance it creates, so `doctor` can find the
/// project's instances even when the name prefix is ambiguous.
#[derive(Debug, Clone)]
pub struct Tags<'a> {
    pub project: &'a str,
    pub config_path: &'a Path,
    /// The project file's limits and environment for it
    /// (`config::devenv::DevEnv::instance_config`): given when it is made,
    /// over what a copy brings of its source's.
    pub settings: &'a BTreeMap<String, String>,
}

/// What a copy of an instance is made from: the instance, or one of its
/// snapshots (see [`super::backend::Runtime::copy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<'a> {
    pub instance: &'a str,
    pub snapshot: Option<&'a str>,
}

/// A host file or directory to copy into an instance (see
/// [`super::backend::Files::push`]).
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    /// Absolute; a directory is copied recursively.
    pub source: &'a Path,
    /// Its path in the instance, which becomes the copy.
    pub dest: &'a str,
    /// Whose the copy and the parents made for it are; root's when `None`.
    pub owner: Option<&'a ContainerUser>,
}

/// What is at a path inside an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    /// A symbolic link, whatever it points to: it means a path in the
    /// container, and on the host it would mean one of the host's.
    Link,
}

/// How [`Runtime::exec`](super::backend::Runtime::exec) runs a command: as whom, where, with what extra
/// environment. The default is root in the runtime's default directory.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub user: Option<ContainerUser>,
    pub cwd: Option<String>,
    /// `KEY=VALUE` pairs.
    pub env: Vec<(String, String)>,
}

/// An image in the runtime's image store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub fingerprint: String,
    pub aliases: Vec<String>,
    /// The `user.lxdev.project` property, when lxdev published it.
    pub project_tag: Option<String>,
    pub description: Option<String>,
    pub size: u64,
    pub created_at: String,
}

/// Where a project's instances live on the client's side: a remote of the
/// client's (`lxc remote list`) and a project on that server, each `None`
/// for the client's default; for a remote that is a cluster, the member (or
/// `@group`) new instances go to (`--target`), `None` to let the cluster
/// choose; and the storage pool new instances' root disks go on
/// (`--storage`), `None` for the default profile's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub remote: Option<String>,
    pub project: Option<String>,
    pub target: Option<String>,
    pub storage: Option<String>,
}

/// A storage pool, as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoragePool {
    pub name: String,
    /// `btrfs`, `zfs`, `lvm`, `dir`, ...: `dir` copies whole root
    /// filesystems for every snapshot, restore and copy.
    pub driver: String,
}

impl StoragePool {
    /// Whether every snapshot, restore and copy on it is a full copy of
    /// the root filesystem (a `dir` pool has no copy-on-write).
    pub fn is_slow(&self) -> bool {
        self.driver == "dir"
    }
}

/// How long a runtime's calls may take: every `lxc`/`incus` call is
/// stopped (and reported, exit 69) once it runs past its limit, so a
/// remote that accepts a connection and never answers cannot hang lxdev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The first call, which finds out whether the daemon answers at all.
    pub connect: std::time::Duration,
    /// Any other call (`exec` and `ssh` sessions are not limited).
    pub call: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect: std::time::Duration::from_secs(10),
            call: std::time::Duration::from_secs(600),
        }
    }
}

/// Which of the file's hooks runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStage {
    /// Once, when the container is made (a provisioning step).
    Setup,
    /// Each time `up` starts the container.
    Start,
}

impl HookStage {
    /// The file's key: `setup` or `start`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookStage::Setup => "setup",
            HookStage::Start => "start",
        }
    }
}

/// One command of a hook, as a runtime runs it inside an instance (see
/// [`Environment::run_hook`](super::backend::Environment::run_hook)).
#[derive(Debug, Clone, Copy)]
pub struct Hook<'a> {
    pub stage: HookStage,
    /// Run with `sh -c`: the file's text, as written.
    pub command: &'a str,
    /// Who runs it: the dev user.
    pub user: &'a ContainerUser,
    /// Where: the project's mount, else the user's home.
    pub cwd: &'a str,
}

/// What lxdev needs to know to reach an instance's sshd from this host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshFacts {
    /// Whether it has an sshd to start.
    pub sshd: bool,
    /// Its host public keys, `TYPE BASE64` each (checked: nothing else).
    pub host_keys: Vec<String>,
    /// The `authorized_keys` lines of the user asked about, `TYPE BASE64`
    /// each (options and comments left out).
    pub authorized: Vec<String>,
}

/// What `logs` asks of a runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogRequest {
    /// Only the last lines; all when `None`.
    pub lines: Option<u32>,
    /// Go on printing new lines until interrupted (SIGINT, SIGTERM).
    pub follow: bool,
}

/// Where an instance's logs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// The systemd journal (`journalctl`).
    Journal,
    /// The console log the runtime keeps (an instance without systemd).
    Console,
}

impl LogSource {
    /// How `--json` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::Journal => "journal",
            LogSource::Console => "console",
        }
    }
}
