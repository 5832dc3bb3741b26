//! Scripts run inside an instance (provisioning, the boot wait): not
//! attached to a terminal, secrets on standard input, retried when the
//! client itself failed the exec.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::run::output_within;
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
        // Under load, LXD 5.0 sometimes fails an exec it accepted ("Failed
        // to retrieve PID of executing child process", status 255, seen in
        // the races): the client's own error, not the script's. The
        // scripts are safe to run again, so such a failure is retried.
        let mut tries = 0;
        loop {
            let out = self.exec_script_once(instance, script, args, input, limit)?;
            let clients_error = out.status == 255 && out.stderr.trim_start().starts_with("Error:");
            tries += 1;
            if !clients_error || tries == EXEC_TRIES {
                return Ok(out);
            }
            std::thread::sleep(Duration::from_millis(300));
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
        let shown = format!("{} exec {instance} -- sh -c ...", self.client);
        let out = output_within(self.command(&argv), input, limit)
            .with_context(|| format!("failed to run `{shown}`"))?
            .ok_or_else(|| self.timed_out(&shown, limit))?;
        Ok(ScriptOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Waits until `exec` works in `instance`, then until it has booted
    /// (`provision::READY_SCRIPT`), within `timeout` in all.
    pub(super) fn wait_ready(&self, instance: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.exec_script(instance, "true", &[], &[]) {
                Ok(out) if out.status == 0 => break,
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Ok(out) => bail!(
                    "timed out after {}s waiting for `exec` to work in `{instance}`: {}",
                    timeout.as_secs(),
                    out.stderr.trim()
                ),
                Err(err) => return Err(err),
            }
        }
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs()
            .max(1);
        // The script waits `left` seconds itself; the call gets that and
        // a margin.
        let limit = self.limits.call.max(Duration::from_secs(left + 30));
        let out = self.exec_script_within(
            instance,
            provision::READY_SCRIPT,
            &[&left.to_string()],
            &[],
            limit,
        )?;
        out.success("waiting for the container to boot").map(drop)
    }
}

/// What a script run inside an instance printed, and its exit status.
pub(super) struct ScriptOutput {
    pub(super) status: i32,
    pub(super) stdout: String,
    stderr: String,
}

impl ScriptOutput {
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
