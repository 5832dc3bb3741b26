//! `lxdev container create|clone|remove|list`.

use anyhow::{Context as _, Result};
use serde_json::json;

use super::{Context, checks};
use crate::config::model::{ContainerState, Operation};
use crate::config::{NewContainer, Project, names};
use crate::error::Error;
use crate::runtime::{self, Belonging, Runtime, Tags};
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
            runtime: runtime.name(),
        };
        project.insert_container(name, &new, "creating", &op)?;
        Ok(project.instance_name(name))
    })?;
    let config_path = ctx.manager.canonical_path();
    let tags = Tags {
        project: project.name(),
        config_path: &config_path,
    };
    let result = ctx.work(format!("creating {instance} from {image}"), || {
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
        checks::on_runtime(project, source, runtime.name())?;
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
            runtime: runtime.name(),
        };
        project.insert_container(name, &new, "creating", &op)?;
        Ok((project.instance_name(source), project.instance_name(name)))
    })?;
    let config_path = ctx.manager.canonical_path();
    let tags = Tags {
        project: project.name(),
        config_path: &config_path,
    };
    let from = snapshot.map_or(source_instance.clone(), |s| {
        format!("{source_instance}/{s}")
    });
    let result = ctx.work(format!("copying {from} to {instance}"), || {
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
        Ok(()) => ctx
            .commit(|project| {
                ensure_still_ours(project, name, op)?;
                project.finish_container_operation(name)
            })
            .with_context(|| {
                format!(
                    "container `{name}` now exists in the {} runtime as `{instance}`, but \
                     recording that in `{}` failed; once the cause is fixed, \
                     `lxdev doctor --fix` records it",
                    runtime.name(),
                    ctx.manager.path().display()
                )
            }),
        Err(err) => {
            let leftover = !runtime::changed_nothing(&err) && runtime_has(runtime, instance);
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
    refuse_foreign_instances(ctx, &project, runtime.as_ref(), names)?;
    let user = process::current_user();
    let op = operation::begin("remove");
    // One reservation for all names: either every one is removable, or
    // none is touched. Each remembers its error, if it was failed, so a
    // remove the runtime refused puts it back exactly as it was.
    let reserved = ctx.reserve(|project| {
        let mut reserved = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                continue;
            }
            let container = project.container(name)?;
            // A failed entry may be removed: that is how it is cleaned up.
            let was_failed = (container.state == Some(ContainerState::Failed))
                .then(|| container.error.clone().unwrap_or_default());
            if was_failed.is_none() {
                checks::ready_container(project, name)?;
            }
            checks::on_runtime(project, name, runtime.name())?;
            checks::owned_or_forced(container, name, &user, force)?;
            checks::no_snapshot_in_flight(project, name, None)?;
            checks::no_clone_in_flight_from(project, name, None)?;
            reserved.push((name.clone(), project.instance_name(name), was_failed));
        }
        for (name, _, _) in &reserved {
            project.begin_container_operation(name, "removing", &op)?;
        }
        Ok(reserved)
    })?;
    // The runtime work runs in parallel; each result is committed below.
    let listed = reserved
        .iter()
        .map(|(_, instance, _)| instance.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let results: Vec<Result<()>> = ctx
        .work(format!("removing {listed}"), || {
            Ok(remove_all(runtime.as_ref(), &reserved))
        })
        .unwrap_or_else(|refused| {
            let message = format!("{refused:#}");
            reserved
                .iter()
                .map(|_| Err(runtime::refused(anyhow::anyhow!("{message}"))))
                .collect()
        });
    let outcomes: Vec<Removal> = results
        .iter()
        .zip(&reserved)
        .map(|(result, (_, instance, _))| match result {
            Ok(()) => Removal::Gone,
            Err(err) if runtime::changed_nothing(err) => Removal::Unchanged,
            Err(err) if runtime_has(runtime.as_ref(), instance) => {
                Removal::HalfDone(format!("remove failed: {err:#}"))
            }
            Err(_) => Removal::Gone,
        })
        .collect();
    ctx.commit(|project| {
        for ((name, _, was_failed), outcome) in reserved.iter().zip(&outcomes) {
            ensure_still_ours(project, name, &op)?;
            match (outcome, was_failed) {
                (Removal::Gone, _) => project.remove_container(name)?,
                (Removal::HalfDone(error), _) | (Removal::Unchanged, Some(error)) => {
                    project.fail_container(name, error)?
                }
                (Removal::Unchanged, None) => project.finish_container_operation(name)?,
            }
        }
        Ok(())
    })?;
    let mut first_error = None;
    for (((name, instance, _), result), outcome) in reserved.iter().zip(results).zip(&outcomes) {
        let Err(err) = result else {
            ctx.out
                .say(format!("removed container {name} ({instance})"));
            continue;
        };
        let what = match outcome {
            Removal::HalfDone(_) => "recorded as failed; see `lxdev doctor`",
            _ => "left as it was",
        };
        let err = err.context(format!("failed to remove container `{name}` ({what})"));
        if first_error.is_none() {
            first_error = Some(err);
        } else {
            eprintln!("error: {err:#}");
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What a remove left of one container, judged after the runtime work.
enum Removal {
    /// The instance is gone: drop the entry.
    Gone,
    /// The runtime refused before changing anything: the entry goes back
    /// to what it was.
    Unchanged,
    /// The runtime failed part-way and still has the instance.
    HalfDone(String),
}

/// Removes every reserved instance, in parallel.
fn remove_all(
    runtime: &dyn Runtime,
    reserved: &[(String, String, Option<String>)],
) -> Vec<Result<()>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = reserved
            .iter()
            .map(|(_, instance, _)| scope.spawn(|| remove_instance(runtime, instance)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("runtime call panicked")))
            })
            .collect()
    })
}

/// Refuses (conflict) to remove an instance whose lxdev tags name another
/// project or another project file: whatever this file says, it is not
/// this project's to delete.
fn refuse_foreign_instances(
    ctx: &Context,
    project: &Project,
    runtime: &dyn Runtime,
    names: &[String],
) -> Result<()> {
    let config_path = ctx.manager.canonical_path();
    for name in names
        .iter()
        .filter(|n| project.config().containers.contains_key(*n))
    {
        let instance = project.instance_name(name);
        let Ok(Some(found)) = runtime.status(&instance) else {
            continue;
        };
        let owner = match found.belonging(project.name(), &config_path) {
            Belonging::OtherProject(other) => format!("project `{other}`"),
            Belonging::OtherCheckout(file) => {
                format!("`{file}`, another checkout of project `{}`", project.name())
            }
            Belonging::Ours | Belonging::Untagged => continue,
        };
        return Err(Error::Conflict(format!(
            "instance `{instance}` belongs to {owner} (its user.lxdev tags say so); lxdev never \
             removes another project's instance. If `{name}` was recorded here by mistake, \
             delete its entry from `{}` by hand",
            project.path().display()
        ))
        .into());
    }
    Ok(())
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
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    ctx.out.say(line(header.to_vec()));
    for row in rows {
        ctx.out.say(line(row.iter().map(String::as_str).collect()));
    }
}

fn check_name(project: &Project, name: &str) -> Result<()> {
    names::validate_container(project.name(), name).map_err(|why| Error::Usage(why).into())
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
