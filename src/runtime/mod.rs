//! The container runtimes lxdev drives, behind one trait (`backend.rs`):
//! the fake runtime (directories, for tests and trying lxdev anywhere) and
//! LXD or Incus through their command-line client.
//!
//! Nothing outside this module spawns `lxc` or `incus`. The rules every
//! backend keeps are written once, in `rules.rs`; what a runtime reports
//! and is given, in `types.rs`. A runtime never prints: it returns what
//! happened, and the operation above it says it.

pub mod backend;
pub mod fake;
pub mod lxd;
pub mod provision;
pub mod rules;
pub mod trace;
pub mod types;

use std::path::Path;

use anyhow::Result;

pub use crate::config::devices::Spec as DeviceSpec;
pub use backend::{Devices, Environment, Files, Images, Runtime};
pub use provision::{ContainerUser, Provisioning};
pub use rules::{check_container_path, merged_idmap};
pub use types::{
    Belonging, ExecOptions, FileKind, Hook, HookStage, Image, Instance, InstanceStatus, Limits,
    LogRequest, LogSource, Placement, Push, Source, SshFacts, StoragePool, Tags,
};

/// The runtime names `--runtime` accepts.
pub const NAMES: &[&str] = &["fake", "lxd", "incus"];

/// Fails (usage, exit 2) unless `name` is one of [`NAMES`].
pub fn check_name(name: &str) -> Result<(), crate::error::Error> {
    if NAMES.contains(&name) {
        Ok(())
    } else {
        Err(unknown(name))
    }
}

fn unknown(name: &str) -> crate::error::Error {
    crate::error::Error::Usage(format!(
        "unknown runtime `{name}`; expected one of: {}",
        NAMES.join(", ")
    ))
}

/// Builds the runtime named `name`, or detects one when `name` is `None`.
/// `project_dir` is where the fake runtime keeps its state; `placement` is
/// the remote and LXD/Incus project an `lxd` or `incus` runtime sends its
/// calls to (the fake runtime has neither, and refuses them).
pub fn select(
    name: Option<&str>,
    placement: Placement,
    limits: Limits,
    project: &str,
    project_dir: &Path,
) -> Result<Box<dyn Runtime>> {
    let elsewhere = Placement {
        storage: None,
        ..placement.clone()
    };
    let lxd = match name {
        Some("fake") if elsewhere != Placement::default() => {
            return Err(crate::error::Error::Usage(
                "the fake runtime has no remotes, projects or clusters: drop `remote:` and \
                 `runtime_project:` (or --remote, --target) to use it"
                    .to_owned(),
            )
            .into());
        }
        Some("fake") => {
            let fake = fake::FakeRuntime::open(project_dir, project)?;
            return Ok(Box::new(fake.with_storage(placement.storage)));
        }
        Some(other) => match lxd::LxdRuntime::open(other, placement, limits) {
            Some(runtime) => runtime?,
            None => return Err(unknown(other).into()),
        },
        None => lxd::LxdRuntime::detect(placement, limits)?,
    };
    Ok(Box::new(lxd.with_project_dir(project_dir.to_path_buf())))
}
