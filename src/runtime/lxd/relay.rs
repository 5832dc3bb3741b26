//! This process's standard streams relayed to a client process (`exec ...
//! sshd -i`), tried again when the client itself failed to start the
//! command: LXD 5.0 sometimes refuses an exec it accepted ("Error: Failed
//! to retrieve PID of executing child process", exit 255, seen right after
//! a boot and under load).
//!
//! A retry is safe only while the command has said nothing: until the
//! first byte comes back, everything read from stdin (the SSH client's
//! banner, its key exchange) is kept, and given again to the next try, so
//! the far side sees one whole conversation. The client's stderr is held
//! back until then too (a retried failure is not shown); after it, it is
//! passed on as it comes.
//!
//! Limits: at most [`MAX_REPLAY`] bytes are kept; past that a failure is
//! not retried.

use std::io::{Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many times the command is started at most.
const TRIES: u32 = 5;
/// How much of stdin is kept for a retry.
const MAX_REPLAY: usize = 1 << 20;

/// What the stdin thread writes to, and keeps for a retry.
#[derive(Default)]
struct Input {
    child: Option<ChildStdin>,
    /// Everything read so far, while the command has said nothing.
    replay: Option<Vec<u8>>,
    /// stdin has ended: a new child gets its input closed after the replay.
    ended: bool,
}

/// Runs `make()`'s command with this process's stdin and stdout relayed
/// to it and its stderr passed on (see the module comment); its status.
pub(super) fn relay(make: impl Fn() -> Command) -> std::io::Result<ExitStatus> {
    let input = Arc::new(Mutex::new(Input {
        replay: Some(Vec::new()),
        ..Input::default()
    }));
    // Set at the first byte of stdout, of any try: from then on the
    // command runs and nothing is kept or tried again.
    let spoke = Arc::new(AtomicBool::new(false));
    let (reader, reader_spoke) = (Arc::clone(&input), Arc::clone(&spoke));
    // Outlives the tries: it ends with stdin, or with the process.
    std::thread::spawn(move || pump_stdin(&reader, &reader_spoke));
    let mut tries = 0;
    loop {
        tries += 1;
        let mut child = make()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        {
            let mut input = lock(&input);
            let mut stdin = child.stdin.take();
            if let (Some(stdin), Some(replay)) = (stdin.as_mut(), input.replay.as_ref()) {
                let _ = stdin.write_all(replay);
            }
            input.child = if input.ended { None } else { stdin };
        }
        let stdout = child.stdout.take().expect("piped");
        let out_thread = {
            let spoke = Arc::clone(&spoke);
            std::thread::spawn(move || pump_stdout(stdout, &spoke))
        };
        let mut stderr = child.stderr.take().expect("piped");
        let err_spoke = Arc::clone(&spoke);
        let err_thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if err_spoke.load(Ordering::SeqCst) {
                    let mut out = std::io::stderr().lock();
                    let _ = out.write_all(&held);
                    let _ = out.write_all(&buf[..n]);
                    held.clear();
                } else if held.len() < 64 * 1024 {
                    held.extend_from_slice(&buf[..n]);
                }
            }
            held
        });
        let status = child.wait()?;
        let _ = out_thread.join();
        let held = err_thread.join().unwrap_or_default();
        let replayable = lock(&input).replay.is_some();
        let clients_error = status.code() == Some(255)
            && String::from_utf8_lossy(&held)
                .trim_start()
                .starts_with("Error:");
        if clients_error && !spoke.load(Ordering::SeqCst) && replayable && tries < TRIES {
            std::thread::sleep(Duration::from_millis(300));
            continue;
        }
        let _ = std::io::stderr().lock().write_all(&held);
        return Ok(status);
    }
}

fn lock(input: &Mutex<Input>) -> std::sync::MutexGuard<'_, Input> {
    input.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads stdin to its end, writing each piece to the current child and
/// keeping it while it may have to be given again (until `spoke`).
fn pump_stdin(input: &Mutex<Input>, spoke: &AtomicBool) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let mut input = lock(input);
        if n == 0 {
            input.ended = true;
            input.child = None;
            return;
        }
        if spoke.load(Ordering::SeqCst) {
            input.replay = None;
        }
        if let Some(replay) = input.replay.as_mut() {
            replay.extend_from_slice(&buf[..n]);
            if replay.len() > MAX_REPLAY {
                input.replay = None;
            }
        }
        if let Some(child) = input.child.as_mut()
            && child.write_all(&buf[..n]).is_err()
        {
            input.child = None;
        }
    }
}

/// Copies the child's stdout to ours; the first byte means the command
/// runs (`spoke`), and stdin need no longer be kept. Takes no lock: the
/// stdin thread may be blocked writing to the child, which waits for this
/// one to read.
fn pump_stdout(mut from: impl Read, spoke: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        spoke.store(true, Ordering::SeqCst);
        let mut out = std::io::stdout().lock();
        if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}
