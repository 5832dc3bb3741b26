//! What lxdev prints, and where: results to stdout, everything else to
//! stderr, nothing but errors with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

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
            println!("{}", message.as_ref());
        }
    }

    /// A warning (stderr); silent with `--quiet`.
    pub fn warn(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("warning: {}", message.as_ref());
        }
    }

    /// Something the user should know that is not a problem (stderr);
    /// silent with `--quiet`.
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("note: {}", message.as_ref());
        }
    }

    /// A step, shown with `--verbose` (stderr).
    pub fn step(&self, message: impl AsRef<str>) {
        if self.verbose {
            eprintln!("lxdev: {}", message.as_ref());
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
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    }
}
