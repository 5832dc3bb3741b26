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
//!
//! With `--json`, a listing prints its document and every other command
//! prints exactly one outcome object (`ops::report`), last, on one line,
//! failed or not.
//! Warnings are collected for it process-wide: one lxdev process runs one
//! command, and warnings come from layers (the config manager, bulk
//! threads) that have only an `Output` to hand.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Set once a write to stdout failed with `BrokenPipe`.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Every warning printed so far, for the `--json` outcome's `warnings`.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether stdout was found closed (its reader went away) in this process.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// `text` as it may reach a terminal: every control character (but the
/// line break and the tab of lxdev's own layout) and every bidirectional
/// override written out as `\u{..}`. Names, owners, descriptions and
/// errors come from containers.yaml, which a cloned repository ships: an
/// `\e]52;...` there would write the clipboard, `\e[2J` clear the screen,
/// U+202E turn the rest of the line around.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// Writes `text` (made [`printable`]) and a newline to stdout, unless it
/// was found closed.
fn print_line(text: &str) {
    print_raw_line(&printable(text));
}

/// Writes `text` as it is and a newline to stdout (JSON, which escapes
/// its own control characters), unless stdout was found closed.
fn print_raw_line(text: &str) {
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

/// Writes `text` (made [`printable`]) and a newline to stderr, ignoring
/// errors.
fn eprint_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", printable(text));
}

/// Every warning printed so far, taken: the `--json` outcome lists them.
pub fn take_warnings() -> Vec<String> {
    std::mem::take(&mut *WARNINGS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Prints `value` as one line of JSON (stdout), exact.
pub fn json_line<T: Serialize>(value: &T) {
    print_raw_line(&serde_json::to_string(value).unwrap_or_default());
}

/// Prints the one `error: ...` line for a failed command (from `main`).
pub fn error(err: &anyhow::Error) {
    eprint_line(&format!("error: {err:#}"));
}

/// A notice on stderr, whatever `--quiet` says: what the user must not
/// miss (the fake runtime's `exec` runs the command on this host).
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

    /// A warning (stderr); silent with `--quiet`. With `--json` it also
    /// goes into the outcome's `warnings`, even with `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.json {
            WARNINGS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.as_ref().to_string());
        }
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

    /// What a command lxdev runs for the user prints (a hook's output),
    /// one line, on stderr as it comes; silent with `--quiet`.
    pub fn relay(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprint_line(line.as_ref());
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
        spinner.set_message(printable(&message).into_owned());
        spinner.enable_steady_tick(Duration::from_millis(100));
        let result = work();
        spinner.finish_and_clear();
        result
    }

    /// A table on stdout (see [`Output::say`]): a header, then a row per
    /// line, columns two spaces apart and as wide as their widest cell.
    pub fn table<const N: usize>(&self, header: [&str; N], rows: &[[String; N]]) {
        // A cell is one line, escaped as printed (so the widths are right): a
        // line break or tab in it (from the file) would break the columns.
        let rows: Vec<[String; N]> = rows
            .iter()
            .map(|row| {
                row.clone().map(|cell| {
                    let one_line = cell.replace('\n', "\\n").replace('\t', "\\t");
                    printable(&one_line).into_owned()
                })
            })
            .collect();
        let rows = &rows[..];
        let mut widths = header.map(str::len);
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        // Padded by hand: `format!("{c:<w$}")` panics when `w` is above
        // `u16::MAX`, and a description or image can be that long.
        let line = |cells: Vec<&str>| {
            let mut line = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.truncate(line.trim_end().len());
            line
        };
        self.say(line(header.to_vec()));
        for row in rows {
            self.say(line(row.iter().map(String::as_str).collect()));
        }
    }

    /// Prints a JSON document (stdout), exact: JSON escapes control
    /// characters itself.
    pub fn json(&self, value: &serde_json::Value) {
        print_raw_line(&serde_json::to_string_pretty(value).unwrap_or_default());
    }
}
