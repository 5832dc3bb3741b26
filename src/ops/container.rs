//! `lxdev container create|clone|remove|list`.

use anyhow::Result;
use serde_json::json;

use super::checks;
use super::context::Context;
use super::provision::Plan;
use super::runner::{Runner, Ticket};
use crate::cli::ProvisionArgs;
use crate::config::ledger::{Effect, OperationKind, READY, Target};
use crate::config::model::{ContainerState, SnapshotState};
use crate::config::{NewContainer, Project, names};
use crate::error::Error;
use crate::output::Outcome;
use crate::process;
use crate::runtime::{Runtime, Tags};

pub fn create(ctx: &Context, name: &str, image: &str, provision: &ProvisionArgs) -> Result<()> {
    let project = ctx.manager.load()?;
    check_name(&project, name)?;
    names::validate_image(image).map_err(Error::Usage)?;
    let plan = Plan::for_create(&project, name, provision)?;
    let runner = Runner::new(ctx, &project, OperationKind::Create)?;
    // Looked up before locking: keep the transaction short.
    let owner = process::current_user();
    let ticket = runner.reserve(|project, op| {
        checks::name_free(project, name)?;
        checks::within_quota(project)?;
        let new = NewContainer {
            image,
            owner: &owner,
            created_at: &op.started_at,
            cloned_from: None,
            runtime: runner.runtime.name(),
        };
        let ticket = Ticket::new(project, Target::Container(name.into()), Effect::Makes);
        project.insert_container(name, &new, Some(op))?;
        project.set_pending_steps(name, plan.steps())?;
        plan.record_devices(project, name)?;
        Ok(ticket)
    })?;
    let instance = ticket.instance.clone();
    let warning = instantiate(ctx, &runner, &project, ticket, image, &plan)?;
    ctx.out
        .say(format!("created container {name} ({instance})"));
    if let Some(warning) = warning {
        ctx.out.warn(warning);
    }
    how_to_get_in(ctx, runner.runtime.as_ref(), name, &instance, &plan);
    Ok(())
}

/// The one path by which a reserved entry gets its runtime instance:
/// `container create` reserves a new entry, `up` an entry recorded before
/// ([`create_recorded`]); both end here, so every step a new container
/// goes through belongs here: the runtime's create, then the provisioning
/// `plan`. Settles the ticket; returns what provisioning could not do.
fn instantiate(
    ctx: &Context,
    runner: &Runner<'_>,
    project: &Project,
    ticket: Ticket,
    image: &str,
    plan: &Plan,
) -> Result<Option<String>> {
    let config_path = ctx.manager.canonical_path();
    let tags = Tags {
        project: project.name(),
        config_path: &config_path,
    };
    let instance = ticket.instance.clone();
    let result = runner.work(format!("creating {instance} from {image}"), || {
        runner.runtime.create(&instance, image, &tags)
    });
    settle_made(runner, ticket, result, plan)
}

/// Makes the runtime instance of the ready entry `name`, which the runtime
/// lacks (a teammate's checked-in entry on a new machine): reserves the
/// existing record as `creating` (operation `instantiate`, so a refusal or
/// a crash never drops the entry), then [`instantiate`]. Returns `false`
/// when the runtime had the instance by the time the record was reserved
/// (another process made it): the record is then settled ready and nothing
/// is created.
pub(super) fn create_recorded(ctx: &Context, name: &str, no_provision: bool) -> Result<bool> {
    let project = ctx.manager.load()?;
    let plan = Plan::for_create(&project, name, &ProvisionArgs::for_up(no_provision))?;
    let runner = Runner::new(ctx, &project, OperationKind::Instantiate)?;
    let (ticket, image) = runner.reserve(|project, op| {
        let entry = checks::ready_container(project, name)?;
        checks::on_runtime(project, name, runner.runtime.name())?;
        let image = entry.image.clone();
        names::validate_image(&image).map_err(Error::Usage)?;
        let target = Target::Container(name.into());
        let ticket = Ticket::new(project, target.clone(), Effect::MakesRecorded);
        project.begin(&target, ContainerState::Creating, op)?;
        project.set_pending_steps(name, plan.steps())?;
        Ok((ticket, image))
    })?;
    match runner.runtime.status(&ticket.instance) {
        Ok(Some(_)) => {
            runner.settle(ticket, Ok(()))?;
            return Ok(false);
        }
        Ok(None) => {}
        // Could not ask: put the record back as it was.
        Err(err) => {
            return runner
                .settle(ticket, Err(crate::error::refused(err)))
                .map(|()| false);
        }
    }
    let instance = ticket.instance.clone();
    if let Some(warning) = instantiate(ctx, &runner, &project, ticket, &image, &plan)? {
        ctx.out.warn(format!("{name} ({instance}): {warning}"));
    }
    Ok(true)
}

