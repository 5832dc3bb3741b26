//! `lxdev container create|clone|remove|list`.

use anyhow::Result;
use serde_json::json;

use super::{Context, checks};
use crate::config::model::Operation;
use crate::config::{NewContainer, Project, names};
use crate::error::Error;
use crate::runtime::{Runtime, Tags};
use crate::{operation, process};

pub fn create(ctx: &Context, name: &str, image: &str) -> Result<()> {
    let project = ctx.manager.load()?;
    check_name(&project, name)?;
    if image.trim().is_empty() {
        return Err(Error::Usage("the image name is empty".into()).into());
    }
    let runtime = ctx.runtime(&project)?;
    let op = operation::begin("create");
    // Looked up (in /etc/passwd) before locking: keep the transaction short.
    let owner = process::current_user();
    let instance = ctx.reserve(|project| {
        checks::name_free(project, name)?;
        checks::within_quota(project)?;
        let new = NewContainer {
            image,
            owner: &owner,
            created_at: &op.started_at,
            cloned_from: None,
        };
        project.insert_container(name, &new, "creating", &op)?;
        Ok(project.instance_name(name))
    })?;
    let config_path = ctx.manager.path();
    let tags = Tags {
        project: project.name(),
        config_path,
    };
    let result = ctx
        .out
        .progress(format!("creating {instance} from {image}"), || {
            runtime.create(&instance, image, &tags)
        });
    settle_creation(ctx, runtime.as_ref(), name, &instance, &op, result)?;
    ctx.out
        .say(format!("created container {name} ({instance})"));
    Ok(())
}

pub fn clone(ctx: &Context, source: &str, name: &str, snapshot: Option<&str>) -> Result<()> {
    let project = ctx.manager.load()?;
    check_name(&project, name)?;
    let runtime = ctx.runtime(&project)?;
    let op = operation::begin("clone");
    // Looked up (in /etc/passwd) before locking: keep the transaction short.
    let owner = process::current_user();
    let (source_instance, instance) = ctx.reserve(|project| {
        let source_entry = checks::ready_container(project, source)?;
        checks::no_snapshot_in_flight(
            project,
            source,
            Some(&[crate::config::model::SnapshotState::Restoring]),
        )?;
        if let Some(snap) = snapshot {
            checks::ready_snapshot(project, source, snap)?;
        }
        checks::name_free(project, name)?;
        checks::within_quota(project)?;
        let cloned_from = match snapshot {
            Some(snap) => format!("{source}/{snap}"),
            None => source.to_string(),
        };
        let image = source_entry.image.clone();
        let new = NewContainer {
            image: &image,
            owner: &owner,
            created_at: &op.started_at,
            cloned_from: Some(&cloned_from),
        };
        project.insert_container(name, &new, "creating", &op)?;
        Ok((project.instance_name(source), project.instance_name(name)))
    })?;
    let tags = Tags {
        project: project.name(),
        config_path: ctx.manager.path(),
    };
    let from = snapshot.map_or(source_instance.clone(), |s| {
        format!("{source_instance}/{s}")
    });
    let result = ctx
        .out
        .progress(format!("copying {from} to {instance}"), || {
            runtime.clone_instance(&source_instance, snapshot, &instance, &tags)
        });
    settle_creation(ctx, runtime.as_ref(), name, &instance, &op, result)?;
    ctx.out
        .say(format!("cloned {from} to container {name} ({instance})"));
    Ok(())
}

/// Records the outcome of a create or clone: ready on success; on failure,
/// a `failed` entry if the runtime has something under the name, else the
/// reservation is dropped.
fn settle_creation(
    ctx: &Context,
    runtime: &dyn Runtime,
    name: &str,
    instance: &str,
    op: &Operation,
    result: Result<()>,
) -> Result<()> {
    match result {
        Ok(()) => ctx.commit(|project| {
            ensure_still_ours(project, name, op)?;
            project.finish_container_operation(name)
        }),
        Err(err) => {
            let leftover = !made_nothing(&err) && runtime_has(runtime, instance);
            let message = format!("{err:#}");
            ctx.commit(|project| {
                ensure_still_ours(project, name, op)?;
                if leftover {
                    project.fail_container(name, &message)
                } else {
                    project.remove_container(name)
                }
            })?;
            let outcome = if leftover {
                format!("recorded `{name}` as failed; see `lxdev doctor`")
            } else {
                format!("nothing was created; `{name}` was not recorded")
            };
            Err(err.context(format!("failed to create container `{name}` ({outcome})")))
        }
    }
}

