//! Which client lxdev drives (`lxc` or `incus`) and where its calls go: the
//! only place the two clients' command sets differ, and the only place a
//! call is pointed at a remote or an LXD/Incus project.
//!
//! Invariant: every argument list the backend builds starts with
//! [`Client::verb`], every instance it names goes through [`Client::at`] and
//! every API path through [`Client::api`], so a project's `remote:` and
//! `runtime_project:` reach every call or none.
//!
//! The verbs were checked against the real clients, LXD 5.0.2 (Debian 12)
//! and Incus 6.0.4 (bookworm-backports): Incus 6 has no top-level
//! `snapshot INSTANCE SNAP` or `restore` (`incus snapshot ip1-c1 s1` fails
//! with "unknown command"), only `snapshot create|delete|restore`, and
//! LXD 5.0 has only the top-level forms. Limits: `query` takes no
//! `--project` flag ("--project cannot be used with the query command"), so
//! API paths carry `project=` themselves.

use std::ffi::OsString;
use std::fmt;

use crate::runtime::provision::ContainerUser;
use crate::runtime::types::Placement;

/// One thing lxdev asks of the client whose spelling differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Make an instance from an image, not started.
    Create,
    /// Take a snapshot.
    SnapshotCreate,
    /// Delete a snapshot.
    SnapshotDelete,
    /// Roll an instance back to a snapshot.
    SnapshotRestore,
}

/// The command set: which words each [`Verb`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// LXD 5.0's `lxc`.
    Lxd,
    /// Incus 6's `incus`.
    Incus,
}

impl Flavour {
    /// The table of verbs. `SnapshotDelete` on LXD is `delete INSTANCE/SNAP`
    /// (one argument, see [`Flavour::joins_snapshot`]).
    fn words(self, verb: Verb) -> &'static [&'static str] {
        match (self, verb) {
            (Flavour::Lxd, Verb::Create) => &["init"],
            (Flavour::Lxd, Verb::SnapshotCreate) => &["snapshot"],
            (Flavour::Lxd, Verb::SnapshotDelete) => &["delete"],
            (Flavour::Lxd, Verb::SnapshotRestore) => &["restore"],
            (Flavour::Incus, Verb::Create) => &["create"],
            (Flavour::Incus, Verb::SnapshotCreate) => &["snapshot", "create"],
            (Flavour::Incus, Verb::SnapshotDelete) => &["snapshot", "delete"],
            (Flavour::Incus, Verb::SnapshotRestore) => &["snapshot", "restore"],
        }
    }

    /// Whether `verb` names a snapshot as one `INSTANCE/SNAP` argument
    /// rather than two (`INSTANCE SNAP`).
    pub fn joins_snapshot(self, verb: Verb) -> bool {
        self == Flavour::Lxd && verb == Verb::SnapshotDelete
    }

    /// The runtime name users type (`--runtime`, `runtime:`).
    pub fn runtime_name(self) -> &'static str {
        match self {
            Flavour::Lxd => "lxd",
            Flavour::Incus => "incus",
        }
    }
}

/// A client program, its command set, and where its calls go.
#[derive(Debug, Clone)]
pub struct Client {
    /// What is run: `lxc`, `incus`, or a path to one (tests).
    pub program: &'static str,
    pub flavour: Flavour,
    pub placement: Placement,
}

impl Client {
    /// `program` with the command set its file name says (`incus` or
    /// anything else, read as `lxc`), at the client's defaults.
    pub fn new(program: &'static str) -> Client {
        let incus = std::path::Path::new(program)
            .file_name()
            .is_some_and(|name| name == "incus");
        Client {
            program,
            flavour: if incus { Flavour::Incus } else { Flavour::Lxd },
            placement: Placement::default(),
        }
    }

    /// The words of `verb` (or of a plain `word` shared by both clients,
    /// through [`Client::word`]), then `--project=NAME` when one is set.
    pub fn verb(&self, verb: Verb) -> Vec<OsString> {
        self.with_project(self.flavour.words(verb))
    }

    /// A subcommand both clients spell alike (`start`, `stop`, `delete`,
    /// `copy`, `exec`), then `--project=NAME` when one is set.
    pub fn word(&self, word: &str) -> Vec<OsString> {
        self.with_project(&[word])
    }

    fn with_project(&self, words: &[&str]) -> Vec<OsString> {
        let mut args: Vec<OsString> = words.iter().map(Into::into).collect();
        // One argument: the value can never be read as another option.
        if let Some(project) = &self.placement.project {
            args.push(format!("--project={project}").into());
        }
        args
    }

