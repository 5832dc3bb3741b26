//! The operation runner: every mutating command is its checks, one runtime
//! call, and this.
//!
//! 1. **reserve**: a short transaction that runs the command's checks and
//!    records the operation on each target, returning [`Ticket`]s;
//! 2. **work**: the runtime call, with no lock held ([`Context::work`]);
//! 3. **settle**: what happened is judged outside the lock (probing the
//!    runtime when the call failed, see [`judge`]), then one committing
//!    transaction applies it to every ticket ([`apply`]).
//!
//! `doctor --fix` repairs the operations of processes that died through the
//! same [`apply`], with [`Outcome::Abandoned`].
//!
//! Invariants: a record is only settled by the process whose operation it
//! carries (`still_ours`); `failed` is only recorded when the runtime may be
//! left half done; a refusal puts the record back as it was.

use anyhow::{Context as _, Result};

use super::checks;
use super::context::Context;
use crate::config::Project;
use crate::config::ledger::{Effect, OperationKind, Step, Target};
use crate::config::model::Operation;
use crate::operation;
use crate::runtime::Runtime;

/// One record this process reserved, to be settled.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub target: Target,
    /// The runtime instance the target lives on.
    pub instance: String,
    effect: Effect,
    /// The record's error, when it was failed before this operation began:
    /// a refused delete puts that back.
    was_failed: Option<String>,
    /// What the operation could not do without failing (provisioning's
    /// warnings), recorded on the container when it is done.
    pub warning: Option<String>,
}

impl Ticket {
    /// A ticket for `target` as the reserving transaction sees it, before
    /// the operation is recorded on it.
    pub fn new(project: &Project, target: Target, effect: Effect) -> Ticket {
        let was_failed = project
            .record(&target)
            .filter(|r| r.state.is_some() && r.effect.is_none())
            .map(|r| r.error.unwrap_or_default().to_string());
        Ticket {
            instance: project.instance_name(target.container()),
            target,
            effect,
            was_failed,
            warning: None,
        }
    }
}

/// What an operation left, as settled in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The runtime did it.
    Done,
    /// The runtime changed nothing: the record goes back to what it was.
    Unchanged,
    /// The runtime may be left half done: `failed`, with this error.
    HalfDone(String),
    /// The process that recorded the operation is gone (`doctor --fix`):
    /// the record is ready if the runtime has the target, else dropped. A
    /// create that had reached a provisioning `step` is failed instead: the
    /// container exists but is not fully provisioned.
    Abandoned { exists: bool, step: Option<Step> },
}

/// Runs one kind of operation for one command.
pub struct Runner<'c> {
    ctx: &'c Context,
    pub runtime: Box<dyn Runtime>,
    pub op: Operation,
}

impl<'c> Runner<'c> {
    /// A runner for an operation of `kind` on `project`'s runtime.
    pub fn new(ctx: &'c Context, project: &Project, kind: OperationKind) -> Result<Runner<'c>> {
        Runner::placed(ctx, project, kind, None, None)
    }

    /// [`Runner::new`], with new instances sent to cluster member `target`
    /// and made on storage pool `storage`.
    pub fn placed(
        ctx: &'c Context,
        project: &Project,
        kind: OperationKind,
        target: Option<&str>,
        storage: Option<&str>,
    ) -> Result<Runner<'c>> {
        Ok(Runner {
            ctx,
            runtime: ctx.runtime_placed(project, target, storage)?,
            op: operation::begin(kind),
        })
    }

    /// The reserving transaction: `record` runs the command's checks and
    /// records the operation, returning what to settle.
    pub fn reserve<T>(
        &self,
        record: impl FnOnce(&mut Project, &Operation) -> Result<T>,
    ) -> Result<T> {
        self.ctx.reserve(|project| record(project, &self.op))
    }

    /// The runtime work, with no lock held (see [`Context::work`]).
    pub fn work<T>(
        &self,
        message: impl Into<String>,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.ctx.work(message, work)
    }

    /// Runtime work whose output is shown as it comes (see
    /// [`Context::work_shown`]).
    pub fn work_shown<T>(
        &self,
        message: impl Into<String>,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.ctx.work_shown(message, work)
    }

