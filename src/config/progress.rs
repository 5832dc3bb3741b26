//! How far a provisioning operation got: its step and the steps it has not
//! done, kept beside the project file in `.lxdev/progress/<container>`
//! instead of in it.
//!
//! Why not in containers.yaml: a step tells `doctor` (and `list`) how far
//! a live create or clone got; it acknowledges no change. Written into the
//! file it cost a locked, fsynced transaction per step, and a provisioned
//! create took six transactions where two (reserve and settle) are
//! acknowledged. Here a step is one small file replaced whole (temp file,
//! then rename), not synced, and written with no lock: only the operation
//! that reserved the entry writes it, and the reservation keeps every
//! other command off the entry.
//!
//! Reading: [`overlay`] puts a note over the file's record only when it
//! names the operation the file records (kind, pid, host, start time).
//! A lock-free read (`ConfigManager::load`) reads every note; a
//! transaction reads only those of the entries it settles
//! (`Project::read_notes`), so the lock is not held over every note of
//! every create in flight.
//! Anything else (no note, one an older operation left, one a power loss
//! emptied) is ignored and the file's record stands. Reserving records
//! every step as pending, so that fallback says less, never that a
//! container is ready. Settling writes the note's pending steps into the
//! file (`Project::fail`), then removes the note.
//!
//! Limits: the folder is entered without following symlinks
//! (`fs::own_dir`); a note is at most [`MAX_NOTE`] bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde::Deserialize;

use super::ledger::Step;
use super::model::{Config, Operation, OperationKind};
use crate::fs::own_file::{self, Durability};

/// The folder below the project directory that holds the notes.
const FOLDER: [&str; 2] = [".lxdev", "progress"];

/// A note longer than this is not lxdev's: ignored.
const MAX_NOTE: usize = 4096;

/// One operation's note.
#[derive(Debug, Deserialize, PartialEq)]
struct Note {
    kind: String,
    pid: u32,
    host: String,
    started_at: String,
    step: Step,
    pending: Vec<Step>,
}

impl Note {
    fn names(&self, op: &Operation) -> bool {
        self.kind == op.kind.as_str()
            && self.pid == op.pid
            && self.host == op.host
            && self.started_at == op.started_at
    }
}

/// The notes of the project whose directory is `project_dir`.
#[derive(Debug, Clone)]
pub struct Progress {
    project_dir: PathBuf,
}

impl Progress {
    pub fn new(project_dir: &Path) -> Progress {
        Progress {
            project_dir: project_dir.to_path_buf(),
        }
    }

    /// Notes that operation `op` on container `name` is at `step`, with
    /// `pending` (from `step` on) not done.
    pub fn record(&self, name: &str, op: &Operation, step: Step, pending: &[Step]) -> Result<()> {
        let dir = crate::fs::own_dir::ensure(&self.project_dir, &FOLDER)?;
        let pending: Vec<&str> = pending.iter().map(|s| s.as_str()).collect();
        let note = serde_json::json!({
            "kind": op.kind.as_str(),
            "pid": op.pid,
            "host": op.host,
            "started_at": op.started_at,
            "step": step.as_str(),
            "pending": pending,
        });
        let text = serde_json::to_vec(&note).expect("a note serializes");
        own_file::replace_with(&dir, name, &text, 0o644, Durability::Unsynced)
    }

    /// Removes container `name`'s note, if any: its operation is settled.
    pub fn clear(&self, name: &str) {
        if let Ok(Some(dir)) = crate::fs::own_dir::existing(&self.project_dir, &FOLDER) {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }

    /// Notes no entry's operation owns any more (a kill between a settle
    /// and the note's removal): what `doctor --fix` removes.
    pub fn orphans(&self, config: &Config) -> Vec<PathBuf> {
        let Ok(Some(dir)) = crate::fs::own_dir::existing(&self.project_dir, &FOLDER) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let owned = config
                    .containers
                    .get(&name)
                    .and_then(|c| c.operation.as_ref())
                    .zip(read(&dir.join(&name)))
                    .is_some_and(|(op, note)| note.names(op));
                !owned && !name.starts_with('.')
            })
            .map(|entry| entry.path())
            .collect()
    }
}

/// Whether operations of `kind` write notes (they run provisioning steps).
fn takes_notes(kind: OperationKind) -> bool {
    matches!(
        kind,
        OperationKind::Create | OperationKind::Clone | OperationKind::Instantiate
    )
}

