//! `lxdev snapshot create|delete|list|restore`.

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use super::runner::{Runner, Ticket};
use super::{checks, power};
use crate::config::ledger::{Effect, OperationKind, READY, Target};
use crate::config::model::SnapshotState;
use crate::config::names;
use crate::error::Error;
use crate::runtime::InstanceStatus;
use crate::{operation, process};

pub fn create(
    ctx: &Context,
    container: &str,
    snapshot: &str,
    description: Option<&str>,
) -> Result<()> {
    names::validate_snapshot(snapshot).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::SnapshotCreate)?;
    ctx.own_instance(runner.runtime.as_ref(), &project, container)?;
    let target = Target::Snapshot(container.into(), snapshot.into());
    let ticket = runner.reserve(|project, op| {
        let entry = checks::ready_container(project, container)?;
        checks::on_runtime(project, container, runner.runtime.name())?;
        // Snapshots of one container may be taken in parallel; only a
        // restore in flight conflicts.
        checks::no_snapshot_in_flight(project, container, Some(&[SnapshotState::Restoring]))?;
        if let Some(existing) = entry.snapshots.get(snapshot) {
            let detail = match (&existing.state, &existing.operation) {
                (Some(SnapshotState::Failed), _) => " (in the failed state)".to_string(),
                (Some(state), Some(op)) => {
                    format!(" ({} by {})", state.doing(), operation::describe(op))
                }
                _ => String::new(),
            };
            return Err(Error::Conflict(format!(
                "container `{container}` already has a snapshot `{snapshot}`{detail}"
            ))
            .into());
        }
        let ticket = Ticket::new(project, target.clone(), Effect::Makes);
        project.insert_snapshot(container, snapshot, description, &op.started_at, Some(op))?;
        Ok(ticket)
    })?;
    let instance = ticket.instance.clone();
    let result = runner.work(format!("snapshotting {instance} as {snapshot}"), || {
        runner.runtime.snapshot_create(&instance, snapshot)
    });
    runner.settle(ticket, result)?;
    ctx.out
        .say(format!("created snapshot {container}/{snapshot}"));
    Ok(())
}

pub fn delete(ctx: &Context, options: &SnapshotOptions) -> Result<()> {
    let (container, snapshot) = (options.container.as_str(), options.snapshot.as_str());
    let force = options.force;
    names::validate_snapshot(snapshot).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::SnapshotDelete)?;
    ctx.own_instance(runner.runtime.as_ref(), &project, container)?;
    let user = process::current_user();
    let target = Target::Snapshot(container.into(), snapshot.into());
    let ticket = runner.reserve(|project, op| {
        let entry = checks::ready_container(project, container)?;
        checks::on_runtime(project, container, runner.runtime.name())?;
        checks::owned_or_forced(entry, container, &user, force)?;
        let snap = checks::existing_snapshot(project, container, snapshot)?;
        // A failed snapshot may be deleted: that is how it is cleaned up.
        if let Some(state) = snap.state.filter(|s| *s != SnapshotState::Failed) {
            return Err(
                checks::busy(&target.to_string(), state.doing(), snap.operation.as_ref()).into(),
            );
        }
        checks::no_snapshot_in_flight(project, container, Some(&[SnapshotState::Restoring]))?;
        checks::no_clone_in_flight_from(project, container, Some(snapshot))?;
        let ticket = Ticket::new(project, target.clone(), Effect::Deletes);
        project.begin(&target, SnapshotState::Deleting, op)?;
        Ok(ticket)
    })?;
    let instance = ticket.instance.clone();
    let result = runner.work(format!("deleting snapshot {instance}/{snapshot}"), || {
        runner.runtime.snapshot_delete(&instance, snapshot)
    });
    runner.settle(ticket, result)?;
    ctx.out
        .say(format!("deleted snapshot {container}/{snapshot}"));
    Ok(())
}

/// A change to snapshot `snapshot` of `container` (delete, restore).
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    pub container: String,
    pub snapshot: String,
    /// Even on another user's container.
    pub force: bool,
}

/// What a restore leaves the container doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Afterwards {
    /// As the snapshot has it.
    AsRestored,
    /// Running (`container reset`).
    Running,
}

pub fn restore(ctx: &Context, options: &SnapshotOptions) -> Result<()> {
    let (container, snapshot) = (&options.container, &options.snapshot);
    restore_to(ctx, options, Afterwards::AsRestored)?;
    ctx.out
        .say(format!("restored {container} to snapshot {snapshot}"));
    Ok(())
}

