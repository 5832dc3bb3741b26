//! `lxdev image create|list|delete|rename`: images published from the
//! project's containers.
//!
//! `image create` goes through the runner: the container is recorded
//! `publishing` (operation `publish`) while it is stopped, published and
//! started again, so a concurrent remove, restore or snapshot gets exit 75.
//! Images carry the property `user.lxdev.project=<project>`; `image list`
//! shows only those unless `--all`. The other image commands change only
//! the runtime's image store, never containers.yaml.

use anyhow::Result;
use serde_json::json;

use super::checks;
use super::context::Context;
use super::runner::{Runner, Ticket};
use crate::config::ledger::{Effect, OperationKind, Step, Target};
use crate::config::model::ContainerState;
use crate::config::names;
use crate::error::Error;
use crate::runtime::{Image, Runtime};

pub fn create(ctx: &Context, container: &str, alias: &str) -> Result<()> {
    names::validate_alias(alias).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runner = Runner::new(ctx, &project, OperationKind::Publish)?;
    let found = ctx.own_instance(runner.runtime.as_ref(), &project, container)?;
    let running = found.is_some_and(|i| i.status.is_running());
    refuse_taken(runner.runtime.as_ref(), alias)?;
    let ticket = runner.reserve(|project, op| {
        checks::ready_container(project, container)?;
        checks::on_runtime(project, container, runner.runtime.name())?;
        // Its contents must not change while they are packed.
        checks::no_snapshot_in_flight(project, container, None)?;
        checks::no_clone_in_flight_from(project, container, None)?;
        let target = Target::Container(container.into());
        let ticket = Ticket::new(project, target.clone(), Effect::Keeps);
        project.begin(&target, ContainerState::Publishing, op)?;
        // Publishing stops it and starts it again: a kill in between leaves
        // it stopped, for `doctor --fix` to start.
        if running {
            project.set_step(&target, Step::Restart)?;
        }
        Ok(ticket)
    })?;
    let instance = ticket.instance.clone();
    let runtime = runner.runtime.as_ref();
    let result = runner.work(format!("publishing {instance} as image {alias}"), || {
        publish(runtime, &instance, alias, project.name())
    });
    runner.settle(ticket, result)?;
    ctx.out.say(format!(
        "published container {container} ({instance}) as image {alias}; \
         `lxdev container create NAME {alias}` uses it"
    ));
    Ok(())
}

/// Stops `instance` if it runs, publishes it, and starts it again if it
/// ran, even when the publish failed.
fn publish(runtime: &dyn Runtime, instance: &str, alias: &str, project: &str) -> Result<()> {
    let was_running = runtime
        .status(instance)?
        .is_some_and(|found| found.status.is_running());
    if was_running {
        runtime.stop(instance)?;
    }
    let published = runtime.publish(instance, alias, project);
    if was_running && let Err(err) = runtime.start(instance) {
        return Err(match published {
            Ok(()) => err.context(format!(
                "published image `{alias}`, but `{instance}` did not start again"
            )),
            Err(publish) => {
                publish.context(format!("and `{instance}` did not start again: {err:#}"))
            }
        });
    }
    published
}

/// Fails (conflict) when an image already has `alias`: asked before
/// anything is reserved, so the common mistake changes nothing.
fn refuse_taken(runtime: &dyn Runtime, alias: &str) -> Result<()> {
    if runtime
        .images()?
        .iter()
        .any(|i| i.aliases.iter().any(|a| a == alias))
    {
        return Err(Error::Conflict(format!(
            "image alias `{alias}` already exists; pick another, or delete it with \
             `lxdev image delete {alias}`"
        ))
        .into());
    }
    Ok(())
}

/// Which images `image list` shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListOptions {
    /// Every image in the runtime, not only this project's.
    pub all: bool,
}

/// What `image delete` deletes, and whether it may.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub alias: String,
    /// Even an image that entries of the file name.
    pub force: bool,
}

pub fn list(ctx: &Context, options: &ListOptions) -> Result<()> {
    let all = options.all;
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    let images: Vec<Image> = runtime
        .images()?
        .into_iter()
        .filter(|i| all || i.project_tag.as_deref() == Some(project.name()))
        .collect();
    let rows: Vec<serde_json::Value> = images
        .iter()
        .map(|i| {
            json!({
                "aliases": i.aliases,
                "fingerprint": i.fingerprint,
                "project": i.project_tag,
                "description": i.description,
                "size": i.size,
                "created_at": i.created_at,
            })
        })
        .collect();
    if ctx.out.json {
        ctx.out.json(&serde_json::Value::Array(rows));
        return Ok(());
    }
    if images.is_empty() {
        ctx.out.say(format!(
            "no images published by project `{}`{}; publish one with \
             `lxdev image create CONTAINER ALIAS`",
            project.name(),
            if all { " or any other" } else { "" }
        ));
        return Ok(());
    }
    let table: Vec<[String; 4]> = images
        .iter()
        .map(|i| {
            [
                i.aliases.join(","),
                i.fingerprint.chars().take(12).collect(),
                i.project_tag.clone().unwrap_or_else(|| "-".into()),
                i.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    ctx.out
        .table(["ALIAS", "FINGERPRINT", "PROJECT", "DESCRIPTION"], &table);
    Ok(())
}

pub fn delete(ctx: &Context, options: &DeleteOptions) -> Result<()> {
    let (alias, force) = (options.alias.as_str(), options.force);
    names::validate_alias(alias).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let users = entries_naming(&project, alias);
    if !users.is_empty() && !force {
        return Err(Error::Conflict(format!(
            "image `{alias}` is the image of container(s) {} in `{}`: a teammate's `lxdev up` \
             creates them from it; pass --force to delete it anyway",
            users,
            project.path().display()
        ))
        .into());
    }
    let runtime = ctx.runtime(&project)?;
    require_image(runtime.as_ref(), alias)?;
    ctx.work(format!("deleting image {alias}"), || {
        runtime.image_delete(alias)
    })?;
    ctx.out.say(format!("deleted image {alias}"));
    Ok(())
}

pub fn rename(ctx: &Context, old: &str, new: &str) -> Result<()> {
    names::validate_alias(old).map_err(Error::Usage)?;
    names::validate_alias(new).map_err(Error::Usage)?;
    let project = ctx.manager.load()?;
    let runtime = ctx.runtime(&project)?;
    require_image(runtime.as_ref(), old)?;
    refuse_taken(runtime.as_ref(), new)?;
    ctx.work(format!("renaming image {old} to {new}"), || {
        runtime.image_rename(old, new)
    })?;
    ctx.out.say(format!("renamed image {old} to {new}"));
    let users = entries_naming(&project, old);
    if !users.is_empty() {
        ctx.out.warn(format!(
            "container(s) {} still name image `{old}` in `{}`; `lxdev up` on a new machine \
             needs `{new}` there",
            users,
            project.path().display()
        ));
    }
    Ok(())
}

/// The entries of the file whose `image` is `alias`, as a list for
/// messages (`` `web`, `db` ``); empty when none is.
fn entries_naming(project: &crate::config::Project, alias: &str) -> String {
    project
        .config()
        .containers
        .iter()
        .filter(|(_, c)| c.image == alias)
        .map(|(name, _)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn require_image(runtime: &dyn Runtime, alias: &str) -> Result<()> {
    if runtime
        .images()?
        .iter()
        .any(|i| i.aliases.iter().any(|a| a == alias))
    {
        return Ok(());
    }
    Err(Error::NotFound(format!(
        "no image with alias `{alias}` in {}",
        runtime.name()
    ))
    .into())
}
