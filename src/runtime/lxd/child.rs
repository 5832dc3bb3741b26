//! A client process run to its end within a limit, and what its stderr
//! says in one line: the plumbing under `run.rs` (every call) and
//! `connect.rs` (the probe), which both use it.

use std::io;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Runs `command` to its end, `input` on its stdin, stdout and stderr
/// captured, and kills it once it has run for `limit`: `Ok(None)` then.
/// The child is reaped only by the waiting thread, so until that thread
/// returns its pid cannot be reused and the kill reaches it alone.
pub(super) fn output_within(
    command: Command,
    input: &[u8],
    limit: Duration,
) -> io::Result<Option<std::process::Output>> {
    output_watched(command, input, limit, None, &mut || true)
}

/// [`output_within`], and once `watch` has passed with the command still
/// running, asks `still_worth_it`: the command is killed (`Ok(None)`) when
/// it says no.
pub(super) fn output_watched(
    mut command: Command,
    input: &[u8],
    limit: Duration,
    watch: Option<Duration>,
    still_worth_it: &mut dyn FnMut() -> bool,
) -> io::Result<Option<std::process::Output>> {
    use std::io::Write as _;
    use std::sync::mpsc;
    command
        .stdin(if input.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A client that exits early closes its stdin: not our failure.
        let _ = stdin.write_all(input);
    }
    let pid = rustix::process::Pid::from_child(&child);
    let (done, finished) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let kill = || {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        let _ = finished.recv();
        Ok(None)
    };
    let started = std::time::Instant::now();
    if let Some(watch) = watch.filter(|watch| *watch < limit) {
        match finished.recv_timeout(watch) {
            Ok(out) => return out.map(Some),
            Err(mpsc::RecvTimeoutError::Timeout) if !still_worth_it() => return kill(),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the thread waiting for the client ended"));
            }
        }
    }
    match finished.recv_timeout(limit.saturating_sub(started.elapsed())) {
        Ok(out) => out.map(Some),
        Err(mpsc::RecvTimeoutError::Timeout) => kill(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("the thread waiting for the client ended"))
        }
    }
}

/// The client's stderr as one line: the `Error:` lines when there are any
/// (the rest is progress and notices), else every non-empty line.
pub(super) fn one_line(stderr: &[u8], status: ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("Error:"))
        .collect();
    let chosen = if errors.is_empty() { lines } else { errors };
    if chosen.is_empty() {
        format!("{status}, with nothing on stderr")
    } else {
        chosen.join(" ")
    }
}

/// Quotes `arg` for a POSIX shell when it needs it, so a pasted error
/// message is a runnable command.
pub(super) fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
