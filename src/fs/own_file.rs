//! Files lxdev writes outside a project (its SSH config and known hosts
//! under `~/.ssh/lxdev/`, the `Include` it adds to `~/.ssh/config`):
//! replaced whole, atomically, never written through a symlink.
//!
//! A new version is written to a temp file made with `O_CREAT | O_EXCL`
//! in the target's folder (so nothing planted there is opened), synced,
//! given its mode, renamed over the name and the folder synced: a reader
//! sees the old file or the new one, a crash leaves one of them, and a
//! symlink at the name is replaced by the file, never followed. Reading
//! one of lxdev's own files opens it with `O_NOFOLLOW`.
//!
//! Limits: the caller serializes writers (the lock in `~/.ssh/lxdev`); a
//! temp file left by a kill is named `.NAME.tmp-*` and removed by the
//! next write of the same name.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// How far a replacement is made to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Synced, and its folder: it survives a power loss once this returns.
    Synced,
    /// Renamed into place only: whole or absent for every reader, and
    /// after a kill; a power loss may take it back (a progress note whose
    /// loss costs only detail).
    Unsynced,
}

/// Replaces `dir/name` with `contents`, mode `mode` (see the module
/// comment). `dir` must be a real folder the caller checked.
pub fn replace(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<()> {
    replace_with(dir, name, contents, mode, Durability::Synced)
}

/// [`replace`], synced or not as `durability` says.
pub fn replace_with(
    dir: &Path,
    name: &str,
    contents: &[u8],
    mode: u32,
    durability: Durability,
) -> Result<()> {
    let path = dir.join(name);
    let context = || format!("failed to write `{}`", path.display());
    let prefix = super::atomic::temp_prefix(name);
    sweep(dir, &prefix);
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .with_context(context)?;
    temp.write_all(contents).with_context(context)?;
    // The umask may have taken bits away at create: set them exactly.
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(context)?;
    if durability == Durability::Synced {
        temp.as_file().sync_all().with_context(context)?;
    }
    temp.persist(&path)
        .map_err(|err| err.error)
        .with_context(context)?;
    if durability == Durability::Unsynced {
        return Ok(());
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(context)
}

/// The text of `path`, opened without following a symlink there: `None`
/// when there is no file (or a symlink, which lxdev never made and will
/// replace).
pub fn read(path: &Path) -> Result<Option<String>> {
    // O_NONBLOCK: a FIFO planted at the name must not hang the open; it
    // is then not a regular file, and read as none.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => {
            let regular = rustix::fs::fstat(&fd)
                .is_ok_and(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode).is_file());
            if !regular {
                return Ok(None);
            }
            let mut text = String::new();
            std::fs::File::from(fd)
                .read_to_string(&mut text)
                .with_context(|| format!("failed to read `{}`", path.display()))?;
            Ok(Some(text))
        }
        Err(Errno::NOENT | Errno::LOOP) => Ok(None),
        Err(err) => Err(std::io::Error::from(err))
            .with_context(|| format!("failed to read `{}`", path.display())),
    }
}

/// Removes temp files a killed writer of this name left in `dir`.
fn sweep(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_symlink_at_the_name_is_replaced_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "theirs").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("known_hosts")).unwrap();
        assert_eq!(read(&dir.path().join("known_hosts")).unwrap(), None);
        replace(dir.path(), "known_hosts", b"ours\n", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "theirs");
        let meta = std::fs::symlink_metadata(dir.path().join("known_hosts")).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(
            read(&dir.path().join("known_hosts")).unwrap().as_deref(),
            Some("ours\n")
        );
        // Nothing but the two files is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_fifo_at_the_name_reads_as_none_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("note");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(read(&fifo).unwrap(), None);
    }
}
