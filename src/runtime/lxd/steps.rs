//! Provisioning in one `exec`: the boot wait, the dev user and sshd run in
//! one client call instead of one each, which saves the client's start and
//! the exec's setup (50-100 ms each on LXD 5.0) twice per create.
//!
//! Each step must be recorded in the file before its work starts, so the
//! script and lxdev take turns: before each step the script prints
//! `lxdev-begin STEP` and reads a line; lxdev records the step and answers
//! `go` (for `user`, followed by the password and keys, which so reach the
//! container only once that step is recorded). Any other answer, or its
//! stdin closing (lxdev killed, or recording failed), ends the script
//! before that step's work. After each step it prints `lxdev-done STEP`,
//! or `lxdev-warning STEP TEXT` when the step could do only part. A client
//! that fails the exec itself (the container's init not up yet just after
//! `start`, or LXD under load) has it run again from the first step not
//! done, whose record stands: the steps' scripts are safe to run again.

use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use super::{EXEC_TRIES, LxdRuntime};
use crate::config::ledger::Step;
use crate::config::names::RuntimeName;
use crate::runtime::provision::{self, Provisioning};
use crate::runtime::rules::check_names;

/// Runs the step scripts it is given (`$3` ready, `$4` user, `$5` ssh; `$1`
/// the boot wait's limit, `$2` the user) for each step named after them,
/// taking turns with lxdev as the module says. Exits 4 when lxdev says
/// stop, else with the failed step's status (its stderr on stderr).
const STEPS_SCRIPT: &str = r#"
limit=$1 user=$2 ready=$3 make_user=$4 ssh=$5
shift 5
err=$(mktemp 2>/dev/null) || err=/tmp/.lxdev-provision.$$
for step in "$@"; do
    echo "lxdev-begin $step"
    IFS= read -r answer && [ "$answer" = go ] || { rm -f "$err"; exit 4; }
    case $step in
    ready) sh -c "$ready" lxdev "$limit" </dev/null 2>"$err" ;;
    user)
        IFS= read -r password || { rm -f "$err"; exit 4; }
        keys=
        while IFS= read -r key && [ -n "$key" ]; do
            keys="$keys$key
"
        done
        printf '%s\n%s' "$password" "$keys" | sh -c "$make_user" lxdev "$user" 2>"$err" ;;
    ssh) sh -c "$ssh" lxdev </dev/null 2>"$err" ;;
    esac
    status=$?
    if [ "$status" = 3 ]; then
        echo "lxdev-warning $step $(tr '\n' ' ' <"$err")"
    elif [ "$status" != 0 ]; then
        cat "$err" >&2
        rm -f "$err"
        exit "$status"
    fi
    echo "lxdev-done $step"
done
rm -f "$err"
"#;

/// What one run of the script did.
struct Run {
    status: i32,
    stderr: String,
    stdout: Vec<String>,
    /// Set when `begin` failed: the script was told to stop there.
    refused: Option<(Step, anyhow::Error)>,
}

impl LxdRuntime {
    /// [`crate::runtime::Runtime::provision_steps`] in as few `exec`s as
    /// the client allows: one, unless it failed the exec itself.
    pub(super) fn run_steps(
        &self,
        instance: &str,
        steps: &[Step],
        spec: &Provisioning,
        begin: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<Vec<String>, (Step, anyhow::Error)> {
        let first = steps.first().copied().unwrap_or(Step::Ready);
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::User(&spec.user),
        ])
        .map_err(|err| (first, err))?;
        // The boot wait's limit, and the call's: that, a margin, and the
        // other steps' share.
        let deadline = Instant::now() + spec.ready_timeout;
        let limit = spec.ready_timeout + Duration::from_secs(30) + self.limits.call;
        let mut begun: HashSet<Step> = HashSet::new();
        let mut done: Vec<Step> = Vec::new();
        let mut warnings = Vec::new();
        let mut pause = super::scripts::FIRST_PAUSE;
        let mut tries = 0;
        loop {
            let left: Vec<Step> = steps
                .iter()
                .copied()
                .filter(|s| !done.contains(s))
                .collect();
            let Some(&current) = left.first() else {
                return Ok(warnings);
            };
            let seconds = deadline
                .saturating_duration_since(Instant::now())
                .as_secs()
                .max(1);
            let run = self
                .steps_once(instance, &left, spec, seconds, limit, &mut begun, begin)
                .map_err(|err| (current, err))?;
            for line in &run.stdout {
                let mut words = line.splitn(3, ' ');
                match (words.next(), words.next().and_then(step_named)) {
                    (Some("lxdev-done"), Some(step)) => done.push(step),
                    (Some("lxdev-warning"), Some(_)) => {
                        let text = words.next().unwrap_or_default();
                        warnings.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                    _ => {}
                }
            }
            if let Some(address) = provision::listed_address(&run.stdout.join("\n")) {
                self.remember_address(instance, Some(address));
            }
            if let Some(refused) = run.refused {
                return Err(refused);
            }
            // The step in flight: the last one begun and not done.
            let failed = steps
                .iter()
                .copied()
                .rfind(|s| begun.contains(s) && !done.contains(s))
                .unwrap_or(current);
            if run.status == 0 {
                if left.iter().all(|s| !done.contains(s)) {
                    // Ended well without doing a step: it would again.
                    return Err((
                        current,
                        anyhow!("`exec` of the provisioning script ended without running it"),
                    ));
                }
                continue;
            }
            let clients_error = run.status == 255 && run.stderr.trim_start().starts_with("Error:");
            tries += 1;
            let again = if failed == Step::Ready {
                Instant::now() + pause < deadline
            } else {
                tries < EXEC_TRIES
            };
            if clients_error && again {
                std::thread::sleep(pause);
                pause = (pause * 2).min(super::scripts::MAX_PAUSE);
                continue;
            }
            let what = match failed {
                Step::Ready => "waiting for the container to boot",
                Step::User => "creating the user",
                _ => "enabling SSH",
            };
            let why = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
            let err = if clients_error && failed == Step::Ready {
                anyhow!(
                    "timed out after {}s waiting for `exec` to work in `{instance}`: {why}",
                    spec.ready_timeout.as_secs()
                )
            } else {
                anyhow!("{what} failed (exit {}): {why}", run.status)
            };
            return Err((failed, err));
        }
    }

