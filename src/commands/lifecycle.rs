//! `lxdev up|down|exec|shell`: runtime actions on a recorded container.
//! They change nothing in containers.yaml and take no lock.
//!
//! `up` and `down` are idempotent: a container already in the wanted state
//! is reported as such and left alone, judged by the status the runtime
//! reports, not by matching its client's error text.

use anyhow::Result;

use super::{Context, checks};
use crate::runtime::Runtime;

/// The runtime's status words `up` and `down` aim for.
const RUNNING: &str = "Running";
const STOPPED: &str = "Stopped";

pub fn up(ctx: &Context, name: &str) -> Result<()> {
    let (runtime, instance) = ready_instance(ctx, name)?;
    let changed = bring_to(runtime.as_ref(), &instance, RUNNING, || {
        ctx.out
            .progress(format!("starting {instance}"), || runtime.start(&instance))
    })?;
    if changed {
        ctx.out.say(format!("started {name} ({instance})"));
    } else {
        ctx.out
            .say(format!("{name} ({instance}) is already running"));
    }
    Ok(())
}

pub fn down(ctx: &Context, name: &str) -> Result<()> {
    let (runtime, instance) = ready_instance(ctx, name)?;
    let changed = bring_to(runtime.as_ref(), &instance, STOPPED, || {
        ctx.out
            .progress(format!("stopping {instance}"), || runtime.stop(&instance))
    })?;
    if changed {
        ctx.out.say(format!("stopped {name} ({instance})"));
    } else {
        ctx.out
            .say(format!("{name} ({instance}) is already stopped"));
    }
    Ok(())
}

/// Runs `change` unless the runtime already reports `instance` as `want`;
/// returns whether it ran. A change that fails while the runtime then
/// reports `want` counts as done: another process got there between the
/// check and the change (`lxc start` then exits 1, "The instance is already
/// running").
fn bring_to(
    runtime: &dyn Runtime,
    instance: &str,
    want: &str,
    change: impl FnOnce() -> Result<()>,
) -> Result<bool> {
    let is_there = || -> Result<bool> {
        Ok(runtime
            .status(instance)?
            .is_some_and(|found| found.status == want))
    };
    if is_there()? {
        return Ok(false);
    }
    match change() {
        Ok(()) => Ok(true),
        Err(_) if is_there().unwrap_or(false) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Runs `command` (a shell when empty) in the container; returns its exit
/// status, which becomes lxdev's.
pub fn exec(ctx: &Context, name: &str, command: &[String]) -> Result<u8> {
    let (runtime, instance) = ready_instance(ctx, name)?;
    let status = runtime.exec(&instance, command)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

fn ready_instance(ctx: &Context, name: &str) -> Result<(Box<dyn Runtime>, String)> {
    let project = ctx.manager.load()?;
    checks::ready_container(&project, name)?;
    let runtime = ctx.runtime(&project)?;
    checks::on_runtime(&project, name, runtime.name())?;
    Ok((runtime, project.instance_name(name)))
}
