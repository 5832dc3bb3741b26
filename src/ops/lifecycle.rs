//! `lxdev up|down|exec|ssh`: runtime actions on recorded containers.
//! They change nothing in containers.yaml and take no lock, except `up` of
//! an entry the runtime lacks, which is created through the runner first.
//!
//! `up` and `down` are idempotent: a container already in the wanted state
//! is reported as such and left alone, judged by the status the runtime
//! reports, not by matching its client's error text.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::bulk::{self, Line};
use super::context::Context;
use super::{checks, container};
use crate::config::ledger::Step;
use crate::config::model::ContainerState;
use crate::config::names;
use crate::error::Error;
use crate::runtime::{ContainerUser, ExecOptions, InstanceStatus, Provisioning, Runtime};
use crate::{interrupt, operation};

/// How long `up` waits for a container to boot.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long `up` waits for another lxdev that is creating the same entry
/// (two `up --all` at once): a create from a large image takes minutes.
const WAIT_FOR_OTHER_CREATE: Duration = Duration::from_secs(600);

/// `up NAME... | --all`: starts each container, first creating the runtime
/// instance of an entry the runtime lacks (a checked-in entry on a new
/// machine) through the same path as `container create`.
pub fn up(
    ctx: &Context,
    names: &[String],
    all: bool,
    jobs: Option<usize>,
    no_provision: bool,
) -> Result<()> {
    let names = targets(ctx, names, all, "up")?;
    let done = bulk::run(
        ctx,
        &names,
        jobs.unwrap_or_else(bulk::default_jobs),
        |name, line| up_one(ctx, name, line, no_provision),
    );
    bulk::outcome(ctx, "come up", done)
}

/// `down NAME... | --all`: stops each container that runs.
pub fn down(ctx: &Context, names: &[String], all: bool, jobs: Option<usize>) -> Result<()> {
    let names = targets(ctx, names, all, "down")?;
    let done = bulk::run(
        ctx,
        &names,
        jobs.unwrap_or_else(bulk::default_jobs),
        |name, line| down_one(ctx, name, line),
    );
    bulk::outcome(ctx, "stop", done)
}

/// The containers a bulk command works on: every entry with `--all`, else
/// the names given, each of which must be in the file (checked before any
/// work starts), each once.
fn targets(ctx: &Context, names: &[String], all: bool, command: &str) -> Result<Vec<String>> {
    let project = ctx.manager.load()?;
    if all {
        if !names.is_empty() {
            return Err(Error::Usage(format!(
                "`{command}` takes container names or --all, not both"
            ))
            .into());
        }
        return Ok(project.config().containers.keys().cloned().collect());
    }
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "name the containers to bring {command}, or pass --all"
        ))
        .into());
    }
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        project.container(name)?;
        if !unique.contains(name) {
            unique.push(name.clone());
        }
    }
    Ok(unique)
}

