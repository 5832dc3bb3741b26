//! LXD (`lxc`) and Incus (`incus`) backends: the same verbs, a different
//! client binary.
//!
//! Invariant: every `lxc`/`incus` process lxdev spawns is spawned here, and a
//! method returns `Ok` only once the daemon shows the result under the exact
//! name asked for. Queries go through `<client> query` on the REST API, never
//! `<client> list NAME`, which matches by prefix (`web-c1` also finds
//! `web-c10`).
//!
//! Every name a caller passes is checked here before any client runs
//! ([`check_names`]), and goes to the client after `--` (options first),
//! so no instance, snapshot or image name can be read as an option: the
//! client's parser (cobra) takes everything after `--` as positional.
//!
//! Where calls go (a remote, an LXD/Incus project) and how each client
//! spells its verbs is decided in `client.rs` alone.
//!
//! Limits: with no `remote:` or `runtime_project:`, the client's default
//! remote and current project are used as configured; no call has a
//! timeout of its own (a hung daemon hangs the call); failure
//! messages are the client's own, in English (`LC_ALL=C`).

mod devices;
mod files;
mod images;
mod scripts;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

use super::client::{Client, Placement, Verb};
use super::provision::{self, ContainerUser, Provisioning};
use super::{DeviceSpec, ExecOptions, Instance, Limits, Runtime, Tags};
use crate::config::ledger::Step;
use crate::config::names::{self, RuntimeName};
use crate::error::Error;
use crate::fs::lock::{FileLock, LockTimeout};

/// Seconds `stop` gives the instance's init to shut down cleanly before it
/// is killed (LXD's own default for host shutdown is 30 s too).
const STOP_TIMEOUT_SECS: u32 = 30;

/// The shell an empty `exec` opens. `/bin/sh` exists on every image,
/// busybox included; `-l` reads `/etc/profile`.
const LOGIN_SHELL: &[&str] = &["/bin/sh", "-l"];

/// How long snapshot work on one instance waits for the one before it.
const SNAPSHOT_QUEUE_TIMEOUT: Duration = Duration::from_secs(600);

/// Instance config every new instance gets, so Docker works inside it
/// (lxc-dev-manager's set): nesting, and the mknod and setxattr syscall
/// intercepts. Given at `init`, so no restart is needed to apply it.
const DOCKER_READY: &[&str] = &[
    "security.nesting=true",
    "security.syscalls.intercept.mknod=true",
    "security.syscalls.intercept.setxattr=true",
];

/// How many times a provisioning script is run when the client itself
/// failed the exec (see `exec_script`).
const EXEC_TRIES: u32 = 5;

/// A runtime driven through the `lxc` or `incus` command-line client.
#[derive(Debug)]
pub struct LxdRuntime {
    /// `lxc` or `incus`, and where its calls go.
    client: Client,
    /// The project directory, whose `.lxdev/locks` holds the per-instance
    /// queue locks (see `snapshot_queue`).
    project_dir: Option<PathBuf>,
    /// How long each call may take before it is stopped.
    limits: Limits,
}

impl LxdRuntime {
    /// LXD through `lxc`; fails with `RuntimeUnavailable` (exit 69) if the
    /// client is missing or cannot reach a daemon.
    pub fn lxd() -> Result<LxdRuntime> {
        Self::connect("lxc", Placement::default(), Limits::default())
    }

    /// Incus through `incus`; same failure rules as [`LxdRuntime::lxd`].
    pub fn incus() -> Result<LxdRuntime> {
        Self::connect("incus", Placement::default(), Limits::default())
    }

    /// The runtime named `name` (`lxd` or `incus`) with its calls sent to
    /// `placement`'s remote and project; `None` for another name.
    pub fn open(name: &str, placement: Placement, limits: Limits) -> Option<Result<LxdRuntime>> {
        match name {
            "lxd" => Some(Self::connect("lxc", placement, limits)),
            "incus" => Some(Self::connect("incus", placement, limits)),
            _ => None,
        }
    }

    /// Where this runtime's calls go.
    pub fn placement(&self) -> &Placement {
        &self.client.placement
    }

    /// The client's current project on the remote calls go to: the one
    /// `project list` marks `(current)`. This is the client's own
    /// configuration (`lxc project switch`), which the server cannot tell:
    /// `GET /1.0` answers for whatever project the request names.
    pub fn clients_current_project(&self) -> Result<String> {
        let mut args: Vec<OsString> = vec!["project".into(), "list".into()];
        args.extend(["--format".into(), "csv".into()]);
        if self.client.placement.remote.is_some() {
            args.extend(["--".into(), self.client.at("").into()]);
        }
        let out = self.run(&args)?;
        // `NAME (current),IMAGES,...`; a project name has no `,` or space.
        out.lines()
            .filter_map(|line| line.split(',').next())
            .find_map(|name| name.strip_suffix(" (current)"))
            .map(str::to_owned)
            .with_context(|| format!("`{}` marks no project as current", self.cmdline(&args)))
    }

    /// Queue snapshot operations on one instance through lock files in
    /// `project_dir`'s `.lxdev/locks`.
    pub fn with_project_dir(mut self, project_dir: PathBuf) -> LxdRuntime {
        self.project_dir = Some(project_dir);
        self
    }

    /// Waits for this process's turn at snapshot work on `instance`. LXD
    /// fails parallel snapshot operations on one instance ("Instance
    /// snapshot record count doesn't match instance snapshot volume record
    /// count", seen with LXD 5.0), so lxdev queues them. This is not the
    /// config lock: nothing but snapshot work on this instance waits.
    fn snapshot_queue(&self, instance: &str) -> Result<Option<FileLock>> {
        self.instance_queue(instance, "snapshots")
    }

    /// Waits for this process's turn at `work` ("snapshots", "config") on
    /// `instance`; see [`Self::snapshot_queue`].
    fn instance_queue(&self, instance: &str, work: &str) -> Result<Option<FileLock>> {
        let Some(project_dir) = &self.project_dir else {
            return Ok(None);
        };
        let dir = crate::fs::own_dir::ensure(project_dir, &[".lxdev", "locks"])?;
        let path = dir.join(format!("{instance}.{work}.lock"));
        // Not LockTimeout: its advice (--lock-timeout) is about the config
        // lock and does not shorten or lengthen this wait. Busy keeps the
        // exit code (75, try again).
        let lock = FileLock::acquire(
            &path,
            SNAPSHOT_QUEUE_TIMEOUT,
            SNAPSHOT_QUEUE_TIMEOUT,
            &mut |_| {},
        )
        .map_err(|err| match err.downcast::<LockTimeout>() {
            Ok(timeout) => Error::Busy(format!(
                "timed out after {} s waiting in the queue for {work} work on instance \
                     `{instance}` (`{}`), held by {}; lxdev runs such work on one instance \
                     one at a time: let that work finish, then try again",
                timeout.waited.as_secs(),
                timeout.path.display(),
                timeout.holder,
            ))
            .into(),
            Err(err) => err,
        })?;
        Ok(Some(lock))
    }

    /// `incus`, then `lxc`, whichever reaches a daemon first, with calls
    /// sent to `placement`.
    pub fn detect(placement: Placement, limits: Limits) -> Result<LxdRuntime> {
        let incus = match Self::probe("incus", placement.clone(), limits) {
            Ok(runtime) => return Ok(runtime),
            Err(why) => why,
        };
        let lxc = match Self::probe("lxc", placement, limits) {
            Ok(runtime) => return Ok(runtime),
            Err(why) => why,
        };
        Err(Error::RuntimeUnavailable(format!(
            "no container runtime found: {incus}; {lxc}; {TRY_FAKE}"
        ))
        .into())
    }

