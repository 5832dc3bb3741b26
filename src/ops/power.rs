//! Starting and stopping an instance, idempotently: whether it is already
//! as wanted is judged by the status the runtime reports, never by its
//! client's error text (`up`, `down`, `container reset`).

use anyhow::Result;

use crate::runtime::{InstanceStatus, Runtime};

/// Runs `change` unless the runtime already reports `instance` as `want`;
/// returns whether it ran. A change that fails while the runtime then
/// reports `want` counts as done: another process got there between the
/// check and the change (`lxc start` then exits 1, "The instance is already
/// running").
pub fn bring_to(
    runtime: &dyn Runtime,
    instance: &str,
    want: InstanceStatus,
    change: impl FnOnce() -> Result<()>,
) -> Result<bool> {
    let is_there = || -> Result<bool> {
        Ok(runtime
            .status(instance)?
            .is_some_and(|found| found.status == want))
    };
    if is_there()? {
        return Ok(false);
    }
    match change() {
        Ok(()) => Ok(true),
        Err(_) if is_there().unwrap_or(false) => Ok(false),
        Err(err) => Err(err),
    }
}
