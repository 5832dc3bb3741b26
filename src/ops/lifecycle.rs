//! `lxdev up|down`: starting and stopping recorded containers. They change
//! nothing in containers.yaml and take no lock, except `up` of an entry the
//! runtime lacks, which is created through the runner first.
//!
//! `up` of an existing container first makes its limits and environment
//! the file's (`config::devenv`; before it starts, so a stopped one boots
//! with them) and says what changed; after starting a container (or
//! making it) it runs the file's `start` hook (`hooks.rs`).
//!
//! `up` and `down` are idempotent: a container already in the wanted state
//! is reported as such and left alone, judged by the status the runtime
//! reports, not by matching its client's error text.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::bulk::{self, Line};
use super::context::{Context, ReadyInstance};
use super::hooks::{self, Hooks};
use super::parallel;
use super::power::bring_to;
use super::provision::ProvisionOptions;
use super::settings;
use super::{checks, create};
use crate::config::ledger::Step;
use crate::config::model::ContainerState;
use crate::error::Error;
use crate::runtime::{HookStage, InstanceStatus, Provisioning, Runtime};
use crate::{interrupt, operation};

/// How long `up` waits for a container to boot.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long `up` waits for another lxdev that is creating the same entry
/// (two `up --all` at once): a create from a large image takes minutes.
const WAIT_FOR_OTHER_CREATE: Duration = Duration::from_secs(600);

/// The containers `up` or `down` works on, and how many at a time.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub names: Vec<String>,
    /// Every container of the project (instead of `names`).
    pub all: bool,
    /// At most this many at a time; default: one per CPU.
    pub jobs: Option<usize>,
}

/// How `up` works.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub selection: Selection,
    /// How an entry the runtime lacks is provisioned once it is made.
    pub provision: ProvisionOptions,
}

/// `up NAME... | --all`: starts each container, first creating the runtime
/// instance of an entry the runtime lacks (a checked-in entry on a new
/// machine) through the same path as `container create`.
pub fn up(ctx: &Context, options: &UpOptions) -> Result<()> {
    let selection = &options.selection;
    let names = targets(ctx, selection, "up")?;
    let done = bulk::run(
        ctx,
        &names,
        selection.jobs.unwrap_or_else(parallel::default_jobs),
        |name, line| up_one(ctx, name, line, &options.provision),
    );
    bulk::outcome(ctx, "come up", done)
}

/// `down NAME... | --all`: stops each container that runs.
pub fn down(ctx: &Context, selection: &Selection) -> Result<()> {
    let names = targets(ctx, selection, "down")?;
    let done = bulk::run(
        ctx,
        &names,
        selection.jobs.unwrap_or_else(parallel::default_jobs),
        |name, line| down_one(ctx, name, line),
    );
    bulk::outcome(ctx, "stop", done)
}

/// The containers a bulk command works on: every entry with `--all`, else
/// the names given, each of which must be in the file (checked before any
/// work starts), each once.
fn targets(ctx: &Context, selection: &Selection, command: &str) -> Result<Vec<String>> {
    let names = &selection.names;
    let project = ctx.manager.load()?;
    if selection.all {
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

fn up_one(ctx: &Context, name: &str, line: &Line, provision: &ProvisionOptions) -> Result<String> {
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
        let found = ctx.own_instance(runtime, &project, name)?;
        if found.is_none() {
            line.set(format!("creating from {}", entry.image));
            match create::create_recorded(ctx, name, provision, line) {
                Ok(made) => created = made,
                // Reserved by another lxdev since this one looked: wait.
                Err(err) if matches!(err.downcast_ref::<Error>(), Some(Error::Busy(_))) => {
                    continue;
                }
                Err(err) => return Err(err),
            }
        }
        let mut applied = String::new();
        if !created && let Some(found) = &found {
            let wanted = project.config().dev_env(name).instance_config();
            if let Some(said) = settings::changes(&found.settings, &wanted) {
                line.set("applying its limits and environment");
                ctx.work(format!("configuring {instance}"), || {
                    settings::apply(runtime, &instance, &found.settings, &wanted)
                })?;
                applied = format!("; applied {said}");
            }
        }
        // Made and provisioned just now: it runs and has booted (the
        // create waited for it), so neither is asked again.
        let just_made = created && provision.provision;
        let changed = just_made
            || bring_to(runtime, &instance, InstanceStatus::Running, || {
                line.set("starting");
                ctx.work(format!("starting {instance}"), || runtime.start(&instance))
            })?;
        let (user, _) = project.dev_user(name);
        if !just_made {
            // Ready to use, not just started: wait until it has booted,
            // then say where it is.
            line.set("waiting for it to boot");
            let spec = Provisioning {
                user: user.clone(),
                password: None,
                keys: Vec::new(),
                ready_timeout: READY_TIMEOUT,
            };
            ctx.work(format!("waiting for {instance} to boot"), || {
                runtime.provision(&instance, Step::Ready, &spec)
            })?;
        }
        if created {
            super::ssh::refresh_known_hosts(ctx, runtime, &project, name);
        }
        let start = project.config().dev_env(name).start;
        let ran_start = (created || changed) && provision.provision && provision.setup;
        if ran_start && !start.is_empty() {
            line.set("running its start hook");
            let hooks = Hooks {
                stage: HookStage::Start,
                commands: start,
                user,
                cwd: hooks::project_mount(project.dir(), &super::devices::recorded(&project, name)),
            };
            ctx.work_shown(format!("{instance}: running its start hook"), || {
                hooks.run(runtime, &instance, line)
            })
            .map_err(|err| err.context(format!("the `start` hook of {name} failed")))?;
        }
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
        return Ok(format!("{what}{applied}; address: {address}"));
    }
}

fn down_one(ctx: &Context, name: &str, line: &Line) -> Result<String> {
    let ReadyInstance {
        runtime,
        instance,
        found,
        ..
    } = ctx.ready_instance(name)?;
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
