//! `lxdev doctor [--fix]`: find what a crash or another tool left behind,
//! and settle it by asking the runtime what exists.
//!
//! Findings come from the file as loaded *before* the runtime is asked, and
//! `--fix` re-checks each one under the lock against the file as it is
//! then: an entry that changed meanwhile belongs to a live command and is
//! left alone. (A ready entry's instance only disappears after a remove
//! has marked it `removing`, and an instance only appears after a create
//! has reserved its name, so this ordering never misreads work in flight.)
//! A stale operation whose runtime work still runs (`Runtime::busy`) is
//! left alone; `--fix` decides the rest from a listing taken after those
//! checks, since that work may have changed what exists until it ended.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use super::runner::{self, Outcome};
use crate::config::ledger::{Effect, Step, Target};
use crate::config::model::{Container, Operation};
use crate::config::{NewContainer, Project, Record, names};
use crate::runtime::{Belonging, Instance};
use crate::{operation, time};

#[derive(Debug, Clone)]
enum Finding {
    /// An operation whose process is gone.
    StaleOperation {
        target: Target,
        state: String,
        /// `None` when a state was left with no operation record.
        op: Option<Operation>,
        reason: String,
    },
    /// A failed entry.
    Failed { target: Target, error: String },
    /// A failed container that was never fully provisioned: its
    /// `pending_steps` were not done. `--fix` leaves it failed: ready must
    /// mean fully provisioned.
    Unprovisioned {
        target: Target,
        error: String,
        pending: Vec<Step>,
    },
    /// A ready entry the runtime does not have: deleted behind lxdev's
    /// back, or not created on this machine yet (a checked-in file). Only
    /// the user can tell which, so `--fix` leaves it.
    MissingFromRuntime {
        target: Target,
        runtime: &'static str,
    },
    /// Something the runtime has that the file does not record.
    MissingFromConfig { target: Target },
    /// A temp file left by a save that was killed.
    TempFile { path: PathBuf },
    /// A running container that a killed operation (an image publish, a
    /// mount's restart) stopped and never started again: `--fix` starts it.
    LeftStopped {
        target: Target,
        instance: String,
        op: Operation,
    },
    /// What provisioning could not do on a ready container (SSH off, ...):
    /// told, not a problem.
    Warning { target: Target, warning: String },
    /// An entry recorded on another runtime than the one doctor uses: not
    /// judged here at all.
    OtherRuntime { target: Target, runtime: String },
    /// A runtime instance under this project's prefix that lxdev tagged for
    /// another project or project file: never adopted, never touched.
    ForeignInstance { instance: String, owner: String },
    /// An entry of this file whose instance is tagged for another project
    /// or project file: only the user can untangle it.
    EntryOnForeignInstance { target: Target, owner: String },
    /// Work still in flight: reported, never touched. `note` says why it
    /// counts as running.
    InFlight {
        target: Target,
        state: String,
        op: Option<Operation>,
        note: String,
    },
    /// New containers go on a `dir` pool (see `ops::storage`): told, not a
    /// problem.
    SlowStorage { note: String },
    /// The file names a storage pool the runtime lacks: creates would be
    /// refused.
    MissingPool { pool: String, named_by: String },
}

impl Finding {
    fn is_problem(&self) -> bool {
        !matches!(
            self,
            Finding::InFlight { .. }
                | Finding::OtherRuntime { .. }
                | Finding::ForeignInstance { .. }
                | Finding::Warning { .. }
                | Finding::SlowStorage { .. }
        )
    }

    /// Problems `--fix` may settle: what lxdev itself left behind. The
    /// others need the user's decision.
    fn is_fixable(&self) -> bool {
        matches!(
            self,
            Finding::StaleOperation { .. }
                | Finding::Failed { .. }
                | Finding::MissingFromConfig { .. }
                | Finding::TempFile { .. }
                | Finding::LeftStopped { .. }
        )
    }

