//! Work on many containers at once (`up`, `down`, `cp`): at most `jobs` at
//! a time (see `parallel`), each reported on its own line.
//!
//! On a terminal every container has a progress line that ends with its
//! outcome (indicatif's `MultiProgress`, on stderr); otherwise one summary
//! line per container goes to stdout as it finishes. One container's
//! failure never stops the others; the command then fails listing every
//! failure. Limits: the order of summary lines is the order of completion.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::context::Context;
use super::parallel;
use super::report::Outcome;
use crate::error::Error;
use crate::exit_code;
use crate::output::Output;

/// One container's line: what it is doing now, and what the work on it
/// prints (a hook's output).
pub struct Line {
    name: String,
    bar: Option<ProgressBar>,
    /// The progress lines' terminal, above which printed lines go.
    multi: Option<MultiProgress>,
    /// Whether printed lines carry the container's name: several
    /// containers work at once.
    prefixed: bool,
    out: Output,
}

impl Line {
    /// The line of a command on one container, which draws no progress
    /// lines: printed lines go out as they are.
    pub fn alone(name: &str, out: Output) -> Line {
        Line {
            name: name.to_owned(),
            bar: None,
            multi: None,
            prefixed: false,
            out,
        }
    }

    /// Says what the work on this container is doing now.
    pub fn set(&self, doing: impl AsRef<str>) {
        let doing = doing.as_ref();
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: {doing}", self.name));
        }
        self.out.step(format!("{}: {doing}", self.name));
    }

    /// Prints one line the work on this container printed (a hook's
    /// output; stderr, escaped, silent with `--quiet`): `web | text` when
    /// several containers work at once, above their progress lines on a
    /// terminal.
    pub fn print(&self, text: &str) {
        let text = match self.prefixed {
            true => format!("{} | {text}", self.name),
            false => text.to_owned(),
        };
        match &self.multi {
            Some(multi) if !self.out.quiet => {
                let _ = multi.println(crate::output::printable(&text));
            }
            _ => self.out.relay(&text),
        }
    }
}

/// What one container's work ended in.
pub struct Done {
    pub name: String,
    pub result: Result<String>,
}

/// Runs `work` for every name, at most `jobs` at a time. `work` returns
/// the line saying what it did. Returns every outcome, in the order of
/// `names`.
pub fn run(
    ctx: &Context,
    names: &[String],
    jobs: usize,
    work: impl Fn(&str, &Line) -> Result<String> + Sync,
) -> Vec<Done> {
    let multi = (!ctx.out.quiet && !ctx.out.json && std::io::stderr().is_terminal())
        .then(MultiProgress::new);
    // Each container's own spinner would fight the lines below.
    let _spinners = ctx.own_progress();
    parallel::bounded(names, jobs, |name| {
        let line = Line {
            name: name.clone(),
            bar: multi.as_ref().map(|m| spinner(m, name)),
            multi: multi.clone(),
            prefixed: names.len() > 1,
            out: ctx.out,
        };
        let result = work(name, &line);
        report(ctx, &line, &result);
        Done {
            name: name.clone(),
            result,
        }
    })
    .into_iter()
    .map(|done| done.unwrap_or_else(|panicked| std::panic::resume_unwind(panicked)))
    .collect()
}

fn spinner(multi: &MultiProgress, name: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new_spinner());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(format!("{name}: waiting for a job"));
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Ends a container's line with its outcome.
fn report(ctx: &Context, line: &Line, result: &Result<String>) {
    let text = match result {
        Ok(said) => said.clone(),
        Err(err) => format!("{}: failed: {err:#}", line.name),
    };
    match &line.bar {
        Some(bar) => {
            bar.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
            bar.finish_with_message(text);
        }
        None if result.is_ok() => ctx.out.say(text),
        // Failures are listed at the end, once.
        None => {}
    }
}

/// The command's result: `Ok` when every container's work succeeded, else
/// one error listing every failure. Its exit code is the failures' own
/// when they all share one (75 when every failure was busy), else 1. Each
/// container's outcome goes into the `--json` outcome's `results`.
pub fn outcome(ctx: &Context, verb: &str, done: Vec<Done>) -> Result<()> {
    let items = done
        .iter()
        .map(|d| {
            let mut item = Outcome::item(&d.name, d.result.as_ref().map(|_| ()));
            if let Ok(said) = &d.result {
                item.detail("message", said.as_str());
            }
            item
        })
        .collect();
    ctx.outcome(|o| o.results = Some(items));
    let total = done.len();
    let failures: Vec<(String, anyhow::Error)> = done
        .into_iter()
        .filter_map(|d| d.result.err().map(|err| (d.name, err)))
        .collect();
    match failures.len() {
        0 => Ok(()),
        1 if total == 1 => Err(failures.into_iter().next().expect("one").1),
        _ => {
            let codes: Vec<u8> = failures
                .iter()
                .map(|(_, err)| exit_code::for_error(err))
                .collect();
            let listed = failures
                .iter()
                .map(|(name, err)| format!("{name}: {err:#}"))
                .collect::<Vec<_>>()
                .join("; ");
            let message = format!(
                "{} of {total} containers failed to {verb}: {listed}",
                failures.len()
            );
            let shared = codes.iter().all(|c| *c == codes[0]).then_some(codes[0]);
            Err(with_code(shared, message))
        }
    }
}

/// An error for `message` whose exit code is `code` (1 when `None`).
fn with_code(code: Option<u8>, message: String) -> anyhow::Error {
    let kind = match code {
        Some(exit_code::USAGE) => Error::Usage(message),
        Some(exit_code::NOT_FOUND) => Error::NotFound(message),
        Some(exit_code::CONFLICT) => Error::Conflict(message),
        Some(exit_code::INVALID_CONFIG) => Error::InvalidConfig(message),
        Some(exit_code::RUNTIME_UNAVAILABLE) => Error::RuntimeUnavailable(message),
        Some(exit_code::TRY_AGAIN) => Error::Busy(message),
        Some(exit_code::PERMISSION_DENIED) => Error::PermissionDenied(message),
        _ => return anyhow::anyhow!(message),
    };
    kind.into()
}
