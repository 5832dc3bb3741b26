//! Creating containers: `container create`, `container clone`, and the
//! instance `up` makes for an entry recorded before but missing from the
//! runtime. Every new instance is made by the runtime (a create or a copy),
//! then provisioned by its [`Plan`], then settled in one transaction.

use std::time::Duration;

use anyhow::Result;

use super::bulk::Line;
use super::checks;
use super::context::Context;
use super::provision::{Plan, ProvisionOptions};
use super::runner::{Runner, Ticket};
use crate::config::ledger::{Effect, OperationKind, Target};
use crate::config::model::{ContainerState, SnapshotState};
use crate::config::{NewContainer, Project, names};
use crate::error::Error;
use crate::process;
use crate::runtime::{Runtime, Tags};

/// What `container create` makes.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub name: String,
    pub image: String,
    pub provision: ProvisionOptions,
    /// The cluster member (or `@group`) the instance goes to.
    pub target: Option<String>,
}

/// What `container clone` copies, and how the copy is made ready.
#[derive(Debug, Clone)]
pub struct CloneOptions {
    pub source: String,
    pub name: String,
    /// A snapshot of `source` to copy instead of its current state.
    pub snapshot: Option<String>,
    /// Take the copy's own `initial-state` snapshot.
    pub initial_snapshot: bool,
    pub ready_timeout: Duration,
    /// The cluster member (or `@group`) the copy goes to.
    pub target: Option<String>,
}

pub fn create(ctx: &Context, options: &CreateOptions) -> Result<()> {
    let (name, image) = (options.name.as_str(), options.image.as_str());
    let project = ctx.manager.load()?;
    check_name(&project, name)?;
    names::validate_image(image).map_err(Error::Usage)?;
    let plan = Plan::for_create(&project, name, &options.provision)?;
    let target = options.target.as_deref();
    let runner = runner_for_new(ctx, &project, OperationKind::Create, target, name)?;
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
    let line = Line::alone(name, ctx.out);
    let warning = instantiate(ctx, &runner, &project, ticket, image, &plan, &line)?;
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
/// What its hooks print goes to `line`.
fn instantiate(
    ctx: &Context,
    runner: &Runner<'_>,
    project: &Project,
    ticket: Ticket,
    image: &str,
    plan: &Plan,
    line: &Line,
) -> Result<Option<String>> {
    let config_path = ctx.manager.canonical_path();
    let tags = Tags {
        project: project.name(),
        config_path: &config_path,
        settings: &plan.settings,
    };
    let instance = ticket.instance.clone();
    let result = runner.work(format!("creating {instance} from {image}"), || {
        runner.runtime.create(&instance, image, &tags)
    });
    settle_made(runner, ticket, result, plan, line)
}

/// Makes the runtime instance of the ready entry `name`, which the runtime
/// lacks (a teammate's checked-in entry on a new machine): reserves the
/// existing record as `creating` (operation `instantiate`, so a refusal or
/// a crash never drops the entry), then [`instantiate`]. Returns `false`
/// when the runtime had the instance by the time the record was reserved
/// (another process made it): the record is then settled ready and nothing
/// is created. What its hooks print goes to `line`.
pub fn create_recorded(
    ctx: &Context,
    name: &str,
    provision: &ProvisionOptions,
    line: &Line,
) -> Result<bool> {
    let project = ctx.manager.load()?;
    let plan = Plan::for_create(&project, name, provision)?;
    let runner = runner_for_new(ctx, &project, OperationKind::Instantiate, None, name)?;
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
    if let Some(warning) = instantiate(ctx, &runner, &project, ticket, &image, &plan, line)? {
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
    line: &Line,
) -> Result<Option<String>> {
    let settled = match made {
        Ok(()) => plan.run(runner, &ticket, line),
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
/// Without provisioning the container has only just started, and has
/// rarely had its address yet: it is not asked for (a client call that
/// would cost a bare create a tenth of its time).
fn how_to_get_in(ctx: &Context, runtime: &dyn Runtime, name: &str, instance: &str, plan: &Plan) {
    if !plan.waited_for_boot() {
        ctx.out
            .say("  address: not known yet (it is booting: `lxdev list` shows it)");
        return;
    }
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

pub fn clone(ctx: &Context, options: &CloneOptions) -> Result<()> {
    let (source, name) = (options.source.as_str(), options.name.as_str());
    let snapshot = options.snapshot.as_deref();
    if let Some(snap) = snapshot {
        names::validate_snapshot(snap).map_err(Error::Usage)?;
    }
    let project = ctx.manager.load()?;
    check_name(&project, name)?;
    let target = options.target.as_deref();
    let runner = runner_for_new(ctx, &project, OperationKind::Clone, target, name)?;
    if project.config().containers.contains_key(source) {
        ctx.own_instance(runner.runtime.as_ref(), &project, source)?;
    }
    // Looked up before locking: keep the transaction short.
    let owner = process::current_user();
    let plan = Plan::for_clone(
        &project,
        source,
        name,
        options.initial_snapshot,
        options.ready_timeout,
    );
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
        settings: &plan.settings,
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
    settle_made(&runner, ticket, result, &plan, &Line::alone(name, ctx.out))?;
    ctx.out
        .say(format!("cloned {from} to container {name} ({instance})"));
    Ok(())
}

/// The runner for an operation that makes the instance of entry `name`:
/// placed on `target` and on the pool the entry goes on (see
/// [`Project::storage`]), which must exist, checked before anything is
/// reserved.
fn runner_for_new<'c>(
    ctx: &'c Context,
    project: &Project,
    kind: OperationKind,
    target: Option<&str>,
    name: &str,
) -> Result<Runner<'c>> {
    let storage = project.storage(name);
    let runner = Runner::placed(ctx, project, kind, target, storage)?;
    if let Some(pool) = storage {
        check_pool(&runner, project, name, pool)?;
    }
    Ok(runner)
}

/// Fails unless `pool`, where entry `name`'s instance goes, exists.
fn check_pool(runner: &Runner<'_>, project: &Project, name: &str, pool: &str) -> Result<()> {
    let own = project
        .config()
        .containers
        .get(name)
        .is_some_and(|entry| entry.storage.is_some());
    let key = if own {
        format!("`containers.{name}.storage`")
    } else {
        "`storage:`".to_owned()
    };
    let named_by = format!("{key} in `{}`", project.path().display());
    super::storage::existing(runner.runtime.as_ref(), pool, &named_by).map(drop)
}

fn check_name(project: &Project, name: &str) -> Result<()> {
    names::validate_container(project.name(), name).map_err(|why| Error::Usage(why).into())
}