    fn kind(&self) -> &'static str {
        match self {
            Finding::StaleOperation { .. } => "stale_operation",
            Finding::Failed { .. } => "failed",
            Finding::Unprovisioned { .. } => "unprovisioned",
            Finding::MissingFromRuntime { .. } => "missing_from_runtime",
            Finding::MissingFromConfig { .. } => "missing_from_config",
            Finding::TempFile { .. } => "temp_file",
            Finding::LeftStopped { .. } => "left_stopped",
            Finding::InFlight { .. } => "in_flight",
            Finding::OtherRuntime { .. } => "other_runtime",
            Finding::Warning { .. } => "warning",
            Finding::ForeignInstance { .. } => "foreign_instance",
            Finding::EntryOnForeignInstance { .. } => "entry_on_foreign_instance",
            Finding::SlowStorage { .. } => "slow_storage",
            Finding::MissingPool { .. } => "missing_pool",
        }
    }

    fn describe(&self) -> String {
        match self {
            Finding::StaleOperation {
                target,
                state,
                op,
                reason,
            } => format!("{target} was left `{state}` {} ({reason})", by(op)),
            Finding::Failed { target, error } => format!("{target} failed: {error}"),
            Finding::Unprovisioned {
                target,
                error,
                pending,
            } => {
                let steps: Vec<&str> = pending.iter().map(|s| s.as_str()).collect();
                format!(
                    "{target} failed before it was fully provisioned (not done: {}): {error}; \
                     remove it (`lxdev container remove {}`) and create it again",
                    steps.join(", "),
                    target.container()
                )
            }
            Finding::MissingFromRuntime {
                target: target @ Target::Container(c),
                runtime,
            } => format!(
                "{target} is in the file but not present on the {runtime} runtime: if it was \
                 never created on this machine, create it (`lxdev container remove {c}`, then \
                 `lxdev container create {c} IMAGE`); if it was deleted, drop the entry with \
                 `lxdev container remove {c}`"
            ),
            Finding::MissingFromRuntime {
                target: target @ Target::Snapshot(c, s),
                runtime,
            } => format!(
                "{target} is in the file but not present on the {runtime} runtime: drop the \
                 entry with `lxdev snapshot delete {c} {s}`"
            ),
            Finding::MissingFromRuntime {
                target: target @ Target::Device(c, _),
                runtime,
            } => format!(
                "{target} is in the file but not present on the {runtime} runtime: \
                 `lxdev mounts {c} --sync` adds it"
            ),
            Finding::Warning { target, warning } => format!("{target}: {warning}"),
            Finding::OtherRuntime { target, runtime } => format!(
                "{target} lives on the {runtime} runtime: not checked here (run \
                 `lxdev --runtime {runtime} doctor`; left alone)"
            ),
            Finding::ForeignInstance { instance, owner } => {
                format!("instance `{instance}` belongs to another project ({owner}): left alone")
            }
            Finding::EntryOnForeignInstance { target, owner } => format!(
                "{target} is recorded here, but its instance belongs to another project \
                 ({owner}); remove the entry from the file by hand if it was copied by mistake"
            ),
            Finding::MissingFromConfig { target } => {
                format!("{target} exists in the runtime but not in the file")
            }
            Finding::TempFile { path } => format!(
                "temp file `{}` was left by an interrupted save",
                path.display()
            ),
            Finding::LeftStopped {
                target,
                instance,
                op,
            } => format!(
                "{target} (`{instance}`) is stopped: it was running when {} began, which \
                 stops and restarts it and was killed in between",
                operation::describe(op)
            ),
            Finding::InFlight {
                target,
                state,
                op,
                note,
            } => format!("{target} is `{state}` {} ({note}; left alone)", by(op)),
            Finding::SlowStorage { note } => format!("note: {note}"),
            Finding::MissingPool { pool, named_by } => format!(
                "storage pool `{pool}` ({named_by}) does not exist on this runtime: creates \
                 there are refused; make it, or name another"
            ),
        }
    }
}

/// Who recorded the operation, for messages.
fn by(op: &Option<Operation>) -> String {
    match op {
        Some(op) => {
            let step = op
                .step
                .map(|step| format!(" at step `{step}`"))
                .unwrap_or_default();
            format!("by {}{step}", operation::describe(op))
        }
        None => "with no operation recorded".into(),
    }
}

/// How `doctor` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoctorOptions {
    /// Settle every finding lxdev may settle.
    pub fix: bool,
}

