//! `lxdev mount|unmount|mounts`: host folders in a container, recorded as
//! `disk` devices in lxc-dev-manager's format.
//!
//! What may be mounted: a source inside the project directory (else
//! `--allow-outside`), never a secrets folder or, read-write, a system
//! folder or the home folder itself (else `--allow-risky`); a target that
//! is absolute and not a system path of the container.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use super::devices::{self, Changed, IfMissing};
use super::{checks, exposure};
use crate::config::devices::{PORT_PREFIX, Spec};
use crate::config::model::DeviceState;
use crate::config::{Project, names};
use crate::error::Error;
use crate::runtime::Instance;

/// Device names the default profile uses: a mount by that name would
/// replace the root disk or the network.
const RESERVED_DEVICES: &[&str] = &["root", "eth0"];

/// What `mount` was asked, beside its three arguments.
#[derive(Debug, Clone, Default)]
pub struct MountOptions {
    pub device: Option<String>,
    pub writable: bool,
    pub shift: bool,
    pub allow_outside: bool,
    pub allow_risky: bool,
}

pub fn mount(
    ctx: &Context,
    name: &str,
    source: &str,
    path: &str,
    options: &MountOptions,
) -> Result<()> {
    let project = ctx.manager.load()?;
    project.container(name)?;
    let path = exposure::container_path(path)?;
    let source = source_of(&project, source, &ctx.base_dir, options)?;
    let device = match &options.device {
        Some(device) => device.clone(),
        None => default_device_name(&source),
    };
    names::validate_device(&device).map_err(Error::Usage)?;
    if device.starts_with(PORT_PREFIX) || RESERVED_DEVICES.contains(&device.as_str()) {
        return Err(Error::Usage(format!(
            "device name `{device}` is taken: `{PORT_PREFIX}*` are `lxdev proxy`'s, and {} are \
             the profile's; pick another with -n",
            RESERVED_DEVICES.join(", ")
        ))
        .into());
    }
    let project_dir = exposure::canonical_dir(&project);
    let recorded = exposure::recorded_source(&source, &project_dir);
    let spec = Spec::disk(&recorded, &path, options.writable, options.shift);
    let runtime_spec = spec.for_runtime(&project_dir);
    let (user, _) = project.dev_user(name);
    let mut note = None;
    let changed = devices::add(
        ctx,
        name,
        &[(device.clone(), spec, runtime_spec.clone())],
        |project| path_free(project, name, &device, &path),
        |runtime, instance| {
            note = devices::map_owner(runtime, instance, &runtime_spec, &user)?;
            Ok(())
        },
    )?;
    // What this machine's user asked for here is remembered here, so a
    // restore or another checkout's `up` on this machine gives it back:
    // a folder outside the project or a secret (the flags), and read-write
    // (a checked-in file cannot grant it for a folder holding `.git`).
    if options.allow_outside || options.allow_risky || options.writable {
        let approvals = exposure::Approvals::load(&ctx.manager.canonical_path());
        if let Err(err) = approvals.approve(&source, options.writable) {
            ctx.out.warn(format!(
                "could not remember that you allowed `{}` here ({err}); a restore will not \
                 give it back",
                source.display()
            ));
        }
    }
    if let Some(note) = note {
        ctx.out.warn(note);
    }
    // Recorded already (a checked-in mount), but given read-only on this
    // machine until now: the runtime gets it read-write.
    if options.writable && changed.already.contains(&device) {
        let runtime = ctx.runtime(&project)?;
        let have = runtime
            .status(&project.instance_name(name))?
            .map(|i| i.devices)
            .unwrap_or_default();
        if have
            .get(&device)
            .is_some_and(|present| *present != runtime_spec)
        {
            devices::readd(ctx, name, std::slice::from_ref(&device), &user)?;
        }
    }
    let mode = if options.writable { "rw" } else { "ro" };
    report(ctx, "mount", &changed, |verb| {
        format!(
            "{verb} {} at {path} in {name} ({mode}) as device {device}",
            source.display()
        )
    });
    Ok(())
}