    /// Notes that the operation on container `ticket` is at provisioning
    /// `step`, with `pending` (from `step` on) not done, so a kill during
    /// the step shows where it stopped. A note beside the file, not a
    /// transaction: see `config::progress` for why that is enough.
    pub fn note_step(&self, ticket: &Ticket, step: Step, pending: &[Step]) -> Result<()> {
        self.ctx
            .manager
            .progress()
            .record(ticket.target.container(), &self.op, step, pending)
    }

    /// Records that the operation on `ticket` is at `step`, in a short
    /// transaction, so a kill during the step shows where it stopped.
    /// `also` records what the step reserves with it (the initial snapshot).
    pub fn step<T>(
        &self,
        ticket: &Ticket,
        step: Step,
        also: impl FnOnce(&mut Project, &Operation) -> Result<T>,
    ) -> Result<T> {
        self.ctx.commit(|project| {
            still_ours(project, &ticket.target, &self.op)?;
            project.set_step(&ticket.target, step)?;
            also(project, &self.op)
        })
    }

    /// Settles one ticket; see [`Runner::settle_all`].
    pub fn settle(&self, ticket: Ticket, result: Result<()>) -> Result<()> {
        self.settle_all(vec![(ticket, result)])?
            .pop()
            .expect("one result per ticket")
    }