pub fn doctor(ctx: &Context, options: &DoctorOptions) -> Result<()> {
    let fix = options.fix;
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    let instances = runtime.list(project.name())?;
    let config_path = ctx.manager.canonical_path();
    let mut findings = file_findings(&project, &instances, runtime.name(), &config_path);
    // A dead process's work may go on in the runtime; judging what exists
    // before it ends would record the wrong outcome.
    for finding in &mut findings {
        if let Finding::StaleOperation {
            target,
            state,
            op,
            reason,
        } = finding
        {
            let container = target.container();
            if let Some(work) = runtime.busy(&project.instance_name(container))? {
                *finding = Finding::InFlight {
                    target: target.clone(),
                    state: state.clone(),
                    op: op.clone(),
                    note: format!("{reason}, but {work}; run doctor again when it ends"),
                };
            }
        }
    }
    findings.extend(left_stopped(&project, &findings, &instances));
    findings.extend(storage_findings(&project, runtime.as_ref())?);
    findings.extend(
        ctx.manager
            .leftover_temp_files()?
            .into_iter()
            .map(|path| Finding::TempFile { path }),
    );

    let mut fixed = Vec::new();
    if fix && findings.iter().any(Finding::is_fixable) {
        // Judge what exists from a listing taken after the busy checks: work
        // a dead process left running may have ended in between and changed
        // it (a failed `lxc init` rolls its half-made instance back). Once
        // that work has ended, nothing but a live command, which the
        // unchanged-record check excludes, changes these entries.
        let settled = runtime.list(project.name())?;
        let has = |target: &Target| exists_in(&settled, &project, target);
        let progress = ctx.manager.progress();
        // Only an operation in flight has a note: a stale one's says
        // where it stopped.
        let targets: Vec<&str> = findings
            .iter()
            .filter_map(|f| match f {
                Finding::StaleOperation { target, .. } => Some(target.container()),
                _ => None,
            })
            .collect();
        fixed = ctx.manager.update(|current| {
            // Read as `project` was: with the notes of what it settles.
            current.read_notes(&progress, &targets);
            let mut fixed = Vec::new();
            for finding in findings.iter().filter(|f| f.is_fixable()) {
                if let Some(action) = settle(current, &project, finding, runtime.name(), &has)? {
                    fixed.push(format!("{}: {action}", finding.describe()));
                }
            }
            Ok(fixed)
        })?;
        if findings
            .iter()
            .any(|f| matches!(f, Finding::TempFile { .. }))
        {
            ctx.manager.sweep_temp_files()?;
        }
        // Step notes whose operation is settled (a kill between a settle
        // and the note's removal): judged under the lock, where every
        // reserved operation is in the file before its first note.
        let swept = ctx.manager.update(|current| {
            let orphans = progress.orphans(current.config());
            for path in &orphans {
                let _ = std::fs::remove_file(path);
            }
            Ok(orphans.len())
        })?;
        if swept > 0 {
            fixed.push(format!(
                "removed {swept} step note(s) of settled operations"
            ));
        }
        for finding in &findings {
            if let Finding::LeftStopped { instance, .. } = finding {
                ctx.work(format!("starting {instance}"), || runtime.start(instance))?;
                fixed.push(format!("{}: started it again", finding.describe()));
            }
        }
    }

    let problems = findings.iter().filter(|f| f.is_problem()).count();
    let needs_you: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.is_problem() && !f.is_fixable())
        .collect();
    if ctx.out.json {
        let items: Vec<_> = findings
            .iter()
            .map(|f| json!({ "kind": f.kind(), "message": f.describe(), "problem": f.is_problem(), "fixable": f.is_fixable() }))
            .collect();
        // Part of the outcome object, which says too whether problems
        // remain (`ok`, `exit_code`).
        ctx.outcome(|o| {
            o.detail("runtime", runtime.name());
            o.detail("remote", json!(runtime.remote()));
            o.detail("checked", runtime.location());
            o.detail("findings", items);
            o.detail("fixed", json!(fixed));
        });
    } else if findings.is_empty() {
        ctx.out.say(format!(
            "no problems: `{}` and the {} runtime agree",
            project.path().display(),
            runtime.location()
        ));
    } else {
        // Which server was asked: on a remote, "missing" means missing there.
        ctx.out.say(format!(
            "checked `{}` against the {} runtime",
            project.path().display(),
            runtime.location()
        ));
        if fix {
            for finding in findings.iter().filter(|f| !f.is_problem()) {
                ctx.out.say(finding.describe());
            }
            for line in &fixed {
                ctx.out.say(format!("fixed: {line}"));
            }
            for finding in &needs_you {
                ctx.out.say(format!("needs you: {}", finding.describe()));
            }
        } else {
            for finding in &findings {
                ctx.out.say(finding.describe());
            }
        }
    }
    if fix && !needs_you.is_empty() {
        return Err(anyhow::anyhow!(
            "{} problem(s) need a decision that --fix does not make; see above",
            needs_you.len()
        ));
    }
    if problems > 0 && !fix {
        let advice = if findings.iter().any(Finding::is_fixable) {
            "run `lxdev doctor --fix` to settle what lxdev left in flight"
        } else {
            "each needs a decision; see above"
        };
        return Err(anyhow::anyhow!("{problems} problem(s) found; {advice}"));
    }
    Ok(())
}

