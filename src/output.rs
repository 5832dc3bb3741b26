//! What lxdev prints, and where: results to stdout, everything else to
//! stderr, nothing but errors with `--quiet`.
//!
//! Printing never panics (`println!` does when stdout is a closed pipe).
//! A closed stdout is not an error, as in ripgrep: `lxdev list | head -1`
//! must exit 0 quietly. The first write that meets `BrokenPipe` is
//! remembered and nothing more goes to stdout; the command still finishes
//! its work and records it, and exits as it would have (0 unless the work
//! itself failed). Write errors never become command errors: the outcome is
//! in containers.yaml and the exit code, not in what was printed. Errors
//! writing to stderr are ignored (there is nowhere left to report them).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Set once a write to stdout failed with `BrokenPipe`.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout was found closed (its reader went away) in this process.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` and a newline to stdout, unless it was found closed.
fn print_line(text: &str) {
    if stdout_closed() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
    if let Err(err) = written
        && err.kind() == std::io::ErrorKind::BrokenPipe
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes `text` and a newline to stderr, ignoring errors.
fn eprint_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Prints the one `error: ...` line for a failed command (from `main`).
pub fn error(err: &anyhow::Error) {
    eprint_line(&format!("error: {err:#}"));
}

/// A notice on stderr from a layer that has no `Output` to hand (the fake
/// runtime saying where it runs a command).
pub fn notice(message: &str) {
    eprint_line(&format!("lxdev: {message}"));
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    pub quiet: bool,
    pub verbose: bool,
    pub json: bool,
}

impl Output {
    /// A result line for people (stdout); silent with `--quiet` or `--json`.
    pub fn say(&self, message: impl AsRef<str>) {
        if !self.quiet && !self.json {
            print_line(message.as_ref());
        }
    }

    /// A warning (stderr); silent with `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprint_line(&format!("warning: {}", message.as_ref()));
        }
    }

    /// Something the user should know that is not a problem (stderr);
    /// silent with `--quiet`.
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprint_line(&format!("note: {}", message.as_ref()));
        }
    }

    /// What lxdev is waiting for (stderr), as it is; silent with `--quiet`.
    pub fn waiting(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprint_line(message.as_ref());
        }
    }

    /// A step, shown with `--verbose` (stderr).
    pub fn step(&self, message: impl AsRef<str>) {
        if self.verbose {
            eprint_line(&format!("lxdev: {}", message.as_ref()));
        }
    }

    /// Runs slow runtime work; on a terminal, shows a spinner saying what
    /// it is doing. Silent when stderr is not a terminal or with `--quiet`.
    pub fn progress<T>(&self, message: impl Into<String>, work: impl FnOnce() -> T) -> T {
        let message = message.into();
        self.step(&message);
        if self.quiet || !std::io::stderr().is_terminal() {
            return work();
        }
        let spinner = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        spinner.set_message(message);
        spinner.enable_steady_tick(Duration::from_millis(100));
        let result = work();
        spinner.finish_and_clear();
        result
    }

    /// Prints a JSON document (stdout).
    pub fn json(&self, value: &serde_json::Value) {
        print_line(&serde_json::to_string_pretty(value).unwrap_or_default());
    }
}
