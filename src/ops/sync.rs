//! `lxdev sync C` and `sync add|rm|list`: host files listed under a
//! container's `sync:` (lxc-dev-manager's `[{source, dest}]`), pushed into
//! it on demand.
//!
//! `add` and `rm` are one short transaction each; `list` reads without the
//! lock. `sync C` changes nothing in the file and takes no lock, like `cp`,
//! whose runtime `push` it uses: each copy belongs to the dev user, lands
//! whole or not at all, and every entry is checked (its paths, its source
//! on the host, what is at its destination) before the first is pushed.
//!
//! Limits: a destination that is a directory is refused (exit 4), as `cp`
//! never merges into or replaces one, so a folder is pushed only while its
//! destination does not exist (`mount` keeps a folder in step); entries are
//! pushed one after the other, and the first failure stops the rest.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use super::exposure::{Allowed, Approvals};
use super::{checks, paths};
use crate::config::Project;
use crate::error::Error;
use crate::runtime::{FileKind, Push};

/// `sync add C SOURCE DEST`. A source outside the project, or in or
/// holding a secret, needs the person's `allowed` flags, which are then
/// remembered on this machine (see `exposure::Approvals`), so `sync C`
/// pushes it here and nowhere else.
pub fn add(ctx: &Context, name: &str, source: &str, dest: &str, allowed: Allowed) -> Result<()> {
    check_source(source)?;
    paths::check_path(dest)?;
    let project = ctx.manager.load()?;
    let path = host_source(&project, source).ok();
    if let Some(path) = &path {
        check_exposure(ctx, &project, path, Some(allowed))?;
    }
    let replaced = ctx
        .manager
        .update(|project| project.add_sync(name, source, dest))?;
    if let Some(path) = path.filter(|_| allowed.outside || allowed.risky) {
        let approvals = Approvals::load(&ctx.manager.canonical_path());
        if let Err(err) = approvals.approve(&path, false) {
            ctx.out.warn(format!(
                "could not remember that you allowed `{}` here ({err}); `lxdev sync {name}` \
                 will refuse it",
                path.display()
            ));
        }
    }
    match replaced {
        Some(old) if old != dest => ctx
            .out
            .say(format!("{name}: sync {source} -> {dest} (was -> {old})")),
        _ => ctx.out.say(format!("{name}: sync {source} -> {dest}")),
    }
    Ok(())
}

/// `sync rm C SOURCE`: forgetting an entry that is not there is not an
/// error (lxc-dev-manager exits 0 too), but says so.
pub fn remove(ctx: &Context, name: &str, source: &str) -> Result<()> {
    let removed = ctx
        .manager
        .update(|project| project.remove_sync(name, source))?;
    if removed {
        ctx.out.say(format!("{name}: no longer syncs {source}"));
    } else {
        ctx.out.warn(format!(
            "container `{name}` has no sync entry with source `{source}` (see `lxdev sync list {name}`)"
        ));
    }
    Ok(())
}

/// `sync list C`: a table, or with `--json` an array of `{source, dest}`.
pub fn list(ctx: &Context, name: &str) -> Result<()> {
    let project = ctx.manager.load()?;
    let entries = &project.container(name)?.sync;
    if ctx.out.json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| json!({ "source": e.source, "dest": e.dest }))
            .collect();
        ctx.out.json(&serde_json::Value::Array(rows));
        return Ok(());
    }
    if entries.is_empty() {
        ctx.out.say(format!(
            "container `{name}` has no sync entries; add one with `lxdev sync add {name} SOURCE DEST`"
        ));
        return Ok(());
    }
    let rows: Vec<[String; 2]> = entries
        .iter()
        .map(|e| [e.source.clone(), e.dest.clone()])
        .collect();
    ctx.out.table(["SOURCE", "DEST"], &rows);
    Ok(())
}