pub fn remove(ctx: &Context, names: &[String], force: bool) -> Result<()> {
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    let user = process::current_user();
    let op = operation::begin("remove");
    // One reservation for all names: either every one is removable, or
    // none is touched.
    let instances = ctx.reserve(|project| {
        let mut instances = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                continue;
            }
            let container = project.container(name)?;
            // A failed entry may be removed: that is how it is cleaned up.
            if container.state != Some(crate::config::model::ContainerState::Failed) {
                checks::ready_container(project, name)?;
            }
            checks::owned_or_forced(container, name, &user, force)?;
            checks::no_snapshot_in_flight(project, name, None)?;
            checks::no_clone_in_flight_from(project, name, None)?;
            instances.push((name.clone(), project.instance_name(name)));
        }
        for (name, _) in &instances {
            project.begin_container_operation(name, "removing", &op)?;
        }
        Ok(instances)
    })?;
    // The runtime work runs in parallel; each result is committed below.
    let results: Vec<Result<()>> = ctx.out.progress(
        format!(
            "removing {}",
            instances
                .iter()
                .map(|(_, i)| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = instances
                    .iter()
                    .map(|(_, instance)| {
                        scope.spawn(|| remove_instance(runtime.as_ref(), instance))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow::anyhow!("runtime call panicked")))
                    })
                    .collect()
            })
        },
    );
    let leftovers: Vec<bool> = results
        .iter()
        .zip(&instances)
        .map(|(result, (_, instance))| result.is_err() && runtime_has(runtime.as_ref(), instance))
        .collect();
    ctx.commit(|project| {
        for (((name, _), result), leftover) in instances.iter().zip(&results).zip(&leftovers) {
            ensure_still_ours(project, name, &op)?;
            match result {
                Err(err) if *leftover => {
                    project.fail_container(name, &format!("remove failed: {err:#}"))?
                }
                _ => project.remove_container(name)?,
            }
        }
        Ok(())
    })?;
    let mut first_error = None;
    for ((name, instance), result) in instances.iter().zip(results) {
        match result {
            Ok(()) => ctx
                .out
                .say(format!("removed container {name} ({instance})")),
            Err(err) if first_error.is_none() => {
                first_error = Some(err.context(format!(
                    "failed to remove container `{name}` (recorded as failed; see `lxdev doctor`)"
                )))
            }
            Err(err) => eprintln!("error: failed to remove container `{name}`: {err:#}"),
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Removes `instance` from the runtime; one that is already gone counts as
/// removed.
fn remove_instance(runtime: &dyn Runtime, instance: &str) -> Result<()> {
    match runtime.remove(instance) {
        Ok(()) => Ok(()),
        Err(err) => match runtime.status(instance) {
            Ok(None) => Ok(()),
            _ => Err(err),
        },
    }
}

pub fn list(ctx: &Context) -> Result<()> {
    let project = ctx.manager.load()?;
    let statuses = runtime_statuses(ctx, &project);
    let rows: Vec<serde_json::Value> = project
        .config()
        .containers
        .iter()
        .map(|(name, c)| {
            let instance = project.instance_name(name);
            let status = match &statuses {
                Some(found) => found
                    .iter()
                    .find(|i| i.name == instance)
                    .map_or("missing".to_string(), |i| i.status.clone()),
                None => "unknown".to_string(),
            };
            json!({
                "name": name,
                "instance": instance,
                "image": c.image,
                "state": checks::container_state_name(c.state),
                "owner": c.owner,
                "snapshots": c.snapshots.len(),
                "status": status,
                "cloned_from": c.cloned_from,
                "operation": c.operation.as_ref().map(|op| json!({
                    "kind": op.kind, "pid": op.pid, "host": op.host, "started_at": op.started_at,
                })),
                "error": c.error,
            })
        })
        .collect();
    if ctx.out.json {
        ctx.out
            .json(&json!({ "project": project.name(), "containers": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        ctx.out.say(format!(
            "no containers in project `{}`; create one with `lxdev container create NAME IMAGE`",
            project.name()
        ));
        return Ok(());
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| match &r[k] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            [
                s("name"),
                s("image"),
                s("state"),
                s("owner"),
                s("snapshots"),
                s("status"),
            ]
        })
        .collect();
    print_table(
        ctx,
        ["NAME", "IMAGE", "STATE", "OWNER", "SNAPSHOTS", "STATUS"],
        &table,
    );
    Ok(())
}

/// What the runtime says of the project's instances, or `None` (with a
/// warning) when it cannot be asked: listing still works without it.
fn runtime_statuses(ctx: &Context, project: &Project) -> Option<Vec<crate::runtime::Instance>> {
    let found = ctx
        .runtime(project)
        .and_then(|runtime| runtime.list(project.name()));
    match found {
        Ok(found) => Some(found),
        Err(err) => {
            ctx.out.warn(format!("runtime status unknown: {err:#}"));
            None
        }
    }
}

pub(super) fn print_table<const N: usize>(ctx: &Context, header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Padded by hand: `format!("{c:<w$}")` panics when `w` is above
    // `u16::MAX`, and a description or image can be that long.
    let line = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        line.truncate(line.trim_end().len());
        line
    };
    ctx.out.say(line(header.to_vec()));
    for row in rows {
        ctx.out.say(line(row.iter().map(String::as_str).collect()));
    }
}

fn check_name(project: &Project, name: &str) -> Result<()> {
    names::validate_container(project.name(), name).map_err(|why| Error::Usage(why).into())
}

/// The runtime refused because the name was taken: whatever exists under
/// it is not ours to record.
pub(super) fn made_nothing(err: &anyhow::Error) -> bool {
    matches!(err.downcast_ref::<Error>(), Some(Error::Conflict(_)))
}

/// Whether the runtime has `instance`; when it cannot tell, assume it does
/// (recording `failed` is recoverable, forgetting a container is not).
pub(super) fn runtime_has(runtime: &dyn Runtime, instance: &str) -> bool {
    runtime
        .status(instance)
        .map_or(true, |found| found.is_some())
}

/// The container must still carry the operation this process recorded.
fn ensure_still_ours(project: &Project, name: &str, op: &Operation) -> Result<()> {
    let recorded = project
        .config()
        .containers
        .get(name)
        .and_then(|c| c.operation.as_ref());
    checks::still_ours(project, &format!("`{name}`"), recorded, op)
}
