//! `lxdev up|down|exec|shell`: runtime actions on a recorded container.
//! They change nothing in containers.yaml and take no lock.

use anyhow::Result;

use super::{Context, checks};

pub fn up(ctx: &Context, name: &str) -> Result<()> {
    let (runtime, instance) = ready_instance(ctx, name)?;
    ctx.out
        .progress(format!("starting {instance}"), || runtime.start(&instance))?;
    ctx.out.say(format!("started {name} ({instance})"));
    Ok(())
}

pub fn down(ctx: &Context, name: &str) -> Result<()> {
    let (runtime, instance) = ready_instance(ctx, name)?;
    ctx.out
        .progress(format!("stopping {instance}"), || runtime.stop(&instance))?;
    ctx.out.say(format!("stopped {name} ({instance})"));
    Ok(())
}

/// Runs `command` (a shell when empty) in the container; returns its exit
/// status, which becomes lxdev's.
pub fn exec(ctx: &Context, name: &str, command: &[String]) -> Result<u8> {
    let (runtime, instance) = ready_instance(ctx, name)?;
    let status = runtime.exec(&instance, command)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

fn ready_instance(ctx: &Context, name: &str) -> Result<(Box<dyn crate::runtime::Runtime>, String)> {
    let project = ctx.manager.load()?;
    checks::ready_container(&project, name)?;
    let runtime = ctx.runtime(&project)?;
    checks::on_runtime(&project, name, runtime.name())?;
    Ok((runtime, project.instance_name(name)))
}
