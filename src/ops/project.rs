//! `lxdev project delete`: every container, then containers.yaml.
//!
//! One reservation marks every container `removing` (operation
//! `project_delete`), so a concurrent command on any of them fails at once
//! with exit 75; if one cannot be marked, none is. Each removal is settled
//! as soon as the runtime is done with it, so a kill at any instant leaves
//! the file listing exactly the containers that are left (those still
//! marked are settled by `doctor --fix`). The file is deleted last, under
//! the lock, and only if no entry is left (a `create` that ran meanwhile
//! keeps it). The lock file is never deleted.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use super::container::{self, in_parallel, reserve_removal};
use super::context::Context;
use super::runner::Runner;
use crate::config::ledger::OperationKind;
use crate::output::Outcome;
use crate::process;

pub fn delete(ctx: &Context, force: bool, yes: bool) -> Result<()> {
    let project = ctx.manager.load()?;
    ctx.outcome(|o| o.name = Some(project.name().to_string()));
    let names: Vec<String> = project.config().containers.keys().cloned().collect();
    let runner = Runner::new(ctx, &project, OperationKind::ProjectDelete)?;
    container::refuse_foreign_instances(ctx, &project, runner.runtime.as_ref(), &names)?;
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
        yes || force,
    )?;
    let user = process::current_user();
    let tickets = runner.reserve(|project, op| {
        let all: Vec<String> = project.config().containers.keys().cloned().collect();
        reserve_removal(project, op, &all, &user, force, runner.runtime.name())
    })?;
    let results = in_parallel(&tickets, |ticket| {
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

/// Asks `question` on the terminal and fails unless the answer is yes.
/// Never asks when `yes` is set or stdin is not a terminal (scripts, CI):
/// there the command line is the decision.
pub(super) fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        return Ok(());
    }
    anyhow::bail!("not confirmed; nothing was changed (pass --yes to skip the question)")
}
