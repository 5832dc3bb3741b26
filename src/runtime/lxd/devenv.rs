//! What a dev environment needs of an instance beyond its lifecycle: the
//! file's limits and environment as instance config, hooks run as the dev
//! user, the instance's sshd on this process's standard streams, and its
//! logs.
//!
//! Hooks and logs stream: the client's stdout and stderr are read as they
//! come and handed over a line at a time (a line ends at `\n` or `\r`, and
//! at 8 KiB), so a command that prints a lot, or never ends (`journalctl
//! -f`), is shown as it runs and never held in memory. Neither is bounded
//! by `--runtime-timeout` (a setup may take as long as it takes); a
//! SIGINT or SIGTERM to lxdev asks the client to stop the command
//! (SIGTERM, which `exec` passes on), and kills the client 5 s later.
//! Nothing here is retried: a hook is not known to be safe to run twice.

use std::ffi::OsString;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::LxdRuntime;
use crate::config::names::RuntimeName;
use crate::runtime::backend::Environment;
use crate::runtime::rules::{check_names, check_settings, public_key};
use crate::runtime::types::{Hook, LogRequest, LogSource, SshFacts};

/// Prints `sshd yes|no`, then `hostkey ...` for each host public key and
/// `authorized ...` for each line of the `authorized_keys` of user `$1`.
const FACTS_SCRIPT: &str = r#"
if command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then echo "sshd yes"; else echo "sshd no"; fi
for f in /etc/ssh/ssh_host_*_key.pub; do
    [ -r "$f" ] && sed 's/^/hostkey /' "$f"
done
home=$(awk -F: -v u="$1" '$1 == u { print $6 }' /etc/passwd)
if [ -n "$home" ] && [ -r "$home/.ssh/authorized_keys" ]; then
    sed 's/^/authorized /' "$home/.ssh/authorized_keys"
fi
exit 0
"#;

/// Runs the command `$2` with `sh -c` in folder `$1`.
const HOOK_SCRIPT: &str = r#"
cd -- "$1" 2>/dev/null || { echo "lxdev: $(id -un) cannot enter $1" >&2; exit 126; }
exec sh -c "$2"
"#;

/// sshd in inetd mode on the exec's standard streams (its privilege
/// separation folder is on a tmpfs that only a started ssh unit makes).
const SSHD_SCRIPT: &str = r#"
mkdir -p /run/sshd && exec "$(command -v sshd || echo /usr/sbin/sshd)" -i "$@"
"#;

/// The journal where systemd is PID 1 (`$@`: journalctl's options), else
/// exit [`NO_JOURNAL`].
const LOGS_SCRIPT: &str = r#"
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v journalctl >/dev/null 2>&1; then
    exec journalctl --no-pager "$@"
fi
exit 200
"#;

/// [`LOGS_SCRIPT`]'s status when there is no journal to read.
const NO_JOURNAL: i32 = 200;

/// Longest line handed over in one piece.
const MAX_LINE: usize = 8192;