    /// One `exec` of [`STEPS_SCRIPT`] for `steps`, answering its turns:
    /// `begin` for a step not `begun` before (a run again skips it).
    #[allow(clippy::too_many_arguments)]
    fn steps_once(
        &self,
        instance: &str,
        steps: &[Step],
        spec: &Provisioning,
        seconds: u64,
        limit: Duration,
        begun: &mut HashSet<Step>,
        begin: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<Run> {
        let mut argv = self.client.word("exec");
        argv.push("--force-noninteractive".into());
        argv.extend([self.client.at(instance).into(), "--".into()]);
        argv.extend(["sh", "-c", STEPS_SCRIPT, "lxdev"].map(Into::into));
        let seconds = seconds.to_string();
        argv.extend(
            [
                seconds.as_str(),
                &spec.user,
                provision::READY_SCRIPT,
                provision::USER_SCRIPT,
                provision::SSH_SCRIPT,
            ]
            .map(Into::into),
        );
        argv.extend(steps.iter().map(|s| s.as_str().into()));
        let names: Vec<&str> = steps.iter().map(|s| s.as_str()).collect();
        let shown = format!(
            "{} exec {} -- sh -c <provision: {}>",
            self.client,
            self.client.at(instance),
            names.join(", ")
        );
        let started = Instant::now();
        let mut command = self.command(&argv);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|err| anyhow!("failed to run `{shown}`: {err}"))?;
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (lines, heard) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut run = Run {
            status: -1,
            stderr: String::new(),
            stdout: Vec::new(),
            refused: None,
        };
        let mut timed_out = false;
        loop {
            let left = limit.saturating_sub(started.elapsed());
            let line = match heard.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    timed_out = true;
                    let _ = child.kill();
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Some(step) = line.strip_prefix("lxdev-begin ").and_then(step_named) {
                let go = if begun.contains(&step) {
                    Ok(())
                } else {
                    begin(step)
                };
                match go {
                    Ok(()) => {
                        begun.insert(step);
                        let mut answer = b"go\n".to_vec();
                        if step == Step::User {
                            answer.extend(spec.user_input());
                            answer.push(b'\n');
                        }
                        // A script that died meanwhile closed its stdin:
                        // its status says what happened.
                        if let Some(input) = stdin.as_mut() {
                            let _ = input.write_all(&answer).and_then(|()| input.flush());
                        }
                    }
                    Err(err) => {
                        run.refused = Some((step, err));
                        stdin = None;
                    }
                }
            }
            run.stdout.push(line);
        }
        drop(stdin);
        let status = child.wait()?;
        run.stderr = errors.join().unwrap_or_default();
        run.status = status.code().unwrap_or(-1);
        let failed = match (timed_out, run.status) {
            (true, _) => Some("stopped".to_owned()),
            (false, 0) => None,
            (false, code) => Some(format!("exit {code}")),
        };
        crate::runtime::trace::report(&crate::runtime::trace::Call {
            cmdline: &shown,
            took: started.elapsed(),
            failed: failed.as_deref(),
        });
        if timed_out {
            return Err(self.timed_out(&shown, limit));
        }
        Ok(run)
    }
}

/// The step a script line names.
fn step_named(word: &str) -> Option<Step> {
    [Step::Ready, Step::User, Step::Ssh]
        .into_iter()
        .find(|step| step.as_str() == word.trim())
}