/// `sync C`: pushes every entry, each owned by the dev user.
pub fn sync(ctx: &Context, name: &str) -> Result<()> {
    let project = ctx.manager.load()?;
    checks::ready_container(&project, name)?;
    let entries = project.container(name)?.sync.clone();
    if entries.is_empty() {
        ctx.out.say(format!(
            "container `{name}` has no sync entries; add one with `lxdev sync add {name} SOURCE DEST`"
        ));
        return Ok(());
    }
    // Hand-written entries get the checks `sync add` makes.
    let mut sources = Vec::with_capacity(entries.len());
    for entry in &entries {
        check_source(&entry.source)?;
        paths::check_path(&entry.dest)?;
        let source = host_source(&project, &entry.source)?;
        check_exposure(ctx, &project, &source, None)?;
        sources.push(source);
    }
    let runtime = ctx.runtime(&project)?;
    checks::on_runtime(&project, name, runtime.name())?;
    ctx.own_instance(runtime.as_ref(), &project, name)?;
    let runtime = runtime.as_ref();
    let instance = project.instance_name(name);
    let owner = paths::dev_user(ctx, runtime, &instance, &project.dev_user(name).0)?;
    let mut plan = Vec::with_capacity(entries.len());
    for (entry, source) in entries.iter().zip(sources) {
        let dest = paths::expand_home(&entry.dest, owner.as_ref());
        let there = ctx.work(format!("looking at {dest} in {instance}"), || {
            runtime.file_kind(&instance, &dest)
        })?;
        if there == Some(FileKind::Dir) {
            return Err(Error::Conflict(format!(
                "`{dest}` is a directory in {name} ({instance}); sync replaces files but never \
                 a directory: remove it first, or `lxdev mount` a folder to keep it in step"
            ))
            .into());
        }
        plan.push((entry, source, dest));
    }
    let whose = owner.as_ref().map_or("root", |u| u.name.as_str());
    let mut synced = Vec::with_capacity(plan.len());
    for (entry, source, dest) in plan {
        ctx.work(
            format!("copying {} to {instance}", source.display()),
            || {
                let push = Push {
                    source: &source,
                    dest: &dest,
                    owner: owner.as_ref(),
                };
                runtime.push(&instance, &push)
            },
        )?;
        synced.push(json!({ "source": entry.source, "dest": dest }));
        ctx.outcome(|o| o.detail("synced", synced.clone()));
        ctx.out.say(format!(
            "synced {} to {name}:{dest} ({instance}), owned by {whose}",
            entry.source
        ));
    }
    Ok(())
}

/// Refuses a source no one means as a path (usage, exit 2): empty, read as
/// an option (`-...`), or holding a control character (a newline would
/// split the list lxdev prints and the paths it hands on).
fn check_source(source: &str) -> Result<(), Error> {
    if source.is_empty() {
        return Err(Error::Usage("a sync source cannot be empty".into()));
    }
    if source.starts_with('-') {
        return Err(Error::Usage(format!(
            "sync source `{source}` starts with `-`; write `./{source}` for a file of that name"
        )));
    }
    if source.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "sync source {source:?} holds a control character"
        )));
    }
    if source.starts_with('~') {
        return Err(Error::Usage(format!(
            "sync source `{source}`: `~` is not expanded here; write the absolute path"
        )));
    }
    Ok(())
}

/// Refuses a source a `sync:` list may not push (usage, exit 2): the
/// file is checked in and reaches every teammate, so it is held to the
/// rules of a mount it records (`exposure::refuse_source`): inside the
/// project, neither in nor holding a secret, never `/proc`, `/sys`, `/dev`
/// or a container daemon's state. What this machine's user allowed, with
/// `sync add --allow-*` now (`asked`) or before (the approvals), is
/// allowed; nothing in the file can allow it.
fn check_exposure(
    ctx: &Context,
    project: &Project,
    source: &Path,
    asked: Option<Allowed>,
) -> Result<(), Error> {
    let approved = Approvals::load(&ctx.manager.canonical_path()).allowed(source, false);
    let asked = asked.unwrap_or_default();
    let allowed = Allowed {
        outside: asked.outside || approved.outside,
        risky: asked.risky || approved.risky,
    };
    let home = crate::process::invoking_user_home();
    let project_dir = super::exposure::canonical_dir(project);
    match super::exposure::refuse_source(source, &project_dir, home.as_deref(), false, allowed) {
        Some(why) => Err(Error::Usage(format!(
            "cannot sync `{}`: {why}",
            source.display()
        ))),
        None => Ok(()),
    }
}

/// The host path of `source`: relative ones are in the project directory
/// (lxc-dev-manager's rule), whatever the current directory. It must exist
/// (exit 3 before anything is pushed).
fn host_source(project: &Project, source: &str) -> Result<PathBuf> {
    let path = project.dir().join(Path::new(source));
    std::fs::canonicalize(&path).map_err(|err| {
        Error::NotFound(format!(
            "cannot sync `{source}` (`{}`): {err}",
            path.display()
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_that_read_as_options_or_hold_control_characters_are_refused() {
        for bad in ["", "-rf", "--x", "a\nb", "a\tb", "\u{7f}"] {
            assert!(check_source(bad).is_err(), "{bad:?}");
        }
        for good in [".env", "./-x", "/etc/hosts", "a b", "dir/"] {
            assert!(check_source(good).is_ok(), "{good:?}");
        }
    }
}
