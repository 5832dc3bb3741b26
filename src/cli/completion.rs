//! Shell completion. `lxdev completions SHELL` prints a script that
//! registers lxdev with the shell; on each Tab the shell runs lxdev again
//! with `COMPLETE=SHELL` and the words typed so far (clap_complete's
//! dynamic protocol, `CompleteEnv`), and container and snapshot arguments
//! offer the names recorded in containers.yaml.
//!
//! Invariant: completing only reads. It never takes the lock (a Tab press
//! must not wait behind, or block, a running command), never writes, never
//! asks the runtime (no `lxc` process per Tab), and never prints an error:
//! no project file, an unreadable or invalid one, means no candidates.
//! Limits: the names are the file's, whatever the runtime has; `-C DIR` and
//! `--config FILE` typed on the line are honoured, as the command would.
//!
//! What the command line is comes in as a factory of clap's `Command`
//! (`Cli::command`): this module is used by `cli`'s types, and never names
//! them.

use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use clap_complete::env::{EnvCompleter, Shells};

use crate::config::ConfigManager;
use crate::config::model::Config;

/// Makes the command line's clap `Command` (`Cli::command`).
pub type Factory = fn() -> clap::Command;

/// The variable the registered script sets when it runs lxdev to complete
/// (clap_complete's default, named here so both sides agree).
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The shells `lxdev completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Shell::Bash => &clap_complete::env::Bash,
            Shell::Zsh => &clap_complete::env::Zsh,
            Shell::Fish => &clap_complete::env::Fish,
        }
    }
}

/// Answers a completion request and exits when lxdev was run by a
/// registered script (`COMPLETE=SHELL lxdev -- WORDS...`); returns at once
/// otherwise. Called first in `main`, before anything is printed.
pub fn complete_if_asked(cli: Factory) {
    const SHELLS: Shells<'static> = Shells(&[
        &clap_complete::env::Bash,
        &clap_complete::env::Zsh,
        &clap_complete::env::Fish,
    ]);
    clap_complete::CompleteEnv::with_factory(cli)
        .var(COMPLETE_VAR)
        .shells(SHELLS)
        .complete();
}

/// `lxdev completions SHELL`: the registration script. It runs the binary
/// by the path it was started as (made absolute when it has a directory),
/// as `COMPLETE=SHELL lxdev` would, so a script sourced from a build
/// directory completes with that build.
pub fn write_registration(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let argv0 = std::env::args_os().next().unwrap_or_else(|| "lxdev".into());
    let mut completer = PathBuf::from(argv0);
    if completer.components().count() > 1
        && let Ok(cwd) = std::env::current_dir()
    {
        completer = cwd.join(completer);
    }
    shell.completer().write_registration(
        COMPLETE_VAR,
        "lxdev",
        "lxdev",
        &completer.to_string_lossy(),
        out,
    )
}

/// Candidates for a container argument: every entry of containers.yaml,
/// with its image as the description (zsh and fish show it).
pub fn containers(cli: Factory) -> Vec<CompletionCandidate> {
    let Some((config, _)) = read_config(cli) else {
        return Vec::new();
    };
    config
        .containers
        .iter()
        .map(|(name, entry)| CompletionCandidate::new(name).help(Some(entry.image.clone().into())))
        .collect()
}

/// Candidates for a snapshot argument: the snapshots of the container
/// named by the argument `container_arg` of the same subcommand, or of
/// every container when that one is not typed (yet) or not in the file.
pub fn snapshots(cli: Factory, container_arg: &str) -> Vec<CompletionCandidate> {
    let Some((config, matches)) = read_config(cli) else {
        return Vec::new();
    };
    let chosen = matches.and_then(|m| {
        m.try_get_one::<String>(container_arg)
            .ok()
            .flatten()
            .cloned()
    });
    let entries: Vec<_> = match chosen.as_deref().and_then(|c| config.containers.get(c)) {
        Some(entry) => vec![entry],
        None => config.containers.values().collect(),
    };
    let mut names: Vec<CompletionCandidate> = Vec::new();
    for entry in entries {
        for (snap, record) in &entry.snapshots {
            if names.iter().all(|c| c.get_value() != OsStr::new(snap)) {
                let help = record.description.clone().map(Into::into);
                names.push(CompletionCandidate::new(snap).help(help));
            }
        }
    }
    names
}

/// Candidates for `cp`'s SOURCE and DEST: `NAME:` for each container
/// whose name starts with what is typed, and host paths, since either
/// side may be a host path. After `NAME:` nothing is offered: the
/// container's files would need the runtime.
pub fn cp_endpoint(cli: Factory, current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    if typed.contains(':') && !typed.starts_with('.') && !typed.starts_with('/') {
        return Vec::new();
    }
    let mut candidates: Vec<CompletionCandidate> = containers(cli)
        .into_iter()
        .filter(|c| c.get_value().to_string_lossy().starts_with(typed.as_ref()))
        .map(|c| {
            let value = format!("{}:", c.get_value().to_string_lossy());
            CompletionCandidate::new(value).help(c.get_help().cloned())
        })
        .collect();
    candidates.extend(PathCompleter::any().complete(current));
    candidates
}

/// The words being completed: what the registered script passed after
/// `--` (the first is the program's name).
fn words() -> Vec<String> {
    std::env::args_os()
        .skip_while(|arg| arg != "--")
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// The typed model of the project file the completed command would use,
/// and the command line as far as it parses; `None` on any failure.
fn read_config(cli: Factory) -> Option<(Config, Option<clap::ArgMatches>)> {
    let matches = deepest(cli, &words());
    let option = |id: &str| {
        matches
            .as_ref()
            .and_then(|m| m.try_get_one::<PathBuf>(id).ok().flatten().cloned())
    };
    let cwd = std::env::current_dir().ok()?;
    let manager =
        ConfigManager::discover(option("dir").as_deref(), option("config").as_deref(), &cwd)
            .ok()?;
    let project = manager.load().ok()?;
    Some((project.config().clone(), matches))
}

/// The matches of the innermost subcommand on a partial command line,
/// parsed leniently (a missing argument is no error here).
fn deepest(cli: Factory, words: &[String]) -> Option<clap::ArgMatches> {
    let mut matches = cli().ignore_errors(true).try_get_matches_from(words).ok()?;
    while let Some((_, sub)) = matches.remove_subcommand() {
        matches = sub;
    }
    Some(matches)
}
