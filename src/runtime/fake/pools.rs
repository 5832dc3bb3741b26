//! The fake runtime's storage pools: `default` (driver `fake`), and one
//! per line of `.lxdev/fake/pools`, `NAME` or `NAME DRIVER` (driver `fake`
//! when not given), so tests can name pools that exist and pools that do
//! not, and a `dir` pool for what `doctor` says about one. Each instance
//! records the pool it was made on in `<instance>/pool`.

use anyhow::{Context, Result};

use super::FakeRuntime;
use crate::runtime::types::StoragePool;

/// The pool every fake runtime has, which the "default profile" uses.
pub(super) const DEFAULT_POOL: &str = "default";

/// The driver of a pool whose line names none.
const FAKE_DRIVER: &str = "fake";

impl FakeRuntime {
    /// Every pool: `default` first, then the lines of `.lxdev/fake/pools`.
    fn pools(&self) -> Result<Vec<StoragePool>> {
        let mut pools = vec![StoragePool {
            name: DEFAULT_POOL.into(),
            driver: FAKE_DRIVER.into(),
        }];
        // `.lxdev/fake` must be a real folder, as for the instances (see
        // `FakeRuntime::open`); the file itself is only read.
        let Some(dir) = crate::fs::own_dir::existing(&self.project_dir, &[".lxdev", "fake"])?
        else {
            return Ok(pools);
        };
        let path = dir.join("pools");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(pools),
            Err(err) => {
                return Err(err).with_context(|| format!("failed to read `{}`", path.display()));
            }
        };
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let Some(name) = words.next() {
                pools.push(StoragePool {
                    name: name.into(),
                    driver: words.next().unwrap_or(FAKE_DRIVER).into(),
                });
            }
        }
        Ok(pools)
    }

    /// The pool `name`, or `default` for `None`.
    pub(super) fn pool(&self, name: Option<&str>) -> Result<Option<StoragePool>> {
        let name = name.unwrap_or(DEFAULT_POOL);
        Ok(self.pools()?.into_iter().find(|pool| pool.name == name))
    }

    /// The pool a new instance goes on: the one asked for (which must
    /// exist: a refusal that made nothing, as LXD's "Storage pool not
    /// found"), else `fallback`'s.
    pub(super) fn pool_for_new(&self, fallback: &str) -> Result<String> {
        match &self.storage {
            Some(pool) if self.pool(Some(pool))?.is_none() => Err(crate::error::refused(
                anyhow::anyhow!("fake runtime: storage pool `{pool}` not found"),
            )),
            Some(pool) => Ok(pool.clone()),
            None => Ok(fallback.to_owned()),
        }
    }
}
