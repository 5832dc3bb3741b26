//! Running the client: every `lxc`/`incus` process lxdev spawns starts
//! here, through [`LxdRuntime::call`] (the probe, and the interactive
//! `exec`, aside), bounded by the runtime's limits, reported to the
//! `--verbose` observer, with its stderr made one line and its failure
//! classified (`failure.rs`). A daemon too loaded to begin its transaction
//! did nothing: such a call is made again.

use std::ffi::OsStr;
use std::io;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::LxdRuntime;
use super::child::{one_line, output_watched, output_within, shell_quote};
use super::failure::{Failure, FailureKind};
use crate::error::Error;
use crate::runtime::backend::Runtime;

impl LxdRuntime {
    /// `client` with `args`, stdin closed and messages in English, so the
    /// error text lxdev matches on ("not found") is stable.
    pub(super) fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(self.client.program);
        command.args(args).env("LC_ALL", "C").stdin(Stdio::null());
        command
    }

    /// The command line as a user would type it, for error messages.
    pub(super) fn cmdline<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        std::iter::once(OsStr::new(self.client.program))
            .chain(args.iter().map(AsRef::as_ref))
            .map(|arg| shell_quote(&arg.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the client to completion with stdout and stderr captured, and
    /// returns stdout. A failure names the command line and its stderr.
    pub(super) fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String> {
        self.try_run(args)?.map_err(Failure::into_error)
    }

    /// Runs a command that makes `what`. "Already exists" means the command
    /// made nothing, so it is a conflict (exit 4): callers then drop their
    /// reservation instead of recording a failure over someone else's
    /// instance.
    pub(super) fn run_making<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        what: &str,
        remedy: &str,
    ) -> Result<()> {
        match self.try_run(args)? {
            Ok(_) => Ok(()),
            Err(failure) if failure.kind() == FailureKind::Taken => Err(Error::Conflict(format!(
                "{}; {what} already exists in {}: {remedy}",
                failure.message,
                self.name()
            ))
            .into()),
            Err(failure) => Err(failure.into_error()),
        }
    }

    /// Like [`Self::run`], but a command that ran and failed comes back as
    /// `Ok(Err(..))` so callers can look at its stderr; only a client that
    /// cannot be started is an `Err`.
    ///
    /// A daemon too loaded to open its database transaction ("Failed to
    /// begin transaction: context deadline exceeded", seen with LXD 5.0
    /// under a full parallel test run) did nothing: that call is made
    /// again, up to 3 times, after 0.5, 1 and 2 s.
    pub(super) fn try_run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Result<String, Failure>> {
        self.try_run_in(None, args)
    }

    /// [`Self::try_run`] with the client's working directory set to `dir`.
    pub(super) fn try_run_in<S: AsRef<OsStr>>(
        &self,
        dir: Option<&std::path::Path>,
        args: &[S],
    ) -> Result<Result<String, Failure>> {
        let cmdline = self.cmdline(args);
        let query = args.first().is_some_and(|a| a.as_ref() == "query");
        let mut pause = Duration::from_millis(500);
        for tries in 1.. {
            let mut command = self.command(args);
            if let Some(dir) = dir {
                command.current_dir(dir);
            }
            let out = self.call(command, &[], self.limits.call, &cmdline, query)?;
            if out.status.success() {
                return Ok(Ok(String::from_utf8_lossy(&out.stdout).into_owned()));
            }
            let stderr = one_line(&out.stderr, out.status);
            let failure = Failure {
                message: format!("`{cmdline}` failed: {stderr}"),
                stderr,
            };
            if failure.kind() != FailureKind::Overloaded || tries > 3 {
                return Ok(Err(failure));
            }
            std::thread::sleep(pause);
            pause *= 2;
        }
        unreachable!("the loop returns")
    }

    /// Runs one client call, `command` with `input` on its stdin, to its
    /// end or until `limit` (an error, exit 69), and reports it to the
    /// `--verbose` observer (`trace.rs`) as `shown`. `query`: a call that
    /// only reads, which may be bounded as a probe.
    ///
    /// The first call of a runtime opened without a probe
    /// ([`LxdRuntime::open`] of a local daemon) also finds out whether the
    /// daemon answers, as the probe would have, with the probe's advice
    /// (exit 69, marked as a failure that changed nothing): a client that
    /// is missing, a socket no daemon listens on, or a daemon that does not
    /// answer within --connect-timeout. A query is bounded by it; any other
    /// call, which may rightly take longer (an `init` that unpacks an
    /// image), is checked once half of it has passed: the call goes on if
    /// `query /1.0` answers within the other half, and is stopped if not.
    pub(super) fn call(
        &self,
        command: Command,
        input: &[u8],
        limit: Duration,
        shown: &str,
        query: bool,
    ) -> Result<std::process::Output> {
        let started = std::time::Instant::now();
        let first = !self.reached.load(std::sync::atomic::Ordering::Relaxed);
        let connect = self.limits.connect;
        let mut answers = true;
        let (bound, watch) = match (first, query) {
            (false, _) => (limit, None),
            (true, true) => (limit.min(connect), None),
            (true, false) => (limit, Some(connect / 2)),
        };
        let out = output_watched(command, input, bound, watch, &mut || {
            answers = self.answers(connect / 2);
            answers
        });
        let failed = match &out {
            Ok(Some(out)) if out.status.success() => None,
            Ok(Some(out)) => Some(match out.status.code() {
                Some(code) => format!("exit {code}"),
                None => out.status.to_string(),
            }),
            Ok(None) => Some("stopped".to_owned()),
            Err(err) => Some(err.to_string()),
        };
        crate::runtime::trace::report(&crate::runtime::trace::Call {
            cmdline: shown,
            took: started.elapsed(),
            failed: failed.as_deref(),
        });
        if !first {
            return out
                .with_context(|| format!("failed to run `{shown}`"))?
                .ok_or_else(|| self.timed_out(shown, limit));
        }
        let advice = super::connect::Advice::for_client(self.client.program);
        let unavailable = |why: String| {
            crate::error::refused(
                Error::RuntimeUnavailable(format!("{why}; {}", super::connect::TRY_FAKE)).into(),
            )
        };
        let out = match out {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(unavailable(format!(
                    "`{}` is not installed (not found on PATH); {}",
                    self.client.program, advice.install
                )));
            }
            Err(err) => return Err(err).with_context(|| format!("failed to run `{shown}`")),
            Ok(None) if query || !answers => {
                return Err(unavailable(format!(
                    "the {} daemon did not answer within {} s (`{shown}`); {}, or raise \
                     --connect-timeout (LXDEV_CONNECT_TIMEOUT)",
                    self.client.program,
                    connect.as_secs_f64(),
                    advice.start
                )));
            }
            Ok(None) => return Err(self.timed_out(shown, limit)),
            Ok(Some(out)) => out,
        };
        if !out.status.success() {
            let stderr = one_line(&out.stderr, out.status);
            let failure = Failure {
                message: String::new(),
                stderr,
            };
            if failure.kind() == FailureKind::Unreachable {
                return Err(unavailable(format!(
                    "`{shown}` failed: {}; {}",
                    failure.stderr, advice.start
                )));
            }
        }
        self.reached
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    /// Whether the daemon answers `query /1.0` within `limit`.
    fn answers(&self, limit: Duration) -> bool {
        let path = self.client.api("/1.0");
        let args = ["query", path.as_str()];
        let started = std::time::Instant::now();
        let answered = output_within(self.command(&args), &[], limit)
            .is_ok_and(|out| out.is_some_and(|out| out.status.success()));
        crate::runtime::trace::report(&crate::runtime::trace::Call {
            cmdline: &self.cmdline(&args),
            took: started.elapsed(),
            failed: (!answered).then_some("no answer"),
        });
        answered
    }

    /// The error for a call stopped after `limit`: exit 69, naming the
    /// call, where it went, and the knob.
    pub(super) fn timed_out(&self, cmdline: &str, limit: Duration) -> anyhow::Error {
        let place = match &self.client.placement.remote {
            Some(remote) => format!("remote `{remote}`"),
            None => format!("the {} daemon", self.client.program),
        };
        Error::RuntimeUnavailable(format!(
            "`{cmdline}` did not finish within {} s and was stopped: {place} is not answering, \
             or the work is slow; the daemon may still be doing it (`lxdev doctor` shows what \
             is left); raise --runtime-timeout (LXDEV_RUNTIME_TIMEOUT) for slow work",
            limit.as_secs_f64()
        ))
        .into()
    }

    /// `GET path` through `<client> query`, parsed; `None` on 404.
    pub(super) fn query<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<Option<T>> {
        self.try_query(path)?.map_err(Into::into)
    }

    /// [`Self::query`], with a failed call handed back as it failed, for
    /// a caller that has another way to ask.
    pub(super) fn try_query<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
    ) -> Result<Result<Option<T>, Failure>> {
        let path = self.client.api(path);
        let args = ["query", path.as_str()];
        let body = match self.try_run(&args)? {
            Ok(body) => body,
            // The client prints the API's error, "Error: Instance not found"
            // for a 404, and exits 1; there is no flag for the status code.
            Err(failure) if failure.kind() == FailureKind::Missing => return Ok(Ok(None)),
            Err(failure) => return Ok(Err(failure)),
        };
        // The client prints nothing at all for an empty object: `GET
        // /1.0/operations` on a server (or in a project) with no operations
        // has metadata `{}` (seen with LXD 5.0.2 and Incus 6.0.4; `query
        // --raw` shows it), which `busy` must read as "none running".
        let body = if body.trim().is_empty() { "{}" } else { &body };
        serde_json::from_str(body)
            .map(|parsed| Ok(Some(parsed)))
            .with_context(|| format!("`{}` printed JSON lxdev cannot read", self.cmdline(&args)))
    }
}