fn up_one(ctx: &Context, name: &str, line: &Line, no_provision: bool) -> Result<String> {
    let deadline = Instant::now() + WAIT_FOR_OTHER_CREATE;
    let mut pause = Duration::from_millis(10);
    let mut created = false;
    let mut runtime: Option<Box<dyn Runtime>> = None;
    loop {
        let project = ctx.manager.load()?;
        let entry = project.container(name)?;
        let instance = project.instance_name(name);
        // Another lxdev (a second `up --all`) is making it: wait for that
        // rather than fail, then start what it made.
        if let (Some(ContainerState::Creating), Some(op)) = (entry.state, &entry.operation)
            && operation::stale_reason(op).is_none()
            && Instant::now() < deadline
            && interrupt::received().is_none()
        {
            line.set(format!(
                "waiting: being created by {}",
                operation::describe(op)
            ));
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
            continue;
        }
        checks::ready_container(&project, name)?;
        if runtime.is_none() {
            runtime = Some(ctx.runtime(&project)?);
        }
        let runtime = runtime.as_deref().expect("set above");
        checks::on_runtime(&project, name, runtime.name())?;
        if ctx.own_instance(runtime, &project, name)?.is_none() {
            line.set(format!("creating from {}", entry.image));
            match container::create_recorded(ctx, name, no_provision) {
                Ok(made) => created = made,
                // Reserved by another lxdev since this one looked: wait.
                Err(err) if matches!(err.downcast_ref::<Error>(), Some(Error::Busy(_))) => {
                    continue;
                }
                Err(err) => return Err(err),
            }
        }
        line.set("starting");
        let changed = bring_to(runtime, &instance, InstanceStatus::Running, || {
            ctx.work(format!("starting {instance}"), || runtime.start(&instance))
        })?;
        // Ready to use, not just started: wait until it has booted, then
        // say where it is.
        line.set("waiting for it to boot");
        let (user, _) = project.dev_user(name);
        let spec = Provisioning {
            user,
            password: None,
            keys: Vec::new(),
            ready_timeout: READY_TIMEOUT,
        };
        ctx.work(format!("waiting for {instance} to boot"), || {
            runtime.provision(&instance, Step::Ready, &spec)
        })?;
        let address = runtime
            .address(&instance)?
            .unwrap_or_else(|| "no network".into());
        let what = match (created, changed) {
            (true, _) => format!(
                "created {name} ({instance}) from {} and started it",
                entry.image
            ),
            (false, true) => format!("started {name} ({instance})"),
            (false, false) => format!("{name} ({instance}) is already running"),
        };
        return Ok(format!("{what}; address: {address}"));
    }
}

fn down_one(ctx: &Context, name: &str, line: &Line) -> Result<String> {
    let ReadyInstance {
        runtime,
        instance,
        found,
        ..
    } = ready_instance(ctx, name)?;
    if found.is_none() {
        return Ok(format!(
            "{name} ({instance}) is not created on this machine; nothing to stop"
        ));
    }
    line.set("stopping");
    let changed = bring_to(runtime.as_ref(), &instance, InstanceStatus::Stopped, || {
        ctx.work(format!("stopping {instance}"), || runtime.stop(&instance))
    })?;
    Ok(if changed {
        format!("stopped {name} ({instance})")
    } else {
        format!("{name} ({instance}) is already stopped")
    })
}

/// Runs `change` unless the runtime already reports `instance` as `want`;
/// returns whether it ran. A change that fails while the runtime then
/// reports `want` counts as done: another process got there between the
/// check and the change (`lxc start` then exits 1, "The instance is already
/// running").
pub(super) fn bring_to(
    runtime: &dyn Runtime,
    instance: &str,
    want: InstanceStatus,
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
    let ReadyInstance {
        runtime,
        instance,
        user: configured,
        ..
    } = ready_instance(ctx, name)?;
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
    let ReadyInstance {
        runtime,
        instance,
        user: configured,
        ..
    } = ready_instance(ctx, name)?;
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

/// A ready container as `exec`, `ssh` and `down` need it.
struct ReadyInstance {
    runtime: Box<dyn Runtime>,
    /// The runtime's name for it.
    instance: String,
    /// The configured dev user.
    user: String,
    /// The runtime's instance, if it has one (never another project's:
    /// see [`checks::own_instance`]).
    found: Option<crate::runtime::Instance>,
}

fn ready_instance(ctx: &Context, name: &str) -> Result<ReadyInstance> {
    let project = ctx.manager.load()?;
    checks::ready_container(&project, name)?;
    let runtime = ctx.runtime(&project)?;
    checks::on_runtime(&project, name, runtime.name())?;
    let found = ctx.own_instance(runtime.as_ref(), &project, name)?;
    let (user, _) = project.dev_user(name);
    Ok(ReadyInstance {
        runtime,
        instance: project.instance_name(name),
        user,
        found,
    })
}