    /// Checks that `client` exists and a daemon answers it; fails with
    /// `RuntimeUnavailable` saying what to install or start.
    fn connect(client: &'static str, placement: Placement, limits: Limits) -> Result<LxdRuntime> {
        // The fake runtime has no remotes: no use suggesting it for one.
        let remote = placement.remote.is_some();
        Self::probe(client, placement, limits).map_err(|why| {
            let why = if remote {
                why
            } else {
                format!("{why}; {TRY_FAKE}")
            };
            Error::RuntimeUnavailable(why).into()
        })
    }

    /// [`Self::connect`]'s work: the runtime, or why not and what to do.
    /// `query /1.0` is the cheapest call that needs the daemon (about
    /// 20 ms).
    fn probe(
        client: &'static str,
        placement: Placement,
        limits: Limits,
    ) -> Result<LxdRuntime, String> {
        let mut runtime = LxdRuntime {
            client: Client::new(client),
            project_dir: None,
            limits,
        };
        runtime.client.placement = placement;
        let path = runtime.client.api("/1.0");
        let args = ["query", path.as_str()];
        let advice = Advice::for_client(client);
        let cmdline = runtime.cmdline(&args);
        match output_within(runtime.command(&args), &[], limits.connect) {
            Ok(None) => {
                let secs = limits.connect.as_secs_f64();
                let what = match &runtime.client.placement.remote {
                    Some(remote) => format!(
                        "remote `{remote}` did not answer within {secs} s (`{cmdline}`): it may \
                         accept connections and never answer; check that its daemon runs and \
                         that `{client} remote list` shows its address"
                    ),
                    None => format!(
                        "the {client} daemon did not answer within {secs} s (`{cmdline}`); {}",
                        advice.start
                    ),
                };
                Err(format!(
                    "{what}, or raise --connect-timeout (LXDEV_CONNECT_TIMEOUT)"
                ))
            }
            Ok(Some(out)) if out.status.success() => match &runtime.client.placement.remote {
                Some(remote) => runtime.check_trusted(remote, &out.stdout).map(|()| runtime),
                None => Ok(runtime),
            },
            Ok(Some(out)) => {
                let stderr = one_line(&out.stderr, out.status);
                match &runtime.client.placement.remote {
                    Some(remote) => Err(runtime.remote_failed(remote, &cmdline, stderr)),
                    None => Err(format!("`{cmdline}` failed: {stderr}; {}", advice.start)),
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(format!(
                "`{client}` is not installed (not found on PATH); {}",
                advice.install
            )),
            Err(err) => Err(format!(
                "`{cmdline}` could not be started: {err}; {}",
                advice.install
            )),
        }
    }

    /// Why `remote` cannot be used, from the client's stderr for
    /// `cmdline`: one line naming the remote and what to do.
    fn remote_failed(&self, remote: &str, cmdline: &str, stderr: String) -> String {
        let client = self.client.program;
        let failure = Failure {
            message: String::new(),
            stderr,
        };
        let stderr = &failure.stderr;
        match failure.kind() {
            FailureKind::NoSuchRemote => format!(
                "remote `{remote}` is not one of `{client}`'s remotes (`{client} remote list`): \
                 add it with `{client} remote add {remote} HOST:8443 --token TOKEN`, or drop \
                 --remote / `remote:` to use the local daemon"
            ),
            FailureKind::Unreachable => format!(
                "remote `{remote}` cannot be reached (`{cmdline}`: {stderr}); check that its \
                 daemon is running and listens on the address `{client} remote list` shows \
                 (its `core.https_address`)"
            ),
            _ => format!("remote `{remote}` cannot be used: `{cmdline}` failed: {stderr}"),
        }
    }

    /// Fails unless `GET /1.0` (its body `body`) says the remote trusts
    /// this client: an untrusted client still gets an answer to `/1.0`
    /// (`"auth": "untrusted"`), and "not authorized" for everything else.
    fn check_trusted(&self, remote: &str, body: &[u8]) -> Result<(), String> {
        let auth = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|server| server.get("auth")?.as_str().map(str::to_owned));
        if auth.as_deref() == Some("trusted") {
            return Ok(());
        }
        let client = self.client.program;
        Err(format!(
            "remote `{remote}` does not trust this client (it answers as `{}`): on the \
             server, `{client} config trust add` makes a token; here, `{client} remote remove \
             {remote}` and `{client} remote add {remote} HOST:8443 --token TOKEN`",
            auth.as_deref().unwrap_or("unknown")
        ))
    }

    /// `client` with `args`, stdin closed and messages in English, so the
    /// error text lxdev matches on ("not found") is stable.
    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(self.client.program);
        command.args(args).env("LC_ALL", "C").stdin(Stdio::null());
        command
    }