    /// `--target=MEMBER` for a call that makes an instance (`init`/`create`,
    /// `copy`), when a cluster member is asked for: one argument, so the
    /// value can never be read as another option.
    pub fn target(&self) -> Option<OsString> {
        let target = self.placement.target.as_ref()?;
        Some(format!("--target={target}").into())
    }

    /// `--storage=POOL` for a call that makes an instance (`init`/`create`,
    /// `copy`), when a pool is asked for: one argument, as `--target`.
    pub fn storage(&self) -> Option<OsString> {
        let pool = self.placement.storage.as_ref()?;
        Some(format!("--storage={pool}").into())
    }

    /// `name` (an instance, `instance/snapshot`, or an image alias) as the
    /// client addresses it: `REMOTE:name` on a remote.
    pub fn at(&self, name: &str) -> String {
        match &self.placement.remote {
            Some(remote) => format!("{remote}:{name}"),
            None => name.to_owned(),
        }
    }

    /// An image for a create: on a remote, an alias without a remote of
    /// its own is looked up on that remote, not copied from the local one.
    pub fn image(&self, image: &str) -> String {
        if image.contains(':') {
            image.to_owned()
        } else {
            self.at(image)
        }
    }

    /// The argument to `query` for API path `path` (which may have a query
    /// string): on the remote, in the project.
    pub fn api(&self, path: &str) -> String {
        let mut path = path.to_owned();
        if let Some(project) = &self.placement.project {
            let sep = if path.contains('?') { '&' } else { '?' };
            path = format!("{path}{sep}project={project}");
        }
        self.at(&path)
    }
}

/// `exec`'s flags that run a command as `user`: its uid and gid, and the
/// `HOME`, `USER` and `LOGNAME` a login would set.
pub fn as_user(user: &ContainerUser) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--user".into(),
        user.uid.to_string().into(),
        "--group".into(),
        user.gid.to_string().into(),
    ];
    for (key, value) in [
        ("HOME", &user.home),
        ("USER", &user.name),
        ("LOGNAME", &user.name),
    ] {
        args.extend(["--env".into(), format!("{key}={value}").into()]);
    }
    args
}

impl fmt::Display for Client {
    /// The program, as error messages name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn each_client_has_its_own_snapshot_verbs() {
        let lxc = Client::new("lxc");
        let incus = Client::new("/usr/bin/incus");
        assert_eq!(incus.flavour, Flavour::Incus);
        assert_eq!(strings(lxc.verb(Verb::SnapshotCreate)), ["snapshot"]);
        assert_eq!(
            strings(incus.verb(Verb::SnapshotCreate)),
            ["snapshot", "create"]
        );
        assert_eq!(strings(lxc.verb(Verb::SnapshotRestore)), ["restore"]);
        assert_eq!(
            strings(incus.verb(Verb::SnapshotRestore)),
            ["snapshot", "restore"]
        );
        assert!(lxc.flavour.joins_snapshot(Verb::SnapshotDelete));
        assert!(!incus.flavour.joins_snapshot(Verb::SnapshotDelete));
    }

    #[test]
    fn placement_reaches_words_names_and_api_paths() {
        let mut client = Client::new("lxc");
        client.placement = Placement {
            remote: Some("loop".into()),
            project: Some("team".into()),
            target: None,
            storage: None,
        };
        assert_eq!(strings(client.word("start")), ["start", "--project=team"]);
        assert_eq!(client.at("web-dev"), "loop:web-dev");
        assert_eq!(client.image("busybox"), "loop:busybox");
        assert_eq!(client.image("ubuntu:24.04"), "ubuntu:24.04");
        assert_eq!(
            client.api("/1.0/instances?recursion=2"),
            "loop:/1.0/instances?recursion=2&project=team"
        );
        assert_eq!(client.api("/1.0"), "loop:/1.0?project=team");
        let plain = Client::new("lxc");
        assert_eq!(plain.api("/1.0/instances"), "/1.0/instances");
        assert_eq!(plain.at("web-dev"), "web-dev");
        assert_eq!(plain.target(), None);
    }

    #[test]
    fn a_target_and_a_pool_are_one_argument_each() {
        let mut client = Client::new("incus");
        client.placement.target = Some("-x --force".into());
        assert_eq!(client.target(), Some("--target=-x --force".into()));
        assert_eq!(client.storage(), None);
        client.placement.storage = Some("-s fast".into());
        assert_eq!(client.storage(), Some("--storage=-s fast".into()));
    }
}
