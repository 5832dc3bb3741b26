//! `lxdev up|down|exec|ssh`: runtime actions on a recorded container.
//! They change nothing in containers.yaml and take no lock.
//!
//! `up` and `down` are idempotent: a container already in the wanted state
//! is reported as such and left alone, judged by the status the runtime
//! reports, not by matching its client's error text.

use anyhow::Result;

use super::{Context, checks};
use crate::config::names;
use crate::error::Error;
use crate::runtime::{ContainerUser, ExecOptions, Runtime};

/// The runtime's status words `up` and `down` aim for.
pub(super) const RUNNING: &str = "Running";
const STOPPED: &str = "Stopped";

pub fn up(ctx: &Context, name: &str) -> Result<()> {
    let (runtime, instance, _) = ready_instance(ctx, name)?;
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
    let (runtime, instance, _) = ready_instance(ctx, name)?;
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
pub(super) fn bring_to(
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

/// How `exec` and `ssh` were asked to run.
pub struct ExecRequest<'a> {
    /// `-u USER`; else the container's configured user.
    pub user: Option<&'a str>,
    pub cwd: Option<&'a str>,
    /// `--env K=V`, as typed.
    pub env: &'a [String],
}

/// Runs `command` in the container as the configured user (or `-u USER`);
/// returns its exit status, which becomes lxdev's. Without the user in the
/// container (provisioning skipped), runs as root and says so once.
pub fn exec(
    ctx: &Context,
    name: &str,
    command: &[String],
    request: &ExecRequest<'_>,
) -> Result<u8> {
    let (runtime, instance, configured) = ready_instance(ctx, name)?;
    let mut options = ExecOptions {
        user: run_as(ctx, runtime.as_ref(), &instance, request.user, &configured)?,
        cwd: request.cwd.map(str::to_string),
        env: Vec::new(),
    };
    for pair in request.env {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::Usage(format!("--env `{pair}` is not KEY=VALUE")).into());
        };
        options.env.push((key.to_string(), value.to_string()));
    }
    let status = runtime.exec(&instance, command, &options)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

/// Opens a login shell in the container as the configured user (or
/// `-u USER`; `-u root` gives root's).
pub fn ssh(ctx: &Context, name: &str, user: Option<&str>) -> Result<u8> {
    let (runtime, instance, configured) = ready_instance(ctx, name)?;
    let options = ExecOptions {
        user: run_as(ctx, runtime.as_ref(), &instance, user, &configured)?,
        ..ExecOptions::default()
    };
    let status = runtime.exec(&instance, &[], &options)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

/// The user to run as: `None` for root. An explicit user must exist; the
/// configured one falls back to root, with a note, when it does not.
fn run_as(
    ctx: &Context,
    runtime: &dyn Runtime,
    instance: &str,
    asked: Option<&str>,
    configured: &str,
) -> Result<Option<ContainerUser>> {
    let name = asked.unwrap_or(configured);
    if name == ROOT {
        return Ok(None);
    }
    names::validate_user(name).map_err(Error::Usage)?;
    match runtime.container_user(instance, name)? {
        Some(user) => Ok(Some(user)),
        None if asked.is_some() => {
            Err(Error::NotFound(format!("container `{instance}` has no user `{name}`")).into())
        }
        None => {
            ctx.out.note(format!(
                "container `{instance}` has no user `{name}` (was it created with \
                 --no-provision?); running as root"
            ));
            Ok(None)
        }
    }
}

const ROOT: &str = "root";

/// The runtime, the instance and the configured user of ready container
/// `name`.
fn ready_instance(ctx: &Context, name: &str) -> Result<(Box<dyn Runtime>, String, String)> {
    let project = ctx.manager.load()?;
    checks::ready_container(&project, name)?;
    let runtime = ctx.runtime(&project)?;
    checks::on_runtime(&project, name, runtime.name())?;
    let (user, _) = project.dev_user(name);
    Ok((runtime, project.instance_name(name), user))
}
