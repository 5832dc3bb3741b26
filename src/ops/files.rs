//! `lxdev cp SRC NAME:DEST` and `lxdev cp NAME:SRC DEST` (alias `mv`, as
//! lxc-dev-manager spells it, which copies too): files and directories
//! between the host and containers.
//!
//! Like `exec`, it changes nothing in containers.yaml and takes no lock,
//! but refuses a container whose entry is in flight (exit 75) or failed.
//! Everything that can be checked is checked for every container before
//! anything is copied: the names, the paths, the source. A copy lands at
//! its destination whole or not at all (staged beside it, then renamed).
//!
//! Limits: no copy between two containers (pull to the host, then push);
//! the glob on a container name is lxc-dev-manager's (`*`, or a prefix and
//! `*`), on the pushing side only.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::bulk::{self, Line};
use super::context::Context;
use super::parallel;
use super::paths::{check_path, dev_user, expand_home};
use super::{checks, exposure};
use crate::config::Project;
use crate::error::Error;
use crate::runtime::{FileKind, Push, Runtime};

/// One side of a copy, as typed.
#[derive(Debug, PartialEq, Eq)]
enum Place<'a> {
    Host(&'a str),
    /// `NAME:PATH`; `NAME` may be a glob.
    Container {
        pattern: &'a str,
        path: &'a str,
    },
}

/// `NAME:PATH` when what comes before the first `:` could be a container
/// name or a glob of them; anything else is a host path (write `./a:b`
/// for a host file whose name has a colon).
fn place(arg: &str) -> Place<'_> {
    match arg.split_once(':') {
        Some((pattern, path))
            if !pattern.is_empty()
                && pattern
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*') =>
        {
            Place::Container { pattern, path }
        }
        _ => Place::Host(arg),
    }
}

/// How `cp` may copy.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// A host path in or holding a secret may be pushed (`--allow-risky`).
    pub allow_risky: bool,
}

pub fn cp(ctx: &Context, source: &str, dest: &str, options: &CopyOptions) -> Result<()> {
    match (place(source), place(dest)) {
        (Place::Host(from), Place::Container { pattern, path }) => {
            push(ctx, from, pattern, path, options)
        }
        (Place::Container { pattern, path }, Place::Host(to)) => pull(ctx, pattern, path, to),
        (Place::Container { .. }, Place::Container { .. }) => Err(Error::Usage(
            "lxdev copies between the host and containers, not between two containers: \
             copy to the host, then from it"
                .into(),
        )
        .into()),
        (Place::Host(_), Place::Host(_)) => Err(Error::Usage(format!(
            "one of `{source}` and `{dest}` must be in a container: NAME:PATH"
        ))
        .into()),
    }
}

/// Host to every container `pattern` matches.
fn push(ctx: &Context, from: &str, pattern: &str, path: &str, options: &CopyOptions) -> Result<()> {
    check_path(path)?;
    let project = ctx.manager.load()?;
    let names = matching(&project, pattern)?;
    for name in &names {
        checks::ready_container(&project, name)?;
    }
    let source = std::fs::canonicalize(from)
        .map_err(|err| Error::NotFound(format!("cannot copy `{from}`: {err}")))?;
    // The path was typed here, so it may be outside the project; it is
    // judged after links are followed (`./x` may lead to `~/.ssh/id_rsa`).
    let allowed = exposure::Allowed {
        outside: true,
        risky: options.allow_risky,
    };
    let home = crate::process::invoking_user_home();
    let project_dir = exposure::canonical_dir(&project);
    if let Some(why) =
        exposure::refuse_source(&source, &project_dir, home.as_deref(), false, allowed)
    {
        return Err(Error::Usage(format!("cannot copy `{from}`: {why}")).into());
    }
    let runtime = ctx.runtime(&project)?;
    for name in &names {
        checks::on_runtime(&project, name, runtime.name())?;
        ctx.own_instance(runtime.as_ref(), &project, name)?;
    }
    let runtime = runtime.as_ref();
    let targets = Targets::of(&project, &names);
    let done = bulk::run(ctx, &names, parallel::default_jobs(), |name, line| {
        push_one(ctx, runtime, targets.get(name), &source, path, line)
    });
    bulk::outcome(ctx, "receive the copy", done)
}

