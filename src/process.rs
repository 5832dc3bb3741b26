//! Facts about processes and this host: who we are, whether the process
//! that recorded an operation still runs, who holds a flock, which process
//! runs a given command.
//!
//! Invariant: this is the only module that reads `/proc`; others ask it.
//! Linux only (lxdev drives LXD/Incus, which are Linux only). Limits: a
//! process that exits between two reads is simply not found; pids outside
//! our pid namespace are not seen.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// This machine's hostname, as recorded in `operation.host`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The invoking user's name (from the real uid through NSS, so `USER`
/// cannot be spoofed by accident and LDAP/SSSD users resolve), recorded as
/// a container's `owner`.
pub fn current_user() -> String {
    user_name(rustix::process::getuid().as_raw())
}

/// The name of user `uid` as NSS knows it (getpwuid_r(3): /etc/passwd,
/// LDAP, SSSD, ...), or `uid<N>` when it has none or the lookup fails.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid{uid}"),
    }
}

/// The home directory of the user who ran lxdev: under sudo, `SUDO_USER`'s
/// (from NSS), else `HOME`. Where their SSH public keys are.
pub fn invoking_user_home() -> Option<std::path::PathBuf> {
    let env = crate::env::get();
    if let Some(user) = &env.sudo_user {
        return nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|u| u.dir);
    }
    env.home.clone()
}

/// The command line of this process, for the lock holder record.
pub fn command_line() -> String {
    let mut args = std::env::args();
    let program = args
        .next()
        .map(|p| {
            Path::new(&p)
                .file_name()
                .map_or(p.clone(), |f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "lxdev".into());
    std::iter::once(program)
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments process `pid` was started with (`/proc/PID/cmdline`), or
/// `None` if it does not exist. Empty for kernel threads.
pub fn arguments(pid: u32) -> Option<Vec<String>> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        cmdline
            .split(|&b| b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect(),
    )
}

/// When process `pid` started, or `None` if it does not exist.
pub fn start_time(pid: u32) -> Option<SystemTime> {
    // Field 22 of /proc/PID/stat is the start time in clock ticks after boot
    // (proc(5)); the command name before it may contain spaces and
    // parentheses, so split after the last `)`.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_comm.split_whitespace().nth(19)?.parse().ok()?;
    // The unit is USER_HZ, which the kernel reports as AT_CLKTCK
    // (sysconf(_SC_CLK_TCK)); not CONFIG_HZ.
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Some(boot_time()? + Duration::from_millis(ticks.saturating_mul(1000) / per_second))
}

fn boot_time() -> Option<SystemTime> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: u64 = stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(btime))
}

/// Whether a process `pid` exists (in our pid namespace).
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The first process for which `matches(pid, arguments)` holds, with its
/// arguments. Processes that exit while we look are skipped.
pub fn find(mut matches: impl FnMut(u32, &[String]) -> bool) -> Option<(u32, Vec<String>)> {
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let args = arguments(pid)?;
        matches(pid, &args).then_some((pid, args))
    })
}

/// The pid holding a granted flock(2) on the inode `ino` of device
/// `major:minor`, per `/proc/locks`; `None` if unlocked or held outside our
/// pid namespace. Finds holders that are not lxdev, e.g. `flock(1)`.
pub fn flock_holder(major: u32, minor: u32, ino: u64) -> Option<u32> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    find_flock_holder(&locks, major, minor, ino)
}

/// Parses `/proc/locks` lines such as (verified on Linux 6.x):
/// `1: FLOCK  ADVISORY  WRITE 8374 fe:00:10011764 0 EOF` (granted) and
/// `1: -> FLOCK  ADVISORY  WRITE 8378 fe:00:10011764 0 EOF` (a waiter).
/// Device major and minor are hex, the inode decimal (fs/locks.c
/// `lock_get_status`).
fn find_flock_holder(locks: &str, major: u32, minor: u32, ino: u64) -> Option<u32> {
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Waiters carry "->" in the second field; they hold nothing.
        let [_, "FLOCK", _, _, pid, dev_ino, ..] = fields.as_slice() else {
            return None;
        };
        let mut parts = dev_ino.splitn(3, ':');
        let maj = u32::from_str_radix(parts.next()?, 16).ok()?;
        let min = u32::from_str_radix(parts.next()?, 16).ok()?;
        let inode: u64 = parts.next()?.parse().ok()?;
        // A pid outside our pid namespace shows as 0 or -1: not useful.
        let pid: u32 = pid.parse().ok().filter(|&pid| pid > 0)?;
        (maj == major && min == minor && inode == ino).then_some(pid)
    })
}

