//! A container's devices (mounts and forwarded ports): adding and removing
//! them through the operation runner, mapping a mount's owner, and giving
//! a new instance the devices its entry records.
//!
//! Each device is its own record (`containers.<name>.devices.<dev>`), so
//! mounts and ports of one container may be changed in parallel; the
//! container itself must be ready.

use anyhow::{Result, anyhow};

use super::checks;
use super::context::Context;
use super::runner::{Runner, Ticket};
use crate::config::Project;
use crate::config::devices::{PORT_PREFIX, Spec};
use crate::config::ledger::{Effect, OperationKind, Step, Target};
use crate::config::model::DeviceState;
use crate::error::Error;
use crate::runtime::Runtime;

/// What an add or remove did, per device name.
#[derive(Debug, Default)]
pub struct Changed {
    pub done: Vec<String>,
    /// Already as asked: recorded with the same spec (add), or absent
    /// (remove).
    pub already: Vec<String>,
}

/// Adds `wanted` (name, spec the file records, spec the runtime gets) to
/// container `name`; a name asked twice is added once. `conflicts` runs inside
/// the reserving transaction (another container forwarding the port, a
/// path already mounted); `before` runs first in the runtime work, with
/// the instance name, and may refuse (the host port is taken).
pub fn add(
    ctx: &Context,
    name: &str,
    wanted: &[(String, Spec, Spec)],
    conflicts: impl Fn(&Project) -> Result<(), Error>,
    before: impl FnOnce(&dyn Runtime, &str) -> Result<()>,
) -> Result<Changed> {
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::DeviceAdd)?;
    let found = ctx.own_instance(runner.runtime.as_ref(), &project, name)?;
    let running = found.is_some_and(|i| i.status.is_running());
    let mut changed = Changed::default();
    let tickets = runner.reserve(|project, op| {
        // A copy: the transaction's view of the file does not change as
        // it is edited.
        let entry = checks::ready_container(project, name)?.clone();
        checks::on_runtime(project, name, runner.runtime.name())?;
        conflicts(project)?;
        let mut tickets: Vec<Ticket> = Vec::new();
        for (device, spec, _) in wanted {
            let target = Target::Device(name.to_owned(), device.clone());
            if tickets.iter().any(|t| t.target == target) {
                continue;
            }
            if let Some(existing) = entry.devices.get(device) {
                if existing.state.is_none() && Spec::of(existing) == *spec {
                    changed.already.push(device.clone());
                    continue;
                }
                return Err(taken(name, device, existing).into());
            }
            tickets.push(Ticket::new(project, target.clone(), Effect::Makes));
            project.insert_device(name, device, spec, Some(op))?;
            // A mount may restart the running container (a new ID map).
            if running && spec.kind == "disk" {
                project.set_step(&target, Step::Restart)?;
            }
        }
        Ok(tickets)
    })?;
    let runtime = runner.runtime.as_ref();
    work_and_settle(
        &runner,
        tickets,
        "adding devices to",
        |instance| before(runtime, instance),
        |instance, device| {
            let (_, _, spec) = wanted
                .iter()
                .find(|(d, _, _)| d == device)
                .expect("asked for");
            runtime.device_add(instance, device, spec)
        },
        &mut changed,
    )?;
    Ok(changed)
}

/// What [`remove`] does with a device the file does not record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Not found (exit 3).
    Fail,
    /// Already gone: counted as such.
    Skip,
}

