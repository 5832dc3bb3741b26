//! `lxdev snapshot create|delete|list|restore`.

use anyhow::Result;
use serde_json::json;

use super::container::{made_nothing, print_table};
use super::{Context, checks};
use crate::config::model::{Operation, SnapshotState};
use crate::config::{Project, names};
use crate::error::Error;
use crate::runtime::Runtime;
use crate::{operation, process};

pub fn create(
    ctx: &Context,
    container: &str,
    snapshot: &str,
    description: Option<&str>,
) -> Result<()> {
    names::validate_snapshot(snapshot).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    let op = operation::begin("snapshot_create");
    let instance = ctx.reserve(|project| {
        let entry = checks::ready_container(project, container)?;
        // Snapshots of one container may be taken in parallel; only a
        // restore in flight conflicts.
        checks::no_snapshot_in_flight(project, container, Some(&[SnapshotState::Restoring]))?;
        if let Some(existing) = entry.snapshots.get(snapshot) {
            let detail = match (&existing.state, &existing.operation) {
                (Some(SnapshotState::Failed), _) => " (in the failed state)".to_string(),
                (Some(_), Some(op)) => format!(" (being created by {})", operation::describe(op)),
                _ => String::new(),
            };
            return Err(Error::Conflict(format!(
                "container `{container}` already has a snapshot `{snapshot}`{detail}"
            ))
            .into());
        }
        project.insert_snapshot(container, snapshot, description, &op.started_at, &op)?;
        Ok(project.instance_name(container))
    })?;
    let result = ctx
        .out
        .progress(format!("snapshotting {instance} as {snapshot}"), || {
            runtime.snapshot_create(&instance, snapshot)
        });
    match result {
        Ok(()) => ctx.commit(|project| {
            ensure_still_ours(project, container, snapshot, &op)?;
            project.finish_snapshot_operation(container, snapshot)
        })?,
        Err(err) => {
            let leftover =
                !made_nothing(&err) && snapshot_exists(runtime.as_ref(), &instance, snapshot);
            let message = format!("{err:#}");
            ctx.commit(|project| {
                ensure_still_ours(project, container, snapshot, &op)?;
                if leftover {
                    project.fail_snapshot(container, snapshot, &message)
                } else {
                    project.remove_snapshot(container, snapshot)
                }
            })?;
            return Err(err.context(format!("failed to snapshot `{container}` as `{snapshot}`")));
        }
    }
    ctx.out
        .say(format!("created snapshot {container}/{snapshot}"));
    Ok(())
}

pub fn delete(ctx: &Context, container: &str, snapshot: &str, force: bool) -> Result<()> {
    names::validate_snapshot(snapshot).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    let user = process::current_user();
    let op = operation::begin("snapshot_delete");
    let instance = ctx.reserve(|project| {
        let entry = checks::ready_container(project, container)?;
        checks::owned_or_forced(entry, container, &user, force)?;
        let snap = checks::existing_snapshot(project, container, snapshot)?;
        if snap.state.is_some_and(|s| s != SnapshotState::Failed) {
            return Err(checks::busy(
                &format!("snapshot `{container}/{snapshot}`"),
                "busy",
                snap.operation.as_ref(),
            )
            .into());
        }
        checks::no_snapshot_in_flight(project, container, Some(&[SnapshotState::Restoring]))?;
        checks::no_clone_in_flight_from(project, container, Some(snapshot))?;
        project.begin_snapshot_operation(container, snapshot, "deleting", &op)?;
        Ok(project.instance_name(container))
    })?;
    let result = ctx
        .out
        .progress(format!("deleting snapshot {instance}/{snapshot}"), || {
            runtime.snapshot_delete(&instance, snapshot)
        });
    let leftover = result.is_err() && snapshot_exists(runtime.as_ref(), &instance, snapshot);
    ctx.commit(|project| {
        ensure_still_ours(project, container, snapshot, &op)?;
        match &result {
            Err(err) if leftover => {
                project.fail_snapshot(container, snapshot, &format!("delete failed: {err:#}"))
            }
            _ => project.remove_snapshot(container, snapshot),
        }
    })?;
    if let Err(err) = result
        && leftover
    {
        return Err(err.context(format!(
            "failed to delete snapshot `{container}/{snapshot}`"
        )));
    }
    ctx.out
        .say(format!("deleted snapshot {container}/{snapshot}"));
    Ok(())
}

pub fn restore(ctx: &Context, container: &str, snapshot: &str, force: bool) -> Result<()> {
    names::validate_snapshot(snapshot).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    let user = process::current_user();
    let op = operation::begin("snapshot_restore");
    let instance = ctx.reserve(|project| {
        let entry = checks::ready_container(project, container)?;
        checks::owned_or_forced(entry, container, &user, force)?;
        checks::ready_snapshot(project, container, snapshot)?;
        // A restore rewrites the whole container: nothing else may be in
        // flight on it, including other snapshots and clones from it.
        checks::no_snapshot_in_flight(project, container, None)?;
        checks::no_clone_in_flight_from(project, container, None)?;
        project.begin_snapshot_operation(container, snapshot, "restoring", &op)?;
        Ok(project.instance_name(container))
    })?;
    let result = ctx
        .out
        .progress(format!("restoring {instance} to {snapshot}"), || {
            runtime.snapshot_restore(&instance, snapshot)
        });
    ctx.commit(|project| {
        ensure_still_ours(project, container, snapshot, &op)?;
        project.finish_snapshot_operation(container, snapshot)?;
        if let Err(err) = &result {
            // The container's contents are unknown after a failed restore.
            project.fail_container(
                container,
                &format!("restore of snapshot `{snapshot}` failed: {err:#}"),
            )?;
        }
        Ok(())
    })?;
    if let Err(err) = result {
        return Err(err.context(format!(
            "failed to restore `{container}` to `{snapshot}` (recorded `{container}` as failed; see `lxdev doctor`)"
        )));
    }
    ctx.out
        .say(format!("restored {container} to snapshot {snapshot}"));
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
                "state": checks::snapshot_state_name(s.state),
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
                checks::snapshot_state_name(s.state).to_string(),
                s.created_at.clone().unwrap_or_else(|| "-".into()),
                s.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(ctx, ["NAME", "STATE", "CREATED", "DESCRIPTION"], &table);
    Ok(())
}

/// Whether the runtime has the snapshot; when it cannot tell, assume it
/// does (as `runtime_has`: recording `failed` is recoverable).
fn snapshot_exists(runtime: &dyn Runtime, instance: &str, snapshot: &str) -> bool {
    runtime.status(instance).map_or(true, |found| {
        found.is_some_and(|i| i.snapshots.iter().any(|s| s == snapshot))
    })
}

/// The snapshot must still carry the operation this process recorded.
fn ensure_still_ours(
    project: &Project,
    container: &str,
    snapshot: &str,
    op: &Operation,
) -> Result<()> {
    let recorded = project
        .config()
        .containers
        .get(container)
        .and_then(|c| c.snapshots.get(snapshot))
        .and_then(|s| s.operation.as_ref());
    checks::still_ours(
        project,
        &format!("snapshot `{container}/{snapshot}`"),
        recorded,
        op,
    )
}
