//! The guard: an exclusive advisory lock on a separate lock file
//! (`containers.yaml.lock`), taken at once or waited for with a deadline.
//! Who holds a lock, and how that is written down, is `holder.rs`.
//!
//! Invariants:
//! - flock(2) semantics: the lock belongs to an open file description, so
//!   it excludes other processes *and* other threads of this process that
//!   open the file themselves (POSIX fcntl locks would not). Every acquire
//!   therefore opens its own `File`; nothing here dups one.
//! - The lock file is never deleted: a waiter holding a descriptor to a
//!   deleted inode would "acquire" a lock nobody else sees
//!   (tox-dev/filelock#574).
//! - The descriptor is opened close-on-exec (std does this), so spawned
//!   runtime commands never inherit the lock.
//! - The kernel drops the lock when the holder dies, even by SIGKILL; the
//!   guard releases it by closing its descriptor on drop, panic unwind
//!   included.
//! - A waiter that gives up never ends up holding the lock: the blocking
//!   helper thread releases at once if it acquires after the deadline.
//! - The lock file is a file lxdev can trust, not whatever a cloned
//!   repository put at its path: it is opened with `O_NOFOLLOW` (a planted
//!   symlink is refused, never followed to the file it names), and the
//!   opened descriptor must be a regular file with one name (a hard link
//!   would make the holder note overwrite the file's other name). The
//!   note is only ever written over an empty file or an earlier note.
//! - A held lock guards the file at the path: after taking it, the locked
//!   inode is compared with the one now at the path, and the lock is taken
//!   again on the new one if the file was deleted or replaced meanwhile
//!   (the gix-lock and cargo approach), so `rm` of the lock file during a
//!   run cannot let two writers in at once.
//!
//! Limits: advisory only (a process that does not call flock is not
//! stopped); flock over NFS depends on the server. A waiter that timed out
//! leaves its helper thread parked in flock(2) until the holder releases or
//! the process exits. Dropping the guard while another thread of this
//! process is between fork and exec in a spawn delays the release until
//! that exec (O_CLOEXEC acts only at exec): microseconds, never a lost
//! exclusion.
//!
//! This is the only module that calls file-lock functions (see
//! `clippy.toml`), and it calls one API: rustix's `flock`. Not std's
//! `File::lock`, which says it "currently corresponds to" flock on Unix and
//! may change: lxdev needs flock(2) itself, to exclude lxc-dev-manager and
//! `flock(1)` on the same file and to find the holder among the `FLOCK`
//! lines of /proc/locks. Not fs4, which wraps the same rustix call.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rustix::fs::{FileType, FlockOperation};

use super::holder::{LockHolder, describe_holder, format_holder, is_holder_note};
use crate::error::Error;

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
    // No Drop impl: closing the only descriptor of this open file description
    // releases the flock (flock(2): "the lock is released ... when all
    // duplicate file descriptors have been closed"), and close-on-exec
    // guarantees no child holds a duplicate.
    file: File,
    path: PathBuf,
    /// The lock file's folder, locked too by [`FileLock::acquire_pinned`]
    /// (see there); released with the file's lock.
    _folder: Option<File>,
}

impl FileLock {
    /// Takes the lock if it is free right now; `Ok(None)` if it is busy.
    /// Creates the lock file if missing; refuses one that is not a plain
    /// file of its own (see the module's invariants).
    pub fn try_acquire(path: &Path) -> anyhow::Result<Option<FileLock>> {
        let context = || format!("failed to lock `{}`", path.display());
        loop {
            let file = open_lock_file(path)?;
            if !try_lock(&file).with_context(context)? {
                return Ok(None);
            }
            if still_at_path(&file, path).with_context(context)? {
                return Ok(Some(FileLock {
                    file,
                    path: path.to_path_buf(),
                    _folder: None,
                }));
            }
        }
    }

    /// Takes the lock, waiting at most `timeout` (zero: fail at once if busy).
    /// If the lock is still busy after `notice_after`, calls `on_wait` once
    /// with the current holder description (see [`describe_holder`]).
    /// Errors: [`LockTimeout`] (downcastable through anyhow), a refusal of
    /// a lock file lxdev may not trust ([`Error::PermissionDenied`]), or
    /// I/O errors with context naming the lock file.
    pub fn acquire(
        path: &Path,
        timeout: Duration,
        notice_after: Duration,
        on_wait: &mut dyn FnMut(&str),
    ) -> anyhow::Result<FileLock> {
        let start = Instant::now();
        let mut waiter = Waiter {
            path,
            deadline: start + timeout,
            notice_at: start + notice_after,
            noticed: false,
            on_wait,
        };
        let file = lock_file_at(path, &mut waiter, start)?;
        Ok(FileLock {
            file,
            path: path.to_path_buf(),
            _folder: None,
        })
    }

