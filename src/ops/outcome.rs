//! The `--json` outcome of a command: which command it was and what it was
//! about (read from the command line before it runs), then the entry's
//! instance and state as containers.yaml has them after it ran, read
//! without the lock (a snapshot of the moment, like `list`).
//!
//! Listings (`list`, `container list`, `snapshot list`, `image list`) print
//! their own document instead, and the outcome only when they fail.

use std::sync::Mutex;

use anyhow::Result;

use crate::cli::{
    Command, ContainerCommand, ImageCommand, ProjectCommand, SnapshotCommand, SyncCommand,
};
use crate::config::ledger::{READY, Target};
use crate::config::{ConfigManager, Project};
use crate::output::Outcome;

/// What kind of thing an outcome's `name` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// A container: `instance` and `state` are filled in from the file.
    Container,
    /// Several containers: each of `results` is filled in (and the outcome
    /// itself when one was named).
    Containers,
    /// The project (`name`), and each of its containers in `results`.
    Project,
    /// Something else (an image alias, the project): left as the command set it.
    Other,
    /// A listing, which prints its own document when it succeeds.
    Listing,
    /// `exec`/`ssh`: the outcome carries the command's exit status.
    Exec,
}

/// The outcome being built while a command runs; commands add details and
/// results through [`super::Context::outcome`].
pub struct Report {
    pub about: About,
    pub outcome: Mutex<Outcome>,
}

impl Report {
    /// The outcome's skeleton for `command`, as typed.
    pub fn new(command: &Command) -> Report {
        let (words, name, about, details) = describe(command);
        let mut outcome = Outcome::new(words, name);
        for (key, value) in details {
            outcome.detail(key, value);
        }
        Report {
            about,
            outcome: Mutex::new(outcome),
        }
    }

    /// Changes the outcome being built.
    pub fn update(&self, change: impl FnOnce(&mut Outcome)) {
        change(&mut self.outcome.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Prints the outcome of a command that ended with `result`, unless it
    /// is a listing that printed its own document. `manager` is `None` when
    /// the project file could not even be found.
    pub fn print(self, manager: Option<&ConfigManager>, result: &Result<u8>) {
        let about = self.about;
        let mut outcome = self.outcome.into_inner().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) if about == About::Listing => return,
            Ok(status) if about == About::Exec => {
                outcome.ok = *status == 0;
                outcome.exit_code = *status;
                outcome.detail("status", *status);
            }
            Ok(_) => {}
            Err(err) => outcome.fail(err),
        }
        // Read without the lock: a torn read is impossible (saves are
        // atomic), and a failure to read leaves the keys `null`.
        let project = manager.and_then(|m| m.load().ok());
        if let Some(project) = &project {
            match about {
                About::Container | About::Exec => fill(project, &mut outcome),
                About::Containers | About::Project => {
                    if about == About::Containers {
                        fill(project, &mut outcome);
                    }
                    for item in outcome.results.iter_mut().flatten() {
                        fill(project, item);
                    }
                }
                About::Other | About::Listing => {}
            }
        }
        if matches!(about, About::Containers | About::Project) {
            outcome.results.get_or_insert_with(Vec::new);
        }
        outcome.print();
    }
}

/// Fills in the instance and state of the container `outcome` names.
fn fill(project: &Project, outcome: &mut Outcome) {
    let Some(name) = outcome.name.clone() else {
        return;
    };
    if outcome.instance.is_none() {
        outcome.instance = Some(project.instance_name(&name));
    }
    if outcome.state.is_none()
        && let Some(record) = project.record(&Target::Container(name))
    {
        outcome.state = Some(record.state.unwrap_or(READY).to_string());
    }
}