    /// Judges every result (probing the runtime outside the lock), records
    /// all outcomes in one transaction, and returns one result per ticket:
    /// `Ok` when the runtime did it, else the runtime's error saying what
    /// the file now records.
    pub fn settle_all(&self, done: Vec<(Ticket, Result<()>)>) -> Result<Vec<Result<()>>> {
        let judged: Vec<(Ticket, Result<()>, Outcome)> = done
            .into_iter()
            .map(|(ticket, result)| {
                let outcome = judge(&ticket, &result, || self.runtime_has(&ticket));
                (ticket, result, outcome)
            })
            .collect();
        let progress = self.ctx.manager.progress();
        let containers: Vec<&str> = judged
            .iter()
            .filter_map(|(ticket, ..)| match &ticket.target {
                Target::Container(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        self.ctx
            .commit(|project| {
                // The steps these containers had not done, as noted.
                project.read_notes(&progress, &containers);
                for (ticket, _, outcome) in &judged {
                    still_ours(project, &ticket.target, &self.op)?;
                    apply(
                        project,
                        &ticket.target,
                        ticket.effect,
                        ticket.was_failed.as_deref(),
                        outcome,
                    )?;
                    if *outcome == Outcome::Done
                        && let Some(warning) = &ticket.warning
                    {
                        project.set_warning(ticket.target.container(), Some(warning))?;
                    }
                }
                Ok(())
            })
            .with_context(|| self.unrecorded(&judged))?;
        // Settled: the step notes of the containers are history.
        for name in &containers {
            progress.clear(name);
        }
        Ok(judged
            .into_iter()
            .map(|(ticket, result, outcome)| {
                if outcome == Outcome::Done {
                    // Gone is gone, whatever the call said.
                    return Ok(());
                }
                result.map_err(|err| {
                    err.context(format!(
                        "failed to {} {} ({})",
                        self.op.kind.verb(),
                        ticket.target,
                        what_the_file_says(&ticket, &outcome)
                    ))
                })
            })
            .collect())
    }

    /// Whether the runtime has the ticket's target; when it cannot tell,
    /// assume it does (recording `failed` is recoverable, forgetting a
    /// container is not).
    fn runtime_has(&self, ticket: &Ticket) -> bool {
        self.runtime
            .status(&ticket.instance)
            .map_or(true, |found| match &ticket.target {
                Target::Container(_) => found.is_some(),
                Target::Snapshot(_, snapshot) => {
                    found.is_some_and(|i| i.snapshots.iter().any(|s| s == snapshot))
                }
                Target::Device(_, device) => found.is_some_and(|i| i.devices.contains_key(device)),
            })
    }

    /// For a commit that failed after the runtime work: what now exists in
    /// the runtime that the file does not say, and how to settle it.
    fn unrecorded(&self, judged: &[(Ticket, Result<()>, Outcome)]) -> String {
        let runtime = self.runtime.name();
        let facts: Vec<String> = judged
            .iter()
            .map(|(ticket, _, outcome)| match (outcome, ticket.effect) {
                (Outcome::Done, Effect::Makes | Effect::MakesRecorded) => format!(
                    "{} now exists in the {runtime} runtime (`{}`)",
                    ticket.target, ticket.instance
                ),
                (Outcome::Done, Effect::Deletes) => {
                    format!("{} is gone from the {runtime} runtime", ticket.target)
                }
                (Outcome::HalfDone(error), Effect::Makes) => format!(
                    "{} exists in the {runtime} runtime (`{}`) but is not finished: {error}",
                    ticket.target, ticket.instance
                ),
                _ => format!("{}: {}", ticket.target, what_the_file_says(ticket, outcome)),
            })
            .collect();
        format!(
            "{}, but recording that in `{}` failed; once the cause is fixed, \
             `lxdev doctor --fix` settles it",
            facts.join("; "),
            self.ctx.manager.path().display()
        )
    }
}

/// What a finished operation left, judged from its result and, when it
/// failed, from what the runtime now has (`exists`, probed only then).
pub fn judge(ticket: &Ticket, result: &Result<()>, exists: impl FnOnce() -> bool) -> Outcome {
    let Err(err) = result else {
        return Outcome::Done;
    };
    let exists = exists();
    let half_done = || Outcome::HalfDone(format!("{err:#}"));
    match ticket.effect {
        // Gone is gone, whatever the call said.
        Effect::Deletes if !exists => Outcome::Done,
        _ if crate::error::changed_nothing(err) => Outcome::Unchanged,
        Effect::Makes | Effect::MakesRecorded if !exists => Outcome::Unchanged,
        Effect::Makes
        | Effect::MakesRecorded
        | Effect::Deletes
        | Effect::Rewrites
        | Effect::Keeps => half_done(),
    }
}

/// Records `outcome` for the operation on `target`. The one table of how
/// operations end, for commands and `doctor --fix` alike.
pub fn apply(
    project: &mut Project,
    target: &Target,
    effect: Effect,
    was_failed: Option<&str>,
    outcome: &Outcome,
) -> Result<()> {
    // `restart` is no provisioning step: an operation stopped there is
    // settled as one that recorded none (doctor starts the container).
    let outcome = &match outcome {
        Outcome::Abandoned {
            exists,
            step: Some(Step::Restart),
        } => Outcome::Abandoned {
            exists: *exists,
            step: None,
        },
        other => other.clone(),
    };
    // The provisioning steps a container has not done: whatever else
    // happened, it is not ready while it has some.
    let pending: Vec<Step> = match target {
        Target::Container(name) => project
            .config()
            .containers
            .get(name)
            .map(|c| c.pending_steps.clone())
            .unwrap_or_default(),
        Target::Snapshot(..) | Target::Device(..) => Vec::new(),
    };
    let words = || {
        let words: Vec<&str> = pending.iter().map(|s| s.as_str()).collect();
        words.join(", ")
    };
    match (outcome, effect) {
        (
            Outcome::Abandoned {
                exists: true,
                step: Some(step),
            },
            _,
        ) => project.fail(
            target,
            &format!(
                "provisioning stopped at step `{step}` (not done: {}): the process doing it is \
                 gone; remove the container and create it again",
                words()
            ),
        ),
        (
            Outcome::Abandoned {
                exists: true,
                step: None,
            },
            Effect::Makes | Effect::MakesRecorded,
        ) if !pending.is_empty() => project.fail(
            target,
            &format!(
                "the process creating it is gone, and it was never provisioned (not done: {}); \
                 remove the container and create it again",
                words()
            ),
        ),
        // An entry recorded before the operation stays, whatever happened.
        (Outcome::Abandoned { .. } | Outcome::Unchanged, Effect::MakesRecorded) => {
            project.finish(target)
        }
        (
            Outcome::Abandoned {
                exists: true,
                step: None,
            },
            _,
        ) => project.finish(target),
        (Outcome::Abandoned { exists: false, .. }, _) => project.remove(target),
        (
            Outcome::Done,
            Effect::Makes | Effect::MakesRecorded | Effect::Rewrites | Effect::Keeps,
        ) => project.finish(target),
        (Outcome::Done, Effect::Deletes) => project.remove(target),
        (Outcome::Unchanged, Effect::Makes) => project.remove(target),
        (Outcome::Unchanged, Effect::Deletes) => match was_failed {
            Some(error) => project.fail(target, error),
            None => project.finish(target),
        },
        (Outcome::Unchanged, Effect::Rewrites | Effect::Keeps) => project.finish(target),
        (Outcome::HalfDone(error), Effect::Makes | Effect::MakesRecorded | Effect::Deletes) => {
            project.fail(target, error)
        }
        // Publishing reads the container and never rewrites it: at worst it
        // is left stopped, which the error says.
        (Outcome::HalfDone(_), Effect::Keeps) => project.finish(target),
        // A restore rewrites the container: the snapshot is fine, the
        // container's contents are unknown.
        (Outcome::HalfDone(error), Effect::Rewrites) => {
            project.finish(target)?;
            let container = Target::Container(target.container().to_string());
            project.fail(&container, &format!("restore of {target} failed: {error}"))
        }
    }
}

/// How the file now reads after `outcome`, for the error message.
fn what_the_file_says(ticket: &Ticket, outcome: &Outcome) -> String {
    match (outcome, ticket.effect) {
        (Outcome::Unchanged, Effect::Makes) => "nothing was made; it was not recorded".into(),
        (Outcome::Unchanged, Effect::MakesRecorded) => {
            "nothing was made; the entry is as it was".into()
        }
        (Outcome::HalfDone(_), Effect::Keeps) => {
            "the container is as it was, but may be left stopped".into()
        }
        (Outcome::Unchanged, _) => "left as it was".into(),
        (Outcome::HalfDone(_), Effect::Rewrites) => format!(
            "recorded container `{}` as failed; see `lxdev doctor`",
            ticket.target.container()
        ),
        (Outcome::HalfDone(_), _) => "recorded as failed; see `lxdev doctor`".into(),
        (Outcome::Done, _) => "done".into(),
        (Outcome::Abandoned { .. }, _) => "settled".into(),
    }
}

/// Before a commit records an outcome: the record must still carry the
/// operation this process reserved it with. If someone settled it
/// meanwhile (`doctor --fix` from another host), do not overwrite that.
fn still_ours(project: &Project, target: &Target, ours: &Operation) -> Result<()> {
    let recorded = project.record(target).and_then(|r| r.operation);
    checks::still_ours(project, &target.to_string(), recorded, ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigManager;
    use crate::config::model::{ContainerState, SnapshotState};

    /// A project whose container `c` (and snapshot `c/s`) carry `state`.
    fn project(
        container_state: Option<&str>,
        snapshot_state: Option<&str>,
    ) -> (tempfile::TempDir, ConfigManager) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        let state = |s: Option<&str>, indent: &str| {
            s.map(|s| format!("{indent}state: {s}\n{indent}error: before\n"))
                .unwrap_or_default()
        };
        let text = format!(
            "project: p\nruntime: fake\ncontainers:\n  c:\n    image: i\n{}    snapshots:\n      s:\n        created_at: \"2026-01-01T00:00:00Z\"\n{}",
            state(container_state, "    "),
            state(snapshot_state, "        ")
        );
        std::fs::write(&path, text).unwrap();
        (dir, ConfigManager::new(path))
    }

    /// Applies `outcome` and returns (container state, snapshot state) as
    /// words, `gone` for a dropped record, and the errors.
    fn after(
        container_state: Option<&str>,
        snapshot_state: Option<&str>,
        target: &Target,
        effect: Effect,
        was_failed: Option<&str>,
        outcome: Outcome,
    ) -> (String, String) {
        let (_dir, manager) = project(container_state, snapshot_state);
        manager
            .update(|project| apply(project, target, effect, was_failed, &outcome))
            .unwrap();
        let config = manager.load().unwrap().config().clone();
        let word = |state: Option<&'static str>, error: Option<&String>| match (state, error) {
            (None, _) => "ready".to_string(),
            (Some(s), Some(e)) => format!("{s}: {e}"),
            (Some(s), None) => s.to_string(),
        };
        match config.containers.get("c") {
            None => ("gone".into(), "gone".into()),
            Some(c) => (
                word(c.state.map(ContainerState::as_str), c.error.as_ref()),
                c.snapshots.get("s").map_or("gone".into(), |s| {
                    word(s.state.map(SnapshotState::as_str), s.error.as_ref())
                }),
            ),
        }
    }

    fn container() -> Target {
        Target::Container("c".into())
    }

    fn snapshot() -> Target {
        Target::Snapshot("c".into(), "s".into())
    }

    /// Container state, snapshot state, target, effect, error before the
    /// operation, outcome, and the (container, snapshot) states after.
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        Target,
        Effect,
        Option<&'static str>,
        Outcome,
        (&'static str, &'static str),
    );

    #[test]
    fn the_table_of_how_operations_end() {
        use Effect::*;
        let half = || Outcome::HalfDone("boom".into());
        let cases: Vec<Case> = vec![
            // Containers.
            (
                Some(ContainerState::Creating.as_str()),
                None,
                container(),
                Makes,
                None,
                Outcome::Done,
                ("ready", "ready"),
            ),
            (
                Some(ContainerState::Creating.as_str()),
                None,
                container(),
                Makes,
                None,
                Outcome::Unchanged,
                ("gone", "gone"),
            ),
            (
                Some(ContainerState::Creating.as_str()),
                None,
                container(),
                Makes,
                None,
                half(),
                ("failed: boom", "ready"),
            ),
            (
                Some(ContainerState::Removing.as_str()),
                None,
                container(),
                Deletes,
                None,
                Outcome::Done,
                ("gone", "gone"),
            ),
            (
                Some(ContainerState::Removing.as_str()),
                None,
                container(),
                Deletes,
                None,
                Outcome::Unchanged,
                ("ready", "ready"),
            ),
            (
                Some(ContainerState::Removing.as_str()),
                None,
                container(),
                Deletes,
                Some("was bad"),
                Outcome::Unchanged,
                ("failed: was bad", "ready"),
            ),
            (
                Some(ContainerState::Removing.as_str()),
                None,
                container(),
                Deletes,
                None,
                half(),
                ("failed: boom", "ready"),
            ),
            // Snapshots.
            (
                None,
                Some(SnapshotState::Creating.as_str()),
                snapshot(),
                Makes,
                None,
                Outcome::Done,
                ("ready", "ready"),
            ),
            (
                None,
                Some(SnapshotState::Creating.as_str()),
                snapshot(),
                Makes,
                None,
                Outcome::Unchanged,
                ("ready", "gone"),
            ),
            (
                None,
                Some(SnapshotState::Creating.as_str()),
                snapshot(),
                Makes,
                None,
                half(),
                ("ready", "failed: boom"),
            ),
            (
                None,
                Some(SnapshotState::Deleting.as_str()),
                snapshot(),
                Deletes,
                None,
                Outcome::Done,
                ("ready", "gone"),
            ),
            (
                None,
                Some(SnapshotState::Deleting.as_str()),
                snapshot(),
                Deletes,
                None,
                Outcome::Unchanged,
                ("ready", "ready"),
            ),
            (
                None,
                Some(SnapshotState::Deleting.as_str()),
                snapshot(),
                Deletes,
                Some("was bad"),
                Outcome::Unchanged,
                ("ready", "failed: was bad"),
            ),
            (
                None,
                Some(SnapshotState::Deleting.as_str()),
                snapshot(),
                Deletes,
                None,
                half(),
                ("ready", "failed: boom"),
            ),
            (
                None,
                Some(SnapshotState::Restoring.as_str()),
                snapshot(),
                Rewrites,
                None,
                Outcome::Done,
                ("ready", "ready"),
            ),
            (
                None,
                Some(SnapshotState::Restoring.as_str()),
                snapshot(),
                Rewrites,
                None,
                Outcome::Unchanged,
                ("ready", "ready"),
            ),
            (
                None,
                Some(SnapshotState::Restoring.as_str()),
                snapshot(),
                Rewrites,
                None,
                half(),
                ("failed: restore of snapshot `c/s` failed: boom", "ready"),
            ),
        ];
        for (cs, ss, target, effect, was_failed, outcome, want) in cases {
            let got = after(cs, ss, &target, effect, was_failed, outcome.clone());
            assert_eq!(
                (got.0.as_str(), got.1.as_str()),
                want,
                "{cs:?} {ss:?} {target} {effect:?} {outcome:?}"
            );
        }
    }

    /// doctor --fix: every recorded state of every target, with and without
    /// the target in the runtime.
    #[test]
    fn abandoned_operations_are_ready_if_the_runtime_has_them_else_dropped() {
        // (container state, snapshot state, target, what "gone" leaves)
        let containers = ContainerState::ALL
            .iter()
            .map(|s| (Some(s.as_str()), None, container(), ("gone", "gone")));
        let snapshots = SnapshotState::ALL
            .iter()
            .map(|s| (None, Some(s.as_str()), snapshot(), ("ready", "gone")));
        for (cs, ss, target, gone) in containers.chain(snapshots) {
            for exists in [true, false] {
                let outcome = Outcome::Abandoned { exists, step: None };
                let got = after(cs, ss, &target, Effect::Makes, None, outcome);
                let want = if exists { ("ready", "ready") } else { gone };
                assert_eq!(
                    (got.0.as_str(), got.1.as_str()),
                    want,
                    "{cs:?} {ss:?} exists={exists}"
                );
            }
        }
    }

    /// `ready` means fully provisioned: an abandoned create whose entry
    /// still has pending steps is failed, whatever the runtime has.
    #[test]
    fn an_abandoned_create_with_pending_steps_is_failed_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        std::fs::write(
            &path,
            "project: p\nruntime: fake\ncontainers:\n  c:\n    image: i\n    state: creating\n    \
             pending_steps: [user, ssh]\n",
        )
        .unwrap();
        let manager = ConfigManager::new(path);
        for effect in [Effect::Makes, Effect::MakesRecorded] {
            manager
                .update(|project| {
                    let outcome = Outcome::Abandoned {
                        exists: true,
                        step: None,
                    };
                    apply(project, &container(), effect, None, &outcome)
                })
                .unwrap();
            let config = manager.load().unwrap().config().clone();
            let c = &config.containers["c"];
            assert_eq!(c.state, Some(ContainerState::Failed), "{effect:?}");
            assert!(c.error.as_ref().unwrap().contains("not done: user, ssh"));
            assert_eq!(c.pending_steps, [Step::User, Step::Ssh]);
        }
    }