    /// [`FileLock::acquire`], with the lock file's folder locked first
    /// (flock(2) on a directory descriptor), under the same deadline.
    ///
    /// Why both: the file lock alone guards an inode, and a lock file
    /// deleted while its holder works (`rm -f containers.yaml.lock`) lets
    /// the next process lock a new inode beside a holder that still runs:
    /// the re-check after locking catches waiters, not that holder. A
    /// folder cannot be deleted while it holds the project file, so its
    /// lock excludes every lxdev whatever happens to the lock file; the
    /// file's lock still excludes lxc-dev-manager and `flock(1)`, which
    /// know only the file. Costs one more open and flock per transaction,
    /// and serializes two project files kept in one folder (`--config`).
    pub fn acquire_pinned(
        path: &Path,
        timeout: Duration,
        notice_after: Duration,
        on_wait: &mut dyn FnMut(&str),
    ) -> anyhow::Result<FileLock> {
        let start = Instant::now();
        let context = || format!("failed to lock `{}`", path.display());
        let folder_path = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let folder = File::open(folder_path).with_context(context)?;
        let mut waiter = Waiter {
            path,
            deadline: start + timeout,
            notice_at: start + notice_after,
            noticed: false,
            on_wait,
        };
        let folder = match try_lock(&folder).with_context(context)? {
            true => Some(folder),
            false => waiter.wait(folder).with_context(context)?,
        };
        let Some(folder) = folder else {
            return Err(timed_out(path, start));
        };
        let file = lock_file_at(path, &mut waiter, start)?;
        Ok(FileLock {
            file,
            path: path.to_path_buf(),
            _folder: Some(folder),
        })
    }