fn push_one(
    ctx: &Context,
    runtime: &dyn Runtime,
    target: &Target,
    source: &Path,
    path: &str,
    line: &Line,
) -> Result<String> {
    let (name, instance) = (&target.name, &target.instance);
    let owner = dev_user(ctx, runtime, &target.instance, &target.user)?;
    let mut dest = expand_home(path, owner.as_ref());
    let name_of_source = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    line.set("looking at the destination");
    if dest.ends_with('/') || runtime.file_kind(instance, &dest)? == Some(FileKind::Dir) {
        dest = format!("{}/{name_of_source}", dest.trim_end_matches('/'));
    }
    let there = runtime.file_kind(instance, &dest)?;
    if there == Some(FileKind::Dir) || (there.is_some() && source.is_dir()) {
        return Err(Error::Conflict(format!(
            "`{dest}` already exists in {name} ({instance}); lxdev replaces files but never \
             merges into or replaces a directory: remove it first or copy elsewhere"
        ))
        .into());
    }
    line.set("copying");
    ctx.work(
        format!("copying {} to {instance}", source.display()),
        || {
            let push = Push {
                source,
                dest: &dest,
                owner: owner.as_ref(),
            };
            runtime.push(instance, &push)
        },
    )?;
    let whose = owner.as_ref().map_or("root", |u| u.name.as_str());
    Ok(format!(
        "copied {} to {name}:{dest} ({instance}), owned by {whose}",
        source.display()
    ))
}

/// One container to the host.
fn pull(ctx: &Context, pattern: &str, path: &str, to: &str) -> Result<()> {
    if pattern.contains('*') {
        return Err(Error::Usage(format!(
            "copy from one container at a time: `{pattern}` is a glob"
        ))
        .into());
    }
    check_path(path)?;
    let project = ctx.manager.load()?;
    checks::ready_container(&project, pattern)?;
    let runtime = ctx.runtime(&project)?;
    checks::on_runtime(&project, pattern, runtime.name())?;
    ctx.own_instance(runtime.as_ref(), &project, pattern)?;
    let runtime = runtime.as_ref();
    let names = [pattern.to_string()];
    let targets = Targets::of(&project, &names);
    let done = bulk::run(ctx, &names, 1, |name, line| {
        pull_one(ctx, runtime, targets.get(name), path, to, line)
    });
    bulk::outcome(ctx, "give the copy", done)
}

fn pull_one(
    ctx: &Context,
    runtime: &dyn Runtime,
    target: &Target,
    path: &str,
    to: &str,
    line: &Line,
) -> Result<String> {
    let (name, instance) = (&target.name, &target.instance);
    let owner = dev_user(ctx, runtime, &target.instance, &target.user)?;
    let source = expand_home(path, owner.as_ref());
    line.set("looking at the source");
    let Some(kind) = runtime.file_kind(instance, &source)? else {
        return Err(Error::NotFound(format!("no `{source}` in {name} ({instance})")).into());
    };
    // Asked before the client is: Incus 6.0 pulls a lone link as a link
    // named after it in the client's current directory, wherever the
    // copy was to go.
    if kind == FileKind::Link {
        return Err(Error::Conflict(format!(
            "`{source}` in {name} ({instance}) is a symbolic link; lxdev never makes a host \
             symlink that points outside what it copied: copy what it points to instead"
        ))
        .into());
    }
    let last = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::Usage(format!("`{source}` names no file to copy")))?;
    let to_path =
        std::path::absolute(to).map_err(|err| Error::Usage(format!("cannot use `{to}`: {err}")))?;
    let target = if to.ends_with('/') || to_path.is_dir() {
        to_path.join(last)
    } else {
        to_path
    };
    let parent = target
        .parent()
        .filter(|p| p.is_dir())
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no directory on this machine to copy into: `{}`",
                target.parent().unwrap_or(Path::new("/")).display()
            ))
        })?
        .to_path_buf();
    if target.is_dir() || (kind == FileKind::Dir && target.symlink_metadata().is_ok()) {
        return Err(Error::Conflict(format!(
            "`{}` already exists; lxdev replaces files but never merges into or replaces a \
             directory",
            target.display()
        ))
        .into());
    }
    // Pulled into a staging directory beside the target, then renamed: a
    // failure leaves nothing at the target.
    let staging = tempfile::Builder::new()
        .prefix(".lxdev-cp.")
        .tempdir_in(&parent)
        .map_err(|err| anyhow::anyhow!("cannot copy into `{}`: {err}", parent.display()))?;
    line.set("copying");
    ctx.work(format!("copying {source} from {instance}"), || {
        runtime.pull_into(instance, &source, staging.path())
    })?;
    let staged: PathBuf = staging.path().join(last);
    // A link that became one since it was looked at.
    if let Ok(link) = std::fs::read_link(&staged) {
        return Err(Error::Conflict(format!(
            "`{source}` in {name} ({instance}) is a symbolic link to `{}`; lxdev never makes a \
             host symlink that points outside what it copied: copy what it points to instead",
            link.display()
        ))
        .into());
    }
    let left_out = make_pulled_tree_safe(&staged, Path::new(source.trim_end_matches('/')))
        .map_err(|err| anyhow::anyhow!("cannot check the copy of `{source}`: {err}"))?;
    std::fs::rename(&staged, &target)
        .map_err(|err| anyhow::anyhow!("cannot move the copy to `{}`: {err}", target.display()))?;
    if !left_out.is_empty() {
        let shown: Vec<String> = left_out
            .iter()
            .map(|(link, to)| format!("{} -> {}", link.display(), to.display()))
            .collect();
        ctx.out.warn(format!(
            "left out {} symbolic link(s) of {name}:{source} that point outside the copy \
             (a host symlink there would lead to this machine's files): {}",
            left_out.len(),
            shown.join(", ")
        ));
    }
    Ok(format!(
        "copied {name}:{source} ({instance}) to {}",
        target.display()
    ))
}