    /// The command line as a user would type it, for error messages.
    fn cmdline<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        std::iter::once(OsStr::new(self.client.program))
            .chain(args.iter().map(AsRef::as_ref))
            .map(|arg| shell_quote(&arg.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the client to completion with stdout and stderr captured, and
    /// returns stdout. A failure names the command line and its stderr.
    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String> {
        self.try_run(args)?.map_err(Failure::into_error)
    }

    /// Runs `init` or `copy` for `instance`, then checks and starts it.
    fn make_instance(&self, args: &[OsString], instance: &str, tags: &Tags<'_>) -> Result<()> {
        let taken = match self.try_run(args)? {
            Ok(_) => return self.start_new(instance, &self.cmdline(args)),
            Err(failure) if failure.kind() == FailureKind::Taken => failure,
            Err(failure) => return Err(failure.into_error()),
        };
        // Only the instance's own project may be told to delete it: a name
        // can be another project's (`a` + `b-web` is `a-b` + `web`).
        let owner = self.status(instance).ok().flatten().and_then(|found| {
            match found.belonging(tags.project, tags.config_path) {
                super::Belonging::OtherProject(other) => Some(format!("project `{other}`")),
                super::Belonging::OtherCheckout(file) => Some(format!("`{file}`")),
                super::Belonging::Ours | super::Belonging::Untagged => None,
            }
        });
        let remedy = match owner {
            Some(owner) => format!(
                "it belongs to {owner} (its user.lxdev tags say so), and lxdev never touches \
                 another project's instance: pick another name"
            ),
            None => format!(
                "pick another name or remove it with `{}`",
                self.cmdline(&self.delete_args(instance))
            ),
        };
        Err(Error::Conflict(format!(
            "{}; instance `{instance}` already exists in {}: {remedy}",
            taken.message,
            self.name()
        ))
        .into())
    }

    /// Runs a command that makes `what`. "Already exists" means the command
    /// made nothing, so it is a conflict (exit 4): callers then drop their
    /// reservation instead of recording a failure over someone else's
    /// instance.
    fn run_making<S: AsRef<OsStr>>(&self, args: &[S], what: &str, remedy: &str) -> Result<()> {
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
    fn try_run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Result<String, Failure>> {
        self.try_run_in(None, args)
    }

    /// [`Self::try_run`] with the client's working directory set to `dir`.
    fn try_run_in<S: AsRef<OsStr>>(
        &self,
        dir: Option<&std::path::Path>,
        args: &[S],
    ) -> Result<Result<String, Failure>> {
        let cmdline = self.cmdline(args);
        let mut pause = Duration::from_millis(500);
        for tries in 1.. {
            let mut command = self.command(args);
            if let Some(dir) = dir {
                command.current_dir(dir);
            }
            let out = output_within(command, &[], self.limits.call)
                .with_context(|| format!("failed to run `{cmdline}`"))?
                .ok_or_else(|| self.timed_out(&cmdline, self.limits.call))?;
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
    fn query<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<Option<T>> {
        let path = self.client.api(path);
        let args = ["query", path.as_str()];
        let body = match self.try_run(&args)? {
            Ok(body) => body,
            // The client prints the API's error, "Error: Instance not found"
            // for a 404, and exits 1; there is no flag for the status code.
            Err(failure) if failure.kind() == FailureKind::Missing => return Ok(None),
            Err(failure) => bail!(failure.message),
        };
        // The client prints nothing at all for an empty object: `GET
        // /1.0/operations` on a server (or in a project) with no operations
        // has metadata `{}` (seen with LXD 5.0.2 and Incus 6.0.4; `query
        // --raw` shows it), which `busy` must read as "none running".
        let body = if body.trim().is_empty() { "{}" } else { &body };
        serde_json::from_str(body)
            .map(Some)
            .with_context(|| format!("`{}` printed JSON lxdev cannot read", self.cmdline(&args)))
    }

    /// `--config` flags for the tags lxdev puts on every instance it makes.
    fn tag_args(tags: &Tags<'_>) -> Vec<OsString> {
        let mut config = OsString::from("user.lxdev.config=");
        config.push(tags.config_path.as_os_str());
        vec![
            "-c".into(),
            format!("user.lxdev.project={}", tags.project).into(),
            "-c".into(),
            config,
        ]
    }

    /// Confirms that the daemon shows the instance `made_by` just made,
    /// then starts it; if it will not start, deletes it again so a failed
    /// create or clone leaves nothing behind.
    fn start_new(&self, instance: &str, made_by: &str) -> Result<()> {
        let found = match self.status(instance)? {
            Some(found) if found.name == instance => found,
            _ => bail!("`{made_by}` reported success but instance `{instance}` does not exist"),
        };
        // A copy carries its source's forwarded ports, which its source
        // still listens on: it would not start. Every proxy goes, whatever
        // its name (one written into the file by hand is not `lxdev-port-*`).
        let proxies: Vec<&String> = found
            .devices
            .iter()
            .filter(|(_, spec)| spec.kind == "proxy")
            .map(|(name, _)| name)
            .collect();
        for device in proxies {
            self.device_remove(instance, device)?;
        }
        if let Err(err) = self.start(instance) {
            let cleanup = match self.delete_after_failed_start(instance) {
                Ok(()) => "removed it again".to_owned(),
                Err(del) => format!("could not remove it: {del}"),
            };
            return Err(err.context(format!(
                "`{made_by}` made instance `{instance}` but it did not start; {cleanup}"
            )));
        }
        Ok(())
    }

    /// `delete --force`, retried while the daemon is still cleaning up the
    /// failed start: LXD 5.0 runs a "stop" operation then and refuses the
    /// delete meanwhile ("Instance is busy running a "stop" operation").
    fn delete_after_failed_start(&self, instance: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(STOP_TIMEOUT_SECS.into());
        let args = self.delete_args(instance);
        loop {
            match self.try_run(&args)? {
                Ok(_) => return Ok(()),
                Err(failure)
                    if failure.kind() == FailureKind::Busy && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(failure) => bail!(failure.message),
            }
        }
    }
}

impl LxdRuntime {
    /// `delete --force -- INSTANCE`.
    fn delete_args(&self, instance: &str) -> Vec<OsString> {
        let mut args = self.client.word("delete");
        args.extend([
            "--force".into(),
            "--".into(),
            self.client.at(instance).into(),
        ]);
        args
    }

    /// The words of a snapshot verb, then `--`, then the instance and
    /// snapshot as the client takes them (`INSTANCE SNAP`, or
    /// `INSTANCE/SNAP` for LXD's `delete`).
    fn snapshot_args(&self, verb: Verb, instance: &str, snapshot: &str) -> Vec<OsString> {
        let mut args = self.client.verb(verb);
        args.push("--".into());
        if self.client.flavour.joins_snapshot(verb) {
            args.push(self.client.at(&format!("{instance}/{snapshot}")).into());
        } else {
            args.push(self.client.at(instance).into());
            args.push(snapshot.into());
        }
        args
    }
}

/// Runs `command` to its end, `input` on its stdin, stdout and stderr
/// captured, and kills it once it has run for `limit`: `Ok(None)` then.
/// The child is reaped only by the waiting thread, so until that thread
/// returns its pid cannot be reused and the kill reaches it alone.
pub(super) fn output_within(
    mut command: Command,
    input: &[u8],
    limit: Duration,
) -> io::Result<Option<std::process::Output>> {
    use std::io::Write as _;
    use std::sync::mpsc;
    command
        .stdin(if input.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A client that exits early closes its stdin: not our failure.
        let _ = stdin.write_all(input);
    }
    let pid = rustix::process::Pid::from_child(&child);
    let (done, finished) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(out) => out.map(Some),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = finished.recv();
            Ok(None)
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("the thread waiting for the client ended"))
        }
    }
}

/// The last resort every "runtime unavailable" message ends with.
const TRY_FAKE: &str = "or try lxdev without one: `--runtime fake`";

/// What to tell a user whose runtime is missing or not running: written
/// for an installed lxdev, so it names the distribution's package and
/// service (Debian 12 packages both `lxd` and `incus`; the LXD snap is the
/// upstream's way elsewhere), not this source tree's scripts.
struct Advice {
    /// When the client is not installed.
    install: &'static str,
    /// When the client runs but reaches no daemon.
    start: &'static str,
}

impl Advice {
    fn for_client(client: &str) -> Advice {
        let incus = std::path::Path::new(client)
            .file_name()
            .is_some_and(|name| name == "incus");
        if incus {
            Advice {
                install: "install Incus (Debian's `incus` package: `apt install incus`), \
                          set it up with `incus admin init` and start it with \
                          `systemctl start incus`",
                start: "start the Incus daemon with `systemctl start incus` and check that \
                        you may use it (root, or a member of the `incus-admin` group)",
            }
        } else {
            Advice {
                install: "install LXD (Debian's `lxd` package: `apt install lxd`, or the \
                          snap: `snap install lxd`), set it up with `lxd init` and start it \
                          with `systemctl start lxd`",
                start: "start the LXD daemon with `systemctl start lxd` (the snap: \
                        `snap start lxd`) and check that you may use it (root, or a member \
                        of the `lxd` group)",
            }
        }
    }
}

/// A client command that ran and exited non-zero.
struct Failure {
    /// "`lxc ...` failed: Error: ...", ready for the user.
    message: String,
    /// The client's stderr on one line.
    stderr: String,
}

/// What a failed client command says happened, judged from its stderr in
/// this one place (the client has no machine-readable status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    /// The name asked for is taken: the command made nothing. LXD says
    /// "already exists"; Incus 6.0.4 says so for instances but reports a
    /// duplicate snapshot as its database's "UNIQUE constraint failed".
    Taken,
    /// What it names does not exist ("Instance not found",
    /// "InstanceSnapshot not found", "Snapshot x/y does not exist"): a
    /// 404 for `query`, a refusal for anything else.
    Missing,
    /// The daemon could not be reached: its unix socket, or a remote's
    /// HTTPS address ("Unable to connect to: HOST:PORT").
    Unreachable,
    /// The client has no remote by the name a call used ("The remote "x"
    /// doesn't exist").
    NoSuchRemote,
    /// `--target` was given to a server that is not a cluster ("Target
    /// only allowed when clustered" from `init`/`create`, "To use --target,
    /// the destination remote must be a cluster" from `copy`; LXD 5.0 and
    /// Incus 6.0).
    NotClustered,
    /// The instance is busy with another operation ("Instance is busy
    /// running a "stop" operation").
    Busy,
    /// Another change to the instance's config won the race ("ETag
    /// doesn't match", "A matching non-reusable operation has now
    /// succeeded"): the daemon applied nothing of this one.
    Raced,
    /// The daemon could not open its database transaction: it did
    /// nothing ("Failed to begin transaction").
    Overloaded,
    /// Anything else: the command may have changed something.
    Other,
}

impl Failure {
    fn kind(&self) -> FailureKind {
        let stderr = self.stderr.to_lowercase();
        let says = |shapes: &[&str]| shapes.iter().any(|shape| stderr.contains(shape));
        if says(&["already exists", "unique constraint failed"]) {
            FailureKind::Taken
        } else if says(&["the remote \""]) && says(&["doesn't exist"]) {
            FailureKind::NoSuchRemote
        } else if says(&[
            "target only allowed when clustered",
            "to use --target, the destination remote must be a cluster",
        ]) {
            FailureKind::NotClustered
        } else if says(&["not found", "does not exist"]) {
            FailureKind::Missing
        } else if says(&[
            "connect: connection refused",
            "connect: no such file or directory",
            "connect: permission denied",
            "unable to connect to",
        ]) {
            FailureKind::Unreachable
        } else if says(&["is busy"]) {
            FailureKind::Busy
        } else if says(&["etag doesn't match", "matching non-reusable operation"]) {
            FailureKind::Raced
        } else if says(&["failed to begin transaction"]) {
            FailureKind::Overloaded
        } else {
            FailureKind::Other
        }
    }