impl Environment for LxdRuntime {
    /// `config set INSTANCE K=V...` (one change), then `config unset` per
    /// key, in the instance's config queue (see `devices.rs`).
    fn configure(&self, instance: &str, changes: &[(String, Option<String>)]) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        check_settings(changes.iter().map(|(k, v)| (k.as_str(), v.as_deref())))?;
        let _turn = self.instance_queue(instance, "config")?;
        let sets: Vec<OsString> = changes
            .iter()
            .filter_map(|(key, value)| Some(format!("{key}={}", value.as_ref()?).into()))
            .collect();
        if !sets.is_empty() {
            let mut args = self.client.word("config");
            args.extend(["set".into(), "--".into(), self.client.at(instance).into()]);
            args.extend(sets);
            self.config_retried(|| self.run(&args).map(drop))?;
        }
        for (key, _) in changes.iter().filter(|(_, value)| value.is_none()) {
            let mut args = self.client.word("config");
            args.extend(["unset".into(), "--".into()]);
            args.extend([self.client.at(instance), key.clone()].map(OsString::from));
            self.config_retried(|| self.run(&args).map(drop))?;
        }
        Ok(())
    }

    fn run_hook(&self, instance: &str, hook: &Hook<'_>, line: &mut dyn FnMut(&str)) -> Result<i32> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::User(&hook.user.name),
        ])?;
        let user = hook.user;
        let mut args = self.client.word("exec");
        args.push("--force-noninteractive".into());
        args.extend(super::client::as_user(user));
        args.extend([self.client.at(instance).into(), "--".into()]);
        args.extend(["sh", "-c", HOOK_SCRIPT, "lxdev", hook.cwd, hook.command].map(OsString::from));
        let shown = format!(
            "{} exec {instance} -- sh -c ... ({})",
            self.client,
            hook.stage.as_str()
        );
        let status = stream(self.command(&args), line)
            .with_context(|| format!("failed to run `{shown}`"))?;
        Ok(status_code(status))
    }

    fn ssh_facts(&self, instance: &str, user: &str) -> Result<SshFacts> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::User(user)])?;
        let out = self
            .exec_script(instance, FACTS_SCRIPT, &[user], &[])?
            .success("reading its SSH keys")?;
        let mut facts = SshFacts::default();
        for text in out.lines() {
            match text.split_once(' ') {
                Some(("sshd", yes)) => facts.sshd = yes.trim() == "yes",
                Some(("hostkey", key)) => facts.host_keys.extend(public_key(key)),
                Some(("authorized", key)) => facts.authorized.extend(public_key(key)),
                _ => {}
            }
        }
        Ok(facts)
    }

    fn sshd_session(&self, instance: &str, env: &[(String, String)]) -> Result<i32> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let keys: Vec<String> = env
            .iter()
            .map(|(name, _)| format!("{}{name}", crate::config::devenv::ENV_PREFIX))
            .collect();
        check_settings(
            keys.iter()
                .zip(env)
                .map(|(key, (_, value))| (key.as_str(), Some(value.as_str()))),
        )?;
        let mut args = self.client.word("exec");
        args.push("--force-noninteractive".into());
        args.extend([self.client.at(instance).into(), "--".into()]);
        args.extend(["sh", "-c", SSHD_SCRIPT, "lxdev"].map(OsString::from));
        if !env.is_empty() {
            args.extend(["-o".into(), OsString::from(set_env(env)?)]);
        }
        // This process's own stdin and stdout are the connection, relayed
        // so that a start the client itself failed can be tried again.
        let status = super::relay::relay(|| {
            let mut command = Command::new(self.client.program);
            command.args(&args).env("LC_ALL", "C");
            command
        })
        .with_context(|| format!("failed to run `{} exec {instance} -- sshd -i`", self.client))?;
        Ok(status_code(status))
    }

    fn logs(
        &self,
        instance: &str,
        request: &LogRequest,
        line: &mut dyn FnMut(&str),
    ) -> Result<LogSource> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let mut args = self.client.word("exec");
        args.push("--force-noninteractive".into());
        args.extend([self.client.at(instance).into(), "--".into()]);
        args.extend(["sh", "-c", LOGS_SCRIPT, "lxdev"].map(OsString::from));
        if let Some(lines) = request.lines {
            args.extend(["-n".into(), lines.to_string().into()]);
        }
        if request.follow {
            args.push("-f".into());
        }
        let mut said = false;
        let status = stream(self.command(&args), &mut |text: &str| {
            said = true;
            line(text);
        })?;
        match status.code() {
            Some(NO_JOURNAL) if !said => {}
            _ => return Ok(LogSource::Journal),
        }
        self.console_log(instance, request, line)?;
        Ok(LogSource::Console)
    }
}