/// Makes the pulled tree `root` safe to keep on the host, before it is
/// moved into place: made in a container, it is the container's to shape.
/// - Removes every symlink that does not resolve inside `root`: an
///   absolute target, or one that climbs out with `..`, also through other
///   links of the copy (`d -> .` then `e -> d/d/../..`), would lead to the
///   host's own files once it sits on the host (`ln -s /root/.ssh/id_rsa
///   evil`, pulled, then pushed back, carried the host's key into the
///   container). The client writes every link's target as an absolute
///   path in the container (LXD 5.0: `ln -s f in` comes back as
///   `in -> /tmp/tree/f`), so a link into the copied `source` is first
///   made relative again.
/// - Clears the set-user-ID and set-group-ID bits and write for others on
///   every file and folder: a copy pulled as root would otherwise be a
///   setuid-root program the container chose (Incus 6.0 keeps the bits).
///
/// Returns each link removed, relative to `root`, with its target.
fn make_pulled_tree_safe(root: &Path, source: &Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut links = Vec::new();
    let mut walk = vec![root.to_path_buf()];
    while let Some(path) = walk.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_symlink() {
            let target = std::fs::read_link(&path)?;
            let dir = path.parent().unwrap_or(root);
            if let Ok(rel) = target.strip_prefix(source)
                && target.is_absolute()
            {
                std::fs::remove_file(&path)?;
                std::os::unix::fs::symlink(relative_link(root, dir, rel), &path)?;
            }
            links.push(path);
            continue;
        }
        let mode = meta.permissions().mode();
        let safe = mode & !0o6002;
        if safe != mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(safe))?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                walk.push(entry?.path());
            }
        }
    }
    // Judged on the tree as pulled, then removed: a link that resolves
    // through one that leaks leaks too, and goes with it.
    let leaking: Vec<PathBuf> = links
        .into_iter()
        .filter(|link| !resolves_inside(root, link))
        .collect();
    let mut dropped = Vec::new();
    for link in leaking {
        let target = std::fs::read_link(&link)?;
        std::fs::remove_file(&link)?;
        dropped.push((
            link.strip_prefix(root).unwrap_or(&link).to_path_buf(),
            target,
        ));
    }
    dropped.sort();
    Ok(dropped)
}

/// The relative target that leads from folder `dir` (inside `root`) to
/// `rel` (relative to `root`).
fn relative_link(root: &Path, dir: &Path, rel: &Path) -> PathBuf {
    let depth = dir.strip_prefix(root).map_or(0, |d| d.components().count());
    let mut link: PathBuf = std::iter::repeat_n("..", depth).collect();
    link.push(rel);
    if link.as_os_str().is_empty() {
        link.push(".");
    }
    link
}

/// Whether the symlink `link` (inside `root`) resolves inside `root`: its
/// target is walked one name at a time from the link's folder, following
/// the copy's own links (at most 40, as the kernel does), with `..` going
/// up a name; an absolute target, a climb above `root` or a loop is
/// outside. A name that does not exist ends the walk inside: a dangling
/// link leads nowhere.
fn resolves_inside(root: &Path, link: &Path) -> bool {
    use std::ffi::OsString;
    use std::path::Component;
    let Ok(dir) = link.parent().unwrap_or(root).strip_prefix(root) else {
        return false;
    };
    let mut at: Vec<OsString> = dir.iter().map(OsString::from).collect();
    let Ok(target) = std::fs::read_link(link) else {
        return false;
    };
    // Names still to walk, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    let push = |pending: &mut Vec<OsString>, target: &Path| -> bool {
        let mut parts = Vec::new();
        for part in target.components() {
            match part {
                Component::Normal(name) => parts.push(name.to_os_string()),
                Component::ParentDir => parts.push(OsString::from("..")),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return false,
            }
        }
        pending.extend(parts.into_iter().rev());
        true
    };
    if !push(&mut pending, &target) {
        return false;
    }
    let mut hops = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            if at.pop().is_none() {
                return false;
            }
            continue;
        }
        let here: PathBuf = root
            .iter()
            .chain(at.iter().map(|p| p.as_os_str()))
            .collect();
        let next = here.join(&name);
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.is_symlink() => {
                hops += 1;
                let Ok(target) = std::fs::read_link(&next) else {
                    return false;
                };
                if hops > 40 || !push(&mut pending, &target) {
                    return false;
                }
            }
            Ok(_) => at.push(name),
            Err(_) => return true,
        }
    }
    true
}