    /// Records the holder in the lock file (truncate, write; no fsync: it is
    /// advice for humans and waiters, not data). A file that holds anything
    /// but an earlier note (a lock file committed by mistake, another tool's)
    /// is left as it is: the note is advice, the file's text may not be.
    pub fn write_holder(&mut self, holder: &LockHolder) -> std::io::Result<()> {
        let mut current = [0u8; 4096];
        let read = self.file.read_at(&mut current, 0)?;
        let current = String::from_utf8_lossy(&current[..read]);
        if !current.is_empty() && !is_holder_note(&current) {
            return Ok(());
        }
        let text = format_holder(holder);
        // Write first, then cut the tail: a concurrent reader sees old or new
        // lines, never an empty file.
        self.file.write_all_at(text.as_bytes(), 0)?;
        self.file.set_len(text.len() as u64)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens (creating if missing) the lock file as a fresh open file
/// description, without following a symlink at its path (`O_NOFOLLOW`),
/// and refuses it unless the descriptor is a regular file with one name.
/// std opens with O_CLOEXEC.
fn open_lock_file(path: &Path) -> anyhow::Result<File> {
    // O_NONBLOCK: a FIFO planted at the path must not block the open; it
    // is then refused as not a regular file. It changes nothing for a
    // regular file, and flock(2) ignores it.
    let flags = (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits();
    let open = |write: bool| {
        OpenOptions::new()
            .read(true)
            .write(write)
            .create(write)
            .truncate(false)
            .mode(0o644)
            .custom_flags(flags as i32)
            .open(path)
    };
    let file = match open(true) {
        // flock(2) works on a read-only descriptor, so a lock file created
        // by another user, or on a read-only file system, can still be
        // locked; only write_holder fails then.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            open(false).or(Err(err))
        }
        other => other,
    };
    let file = match file {
        Ok(file) => file,
        // open(2): ELOOP is what O_NOFOLLOW gives for a symlink at the path.
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(untrusted(path, "it is a symbolic link").into());
        }
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::ISDIR.raw_os_error()) => {
            return Err(untrusted(path, "it is a folder").into());
        }
        Err(err) => {
            return Err(err).with_context(|| format!("failed to lock `{}`", path.display()));
        }
    };
    let stat =
        rustix::fs::fstat(&file).with_context(|| format!("failed to lock `{}`", path.display()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(untrusted(path, "it is not a regular file").into());
    }
    // No name at all: deleted between the open and now; the check after
    // locking takes it again on the file then at the path.
    if stat.st_nlink > 1 {
        return Err(untrusted(
            path,
            &format!(
                "it has {} names (hard links), and lxdev writes into it",
                stat.st_nlink
            ),
        )
        .into());
    }
    Ok(file)
}

/// Locks the file at `path` within `waiter`'s deadline, taking the lock
/// again on the file now at the path if it was deleted or replaced while
/// this process waited (its lock would guard an inode nobody else locks).
fn lock_file_at(path: &Path, waiter: &mut Waiter<'_>, start: Instant) -> anyhow::Result<File> {
    let context = || format!("failed to lock `{}`", path.display());
    loop {
        let file = open_lock_file(path)?;
        let acquired = if try_lock(&file).with_context(context)? {
            Some(file)
        } else {
            waiter.wait(file).with_context(context)?
        };
        let Some(file) = acquired else {
            return Err(timed_out(path, start));
        };
        if still_at_path(&file, path).with_context(context)? {
            return Ok(file);
        }
    }
}

fn timed_out(path: &Path, start: Instant) -> anyhow::Error {
    LockTimeout {
        path: path.to_path_buf(),
        holder: describe_holder(path),
        waited: start.elapsed(),
    }
    .into()
}

/// The refusal of a lock file lxdev may not use (exit 77): nothing was
/// locked, read or written.
fn untrusted(path: &Path, why: &str) -> Error {
    Error::PermissionDenied(format!(
        "refusing to use lock file `{}`: {why}; lxdev never writes through one it did not \
         make (a cloned repository may have shipped it): remove it and run the command again",
        path.display()
    ))
}

/// Whether `file` (locked) is still the file at `path`.
fn still_at_path(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = rustix::fs::fstat(file)?;
    match std::fs::symlink_metadata(path) {
        Ok(now) => Ok(now.dev() == held.st_dev && now.ino() == held.st_ino),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Non-blocking LOCK_EX; `Ok(false)` if another description holds it.
// The one place that takes the lock without waiting (clippy.toml reserves
// file-lock functions for this module).
#[allow(clippy::disallowed_methods)]
fn try_lock(file: &File) -> io::Result<bool> {
    match rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Takes LOCK_EX on `file` if no other open file description holds it.
/// Writers lock their temp file this way while it is live, so a sweep of
/// leftover temp files can tell a killed writer's file from a live one.
pub fn try_lock_file(file: &File) -> io::Result<bool> {
    try_lock(file)
}

/// Blocking LOCK_EX, retried on EINTR (flock(2) returns it when a signal
/// handler runs while waiting).
// The one place that blocks in flock(2) (clippy.toml reserves file-lock
// functions for this module).
#[allow(clippy::disallowed_methods)]
fn lock_blocking(file: &File) -> io::Result<()> {
    loop {
        match rustix::fs::flock(file, FlockOperation::LockExclusive) {
            Err(rustix::io::Errno::INTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

/// The waiting half of [`FileLock::acquire`], after the first try failed.
struct Waiter<'a> {
    path: &'a Path,
    deadline: Instant,
    notice_at: Instant,
    noticed: bool,
    on_wait: &'a mut dyn FnMut(&str),
}

impl Waiter<'_> {
    /// Calls `on_wait` the first time it is due; the lock is still busy
    /// whenever this runs.
    fn notice_if_due(&mut self, now: Instant) {
        if !self.noticed && now >= self.notice_at && now < self.deadline {
            self.noticed = true;
            (self.on_wait)(&describe_holder(self.path));
        }
    }

    /// The next instant the loop must wake for: the notice, then the deadline.
    fn next_wake(&self) -> Instant {
        if self.noticed || self.notice_at >= self.deadline {
            self.deadline
        } else {
            self.notice_at
        }
    }

    /// A helper thread blocks in flock(LOCK_EX); this thread waits on a
    /// channel with a deadline, waking once for the notice. If the helper
    /// acquires after we gave up, it releases at once. Chosen over polling
    /// with backoff by `scripts/bench.sh` (README, Benchmarks): the handoff
    /// is the kernel's wake-up, not the next poll.
    fn wait(&mut self, file: File) -> io::Result<Option<File>> {
        if Instant::now() >= self.deadline {
            // Timeout zero: no helper thread to park for nothing.
            return Ok(None);
        }
        // Capacity 1 so the helper never blocks on send: if nobody receives,
        // the File sits in the channel and is dropped (unlocked) with it.
        let (sender, receiver) = mpsc::sync_channel::<io::Result<File>>(1);
        let abandoned = Arc::new(AtomicBool::new(false));
        let helper_abandoned = Arc::clone(&abandoned);
        thread::Builder::new()
            .name("lxdev-lock-wait".into())
            .spawn(move || {
                let result = lock_blocking(&file).map(|()| file);
                if helper_abandoned.load(Ordering::SeqCst) {
                    // The caller already reported a timeout: release now
                    // rather than hold a lock nobody will use.
                    drop(result);
                    return;
                }
                // A failed send hands the File back inside the error; dropping
                // it releases the lock.
                let _ = sender.send(result);
            })?;

        loop {
            let now = Instant::now();
            if now >= self.deadline {
                break;
            }
            match receiver.recv_timeout(self.next_wake().saturating_duration_since(now)) {
                Ok(result) => return result.map(Some),
                Err(mpsc::RecvTimeoutError::Timeout) => self.notice_if_due(Instant::now()),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other("lock wait thread exited"));
                }
            }
        }
        abandoned.store(true, Ordering::SeqCst);
        // The helper may have acquired between the last wait and the flag;
        // taking that lock a hair after the deadline beats failing.
        match receiver.try_recv() {
            Ok(result) => result.map(Some),
            // Dropping the receiver drops anything sent later, releasing it.
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::{Child, Command};
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    pub(crate) fn lock_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("containers.yaml.lock")
    }

    fn acquire(path: &Path, timeout: Duration) -> anyhow::Result<FileLock> {
        FileLock::acquire(path, timeout, Duration::from_secs(1), &mut |_| {})
    }

    /// Polls `cond` for up to `limit`; true if it became true.
    pub(crate) fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond() {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        cond()
    }

    /// Taken by tests that spawn processes and by tests that expect a dropped
    /// lock to be free at once. Between fork and exec a child holds copies of
    /// all our descriptors (O_CLOEXEC only acts at exec), so another test
    /// thread's spawn can keep a just-dropped lock alive for a moment.
    static SPAWNS: Mutex<()> = Mutex::new(());

    pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
        SPAWNS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Kills and reaps a child this test spawned, even when an assert fails.
    pub(crate) struct KillOnDrop(pub(crate) Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn threads_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let lock = lock_path(&dir);
        let counter = dir.path().join("counter");
        std::fs::write(&counter, "0").unwrap();
        const THREADS: usize = 8;
        const ROUNDS: usize = 50;
        thread::scope(|scope| {
            for _ in 0..THREADS {
                let (lock, counter) = (&lock, &counter);
                scope.spawn(move || {
                    for _ in 0..ROUNDS {
                        let _guard = acquire(lock, Duration::from_secs(30)).unwrap();
                        let n: usize = std::fs::read_to_string(counter).unwrap().parse().unwrap();
                        // Widen the read-modify-write window so a missing
                        // lock loses increments reliably.
                        thread::yield_now();
                        std::fs::write(counter, (n + 1).to_string()).unwrap();
                    }
                });
            }
        });
        let total: usize = std::fs::read_to_string(&counter).unwrap().parse().unwrap();
        assert_eq!(total, THREADS * ROUNDS);
    }

    #[test]
    fn try_acquire_is_none_while_held_and_creates_the_file() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let held = FileLock::try_acquire(&path).unwrap().expect("free lock");
        assert!(path.exists());
        assert_eq!(held.path(), path);
        assert!(FileLock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
        assert!(path.exists(), "the lock file is never deleted");
    }

    #[test]
    fn zero_timeout_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let _held = FileLock::try_acquire(&path).unwrap().unwrap();
        let start = Instant::now();
        let err = acquire(&path, Duration::ZERO).unwrap_err();
        assert!(start.elapsed() < Duration::from_millis(200));
        assert!(err.downcast_ref::<LockTimeout>().is_some(), "{err:#}");
    }

    #[test]
    fn timeout_names_the_holder_and_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let _held = FileLock::try_acquire(&path).unwrap().unwrap();
        let timeout = Duration::from_millis(300);
        let start = Instant::now();
        let err = acquire(&path, timeout).unwrap_err();
        let elapsed = start.elapsed();
        assert!(elapsed >= timeout, "gave up early: {elapsed:?}");
        assert!(
            elapsed < timeout + Duration::from_millis(500),
            "{elapsed:?}"
        );
        let timeout_err = err.downcast_ref::<LockTimeout>().expect("LockTimeout");
        assert_eq!(timeout_err.path, path);
        assert!(timeout_err.waited >= timeout);
        // This process holds it through another file description.
        let me = format!("pid {} (", std::process::id());
        assert!(
            timeout_err.holder.starts_with(&me),
            "{}",
            timeout_err.holder
        );
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("LXDEV_LOCK_TIMEOUT"), "{message}");
    }

    #[test]
    fn waiter_gets_the_lock_soon_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let held = FileLock::try_acquire(&path).unwrap().unwrap();
        let releaser = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            drop(held);
            Instant::now()
        });
        let _lock = acquire(&path, Duration::from_secs(10)).unwrap();
        let handoff = releaser.join().unwrap().elapsed();
        assert!(handoff < Duration::from_millis(100), "{handoff:?}");
    }

    #[test]
    fn abandoned_waiter_releases_when_it_gets_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let held = FileLock::try_acquire(&path).unwrap().unwrap();
        let err = acquire(&path, Duration::from_millis(100)).unwrap_err();
        assert!(err.downcast_ref::<LockTimeout>().is_some());
        // The helper thread is still parked in flock(2); it wins the lock
        // now and must let go at once. Give it time to win the handoff
        // first, or the check below could beat it to the lock.
        drop(held);
        thread::sleep(Duration::from_millis(200));
        let free = eventually(Duration::from_secs(2), || {
            FileLock::try_acquire(&path).unwrap().is_some()
        });
        assert!(free, "the abandoned waiter kept the lock");
    }

    #[test]
    fn on_wait_is_called_once_while_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let held = FileLock::try_acquire(&path).unwrap().unwrap();
        let still_held = Arc::new(AtomicBool::new(true));
        let releaser = {
            let still_held = Arc::clone(&still_held);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(400));
                still_held.store(false, Ordering::SeqCst);
                drop(held);
            })
        };
        let notices = Mutex::new(Vec::new());
        let _lock = FileLock::acquire(
            &path,
            Duration::from_secs(10),
            Duration::from_millis(50),
            &mut |holder| {
                assert!(still_held.load(Ordering::SeqCst), "notice after release");
                notices.lock().unwrap().push(holder.to_string());
            },
        )
        .unwrap();
        releaser.join().unwrap();
        let notices = notices.into_inner().unwrap();
        assert_eq!(notices.len(), 1, "{notices:?}");
        let me = format!("pid {} (", std::process::id());
        assert!(notices[0].starts_with(&me), "{}", notices[0]);
    }

    #[test]
    fn no_notice_when_the_lock_is_free_or_quick() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let calls = AtomicUsize::new(0);
        let _lock = FileLock::acquire(&path, Duration::from_secs(1), Duration::ZERO, &mut |_| {
            calls.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn spawned_children_do_not_inherit_the_lock() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let lock = FileLock::try_acquire(&path).unwrap().unwrap();
        let mut child = KillOnDrop(Command::new("sleep").arg("2").spawn().unwrap());
        drop(lock);
        // Other tests in this binary spawn processes too, and a child
        // between fork and exec briefly holds copies of our descriptors;
        // retry for a moment. An inherited descriptor would keep the lock
        // for the whole 2 s the child runs.
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut freed = FileLock::try_acquire(&path).unwrap().is_some();
        while !freed && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            freed = FileLock::try_acquire(&path).unwrap().is_some();
        }
        assert!(
            freed,
            "a child kept the lock: the descriptor is not close-on-exec"
        );
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the child must still run"
        );
    }

    #[test]
    fn panic_unwind_releases_the_lock() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let result = std::panic::catch_unwind(|| {
            let _lock = FileLock::try_acquire(&path).unwrap().unwrap();
            panic!("boom while holding the lock");
        });
        assert!(result.is_err());
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
    }
}
