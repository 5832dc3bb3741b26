//! Atomic replacement of a file: readers see the old or the new content,
//! never a mix, and a crash at any instant leaves one of the two.
//!
//! Steps (see rename(2), fsync(2)): resolve symlinks so a symlinked file stays
//! a symlink; create a temp file in the target's own directory (rename is only
//! atomic within a file system); write; copy the old file's mode (and
//! owner/group when running as root); fsync the file; rename over the target;
//! fsync the directory so the rename itself is durable. On any failure the
//! target is untouched and the temp file is removed. A SIGKILL can still leave
//! a temp file: the next save (which holds the lock, so no other writer is
//! mid-save) sweeps them.
//!
//! Limits: a failure of the final directory fsync is reported as an error
//! although the rename already happened (the new content is visible but may
//! not survive a power cut), so the caller never acknowledges a change that
//! is not durable. Extended attributes, ACLs and hard links to the old inode
//! are not carried over (a rename makes a new inode by design).

use std::fs::{self, File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Temp files are named `.<file name>.tmp-<random>` beside the target.
pub fn temp_prefix(target_file_name: &str) -> String {
    format!(".{target_file_name}.tmp-")
}

/// Atomically replaces `path` (following symlinks) with `contents`.
/// The caller must hold the lock that serializes writers of `path`.
/// Sweeps stale temp files first.
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    replace(path, contents).with_context(|| format!("failed to write `{}`", path.display()))
}

/// Temp files left beside `path` (after following symlinks) by a writer that
/// was killed mid-save.
pub fn leftover_temp_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let target = resolve_symlinks(path)?;
    let (dir, name) = split_target(&target)?;
    temp_files_in(&dir, &name)
}

/// Removes the temp files [`leftover_temp_files`] finds; returns how many.
/// Only call while holding the writers' lock.
pub fn sweep_leftover_temp_files(path: &Path) -> std::io::Result<usize> {
    let target = resolve_symlinks(path)?;
    let (dir, name) = split_target(&target)?;
    sweep(&dir, &name)
}

fn replace(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let target = resolve_symlinks(path)
        .with_context(|| format!("failed to resolve symlink `{}`", path.display()))?;
    let (dir, name) = split_target(&target)?;
    sweep(&dir, &name).with_context(|| {
        format!(
            "failed to remove leftover temp files in `{}`",
            dir.display()
        )
    })?;

    let old = match fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(err).with_context(|| format!("failed to stat `{}`", target.display()));
        }
    };

    let prefix = temp_prefix(&name);
    // A new file gets 0666 minus the umask, as if created by open(2);
    // tempfile's default 0600 would silently hide it from the group.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(&dir)
        .with_context(|| format!("failed to create a temp file in `{}`", dir.display()))?;
    // From here on, an early return drops `temp`, which deletes it.
    let temp_path = temp.path().to_path_buf();
    let temp_context = || format!("failed to write temp file `{}`", temp_path.display());

    temp.write_all(contents).with_context(temp_context)?;
    if let Some(old) = &old {
        copy_owner_and_mode(temp.as_file(), old).with_context(temp_context)?;
    }
    temp.as_file().sync_all().with_context(temp_context)?;

    temp.persist(&target).map_err(|err| {
        // Dropping the handed-back file removes the temp file.
        drop(err.file);
        anyhow::Error::new(err.error).context(format!(
            "failed to rename `{}` to `{}`",
            temp_path.display(),
            target.display()
        ))
    })?;

    File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("failed to sync directory `{}`", dir.display()))
}

/// Carries the old file's owner and mode over to the temp file. Owner first:
/// chown(2) clears set-user/group-ID bits, chmod then restores them.
fn copy_owner_and_mode(temp: &File, old: &fs::Metadata) -> io::Result<()> {
    // Only root may give a file away; the temp file was created with our
    // fsuid, so its owner tells whether we are root without libc.
    if temp.metadata()?.uid() == 0 && (old.uid() != 0 || old.gid() != 0) {
        std::os::unix::fs::fchown(temp, Some(old.uid()), Some(old.gid()))?;
    }
    temp.set_permissions(Permissions::from_mode(old.mode() & 0o7777))
}

/// Follows symlinks at `path` itself (not in its parents) to the file that
/// should be replaced, even when the final target does not exist yet, so
/// replacing it keeps the symlink in place.
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    // Linux's own limit on symlink hops (path_resolution(7)).
    const MAX_HOPS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::other(format!(
        "too many levels of symbolic links at `{}`",
        path.display()
    )))
}

/// The directory to put temp files in and the target's file name.
fn split_target(target: &Path) -> io::Result<(PathBuf, String)> {
    let name = target
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` does not name a UTF-8 file", target.display()),
            )
        })?;
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_string()))
}

fn temp_files_in(dir: &Path, name: &str) -> io::Result<Vec<PathBuf>> {
    let prefix = temp_prefix(name);
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        // Only regular files: a directory that happens to match is not ours.
        if file_name.len() > prefix.len()
            && file_name.starts_with(&prefix)
            && entry.file_type()?.is_file()
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

fn sweep(dir: &Path, name: &str) -> io::Result<usize> {
    let mut removed = 0;
    for temp in temp_files_in(dir, name)? {
        match fs::remove_file(&temp) {
            Ok(()) => removed += 1,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(removed)
}
