//! Scripts run inside an instance (provisioning, the boot wait): not
//! attached to a terminal, secrets on standard input, run again (after a
//! short pause that doubles) when the client itself failed the exec.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::{EXEC_TRIES, LxdRuntime};
use crate::config::names::RuntimeName;
use crate::runtime::provision;
use crate::runtime::rules::check_names;

impl LxdRuntime {
    /// Runs `sh -c SCRIPT lxdev ARGS...` inside `instance`, not attached to
    /// a terminal, with `input` on its standard input (secrets go there,
    /// never on a command line).
    pub(super) fn exec_script(
        &self,
        instance: &str,
        script: &str,
        args: &[&str],
        input: &[u8],
    ) -> Result<ScriptOutput> {
        self.exec_script_within(instance, script, args, input, self.limits.call)
    }

    /// [`Self::exec_script`], stopped after `limit` (a script with a wait
    /// of its own may need longer than a plain call).
    fn exec_script_within(
        &self,
        instance: &str,
        script: &str,
        args: &[&str],
        input: &[u8],
        limit: Duration,
    ) -> Result<ScriptOutput> {
        let mut pause = FIRST_PAUSE;
        let mut tries = 0;
        loop {
            let out = self.exec_script_once(instance, script, args, input, limit)?;
            tries += 1;
            if !out.clients_error() || tries == EXEC_TRIES {
                return Ok(out);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    fn exec_script_once(
        &self,
        instance: &str,
        script: &str,
        args: &[&str],
        input: &[u8],
        limit: Duration,
    ) -> Result<ScriptOutput> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let mut argv = self.client.word("exec");
        argv.push("--force-noninteractive".into());
        argv.extend([self.client.at(instance).into(), "--".into()]);
        argv.extend(["sh", "-c", script, "lxdev"].map(OsString::from));
        argv.extend(args.iter().map(OsString::from));
        let shown = format!(
            "{} exec {} -- sh -c <{}> {}",
            self.client,
            self.client.at(instance),
            purpose(script),
            args.join(" ")
        );
        let out = self.call(self.command(&argv), input, limit, shown.trim_end(), false)?;
        Ok(ScriptOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Waits until `instance` has booted (`provision::READY_SCRIPT`),
    /// within `timeout` in all. Just after `start` the client may fail the
    /// exec itself while the container's init is not up yet: the script is
    /// run again, after 10 ms, then twice as long each time (at most
    /// 200 ms), rather than first probing with `exec true`, which cost a
    /// client call on every create.
    pub(super) fn wait_ready(&self, instance: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut pause = FIRST_PAUSE;
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs()
                .max(1);
            // The script waits `left` seconds itself; the call gets that
            // and a margin.
            let limit = self.limits.call.max(Duration::from_secs(left + 30));
            let out = self.exec_script_once(
                instance,
                provision::READY_SCRIPT,
                &[&left.to_string()],
                &[],
                limit,
            )?;
            if !out.clients_error() {
                return out.success("waiting for the container to boot").map(drop);
            }
            if Instant::now() + pause >= deadline {
                bail!(
                    "timed out after {}s waiting for `exec` to work in `{instance}`: {}",
                    timeout.as_secs(),
                    out.stderr.trim()
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

/// The first pause before a script the client failed to start is run
/// again, doubled each time up to [`MAX_PAUSE`].
pub(super) const FIRST_PAUSE: Duration = Duration::from_millis(10);
pub(super) const MAX_PAUSE: Duration = Duration::from_millis(200);

/// What `--verbose` calls `script`.
fn purpose(script: &str) -> &'static str {
    match script {
        provision::READY_SCRIPT => "wait for boot",
        provision::USER_SCRIPT => "dev user, sudo, keys on stdin",
        provision::SSH_SCRIPT => "sshd on",
        provision::USER_IDS_SCRIPT => "user ids",
        _ => "script",
    }
}

/// What a script run inside an instance printed, and its exit status.
pub(super) struct ScriptOutput {
    pub(super) status: i32,
    pub(super) stdout: String,
    stderr: String,
}

impl ScriptOutput {
    /// Whether the client failed the exec itself, not the script: under
    /// load, or just after `start`, LXD 5.0 fails an exec it accepted
    /// ("Failed to retrieve PID of executing child process", status 255,
    /// seen in the races). The scripts are safe to run again.
    fn clients_error(&self) -> bool {
        self.status == 255 && self.stderr.trim_start().starts_with("Error:")
    }

    /// `None` when it succeeded, its stderr when it exited with
    /// [`provision::WARNING_STATUS`], else an error naming `what`.
    pub(super) fn done_or_warning(self, what: &str) -> Result<Option<String>> {
        if self.status == provision::WARNING_STATUS {
            return Ok(Some(
                self.stderr.split_whitespace().collect::<Vec<_>>().join(" "),
            ));
        }
        self.success(what).map(|_| None)
    }

    /// Its stdout, or an error naming `what` and the script's stderr.
    pub(super) fn success(self, what: &str) -> Result<String> {
        if self.status == 0 {
            return Ok(self.stdout);
        }
        bail!(
            "{what} failed (exit {}): {}",
            self.status,
            self.stderr.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}
