//! lxdev's own folders inside a project (`.lxdev/`, `.lxdev/locks/`, the
//! fake runtime's state): made and entered one name at a time, never
//! through a symlink.
//!
//! A cloned repository can ship `.lxdev` (or any folder below it) as a
//! symlink to somewhere else; following it would make lock files and
//! instance folders wherever it points. So each name is opened relative to
//! its already-opened parent with `O_NOFOLLOW | O_DIRECTORY` (openat(2)),
//! and a name that is a symlink or not a folder is refused (exit 77).
//!
//! Limits: the returned path is checked, not held open: a process of this
//! machine's user that swaps a folder for a symlink after the check is
//! not stopped (that user could write the target anyway). The project
//! directory itself, which the user chose, is entered as given.

use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;

/// `base/parts...`, each part made if missing (mode 0755, less the umask)
/// and checked to be a real folder.
pub fn ensure(base: &Path, parts: &[&str]) -> anyhow::Result<PathBuf> {
    walk(base, parts, true).map(|found| found.expect("made when missing"))
}

/// `base/parts...` when every part exists as a real folder; `None` when
/// one is missing (nothing is made). A part that is a symlink or a file
/// is refused, as by [`ensure`].
pub fn existing(base: &Path, parts: &[&str]) -> anyhow::Result<Option<PathBuf>> {
    walk(base, parts, false)
}

fn walk(base: &Path, parts: &[&str], create: bool) -> anyhow::Result<Option<PathBuf>> {
    let failed = |path: &Path, err: Errno| {
        anyhow::Error::new(std::io::Error::from(err))
            .context(format!("failed to open folder `{}`", path.display()))
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(base, flags, Mode::empty()).map_err(|err| failed(base, err))?;
    let mut path = base.to_path_buf();
    for part in parts {
        path.push(part);
        if create {
            match rustix::fs::mkdirat(&dir, *part, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(err) => return Err(failed(&path, err)),
            }
        }
        dir = match rustix::fs::openat(&dir, *part, flags | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if !create => return Ok(None),
            // open(2): ELOOP for a symlink under O_NOFOLLOW, ENOTDIR for
            // anything that is not a folder under O_DIRECTORY (a symlink
            // too, when both are given: Linux checks O_DIRECTORY first).
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let link = rustix::fs::statat(&dir, *part, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|stat| {
                        rustix::fs::FileType::from_raw_mode(stat.st_mode)
                            == rustix::fs::FileType::Symlink
                    });
                let what = if link {
                    "a symbolic link"
                } else {
                    "not a folder"
                };
                return Err(untrusted(&path, what).into());
            }
            Err(err) => return Err(failed(&path, err)),
        };
    }
    Ok(Some(path))
}

fn untrusted(path: &Path, what: &str) -> Error {
    Error::PermissionDenied(format!(
        "refusing to use `{}`: it is {what}, and lxdev keeps its own state only in real \
         folders of the project (a cloned repository may have shipped it): remove it and run \
         the command again",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_made_once_and_links_refused() {
        let dir = tempfile::tempdir().unwrap();
        let made = ensure(dir.path(), &[".lxdev", "locks"]).unwrap();
        assert!(made.is_dir());
        assert_eq!(ensure(dir.path(), &[".lxdev", "locks"]).unwrap(), made);
        assert_eq!(existing(dir.path(), &[".lxdev", "x"]).unwrap(), None);

        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("linked")).unwrap();
        for create in [true, false] {
            let err = walk(dir.path(), &["linked", "locks"], create).unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        std::fs::write(dir.path().join("file"), "").unwrap();
        let err = ensure(dir.path(), &["file", "x"]).unwrap_err();
        assert!(err.to_string().contains("not a folder"), "{err}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}
