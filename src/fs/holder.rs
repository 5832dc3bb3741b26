//! Who holds a lock: the [`LockHolder`] note lxdev writes into its lock
//! file, and [`describe_holder`], which names the holder for messages.
//!
//! Invariant: everything here is advice for humans; the kernel's flock is
//! the truth. So the holder is looked up in /proc/locks first (that also
//! finds holders that are not lxdev, e.g. `flock(1)`), and the note is
//! believed only if its process still runs on this host. Limits: the note
//! is not fsynced and may be stale or half-written (then it says nothing);
//! a holder in another pid namespace or on another host (shared storage)
//! is "another process".

use std::os::unix::fs::MetadataExt;
use std::path::Path;

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

impl LockHolder {
    /// This process as a holder: its pid, host name, the given command line
    /// and the current time.
    pub fn current(command: impl Into<String>) -> LockHolder {
        LockHolder {
            pid: std::process::id(),
            host: crate::process::hostname(),
            command: command.into(),
            since: crate::time::now_rfc3339(),
        }
    }
}

/// Describes who holds the lock on `path` right now, for messages:
/// `pid 42 (lxdev container create dev busybox)`. Looks the holder up in
/// `/proc/locks` by the lock file's device and inode (this finds holders
/// that are not lxdev, e.g. `flock(1)`), then falls back to the holder
/// written in the lock file, then to "another process".
pub fn describe_holder(path: &Path) -> String {
    if let Some(pid) = kernel_holder_pid(path)
        && let Some(args) = crate::process::arguments(pid)
    {
        let command = args.join(" ");
        return if command.is_empty() {
            format!("pid {pid}")
        } else {
            format!("pid {pid} ({command})")
        };
    }
    if let Ok(text) = std::fs::read_to_string(path)
        && let Some(holder) = parse_holder(&text)
        && holder_is_alive(&holder)
    {
        return format!(
            "pid {} ({}) on host {} since {}",
            holder.pid, holder.command, holder.host, holder.since
        );
    }
    "another process".to_string()
}

/// The pid that holds a granted flock on `path`'s inode per `/proc/locks`.
fn kernel_holder_pid(path: &Path) -> Option<u32> {
    let meta = std::fs::metadata(path).ok()?;
    let dev = meta.dev();
    crate::process::flock_holder(rustix::fs::major(dev), rustix::fs::minor(dev), meta.ino())
}

fn holder_is_alive(holder: &LockHolder) -> bool {
    // A pid means nothing on another host (a lock file on shared storage).
    holder.host == crate::process::hostname() && crate::process::exists(holder.pid)
}

pub(super) fn format_holder(holder: &LockHolder) -> String {
    // One line per field: a newline inside a value would forge a field.
    let clean = |value: &str| value.replace(['\n', '\r'], " ");
    format!(
        "pid: {}\nhost: {}\ncommand: {}\nsince: {}\n",
        holder.pid,
        clean(&holder.host),
        clean(&holder.command),
        clean(&holder.since)
    )
}

/// Whether `text` is a note [`format_holder`] wrote, whole: the only text
/// lxdev writes over in a lock file.
pub(super) fn is_holder_note(text: &str) -> bool {
    parse_holder(text).is_some()
}

/// Parses [`format_holder`] output; `None` unless all four fields are there
/// (a half-written or foreign file says nothing reliable).
fn parse_holder(text: &str) -> Option<LockHolder> {
    let (mut pid, mut host, mut command, mut since) = (None, None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        match key {
            "pid" => pid = value.trim().parse().ok(),
            "host" => host = Some(value.to_string()),
            "command" => command = Some(value.to_string()),
            "since" => since = Some(value.to_string()),
            _ => {}
        }
    }
    Some(LockHolder {
        pid: pid?,
        host: host?,
        command: command?,
        since: since?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::lock::FileLock;
    use crate::fs::lock::tests::{KillOnDrop, eventually, lock_path, serial};
    use std::process::Command;
    use std::time::Duration;

    #[test]
    fn holder_is_written_and_parsed_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let mut lock = FileLock::try_acquire(&path).unwrap().unwrap();
        let long = LockHolder {
            pid: 123,
            host: "h".into(),
            command: "lxdev container create a b with a much longer command line".into(),
            since: "2026-01-31T12:34:56Z".into(),
        };
        lock.write_holder(&long).unwrap();
        let holder = LockHolder {
            pid: 42,
            host: "box".into(),
            command: "lxdev container create dev\nbusybox".into(),
            since: "2026-02-01T00:00:00Z".into(),
        };
        lock.write_holder(&holder).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "pid: 42\nhost: box\ncommand: lxdev container create dev busybox\n\
             since: 2026-02-01T00:00:00Z\n"
        );
        let parsed = parse_holder(&text).unwrap();
        assert_eq!(parsed.pid, 42);
        assert_eq!(parsed.command, "lxdev container create dev busybox");
        assert_eq!(parsed.since, holder.since);
        assert_eq!(parse_holder("pid: 42\nhost: box\n"), None);
        assert_eq!(parse_holder(""), None);
    }

    #[test]
    fn current_holder_has_an_rfc3339_time() {
        let holder = LockHolder::current("lxdev x");
        assert_eq!(holder.pid, std::process::id());
        assert!(
            crate::time::parse_rfc3339(&holder.since).is_ok(),
            "{}",
            holder.since
        );
    }

    #[test]
    fn describe_holder_falls_back_to_the_lock_file_then_to_another_process() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        let mut lock = FileLock::try_acquire(&path).unwrap().unwrap();
        lock.write_holder(&LockHolder::current("lxdev container create a b"))
            .unwrap();
        drop(lock);
        // Unlocked, so /proc/locks has nothing; the note names a live pid.
        let described = describe_holder(&path);
        let expected = format!(
            "pid {} (lxdev container create a b) on host ",
            std::process::id()
        );
        assert!(described.starts_with(&expected), "{described}");

        let mut dead = Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        dead.wait().unwrap();
        let mut lock = FileLock::try_acquire(&path).unwrap().unwrap();
        lock.write_holder(&LockHolder {
            pid: dead_pid,
            ..LockHolder::current("gone")
        })
        .unwrap();
        drop(lock);
        assert_eq!(describe_holder(&path), "another process");
    }

    #[test]
    fn describe_holder_finds_a_flock_1_holder() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir);
        std::fs::write(&path, "").unwrap();
        let child = Command::new("flock")
            .arg(&path)
            .args(["sleep", "3"])
            .spawn()
            .expect("flock(1) from util-linux");
        let child = KillOnDrop(child);
        let taken = eventually(Duration::from_secs(2), || {
            FileLock::try_acquire(&path).unwrap().is_none()
        });
        assert!(taken, "flock(1) never took the lock");
        let described = describe_holder(&path);
        let expected = format!("pid {} (flock {} sleep 3)", child.0.id(), path.display());
        assert_eq!(described, expected);
    }
}
