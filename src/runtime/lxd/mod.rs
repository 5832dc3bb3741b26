//! LXD (`lxc`) and Incus (`incus`) backends: the same verbs, a different
//! client binary.
//!
//! Invariant: every `lxc`/`incus` process lxdev spawns is spawned here, and a
//! method returns `Ok` only once the client reported success for the exact
//! name asked for (each name goes to it whole, after `--`): what a call
//! makes is not asked for again. Queries go through `<client> query` on the REST API, never
//! `<client> list NAME`, which matches by prefix (`web-c1` also finds
//! `web-c10`).
//!
//! Every name a caller passes is checked before any client runs
//! ([`rules::check_names`]), and goes to the client after `--` (options
//! first), so no instance, snapshot or image name can be read as an option:
//! the client's parser (cobra) takes everything after `--` as positional.
//!
//! By concern: `connect.rs` (is a daemon there, and what to do if not),
//! `run.rs` (running the client, bounded and retried), `failure.rs` (what a
//! failed call means, as a typed error), `client.rs` (the two clients'
//! verbs, and where calls go), `api.rs` (the REST answers), `busy.rs`
//! (work that outlives a killed lxdev), and the topics of the trait:
//! `devices.rs`, `files.rs`, `images.rs`, `scripts.rs` (provisioning),
//! `steps.rs` (the provisioning steps in one `exec`), `devenv.rs` (the
//! file's settings, hooks, sshd, logs).
//!
//! Limits: with no `remote:` or `runtime_project:`, the client's default
//! remote and current project are used as configured; every call is
//! stopped after `--runtime-timeout` (the first after `--connect-timeout`);
//! failure messages are the client's own, in English (`LC_ALL=C`).

mod api;
mod attached;
mod busy;
mod child;
mod client;
mod connect;
mod devenv;
mod devices;
mod failure;
mod files;
mod images;
mod relay;
mod run;
mod scripts;
mod steps;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use self::api::{ApiInstance, ApiPool, ApiProfile, global_address, is_url_safe};
use self::client::{Client, Verb};
use self::failure::FailureKind;
use crate::config::ledger::Step;
use crate::config::names::RuntimeName;
use crate::error::Error;
use crate::fs::lock::{FileLock, LockTimeout};
use crate::runtime::backend::{Devices, Runtime};
use crate::runtime::provision::{self, ContainerUser, Provisioning};
use crate::runtime::rules::{self, check_names};
use crate::runtime::types::{
    Belonging, ExecOptions, Instance, Limits, Placement, Source, StoragePool, Tags,
};

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
const EXEC_TRIES: u32 = 10;

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
    /// Whether the daemon has answered (or the probe has run): until then,
    /// a call also finds out whether it is there (see `run.rs`).
    reached: AtomicBool,
    /// Each instance's address as this command's own calls last saw it (the
    /// provisioning script reports it), so it is not asked for again;
    /// forgotten when the instance stops or starts.
    known_address: Mutex<HashMap<String, Option<String>>>,
}

