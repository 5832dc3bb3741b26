//! LXD (`lxc`) and Incus (`incus`) backends: the same verbs, a different
//! client binary.

use anyhow::Result;

/// A runtime driven through the `lxc` or `incus` command-line client.
#[derive(Debug)]
pub struct LxdRuntime {
    /// `lxc` or `incus`.
    client: &'static str,
}

impl LxdRuntime {
    /// LXD through `lxc`; fails with `RuntimeUnavailable` (exit 69) if the
    /// client is missing or cannot reach a daemon.
    pub fn lxd() -> Result<LxdRuntime> {
        Self::connect("lxc")
    }

    /// Incus through `incus`; same failure rules as [`LxdRuntime::lxd`].
    pub fn incus() -> Result<LxdRuntime> {
        Self::connect("incus")
    }

    /// `incus`, then `lxc`, whichever reaches a daemon first.
    pub fn detect() -> Result<LxdRuntime> {
        Self::connect("incus")
            .or_else(|_| Self::connect("lxc"))
            .map_err(|_| {
                crate::error::Error::RuntimeUnavailable(
                    "no container runtime found: neither `incus` nor `lxc` reaches a daemon; \
                 install LXD (see scripts/setup-lxd.sh) or pass --runtime fake"
                        .into(),
                )
                .into()
            })
    }

    fn connect(client: &'static str) -> Result<LxdRuntime> {
        Err(crate::error::Error::RuntimeUnavailable(format!(
            "the `{client}` runtime is not implemented yet; pass --runtime fake"
        ))
        .into())
    }
}

impl super::Runtime for LxdRuntime {
    fn name(&self) -> &'static str {
        if self.client == "incus" {
            "incus"
        } else {
            "lxd"
        }
    }
    fn create(&self, _: &str, _: &str, _: &super::Tags<'_>) -> Result<()> {
        unimplemented!()
    }
    fn clone_instance(&self, _: &str, _: Option<&str>, _: &str, _: &super::Tags<'_>) -> Result<()> {
        unimplemented!()
    }
    fn remove(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    fn snapshot_create(&self, _: &str, _: &str) -> Result<()> {
        unimplemented!()
    }
    fn snapshot_delete(&self, _: &str, _: &str) -> Result<()> {
        unimplemented!()
    }
    fn snapshot_restore(&self, _: &str, _: &str) -> Result<()> {
        unimplemented!()
    }
    fn list(&self, _: &str) -> Result<Vec<super::Instance>> {
        unimplemented!()
    }
    fn status(&self, _: &str) -> Result<Option<super::Instance>> {
        unimplemented!()
    }
    fn start(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    fn stop(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    fn exec(&self, _: &str, _: &[String]) -> Result<i32> {
        unimplemented!()
    }
}