/// Removes `devices` from container `name`; a name the file does not
/// record is handled as `if_missing` says.
pub fn remove(
    ctx: &Context,
    name: &str,
    devices: &[String],
    if_missing: IfMissing,
) -> Result<Changed> {
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::DeviceRemove)?;
    ctx.own_instance(runner.runtime.as_ref(), &project, name)?;
    let mut changed = Changed::default();
    let tickets = runner.reserve(|project, op| {
        let entry = checks::ready_container(project, name)?.clone();
        checks::on_runtime(project, name, runner.runtime.name())?;
        let mut tickets = Vec::new();
        for device in devices {
            let Some(existing) = entry.devices.get(device) else {
                if if_missing == IfMissing::Skip {
                    changed.already.push(device.clone());
                    continue;
                }
                return Err(Error::NotFound(format!(
                    "container `{name}` has no device `{device}` in `{}`",
                    project.path().display()
                ))
                .into());
            };
            if let Some(busy) = checks::device_busy(name, device, existing) {
                return Err(busy.into());
            }
            let target = Target::Device(name.to_owned(), device.clone());
            tickets.push(Ticket::new(project, target.clone(), Effect::Deletes));
            project.begin(&target, DeviceState::Removing, op)?;
        }
        Ok(tickets)
    })?;
    let runtime = runner.runtime.as_ref();
    work_and_settle(
        &runner,
        tickets,
        "removing devices from",
        |_| Ok(()),
        |instance, device| runtime.device_remove(instance, device),
        &mut changed,
    )?;
    Ok(changed)
}

/// Adds recorded `devices` of container `name` that the runtime lacks
/// (`mounts --sync`). Their records stay whatever happens: a failure
/// leaves them failed, with the runtime's error.
pub fn readd(ctx: &Context, name: &str, devices: &[String], user: &str) -> Result<Changed> {
    let project = ctx.manager.load()?;
    // Checked before locking (it reads the host's file system): what the
    // file may ask for, and what the runtime gets for it.
    let policy = Policy::for_project(&project);
    let entry = project.container(name)?;
    let mut specs = Vec::new();
    for device in devices {
        if let Some(existing) = entry.devices.get(device) {
            let (spec, note) = policy.runtime_spec(&Spec::of(existing)).map_err(|why| {
                Error::Usage(format!("device `{device}` of `{name}` is not added: {why}"))
            })?;
            if let Some(note) = note {
                ctx.out
                    .warn(format!("device `{device}` of `{name}`: {note}"));
            }
            specs.push((device.clone(), Spec::of(existing), spec));
        }
    }
    let runner = Runner::new(ctx, &project, OperationKind::DeviceSync)?;
    ctx.own_instance(runner.runtime.as_ref(), &project, name)?;
    let tickets = runner.reserve(|project, op| {
        let entry = checks::ready_container(project, name)?.clone();
        let mut tickets = Vec::new();
        for (device, checked, _) in &specs {
            // Gone or changed since it was checked: not this command's to add.
            let Some(existing) = entry.devices.get(device) else {
                continue;
            };
            if let Some(busy) = checks::device_busy(name, device, existing) {
                return Err(busy.into());
            }
            if Spec::of(existing) != *checked {
                continue;
            }
            let target = Target::Device(name.to_owned(), device.clone());
            tickets.push(Ticket::new(project, target.clone(), Effect::MakesRecorded));
            project.begin(&target, DeviceState::Adding, op)?;
        }
        Ok(tickets)
    })?;
    let mut changed = Changed::default();
    let runtime = runner.runtime.as_ref();
    // The devices the instance has, asked once for all the re-adds.
    let have = std::sync::OnceLock::new();
    work_and_settle(
        &runner,
        tickets,
        "adding devices to",
        |instance| {
            let devices = runtime.status(instance)?.map(|i| i.devices);
            let _ = have.set(devices.unwrap_or_default());
            Ok(())
        },
        |instance, device| {
            let (_, _, spec) = specs
                .iter()
                .find(|(d, _, _)| d == device)
                .expect("reserved");
            map_owner(runtime, instance, spec, user)?;
            // One the runtime has in another form (read-only where this
            // machine now allows read-write) is replaced.
            let present = have
                .get()
                .and_then(|have: &std::collections::BTreeMap<String, Spec>| have.get(device));
            if present.is_some_and(|present| present != spec) {
                runtime.device_remove(instance, device)?;
            }
            runtime.device_add(instance, device, spec)
        },
        &mut changed,
    )?;
    Ok(changed)
}

/// The runtime work for device `tickets` (see [`fan_out`]), then one
/// settling transaction; nothing when there are none.
fn work_and_settle(
    runner: &Runner<'_>,
    tickets: Vec<Ticket>,
    doing: &str,
    before: impl FnOnce(&str) -> Result<()>,
    each: impl Fn(&str, &str) -> Result<()>,
    changed: &mut Changed,
) -> Result<()> {
    if tickets.is_empty() {
        return Ok(());
    }
    let results = fan_out(runner, &tickets, doing, before, each);
    settle(runner, tickets, results, changed)
}