/// Settles a create or clone: after the runtime made the instance, runs
/// the provisioning plan, then settles the container (and its initial
/// snapshot) in one transaction.
/// Returns what provisioning could not do, if anything.
fn settle_made(
    runner: &Runner<'_>,
    ticket: Ticket,
    made: Result<()>,
    plan: &Plan,
) -> Result<Option<String>> {
    let settled = match made {
        Ok(()) => plan.run(runner, &ticket),
        Err(err) => vec![(ticket, Err(err))],
    };
    let warning = settled.first().and_then(|(t, _)| t.warning.clone());
    runner
        .settle_all(settled)?
        .into_iter()
        .collect::<Result<Vec<()>>>()?;
    Ok(warning)
}

/// The closing lines of a create: the address, the user, and how to get in.
fn how_to_get_in(ctx: &Context, runtime: &dyn Runtime, name: &str, instance: &str, plan: &Plan) {
    let address = runtime.address(instance).ok().flatten();
    ctx.out.say(format!(
        "  address: {}",
        address.as_deref().unwrap_or("none (no network)")
    ));
    if plan.made_user() {
        let user = &plan.spec.user;
        ctx.out.say(format!("  user:    {user}"));
        ctx.out.say(format!("  shell:   lxdev ssh {name}"));
        if let Some(address) = address {
            ctx.out.say(format!("  ssh:     ssh {user}@{address}"));
        }
    }
}

pub fn clone(
    ctx: &Context,
    source: &str,
    name: &str,
    snapshot: Option<&str>,
    initial_snapshot: bool,
    ready_timeout: std::time::Duration,
) -> Result<()> {
    if let Some(snap) = snapshot {
        names::validate_snapshot(snap).map_err(Error::Usage)?;
    }
    let project = ctx.manager.load()?;
    check_name(&project, name)?;
    let runner = Runner::new(ctx, &project, OperationKind::Clone)?;
    if project.config().containers.contains_key(source) {
        ctx.own_instance(runner.runtime.as_ref(), &project, source)?;
    }
    // Looked up before locking: keep the transaction short.
    let owner = process::current_user();
    let plan = Plan::for_clone(&project, source, name, initial_snapshot, ready_timeout);
    let (source_instance, ticket) = runner.reserve(|project, op| {
        let source_entry = checks::ready_container(project, source)?;
        checks::on_runtime(project, source, runner.runtime.name())?;
        checks::no_snapshot_in_flight(project, source, Some(&[SnapshotState::Restoring]))?;
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
            runtime: runner.runtime.name(),
        };
        let ticket = Ticket::new(project, Target::Container(name.into()), Effect::Makes);
        project.insert_container(name, &new, Some(op))?;
        project.set_pending_steps(name, plan.steps())?;
        plan.record_devices(project, name)?;
        Ok((project.instance_name(source), ticket))
    })?;
    let config_path = ctx.manager.canonical_path();
    let tags = Tags {
        project: project.name(),
        config_path: &config_path,
    };
    let from = snapshot.map_or(source_instance.clone(), |s| {
        format!("{source_instance}/{s}")
    });
    let instance = ticket.instance.clone();
    let result = runner.work(format!("copying {from} to {instance}"), || {
        runner
            .runtime
            .clone_instance(&source_instance, snapshot, &instance, &tags)
    });
    settle_made(&runner, ticket, result, &plan)?;
    ctx.out
        .say(format!("cloned {from} to container {name} ({instance})"));
    Ok(())
}

