//! The `--json` outcome of a command: which command it was and what it was
//! about (told by `commands/` from the command line before it runs), then
//! the entry's instance and state as containers.yaml has them after it ran,
//! read without the lock (a snapshot of the moment, like `list`).
//!
//! Listings (`list`, `container list`, `snapshot list`, `image list`) print
//! their own document instead, and the outcome only when they fail.

use std::sync::Mutex;

use anyhow::Result;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::ledger::{READY, Target};
use crate::config::{ConfigManager, Project};
use crate::{exit_code, output};

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
/// results through [`super::context::Context::outcome`].
pub struct Report {
    pub about: About,
    pub outcome: Mutex<Outcome>,
}

impl Report {
    /// The outcome's skeleton: the command's `words` as typed, the `name`
    /// it is about, what kind of name that is, and details the command
    /// line already tells.
    pub fn new(
        words: &str,
        name: Option<String>,
        about: About,
        details: Vec<(&'static str, Value)>,
    ) -> Report {
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

/// What a command did, as `--json` prints it: one object per command (the
/// README's "JSON output" lists every key). Every key is always present;
/// `error` is `null` and `exit_code` 0 on success. Commands on several
/// containers (`up`, `down`, `remove`, `project delete`, `cp`) add
/// `results`, one item per container with the same keys but `command`,
/// `warnings` and `results`; command-specific keys (`status` of `exec`,
/// `findings` of `doctor`, ...) are `details`, flattened into the object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub ok: bool,
    /// The subcommand as typed without its arguments: `container create`,
    /// `up`. Aliases are given their main spelling (`remove`, `mv` stay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The container (or image alias, or project) the command was about;
    /// `null` for a command on several.
    pub name: Option<String>,
    /// The runtime's name for `name`, when it is a container.
    pub instance: Option<String>,
    /// The container's state in containers.yaml after the command (`ready`,
    /// `failed`, `creating`, ...), `null` when it has no entry (removed).
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// The error, as the `error:` line on stderr says it.
    pub error: Option<String>,
    /// The code lxdev exits with.
    pub exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<Outcome>>,
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl Outcome {
    /// A successful outcome of `command` about `name`, to fill in.
    pub fn new(command: impl Into<String>, name: Option<String>) -> Outcome {
        Outcome {
            ok: true,
            command: Some(command.into()),
            name,
            warnings: Some(Vec::new()),
            ..Outcome::default()
        }
    }

    /// One item of `results`: `name`'s part in a command on several.
    pub fn item(name: &str, result: Result<(), &anyhow::Error>) -> Outcome {
        let mut item = Outcome {
            ok: true,
            name: Some(name.to_string()),
            ..Outcome::default()
        };
        if let Err(err) = result {
            item.fail(err);
        }
        item
    }

    /// Records `err` as the outcome: not ok, its message and exit code.
    pub fn fail(&mut self, err: &anyhow::Error) {
        self.ok = false;
        self.error = Some(format!("{err:#}"));
        self.exit_code = exit_code::for_error(err);
    }

    /// Adds a command-specific key.
    pub fn detail(&mut self, key: &str, value: impl Into<Value>) {
        self.details.insert(key.to_string(), value.into());
    }

    /// Prints the outcome on stdout as one line, with every warning
    /// printed so far.
    pub fn print(mut self) {
        let warned = output::take_warnings();
        self.warnings.get_or_insert_with(Vec::new).extend(warned);
        output::json_line(&self);
    }
}
