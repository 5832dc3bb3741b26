//! The rules a command checks inside its reserving transaction, shared so
//! that every command words them the same way.

use std::path::Path;

use crate::config::Project;
use crate::config::model::{
    Container, ContainerState, Device, DeviceState, Operation, Snapshot, SnapshotState,
};
use crate::error::Error;
use crate::operation;
use crate::runtime::{Belonging, Instance, Runtime};

/// The container `name`, which must be ready: not in flight, not failed.
pub fn ready_container<'p>(project: &'p Project, name: &str) -> Result<&'p Container, Error> {
    let container = project.container(name)?;
    match container.state {
        None => Ok(container),
        Some(ContainerState::Failed) => Err(Error::Conflict(format!(
            "container `{name}` is in the failed state ({}); remove it with \
             `lxdev container remove {name}` or settle it with `lxdev doctor --fix`",
            container.error.as_deref().unwrap_or("no error recorded")
        ))),
        Some(state) => Err(busy(
            &format!("container `{name}`"),
            state.doing(),
            container.operation.as_ref(),
        )),
    }
}

/// Container `name` must live on `runtime`: an entry is never judged or
/// changed through a runtime that never had it.
pub fn on_runtime(project: &Project, name: &str, runtime: &str) -> Result<(), Error> {
    match project.runtime_of(name) {
        Some(own) if own != runtime => Err(Error::Usage(format!(
            "container `{name}` lives on the {own} runtime, but this command uses {runtime}; \
             run it with --runtime {own}"
        ))),
        _ => Ok(()),
    }
}

/// No device of `container` may be in flight (a restore rewrites them).
pub fn no_device_in_flight(project: &Project, container: &str) -> Result<(), Error> {
    let entry = project.container(container)?;
    match entry
        .devices
        .iter()
        .find_map(|(name, d)| device_busy(container, name, d))
    {
        Some(busy) => Err(busy),
        None => Ok(()),
    }
}

/// The busy error (exit 75) for device `name` of `container` when an
/// operation on it is in flight; a failed device is not in flight.
pub fn device_busy(container: &str, name: &str, device: &Device) -> Option<Error> {
    match (device.state, &device.operation) {
        (Some(state), Some(op)) if state != DeviceState::Failed => Some(busy(
            &format!("device `{name}` of `{container}`"),
            state.doing(),
            Some(op),
        )),
        _ => None,
    }
}

/// The snapshot `container/snapshot`, which must exist and be ready.
pub fn ready_snapshot<'p>(
    project: &'p Project,
    container: &str,
    snapshot: &str,
) -> Result<&'p Snapshot, Error> {
    let snap = existing_snapshot(project, container, snapshot)?;
    match snap.state {
        None => Ok(snap),
        Some(SnapshotState::Failed) => Err(Error::Conflict(format!(
            "snapshot `{container}/{snapshot}` is in the failed state ({}); delete it or \
             settle it with `lxdev doctor --fix`",
            snap.error.as_deref().unwrap_or("no error recorded")
        ))),
        Some(state) => Err(busy(
            &format!("snapshot `{container}/{snapshot}`"),
            state.doing(),
            snap.operation.as_ref(),
        )),
    }
}

/// The snapshot `container/snapshot` in any state, or not found.
pub fn existing_snapshot<'p>(
    project: &'p Project,
    container: &str,
    snapshot: &str,
) -> Result<&'p Snapshot, Error> {
    project
        .container(container)?
        .snapshots
        .get(snapshot)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "container `{container}` has no snapshot `{snapshot}`"
            ))
        })
}

/// Fails if any snapshot of `name` has an operation in flight of a kind in
/// `blocking` (all kinds when `None`).
pub fn no_snapshot_in_flight(
    project: &Project,
    name: &str,
    blocking: Option<&[SnapshotState]>,
) -> Result<(), Error> {
    let container = project.container(name)?;
    for (snap, snapshot) in &container.snapshots {
        let Some(state) = snapshot.state else {
            continue;
        };
        if state == SnapshotState::Failed {
            continue;
        }
        if blocking.is_none_or(|kinds| kinds.contains(&state)) {
            return Err(busy(
                &format!("snapshot `{name}/{snap}`"),
                state.doing(),
                snapshot.operation.as_ref(),
            ));
        }
    }
    Ok(())
}

/// Fails if a clone of `name` (or of its snapshot `snapshot`) is in flight:
/// its source must not change or vanish mid-copy.
pub fn no_clone_in_flight_from(
    project: &Project,
    name: &str,
    snapshot: Option<&str>,
) -> Result<(), Error> {
    for (target, container) in &project.config().containers {
        if container.state != Some(ContainerState::Creating) {
            continue;
        }
        let Some(from) = container.cloned_from.as_deref() else {
            continue;
        };
        let (from_container, from_snapshot) = match from.split_once('/') {
            Some((c, s)) => (c, Some(s)),
            None => (from, None),
        };
        let hit = from_container == name && (snapshot.is_none() || from_snapshot == snapshot);
        if hit {
            return Err(busy(
                &format!("container `{from}`"),
                &format!("being cloned to `{target}`"),
                container.operation.as_ref(),
            ));
        }
    }
    Ok(())
}

