//! Files of a fake instance: its `rootfs/` folder on the host, copied into
//! and out of whole, with who owns each copied path recorded in `owners`
//! (`cp` cannot change owners without root).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::FakeRuntime;
use crate::error::refused;
use crate::runtime::backend::Files;
use crate::runtime::rules::{self, check_container_path};
use crate::runtime::types::{FileKind, Push};

impl FakeRuntime {
    /// The instance's directory, if it runs: files are copied only to and
    /// from a running instance, as with LXD (whose scripts need `exec`).
    fn require_running(&self, instance: &str) -> Result<PathBuf> {
        let dir = self.require_instance(instance)?;
        if let Some(found) = self.read_instance(instance)? {
            rules::must_run(instance, &found).map_err(refused)?;
        }
        Ok(dir)
    }

    /// Where path `path` of `instance` is on the host. A real container
    /// resolves a symlink inside itself; this one is a host folder, where a
    /// symlink would lead out of it, so none is followed on the way: every
    /// folder from `rootfs` down to the path's own folder must be real.
    fn file_path(&self, instance: &str, path: &str) -> Result<PathBuf> {
        check_container_path(path).map_err(|why| anyhow::anyhow!(why))?;
        let rootfs = self.dir(instance).join("rootfs");
        let host = rootfs.join(path.trim_start_matches('/'));
        let mut folder = rootfs.clone();
        let parents = Path::new(path.trim_start_matches('/'))
            .parent()
            .unwrap_or(Path::new(""));
        for part in std::iter::once(None).chain(parents.components().map(Some)) {
            if let Some(part) = part {
                folder.push(part);
            }
            if std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_symlink()) {
                return Err(refused(anyhow::anyhow!(
                    "fake runtime: `{path}` in `{instance}` passes through a symlink; the fake \
                     runtime keeps a container as a host folder and follows no link in it"
                )));
            }
        }
        Ok(host)
    }

    /// Records `path` (and everything under it) as `owner`'s.
    fn record_owner(
        &self,
        instance: &str,
        root: &Path,
        path: &str,
        owner: (u32, u32),
    ) -> Result<()> {
        use std::io::Write as _;
        let mut lines = String::new();
        let mut walk = vec![(root.to_path_buf(), path.to_string())];
        while let Some((host, inside)) = walk.pop() {
            lines.push_str(&format!("{}:{} {inside}\n", owner.0, owner.1));
            if host.is_dir() && !host.is_symlink() {
                for entry in std::fs::read_dir(&host)? {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    walk.push((
                        entry.path(),
                        format!("{}/{name}", inside.trim_end_matches('/')),
                    ));
                }
            }
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir(instance).join("owners"))?
            .write_all(lines.as_bytes())?;
        Ok(())
    }
}

impl Files for FakeRuntime {
    fn file_kind(&self, instance: &str, path: &str) -> Result<Option<FileKind>> {
        self.require_running(instance)?;
        let host = self.file_path(instance, path)?;
        Ok(match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.is_dir() => Some(FileKind::Dir),
            Ok(meta) if meta.is_symlink() => Some(FileKind::Link),
            Ok(_) => Some(FileKind::File),
            Err(_) => None,
        })
    }

    fn push(&self, instance: &str, push: &Push<'_>) -> Result<()> {
        let (source, dest, owner) = (push.source, push.dest, push.owner);
        self.require_running(instance)?;
        let target = self.file_path(instance, dest)?;
        let parent = target
            .parent()
            .ok_or_else(|| anyhow::anyhow!("`{dest}` names no file"))?;
        // The parents to make, outermost first, for their owner record.
        let mut missing = Vec::new();
        let (mut host, mut inside) = (
            parent.to_path_buf(),
            dest.rsplit_once('/').map_or("", |p| p.0).to_string(),
        );
        while !host.exists() && !inside.is_empty() {
            missing.push((host.clone(), inside.clone()));
            host = host.parent().map(Path::to_path_buf).unwrap_or_default();
            inside = inside.rsplit_once('/').map_or("", |p| p.0).to_string();
        }
        std::fs::create_dir_all(parent)
            .with_context(|| format!("fake runtime: failed to make `{}`", parent.display()))?;
        // Copied beside the target first, then renamed: a failure leaves
        // nothing at `dest`.
        let staging = tempfile::Builder::new()
            .prefix(".lxdev-cp.")
            .tempdir_in(parent)
            .context("fake runtime: failed to make a staging directory")?;
        let copy = staging.path().join("copy");
        copy_tree(source, &copy)?;
        std::fs::rename(&copy, &target)
            .with_context(|| format!("fake runtime: failed to move the copy to `{dest}`"))?;
        let ids = owner.map_or((0, 0), |u| (u.uid, u.gid));
        // Parents made inside the owner's home are the owner's; the rest
        // root's, as LXD's backend does.
        let home = owner.map_or("/root".to_string(), |u| format!("{}/", u.home));
        for (host, inside) in missing.iter().rev() {
            let ids = if inside.starts_with(&home) {
                ids
            } else {
                (0, 0)
            };
            self.record_owner(instance, &PathBuf::from("/nonexistent"), inside, ids)
                .with_context(|| format!("fake runtime: failed to record `{}`", host.display()))?;
        }
        self.record_owner(instance, &target, dest, ids)
    }

    fn pull_into(&self, instance: &str, source: &str, dir: &Path) -> Result<()> {
        self.require_running(instance)?;
        let from = self.file_path(instance, source)?;
        let name = from
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("`{source}` names no file"))?;
        copy_tree(&from, &dir.join(name))
    }
}

/// Copies a file, a symlink (as a symlink) or a directory tree.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(from)
        .with_context(|| format!("fake runtime: cannot read `{}`", from.display()))?;
    if meta.is_symlink() {
        let link = std::fs::read_link(from)?;
        std::os::unix::fs::symlink(link, to)?;
    } else if meta.is_dir() {
        std::fs::create_dir(to)
            .with_context(|| format!("fake runtime: failed to make `{}`", to.display()))?;
        // Its mode, as a copy through LXD keeps it: never wider than the
        // source's (a 0700 folder stays 0700).
        std::fs::set_permissions(to, meta.permissions())?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to).with_context(|| {
            format!(
                "fake runtime: failed to copy `{}` to `{}`",
                from.display(),
                to.display()
            )
        })?;
    }
    Ok(())
}