    /// The error for a failed client command: one the daemon refused
    /// before doing anything (what it names does not exist, or it could not
    /// be reached) is marked [`crate::error::Refused`], so callers put their record
    /// back as it was; anything else may have changed something.
    fn into_error(self) -> anyhow::Error {
        if self.kind() == FailureKind::NotClustered {
            return crate::error::refused(
                Error::Usage(format!(
                    "{}; --target names a member of a cluster, and this server is not one: \
                     drop --target",
                    self.message
                ))
                .into(),
            );
        }
        let refused = matches!(
            self.kind(),
            FailureKind::Missing
                | FailureKind::Unreachable
                | FailureKind::NoSuchRemote
                | FailureKind::Raced
                | FailureKind::Overloaded
        );
        let err = anyhow!(self.message);
        if refused {
            crate::error::refused(err)
        } else {
            err
        }
    }
}

/// The instance as `GET /1.0/instances/NAME?recursion=1` (and each element
/// of `GET /1.0/instances?recursion=2`) returns it; only what lxdev reads.
#[derive(Debug, Deserialize)]
struct ApiInstance {
    name: String,
    status: String,
    /// `null` while Incus 6.0 is still making the instance (seen by the
    /// kill test: a listing taken mid-create).
    #[serde(default, deserialize_with = "null_as_empty")]
    config: serde_json::Map<String, Value>,
    /// `null` when the instance has none.
    #[serde(default)]
    snapshots: Option<Vec<ApiSnapshot>>,
    /// With `recursion=2` (and for a single instance's `/state`): its
    /// network, where its address is.
    #[serde(default)]
    state: Option<Value>,
    /// Its own devices: each a `type` and string config keys.
    #[serde(default, deserialize_with = "null_as_empty")]
    devices: BTreeMap<String, BTreeMap<String, String>>,
}

/// The first global address among `state.network`'s NICs (not `lo`),
/// IPv4 first, or `None` without a network.
fn global_address(state: &Value) -> Option<String> {
    let network = state.get("network")?.as_object()?;
    let mut found: Vec<(bool, String)> = Vec::new();
    for (nic, details) in network {
        if nic == "lo" {
            continue;
        }
        for address in details["addresses"].as_array().into_iter().flatten() {
            if address["scope"] == "global"
                && let Some(text) = address["address"].as_str()
            {
                found.push((address["family"] != "inet", text.to_string()));
            }
        }
    }
    found.sort();
    found.into_iter().next().map(|(_, address)| address)
}

/// Reads JSON `null` as the type's default, where the API sends `null`
/// for an empty value.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
struct ApiSnapshot {
    name: String,
}

impl From<ApiInstance> for Instance {
    fn from(api: ApiInstance) -> Instance {
        let project_tag = api
            .config
            .get("user.lxdev.project")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let config_tag = api
            .config
            .get("user.lxdev.config")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let snapshots = api
            .snapshots
            .unwrap_or_default()
            .into_iter()
            // LXD 5.0 gives the bare name; older servers gave `inst/snap`.
            .map(|snap| match snap.name.rsplit_once('/') {
                Some((_, bare)) => bare.to_owned(),
                None => snap.name,
            })
            .collect();
        let idmap = api
            .config
            .get("raw.idmap")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let devices = api
            .devices
            .into_iter()
            .map(|(name, mut config)| {
                let kind = config.remove("type").unwrap_or_default();
                (name, DeviceSpec { kind, config })
            })
            .collect();
        Instance {
            devices,
            idmap,
            name: api.name,
            status: api.status.into(),
            snapshots,
            project_tag,
            config_tag,
            address: api.state.as_ref().and_then(global_address),
        }
    }
}

/// The client's stderr as one line: the `Error:` lines when there are any
/// (the rest is progress and notices), else every non-empty line.
fn one_line(stderr: &[u8], status: ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("Error:"))
        .collect();
    let chosen = if errors.is_empty() { lines } else { errors };
    if chosen.is_empty() {
        format!("{status}, with nothing on stderr")
    } else {
        chosen.join(" ")
    }
}