/// `container reset`: a restore that leaves the container running, as one
/// operation with the restore's conflict rules.
pub fn reset(ctx: &Context, options: &SnapshotOptions) -> Result<()> {
    let (container, snapshot) = (&options.container, &options.snapshot);
    restore_to(ctx, options, Afterwards::Running)?;
    ctx.out
        .say(format!("reset {container} to snapshot {snapshot}"));
    Ok(())
}

fn restore_to(ctx: &Context, options: &SnapshotOptions, afterwards: Afterwards) -> Result<()> {
    let (container, snapshot) = (options.container.as_str(), options.snapshot.as_str());
    let force = options.force;
    names::validate_snapshot(snapshot).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::SnapshotRestore)?;
    ctx.own_instance(runner.runtime.as_ref(), &project, container)?;
    let user = process::current_user();
    let target = Target::Snapshot(container.into(), snapshot.into());
    let ticket = runner.reserve(|project, op| {
        let entry = checks::ready_container(project, container)?;
        checks::on_runtime(project, container, runner.runtime.name())?;
        checks::owned_or_forced(entry, container, &user, force)?;
        checks::ready_snapshot(project, container, snapshot)?;
        // A restore rewrites the whole container: nothing else may be in
        // flight on it, including other snapshots and clones from it.
        checks::no_snapshot_in_flight(project, container, None)?;
        checks::no_clone_in_flight_from(project, container, None)?;
        checks::no_device_in_flight(project, container)?;
        let ticket = Ticket::new(project, target.clone(), Effect::Rewrites);
        project.begin(&target, SnapshotState::Restoring, op)?;
        Ok(ticket)
    })?;
    let instance = ticket.instance.clone();
    // The runtime restores the snapshot's devices too: the file's are
    // given back, so a mount made after the snapshot survives a reset.
    let recorded = super::devices::recorded(&project, container);
    let policy = super::devices::Policy::for_project(&project);
    let (user, _) = project.dev_user(container);
    // And the snapshot's limits and environment: the file's are given back.
    let wanted = project.config().dev_env(container).instance_config();
    let mut warning = None;
    let result = runner.work(format!("restoring {instance} to {snapshot}"), || {
        let runtime = runner.runtime.as_ref();
        runtime.snapshot_restore(&instance, snapshot)?;
        // One question after the restore: whether it runs (the daemon
        // starts again an instance that ran), its settings and devices.
        let restored = runtime.status(&instance)?;
        if let Some(restored) = &restored {
            super::settings::apply(runtime, &instance, &restored.settings, &wanted)?;
        }
        if afterwards == Afterwards::Running
            && !restored.as_ref().is_some_and(|i| i.status.is_running())
        {
            power::bring_to(runtime, &instance, InstanceStatus::Running, || {
                runtime.start(&instance)
            })?;
        }
        let have = restored.map(|i| i.devices).unwrap_or_default();
        warning = super::devices::apply_recorded_on(
            runtime, &policy, container, &instance, &recorded, &user, &have,
        )?;
        Ok(())
    });
    runner.settle(ticket, result)?;
    if let Some(warning) = warning {
        ctx.out.warn(warning);
    }
    Ok(())
}

pub fn list(ctx: &Context, container: &str) -> Result<()> {
    let project = ctx.manager.load()?;
    let entry = project.container(container)?;
    let rows: Vec<serde_json::Value> = entry
        .snapshots
        .iter()
        .map(|(name, s)| {
            json!({
                "name": name,
                "description": s.description,
                "created_at": s.created_at,
                "state": s.state.map_or(READY, SnapshotState::as_str),
                "in_flight": s.state.is_some_and(|s| s.effect().is_some()),
                "error": s.error,
            })
        })
        .collect();
    if ctx.out.json {
        ctx.out
            .json(&json!({ "container": container, "snapshots": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        ctx.out.say(format!(
            "container `{container}` has no snapshots; take one with `lxdev snapshot create {container} NAME`"
        ));
        return Ok(());
    }
    let table: Vec<[String; 4]> = entry
        .snapshots
        .iter()
        .map(|(name, s)| {
            [
                name.clone(),
                s.state.map_or(READY, SnapshotState::as_str).to_string(),
                s.created_at.clone().unwrap_or_else(|| "-".into()),
                s.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    ctx.out
        .table(["NAME", "STATE", "CREATED", "DESCRIPTION"], &table);
    Ok(())
}