impl LxdRuntime {
    /// `console --show-log`: the last `request.lines`, then, following,
    /// what it gains each second until interrupted.
    fn console_log(
        &self,
        instance: &str,
        request: &LogRequest,
        line: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let mut args = self.client.word("console");
        args.extend([
            "--show-log".into(),
            "--".into(),
            self.client.at(instance).into(),
        ]);
        let mut seen: Vec<String> = Vec::new();
        let mut first = true;
        loop {
            let text = self.run(&args)?;
            let now: Vec<String> = text.lines().map(str::to_owned).collect();
            // The log is a ring: what was seen is a prefix of what is
            // there now, unless it turned over (then show it all).
            let start = if now.starts_with(&seen) {
                seen.len()
            } else {
                0
            };
            let mut new = &now[start..];
            if first && let Some(n) = request.lines {
                new = &new[new.len().saturating_sub(n as usize)..];
            }
            for text in new {
                line(text);
            }
            first = false;
            seen = now;
            if !request.follow {
                return Ok(());
            }
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                if crate::interrupt::received().is_some() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The `-o` option that makes sshd set `env` in its sessions: one
/// `SetEnv` (sshd keeps only the first), each `NAME=VALUE` in double
/// quotes with `"` and `\` escaped, as sshd_config's tokenizer reads them.
fn set_env(env: &[(String, String)]) -> Result<String> {
    let mut option = String::from("SetEnv");
    for (name, value) in env {
        if value.chars().any(char::is_control) || name.contains(['=', ' ', '"']) {
            bail!("environment variable `{name}` cannot be given to sshd");
        }
        let pair = format!("{name}={value}")
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        option.push_str(&format!(" \"{pair}\""));
    }
    Ok(option)
}

/// An exit status as a shell gives it: the code, or 128 + the signal.
fn status_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Runs `command` with stdin closed, handing each line of its stdout and
/// stderr to `line` as it comes (see the module comment), and returns how
/// it ended. On SIGINT or SIGTERM to lxdev the client gets SIGTERM, and
/// SIGKILL 5 s later.
fn stream(mut command: Command, line: &mut dyn FnMut(&str)) -> std::io::Result<ExitStatus> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let (send, lines) = mpsc::channel::<String>();
    let readers: Vec<std::thread::JoinHandle<()>> = [
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|reader| {
        let send = send.clone();
        std::thread::spawn(move || pump(reader, &send))
    })
    .collect();
    drop(send);
    let pid = rustix::process::Pid::from_child(&child);
    let mut stopping: Option<Instant> = None;
    loop {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(text) => line(&text),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if crate::interrupt::received().is_some() {
            match stopping {
                None => {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                    stopping = Some(Instant::now());
                }
                Some(since) if since.elapsed() > Duration::from_secs(5) => {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
                Some(_) => {}
            }
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    child.wait()
}

/// Reads `reader` to its end, sending each line (see [`stream`]).
fn pump(mut reader: Box<dyn Read + Send>, send: &mpsc::Sender<String>) {
    let mut buf = [0u8; 8192];
    let mut pending: Vec<u8> = Vec::new();
    let mut last = 0u8;
    let flush = |pending: &mut Vec<u8>| {
        let _ = send.send(String::from_utf8_lossy(pending).into_owned());
        pending.clear();
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &buf[..n] {
            match byte {
                b'\n' if last == b'\r' => {}
                b'\n' => flush(&mut pending),
                b'\r' if !pending.is_empty() => flush(&mut pending),
                b'\r' => {}
                _ => {
                    pending.push(byte);
                    if pending.len() >= MAX_LINE {
                        flush(&mut pending);
                    }
                }
            }
            last = byte;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_env_quotes_for_sshd() {
        let env = [
            ("A".to_owned(), "1".to_owned()),
            ("B".to_owned(), "two words \"q\" \\ # x".to_owned()),
        ];
        assert_eq!(
            set_env(&env).unwrap(),
            r#"SetEnv "A=1" "B=two words \"q\" \\ # x""#
        );
        assert!(set_env(&[("A".into(), "a\nb".into())]).is_err());
    }

    #[test]
    fn lines_end_at_breaks_and_carriage_returns() {
        let (send, lines) = mpsc::channel();
        let input: &[u8] = b"one\r\ntwo\n\nthree\rfour";
        pump(Box::new(input), &send);
        drop(send);
        let got: Vec<String> = lines.iter().collect();
        assert_eq!(got, ["one", "two", "", "three", "four"]);
    }
}