/// What the copy needs to know of a container, read from the file once
/// (the project itself stays on this thread).
struct Target {
    name: String,
    instance: String,
    /// The configured dev user.
    user: String,
}

struct Targets(Vec<Target>);

impl Targets {
    fn of(project: &Project, names: &[String]) -> Targets {
        Targets(
            names
                .iter()
                .map(|name| Target {
                    name: name.clone(),
                    instance: project.instance_name(name),
                    user: project.dev_user(name).0,
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> &Target {
        self.0
            .iter()
            .find(|t| t.name == name)
            .expect("bulk::run is given only the names the targets were read for")
    }
}

/// The containers `pattern` names: `*` all, `PREFIX*` those starting with
/// PREFIX (lxc-dev-manager's globs), else the one named; sorted.
fn matching(project: &Project, pattern: &str) -> Result<Vec<String>> {
    let names = project.config().containers.keys();
    let Some(prefix) = pattern.strip_suffix('*') else {
        project.container(pattern)?;
        return Ok(vec![pattern.to_string()]);
    };
    if prefix.contains('*') {
        return Err(Error::Usage(format!(
            "`{pattern}`: a glob is `*` or a prefix followed by `*`"
        ))
        .into());
    }
    let mut found: Vec<String> = names.filter(|n| n.starts_with(prefix)).cloned().collect();
    found.sort();
    if found.is_empty() {
        return Err(Error::NotFound(format!(
            "no container matches `{pattern}` in `{}`",
            project.path().display()
        ))
        .into());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_places_are_names_or_globs_before_a_colon() {
        assert_eq!(
            place("dev:/tmp/x"),
            Place::Container {
                pattern: "dev",
                path: "/tmp/x"
            }
        );
        assert_eq!(
            place("dev*:~/a"),
            Place::Container {
                pattern: "dev*",
                path: "~/a"
            }
        );
        assert_eq!(place("./a:b"), Place::Host("./a:b"));
        assert_eq!(place("/tmp/x"), Place::Host("/tmp/x"));
        assert_eq!(place(":x"), Place::Host(":x"));
    }

    #[test]
    fn pulled_trees_keep_only_links_into_the_copy_and_no_setuid() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("f"), "x").unwrap();
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(target, root.join(at)).unwrap();
        };
        link("f", "in");
        link("../f", "sub/up-in");
        link("../../x", "sub/up-out");
        link("/etc/shadow", "abs-out");
        // The client's absolute spelling of a link inside the copied path.
        link("/srv/tree/f", "sub/abs-in");
        // Climbing out through the copy's own links: `d` is the copy's
        // top, so `d/d/..` is above it.
        link(".", "d");
        link("d/d/d/../..", "e");
        link("../d/d/../..", "sub/g");
        link("d/sub/../f", "through-in");
        link("loop", "loop");
        link("missing/x", "dangling");
        // Set-user-ID, and writable by others: not kept.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("f"), std::fs::Permissions::from_mode(0o6757)).unwrap();
        let dropped = make_pulled_tree_safe(&root, Path::new("/srv/tree")).unwrap();
        let names: Vec<String> = dropped
            .iter()
            .map(|(l, _)| l.display().to_string())
            .collect();
        assert_eq!(names, ["abs-out", "e", "loop", "sub/g", "sub/up-out"]);
        assert_eq!(
            std::fs::metadata(root.join("f"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o755
        );
        assert_eq!(
            std::fs::read_link(root.join("through-in")).unwrap(),
            Path::new("d/sub/../f")
        );
        assert!(std::fs::symlink_metadata(root.join("dangling")).is_ok());
        let read = |at: &str| std::fs::read_link(root.join(at)).unwrap();
        assert_eq!(read("in"), Path::new("f"));
        assert_eq!(read("sub/up-in"), Path::new("../f"));
        assert_eq!(read("sub/abs-in"), Path::new("../f"));
        assert_eq!(
            std::fs::read_to_string(root.join("sub/abs-in")).unwrap(),
            "x"
        );
    }
}