/// Quotes `arg` for a POSIX shell when it needs it, so a pasted error
/// message is a runnable command.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Refuses (usage, exit 2) any name that fails its rule in
/// `config::names`, before a client is spawned: the backend does not rely
/// on its callers having checked. Every method that passes a caller's name
/// to the client calls this first.
fn check_names(names: &[RuntimeName<'_>]) -> Result<()> {
    names::validate_runtime_names(names).map_err(|why| Error::Usage(why).into())
}

/// Whether `name` can be put in an API path as it is. LXD instance names
/// are hostnames (letters, digits, `-`), so anything else cannot exist.
fn is_url_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl Runtime for LxdRuntime {
    fn name(&self) -> &'static str {
        self.client.flavour.runtime_name()
    }

    fn location(&self) -> String {
        let placement = &self.client.placement;
        let mut parts = Vec::new();
        if let Some(remote) = &placement.remote {
            parts.push(format!("remote {remote}"));
        }
        if let Some(project) = &placement.project {
            parts.push(format!("project {project}"));
        }
        if parts.is_empty() {
            self.name().to_owned()
        } else {
            format!("{} ({})", self.name(), parts.join(", "))
        }
    }

    fn remote(&self) -> Option<&str> {
        self.client.placement.remote.as_deref()
    }

    fn current_project(&self) -> Result<Option<String>> {
        if self.client.placement.project.is_some() {
            return Ok(None);
        }
        self.clients_current_project().map(Some)
    }

    /// `init` then `start`, rather than `launch`: when the start fails, the
    /// instance is known to be ours and is deleted again, whereas a failed
    /// `launch` cannot tell "could not start" from "name already taken".
    fn create(&self, instance: &str, image: &str, tags: &Tags<'_>) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Image(image)])?;
        let mut args = self.client.verb(Verb::Create);
        args.extend(self.client.target());
        args.extend(Self::tag_args(tags));
        for config in DOCKER_READY {
            args.extend(["-c".into(), (*config).into()]);
        }
        args.extend([
            "--".into(),
            self.client.image(image).into(),
            self.client.at(instance).into(),
        ]);
        self.make_instance(&args, instance, tags)
    }

    /// `copy --instance-only SRC NAME` or `copy SRC/SNAP NAME` (a copy from
    /// a snapshot never carries snapshots), with lxdev's tags replacing the
    /// source's. A copy is left stopped by the daemon; lxdev starts it so a
    /// clone is in the same state as a new instance.
    fn clone_instance(
        &self,
        source: &str,
        snapshot: Option<&str>,
        instance: &str,
        tags: &Tags<'_>,
    ) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(source),
            RuntimeName::Instance(instance),
        ])?;
        if let Some(snap) = snapshot {
            check_names(&[RuntimeName::Snapshot(snap)])?;
        }
        let mut args = self.client.word("copy");
        args.extend(self.client.target());
        if snapshot.is_none() {
            args.push("--instance-only".into());
        }
        args.extend(Self::tag_args(tags));
        args.push("--".into());
        match snapshot {
            Some(snap) => args.push(self.client.at(&format!("{source}/{snap}")).into()),
            None => args.push(self.client.at(source).into()),
        }
        args.push(self.client.at(instance).into());
        self.make_instance(&args, instance, tags)
    }

    fn remove(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.run(&self.delete_args(instance))?;
        Ok(())
    }

    fn snapshot_create(&self, instance: &str, snapshot: &str) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::Snapshot(snapshot),
        ])?;
        let _turn = self.snapshot_queue(instance)?;
        let args = self.snapshot_args(Verb::SnapshotCreate, instance, snapshot);
        let remedy = format!(
            "pick another name or delete it with `{}`",
            self.cmdline(&self.snapshot_args(Verb::SnapshotDelete, instance, snapshot))
        );
        self.run_making(&args, &format!("snapshot `{instance}/{snapshot}`"), &remedy)?;
        let listed = self
            .status(instance)?
            .is_some_and(|found| found.snapshots.iter().any(|s| s == snapshot));
        if !listed {
            bail!(
                "`{}` reported success but snapshot `{snapshot}` of `{instance}` does not exist",
                self.cmdline(&args)
            );
        }
        Ok(())
    }

    fn snapshot_delete(&self, instance: &str, snapshot: &str) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::Snapshot(snapshot),
        ])?;
        let _turn = self.snapshot_queue(instance)?;
        self.run(&self.snapshot_args(Verb::SnapshotDelete, instance, snapshot))?;
        Ok(())
    }

    /// A running instance is stopped, restored and started again by the
    /// daemon itself.
    fn snapshot_restore(&self, instance: &str, snapshot: &str) -> Result<()> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::Snapshot(snapshot),
        ])?;
        let _turn = self.snapshot_queue(instance)?;
        self.run(&self.snapshot_args(Verb::SnapshotRestore, instance, snapshot))?;
        Ok(())
    }

    fn list(&self, project: &str) -> Result<Vec<Instance>> {
        let prefix = format!("{project}-");
        let all: Vec<ApiInstance> = self
            .query("/1.0/instances?recursion=2")?
            .with_context(|| format!("{} has no instances endpoint", self.name()))?;
        Ok(all
            .into_iter()
            .map(Instance::from)
            .filter(|i| i.name.starts_with(&prefix) || i.project_tag.as_deref() == Some(project))
            .collect())
    }

    fn status(&self, instance: &str) -> Result<Option<Instance>> {
        if !is_url_safe(instance) {
            return Ok(None);
        }
        let found: Option<ApiInstance> =
            self.query(&format!("/1.0/instances/{instance}?recursion=1"))?;
        Ok(found.map(Instance::from))
    }

    /// A running daemon operation on the instance (or one of its
    /// snapshots), else a client process on this host still naming it: a
    /// client orphaned by a killed lxdev may not have reached the daemon yet.
    /// On a remote the operations are the remote daemon's (anyone's work on
    /// the instance is seen), but the processes are only this host's.
    fn busy(&self, instance: &str) -> Result<Option<String>> {
        let ops: Option<ApiOperations> = self.query("/1.0/operations?recursion=1")?;
        let path = format!("/1.0/instances/{instance}");
        let running = ops
            .into_iter()
            .flat_map(|ops| ops.running.unwrap_or_default());
        for op in running {
            // In a project other than `default` each resource carries
            // `?project=NAME`.
            let touches = op.resources.values().flatten().any(|r| {
                let r = r.split_once('?').map_or(r.as_str(), |(path, _)| path);
                r == path
                    || r.strip_prefix(&path)
                        .is_some_and(|rest| rest.starts_with('/'))
            });
            if touches {
                return Ok(Some(format!(
                    "{} is running `{}`",
                    self.name(),
                    op.description
                )));
            }
        }
        // The client names the instance as `REMOTE:NAME` on a remote; a bare
        // `NAME` there would be another server's instance.
        Ok(
            orphaned_client(self.client.program, &self.client.at(instance))
                .map(|(pid, cmdline)| format!("pid {pid} is still running `{cmdline}`")),
        )
    }

    fn start(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let mut args = self.client.word("start");
        args.extend(["--".into(), self.client.at(instance).into()]);
        self.run(&args)?;
        Ok(())
    }

    /// A clean shutdown first; `--force` only if init has not stopped within
    /// [`STOP_TIMEOUT_SECS`] (busybox init takes about 2 s).
    fn stop(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let timeout = STOP_TIMEOUT_SECS.to_string();
        let stop = |how: &[&str]| {
            let mut args = self.client.word("stop");
            args.extend(how.iter().map(OsString::from));
            args.extend(["--".into(), self.client.at(instance).into()]);
            self.run(&args)
        };
        let clean = match stop(&["--timeout", &timeout]) {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        match self.status(instance)? {
            Some(found) if found.status.is_running() => {
                stop(&["--force"]).map_err(|forced| anyhow!("{clean:#}; then {forced:#}"))?;
                Ok(())
            }
            _ => Err(clean),
        }
    }

    /// `exec NAME -- COMMAND...` with stdin, stdout and stderr inherited, so
    /// the client allocates a pty when they are a terminal. The instance
    /// must be running: checked first, because the client's own "not
    /// running" failure exits 1, which would read as the command's status.
    fn exec(&self, instance: &str, command: &[String], options: &ExecOptions) -> Result<i32> {
        check_names(&[RuntimeName::Instance(instance)])?;
        match self.status(instance)? {
            None => {
                return Err(Error::NotFound(format!(
                    "instance `{instance}` does not exist in {}",
                    self.name()
                ))
                .into());
            }
            Some(found) if !found.status.is_running() => bail!(
                "instance `{instance}` is {}, not running: start it first",
                found.status.as_str().to_lowercase()
            ),
            Some(_) => {}
        }
        let mut args = self.client.word("exec");
        let login = command.is_empty();
        if let Some(user) = options.user.as_ref().filter(|_| !login) {
            args.extend(["--user".into(), user.uid.to_string().into()]);
            args.extend(["--group".into(), user.gid.to_string().into()]);
            for (key, value) in [
                ("HOME", &user.home),
                ("USER", &user.name),
                ("LOGNAME", &user.name),
            ] {
                args.extend(["--env".into(), format!("{key}={value}").into()]);
            }
        }
        let home = options.user.as_ref().filter(|_| !login).map(|u| &u.home);
        if let Some(cwd) = options.cwd.as_ref().or(home) {
            args.extend(["--cwd".into(), cwd.into()]);
        }
        for (key, value) in &options.env {
            args.extend(["--env".into(), format!("{key}={value}").into()]);
        }
        args.extend([self.client.at(instance).into(), "--".into()]);
        match (login, &options.user) {
            // A login shell as the user: su sets up its whole session.
            (true, Some(user)) => {
                args.extend(["su".into(), "-l".into(), OsString::from(&user.name)])
            }
            (true, None) => args.extend(LOGIN_SHELL.iter().map(OsString::from)),
            (false, _) => args.extend(command.iter().map(OsString::from)),
        }
        let status = Command::new(self.client.program)
            .args(&args)
            .status()
            .with_context(|| format!("failed to run `{}`", self.cmdline(&args)))?;
        if let Some(code) = status.code() {
            return Ok(code);
        }
        // Killed by a signal: report it the way a shell does, 128 + signal.
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            Some(signal) => Ok(128 + signal),
            None => bail!("`{}` ended with {status}", self.cmdline(&args)),
        }
    }

    fn provision(&self, instance: &str, step: Step, spec: &Provisioning) -> Result<Option<String>> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::User(&spec.user),
        ])?;
        match step {
            Step::Ready => self.wait_ready(instance, spec.ready_timeout).map(|()| None),
            Step::User => self
                .exec_script(
                    instance,
                    provision::USER_SCRIPT,
                    &[&spec.user],
                    &spec.user_input(),
                )?
                .done_or_warning("creating the user"),
            Step::Ssh => self
                .exec_script(instance, provision::SSH_SCRIPT, &[], &[])?
                .done_or_warning("enabling SSH"),
            Step::InitialSnapshot | Step::Devices | Step::Restart => {
                bail!("step `{step}` is runtime work, not a script")
            }
        }
    }

    fn container_user(&self, instance: &str, name: &str) -> Result<Option<ContainerUser>> {
        check_names(&[RuntimeName::User(name)])?;
        let out = self.exec_script(instance, provision::USER_IDS_SCRIPT, &[name], &[])?;
        Ok((out.status == 0)
            .then(|| ContainerUser::parse(name, &out.stdout))
            .flatten())
    }

    fn file_kind(&self, instance: &str, path: &str) -> Result<Option<super::FileKind>> {
        self.kind_of(instance, path)
    }

    fn push(
        &self,
        instance: &str,
        source: &std::path::Path,
        dest: &str,
        owner: Option<&ContainerUser>,
    ) -> Result<()> {
        self.push_to(instance, source, dest, owner)
    }

    fn pull_into(&self, instance: &str, source: &str, dir: &std::path::Path) -> Result<()> {
        self.pull_to_dir(instance, source, dir)
    }

    /// The first global address LXD reports for the instance's NICs,
    /// IPv4 first.
    fn address(&self, instance: &str) -> Result<Option<String>> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let state: Option<Value> = self.query(&format!("/1.0/instances/{instance}/state"))?;
        Ok(state.as_ref().and_then(global_address))
    }

    fn device_add(&self, instance: &str, name: &str, spec: &DeviceSpec) -> Result<()> {
        self.add_device(instance, name, spec)
    }

    fn device_remove(&self, instance: &str, name: &str) -> Result<()> {
        self.remove_device(instance, name)
    }

    fn map_ids(&self, instance: &str, host: (u32, u32), inside: (u32, u32)) -> Result<()> {
        self.map_ids_with_restart(instance, host, inside)
    }

    fn publish(&self, instance: &str, alias: &str, project: &str) -> Result<()> {
        self.publish_as(instance, alias, project)
    }

    fn images(&self) -> Result<Vec<super::Image>> {
        self.all_images()
    }

    fn image_delete(&self, alias: &str) -> Result<()> {
        self.delete_image(alias)
    }

    fn image_rename(&self, old: &str, new: &str) -> Result<()> {
        self.rename_image(old, new)
    }
}