/// The runtime work for device tickets of one instance: `before`, then
/// `each` per device, one result per ticket. Refused as a whole (a signal
/// came first, `before` said no), every ticket is refused with that error.
fn fan_out(
    runner: &Runner<'_>,
    tickets: &[Ticket],
    doing: &str,
    before: impl FnOnce(&str) -> Result<()>,
    each: impl Fn(&str, &str) -> Result<()>,
) -> Vec<Result<()>> {
    let instance = tickets[0].instance.clone();
    let results = runner.work(format!("{doing} {instance}"), || {
        before(&instance)?;
        Ok(tickets
            .iter()
            .map(|ticket| each(&instance, device_of(&ticket.target)))
            .collect::<Vec<_>>())
    });
    match results {
        Ok(results) => results,
        Err(err) => {
            let message = format!("{err:#}");
            let mut all = vec![Err(err)];
            all.extend(
                (1..tickets.len()).map(|_| Err(crate::error::refused(anyhow!("{message}")))),
            );
            all
        }
    }
}

fn device_of(target: &Target) -> &str {
    match target {
        Target::Device(_, device) => device,
        _ => unreachable!("device tickets only"),
    }
}

/// Settles every ticket; the first failure is the error, the others are
/// named in it.
fn settle(
    runner: &Runner<'_>,
    tickets: Vec<Ticket>,
    results: Vec<Result<()>>,
    changed: &mut Changed,
) -> Result<()> {
    let names: Vec<String> = tickets
        .iter()
        .map(|t| device_of(&t.target).to_owned())
        .collect();
    let settled = runner.settle_all(tickets.into_iter().zip(results).collect())?;
    let mut failed = Vec::new();
    let mut first = None;
    for (device, result) in names.into_iter().zip(settled) {
        match result {
            Ok(()) => changed.done.push(device),
            Err(err) => {
                failed.push(device);
                first.get_or_insert(err);
            }
        }
    }
    match first {
        None => Ok(()),
        Some(err) if failed.len() == 1 => Err(err),
        // Usually one cause (a port taken, a signal): said once.
        Some(err) => Err(err.context(format!(
            "{} devices failed ({}); the first",
            failed.len(),
            failed.join(", ")
        ))),
    }
}

/// The error for a device name already recorded with another spec or in
/// flight.
fn taken(name: &str, device: &str, existing: &crate::config::model::Device) -> Error {
    checks::device_busy(name, device, existing).unwrap_or_else(|| {
        Error::Conflict(format!(
            "container `{name}` already has a device `{device}` ({}); remove it first \
             (`lxdev unmount {name} {device}`)",
            Spec::of(existing).describe()
        ))
    })
}

/// Makes files in the host folder a disk `spec` mounts belong to the
/// container's dev user `user` inside, and that user's new files to the
/// folder's owner outside, by mapping the owner's IDs onto the user's
/// (`raw.idmap`; the runtime restarts a running container for it).
///
/// Why not `shift=true` alone: an idmapped mount shows host uid N as uid
/// N inside, right only when the folder's owner and the dev user have the
/// same uid (and LXD 5.0 refuses it on kernels it does not trust). A mount
/// asked `--shift` gets it as asked and no map. Returns a note when no map
/// was made (a root-owned folder, no such user inside).
pub fn map_owner(
    runtime: &dyn Runtime,
    instance: &str,
    spec: &Spec,
    user: &str,
) -> Result<Option<String>> {
    let Some((source, _)) = spec.mount() else {
        return Ok(None);
    };
    if spec.config.get("shift").is_some_and(|v| v == "true") {
        return Ok(None);
    }
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(source).map_err(|err| {
        crate::error::refused(anyhow!("cannot read the mount's source `{source}`: {err}"))
    })?;
    if meta.uid() == 0 {
        return Ok(Some(format!(
            "`{source}` is owned by root: not mapped (files in it show as owned by nobody \
             inside, and the dev user cannot write them)"
        )));
    }
    let Some(inside) = runtime.container_user(instance, user)? else {
        return Ok(Some(format!(
            "no user `{user}` in `{instance}`: `{source}` is not mapped to one"
        )));
    };
    runtime.map_ids(instance, (meta.uid(), meta.gid()), (inside.uid, inside.gid))?;
    Ok(None)
}

