//! `lxdev logs NAME [-n N] [-f]`: a container's systemd journal where
//! systemd runs, else the console log its runtime keeps. Changes nothing
//! and takes no lock.
//!
//! Every line is the container's text, which anything in it may have
//! written: it is printed escaped, as all of lxdev's output (an escape
//! sequence in a log line cannot reach the terminal). With `-f` it goes
//! on until Ctrl-C (SIGINT) or SIGTERM, which ends it with status 0.
//! With `--json` the lines come in the outcome's `lines`, with `source`
//! (`journal` or `console`).

use anyhow::Result;

use super::context::{Context, ReadyInstance};
use crate::error::Error;
use crate::runtime::{LogRequest, rules};

/// What `logs` shows.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub name: String,
    /// Only the last N lines.
    pub lines: Option<u32>,
    /// Follow until interrupted.
    pub follow: bool,
}

pub fn logs(ctx: &Context, options: &LogsOptions) -> Result<()> {
    let ReadyInstance {
        runtime,
        instance,
        found,
        ..
    } = ctx.ready_instance(&options.name)?;
    let Some(found) = found else {
        return Err(Error::NotFound(format!(
            "{} ({instance}) is not created on this machine: `lxdev up {}` creates it",
            options.name, options.name
        ))
        .into());
    };
    rules::must_run(&instance, &found)?;
    let request = LogRequest {
        lines: options.lines,
        follow: options.follow,
    };
    let mut collected: Vec<String> = Vec::new();
    let source = runtime.logs(&instance, &request, &mut |line: &str| {
        if ctx.out.json {
            collected.push(line.to_owned());
        } else {
            ctx.out.say(line);
        }
    })?;
    if options.follow {
        // Ctrl-C is how following ends: not an interruption.
        crate::interrupt::take();
    }
    ctx.outcome(|o| {
        o.detail("source", source.as_str());
        o.detail("lines", collected);
    });
    Ok(())
}