/// The pools new containers go on (the file's `storage:`, else the default
/// profile's, and each entry's own): a `dir` one is the slow path, a
/// missing one a problem.
fn storage_findings(
    project: &Project,
    runtime: &dyn crate::runtime::Runtime,
) -> Result<Vec<Finding>> {
    let config = project.config();
    let mut pools: Vec<(Option<&str>, String)> =
        vec![(config.storage.as_deref(), "`storage:`".to_owned())];
    for (name, entry) in &config.containers {
        if let Some(pool) = entry.storage.as_deref()
            && !pools.iter().any(|(p, _)| *p == Some(pool))
        {
            pools.push((Some(pool), format!("`containers.{name}.storage`")));
        }
    }
    let mut findings = Vec::new();
    for (pool, named_by) in pools {
        match runtime.storage_pool(pool)? {
            Some(found) => findings.extend(
                super::storage::slow_path(runtime, &found)
                    .map(|note| Finding::SlowStorage { note }),
            ),
            None => findings.extend(pool.map(|pool| Finding::MissingPool {
                pool: pool.to_owned(),
                named_by,
            })),
        }
    }
    Ok(findings)
}

/// What the file says that the runtime contradicts, or that a crash left.
/// Entries recorded on another runtime are not judged; instances are
/// judged ours by their tags, not by their names alone.
fn file_findings(
    project: &Project,
    instances: &[Instance],
    runtime: &'static str,
    config_path: &std::path::Path,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let config = project.config();
    let owner_of = |instance: &Instance| match instance.belonging(project.name(), config_path) {
        Belonging::OtherProject(other) => Some(format!("tagged for project `{other}`")),
        Belonging::OtherCheckout(file) => Some(format!("tagged for `{file}`")),
        Belonging::Ours | Belonging::Untagged => None,
    };
    for (name, c) in &config.containers {
        let target = Target::Container(name.clone());
        if let Some(own) = project.runtime_of(name)
            && own != runtime
        {
            findings.push(Finding::OtherRuntime {
                target,
                runtime: own.to_string(),
            });
            continue;
        }
        if let Some(f) = project
            .record(&target)
            .and_then(|r| operation_finding(&target, r))
        {
            let f = match f {
                Finding::Failed { target, error } if !c.pending_steps.is_empty() => {
                    Finding::Unprovisioned {
                        target,
                        error,
                        pending: c.pending_steps.clone(),
                    }
                }
                other => other,
            };
            findings.push(f);
            // Its snapshots' own operations still count (a create killed
            // while taking `initial-state` left one); what the runtime has
            // is judged once the container is settled.
            findings.extend(children(name, c).filter_map(|target| {
                project
                    .record(&target)
                    .and_then(|r| operation_finding(&target, r))
            }));
            continue;
        }
        let instance = instances
            .iter()
            .find(|i| i.name == project.instance_name(name));
        let Some(instance) = instance else {
            findings.push(Finding::MissingFromRuntime { target, runtime });
            continue;
        };
        if let Some(owner) = owner_of(instance) {
            findings.push(Finding::EntryOnForeignInstance { target, owner });
            continue;
        }
        if let Some(warning) = &c.warning {
            findings.push(Finding::Warning {
                target: target.clone(),
                warning: warning.clone(),
            });
        }
        for target in children(name, c) {
            if let Some(f) = project
                .record(&target)
                .and_then(|r| operation_finding(&target, r))
            {
                findings.push(f);
            } else if !exists_in(std::slice::from_ref(instance), project, &target) {
                findings.push(Finding::MissingFromRuntime { target, runtime });
            }
        }
        for snap in instance
            .snapshots
            .iter()
            .filter(|s| !c.snapshots.contains_key(*s))
        {
            findings.push(Finding::MissingFromConfig {
                target: Target::Snapshot(name.clone(), snap.clone()),
            });
        }
    }
    let recorded: BTreeSet<String> = config
        .containers
        .keys()
        .map(|n| project.instance_name(n))
        .collect();
    let prefix = format!("{}-", project.name());
    for instance in instances.iter().filter(|i| !recorded.contains(&i.name)) {
        if let Some(owner) = owner_of(instance) {
            findings.push(Finding::ForeignInstance {
                instance: instance.name.clone(),
                owner,
            });
            continue;
        }
        let name = instance
            .name
            .strip_prefix(&prefix)
            .unwrap_or(&instance.name);
        findings.push(Finding::MissingFromConfig {
            target: Target::Container(name.to_string()),
        });
    }
    findings
}

