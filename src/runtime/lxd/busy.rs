//! Work on an instance that goes on without lxdev: the daemon's running
//! operations, and a client a killed lxdev left running on this host.

use anyhow::Result;

use super::LxdRuntime;
use super::api::ApiOperations;
use crate::runtime::backend::Runtime;

impl LxdRuntime {
    /// A running daemon operation on the instance (or one of its
    /// snapshots), else a client process on this host still naming it: a
    /// client orphaned by a killed lxdev may not have reached the daemon yet.
    /// On a remote the operations are the remote daemon's (anyone's work on
    /// the instance is seen), but the processes are only this host's.
    pub(super) fn running_work(&self, instance: &str) -> Result<Option<String>> {
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
}

/// A process on this host running `client` with `instance` (or
/// `instance/snapshot`) among its arguments, `instance` spelled as the
/// client is given it (`REMOTE:NAME` on a remote). Only this host's
/// processes can be seen: a client still running on another machine is
/// not found here.
pub(super) fn orphaned_client(client: &str, instance: &str) -> Option<(u32, String)> {
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
