//! Reaching the daemon: whether the client is installed and a daemon (or a
//! remote) answers, which of `incus` and `lxc` to use when none is named,
//! and what to tell a user whose runtime cannot be reached.

use std::ffi::OsString;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use serde_json::Value;

use super::LxdRuntime;
use super::child::{one_line, output_within};
use super::client::Client;
use super::failure::{Failure, FailureKind};
use crate::error::Error;
use crate::runtime::types::{Limits, Placement};

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
    ///
    /// The local daemon is not probed: the first call finds out whether it
    /// answers, with the same advice and bounds (see [`LxdRuntime::call`]),
    /// which saves a client call on every command. A remote is probed,
    /// since its answer to `/1.0` also says whether it trusts this client.
    pub fn open(name: &str, placement: Placement, limits: Limits) -> Option<Result<LxdRuntime>> {
        let client = match name {
            "lxd" => "lxc",
            "incus" => "incus",
            _ => return None,
        };
        if placement.remote.is_some() {
            return Some(Self::connect(client, placement, limits));
        }
        Some(Ok(LxdRuntime::unprobed(client, placement, limits)))
    }

    /// `client` at `placement`, not asked anything yet.
    pub(super) fn unprobed(
        client: &'static str,
        placement: Placement,
        limits: Limits,
    ) -> LxdRuntime {
        let mut runtime = LxdRuntime {
            client: Client::new(client),
            project_dir: None,
            limits,
            reached: AtomicBool::new(false),
            known_address: Default::default(),
        };
        runtime.client.placement = placement;
        runtime
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
    pub(super) fn connect(
        client: &'static str,
        placement: Placement,
        limits: Limits,
    ) -> Result<LxdRuntime> {
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
    pub(super) fn probe(
        client: &'static str,
        placement: Placement,
        limits: Limits,
    ) -> Result<LxdRuntime, String> {
        let runtime = LxdRuntime::unprobed(client, placement, limits);
        // Answered or not, no call after this one is the first.
        runtime.reached.store(true, Ordering::Relaxed);
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
    pub(super) fn remote_failed(&self, remote: &str, cmdline: &str, stderr: String) -> String {
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
    pub(super) fn check_trusted(&self, remote: &str, body: &[u8]) -> Result<(), String> {
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
}

/// The last resort every "runtime unavailable" message ends with.
pub(super) const TRY_FAKE: &str = "or try lxdev without one: `--runtime fake`";

/// What to tell a user whose runtime is missing or not running: written
/// for an installed lxdev, so it names the distribution's package and
/// service (Debian 12 packages both `lxd` and `incus`; the LXD snap is the
/// upstream's way elsewhere), not this source tree's scripts.
pub(super) struct Advice {
    /// When the client is not installed.
    pub(super) install: &'static str,
    /// When the client runs but reaches no daemon.
    pub(super) start: &'static str,
}

impl Advice {
    pub(super) fn for_client(client: &str) -> Advice {
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