/// The note at `path`, if it is one lxdev wrote whole.
fn read(path: &Path) -> Option<Note> {
    let text = own_file::read(path).ok()??;
    if text.len() > MAX_NOTE {
        return None;
    }
    serde_json::from_str(&text).ok()
}

/// `config` with each in-flight container's step and pending steps taken
/// from its note, where the note names the operation the file records.
/// Unchanged (the same `Arc`) when no note applies, which is the rule
/// when nothing provisions.
pub fn overlay(progress: &Progress, config: Arc<Config>) -> Arc<Config> {
    overlay_where(progress, config, |_| true)
}

/// [`overlay`] for the containers `names` only: what a transaction reads
/// under the lock, so that it opens the notes of the entries it settles,
/// not those of every create in flight.
pub fn overlay_named(progress: &Progress, config: Arc<Config>, names: &[&str]) -> Arc<Config> {
    overlay_where(progress, config, |name| names.contains(&name))
}

fn overlay_where(
    progress: &Progress,
    mut config: Arc<Config>,
    wanted: impl Fn(&str) -> bool,
) -> Arc<Config> {
    let candidates: Vec<String> = config
        .containers
        .iter()
        .filter(|(name, c)| {
            wanted(name) && c.operation.as_ref().is_some_and(|op| takes_notes(op.kind))
        })
        .map(|(name, _)| name.clone())
        .collect();
    if candidates.is_empty() {
        return config;
    }
    let Ok(Some(dir)) = crate::fs::own_dir::existing(&progress.project_dir, &FOLDER) else {
        return config;
    };
    for name in candidates {
        let Some(note) = read(&dir.join(&name)) else {
            continue;
        };
        let container = &config.containers[&name];
        let op = container.operation.as_ref().expect("a candidate has one");
        if !note.names(op) {
            continue;
        }
        let container = Arc::make_mut(
            Arc::make_mut(&mut config)
                .containers
                .get_mut(&name)
                .expect("a candidate"),
        );
        container.pending_steps = note.pending;
        if let Some(op) = container.operation.as_mut() {
            op.step = Some(note.step);
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Arc<Config> {
        Arc::new(super::super::model::parse(text, Path::new("containers.yaml")).unwrap())
    }

    const FILE: &str = "project: p\nruntime: fake\ncontainers:\n  c:\n    image: busybox\n    \
        state: creating\n    operation:\n      kind: create\n      pid: 7\n      host: h\n      \
        started_at: \"2026-01-01T00:00:00.000Z\"\n    pending_steps: [ready, user, ssh]\n";

    #[test]
    fn a_note_of_the_recorded_operation_is_read_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let progress = Progress::new(dir.path());
        let base = config(FILE);
        let op = base.containers["c"].operation.clone().unwrap();

        // No note: the file's record, the very same model.
        let read = overlay(&progress, Arc::clone(&base));
        assert!(Arc::ptr_eq(&read, &base));

        progress
            .record("c", &op, Step::User, &[Step::User, Step::Ssh])
            .unwrap();
        let read = overlay(&progress, Arc::clone(&base));
        let c = &read.containers["c"];
        assert_eq!(c.pending_steps, [Step::User, Step::Ssh]);
        assert_eq!(c.operation.as_ref().unwrap().step, Some(Step::User));
        // The base model (the manager's cache) is left as the file says.
        assert_eq!(base.containers["c"].pending_steps.len(), 3);
        assert!(progress.orphans(&read).is_empty());

        // Another operation's note (an older pid) is not this one's.
        let mut other = op.clone();
        other.pid = 8;
        progress
            .record("c", &other, Step::Ssh, &[Step::Ssh])
            .unwrap();
        let read = overlay(&progress, Arc::clone(&base));
        assert!(Arc::ptr_eq(&read, &base));
        assert_eq!(progress.orphans(&base).len(), 1);

        // A note a power loss cut short, or garbage: ignored.
        let path = dir.path().join(".lxdev/progress/c");
        std::fs::write(&path, "{\"kind\":\"cre").unwrap();
        assert!(Arc::ptr_eq(&overlay(&progress, Arc::clone(&base)), &base));

        progress.clear("c");
        assert!(!path.exists());
    }

    #[test]
    fn a_linked_progress_folder_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".lxdev")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(".lxdev/progress")).unwrap();
        let progress = Progress::new(dir.path());
        let base = config(FILE);
        let op = base.containers["c"].operation.clone().unwrap();
        assert!(
            progress
                .record("c", &op, Step::User, &[Step::User])
                .is_err()
        );
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}
