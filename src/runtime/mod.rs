//! The container runtimes lxdev drives, behind one trait.
//!
//! Nothing outside this module spawns `lxc` or `incus`. Every method is a
//! slow, lock-free step of a command: callers never hold the config lock
//! while calling one. Instance names are the runtime's (`<project>-<name>`).

pub mod client;
pub mod fake;
pub mod lxd;
pub mod provision;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

pub use crate::config::devices::Spec as DeviceSpec;

use crate::config::ledger::Step;
pub use client::Placement;
pub use provision::{ContainerUser, Provisioning};

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
}

/// Errors: a create, clone or snapshot whose name is already taken in the
/// runtime fails with [`crate::error::Error::Conflict`]: it made nothing, so
/// the caller must not record anything as made. Every other failure carries
/// the runtime command and its stderr.
pub trait Runtime: Send + Sync {
    /// `fake`, `lxd` or `incus`.
    fn name(&self) -> &'static str;

    /// Creates `instance` from `image`. Returns only once the runtime shows
    /// the instance under that exact name.
    fn create(&self, instance: &str, image: &str, tags: &Tags<'_>) -> Result<()>;

    /// Copies `source` (or its snapshot) to `instance`, without snapshots.
    fn clone_instance(
        &self,
        source: &str,
        snapshot: Option<&str>,
        instance: &str,
        tags: &Tags<'_>,
    ) -> Result<()>;

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

    /// Runs provisioning `step` ([`Step::Ready`], [`Step::User`] or
    /// [`Step::Ssh`]) inside the running `instance`. `Ok(Some(warning))`
    /// when the step did what it could but not everything (sshd could not
    /// be installed): the create goes on and the warning is recorded.
    fn provision(&self, instance: &str, step: Step, spec: &Provisioning) -> Result<Option<String>>;

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

    /// The project the client would use when a file names none (its
    /// current one), for `init` to record; `None` where projects do not
    /// exist (fake) or one is already set.
    fn current_project(&self) -> Result<Option<String>> {
        Ok(None)
    }

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
    /// What is at absolute `path` inside the running `instance`, if anything.
    fn file_kind(&self, instance: &str, path: &str) -> Result<Option<FileKind>>;

    /// Copies the host file or directory `source` (absolute; a directory
    /// recursively) to `dest` inside the running `instance`: `dest` becomes
    /// the copy (a file there is replaced). Missing parents of `dest` are
    /// made. The copy and the parents made belong to `owner` (root when
    /// `None`). A failure leaves nothing at `dest` that was not there.
    fn push(
        &self,
        instance: &str,
        source: &Path,
        dest: &str,
        owner: Option<&ContainerUser>,
    ) -> Result<()>;

    /// Copies `source` (a file, or a directory recursively) from the
    /// running `instance` into the existing host directory `dir`, as
    /// `dir/<last name of source>`.
    fn pull_into(&self, instance: &str, source: &str, dir: &Path) -> Result<()>;

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

/// `current` (a `raw.idmap` value) with `uid H C` and `gid H C` lines for
/// `host` and `inside` added: `Ok(None)` when it already has them, an
/// error naming the line in the way when it maps either side elsewhere.
pub fn merged_idmap(
    current: Option<&str>,
    host: (u32, u32),
    inside: (u32, u32),
) -> Result<Option<String>, String> {
    let current = current.unwrap_or("");
    let mut lines: Vec<String> = current
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let mut changed = false;
    for (kind, h, c) in [("uid", host.0, inside.0), ("gid", host.1, inside.1)] {
        let mut found = false;
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [which, line_h, line_c] = words[..] else {
                return Err(format!(
                    "raw.idmap line `{line}` is not `uid|gid|both HOST INSIDE`"
                ));
            };
            if which != kind && which != "both" {
                continue;
            }
            let (line_h, line_c) = (line_h.parse::<u32>(), line_c.parse::<u32>());
            match (line_h == Ok(h), line_c == Ok(c)) {
                (true, true) => found = true,
                (false, false) => {}
                _ => {
                    return Err(format!(
                        "its raw.idmap already has `{line}` (host {kind} {line_h} is {line_c} \
                         inside, for another mount's owner), so a folder of host {kind} {h} \
                         cannot also be {c} inside: give one container folders of one owner, \
                         or mount with --shift",
                        line_h = words[1],
                        line_c = words[2],
                    ));
                }
            }
        }
        if !found {
            lines.push(format!("{kind} {h} {c}"));
            changed = true;
        }
    }
    Ok(changed.then(|| lines.join("\n")))
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

/// Checks a path inside an instance before any runtime sees it: absolute,
/// no `..` (the copy must land where the command line says), no newline,
/// NUL or backslash (the client and the scripts that place a copy take one
/// path per argument and per line). `Err` says why, for a usage error.
pub fn check_container_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!(
            "the path in the container `{path}` must be absolute (`/...` or `~/...`)"
        ));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!(
            "the path in the container `{path}` must not contain `..`"
        ));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!(
            "the path in the container {path:?} holds a control character or a backslash"
        ));
    }
    Ok(())
}