/// What this machine lets a recorded device be (see `exposure`): the
/// project directory, the invoking user's home and their approvals.
#[derive(Debug, Clone)]
pub struct Policy {
    project_dir: std::path::PathBuf,
    home: Option<std::path::PathBuf>,
    approvals: super::exposure::Approvals,
}

impl Policy {
    pub fn for_project(project: &Project) -> Policy {
        let config = std::fs::canonicalize(project.path()).unwrap_or(project.path().to_path_buf());
        Policy {
            project_dir: super::exposure::canonical_dir(project),
            home: crate::process::invoking_user_home(),
            approvals: super::exposure::Approvals::load(&config),
        }
    }

    /// The spec the runtime gets for a recorded device, or why not, with a
    /// note when it gets less than the file asks (see
    /// `exposure::recorded_device`).
    pub fn runtime_spec(&self, spec: &Spec) -> Result<(Spec, Option<String>), String> {
        super::exposure::recorded_device(
            spec,
            &self.project_dir,
            self.home.as_deref(),
            &self.approvals,
        )
    }
}

/// The ready devices the file records for `name`.
pub fn recorded(project: &Project, name: &str) -> Vec<(String, Spec)> {
    project
        .config()
        .containers
        .get(name)
        .map(|entry| {
            entry
                .devices
                .iter()
                .filter(|(_, d)| d.state.is_none())
                .map(|(n, d)| (n.clone(), Spec::of(d)))
                .collect()
        })
        .unwrap_or_default()
}

/// Gives a new instance the devices its entry records (`Step::Devices` of
/// create, clone and `up`). A device the instance already has (a clone's
/// copy) is left as it is. What cannot be added (a port taken on this
/// machine, a folder missing here) is a warning, not a failure: the
/// container is still usable, and `mounts NAME --sync` adds it later.
pub fn apply_recorded(
    runtime: &dyn Runtime,
    policy: &Policy,
    name: &str,
    instance: &str,
    devices: &[(String, Spec)],
    user: &str,
) -> Result<Option<String>> {
    let have = runtime
        .status(instance)?
        .map(|i| i.devices)
        .unwrap_or_default();
    apply_recorded_on(runtime, policy, name, instance, devices, user, &have)
}

/// [`apply_recorded`], given the devices the instance `have`s (from a
/// status the caller just asked for).
pub fn apply_recorded_on(
    runtime: &dyn Runtime,
    policy: &Policy,
    name: &str,
    instance: &str,
    devices: &[(String, Spec)],
    user: &str,
    have: &std::collections::BTreeMap<String, Spec>,
) -> Result<Option<String>> {
    let mut warnings = Vec::new();
    // Ports forwarded by an earlier state of the instance (a restored
    // snapshot's) that the file no longer records.
    for device in have.keys().filter(|d| d.starts_with(PORT_PREFIX)) {
        if !devices.iter().any(|(d, _)| d == device) {
            runtime.device_remove(instance, device)?;
        }
    }
    for (device, spec) in devices.iter().filter(|(d, _)| !have.contains_key(d)) {
        let spec = match policy.runtime_spec(spec) {
            Ok((spec, note)) => {
                if let Some(note) = note {
                    warnings.push(format!("device `{device}`: {note}"));
                }
                spec
            }
            Err(why) => {
                warnings.push(format!("device `{device}` not added: {why}"));
                continue;
            }
        };
        let added = map_owner(runtime, instance, &spec, user)
            .and_then(|note| runtime.device_add(instance, device, &spec).map(|()| note));
        match added {
            Ok(Some(note)) => warnings.push(note),
            Ok(None) => {}
            Err(err) => warnings.push(format!(
                "device `{device}` ({}) not added: {err:#}; `lxdev mounts {name} --sync` \
                 retries",
                spec.describe(),
            )),
        }
    }
    Ok((!warnings.is_empty()).then(|| warnings.join("; ")))
}