pub fn unmount(ctx: &Context, name: &str, device_or_path: &str) -> Result<()> {
    let project = ctx.manager.load()?;
    let entry = project.container(name)?;
    let device = if device_or_path.starts_with('/') {
        let wanted = exposure::container_path(device_or_path).unwrap_or(device_or_path.to_owned());
        entry
            .devices
            .iter()
            .find(|(_, d)| {
                Spec::of(d).mount().is_some_and(|(_, p)| {
                    exposure::container_path(p).unwrap_or(p.to_owned()) == wanted
                })
            })
            .map(|(device, _)| device.clone())
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "nothing is mounted at `{device_or_path}` in `{name}` (see `lxdev mounts {name}`)"
                ))
            })?
    } else {
        names::validate_device(device_or_path).map_err(Error::Usage)?;
        device_or_path.to_owned()
    };
    let changed = devices::remove(ctx, name, std::slice::from_ref(&device), IfMissing::Fail)?;
    report(ctx, "unmount", &changed, |verb| {
        format!("{verb} device {device} from {name}")
    });
    Ok(())
}

/// How a device compares between the file and the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agreement {
    Ok,
    /// In the file, not in the runtime.
    Missing,
    /// In the runtime, not in the file.
    Untracked,
    /// In the file with an operation in flight or failed.
    Busy(DeviceState),
}

impl Agreement {
    fn word(self) -> &'static str {
        match self {
            Agreement::Ok => "ok",
            Agreement::Missing => "missing",
            Agreement::Untracked => "untracked",
            Agreement::Busy(state) => state.as_str(),
        }
    }
}

struct Row {
    container: String,
    device: String,
    spec: Spec,
    agreement: Agreement,
}

/// `mounts [NAME] [--sync]`: every device of the container (or of every
/// container), as ok, missing or untracked; `--sync` adds what the
/// runtime lacks and records what the file lacks.
/// What `mounts` lists, and whether it fixes what it finds.
#[derive(Debug, Clone, Default)]
pub struct MountsOptions {
    /// One container; default: every container.
    pub name: Option<String>,
    /// Add what the runtime lacks, record what the file lacks.
    pub sync: bool,
}

pub fn mounts(ctx: &Context, options: &MountsOptions) -> Result<()> {
    let (name, sync) = (options.name.as_deref(), options.sync);
    let project = ctx.manager.load()?;
    let names: Vec<String> = match name {
        Some(name) => {
            project.container(name)?;
            vec![name.to_owned()]
        }
        None => project.config().containers.keys().cloned().collect(),
    };
    let runtime = ctx.runtime(&project)?;
    // One listing of the project's instances serves every container.
    let instances = runtime.list(project.name())?;
    let mut rows = compare(&project, &instances, &names)?;
    if sync {
        let config_path = ctx.manager.canonical_path();
        for name in &names {
            let instance = project.instance_name(name);
            if let Some(found) = instances.iter().find(|i| i.name == instance) {
                checks::refuse_foreign(&project, &config_path, name, found)?;
            } else {
                return Err(Error::NotFound(format!(
                    "container `{name}` has no instance in the {} runtime yet: `lxdev up {name}` \
                     creates it with its devices",
                    runtime.name()
                ))
                .into());
            }
        }
        for name in &names {
            sync_one(ctx, &project, name, &rows)?;
        }
        let instances = runtime.list(project.name())?;
        rows = compare(&ctx.manager.load()?, &instances, &names)?;
    }
    let json_rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "container": r.container,
                "device": r.device,
                "type": r.spec.kind,
                "source": r.spec.mount().map(|(s, _)| s),
                "path": r.spec.mount().map(|(_, p)| p),
                "mode": r.spec.mount().map(|_| if r.spec.readonly() { "ro" } else { "rw" }),
                "config": r.spec.config,
                "status": r.agreement.word(),
            })
        })
        .collect();
    if ctx.out.json {
        ctx.out.json(&serde_json::Value::Array(json_rows));
        return Ok(());
    }
    if rows.is_empty() {
        ctx.out.say("no devices");
        return Ok(());
    }
    let table: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.container.clone(),
                r.device.clone(),
                r.spec.describe(),
                r.agreement.word().to_owned(),
            ]
        })
        .collect();
    ctx.out
        .table(["CONTAINER", "DEVICE", "WHAT", "STATUS"], &table);
    Ok(())
}