/// How [`Runtime::exec`] runs a command: as whom, where, with what extra
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

/// The runtime names `--runtime` accepts.
pub const NAMES: &[&str] = &["fake", "lxd", "incus"];

/// Fails (usage, exit 2) unless `name` is one of [`NAMES`].
pub fn check_name(name: &str) -> Result<(), crate::error::Error> {
    if NAMES.contains(&name) {
        Ok(())
    } else {
        Err(unknown(name))
    }
}

fn unknown(name: &str) -> crate::error::Error {
    crate::error::Error::Usage(format!(
        "unknown runtime `{name}`; expected one of: {}",
        NAMES.join(", ")
    ))
}

/// Builds the runtime named `name`, or detects one when `name` is `None`.
/// `project_dir` is where the fake runtime keeps its state; `placement` is
/// the remote and LXD/Incus project an `lxd` or `incus` runtime sends its
/// calls to (the fake runtime has neither, and refuses them).
pub fn select(
    name: Option<&str>,
    placement: Placement,
    limits: Limits,
    project: &str,
    project_dir: &Path,
) -> Result<Box<dyn Runtime>> {
    let lxd = match name {
        Some("fake") if placement != Placement::default() => {
            return Err(crate::error::Error::Usage(
                "the fake runtime has no remotes, projects or clusters: drop `remote:` and \
                 `runtime_project:` (or --remote, --target) to use it"
                    .to_owned(),
            )
            .into());
        }
        Some("fake") => return Ok(Box::new(fake::FakeRuntime::open(project_dir, project)?)),
        Some(other) => match lxd::LxdRuntime::open(other, placement, limits) {
            Some(runtime) => runtime?,
            None => return Err(unknown(other).into()),
        },
        None => lxd::LxdRuntime::detect(placement, limits)?,
    };
    Ok(Box::new(lxd.with_project_dir(project_dir.to_path_buf())))
}

#[cfg(test)]
mod tests {
    use super::merged_idmap;

    #[test]
    fn idmaps_gain_lines_once_and_refuse_a_second_partner() {
        assert_eq!(
            merged_idmap(None, (1500, 1501), (1000, 1000))
                .unwrap()
                .as_deref(),
            Some("uid 1500 1000\ngid 1501 1000")
        );
        let current = "uid 1500 1000\ngid 1501 1000";
        assert_eq!(
            merged_idmap(Some(current), (1500, 1501), (1000, 1000)),
            Ok(None)
        );
        assert_eq!(
            merged_idmap(Some("both 1500 1000"), (1500, 1500), (1000, 1000)),
            Ok(None)
        );
        let why = merged_idmap(Some(current), (1600, 1600), (1000, 1000)).unwrap_err();
        assert!(
            why.contains("`uid 1500 1000`") && why.contains("host uid 1600"),
            "{why}"
        );
        assert!(merged_idmap(Some("nonsense"), (1, 1), (2, 2)).is_err());
    }
}