/// Whether the process that recorded an operation at `since` is still the
/// process running as `pid`. A pid reused by a newer process does not count:
/// that process started after the operation did.
pub fn runs_since(pid: u32, since: SystemTime) -> bool {
    match start_time(pid) {
        // btime has one-second resolution: allow for it.
        Some(started) => started <= since + Duration::from_secs(2),
        None => false,
    }
}

/// The process listening on TCP `port` (any address, IPv4 or IPv6), as its
/// pid and command name, when this host shows it: the socket's inode from
/// /proc/net/tcp{,6}, then the process holding that inode open. `None`
/// when nothing listens or the holder is outside our view (another user's
/// process when not root).
pub fn port_holder(port: u16) -> Option<(u32, String)> {
    const LISTEN: &str = "0A";
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields.get(1)?.rsplit(':').next()?;
                    let listening = *fields.get(3)? == LISTEN;
                    (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                        .then(|| fields.get(9).map(|inode| (*inode).to_owned()))?
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|link| wanted.iter().any(|w| link.as_os_str() == w.as_str()))
        });
        if holds {
            let comm = std::fs::read_to_string(entry.path().join("comm"))
                .map(|c| c.trim().to_owned())
                .unwrap_or_default();
            return Some((pid, comm));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_since_now() {
        let me = std::process::id();
        assert!(runs_since(me, SystemTime::now()));
        assert!(start_time(me).unwrap() <= SystemTime::now());
    }

    #[test]
    fn a_process_started_later_does_not_own_an_older_operation() {
        let me = std::process::id();
        let long_ago = SystemTime::now() - Duration::from_secs(24 * 3600 * 365);
        assert!(!runs_since(me, long_ago));
    }

    #[test]
    fn an_exited_process_does_not_run() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!runs_since(pid, SystemTime::now()));
    }

    #[test]
    fn arguments_of_a_running_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        // Between fork and exec the child still shows our own command line.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut args = arguments(child.id());
        while args.as_ref().and_then(|a| a.first()).map(String::as_str) != Some("sleep")
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
            args = arguments(child.id());
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(args.unwrap(), ["sleep", "5"]);
    }

    #[test]
    fn host_and_user_are_known() {
        assert!(!hostname().is_empty());
        assert!(!current_user().is_empty());
    }

    #[test]
    fn user_names_come_from_nss_with_a_fallback() {
        assert_eq!(user_name(0), "root");
        // No NSS source names this uid (it is the overflow uid's neighbour).
        assert_eq!(user_name(4_294_967_290), "uid4294967290");
    }

    #[test]
    fn find_sees_a_running_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("7.25")
            .spawn()
            .unwrap();
        let me = child.id();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut found = None;
        while found.is_none() && std::time::Instant::now() < deadline {
            found =
                find(|pid, args| pid == me && args.first().map(String::as_str) == Some("sleep"));
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            found,
            Some((me, vec!["sleep".to_string(), "7.25".to_string()]))
        );
        assert!(exists(std::process::id()));
    }

    #[test]
    fn proc_locks_parsing_skips_waiters_and_other_files() {
        let locks = "\
1: -> FLOCK  ADVISORY  WRITE 8378 fe:00:10011764 0 EOF
1: FLOCK  ADVISORY  WRITE 8374 fe:00:10011764 0 EOF
2: POSIX  ADVISORY  WRITE 999 fe:00:10011764 0 EOF
3: FLOCK  ADVISORY  WRITE 77 fe:01:10011764 0 EOF
";
        assert_eq!(find_flock_holder(locks, 0xfe, 0, 10_011_764), Some(8374));
        assert_eq!(find_flock_holder(locks, 0xfe, 1, 10_011_764), Some(77));
        assert_eq!(find_flock_holder(locks, 0xfe, 0, 1), None);
        // st_dev 0xfe00 is major 254, minor 0; large minors use high bits
        // (rustix decodes st_dev as glibc's gnu_dev_major/minor do).
        use rustix::fs::{major, minor};
        assert_eq!((major(0xfe00), minor(0xfe00)), (0xfe, 0));
        assert_eq!((major(0x0100_0103), minor(0x0100_0103)), (1, 0x1003));
    }
}