    #[test]
    fn judging_a_failure_probes_the_runtime_only_then() {
        let ticket = |effect| Ticket {
            target: container(),
            instance: "p-c".into(),
            effect,
            was_failed: None,
            warning: None,
        };
        let refused = || Err(crate::error::refused(anyhow::anyhow!("no")));
        let failed = || Err(anyhow::anyhow!("boom"));
        assert_eq!(
            judge(&ticket(Effect::Makes), &Ok(()), || panic!("probed")),
            Outcome::Done
        );
        assert_eq!(
            judge(&ticket(Effect::Makes), &refused(), || true),
            Outcome::Unchanged
        );
        assert_eq!(
            judge(&ticket(Effect::Makes), &failed(), || false),
            Outcome::Unchanged
        );
        assert!(matches!(
            judge(&ticket(Effect::Makes), &failed(), || true),
            Outcome::HalfDone(_)
        ));
        assert_eq!(
            judge(&ticket(Effect::Deletes), &refused(), || false),
            Outcome::Done
        );
        assert_eq!(
            judge(&ticket(Effect::Deletes), &refused(), || true),
            Outcome::Unchanged
        );
        assert!(matches!(
            judge(&ticket(Effect::Deletes), &failed(), || true),
            Outcome::HalfDone(_)
        ));
        assert!(matches!(
            judge(&ticket(Effect::Rewrites), &failed(), || true),
            Outcome::HalfDone(_)
        ));
        assert_eq!(
            judge(&ticket(Effect::Rewrites), &refused(), || true),
            Outcome::Unchanged
        );
    }
}
