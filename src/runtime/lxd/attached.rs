//! The user's own `exec`: the client attached to this terminal, its
//! status passed on, run again when the daemon failed to start it.
//!
//! Under load, and just after a start, LXD 5.0 and Incus 6.0 now and then
//! fail an exec they accepted with "Failed to retrieve PID of executing
//! child process" (exit 255): the daemon's helper could not attach to the
//! container, so the command never ran (the daemon reads the PID the
//! attached helper reports before the command is executed). lxdev's own
//! scripts run again on it (`scripts.rs`); a user's command is run again
//! too, but only when nothing of its input can have been read: its stdin
//! is a terminal, a device such as `/dev/null`, or a pipe already at its
//! end before the first attempt; not a file, nor a pipe that may still
//! carry input a failed attempt could consume part of.
//!
//! So that a retried failure prints nothing, the client's stderr passes
//! through lxdev: bytes are held back only while they still spell that
//! one message, and go on as they come otherwise.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

/// What the client prints when the daemon failed to start the command.
const NOT_STARTED: &[u8] = b"Error: Failed to retrieve PID of executing child process\n";

/// Attempts in all, and the first pause (doubled after each, up to
/// [`MAX_PAUSE`]): about 2 s of pauses in all.
const ATTEMPTS: u32 = 8;
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_millis(400);

/// Runs `program args`, attached, again (up to [`ATTEMPTS`] times in
/// all) while the daemon failed to start the command and its stdin may be
/// read again.
pub(super) fn run(program: &str, args: &[OsString]) -> Result<ExitStatus> {
    // Judged before the first attempt, which may read it.
    run_with(program, args, stdin_is_repeatable())
}

/// [`run`], told whether stdin may be read again.
fn run_with(program: &str, args: &[OsString], repeatable: bool) -> Result<ExitStatus> {
    let mut pause = FIRST_PAUSE;
    for attempt in 1.. {
        let (status, not_started) = run_once(program, args)?;
        if !(not_started && repeatable && attempt < ATTEMPTS) {
            if not_started {
                // Given up on: said after all.
                let _ = std::io::stderr().write_all(NOT_STARTED);
            }
            return Ok(status);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
    unreachable!("the loop returns")
}

/// One attempt: its status, and whether its stderr was exactly the
/// not-started message (held back, not printed).
fn run_once(program: &str, args: &[OsString]) -> Result<(ExitStatus, bool)> {
    let mut child = Command::new(program)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to run `{program}`"))?;
    let stderr = child.stderr.take().expect("piped");
    let relay = std::thread::spawn(move || relay(stderr, std::io::stderr()));
    let status = child
        .wait()
        .with_context(|| format!("failed to wait for `{program}`"))?;
    let held = relay.join().unwrap_or_default();
    let not_started = status.code() == Some(255) && held == NOT_STARTED;
    if !not_started && !held.is_empty() {
        let _ = std::io::stderr().write_all(&held);
    }
    Ok((status, not_started))
}

/// Copies `from` to `to` as it comes, holding back what is still a prefix
/// of [`NOT_STARTED`]; returns what it held back at the end.
fn relay(mut from: impl Read, mut to: impl Write) -> Vec<u8> {
    let mut held: Vec<u8> = Vec::new();
    let mut passing = false;
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return held,
            Ok(n) => n,
        };
        if passing {
            let _ = to.write_all(&buf[..n]);
            let _ = to.flush();
            continue;
        }
        held.extend_from_slice(&buf[..n]);
        if !NOT_STARTED.starts_with(&held) {
            passing = true;
            let _ = to.write_all(&held);
            let _ = to.flush();
            held.clear();
        }
    }
}

/// Whether a second attempt may read stdin from the start: a terminal, a
/// device (`/dev/null`), or a pipe already at its end (its writer gone,
/// nothing left in it: what a caller that gives no input leaves); never a
/// file, or a pipe that may still carry input.
fn stdin_is_repeatable() -> bool {
    repeatable(std::io::stdin())
}

/// [`stdin_is_repeatable`] for `input`.
fn repeatable(input: impl std::os::fd::AsFd) -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let stdin = input.as_fd();
    let Ok(stat) = rustix::fs::fstat(stdin) else {
        return false;
    };
    match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
        rustix::fs::FileType::CharacterDevice => true,
        rustix::fs::FileType::Fifo => {
            let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
            let ready = poll(&mut fds, Some(&rustix::event::Timespec::default()));
            ready.is_ok()
                && fds[0].revents().contains(PollFlags::HUP)
                && rustix::io::ioctl_fionread(stdin).is_ok_and(|n| n == 0)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_started_message_is_held_back_and_anything_else_passes() {
        let mut out = Vec::new();
        assert_eq!(relay(NOT_STARTED, &mut out), NOT_STARTED);
        assert!(out.is_empty());

        let mut out = Vec::new();
        let text = b"Error: Failed to do something else\nmore\n";
        assert!(relay(&text[..], &mut out).is_empty());
        assert_eq!(out, text);

        // The message, then more: it was the command's own stderr.
        let mut out = Vec::new();
        let mut text = NOT_STARTED.to_vec();
        text.extend_from_slice(b"x");
        let held = relay(&text[..], &mut out);
        assert_eq!([out, held].concat(), text);
    }

    #[test]
    fn input_is_repeatable_only_when_nothing_of_it_can_be_lost() {
        use std::io::Write as _;
        assert!(repeatable(std::fs::File::open("/dev/null").unwrap()));
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(!repeatable(file.as_file()));

        // A pipe whose writer may still write: not yet.
        let (reader, writer) = std::io::pipe().unwrap();
        assert!(!repeatable(&reader));
        drop(writer);
        // At its end: nothing to lose.
        assert!(repeatable(&reader));

        // Input left in it: never.
        let (reader, mut writer) = std::io::pipe().unwrap();
        writer.write_all(b"data").unwrap();
        drop(writer);
        assert!(!repeatable(&reader));
    }

    #[test]
    fn a_command_the_daemon_did_not_start_is_run_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("count");
        let client = dir.path().join("lxc");
        // Fails as the daemon does twice, then runs the command.
        std::fs::write(
            &client,
            format!(
                "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}\n\
                 if [ $n -lt 2 ]; then printf 'Error: Failed to retrieve PID of executing child \
                 process\\n' >&2; exit 255; fi\nexit 7\n",
                c = count.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (status, not_started) = run_once(client.to_str().unwrap(), &[]).unwrap();
        assert!(not_started);
        assert_eq!(status.code(), Some(255));
        std::fs::write(&count, "0").unwrap();
        let status = run_with(client.to_str().unwrap(), &[], true).unwrap();
        assert_eq!(status.code(), Some(7));
        assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "3");
        // With input that a failed attempt may have read: not again.
        std::fs::write(&count, "0").unwrap();
        let status = run_with(client.to_str().unwrap(), &[], false).unwrap();
        assert_eq!(status.code(), Some(255));
        assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "1");
    }
}