/// `GET /1.0/operations?recursion=1`, the parts `busy` reads.
#[derive(Debug, Deserialize)]
struct ApiOperations {
    running: Option<Vec<ApiOperation>>,
}

#[derive(Debug, Deserialize)]
struct ApiOperation {
    description: String,
    /// Resource kind -> API paths, e.g. `instances: [/1.0/instances/x]`;
    /// `null` for an operation on no resource.
    #[serde(default, deserialize_with = "null_as_empty")]
    resources: std::collections::HashMap<String, Vec<String>>,
}

/// A process on this host running `client` with `instance` (or
/// `instance/snapshot`) among its arguments, `instance` spelled as the
/// client is given it (`REMOTE:NAME` on a remote). Only this host's
/// processes can be seen: a client still running on another machine is
/// not found here.
fn orphaned_client(client: &str, instance: &str) -> Option<(u32, String)> {
    let snapshot_prefix = format!("{instance}/");
    let (pid, args) = crate::process::find(|_, args| {
        let program = args
            .first()
            .and_then(|a| std::path::Path::new(a).file_name())
            .and_then(|f| f.to_str());
        let names_it = args
            .iter()
            .skip(1)
            .any(|a| a == instance || a.starts_with(&snapshot_prefix));
        program == Some(client) && names_it
    })?;
    Some((pid, args.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable_message(err: anyhow::Error) -> String {
        match err.downcast_ref::<Error>() {
            Some(Error::RuntimeUnavailable(message)) => message.clone(),
            _ => panic!("expected RuntimeUnavailable, got {err:#}"),
        }
    }

    /// An executable `name` in a temp dir that prints a socket error and
    /// fails, as a client whose daemon is stopped does.
    fn client_without_daemon(dir: &std::path::Path, name: &str) -> &'static str {
        use std::os::unix::fs::PermissionsExt;
        let client = dir.join(name);
        std::fs::write(
            &client,
            "#!/bin/sh\necho 'Error: dial unix /var/lib/lxd/unix.socket: connect: no such file' >&2\n\
             echo 'second line' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        Box::leak(client.to_str().unwrap().to_owned().into_boxed_str())
    }

    #[test]
    fn connect_without_the_client_says_what_to_install() {
        let err = LxdRuntime::connect(
            "lxdev-no-such-client",
            Placement::default(),
            Limits::default(),
        )
        .unwrap_err();
        let message = unavailable_message(err);
        assert_eq!(
            message,
            "`lxdev-no-such-client` is not installed (not found on PATH); install LXD \
             (Debian's `lxd` package: `apt install lxd`, or the snap: `snap install lxd`), \
             set it up with `lxd init` and start it with `systemctl start lxd`; \
             or try lxdev without one: `--runtime fake`"
        );
    }

    #[test]
    fn connect_without_incus_says_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let missing: &'static str = Box::leak(
            dir.path()
                .join("incus")
                .to_str()
                .unwrap()
                .to_owned()
                .into_boxed_str(),
        );
        let message = unavailable_message(
            LxdRuntime::connect(missing, Placement::default(), Limits::default()).unwrap_err(),
        );
        assert!(message.contains("is not installed"), "{message}");
        assert!(
            message.contains("Debian's `incus` package: `apt install incus`"),
            "{message}"
        );
        assert!(message.contains("`systemctl start incus`"), "{message}");
        assert!(message.ends_with("`--runtime fake`"), "{message}");
    }

    #[test]
    fn connect_without_a_daemon_names_the_command_its_stderr_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let client = client_without_daemon(dir.path(), "lxc");
        let message = unavailable_message(
            LxdRuntime::connect(client, Placement::default(), Limits::default()).unwrap_err(),
        );
        assert_eq!(
            message,
            format!(
                "`{client} query /1.0` failed: Error: dial unix /var/lib/lxd/unix.socket: \
                 connect: no such file; start the LXD daemon with `systemctl start lxd` \
                 (the snap: `snap start lxd`) and check that you may use it (root, or a \
                 member of the `lxd` group); or try lxdev without one: `--runtime fake`"
            )
        );
    }

    #[test]
    fn connect_without_an_incus_daemon_says_how_to_start_it() {
        let dir = tempfile::tempdir().unwrap();
        let client = client_without_daemon(dir.path(), "incus");
        let message = unavailable_message(
            LxdRuntime::connect(client, Placement::default(), Limits::default()).unwrap_err(),
        );
        assert!(message.contains("failed: Error: dial unix"), "{message}");
        assert!(
            message.contains("start the Incus daemon with `systemctl start incus`"),
            "{message}"
        );
        assert!(message.contains("`incus-admin` group"), "{message}");
        assert!(message.ends_with("`--runtime fake`"), "{message}");
    }

    /// The checks come before any client is spawned: with a client that
    /// does not exist, a spawn would fail with "failed to run".
    #[test]
    fn bad_names_are_refused_before_a_client_is_spawned() {
        let rt = LxdRuntime {
            client: Client::new("lxdev-no-such-client"),
            project_dir: None,
            limits: Limits::default(),
        };
        let tags = Tags {
            project: "web",
            config_path: std::path::Path::new("/tmp/containers.yaml"),
        };
        let usage = |result: Result<()>| match result {
            Err(err) => match err.downcast_ref::<Error>() {
                Some(Error::Usage(message)) => message.clone(),
                _ => panic!("expected a usage error, got {err:#}"),
            },
            Ok(()) => panic!("expected a usage error, got Ok"),
        };
        for image in ["--empty", "-csecurity.privileged=true", "a b", "a\nb", ""] {
            let err = usage(rt.create("web-y", image, &tags));
            assert!(err.contains("image name"), "{image:?}: {err}");
        }
        for snap in ["..", ".", "-x", "--reuse", "a/b", "a b", "a\nb"] {
            let shown = format!("`{}`", snap.escape_debug());
            for result in [
                rt.snapshot_create("web-dev", snap),
                rt.snapshot_delete("web-dev", snap),
                rt.snapshot_restore("web-dev", snap),
                rt.clone_instance("web-dev", Some(snap), "web-c", &tags),
            ] {
                let err = usage(result);
                assert!(err.contains(&shown), "{snap:?}: {err}");
            }
        }
        for instance in ["--force", "-x", "..", "web/dev", "web dev", ""] {
            for result in [
                rt.create(instance, "busybox", &tags),
                rt.clone_instance("web-dev", None, instance, &tags),
                rt.clone_instance(instance, None, "web-c", &tags),
                rt.remove(instance),
                rt.start(instance),
                rt.stop(instance),
                rt.exec(instance, &[], &ExecOptions::default()).map(drop),
            ] {
                let err = usage(result);
                assert!(err.contains("instance name"), "{instance:?}: {err}");
            }
        }
    }

    /// A client `lxc` in `dir` that prints `stdout` and `stderr` and exits
    /// `status`, whatever it is asked.
    fn stub_client(dir: &std::path::Path, stdout: &str, stderr: &str, status: i32) -> &'static str {
        use std::os::unix::fs::PermissionsExt;
        let client = dir.join("lxc");
        std::fs::write(
            &client,
            format!(
                "#!/bin/sh\nprintf '%s' '{stdout}'\nprintf '%s\\n' '{stderr}' >&2\nexit {status}\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        Box::leak(client.to_str().unwrap().to_owned().into_boxed_str())
    }

    /// A client that answers `query /1.0` at once and hangs on anything
    /// else (`hang_probe`: on that too), as a remote that accepts TCP and
    /// never answers TLS does.
    fn hanging_client(dir: &std::path::Path, hang_probe: bool) -> &'static str {
        use std::os::unix::fs::PermissionsExt;
        let client = dir.join("lxc");
        let probe = if hang_probe {
            ""
        } else {
            "[ \"$2\" = far:/1.0 ] && { echo '{\"auth\":\"trusted\"}'; exit 0; }\n"
        };
        std::fs::write(&client, format!("#!/bin/sh\n{probe}exec sleep 60\n")).unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        Box::leak(client.to_str().unwrap().to_owned().into_boxed_str())
    }

    #[test]
    fn a_remote_that_never_answers_is_given_up_on_with_exit_69() {
        let limits = Limits {
            connect: Duration::from_millis(300),
            call: Duration::from_millis(500),
        };
        let dir = tempfile::tempdir().unwrap();
        let silent = hanging_client(dir.path(), true);
        let started = Instant::now();
        let err = LxdRuntime::connect(silent, on_remote("far"), limits).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(crate::exit_code::for_error(&err), 69);
        let message = unavailable_message(err);
        assert!(
            message.contains("remote `far` did not answer within 0.3 s")
                && message.contains("--connect-timeout"),
            "{message}"
        );

        let dir = tempfile::tempdir().unwrap();
        let slow = hanging_client(dir.path(), false);
        let runtime = LxdRuntime::connect(slow, on_remote("far"), limits).unwrap();
        let started = Instant::now();
        let err = runtime.status("web-a").unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(crate::exit_code::for_error(&err), 69);
        let message = format!("{err:#}");
        assert!(
            message.contains("did not finish within 0.5 s")
                && message.contains("remote `far`")
                && message.contains("--runtime-timeout"),
            "{message}"
        );
    }

    fn on_remote(remote: &str) -> Placement {
        Placement {
            remote: Some(remote.to_owned()),
            ..Placement::default()
        }
    }

    /// What the real clients print, from LXD 5.0.2 and Incus 6.0.4: an
    /// unknown remote, one that refuses connections, one that does not
    /// trust this client. Each is one line naming the remote, exit 69.
    #[test]
    fn a_remote_that_cannot_be_used_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = stub_client(
            dir.path(),
            "",
            "Error: The remote \"nosuch\" doesn'\\''t exist",
            1,
        );
        let err = LxdRuntime::connect(unknown, on_remote("nosuch"), Limits::default()).unwrap_err();
        assert_eq!(crate::exit_code::for_error(&err), 69);
        let message = unavailable_message(err);
        assert!(
            message.starts_with(&format!(
                "remote `nosuch` is not one of `{unknown}`'s remotes (`{unknown} remote list`): \
                 add it with `{unknown} remote add nosuch HOST:8443 --token TOKEN`"
            )),
            "{message}"
        );
        assert!(
            !message.contains('\n') && !message.contains("fake"),
            "{message}"
        );

        let dir = tempfile::tempdir().unwrap();
        let refused = stub_client(
            dir.path(),
            "",
            "Error: Get \"https://127.0.0.1:9/1.0\": Unable to connect to: 127.0.0.1:9 \
             ([dial tcp 127.0.0.1:9: connect: connection refused])",
            1,
        );
        let err = LxdRuntime::connect(refused, on_remote("far"), Limits::default()).unwrap_err();
        assert_eq!(crate::exit_code::for_error(&err), 69);
        let message = unavailable_message(err);
        assert!(
            message.starts_with(&format!(
                "remote `far` cannot be reached (`{refused} query far:/1.0`: Error: Get"
            )),
            "{message}"
        );
        assert!(message.contains("connection refused"), "{message}");
        assert!(!message.contains('\n'), "{message}");

        let dir = tempfile::tempdir().unwrap();
        let untrusted = stub_client(dir.path(), r#"{"auth": "untrusted"}"#, "", 0);
        let err = LxdRuntime::connect(untrusted, on_remote("far"), Limits::default()).unwrap_err();
        assert_eq!(crate::exit_code::for_error(&err), 69);
        let message = unavailable_message(err);
        assert!(
            message
                .starts_with("remote `far` does not trust this client (it answers as `untrusted`)"),
            "{message}"
        );

        let dir = tempfile::tempdir().unwrap();
        let trusted = stub_client(dir.path(), r#"{"auth": "trusted"}"#, "", 0);
        let runtime = LxdRuntime::connect(trusted, on_remote("far"), Limits::default()).unwrap();
        assert_eq!(runtime.location(), "lxd (remote far)");
    }

    /// `--target` reaches the client's argv of `init`/`create` and `copy`,
    /// as one argument before `--`, and no other call.
    #[test]
    fn a_target_reaches_create_and_copy_only() {
        use std::os::unix::fs::PermissionsExt;
        for program in ["lxc", "incus"] {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("argv");
            let client = dir.path().join(program);
            std::fs::write(
                &client,
                format!(
                    "#!/bin/sh\necho \"$*\" >> '{}'\necho 'Error: boom' >&2\nexit 1\n",
                    log.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
            let mut rt = LxdRuntime {
                client: Client::new(Box::leak(
                    client.to_str().unwrap().to_owned().into_boxed_str(),
                )),
                project_dir: None,
                limits: Limits::default(),
            };
            rt.client.placement = Placement {
                remote: Some("far".into()),
                project: None,
                target: Some("@gpu".into()),
            };
            let tags = Tags {
                project: "web",
                config_path: std::path::Path::new("/p/containers.yaml"),
            };
            assert!(rt.create("web-a", "busybox", &tags).is_err());
            assert!(rt.clone_instance("web-a", None, "web-b", &tags).is_err());
            assert!(
                rt.clone_instance("web-a", Some("s1"), "web-c", &tags)
                    .is_err()
            );
            assert!(rt.start("web-a").is_err());
            let calls = std::fs::read_to_string(&log).unwrap();
            let calls: Vec<&str> = calls.lines().collect();
            let create = if program == "incus" { "create" } else { "init" };
            assert_eq!(
                calls,
                [
                    format!(
                        "{create} --target=@gpu -c user.lxdev.project=web \
                         -c user.lxdev.config=/p/containers.yaml -c security.nesting=true \
                         -c security.syscalls.intercept.mknod=true \
                         -c security.syscalls.intercept.setxattr=true -- far:busybox far:web-a"
                    ),
                    "copy --target=@gpu --instance-only -c user.lxdev.project=web \
                     -c user.lxdev.config=/p/containers.yaml -- far:web-a far:web-b"
                        .to_owned(),
                    "copy --target=@gpu -c user.lxdev.project=web \
                     -c user.lxdev.config=/p/containers.yaml -- far:web-a/s1 far:web-c"
                        .to_owned(),
                    "start -- far:web-a".to_owned(),
                ],
                "{program}"
            );
        }
    }

    /// `busy` looks for orphaned clients by the argument the client was
    /// given: `REMOTE:NAME` on a remote, where a bare `NAME` is another
    /// server's instance.
    #[test]
    fn an_orphaned_client_is_found_by_its_remote_name() {
        use std::os::unix::process::CommandExt;
        let instance = format!("lxdevorphan{}", std::process::id());
        let remote_name = format!("far:{instance}");
        // Named `lxc` in its argv, as the client lxdev spawned would be.
        let mut child = std::process::Command::new("sh")
            .arg0("lxc")
            .args(["-c", "sleep 30 & wait", &remote_name])
            .spawn()
            .unwrap();
        // Between fork and exec the child still shows our own command line.
        let deadline = Instant::now() + Duration::from_secs(5);
        while crate::process::arguments(child.id()).and_then(|a| a.first().cloned())
            != Some("lxc".to_owned())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut client = Client::new("lxc");
        client.placement = on_remote("far");
        let found = orphaned_client("lxc", &client.at(&instance));
        let bare = orphaned_client("lxc", &instance);
        child.kill().unwrap();
        child.wait().unwrap();
        let (pid, cmdline) = found.expect("the client naming far:NAME is found");
        assert_eq!(pid, child.id());
        assert!(cmdline.ends_with(&remote_name), "{cmdline}");
        assert_eq!(bare, None, "a bare name is another server's instance");
    }

    #[test]
    fn failures_are_classified_by_what_the_clients_say() {
        let kind = |stderr: &str| {
            Failure {
                message: String::new(),
                stderr: stderr.to_owned(),
            }
            .kind()
        };
        assert_eq!(
            kind("Error: Instance \"web\" already exists"),
            FailureKind::Taken
        );
        assert_eq!(
            kind("Error: UNIQUE constraint failed: instances_snapshots.instance_id"),
            FailureKind::Taken
        );
        assert_eq!(kind("Error: Instance not found"), FailureKind::Missing);
        assert_eq!(
            kind("Error: Snapshot web/s1 does not exist"),
            FailureKind::Missing
        );
        assert_eq!(
            kind("Error: dial unix /var/lib/lxd/unix.socket: connect: permission denied"),
            FailureKind::Unreachable
        );
        assert_eq!(
            kind("Error: Instance is busy running a \"stop\" operation"),
            FailureKind::Busy
        );
        assert_eq!(
            kind("Error: Failed to begin transaction: context deadline exceeded"),
            FailureKind::Overloaded
        );
        assert_eq!(
            kind("Error: ETag doesn't match: a42b vs 70c7"),
            FailureKind::Raced
        );
        assert_eq!(
            kind("Error: The remote \"nosuch\" doesn't exist"),
            FailureKind::NoSuchRemote
        );
        assert_eq!(
            kind(
                "Error: Get \"https://127.0.0.1:9/1.0\": Unable to connect to: 127.0.0.1:9 \
                 ([dial tcp 127.0.0.1:9: connect: no route to host])"
            ),
            FailureKind::Unreachable
        );
        assert_eq!(
            kind("Error: Target only allowed when clustered"),
            FailureKind::NotClustered
        );
        assert_eq!(
            kind("Error: To use --target, the destination remote must be a cluster"),
            FailureKind::NotClustered
        );
        assert_eq!(kind("Error: Failed to run: rsync: ..."), FailureKind::Other);
    }

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(
            shell_quote("user.lxdev.project=web"),
            "user.lxdev.project=web"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn snapshot_names_lose_the_instance_prefix() {
        let api: ApiInstance = serde_json::from_str(
            r#"{"name":"web-dev","status":"Running",
                "config":{"user.lxdev.project":"web"},
                "snapshots":[{"name":"s1"},{"name":"web-dev/s2"}]}"#,
        )
        .unwrap();
        let instance = Instance::from(api);
        assert_eq!(instance.snapshots, ["s1", "s2"]);
        assert_eq!(instance.project_tag.as_deref(), Some("web"));
    }

    /// The client prints nothing for `/1.0/operations` when the server has
    /// no operations at all (metadata `{}`): nothing is running.
    #[test]
    fn no_operations_at_all_means_none_running() {
        let dir = tempfile::tempdir().unwrap();
        let rt = LxdRuntime {
            client: Client::new(stub_client(dir.path(), "", "", 0)),
            project_dir: None,
            limits: Limits::default(),
        };
        assert_eq!(rt.busy("lxdevnoops-a").unwrap(), None);
    }

    #[test]
    fn null_config_means_no_tags() {
        let api: ApiInstance =
            serde_json::from_str(r#"{"name":"a","status":"Stopped","config":null}"#).unwrap();
        assert_eq!(Instance::from(api).project_tag, None);
    }

    #[test]
    fn null_snapshots_mean_none() {
        let api: ApiInstance =
            serde_json::from_str(r#"{"name":"a","status":"Stopped","snapshots":null}"#).unwrap();
        assert_eq!(Instance::from(api).snapshots, Vec::<String>::new());
    }
}
