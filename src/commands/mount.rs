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

use super::container::print_table;
use super::devices::{self, Changed};
use super::{Context, checks};
use crate::config::devices::{PORT_PREFIX, Spec};
use crate::config::model::DeviceState;
use crate::config::{Project, names};
use crate::error::Error;
use crate::runtime::Runtime;

/// What `mount` was asked, beside its three arguments.
#[derive(Debug, Clone, Default)]
pub struct MountOptions {
    pub device: Option<String>,
    pub writable: bool,
    pub shift: bool,
    pub allow_outside: bool,
    pub allow_risky: bool,
}

/// Folders never mounted read-write without `--allow-risky`: the system's,
/// and any that holds the home folder.
const SYSTEM_FOLDERS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/boot",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/var",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/var/lib/lxd",
    "/var/lib/incus",
    "/home",
];

/// Folders of secrets, never mounted in any mode without `--allow-risky`.
const SECRET_FOLDERS: &[&str] = &[".ssh", ".gnupg", ".aws", ".config/gcloud", ".kube"];

/// Container paths a mount may not cover.
const CONTAINER_SYSTEM_PATHS: &[&str] = &[
    "/", "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/boot", "/run",
];

pub fn mount(
    ctx: &Context,
    name: &str,
    source: &str,
    path: &str,
    options: &MountOptions,
) -> Result<()> {
    let project = ctx.manager.load()?;
    project.container(name)?;
    let source = check_source(&project, source, &ctx.base_dir, options)?;
    check_container_path(path)?;
    let device = match &options.device {
        Some(device) => device.clone(),
        None => default_device_name(&source),
    };
    names::validate_device(&device).map_err(Error::Usage)?;
    if device.starts_with(PORT_PREFIX) {
        return Err(Error::Usage(format!(
            "device names starting with `{PORT_PREFIX}` are `lxdev proxy`'s; pick another"
        ))
        .into());
    }
    let source_text = source.to_string_lossy().into_owned();
    let spec = Spec::disk(&source_text, path, options.writable, options.shift);
    let (user, _) = project.dev_user(name);
    let mut note = None;
    let changed = devices::add(
        ctx,
        name,
        &[(device.clone(), spec.clone())],
        |project| path_free(project, name, &device, path),
        |runtime, instance| {
            note = devices::map_owner(runtime, instance, &spec, &user)?;
            Ok(())
        },
    )?;
    if let Some(note) = note {
        ctx.out.warn(note);
    }
    let mode = if options.writable { "rw" } else { "ro" };
    report(ctx, "mount", &changed, |verb| {
        format!("{verb} {source_text} at {path} in {name} ({mode}) as device {device}")
    });
    Ok(())
}

pub fn unmount(ctx: &Context, name: &str, device_or_path: &str) -> Result<()> {
    let project = ctx.manager.load()?;
    let entry = project.container(name)?;
    let device = if device_or_path.starts_with('/') {
        entry
            .devices
            .iter()
            .find(|(_, d)| Spec::of(d).mount().is_some_and(|(_, p)| p == device_or_path))
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
    let changed = devices::remove(ctx, name, std::slice::from_ref(&device), false)?;
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
    Busy(&'static str),
}

impl Agreement {
    fn word(self) -> &'static str {
        match self {
            Agreement::Ok => "ok",
            Agreement::Missing => "missing",
            Agreement::Untracked => "untracked",
            Agreement::Busy(word) => word,
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
pub fn mounts(ctx: &Context, name: Option<&str>, sync: bool) -> Result<()> {
    let project = ctx.manager.load()?;
    let names: Vec<String> = match name {
        Some(name) => {
            project.container(name)?;
            vec![name.to_owned()]
        }
        None => project.config().containers.keys().cloned().collect(),
    };
    let runtime = ctx.runtime(&project)?;
    let mut rows = compare(&project, runtime.as_ref(), &names)?;
    if sync {
        for name in &names {
            sync_one(ctx, &project, name, &rows)?;
        }
        rows = compare(&ctx.manager.load()?, runtime.as_ref(), &names)?;
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
    print_table(ctx, ["CONTAINER", "DEVICE", "WHAT", "STATUS"], &table);
    Ok(())
}

fn compare(project: &Project, runtime: &dyn Runtime, names: &[String]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for name in names {
        let entry = project.container(name)?;
        let instance = project.instance_name(name);
        let found = runtime.status(&instance)?;
        let have = found.map(|i| i.devices).unwrap_or_default();
        for (device, recorded) in &entry.devices {
            let agreement = match recorded.state {
                Some(DeviceState::Failed) => Agreement::Busy("failed"),
                Some(state) => Agreement::Busy(state.as_str()),
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

/// The source, canonical, once it passes the rules in the module's doc.
/// `source` is as typed, relative to `base`.
fn check_source(
    project: &Project,
    source: &str,
    base: &Path,
    options: &MountOptions,
) -> Result<PathBuf> {
    let shown = source.escape_debug();
    let canonical = std::fs::canonicalize(base.join(source))
        .map_err(|err| Error::Usage(format!("cannot mount `{shown}`: {err}")))?;
    let home = crate::process::invoking_user_home();
    let is_secret = SECRET_FOLDERS.iter().any(|s| {
        let mut c = canonical.components();
        let joined = Path::new(s);
        // Anywhere under a secrets folder, or the folder itself.
        std::iter::from_fn(|| {
            let rest = c.as_path().to_path_buf();
            c.next().map(|_| rest)
        })
        .any(|p| p.starts_with(joined))
    });
    if is_secret && !options.allow_risky {
        return Err(Error::Usage(format!(
            "`{}` holds secrets (SSH or cloud keys): refused; pass --allow-risky if you mean it",
            canonical.display()
        ))
        .into());
    }
    let holds_home = home.as_deref().is_some_and(|h| h.starts_with(&canonical));
    let system = SYSTEM_FOLDERS.iter().any(|f| canonical == Path::new(f));
    if options.writable && (system || holds_home) && !options.allow_risky {
        return Err(Error::Usage(format!(
            "a read-write mount of `{}` would let the container change the host's system or \
             home folder: refused; mount a project folder, mount it read-only, or pass \
             --allow-risky",
            canonical.display()
        ))
        .into());
    }
    let project_dir = std::fs::canonicalize(project.dir()).unwrap_or(project.dir().to_path_buf());
    if !canonical.starts_with(&project_dir) && !options.allow_outside {
        return Err(Error::Usage(format!(
            "`{}` is outside the project directory `{}`: pass --allow-outside to mount it \
             anyway (containers.yaml then names a folder teammates may not have)",
            canonical.display(),
            project_dir.display()
        ))
        .into());
    }
    Ok(canonical)
}

/// The path inside the container: absolute, no `..`, no control
/// characters, not a system path.
pub fn check_container_path(path: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::Usage(format!("cannot mount at `{}`: {why}", path.escape_debug()));
    if !path.starts_with('/') {
        return Err(bad("the path inside the container must be absolute"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("it holds a control character"));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(bad("`..` is not allowed"));
    }
    let clean = path.trim_end_matches('/');
    let clean = if clean.is_empty() { "/" } else { clean };
    if CONTAINER_SYSTEM_PATHS.contains(&clean) {
        return Err(bad("it is a system path of the container"));
    }
    Ok(())
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
    let clean = |p: &str| p.trim_end_matches('/').to_owned();
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
