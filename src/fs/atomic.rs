//! Atomic replacement of a file: readers see the old or the new content,
//! never a mix, and a crash at any instant leaves one of the two.
//!
//! Steps (see rename(2), fsync(2)): resolve symlinks so a symlinked file stays
//! a symlink; create a temp file in the target's own directory (rename is only
//! atomic within a file system); write; copy the old file's mode (and
//! owner/group when running as root); fsync the file; rename over the target;
//! fsync the directory so the rename itself is durable. On any failure the
//! target is untouched and the temp file is removed. A SIGKILL can still leave
//! a temp file: the next save sweeps them. A writer holds a flock on its temp
//! file for as long as the file is live, and the sweep skips a locked one, so
//! it never deletes a temp file another writer still holds (a writer that
//! reached the same file through another path, or another tool).
//!
//! `write_atomic` runs the steps in one go; `stage`, `Staged::rename` and
//! `Renamed::sync` split them, so a caller can validate the content while it
//! is written, and sync the directory after releasing its lock (and before
//! acknowledging the change).
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

use super::lock;

/// Temp files are named `.<file name>.tmp-<random>` beside the target.
pub fn temp_prefix(target_file_name: &str) -> String {
    format!(".{target_file_name}.tmp-")
}

/// Atomically replaces `path` (following symlinks) with `contents`.
/// The caller must hold the lock that serializes writers of `path`.
/// Sweeps stale temp files first.
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    stage(path, contents)?.rename()?.sync()
}

/// The first step of [`write_atomic`], for callers that overlap other work
/// with the write: the new content sits in a synced temp file beside the
/// target. Sweeps stale temp files first, so call it under the lock.
pub fn stage(path: &Path, contents: &[u8]) -> anyhow::Result<Staged> {
    stage_temp(path, contents).with_context(|| format!("failed to write `{}`", path.display()))
}

/// New content written and synced beside its target, not yet in place.
/// Dropping it removes the temp file and leaves the target as it was.
#[must_use = "dropping a staged write discards it"]
#[derive(Debug)]
pub struct Staged {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
    dir: PathBuf,
    path: PathBuf,
}

/// The new content is in place for every reader; it survives a crash of
/// the machine only once the directory is synced.
#[must_use = "the rename is durable only after `sync`"]
#[derive(Debug)]
pub struct Renamed {
    dir: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Renames the temp file over the target: the atomic step.
    pub fn rename(self) -> anyhow::Result<Renamed> {
        let temp_path = self.temp.path().to_path_buf();
        self.temp.persist(&self.target).map_err(|err| {
            // Dropping the handed-back file removes the temp file.
            drop(err.file);
            anyhow::Error::new(err.error).context(format!(
                "failed to write `{}`: failed to rename `{}` to `{}`",
                self.path.display(),
                temp_path.display(),
                self.target.display()
            ))
        })?;
        Ok(Renamed {
            dir: self.dir,
            path: self.path,
        })
    }
}

impl Renamed {
    /// Syncs the directory, making the rename durable (rename(2) alone
    /// is not, see fsync(2)).
    pub fn sync(self) -> anyhow::Result<()> {
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .with_context(|| {
                format!(
                    "failed to write `{}`: failed to sync directory `{}`",
                    self.path.display(),
                    self.dir.display()
                )
            })
    }
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

fn stage_temp(path: &Path, contents: &[u8]) -> anyhow::Result<Staged> {
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
    // Marks the temp file live for sweeps (see the module comment); the
    // lock goes when the file is closed, after the rename or on drop.
    lock::try_lock_file(temp.as_file()).with_context(temp_context)?;

    temp.write_all(contents).with_context(temp_context)?;
    if let Some(old) = &old {
        copy_owner_and_mode(temp.as_file(), old).with_context(temp_context)?;
    }
    temp.as_file().sync_all().with_context(temp_context)?;

    Ok(Staged {
        temp,
        target,
        dir,
        path: path.to_path_buf(),
    })
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
pub fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
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
            && !held_by_a_live_writer(&entry.path())?
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Whether a writer still holds `temp` open and locked (see `stage_temp`).
/// A file that vanished meanwhile counts as held: it is not ours to sweep.
fn held_by_a_live_writer(temp: &Path) -> io::Result<bool> {
    match File::open(temp) {
        Ok(file) => Ok(!lock::try_lock_file(&file)?),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(err) => Err(err),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o7777
    }

    /// Every entry in `dir` that looks like one of our temp files, whatever
    /// the target name.
    fn temp_like_entries(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn replaces_the_content_and_creates_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        write_atomic(&path, b"first\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first\n");
        write_atomic(&path, b"second, longer\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer\n");
        write_atomic(&path, b"").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert!(temp_like_entries(dir.path()).is_empty());
        assert!(leftover_temp_files(&path).unwrap().is_empty());
    }

    #[test]
    fn keeps_the_mode_of_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        for wanted in [0o600, 0o640, 0o664, 0o400] {
            fs::write(&path, "old").unwrap();
            fs::set_permissions(&path, Permissions::from_mode(wanted)).unwrap();
            write_atomic(&path, b"new").unwrap();
            assert_eq!(mode(&path), wanted, "mode {wanted:o}");
            assert_eq!(fs::read(&path).unwrap(), b"new");
            fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        }
    }

    #[test]
    fn keeps_owner_and_group_when_root() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        fs::write(&path, "old").unwrap();
        if fs::metadata(&path).unwrap().uid() != 0 {
            return; // only root can give files away
        }
        std::os::unix::fs::chown(&path, Some(1234), Some(5678)).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o2640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
        assert_eq!(meta.mode() & 0o7777, 0o2640, "chown must not eat setgid");
    }

