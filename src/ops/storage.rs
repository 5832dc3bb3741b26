//! Storage pools, as `init`, `doctor` and the commands that make instances
//! see them: a pool named by the file or the command line must exist before
//! anything is reserved, and a `dir` pool is named as the slow path.
//!
//! Why it matters (measured on LXD 5.0, debian-12): on a `dir` pool every
//! snapshot, restore and copy copies the whole root filesystem (a
//! `snapshot` took 6.4-7.7 s, a dev-ready create 15 s); on btrfs they are
//! copy-on-write (0.3 s).

use anyhow::Result;

use crate::error::Error;
use crate::runtime::{Runtime, StoragePool};

/// The pool `pool` (named by `named_by`: `--storage`, or the file's key),
/// which must exist: an unknown pool is a usage error (exit 2), one line
/// saying how to list and make pools.
pub fn existing(runtime: &dyn Runtime, pool: &str, named_by: &str) -> Result<StoragePool> {
    crate::config::names::validate_placement("storage pool", pool).map_err(Error::Usage)?;
    if let Some(found) = runtime.storage_pool(Some(pool))? {
        return Ok(found);
    }
    let (list, make) = match client(runtime) {
        Some(client) => (
            format!("`{client} storage list` lists them"),
            format!("make it with `{client} storage create {pool} btrfs size=8GiB`"),
        ),
        None => (
            "`.lxdev/fake/pools` lists the fake runtime's".to_owned(),
            format!("add a line `{pool}` to `.lxdev/fake/pools`"),
        ),
    };
    Err(Error::Usage(format!(
        "storage pool `{pool}` ({named_by}) does not exist on the {} runtime ({list}): {make}, \
         or name another",
        runtime.location()
    ))
    .into())
}

/// What a `dir` pool costs and how to get a copy-on-write one; `None` for
/// any other driver.
pub fn slow_path(runtime: &dyn Runtime, pool: &StoragePool) -> Option<String> {
    if !pool.is_slow() {
        return None;
    }
    let client = client(runtime).unwrap_or("lxc");
    Some(format!(
        "storage pool `{}` is a `dir` pool, the slow path: every snapshot, restore and copy \
         copies the whole root filesystem (seconds per snapshot, where btrfs or zfs take a \
         fraction of one); for a copy-on-write pool, `{client} storage create fast btrfs \
         size=8GiB` and `lxdev init --storage fast` (or `storage: fast` in containers.yaml), or \
         run the setup script (scripts/setup-lxd.sh, scripts/setup-incus.sh)",
        pool.name
    ))
}

/// The client a user types for `runtime`, `None` for the fake one.
fn client(runtime: &dyn Runtime) -> Option<&'static str> {
    match runtime.name() {
        "lxd" => Some("lxc"),
        "incus" => Some("incus"),
        _ => None,
    }
}