/// The containers a stale operation at step `restart` stopped and left
/// stopped (see [`Finding::LeftStopped`]). Only those: a container the
/// user stopped is theirs to start.
fn left_stopped(project: &Project, findings: &[Finding], instances: &[Instance]) -> Vec<Finding> {
    let mut stopped: Vec<Finding> = Vec::new();
    for finding in findings {
        let Finding::StaleOperation {
            target,
            op: Some(op),
            ..
        } = finding
        else {
            continue;
        };
        if op.step != Some(Step::Restart) {
            continue;
        }
        let instance = project.instance_name(target.container());
        let is_stopped = instances
            .iter()
            .any(|i| i.name == instance && !i.status.is_running());
        let seen = stopped
            .iter()
            .any(|f| matches!(f, Finding::LeftStopped { instance: i, .. } if *i == instance));
        if is_stopped && !seen {
            stopped.push(Finding::LeftStopped {
                target: Target::Container(target.container().to_owned()),
                instance,
                op: op.clone(),
            });
        }
    }
    stopped
}

/// The records a container holds: its snapshots and its devices.
fn children<'a>(name: &'a str, c: &'a Container) -> impl Iterator<Item = Target> + 'a {
    let snapshots = c
        .snapshots
        .keys()
        .map(|s| Target::Snapshot(name.to_owned(), s.clone()));
    let devices = c
        .devices
        .keys()
        .map(|d| Target::Device(name.to_owned(), d.clone()));
    snapshots.chain(devices)
}

/// What a record in flight or failed is: failed, stale (its process is
/// gone), or still running. `None` for a ready record.
fn operation_finding(target: &Target, record: Record<'_>) -> Option<Finding> {
    let state = record.state?.to_string();
    if record.effect.is_none() {
        return Some(Finding::Failed {
            target: target.clone(),
            error: record.error.unwrap_or("no error recorded").to_string(),
        });
    }
    let Some(op) = record.operation else {
        return Some(Finding::StaleOperation {
            target: target.clone(),
            state,
            op: None,
            reason: "no process is recorded as doing it".into(),
        });
    };
    Some(match operation::stale_reason(op) {
        Some(reason) => Finding::StaleOperation {
            target: target.clone(),
            state,
            op: Some(op.clone()),
            reason,
        },
        None => Finding::InFlight {
            target: target.clone(),
            state,
            op: Some(op.clone()),
            note: "still running".into(),
        },
    })
}