/// The name must be free: no entry in any state.
pub fn name_free(project: &Project, name: &str) -> Result<(), Error> {
    let Some(existing) = project.config().containers.get(name) else {
        return Ok(());
    };
    let path = project.path().display();
    let settle = format!(
        "; run `lxdev doctor --fix` to settle it, or `lxdev container remove {name}` to drop it"
    );
    let (detail, advice) = match (existing.state, existing.operation.as_ref()) {
        (Some(state), Some(op)) if state != ContainerState::Failed => {
            let doing = state.doing();
            match operation::stale_reason(op) {
                Some(reason) => (
                    format!(
                        " (left {doing} by {}, and {reason})",
                        operation::describe(op)
                    ),
                    settle,
                ),
                None => (
                    format!(" ({doing} by {})", operation::describe(op)),
                    String::new(),
                ),
            }
        }
        (Some(ContainerState::Failed), _) => (" (in the failed state)".to_string(), settle),
        (Some(state), None) => (
            format!(" ({}, with no operation recorded)", state.doing()),
            settle,
        ),
        _ => (String::new(), String::new()),
    };
    Err(Error::Conflict(format!(
        "container `{name}` already exists{detail} in `{path}`{advice}"
    )))
}

/// `defaults.max_containers` counts entries in every state, in-flight
/// ones included, so parallel creates cannot overshoot it.
pub fn within_quota(project: &Project) -> Result<(), Error> {
    let config = project.config();
    let Some(max) = config.defaults.max_containers else {
        return Ok(());
    };
    let count = config.containers.len();
    if count >= max as usize {
        let in_flight = config
            .containers
            .values()
            .filter(|c| {
                matches!(
                    c.state,
                    Some(ContainerState::Creating | ContainerState::Removing)
                )
            })
            .count();
        return Err(Error::Conflict(format!(
            "container limit reached: defaults.max_containers is {max} and the project has \
             {count} containers ({in_flight} in flight); remove one or raise the limit"
        )));
    }
    Ok(())
}

/// Another user's container is only touched with `--force`. Entries
/// without an owner (made by lxc-dev-manager) belong to everyone.
pub fn owned_or_forced(
    container: &Container,
    name: &str,
    user: &str,
    force: bool,
) -> Result<(), Error> {
    match container.owner.as_deref() {
        Some(owner) if owner != user && !force => Err(Error::Conflict(format!(
            "container `{name}` is owned by `{owner}`, not `{user}`; pass --force to do it anyway"
        ))),
        _ => Ok(()),
    }
}

/// Before a commit records an outcome: the record must still carry the
/// operation this process reserved it with. If someone settled it
/// meanwhile (`doctor --fix` from another host), do not overwrite that.
pub fn still_ours(
    project: &Project,
    what: &str,
    recorded: Option<&Operation>,
    ours: &Operation,
) -> anyhow::Result<()> {
    if recorded.is_some_and(|r| r.same(ours)) {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "the record of {what} in `{}` was changed by another process while {} ran ({} ago); \
         run `lxdev doctor` to compare it with the runtime",
        project.path().display(),
        ours.kind,
        crate::time::human_duration(crate::time::age(&ours.started_at).unwrap_or_default())
    ))
}

/// "try again" error for something with an operation in flight, or a note
/// that the operation is stale and how to settle it.
pub fn busy(what: &str, doing: &str, op: Option<&Operation>) -> Error {
    let Some(op) = op else {
        return Error::Busy(format!(
            "{what} is {doing} (no operation recorded); run `lxdev doctor --fix` to settle it"
        ));
    };
    match operation::stale_reason(op) {
        Some(reason) => Error::Busy(format!(
            "{what} was left {doing} by {}, which is stale ({reason}); run `lxdev doctor --fix` to settle it",
            operation::describe(op)
        )),
        None => Error::Busy(format!(
            "{what} is {doing} by {} ({}); try again when it finishes",
            operation::describe(op),
            op.kind
        )),
    }
}

/// The runtime's instance of entry `name`, if it has one, once it is known
/// to be this project's: an instance lxdev tagged for another project or
/// another project file is refused (conflict, exit 4), whatever this file
/// says. Two projects' names can meet (`a` + `b-web` and `a-b` + `web`
/// are both `a-b-web`), and a checked-in file may name an instance on
/// purpose; either way it is not this project's to touch. Untagged
/// instances (lxc-dev-manager's) go by their name, as before.
pub fn own_instance(
    runtime: &dyn Runtime,
    project: &Project,
    config_path: &Path,
    name: &str,
) -> anyhow::Result<Option<Instance>> {
    let instance = project.instance_name(name);
    let Some(found) = runtime.status(&instance)? else {
        return Ok(None);
    };
    refuse_foreign(project, config_path, name, &found)?;
    Ok(Some(found))
}

/// The refusal [`own_instance`] makes, for a caller that already has the
/// runtime's view of the instance.
pub fn refuse_foreign(
    project: &Project,
    config_path: &Path,
    name: &str,
    found: &Instance,
) -> Result<(), Error> {
    let owner = match found.belonging(project.name(), config_path) {
        Belonging::OtherProject(other) => format!("project `{other}`"),
        Belonging::OtherCheckout(file) => {
            format!("`{file}`, another checkout of project `{}`", project.name())
        }
        Belonging::Ours | Belonging::Untagged => return Ok(()),
    };
    Err(Error::Conflict(format!(
        "instance `{}` belongs to {owner} (its user.lxdev tags say so), not to entry `{name}` \
         of project `{}`; lxdev never touches another project's instance. If `{name}` was \
         recorded here by mistake, delete its entry from `{}` by hand, or rename it",
        found.name,
        project.name(),
        project.path().display()
    )))
}