pub fn remove(ctx: &Context, names: &[String], force: bool, yes: bool) -> Result<()> {
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::Remove)?;
    refuse_foreign_instances(ctx, &project, runner.runtime.as_ref(), names)?;
    // `--force` does not ask either: lxc-dev-manager's `remove -f` means
    // "without asking", and scripts run from a terminal pass it for that.
    super::project::confirm(&format!("remove {}?", names.join(", ")), yes || force)?;
    let user = process::current_user();
    // One reservation for all names: either every one is removable, or
    // none is touched.
    let tickets = runner.reserve(|project, op| {
        reserve_removal(project, op, names, &user, force, runner.runtime.name())
    })?;
    // The runtime work runs in parallel; all results are settled together.
    let listed = tickets
        .iter()
        .map(|t| t.instance.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let results: Vec<Result<()>> = runner
        .work(format!("removing {listed}"), || {
            Ok(in_parallel(&tickets, |ticket| {
                runner.runtime.remove(&ticket.instance)
            }))
        })
        .unwrap_or_else(|refused| {
            let message = format!("{refused:#}");
            tickets
                .iter()
                .map(|_| Err(crate::error::refused(anyhow::anyhow!("{message}"))))
                .collect()
        });
    let settled = runner.settle_all(tickets.iter().cloned().zip(results).collect())?;
    let mut first_error = None;
    for (ticket, result) in tickets.iter().zip(settled) {
        ctx.outcome(|o| {
            let mut item = Outcome::item(ticket.target.container(), result.as_ref().map(|_| ()));
            item.instance = Some(ticket.instance.clone());
            o.results.get_or_insert_with(Vec::new).push(item);
        });
        match result {
            Ok(()) => ctx
                .out
                .say(format!("removed {} ({})", ticket.target, ticket.instance)),
            Err(err) if first_error.is_none() => first_error = Some(err),
            Err(err) => crate::output::error(&err),
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Checks that every container in `names` may be removed and marks them
/// all `removing` with `op`; inside a reserving transaction, so either all
/// are marked or none is.
pub(super) fn reserve_removal(
    project: &mut Project,
    op: &crate::config::model::Operation,
    names: &[String],
    user: &str,
    force: bool,
    runtime: &str,
) -> Result<Vec<Ticket>> {
    let mut tickets: Vec<Ticket> = Vec::new();
    for name in names {
        let target = Target::Container(name.clone());
        if tickets.iter().any(|t| t.target == target) {
            continue;
        }
        let container = project.container(name)?;
        // A failed entry may be removed: that is how it is cleaned up.
        if container.state != Some(ContainerState::Failed) {
            checks::ready_container(project, name)?;
        }
        checks::on_runtime(project, name, runtime)?;
        checks::owned_or_forced(container, name, user, force)?;
        checks::no_snapshot_in_flight(project, name, None)?;
        checks::no_clone_in_flight_from(project, name, None)?;
        tickets.push(Ticket::new(project, target, Effect::Deletes));
    }
    for ticket in &tickets {
        project.begin(&ticket.target, ContainerState::Removing, op)?;
    }
    Ok(tickets)
}

/// Runs `work` for every ticket on its own thread; one result per ticket.
pub(super) fn in_parallel(
    tickets: &[Ticket],
    work: impl Fn(&Ticket) -> Result<()> + Sync,
) -> Vec<Result<()>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = tickets
            .iter()
            .map(|ticket| scope.spawn(|| work(ticket)))
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
pub(super) fn refuse_foreign_instances(
    ctx: &Context,
    project: &Project,
    runtime: &dyn Runtime,
    names: &[String],
) -> Result<()> {
    for name in names
        .iter()
        .filter(|n| project.config().containers.contains_key(*n))
    {
        ctx.own_instance(runtime, project, name)?;
    }
    Ok(())
}

pub fn list(ctx: &Context) -> Result<()> {
    let project = ctx.manager.load()?;
    let statuses = runtime_statuses(ctx, &project)?;
    // By name: a linear search per entry made `list` quadratic (10,000
    // entries spent most of their time comparing names).
    let statuses: Option<std::collections::HashMap<&str, &crate::runtime::Instance>> = statuses
        .as_ref()
        .map(|all| all.iter().map(|i| (i.name.as_str(), i)).collect());
    let rows: Vec<serde_json::Value> = project
        .config()
        .containers
        .iter()
        .map(|(name, c)| {
            let instance = project.instance_name(name);
            let found = statuses
                .as_ref()
                .map(|all| all.get(instance.as_str()).copied());
            let status = match found {
                Some(Some(i)) => i.status.to_string(),
                Some(None) => "missing".to_string(),
                None => "unknown".to_string(),
            };
            let address = found.flatten().and_then(|i| i.address.clone());
            // lxc-dev-manager's rule: the entry's ports, else the defaults.
            let ports = if c.ports.is_empty() {
                &project.config().defaults.ports
            } else {
                &c.ports
            };
            json!({
                "name": name,
                "instance": instance,
                "image": c.image,
                "state": c.state.map_or(READY, ContainerState::as_str),
                "in_flight": c.state.is_some_and(|s| s.effect(c.operation.as_ref().map(|op| op.kind)).is_some()),
                "owner": c.owner,
                "snapshots": c.snapshots.len(),
                "status": status,
                "ip": address,
                "ports": ports,
                "forwarded": forwarded(c),
                "warning": c.warning,
                "cloned_from": c.cloned_from,
                "operation": c.operation.as_ref().map(|op| json!({
                    "kind": op.kind.as_str(), "pid": op.pid, "host": op.host, "started_at": op.started_at,
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
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| match &r[k] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            // A warning from provisioning shows beside the state; `doctor`
            // and `--json` say what it is.
            let state = match r["warning"].is_string() {
                true => format!("{} (warning)", s("state")),
                false => s("state"),
            };
            [
                s("name"),
                s("image"),
                state,
                s("owner"),
                s("snapshots"),
                s("status"),
                s("ip"),
                // A port forwarded to this host (`lxdev proxy`) has a `*`.
                match r["ports"].as_array() {
                    Some(ports) if !ports.is_empty() => ports
                        .iter()
                        .map(|p| {
                            let text = p.as_str().map_or(p.to_string(), str::to_owned);
                            let host = text.split(':').next().unwrap_or_default().to_owned();
                            let on = r["forwarded"].as_array().is_some_and(|f| {
                                f.iter().any(|f| {
                                    f["host"].as_u64().map(|h| h.to_string()) == Some(host.clone())
                                })
                            });
                            if on { format!("{text}*") } else { text }
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => "-".into(),
                },
            ]
        })
        .collect();
    print_table(
        ctx,
        [
            "NAME",
            "IMAGE",
            "STATE",
            "OWNER",
            "SNAPSHOTS",
            "STATUS",
            "IP",
            "PORTS",
        ],
        &table,
    );
    if table.iter().any(|row| row[7].contains('*')) {
        ctx.out
            .say("* forwarded from 127.0.0.1 on this host (`lxdev proxy NAME --stop` ends it)");
    }
    Ok(())
}

/// The ports `lxdev proxy` forwards to `c`, from its recorded devices:
/// `[{host, container}]`.
fn forwarded(c: &crate::config::model::Container) -> Vec<serde_json::Value> {
    c.devices
        .values()
        .filter(|d| d.state.is_none())
        .map(crate::config::devices::Spec::of)
        .filter_map(|spec| {
            Some(json!({ "host": spec.listen_port()?, "container": spec.connect_port()? }))
        })
        .collect()
}

/// What the runtime says of the project's instances, or `None` (with a
/// warning) when it cannot be asked: listing still works without it. A
/// command line that is wrong (`--remote=-x`) is still an error (exit 2).
fn runtime_statuses(
    ctx: &Context,
    project: &Project,
) -> Result<Option<Vec<crate::runtime::Instance>>> {
    let found = ctx
        .runtime(project)
        .and_then(|runtime| runtime.list(project.name()));
    match found {
        Ok(found) => Ok(Some(found)),
        Err(err) if matches!(err.downcast_ref::<Error>(), Some(Error::Usage(_))) => Err(err),
        Err(err) => {
            ctx.out.warn(format!("runtime status unknown: {err:#}"));
            Ok(None)
        }
    }
}

pub(super) fn print_table<const N: usize>(ctx: &Context, header: [&str; N], rows: &[[String; N]]) {
    // A cell is one line, escaped as printed (so the widths are right): a
    // line break or tab in it (from the file) would break the columns.
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.clone().map(|cell| {
                let one_line = cell.replace('\n', "\\n").replace('\t', "\\t");
                crate::output::printable(&one_line).into_owned()
            })
        })
        .collect();
    let rows = &rows[..];
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