impl LxdRuntime {
    /// Where this runtime's calls go.
    pub fn placement(&self) -> &Placement {
        &self.client.placement
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

    /// Runs `init` or (`copy`: true) `copy` for `instance`, then starts it.
    fn make_instance(
        &self,
        args: &[OsString],
        instance: &str,
        tags: &Tags<'_>,
        copy: bool,
    ) -> Result<()> {
        let taken = match self.try_run(args)? {
            Ok(_) => return self.start_new(instance, &self.cmdline(args), copy),
            Err(failure) if failure.kind() == FailureKind::Taken => failure,
            Err(failure) => return Err(failure.into_error()),
        };
        // Only the instance's own project may be told to delete it: a name
        // can be another project's (`a` + `b-web` is `a-b` + `web`).
        let owner = self.status(instance).ok().flatten().and_then(|found| {
            match found.belonging(tags.project, tags.config_path) {
                Belonging::OtherProject(other) => Some(format!("project `{other}`")),
                Belonging::OtherCheckout(file) => Some(format!("`{file}`")),
                Belonging::Ours | Belonging::Untagged => None,
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

    /// The addresses this command's own calls saw (see `known_address`).
    fn lock_addresses(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.known_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers `instance`'s address as a call just saw it (`Some`), or
    /// forgets it (`None`: it stopped, started or went).
    fn remember_address(&self, instance: &str, address: Option<Option<String>>) {
        let mut known = self.lock_addresses();
        match address {
            Some(address) => known.insert(instance.to_owned(), address),
            None => known.remove(instance),
        };
    }

    /// `--config` flags for the tags lxdev puts on every instance it
    /// makes, and the file's settings for it (checked: limits and
    /// environment only).
    fn tag_args(tags: &Tags<'_>) -> Result<Vec<OsString>> {
        rules::check_settings(
            tags.settings
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
        )?;
        let mut config = OsString::from("user.lxdev.config=");
        config.push(tags.config_path.as_os_str());
        let mut args: Vec<OsString> = vec![
            "-c".into(),
            format!("user.lxdev.project={}", tags.project).into(),
            "-c".into(),
            config,
        ];
        for (key, value) in tags.settings {
            args.extend(["-c".into(), format!("{key}={value}").into()]);
        }
        Ok(args)
    }

    /// Starts the instance `made_by` just made (a `copy`, when `copy`),
    /// first dropping the devices a copy must not keep; if it will not
    /// start, deletes it again so a failed create or clone leaves nothing
    /// behind. `init`'s success means the instance exists under the exact
    /// name given: it is not asked for again.
    fn start_new(&self, instance: &str, made_by: &str, copy: bool) -> Result<()> {
        if copy {
            let found = match self.status(instance)? {
                Some(found) if found.name == instance => found,
                _ => bail!("`{made_by}` reported success but instance `{instance}` does not exist"),
            };
            // A copy carries its source's forwarded ports, which its source
            // still listens on: it would not start. Every proxy goes,
            // whatever its name (one written into the file by hand is not
            // `lxdev-port-*`).
            let proxies: Vec<&String> = found
                .devices
                .iter()
                .filter(|(_, spec)| !rules::copy_keeps(spec))
                .map(|(name, _)| name)
                .collect();
            for device in proxies {
                self.device_remove(instance, device)?;
            }
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
                Err(failure) => return Err(failure.into()),
            }
        }
    }
}

impl LxdRuntime {
    /// The instance without its live state, `None` if it is gone: its
    /// record, then its snapshots' names from their list of URLs.
    fn instance_without_state(&self, instance: &str) -> Result<Option<ApiInstance>> {
        let Some(found) = self.query::<ApiInstance>(&format!("/1.0/instances/{instance}"))? else {
            return Ok(None);
        };
        let urls: Vec<String> = self
            .query(&format!("/1.0/instances/{instance}/snapshots"))?
            .unwrap_or_default();
        Ok(Some(found.with_snapshot_urls(&urls)))
    }

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
        args.extend(self.client.storage());
        args.extend(Self::tag_args(tags)?);
        for config in DOCKER_READY {
            args.extend(["-c".into(), (*config).into()]);
        }
        args.extend([
            "--".into(),
            self.client.image(image).into(),
            self.client.at(instance).into(),
        ]);
        self.make_instance(&args, instance, tags, false)
    }

    /// `copy --instance-only SRC NAME` or `copy SRC/SNAP NAME` (a copy from
    /// a snapshot never carries snapshots), with lxdev's tags replacing the
    /// source's. A copy is left stopped by the daemon; lxdev starts it so a
    /// clone is in the same state as a new instance.
    fn copy(&self, from: &Source<'_>, instance: &str, tags: &Tags<'_>) -> Result<()> {
        let (source, snapshot) = (from.instance, from.snapshot);
        let mut args = self.client.word("copy");
        args.extend(self.client.target());
        args.extend(self.client.storage());
        if snapshot.is_none() {
            args.push("--instance-only".into());
        }
        args.extend(Self::tag_args(tags)?);
        args.push("--".into());
        match snapshot {
            Some(snap) => args.push(self.client.at(&format!("{source}/{snap}")).into()),
            None => args.push(self.client.at(source).into()),
        }
        args.push(self.client.at(instance).into());
        self.make_instance(&args, instance, tags, true)
    }

    fn remove(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.remember_address(instance, None);
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
        // Its success means the snapshot exists under the exact name given:
        // it is not asked for again.
        self.run_making(&args, &format!("snapshot `{instance}/{snapshot}`"), &remedy)
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
        self.remember_address(instance, None);
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
        let found = match self.try_query(&format!("/1.0/instances/{instance}?recursion=1"))? {
            Ok(found) => found,
            // Incus cannot render the live state of an instance caught
            // between states; what lxdev reads is there without it.
            Err(failure) if failure.kind() == FailureKind::StateUnreadable => {
                self.instance_without_state(instance)?
            }
            Err(failure) => return Err(failure.into()),
        };
        Ok(found.map(Instance::from))
    }

    /// A running daemon operation on the instance (or one of its
    /// snapshots), else a client process on this host still naming it
    /// (see `busy.rs`).
    fn busy(&self, instance: &str) -> Result<Option<String>> {
        self.running_work(instance)
    }

    fn start(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.remember_address(instance, None);
        let mut args = self.client.word("start");
        args.extend(["--".into(), self.client.at(instance).into()]);
        self.run(&args)?;
        Ok(())
    }

    /// A clean shutdown first; `--force` only if init has not stopped within
    /// [`STOP_TIMEOUT_SECS`] (busybox init takes about 2 s).
    fn stop(&self, instance: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.remember_address(instance, None);
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
            Some(found) => rules::must_run(instance, &found)?,
        }
        let mut args = self.client.word("exec");
        let login = command.is_empty();
        if let Some(user) = options.user.as_ref().filter(|_| !login) {
            args.extend(client::as_user(user));
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
        let status = attached::run(self.client.program, &args)
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
            Step::Ssh => {
                let out = self.exec_script(instance, provision::SSH_SCRIPT, &[], &[])?;
                if let Some(address) = provision::listed_address(&out.stdout) {
                    self.remember_address(instance, Some(address));
                }
                out.done_or_warning("enabling SSH")
            }
            Step::InitialSnapshot | Step::Devices | Step::Setup | Step::Restart => {
                bail!("step `{step}` is runtime work, not a script")
            }
        }
    }

    /// In one `exec`, taking turns with `begin` (see `steps.rs`).
    fn provision_steps(
        &self,
        instance: &str,
        steps: &[Step],
        spec: &Provisioning,
        begin: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<Vec<String>, (Step, anyhow::Error)> {
        self.run_steps(instance, steps, spec, begin)
    }

    fn container_user(&self, instance: &str, name: &str) -> Result<Option<ContainerUser>> {
        check_names(&[RuntimeName::User(name)])?;
        let out = self.exec_script(instance, provision::USER_IDS_SCRIPT, &[name], &[])?;
        // Only the script's own answer means "no such user": a failed exec
        // read that way made a copy land as root, with only a note.
        if out.status == provision::NO_SUCH_USER {
            return Ok(None);
        }
        let ids = out.success(&format!("looking up user `{name}`"))?;
        ContainerUser::parse(name, &ids)
            .map(Some)
            .with_context(|| format!("looking up user `{name}` printed `{}`", ids.trim()))
    }

    /// `GET /1.0/storage-pools/POOL`; for `None`, the pool of the root disk
    /// of the default profile (`GET /1.0/profiles/default`) first.
    fn storage_pool(&self, pool: Option<&str>) -> Result<Option<StoragePool>> {
        let name = match pool {
            Some(pool) => pool.to_owned(),
            None => {
                let profile: Option<ApiProfile> = self.query("/1.0/profiles/default")?;
                match profile.and_then(ApiProfile::root_pool) {
                    Some(pool) => pool,
                    None => return Ok(None),
                }
            }
        };
        if !is_url_safe(&name) {
            return Ok(None);
        }
        let found: Option<ApiPool> = self.query(&format!("/1.0/storage-pools/{name}"))?;
        Ok(found.map(|pool| StoragePool {
            name: pool.name,
            driver: pool.driver,
        }))
    }

    /// The first global address LXD reports for the instance's NICs,
    /// IPv4 first.
    fn address(&self, instance: &str) -> Result<Option<String>> {
        check_names(&[RuntimeName::Instance(instance)])?;
        if let Some(known) = self.lock_addresses().get(instance) {
            return Ok(known.clone());
        }
        let state: Option<Value> = self.query(&format!("/1.0/instances/{instance}/state"))?;
        Ok(state.as_ref().and_then(global_address))
    }
}