type Details = Vec<(&'static str, serde_json::Value)>;

/// The command's words, the name it is about, what kind of name that is,
/// and details the command line already tells.
fn describe(command: &Command) -> (&'static str, Option<String>, About, Details) {
    use About::{Container, Containers, Exec, Listing, Other};
    let one = |names: &[String]| (names.len() == 1).then(|| names[0].clone());
    match command {
        Command::Init(args) => ("init", args.project.clone(), Other, vec![]),
        Command::Project(ProjectCommand::Create(args)) => {
            ("project create", args.project.clone(), Other, vec![])
        }
        Command::Container(command) => match command {
            ContainerCommand::Create { name, image, .. } => (
                "container create",
                Some(name.clone()),
                Container,
                vec![("image", image.as_str().into())],
            ),
            ContainerCommand::Clone {
                source,
                name,
                snapshot,
                ..
            } => (
                "container clone",
                Some(name.clone()),
                Container,
                vec![
                    ("source", source.as_str().into()),
                    ("snapshot", snapshot.clone().into()),
                ],
            ),
            ContainerCommand::Reset { name, snapshot, .. } => (
                "container reset",
                Some(name.clone()),
                Container,
                vec![("snapshot", snapshot.as_str().into())],
            ),
            ContainerCommand::Remove { names, .. } => {
                ("container remove", one(names), Containers, vec![])
            }
            ContainerCommand::List => ("container list", None, Listing, vec![]),
            ContainerCommand::Snapshot(command) => describe_snapshot(command, true),
        },
        Command::List => ("list", None, Listing, vec![]),
        Command::Snapshot(command) => describe_snapshot(command, false),
        Command::Doctor(_) => ("doctor", None, Other, vec![]),
        Command::Up(args) => ("up", one(&args.bulk.names), Containers, vec![]),
        Command::Down(args) => ("down", one(&args.names), Containers, vec![]),
        Command::Project(ProjectCommand::Delete { .. }) => {
            ("project delete", None, About::Project, vec![])
        }
        Command::Image(command) => match command {
            ImageCommand::Create { container, alias } => (
                "image create",
                Some(container.clone()),
                Container,
                vec![("image", alias.as_str().into())],
            ),
            ImageCommand::List(_) => ("image list", None, Listing, vec![]),
            ImageCommand::Delete { alias, .. } => {
                ("image delete", Some(alias.clone()), Other, vec![])
            }
            ImageCommand::Rename { old, new } => (
                "image rename",
                Some(old.clone()),
                Other,
                vec![("new", new.as_str().into())],
            ),
        },
        Command::Images(_) => ("images", None, Listing, vec![]),
        Command::Exec(args) => ("exec", Some(args.name.clone()), Exec, vec![]),
        Command::Ssh(args) => ("ssh", Some(args.name.clone()), Exec, vec![]),
        Command::Remove(args) => ("remove", one(&args.names), Containers, vec![]),
        Command::Mount(args) => (
            "mount",
            Some(args.name.clone()),
            Container,
            vec![
                ("source", args.source.as_str().into()),
                ("path", args.path.as_str().into()),
            ],
        ),
        Command::Unmount(args) => (
            "unmount",
            Some(args.name.clone()),
            Container,
            vec![("device", args.device.as_str().into())],
        ),
        Command::Mounts(_) => ("mounts", None, Listing, vec![]),
        Command::Proxy(args) => ("proxy", Some(args.name.clone()), Container, vec![]),
        Command::Sync(args) => match &args.command {
            None => ("sync", args.name.clone(), Container, vec![]),
            Some(SyncCommand::Add {
                name, source, dest, ..
            }) => (
                "sync add",
                Some(name.clone()),
                Container,
                vec![
                    ("source", source.as_str().into()),
                    ("dest", dest.as_str().into()),
                ],
            ),
            Some(SyncCommand::Rm { name, source }) => (
                "sync rm",
                Some(name.clone()),
                Container,
                vec![("source", source.as_str().into())],
            ),
            Some(SyncCommand::List { name }) => ("sync list", Some(name.clone()), Listing, vec![]),
        },
        Command::Completions(_) => ("completions", None, Other, vec![]),
        Command::Cp(args) => {
            // The container side's name, unless it is a glob.
            let named = [&args.source, &args.dest]
                .into_iter()
                .find_map(|arg| arg.split_once(':').map(|(name, _)| name.to_string()))
                .filter(|name| !name.is_empty() && !name.contains('*') && !name.contains('/'));
            (
                "cp",
                named,
                Containers,
                vec![
                    ("source", args.source.as_str().into()),
                    ("dest", args.dest.as_str().into()),
                ],
            )
        }
    }
}

/// `snapshot ...`, or lxc-dev-manager's `container snapshot ...` when
/// `under_container`: the words as typed, as for a usage error.
fn describe_snapshot(
    command: &SnapshotCommand,
    under_container: bool,
) -> (&'static str, Option<String>, About, Details) {
    let pick = |plain, long| if under_container { long } else { plain };
    let (words, container, snapshot) = match command {
        SnapshotCommand::Create {
            container,
            snapshot,
            ..
        } => (
            pick("snapshot create", "container snapshot create"),
            container,
            snapshot,
        ),
        SnapshotCommand::Delete {
            container,
            snapshot,
            ..
        } => (
            pick("snapshot delete", "container snapshot delete"),
            container,
            snapshot,
        ),
        SnapshotCommand::Restore {
            container,
            snapshot,
            ..
        } => (
            pick("snapshot restore", "container snapshot restore"),
            container,
            snapshot,
        ),
        SnapshotCommand::List { container } => {
            let words = pick("snapshot list", "container snapshot list");
            return (words, Some(container.clone()), About::Listing, vec![]);
        }
    };
    (
        words,
        Some(container.clone()),
        About::Container,
        vec![("snapshot", snapshot.as_str().into())],
    )
}