    #[test]
    fn symlink_stays_a_symlink_and_its_target_changes() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("data.yaml");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, Permissions::from_mode(0o600)).unwrap();
        // A chain of two links, the first relative.
        let middle = dir.path().join("middle.yaml");
        symlink(&real, &middle).unwrap();
        let link = dir.path().join("containers.yaml");
        symlink("middle.yaml", &link).unwrap();

        write_atomic(&link, b"new").unwrap();

        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::symlink_metadata(&middle)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(mode(&real), 0o600);
        // The temp file lived beside the real file, not beside the link.
        assert!(temp_like_entries(dir.path()).is_empty());
        assert!(temp_like_entries(&real_dir).is_empty());
    }

    #[test]
    fn dangling_symlink_gets_its_target_created() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("containers.yaml");
        symlink("elsewhere.yaml", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(dir.path().join("elsewhere.yaml")).unwrap(), b"new");
    }

    #[test]
    fn stale_temp_files_are_found_and_swept_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        fs::write(&path, "old").unwrap();
        let stale = dir
            .path()
            .join(format!("{}abc123", temp_prefix("containers.yaml")));
        fs::write(&stale, "half a write").unwrap();
        // Neighbours that must survive: another file's temp, the lock file,
        // and the bare prefix with no random part.
        let other = dir
            .path()
            .join(format!("{}abc123", temp_prefix("other.yaml")));
        fs::write(&other, "x").unwrap();
        let lock = dir.path().join("containers.yaml.lock");
        fs::write(&lock, "").unwrap();
        let bare = dir.path().join(temp_prefix("containers.yaml"));
        fs::write(&bare, "").unwrap();

        assert_eq!(leftover_temp_files(&path).unwrap(), vec![stale.clone()]);
        write_atomic(&path, b"new").unwrap();
        assert!(!stale.exists());
        assert!(other.exists() && lock.exists() && bare.exists());
        assert_eq!(fs::read(&path).unwrap(), b"new");

        fs::write(&stale, "again").unwrap();
        assert_eq!(sweep_leftover_temp_files(&path).unwrap(), 1);
        assert_eq!(sweep_leftover_temp_files(&path).unwrap(), 0);
        assert!(!stale.exists());
    }

    #[test]
    fn missing_parent_directory_fails_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("containers.yaml");
        let err = write_atomic(&path, b"new").unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.starts_with(&format!("failed to write `{}`", path.display())),
            "{message}"
        );
        assert!(!path.exists());
        assert!(temp_like_entries(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_leaves_the_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // rename(2) of a file over a non-empty directory fails (EISDIR), after
        // the temp file was written and synced: the late-failure path.
        let path = dir.path().join("containers.yaml");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "keep").unwrap();
        let err = write_atomic(&path, b"new").unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("failed to rename"), "{message}");
        assert!(fs::metadata(&path).unwrap().is_dir());
        assert_eq!(fs::read(path.join("inside")).unwrap(), b"keep");
        assert!(
            temp_like_entries(dir.path()).is_empty(),
            "temp file left behind"
        );
    }

    #[test]
    fn readers_see_only_complete_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers.yaml");
        // Different lengths and bytes, large enough to need several writes,
        // so a torn read would show up as a prefix, a mix or a truncation.
        let a = vec![b'a'; 256 * 1024];
        let b = vec![b'b'; 100 * 1024 + 7];
        write_atomic(&path, &a).unwrap();
        let done = AtomicBool::new(false);
        let reads = thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0usize;
                while !done.load(Ordering::SeqCst) {
                    let seen = fs::read(&path).unwrap();
                    assert!(
                        seen == a || seen == b,
                        "torn read: {} bytes, first {:?}, last {:?}",
                        seen.len(),
                        seen.first(),
                        seen.last()
                    );
                    reads += 1;
                }
                reads
            });
            for i in 0..200 {
                write_atomic(&path, if i % 2 == 0 { &b } else { &a }).unwrap();
            }
            done.store(true, Ordering::SeqCst);
            reader.join().unwrap()
        });
        assert!(reads > 10, "the reader barely ran ({reads} reads)");
        assert!(temp_like_entries(dir.path()).is_empty());
    }
}