/// Whether the runtime (as listed) has `target`.
fn exists_in(instances: &[Instance], project: &Project, target: &Target) -> bool {
    let find = |c: &str| {
        instances
            .iter()
            .find(|i| i.name == project.instance_name(c))
    };
    match target {
        Target::Container(c) => find(c).is_some(),
        Target::Snapshot(c, s) => find(c).is_some_and(|i| i.snapshots.contains(s)),
        Target::Device(c, d) => find(c).is_some_and(|i| i.devices.contains_key(d)),
    }
}

/// Settles one finding in the current file, if it still stands as found.
/// Returns what was done. Operations whose process is gone, and failed
/// records, end through the runner's table ([`runner::apply`]); an orphan
/// is recorded ready.
fn settle(
    current: &mut Project,
    seen: &Project,
    finding: &Finding,
    runtime: &str,
    has: &dyn Fn(&Target) -> bool,
) -> Result<Option<String>> {
    let target = match finding {
        Finding::StaleOperation { target, .. }
        | Finding::Failed { target, .. }
        | Finding::MissingFromConfig { target } => target,
        Finding::TempFile { .. } => return Ok(Some("removed".into())),
        // Started once the file is settled (runtime work, outside the lock).
        Finding::LeftStopped { .. } => return Ok(None),
        Finding::MissingFromRuntime { .. }
        | Finding::Unprovisioned { .. }
        | Finding::InFlight { .. }
        | Finding::OtherRuntime { .. }
        | Finding::Warning { .. }
        | Finding::ForeignInstance { .. }
        | Finding::EntryOnForeignInstance { .. }
        | Finding::SlowStorage { .. }
        | Finding::MissingPool { .. } => return Ok(None),
    };
    let fingerprint = |project: &Project| {
        project
            .record(target)
            .map(|r| (r.state, r.operation.cloned()))
    };
    if fingerprint(seen) != fingerprint(current) {
        // Changed since it was found: a live command's, not ours to settle.
        return Ok(None);
    }
    let exists = has(target);
    let Some(record) = current.record(target) else {
        return adopt(current, target, exists, runtime);
    };
    let effect = record.effect.unwrap_or(Effect::Makes);
    // `restart` is no provisioning step.
    let step = record
        .operation
        .and_then(|op| op.step)
        .filter(|s| *s != Step::Restart);
    let unprovisioned = matches!(target, Target::Container(_))
        && current
            .config()
            .containers
            .get(target.container())
            .is_some_and(|c| !c.pending_steps.is_empty());
    runner::apply(
        current,
        target,
        effect,
        None,
        &Outcome::Abandoned { exists, step },
    )?;
    Ok(Some(match (exists, step) {
        (true, Some(step)) => format!("provisioning stopped at step `{step}`: marked failed"),
        (true, None) if unprovisioned => {
            "the runtime has it, but it was never provisioned: marked failed".into()
        }
        (true, None) => "the runtime has it: marked ready".into(),
        (false, _) if effect == Effect::MakesRecorded => format!(
            "the runtime does not have it: the entry, recorded before, is kept ready; \
             `lxdev up {}` creates it",
            target.container()
        ),
        (false, _) => "the runtime does not have it: removed from the file".into(),
    }))
}

/// Records an instance (or snapshot) the runtime has and the file lacks,
/// ready. A container gets `image: unknown` and `owner: unknown`.
fn adopt(
    current: &mut Project,
    target: &Target,
    exists: bool,
    runtime: &str,
) -> Result<Option<String>> {
    if !exists {
        return Ok(None);
    }
    let now = time::now_rfc3339();
    match target {
        Target::Container(c) => {
            if names::validate_container(current.name(), c).is_err() {
                return Ok(Some("not a valid lxdev container name: left alone".into()));
            }
            let new = NewContainer {
                image: "unknown",
                owner: "unknown",
                created_at: &now,
                cloned_from: None,
                runtime,
            };
            current.insert_container(c, &new, None)?;
            Ok(Some("added to the file (image unknown)".into()))
        }
        Target::Snapshot(c, s) if current.config().containers.contains_key(c) => {
            current.insert_snapshot(c, s, None, &now, None)?;
            Ok(Some("added to the file".into()))
        }
        // A device the file lacks is `mounts --sync`'s to record.
        Target::Snapshot(..) | Target::Device(..) => Ok(None),
    }
}