/// Each device of `names` in the file and in `instances` (the runtime's
/// listing of the project).
fn compare(project: &Project, instances: &[Instance], names: &[String]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for name in names {
        let entry = project.container(name)?;
        let instance = project.instance_name(name);
        let have = instances
            .iter()
            .find(|i| i.name == instance)
            .map(|i| i.devices.clone())
            .unwrap_or_default();
        for (device, recorded) in &entry.devices {
            let agreement = match recorded.state {
                Some(state) => Agreement::Busy(state),
                None if have.contains_key(device) => Agreement::Ok,
                None => Agreement::Missing,
            };
            rows.push(Row {
                container: name.clone(),
                device: device.clone(),
                spec: Spec::of(recorded),
                agreement,
            });
        }
        for (device, spec) in have.iter().filter(|(d, _)| !entry.devices.contains_key(*d)) {
            rows.push(Row {
                container: name.clone(),
                device: device.clone(),
                spec: spec.clone(),
                agreement: Agreement::Untracked,
            });
        }
    }
    Ok(rows)
}

/// Fixes the side that is wrong for container `name`: missing devices are
/// added to the runtime (their records stay whatever happens), untracked
/// ones recorded in the file as they are.
fn sync_one(ctx: &Context, project: &Project, name: &str, rows: &[Row]) -> Result<()> {
    let ours = |agreement| {
        rows.iter()
            .filter(move |r| r.container == name && r.agreement == agreement)
    };
    let untracked: Vec<(String, Spec)> = ours(Agreement::Untracked)
        .map(|r| (r.device.clone(), r.spec.clone()))
        .collect();
    if !untracked.is_empty() {
        ctx.reserve(|project| {
            checks::ready_container(project, name)?;
            let entry = project.container(name)?.clone();
            for (device, spec) in &untracked {
                if names::validate_device(device).is_ok() && !entry.devices.contains_key(device) {
                    project.insert_device(name, device, spec, None)?;
                }
            }
            Ok(())
        })?;
        for (device, _) in &untracked {
            ctx.out.say(format!("recorded device {device} of {name}"));
        }
    }
    let missing: Vec<String> = ours(Agreement::Missing).map(|r| r.device.clone()).collect();
    if !missing.is_empty() {
        let (user, _) = project.dev_user(name);
        devices::readd(ctx, name, &missing, &user)?;
        for device in &missing {
            ctx.out.say(format!("added device {device} to {name}"));
        }
    }
    Ok(())
}

/// Prints what an add or remove did (or one JSON object).
fn report(ctx: &Context, command: &str, changed: &Changed, line: impl Fn(&str) -> String) {
    ctx.outcome(|o| {
        o.detail("devices", changed.done.clone());
        o.detail("unchanged", changed.already.clone());
    });
    let verb = match (command, changed.done.is_empty()) {
        ("mount", false) => "mounted",
        ("mount", true) => "already mounted:",
        (_, false) => "removed",
        (_, true) => "already gone:",
    };
    ctx.out.say(line(verb));
}

/// The source, canonical, once [`exposure::refuse_source`] passes it;
/// `source` is as typed, relative to `base`.
fn source_of(
    project: &Project,
    source: &str,
    base: &Path,
    options: &MountOptions,
) -> Result<PathBuf> {
    let shown = source.escape_debug();
    if source.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "cannot mount `{shown}`: it holds a control character"
        ))
        .into());
    }
    let canonical = std::fs::canonicalize(base.join(source))
        .map_err(|err| Error::NotFound(format!("cannot mount `{shown}`: {err}")))?;
    let allowed = exposure::Allowed {
        outside: options.allow_outside,
        risky: options.allow_risky,
    };
    let home = crate::process::invoking_user_home();
    match exposure::refuse_source(
        &canonical,
        &exposure::canonical_dir(project),
        home.as_deref(),
        options.writable,
        allowed,
    ) {
        Some(why) => Err(Error::Usage(why).into()),
        None => Ok(canonical),
    }
}

/// A device name from the source folder's name (lxc-dev-manager's rule):
/// its letters and digits, other runs as one `-`, `mount-` in front when
/// it would not start with a letter.
pub fn default_device_name(source: &Path) -> String {
    let base = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_owned();
    let name = if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("mount-{name}")
    };
    name.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// No other device of `name` mounts at `path` (in any state).
fn path_free(project: &Project, name: &str, device: &str, path: &str) -> Result<(), Error> {
    let entry = project.container(name)?;
    let clean = |p: &str| exposure::container_path(p).unwrap_or(p.to_owned());
    for (other, d) in &entry.devices {
        if other != device
            && Spec::of(d)
                .mount()
                .is_some_and(|(_, p)| clean(p) == clean(path))
        {
            return Err(Error::Conflict(format!(
                "`{path}` in `{name}` is already mounted by device `{other}`"
            )));
        }
    }
    Ok(())
}
