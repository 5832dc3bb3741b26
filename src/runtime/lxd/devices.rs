//! Devices of an instance through the client's `config device add|remove`
//! and `config set raw.idmap`.
//!
//! The daemon updates an instance's config as a whole and refuses one of
//! two concurrent updates ("ETag doesn't match", "A matching non-reusable
//! operation has now succeeded"): every change here runs in the
//! instance's config queue (a flock per instance, for lxdev processes on
//! this host), and one that lost to a client outside lxdev is tried again.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::LxdRuntime;
use super::failure::{self, FailureKind};
use crate::config::devices::Spec as DeviceSpec;
use crate::config::names::RuntimeName;
use crate::error::{Error, refused};
use crate::runtime::backend::{Devices, Runtime};
use crate::runtime::rules::{check_names, merged_idmap};

/// How long a container restarted for a new ID map may take to boot.
const RESTART_READY_TIMEOUT: Duration = Duration::from_secs(120);

impl Devices for LxdRuntime {
    /// In this instance's config queue: the daemon updates an instance's
    /// config as a whole, and refuses one of two concurrent updates
    /// ("ETag doesn't match"). One lost to a client outside lxdev is tried
    /// again.
    fn device_add(&self, instance: &str, name: &str, spec: &DeviceSpec) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Device(name)])?;
        let _turn = self.instance_queue(instance, "config")?;
        let mut args = self.client.word("config");
        args.extend(["device".into(), "add".into(), "--".into()]);
        args.extend(
            [self.client.at(instance), name.to_owned(), spec.kind.clone()].map(OsString::from),
        );
        args.extend(
            spec.config
                .iter()
                .map(|(k, v)| OsString::from(format!("{k}={v}"))),
        );
        let remedy = format!(
            "remove it with `lxdev unmount` or `{} config device remove {instance} {name}`",
            self.client
        );
        self.config_retried(|| {
            self.run_making(&args, &format!("device `{name}` of `{instance}`"), &remedy)
        })
    }

    /// In this instance's config queue, as [`Devices::device_add`].
    fn device_remove(&self, instance: &str, name: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Device(name)])?;
        let _turn = self.instance_queue(instance, "config")?;
        let mut args = self.client.word("config");
        args.extend(["device".into(), "remove".into(), "--".into()]);
        args.extend([self.client.at(instance), name.to_owned()].map(OsString::from));
        self.config_retried(|| self.run(&args).map(drop))
    }

    /// Read, merge, set and restart in this instance's queue, so two
    /// mounts at once neither lose a line nor restart it twice at once.
    fn map_ids(&self, instance: &str, host: (u32, u32), inside: (u32, u32)) -> Result<()> {
        // A restart may bring another address.
        self.remember_address(instance, None);
        check_names(&[RuntimeName::Instance(instance)])?;
        let _turn = self.instance_queue(instance, "config")?;
        let found = self
            .status(instance)?
            .ok_or_else(|| refused(anyhow!("instance `{instance}` does not exist")))?;
        let merged = merged_idmap(found.idmap.as_deref(), host, inside)
            .map_err(|m| refused(Error::Conflict(format!("`{instance}`: {m}")).into()))?;
        let Some(merged) = merged else {
            return Ok(());
        };
        if self.client.placement.remote.is_none() {
            allowed_to_map(host).map_err(|m| refused(anyhow!(m)))?;
        }
        let mut args = self.client.word("config");
        args.extend(["set".into(), "--".into()]);
        args.extend([self.client.at(instance), "raw.idmap".into(), merged].map(OsString::from));
        self.config_retried(|| self.run(&args).map(drop))?;
        if found.status.is_running() {
            // The new map applies at the next start; the daemon remaps the
            // root file system then.
            self.stop(instance)?;
            self.start(instance)?;
            // Back as it was before: booted, so the next `exec` works (LXD
            // 5.0 fails one into a container still starting with "Failed
            // to retrieve PID of executing child process").
            self.wait_ready(instance, RESTART_READY_TIMEOUT)?;
        }
        Ok(())
    }
}

impl LxdRuntime {
    /// Runs `change` to an instance's config, again (up to 5 times, after
    /// a short pause) while another change wins the daemon's race.
    pub(super) fn config_retried(&self, change: impl Fn() -> Result<()>) -> Result<()> {
        let mut tries = 0;
        loop {
            match change() {
                Err(err) if tries < 4 && raced(&err) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100 * tries));
                }
                other => return other,
            }
        }
    }
}

/// Whether `err` is a config change that lost the daemon's race.
fn raced(err: &anyhow::Error) -> bool {
    failure::kind_of(err) == Some(FailureKind::Raced)
}

/// Whether the daemon may map host `ids` (uid, gid) into a container: it
/// runs as root and maps only the ranges /etc/subuid and /etc/subgid give
/// `root` (newuidmap refuses the rest at start, with a message naming
/// neither file).
fn allowed_to_map((uid, gid): (u32, u32)) -> Result<(), String> {
    let allows = |file: &str, id: u32| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines().any(|line| {
                let mut parts = line.trim().split(':');
                let (Some("root"), Some(start), Some(count)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return false;
                };
                match (start.parse::<u64>(), count.parse::<u64>()) {
                    (Ok(start), Ok(count)) => (start..start + count).contains(&u64::from(id)),
                    _ => false,
                }
            })
        })
    };
    let mut missing = Vec::new();
    if !allows("/etc/subuid", uid) {
        missing.push(format!("`root:{uid}:1` to /etc/subuid"));
    }
    if !allows("/etc/subgid", gid) {
        missing.push(format!("`root:{gid}:1` to /etc/subgid"));
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the runtime may not map host uid {uid} / gid {gid} (the folder's owner) into \
         containers: add {} (as root), then run the command again; or mount with --shift",
        missing.join(" and ")
    ))
}
