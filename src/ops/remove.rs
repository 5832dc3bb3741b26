//! Removing containers: `container remove`, and `project delete` (every
//! container, then containers.yaml).
//!
//! `remove` reserves every named container in one transaction (all or
//! none), removes them from the runtime in parallel, and settles them
//! together. For `project delete`, one
//! reservation marks every container `removing` (operation
//! `project_delete`), so a concurrent command on any of them fails at once
//! with exit 75; if one cannot be marked, none is. Each removal is settled
//! as soon as the runtime is done with it, so a kill at any instant leaves
//! the file listing exactly the containers that are left (those still
//! marked are settled by `doctor --fix`). The file is deleted last, under
//! the lock, and only if no entry is left (a `create` that ran meanwhile
//! keeps it). The lock file is never deleted.
//! One reservation marks every container `removing` (operation
//! `project_delete`), so a concurrent command on any of them fails at once
//! with exit 75; if one cannot be marked, none is. Each removal is settled
//! as soon as the runtime is done with it, so a kill at any instant leaves
//! the file listing exactly the containers that are left (those still
//! marked are settled by `doctor --fix`). The file is deleted last, under
//! the lock, and only if no entry is left (a `create` that ran meanwhile
//! keeps it). The lock file is never deleted.

use anyhow::Result;

use super::checks;
use super::context::Context;
use super::parallel;
use super::prompt::confirm;
use super::report::Outcome;
use super::runner::{Runner, Ticket};
use crate::config::Project;
use crate::config::ledger::{Effect, OperationKind, Target};
use crate::config::model::ContainerState;
use crate::process;
use crate::runtime::Runtime;

/// What `remove` removes, and how it may.
#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    pub names: Vec<String>,
    /// Another user's containers too, and without asking.
    pub force: bool,
    /// Without asking.
    pub yes: bool,
}

/// How `project delete` may delete.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteProjectOptions {
    /// Another user's containers too, and without asking.
    pub force: bool,
    /// Without asking.
    pub yes: bool,
}

pub fn remove(ctx: &Context, options: &RemoveOptions) -> Result<()> {
    let (names, force) = (&options.names[..], options.force);
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::Remove)?;
    refuse_foreign_instances(ctx, &project, runner.runtime.as_ref(), names)?;
    // `--force` does not ask either: lxc-dev-manager's `remove -f` means
    // "without asking", and scripts run from a terminal pass it for that.
    confirm(
        &format!("remove {}?", names.join(", ")),
        options.yes || force,
    )?;
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
            Ok(each_ticket(&tickets, |ticket| {
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
fn reserve_removal(
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

/// Runs `work` for every ticket, one per CPU at a time; one result per
/// ticket, a panic its error.
fn each_ticket(tickets: &[Ticket], work: impl Fn(&Ticket) -> Result<()> + Sync) -> Vec<Result<()>> {
    parallel::bounded(tickets, parallel::default_jobs(), work)
        .into_iter()
        .map(|done| done.unwrap_or_else(|_| Err(anyhow::anyhow!("runtime call panicked"))))
        .collect()
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
    for name in names
        .iter()
        .filter(|n| project.config().containers.contains_key(*n))
    {
        ctx.own_instance(runtime, project, name)?;
    }
    Ok(())
}

/// `project delete`: every container, then the file (see the module's doc).
pub fn delete_project(ctx: &Context, options: &DeleteProjectOptions) -> Result<()> {
    let force = options.force;
    let project = ctx.manager.load()?;
    ctx.outcome(|o| o.name = Some(project.name().to_string()));
    let names: Vec<String> = project.config().containers.keys().cloned().collect();
    let runner = Runner::new(ctx, &project, OperationKind::ProjectDelete)?;
    refuse_foreign_instances(ctx, &project, runner.runtime.as_ref(), &names)?;
    confirm(
        &format!(
            "delete project `{}`: remove {} container(s) ({}) and `{}`?",
            project.name(),
            names.len(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
            project.path().display()
        ),
        // As for `remove`: lxc-dev-manager's `project delete -f` never asks.
        options.yes || force,
    )?;
    let user = process::current_user();
    let tickets = runner.reserve(|project, op| {
        let all: Vec<String> = project.config().containers.keys().cloned().collect();
        reserve_removal(project, op, &all, &user, force, runner.runtime.name())
    })?;
    let results = each_ticket(&tickets, |ticket| {
        let result = runner.work(format!("removing {}", ticket.instance), || {
            runner.runtime.remove(&ticket.instance)
        });
        let settled = runner.settle(ticket.clone(), result);
        ctx.outcome(|o| {
            let mut item = Outcome::item(ticket.target.container(), settled.as_ref().map(|_| ()));
            item.instance = Some(ticket.instance.clone());
            o.results.get_or_insert_with(Vec::new).push(item);
        });
        if settled.is_ok() {
            ctx.out
                .say(format!("removed {} ({})", ticket.target, ticket.instance));
        }
        settled
    });
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|err| format!("{err:#}")))
        .collect();
    if !failures.is_empty() {
        anyhow::bail!(
            "{} container(s) could not be removed, so `{}` is kept: {}",
            failures.len(),
            ctx.manager.path().display(),
            failures.join("; ")
        );
    }
    let kept = ctx.manager.delete_unless(|project| {
        let left: Vec<&String> = project.config().containers.keys().collect();
        (!left.is_empty()).then(|| {
            format!(
                "{} container(s) were added while the project was being deleted: {}",
                left.len(),
                left.iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    })?;
    if let Some(reason) = kept {
        anyhow::bail!(
            "{reason}; `{}` is kept with them",
            ctx.manager.path().display()
        );
    }
    ctx.out.say(format!(
        "deleted project `{}` ({})",
        project.name(),
        ctx.manager.path().display()
    ));
    Ok(())
}
