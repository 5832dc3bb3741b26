//! Exclusive advisory lock on a separate lock file (`containers.yaml.lock`).
//!
//! Invariants:
//! - flock(2) semantics through fs4: the lock belongs to an open file
//!   description, so it excludes other processes *and* other threads of this
//!   process that open the file themselves (POSIX fcntl locks would not).
//! - The lock file is never deleted: a waiter holding a descriptor to a
//!   deleted inode would "acquire" a lock nobody else sees.
//! - The descriptor is opened close-on-exec (std does this), so spawned
//!   runtime commands never inherit the lock.
//! - The kernel drops the lock when the holder dies, even by SIGKILL.
//!
//! This is the only module that calls file-lock methods (see `clippy.toml`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Who holds (or last held) a lock, as written into the lock file and as
/// found in `/proc/locks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    /// RFC 3339 UTC time the lock was taken.
    pub since: String,
}

/// How a waiter waits for a busy lock. The default was chosen by
/// `scripts/bench.sh`; `LXDEV_LOCK_WAIT=blocking|backoff` overrides it so the
/// benchmark can compare the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// A helper thread blocks in flock(LOCK_EX); the caller waits on a channel
    /// with a deadline. If the thread acquires after the caller gave up, it
    /// releases at once.
    Blocking,
    /// Poll with LOCK_NB, sleeping 1 ms doubling up to a low cap.
    Backoff,
}

/// Waiting for the lock ran past the timeout. The data file was not touched.
#[derive(Debug, thiserror::Error)]
#[error(
    "timed out after {waited:.1?} waiting for the lock on `{path}`, held by {holder}; \
     wait for it to finish, or raise --lock-timeout / LXDEV_LOCK_TIMEOUT",
    path = path.display()
)]
pub struct LockTimeout {
    pub path: PathBuf,
    /// Human description of the holder, e.g. `pid 42 (lxdev container create dev busybox)`.
    pub holder: String,
    pub waited: Duration,
}

/// A held exclusive lock; released when dropped (also on panic unwind).
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock if it is free right now; `Ok(None)` if it is busy.
    /// Creates the lock file if missing.
    pub fn try_acquire(path: &Path) -> std::io::Result<Option<FileLock>> {
        todo!("{path:?}")
    }

    /// Takes the lock, waiting at most `timeout` (zero: fail at once if busy).
    /// If the lock is still busy after `notice_after`, calls `on_wait` once
    /// with the current holder description (see [`describe_holder`]).
    /// Errors: [`LockTimeout`] (downcastable through anyhow), or I/O errors
    /// with context naming the lock file.
    pub fn acquire(
        path: &Path,
        timeout: Duration,
        strategy: WaitStrategy,
        notice_after: Duration,
        on_wait: &mut dyn FnMut(&str),
    ) -> anyhow::Result<FileLock> {
        todo!(
            "{path:?} {timeout:?} {strategy:?} {notice_after:?} {:p}",
            on_wait
        )
    }

    /// Records the holder in the lock file (truncate, write; no fsync: it is
    /// advice for humans and waiters, not data).
    pub fn write_holder(&mut self, holder: &LockHolder) -> std::io::Result<()> {
        todo!("{holder:?}")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl WaitStrategy {
    /// The strategy named by `LXDEV_LOCK_WAIT`, else the measured default.
    pub fn from_env() -> WaitStrategy {
        todo!()
    }
}

/// Describes who holds the lock on `path` right now, for messages:
/// `pid 42 (lxdev container create dev busybox)`. Looks the holder up in
/// `/proc/locks` by the lock file's device and inode (this finds holders
/// that are not lxdev, e.g. `flock(1)`), then falls back to the holder
/// written in the lock file, then to "another process".
pub fn describe_holder(path: &Path) -> String {
    todo!("{path:?}")
}
