//! Typed view of containers.yaml, for reading and validation only.
//!
//! Writing never goes through these structs (see `document.rs`): a
//! re-serialized struct would drop comments, key order and keys lxdev does not
//! know. Unknown keys are therefore accepted here and ignored.
//!
//! The format is lxc-dev-manager's (`project`, `defaults.ports`,
//! `defaults.user`, `containers.<name>.{image, ports, user, snapshots}`) plus
//! lxdev's own optional keys (`runtime`, `defaults.max_containers`, and per
//! entry `owner`, `created_at`, `cloned_from`, `state`, `operation`, `error`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub project: String,
    /// Runtime backend for this project (`fake`, `lxd`, `incus`).
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub defaults: Defaults,
    /// `containers:` with no value (YAML null) reads as empty.
    #[serde(default)]
    pub containers: BTreeMap<String, Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Defaults {
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub user: Option<User>,
    /// Upper bound on entries in every state, in-flight ones included.
    #[serde(default)]
    pub max_containers: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct User {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    pub image: String,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub snapshots: BTreeMap<String, Snapshot>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// `SOURCE` or `SOURCE/SNAPSHOT`.
    #[serde(default)]
    pub cloned_from: Option<String>,
    /// Absent means ready.
    #[serde(default)]
    pub state: Option<ContainerState>,
    #[serde(default)]
    pub operation: Option<Operation>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Creating,
    Removing,
    Failed,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// Absent means ready.
    #[serde(default)]
    pub state: Option<SnapshotState>,
    #[serde(default)]
    pub operation: Option<Operation>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    Creating,
    Deleting,
    Restoring,
    Failed,
}

/// The in-flight operation recorded beside a `state`, so other processes can
/// see who is doing what and whether that process still runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Operation {
    /// `create`, `clone`, `remove`, `snapshot_create`, `snapshot_delete`,
    /// `snapshot_restore`.
    pub kind: String,
    pub pid: u32,
    pub host: String,
    /// RFC 3339 UTC with milliseconds.
    pub started_at: String,
}

/// Parses and validates the text of a project file.
///
/// Errors are [`crate::error::Error::InvalidConfig`] with a one-line message
/// that names `path` and, where the parser knows it, `line:column`:
/// malformed YAML, duplicate keys, wrong types, empty file, missing
/// `project`, invalid project or container names (see `names.rs`).
/// Input budgets guard against alias bombs.
pub fn parse(text: &str, path: &Path) -> Result<Config, crate::error::Error> {
    todo!("{} {path:?}", text.len())
}

/// Like [`parse`] for raw bytes: non-UTF-8 input is an `InvalidConfig` error
/// naming the byte offset (and line) of the first bad byte.
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Config, crate::error::Error> {
    todo!("{} {path:?}", bytes.len())
}
