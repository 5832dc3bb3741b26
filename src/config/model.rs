//! Typed view of containers.yaml, for reading and validation only.
//!
//! Writing never goes through these structs (see `document.rs`): a
//! re-serialized struct would drop comments, key order and keys lxdev does not
//! know. Unknown keys are therefore accepted here and ignored.
//!
//! The format is lxc-dev-manager's (`project`, `defaults.ports`,
//! `defaults.user`, `containers.<name>.{image, ports, user, snapshots}`) plus
//! lxdev's own optional keys (`runtime`, `runtime_project`, `remote`,
//! `storage`, `defaults.max_containers`, and per
//! entry `storage`, `owner`, `created_at`, `cloned_from`, `runtime`, `state`,
//! `operation`, `error`).
//!
//! Invariants of a `Config` returned by [`parse`]: no key was duplicated
//! anywhere in the file, the project and every container and snapshot name
//! passed `names.rs`. Limits: one YAML document per file; alias expansion
//! and nesting are capped (see `options`) so a hostile file fails fast
//! instead of eating memory; name errors point at the first line spelling
//! that key, found by a text search since the typed model keeps no spans.
//! Plain scalars are read into `String` fields as written (`image: 1.30`
//! is the string "1.30"), which serde-saphyr allows for typed targets.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::devenv;
pub use super::devenv::{Commands, ResourceLimits};
pub use super::ledger::{ContainerState, DeviceState, OperationKind, SnapshotState, Step};

use super::explain::{find_key_line, find_path_line, from_yaml_error, invalid};

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub project: String,
    /// Runtime backend for this project (`fake`, `lxd`, `incus`).
    #[serde(default)]
    pub runtime: Option<String>,
    /// The LXD/Incus project the instances live in (`--project NAME` on
    /// every client call); written by `init` as the client's current one.
    #[serde(default)]
    pub runtime_project: Option<String>,
    /// The client's remote the instances live on (`REMOTE:NAME`).
    #[serde(default)]
    pub remote: Option<String>,
    /// The storage pool new instances' root disks go on (`--storage` on the
    /// client's `init` and `copy`); none: the default profile's pool.
    #[serde(default)]
    pub storage: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub defaults: Defaults,
    /// `containers:` with no value (YAML null) reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub containers: BTreeMap<String, std::sync::Arc<Container>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Defaults {
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub user: Option<User>,
    /// Upper bound on entries in every state, in-flight ones included.
    #[serde(default)]
    pub max_containers: Option<u32>,
    /// Commands every entry runs once when it is made, unless it has its
    /// own (see `devenv`).
    #[serde(default)]
    pub setup: Option<Commands>,
    /// Commands every entry runs each time `up` starts it, unless it has
    /// its own.
    #[serde(default)]
    pub start: Option<Commands>,
    /// Resource limits of every entry, key by key under its own.
    #[serde(default, deserialize_with = "null_as_default")]
    pub limits: ResourceLimits,
    /// Environment variables of every entry, key by key under its own.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: BTreeMap<String, String>,
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
    /// The storage pool its instance is made on, instead of the file's
    /// `storage:`.
    #[serde(default)]
    pub storage: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub user: Option<User>,
    /// `snapshots:` with no value (YAML null) reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub snapshots: BTreeMap<String, Snapshot>,
    /// Runtime devices (mounts, forwarded ports), in lxc-dev-manager's
    /// format: `<dev>: {type, config: {key: value}}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub devices: BTreeMap<String, Device>,
    /// Host files pushed into the container by `sync` (lxc-dev-manager's
    /// `sync: [{source, dest}]`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub sync: Vec<SyncEntry>,
    /// Commands run once, as the dev user, when the container is made
    /// (after the user, SSH and devices, before `initial-state`); `[]`
    /// runs none of the defaults'.
    #[serde(default)]
    pub setup: Option<Commands>,
    /// Commands run, as the dev user, each time `up` starts the container.
    #[serde(default)]
    pub start: Option<Commands>,
    /// `limits: {cpu, memory, processes}`: the instance's `limits.*`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub limits: ResourceLimits,
    /// `env: {KEY: value}`: the instance's `environment.KEY`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "created_at")]
    pub created_at: Option<String>,
    /// `SOURCE` or `SOURCE/SNAPSHOT`.
    #[serde(default)]
    pub cloned_from: Option<String>,
    /// The runtime lxdev created it on, recorded when the file names no
    /// `runtime:` (an lxc-dev-manager file); else the file's runtime.
    #[serde(default)]
    pub runtime: Option<String>,
    /// Absent means ready.
    #[serde(default)]
    pub state: Option<ContainerState>,
    #[serde(default)]
    pub operation: Option<Operation>,
    #[serde(default)]
    pub error: Option<String>,
    /// What provisioning could not do without failing the create (sshd
    /// could not be installed, ...).
    #[serde(default)]
    pub warning: Option<String>,
    /// The provisioning steps a create or clone has not done yet: set when
    /// it is reserved, shortened as each step begins, gone once every step
    /// is done. A container that still has some is not ready, whatever
    /// else happened to it (`doctor --fix` never marks it ready).
    #[serde(default, deserialize_with = "null_as_default")]
    pub pending_steps: Vec<Step>,
}

impl Config {
    /// Entry `name`'s hooks, limits and environment once combined with the
    /// defaults' (the defaults' alone for a name the file does not have).
    pub fn dev_env(&self, name: &str) -> devenv::DevEnv {
        let entry = self.containers.get(name).map(|c| c.dev_section());
        devenv::DevEnv::combine(&self.defaults.dev_section(), entry.as_ref())
    }
}

impl Defaults {
    pub fn dev_section(&self) -> devenv::Section<'_> {
        devenv::Section {
            setup: &self.setup,
            start: &self.start,
            limits: &self.limits,
            env: &self.env,
        }
    }
}

impl Container {
    pub fn dev_section(&self) -> devenv::Section<'_> {
        devenv::Section {
            setup: &self.setup,
            start: &self.start,
            limits: &self.limits,
            env: &self.env,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "created_at")]
    pub created_at: Option<String>,
    /// Absent means ready.
    #[serde(default)]
    pub state: Option<SnapshotState>,
    #[serde(default)]
    pub operation: Option<Operation>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A port to forward: `8080` (the same port on both sides) or
/// `"8080:80"` (host port 8080 to the container's port 80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    pub host: u16,
    pub container: u16,
}

impl Port {
    /// Reads `8080` or `8080:80`; ports are 1 to 65535.
    pub fn parse(text: &str) -> Result<Port, String> {
        let number = |part: &str| match part.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(format!(
                "`{text}` is not a port: expected a port from 1 to 65535, or \
                 HOST:CONTAINER such as 8080:80"
            )),
        };
        match text.split_once(':') {
            Some((host, container)) => Ok(Port {
                host: number(host)?,
                container: number(container)?,
            }),
            None => {
                let port = number(text)?;
                Ok(Port {
                    host: port,
                    container: port,
                })
            }
        }
    }
}

/// As the file spells it: a number, or `"8080:80"`.
impl serde::Serialize for Port {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.host == self.container {
            serializer.serialize_u16(self.host)
        } else {
            serializer.collect_str(self)
        }
    }
}

/// `Port == 8080`: the same port on both sides.
impl PartialEq<u16> for Port {
    fn eq(&self, port: &u16) -> bool {
        self.host == *port && self.container == *port
    }
}

impl std::fmt::Display for Port {
    /// As the file spells it: `8080`, or `8080:80`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host == self.container {
            write!(f, "{}", self.host)
        } else {
            write!(f, "{}:{}", self.host, self.container)
        }
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Port, D::Error> {
        struct PortVisitor;
        impl serde::de::Visitor<'_> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a port from 1 to 65535, or HOST:CONTAINER such as 8080:80")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Port, E> {
                Port::parse(&n.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Port, E> {
                Port::parse(&n.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Port, E> {
                Port::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

/// A runtime device as the file records it (lxc-dev-manager's format),
/// plus lxdev's ledger keys while an operation on it is in flight.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Device {
    #[serde(rename = "type")]
    pub kind: String,
    /// Values as written: `readonly: true` reads as the string "true".
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: BTreeMap<String, String>,
    /// Absent means ready.
    #[serde(default)]
    pub state: Option<DeviceState>,
    #[serde(default)]
    pub operation: Option<Operation>,
    #[serde(default)]
    pub error: Option<String>,
}

/// One host file or folder `sync` pushes into the container.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncEntry {
    /// Host path: absolute, or relative to the project directory.
    pub source: String,
    /// Path inside the container.
    pub dest: String,
}

/// The in-flight operation recorded beside a `state`, so other processes can
/// see who is doing what and whether that process still runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Operation {
    pub kind: OperationKind,
    pub pid: u32,
    pub host: String,
    /// RFC 3339 UTC with milliseconds.
    #[serde(deserialize_with = "started_at")]
    pub started_at: String,
    /// The provisioning step in flight, for a create or clone past the
    /// runtime's part.
    #[serde(default)]
    pub step: Option<Step>,
}

impl Operation {
    /// Whether `other` records the same operation (whatever its step).
    pub fn same(&self, other: &Operation) -> bool {
        (self.kind, self.pid, &self.host, &self.started_at)
            == (other.kind, other.pid, &other.host, &other.started_at)
    }
}

/// Timestamp fields as written, once they read as RFC 3339 times: a
/// hand-edited `2026-13-45T99:99:99Z` is an invalid file, not another date.
/// The error is raised inside the parser, so it carries the value's line
/// and column; the wrappers name the key, which serde does not pass in.
fn rfc3339<'de, D, T>(key: &str, deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Clone + Into<Option<String>>,
{
    let value = T::deserialize(deserializer)?;
    if let Some(text) = value.clone().into() {
        crate::time::parse_rfc3339(&text)
            .map_err(|err| serde::de::Error::custom(format!("invalid `{key}`: {err}")))?;
    }
    Ok(value)
}

fn created_at<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    rfc3339("created_at", d)
}

fn started_at<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    rfc3339("started_at", d)
}

/// Parses and validates the text of a project file.
///
/// Errors are [`crate::error::Error::InvalidConfig`] with a one-line message
/// that names `path` and, where the parser knows it, `line:column`:
/// malformed YAML, duplicate keys, wrong types, empty file, missing
/// `project`, invalid project or container names (see `names.rs`).
/// Input budgets guard against alias bombs.
pub fn parse(text: &str, path: &Path) -> Result<Config, crate::error::Error> {
    if is_blank(text) {
        return Err(invalid(
            path,
            None,
            "the file is empty: expected `project: NAME` and `containers:`",
        ));
    }
    // The plain subset lxdev writes is read without serde-saphyr, about
    // twenty times faster; anything else, and every error, goes to it.
    let config: Config = match super::plain::read(text) {
        Some(config) => config,
        None => serde_saphyr::from_str_with_options(text, options(text.len()))
            .map_err(|err| from_yaml_error(path, text, &err))?,
    };
    validate(&config, text, path)?;
    Ok(config)
}

/// Like [`parse`], given `base`: a text that [`parse`] accepted and its
/// model. When both texts have the same head and tail (see
/// `layout.rs`), only the container entries that differ from `base`'s are
/// parsed (all together, as one mapping); the others keep their typed
/// values from `base`. That is the same result as [`parse`] whenever the
/// line scan sees what the parser sees, which holds when:
/// - the scan trusts both texts (`Layout::of`): no anchors, simple head and
///   tail lines, entries at one column;
/// - `base`'s scanned entry names are exactly its model's, so each of its
///   chunks is one whole entry (a quoted scalar swallowing the next key
///   line would make the names differ);
/// - the changed chunks, parsed alone, give back exactly their scanned
///   names: none runs into the next (else a key line would be missing) and
///   none is left open at its end (else the parse fails);
/// - the whole-model checks (`validate`) pass on the merged model.
///
/// Otherwise, and for any error (so messages and positions are always
/// [`parse`]'s), the whole text is parsed. `parse_changed_agrees_with_parse`
/// feeds both the same corpus.
pub fn parse_changed(
    text: &str,
    base: Option<(&str, &Config)>,
    path: &Path,
) -> Result<Config, crate::error::Error> {
    if let Some((base_text, base_config)) = base
        && let Some(config) = changed_entries(text, base_text, base_config, path)
    {
        return Ok(config);
    }
    parse(text, path)
}

/// The fast path of [`parse_changed`]; `None` to parse the whole text.
fn changed_entries(text: &str, base_text: &str, base: &Config, path: &Path) -> Option<Config> {
    use super::layout::Layout;
    let new = Layout::of(text)?;
    let old = Layout::of(base_text)?;
    if new.head != old.head || new.tail != old.tail {
        return None;
    }
    // `base`'s chunks are its entries, one each.
    if old.chunks.len() != base.containers.len()
        || !old
            .chunks
            .iter()
            .all(|c| base.containers.contains_key(c.name))
    {
        return None;
    }
    let old_text: std::collections::HashMap<&str, &str> =
        old.chunks.iter().map(|c| (c.name, c.text)).collect();
    let mut changed = String::new();
    let mut changed_names = Vec::new();
    let mut containers = BTreeMap::new();
    for chunk in &new.chunks {
        if old_text.get(chunk.name) == Some(&chunk.text) {
            let entry = base.containers.get(chunk.name)?.clone();
            if containers.insert(chunk.name.to_string(), entry).is_some() {
                return None;
            }
        } else {
            changed.push_str(chunk.text);
            changed_names.push(chunk.name);
        }
    }
    if !changed.is_empty() {
        let parsed: BTreeMap<String, Container> = super::plain::read(&changed).or_else(|| {
            serde_saphyr::from_str_with_options(&changed, options(changed.len())).ok()
        })?;
        if parsed.len() != changed_names.len()
            || !changed_names.iter().all(|n| parsed.contains_key(*n))
        {
            return None;
        }
        for (name, entry) in parsed {
            if containers
                .insert(name, std::sync::Arc::new(entry))
                .is_some()
            {
                return None;
            }
        }
    }
    let config = Config {
        containers,
        ..base.clone_without_containers()
    };
    validate(&config, text, path).ok()?;
    Some(config)
}

impl Config {
    /// A copy of everything but the entries (cheap on a large file). A new
    /// top-level field must be copied here too: the compiler says so.
    fn clone_without_containers(&self) -> Config {
        Config {
            project: self.project.clone(),
            runtime: self.runtime.clone(),
            runtime_project: self.runtime_project.clone(),
            remote: self.remote.clone(),
            storage: self.storage.clone(),
            defaults: self.defaults.clone(),
            containers: BTreeMap::new(),
        }
    }
}

/// Like [`parse`] for raw bytes: non-UTF-8 input is an `InvalidConfig` error
/// naming the byte offset (and line) of the first bad byte.
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Config, crate::error::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, path),
        Err(err) => {
            let offset = err.valid_up_to();
            let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(crate::error::Error::InvalidConfig(format!(
                "invalid `{}`: not UTF-8 text (byte 0x{:02X} at offset {offset}, line {line}); \
                 save the file as UTF-8",
                path.display(),
                bytes[offset]
            )))
        }
    }
}

/// A null where a collection or section is expected reads as its empty
/// default: lxc-dev-manager writes `containers:` with nothing after it, and
/// people delete the last snapshot by hand leaving `snapshots:`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parser options: duplicate keys are an error (not last-wins, which would
/// silently drop a container), and budgets that stop an alias bomb
/// ("billion laughs") without refusing an honest large file.
///
/// Only aliases can make a document bigger than its text: without them a
/// file of N bytes has fewer than N nodes and about 2N events (`[]` is two
/// events in two bytes). So the node and event budgets grow with the input
/// (`input_len`), with the old fixed values as a floor, plus what the alias
/// replay budget allows (the same for scalar bytes); it is the alias budgets (counts, total replayed
/// events, replay depth) that stop a bomb, and they stay fixed. A
/// 100,000-container file (20 MB, about 2.2 million nodes) broke a fixed
/// budget of 1,000,000 nodes.
fn options(input_len: usize) -> serde_saphyr::Options {
    const MAX_REPLAYED_EVENTS: usize = 10_000;
    let max_nodes = 1_000_000.max(input_len.saturating_add(MAX_REPLAYED_EVENTS));
    let max_events = 4_000_000.max(
        input_len
            .saturating_mul(2)
            .saturating_add(MAX_REPLAYED_EVENTS),
    );
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        // We print our own one-line message; a multi-line snippet would be
        // built only to be thrown away.
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_nodes: max_nodes,
            max_events: max_events,
            // Scalar text cannot outgrow the input either, but replays
            // copy it: the floor is serde-saphyr's default, 64 MiB.
            max_total_scalar_bytes: (64 << 20).max(input_len),
            max_depth: 32,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
            max_replay_stack_depth: 16,
        },
    }
}

/// Whether `text` holds no YAML content at all: only blank lines, comments
/// and document markers. serde-saphyr would say "unexpected end of file",
/// which does not tell the user what the file should hold.
fn is_blank(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

/// Checks a recorded device: a type; a disk's `source` and `path`; a
/// proxy's `listen` and `connect`; no keys or values that could read as
/// an option or hold a control character.
pub fn validate_device(device: &Device) -> Result<(), String> {
    let word = device.kind.starts_with(|c: char| c.is_ascii_lowercase())
        && device
            .kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !word {
        return Err(format!(
            "`type: {}` is not a device type (disk, proxy, unix-char, ...)",
            device.kind.escape_debug()
        ));
    }
    for (key, value) in &device.config {
        let key_ok = key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !key_ok {
            return Err(format!("config key `{}` is invalid", key.escape_debug()));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("config `{key}` holds a control character"));
        }
    }
    let required: &[&str] = match device.kind.as_str() {
        "disk" => &["source", "path"],
        "proxy" => &["listen", "connect"],
        _ => &[],
    };
    for key in required {
        if device.config.get(*key).is_none_or(String::is_empty) {
            return Err(format!("a {} device needs `config.{key}`", device.kind));
        }
    }
    if device.kind == "disk" {
        let path = &device.config["path"];
        if !path.starts_with('/') {
            return Err(format!("`path: {path}` must be absolute"));
        }
    }
    Ok(())
}

/// Checks the names the typed structure cannot: the project, every
/// container (joined with the project) and every snapshot.
fn validate(config: &Config, text: &str, path: &Path) -> Result<(), crate::error::Error> {
    use super::names;
    let at = |key: &str| find_key_line(text, key);
    names::validate_project(&config.project).map_err(|m| invalid(path, at("project"), &m))?;
    for (key, value) in [
        ("runtime_project", &config.runtime_project),
        ("remote", &config.remote),
        ("storage", &config.storage),
    ] {
        if let Some(value) = value {
            names::validate_placement(key, value).map_err(|m| invalid(path, at(key), &m))?;
        }
    }
    let defaults = &config.defaults;
    let section = defaults.dev_section();
    let refused = |parents: &[&str], refusal: devenv::Refusal| {
        let mut keys: Vec<&str> = parents.to_vec();
        keys.extend(refusal.keys.iter().map(String::as_str));
        let shown = keys.join(".");
        invalid(
            path,
            find_path_line(text, &keys),
            &format!("`{}`: {}", shown.escape_debug(), refusal.why),
        )
    };
    devenv::validate(&section).map_err(|r| refused(&["defaults"], r))?;
    for (name, container) in &config.containers {
        names::validate_container(&config.project, name)
            .map_err(|m| invalid(path, at(name), &m))?;
        if let Some(pool) = &container.storage {
            names::validate_placement("storage", pool).map_err(|m| {
                invalid(path, at("storage"), &format!("in container `{name}`: {m}"))
            })?;
        }
        devenv::validate(&container.dev_section())
            .map_err(|r| refused(&["containers", name], r))?;
        for snapshot in container.snapshots.keys() {
            names::validate_snapshot(snapshot)
                .map_err(|m| invalid(path, at(snapshot), &format!("in container `{name}`: {m}")))?;
        }
        for (device_name, device) in &container.devices {
            names::validate_device(device_name)
                .and_then(|()| validate_device(device))
                .map_err(|m| {
                    invalid(
                        path,
                        at(device_name),
                        &format!("in container `{name}`, device `{device_name}`: {m}"),
                    )
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_device as validate;
    use super::*;

    const PATH: &str = "/p/containers.yaml";

    fn ok(text: &str) -> Config {
        parse(text, Path::new(PATH)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> String {
        let e = parse(text, Path::new(PATH)).expect_err("should be rejected");
        let crate::error::Error::InvalidConfig(msg) = e else {
            panic!("wrong kind: {e:?}")
        };
        assert!(!msg.contains('\n'), "not one line: {msg:?}");
        assert!(msg.starts_with(&format!("invalid `{PATH}`")), "{msg}");
        msg
    }

    #[test]
    fn reads_the_documented_format_with_lxdev_keys() {
        let c = ok(r#"# comment kept
project: webapp
runtime: fake
defaults:
  ports:
    - 5173
    - 8000
  user:
    name: dev
    password: dev
  max_containers: 5
containers:
  dev:
    image: ubuntu:24.04
    ports: [3000]
    owner: alice
    created_at: "2026-01-02T03:04:05.000Z"
    cloned_from: base/clean
    state: creating
    operation: {kind: create, pid: 42, host: box, started_at: "2026-01-02T03:04:05.000Z"}
    error: boom
    snapshots:
      clean:
        description: fresh install
        created_at: "2026-01-02T03:04:05Z"
        state: restoring
"#);
        assert_eq!(c.project, "webapp");
        assert_eq!(c.runtime.as_deref(), Some("fake"));
        assert_eq!(c.defaults.ports, [5173, 8000]);
        assert_eq!(c.defaults.max_containers, Some(5));
        let user = c.defaults.user.as_ref().unwrap();
        assert_eq!(user.name.as_deref(), Some("dev"));
        let dev = &c.containers["dev"];
        assert_eq!(dev.image, "ubuntu:24.04");
        assert_eq!(dev.ports, [3000]);
        assert_eq!(dev.state, Some(ContainerState::Creating));
        assert_eq!(dev.operation.as_ref().unwrap().pid, 42);
        assert_eq!(dev.cloned_from.as_deref(), Some("base/clean"));
        let clean = &dev.snapshots["clean"];
        assert_eq!(clean.state, Some(SnapshotState::Restoring));
        assert_eq!(clean.created_at.as_deref(), Some("2026-01-02T03:04:05Z"));
    }

    #[test]
    fn accepts_unknown_keys_everywhere() {
        let c = ok(
            "project: p\nextra: 1\ndefaults:\n  x: [1]\n  user: {name: a, shell: zsh}\n\
                    containers:\n  dev:\n    image: i\n    labels: {a: b}\n    \
                    snapshots:\n      s:\n        note: n\n        operation: {kind: create, pid: 1, host: h, started_at: 2026-01-02T03:04:05Z, extra: 2}\n",
        );
        assert!(c.containers["dev"].snapshots.contains_key("s"));
    }

    #[test]
    fn nulls_read_as_empty() {
        let c = ok("project: p\ndefaults:\ncontainers:\n");
        assert!(c.containers.is_empty());
        assert!(c.defaults.ports.is_empty());
        let c = ok("project: p\ncontainers:\n  dev:\n    image: i\n    ports:\n    snapshots:\n");
        assert!(c.containers["dev"].snapshots.is_empty());
        assert!(c.containers["dev"].ports.is_empty());
        let c = ok("project: p\ncontainers: {}\n");
        assert!(c.containers.is_empty());
    }

    #[test]
    fn plain_scalars_that_look_like_numbers_read_as_strings() {
        let c = ok(
            "project: p\ncontainers:\n  dev:\n    image: 1.30\n    owner: yes\n  a007:\n    image: 007\n",
        );
        assert_eq!(c.containers["dev"].image, "1.30");
        assert_eq!(c.containers["dev"].owner.as_deref(), Some("yes"));
        assert_eq!(c.containers["a007"].image, "007");
    }

    #[test]
    fn malformed_yaml_names_line_and_column() {
        let m = err("project: p\ncontainers:\n  dev: [1\n");
        assert!(m.contains("at line "), "{m}");
        let m = err("project: a\n  b: c\n");
        assert!(m.contains("at line 2, column 4"), "{m}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let m = err("project: a\nproject: b\n");
        assert!(
            m.contains("line 2, column 1") && m.contains("duplicate"),
            "{m}"
        );
        let m = err("project: a\ncontainers:\n  d:\n    image: x\n  d:\n    image: y\n");
        assert!(m.contains("line 5, column 3") && m.contains("`d`"), "{m}");
    }

    #[test]
    fn wrong_types_are_errors() {
        let m = err("project: p\ncontainers:\n  dev:\n    image: x\n    ports: [abc]\n");
        assert!(m.contains("line 5, column 13"), "{m}");
        let m = err("project: p\ncontainers:\n  dev:\n    image: x\n    ports: [70000]\n");
        assert!(m.contains("1 to 65535"), "{m}");
        let m = err("project: p\ncontainers: 5\n");
        assert!(m.contains("line 2, column 13"), "{m}");
        let m = err("project: p\ncontainers:\n  dev:\n    image: ~\n");
        assert!(m.contains("line 4"), "{m}");
        err("project: [a]\n");
        err("- just\n- a list\n");
    }

    #[test]
    fn empty_files_say_what_is_expected() {
        for text in [
            "",
            "\n\n",
            "# only a comment\n  # and another\n",
            "---\n",
            "\u{feff}",
        ] {
            let m = err(text);
            assert!(
                m.contains("empty") && m.contains("`project: NAME`"),
                "{text:?}: {m}"
            );
        }
    }

    #[test]
    fn missing_project_is_an_error() {
        let m = err("containers: {}\n");
        assert!(m.contains("`project`"), "{m}");
    }

    #[test]
    fn unknown_state_is_an_error() {
        let m = err("project: p\ncontainers:\n  dev:\n    image: x\n    state: bogus\n");
        assert!(
            m.contains("line 5, column 12") && m.contains("`bogus`"),
            "{m}"
        );
        assert!(m.contains("creating"), "{m}");
        let m = err(
            "project: p\ncontainers:\n  dev:\n    image: x\n    snapshots:\n      s:\n        state: removing\n",
        );
        assert!(m.contains("`removing`"), "{m}");
    }

    #[test]
    fn invalid_names_are_errors_with_their_line() {
        let m = err("project: web app\n");
        assert!(
            m.contains("line 1, column 1") && m.contains("project name"),
            "{m}"
        );
        let m = err("project: web\ncontainers:\n  Dev_1:\n    image: x\n");
        assert!(
            m.contains("line 3, column 3") && m.contains("`web-Dev_1`"),
            "{m}"
        );
        let m = err(
            "project: web\ncontainers:\n  dev:\n    image: x\n    snapshots:\n      \"a b\": {}\n",
        );
        assert!(
            m.contains("line 6, column 7") && m.contains("snapshot name"),
            "{m}"
        );
        let m = err("project: web\ncontainers:\n  \"123\":\n    image: x\n");
        assert!(m.contains("all digits"), "{m}");
    }

    /// Hooks, limits and env read at both levels; an entry's hook replaces
    /// the defaults' (`[]` runs none), limits and env combine key by key.
    #[test]
    fn hooks_limits_and_env_read_and_combine() {
        use super::super::devenv::DevEnv;
        let c = ok(
            "project: p\ndefaults:\n  setup: make deps\n  start: [echo a, echo b]\n  \
             limits: {cpu: 2, memory: 1GiB}\n  env:\n    A: from-defaults\n    B: \"1\"\n\
             containers:\n  web:\n    image: i\n    setup:\n      - npm ci\n      - npm run build\n    \
             limits:\n      memory: 2GiB\n      processes: 500\n    env: {B: \"2\", C: \"x y\"}\n  \
             db:\n    image: i\n    start: []\n    setup:\n",
        );
        let web = c.dev_env("web");
        assert_eq!(web.setup, ["npm ci", "npm run build"]);
        assert_eq!(web.start, ["echo a", "echo b"]);
        assert_eq!(web.limits.cpu.as_deref(), Some("2"));
        assert_eq!(web.limits.memory.as_deref(), Some("2GiB"));
        assert_eq!(web.limits.processes.as_deref(), Some("500"));
        let config: Vec<(String, String)> = web.instance_config().into_iter().collect();
        let want = [
            ("environment.A", "from-defaults"),
            ("environment.B", "2"),
            ("environment.C", "x y"),
            ("limits.cpu", "2"),
            ("limits.memory", "2GiB"),
            ("limits.processes", "500"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        assert_eq!(config, want);
        let db = c.dev_env("db");
        // `setup:` with nothing is no key: the defaults'; `[]` is none.
        assert_eq!(db.setup, ["make deps"]);
        assert!(db.start.is_empty());
        assert_eq!(db.limits.memory.as_deref(), Some("1GiB"));
        let bare = ok("project: p\ncontainers:\n  a:\n    image: i\n");
        assert_eq!(bare.dev_env("a"), DevEnv::default());
        assert!(bare.dev_env("a").instance_config().is_empty());
    }

    /// A bad limit or env name is one line naming the key and its line,
    /// at either level, before anything is made.
    #[test]
    fn bad_limits_env_and_hooks_name_the_key_and_line() {
        let m = err(
            "project: p\ncontainers:\n  a:\n    image: i\n    limits:\n      cpu: 1\n  \
             web:\n    image: i\n    limits:\n      cpu: 2\n      memory: 2 GB\n",
        );
        assert!(
            m.contains("at line 11, column 7") && m.contains("`containers.web.limits.memory`"),
            "{m}"
        );
        assert!(m.contains("`2 GB` is not a memory limit"), "{m}");
        let m = err("project: p\ndefaults:\n  limits: {cpu: none}\ncontainers: {}\n");
        assert!(
            m.contains("at line 3, column 3") && m.contains("`defaults.limits.cpu`"),
            "{m}"
        );
        let m = err(
            "project: p\ncontainers:\n  a:\n    image: i\n    env:\n      OK: 1\n      BAD-NAME: 2\n",
        );
        assert!(
            m.contains("at line 7, column 7") && m.contains("BAD-NAME"),
            "{m}"
        );
        let m = err("project: p\ncontainers:\n  a:\n    image: i\n    env: {A: \"x\\ny\"}\n");
        assert!(
            m.contains("line 5") && m.contains("control character"),
            "{m}"
        );
        let m = err("project: p\ncontainers:\n  a:\n    image: i\n    setup: [\"\"]\n");
        assert!(m.contains("line 5") && m.contains("empty"), "{m}");
        // Only these keys: a misspelt limit is an error, not ignored.
        let m =
            err("project: p\ncontainers:\n  a:\n    image: i\n    limits:\n      memroy: 1GiB\n");
        assert!(m.contains("line 6") && m.contains("memroy"), "{m}");
        let m = err("project: p\ncontainers:\n  a:\n    image: i\n    setup: {a: b}\n");
        assert!(m.contains("line 5"), "{m}");
    }

    #[test]
    fn multiple_documents_are_an_error() {
        let m = err("project: a\n---\nproject: b\n");
        assert!(m.contains("line 3") && m.contains("multiple"), "{m}");
    }

    #[test]
    fn alias_bombs_are_rejected() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text.push_str("project: p\n");
        let m = err(&text);
        assert!(m.contains("too large or too complex"), "{m}");
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let c = ok(
            "project: p\ndefaults:\n  ports: &p [1, 2]\ncontainers:\n  dev:\n    image: x\n    ports: *p\n",
        );
        assert_eq!(c.containers["dev"].ports, [1, 2]);
    }

    #[test]
    fn non_utf8_names_offset_and_line() {
        let e = parse_bytes(b"project: p\nx: \xff\n", Path::new(PATH)).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("offset 14") && msg.contains("line 2"), "{msg}");
        assert!(msg.contains("0xFF") && msg.contains(PATH), "{msg}");
        assert!(parse_bytes(b"project: p\n", Path::new(PATH)).is_ok());
    }

    #[test]
    fn byte_order_mark_is_accepted() {
        assert_eq!(ok("\u{feff}project: p\n").project, "p");
    }

    /// `parse_changed` must give exactly what `parse` gives (the same
    /// model, or the same error) for every text, whatever the base.
    /// What the plain reader makes of `text`, if anything, is what
    /// serde-saphyr makes of it: as a whole file, and as the mapping of
    /// entries `parse_changed` reads.
    fn assert_plain_agrees(text: &str) {
        if let Some(fast) = super::super::plain::read::<Config>(text) {
            let slow: Result<Config, _> =
                serde_saphyr::from_str_with_options(text, options(text.len()));
            match slow {
                Ok(slow) => assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text:?}"),
                Err(err) => panic!("plain read what serde-saphyr refuses ({err}): {text:?}"),
            }
        }
        if let Some(fast) = super::super::plain::read::<BTreeMap<String, Container>>(text) {
            let slow: Result<BTreeMap<String, Container>, _> =
                serde_saphyr::from_str_with_options(text, options(text.len()));
            match slow {
                Ok(slow) => assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text:?}"),
                Err(err) => panic!("plain read what serde-saphyr refuses ({err}): {text:?}"),
            }
        }
    }

    fn assert_agree(base: &str, text: &str) {
        assert_plain_agrees(base);
        assert_plain_agrees(text);
        let path = Path::new(PATH);
        let Ok(base_config) = parse(base, path) else {
            return;
        };
        let full = parse(text, path);
        let changed = parse_changed(text, Some((base, &base_config)), path);
        match (&full, &changed) {
            (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{text:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text:?}"),
            _ => panic!("parse: {full:?}\nparse_changed: {changed:?}\ntext: {text:?}"),
        }
    }

    const BASE: &str = "# big\nproject: web\nruntime: fake\ndefaults:\n  ports:\n    - 5173\n\
        containers:\n  # first\n  a:\n    image: ubuntu:24.04\n    ports: [3000]\n    \
        created_at: \"2026-01-02T03:04:05.000Z\"\n    snapshots:\n      clean:\n        \
        description: fresh\n\n  b:\n    image: \"x\"\n    owner: bob\n# tail\n";

    /// Entry bodies that make the typed model, or the line scan, go wrong:
    /// the model's own hostile inputs, quotes and flow collections that run
    /// over into the next entry or the tail, anchors, tabs, duplicates.
    const HOSTILE_ENTRIES: &[&str] = &[
        "  c:\n    image: x\n",
        "  c:\n    image: ~\n",
        "  c:\n    image: x\n    ports: [abc]\n",
        "  c:\n    image: x\n    ports: [70000]\n",
        "  c:\n    image: x\n    state: bogus\n",
        "  c:\n    image: x\n    created_at: 2026-13-45T99:99:99Z\n",
        "  c:\n    image: x\n    operation: {kind: create, pid: 1, host: h, started_at: x}\n",
        "  c:\n    image: x\n    snapshots:\n      \"a b\": {}\n",
        "  C_1:\n    image: x\n",
        "  \"123\":\n    image: x\n",
        "  a:\n    image: dup\n",
        "  c:\n    image: x\n  c:\n    image: y\n",
        "  c:\n    image: \"open\n",
        "  c:\n    image: \"open\n  d: y\"\n",
        "  c:\n    image: 'it''s\n  d: y'\n",
        "  c:\n    image: [x,\n  d: y]\n",
        "  c:\n    image: {x: 1,\n  d: y}\n",
        "  c:\n    image: \"open\nruntime: lxd\"\n",
        "  c: &a\n    image: x\n  d: *a\n",
        "  c:\n    <<: *nope\n    image: x\n",
        "  c:\n\timage: x\n",
        "  c:\n    image: x\n---\nproject: q\n",
        "  c:\n    image: x\n...\n",
        "  c:\n    image: |\n      text\n      more\n",
        "  c:\n    image: >-\n      folded\n  # comment\n",
        "  c:\n    image: plain\n      continued\n",
        "  c:\n    image: x\n   d: y\n",
        "  c:\n    image: x\n project: q\n",
        "  - c\n",
        "  c: 5\n",
        "  c:\n",
        "  c:\n    image: x\n    user: {name: a, shell: zsh}\n    extra: [1, {2: 3}]\n",
        "  c:\n    image: \"\\u0041\\\"q\"\n    owner: \"it's\"\n",
        "  c:\n    image: x # c: d\n",
        "  c:\n    image: x\n    ? complex\n    : key\n",
    ];

    #[test]
    fn parse_changed_agrees_with_parse() {
        let path = Path::new(PATH);
        assert!(parse(BASE, path).is_ok());
        let (head, rest) = BASE.split_at(BASE.find("  b:\n").unwrap());
        let end = BASE.find("# tail").unwrap();
        for entry in HOSTILE_ENTRIES {
            // Appended, inserted between entries, replacing one.
            assert_agree(BASE, &format!("{BASE}{entry}"));
            assert_agree(BASE, &format!("{}{entry}{}", &BASE[..end], &BASE[end..]));
            assert_agree(BASE, &format!("{head}{entry}{rest}"));
            assert_agree(BASE, &format!("{head}{entry}"));
            // And as the base, so unchanged chunks come from a hostile text.
            let based = format!("{}{entry}{}", &BASE[..end], &BASE[end..]);
            assert_agree(&based, &based.replace("owner: bob", "owner: eve"));
            assert_agree(&based, &format!("{based}  z:\n    image: z\n"));
        }
        // The model's own hostile files, as edits of a valid one.
        for text in [
            "project: a\nproject: b\n",
            "project: web app\n",
            "containers: {}\n",
            "project: a\n---\nproject: b\n",
            "",
        ] {
            assert_agree(BASE, text);
        }
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_agree(BASE, &format!("{BASE}{bomb}"));
        assert_agree(BASE, &format!("{BASE}  c:\n    image: x\n    x: {bomb}"));
    }

    #[test]
    fn parse_changed_parses_only_what_changed_when_it_can() {
        let path = Path::new(PATH);
        let base = parse(BASE, path).unwrap();
        let fast = |text: &str| changed_entries(text, BASE, &base, path);
        let added = fast(&format!("{BASE}  c:\n    image: x\n")).expect("fast path");
        assert_eq!(added.containers["c"].image, "x");
        assert_eq!(added.containers.len(), 3);
        let edited = fast(&BASE.replace("owner: bob", "owner: eve")).expect("fast path");
        assert_eq!(edited.containers["b"].owner.as_deref(), Some("eve"));
        let removed = fast(&BASE.replace("  b:\n    image: \"x\"\n    owner: bob\n", ""));
        assert_eq!(removed.expect("fast path").containers.len(), 1);
        // A quote that swallows the next entry's key line, an anchor, a
        // changed head: the whole text is parsed.
        assert!(fast(&format!("{BASE}  c:\n    image: \"x\n  d: y\"\n")).is_none());
        assert!(fast(&format!("{BASE}  c: &a\n    image: x\n")).is_none());
        assert!(fast(&BASE.replace("runtime: fake", "runtime: lxd")).is_none());
    }

    /// The files lxdev writes are read by the plain reader (the fast path
    /// is taken, not only agreed with), and read alike by both.
    #[test]
    fn the_plain_reader_takes_the_files_lxdev_writes() {
        let written = "project: web\nruntime: lxd\ndefaults:\n  ports: [5173, \"8080:80\"]\n  \
            user:\n    name: dev\ncontainers:\n  a:\n    image: ubuntu:24.04\n    owner: bob\n    \
            created_at: \"2026-01-02T03:04:05.000Z\"\n    state: creating\n    operation:\n      \
            kind: create\n      pid: 42\n      host: \"vm\"\n      started_at: \
            \"2026-01-02T03:04:05.000Z\"\n      step: user\n    pending_steps: [user, ssh]\n    \
            snapshots:\n      initial-state:\n        description: Initial state after setup\n        \
            created_at: \"2026-01-02T03:04:05.000Z\"\n    devices:\n      code:\n        type: disk\n        \
            config:\n          source: src\n          path: /srv/src\n          readonly: \"true\"\n    \
            sync:\n      - source: .env\n        dest: /home/dev/.env\n    error: \"boom \\\"x\\\"\"\n";
        for text in [BASE, written] {
            assert!(
                super::super::plain::read::<Config>(text).is_some(),
                "the plain reader gave up on {text:?}"
            );
            assert_plain_agrees(text);
        }
    }

    /// A key the model has no field for is still read by serde-saphyr,
    /// which refuses a float too large to be finite there: so does the
    /// fast path (found by the corpus test below, `ports: 1e999`).
    #[test]
    fn values_the_model_ignores_are_refused_alike() {
        for extra in [
            "ports: 1e999",
            "x: [1, -.inf]",
            "x:\n  1e999: y",
            "x: {a: 1.5}",
            "x: [a, 7]",
        ] {
            assert_plain_agrees(&format!("{BASE}{extra}\n"));
        }
    }

    /// The same over YAML-ish text made of the tokens that make parsers
    /// branch (those of `tests/cli/fuzz.rs`), spliced in as entries.
    mod corpus {
        use proptest::prelude::*;

        mod yaml_pieces {
            // The file the CLI fuzz tests use too (a path attribute cannot
            // climb out of this inline module's directory).
            include!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/common/yaml_pieces.rs"
            ));
        }

        fn yamlish() -> impl Strategy<Value = String> {
            let keys = [
                "  c:\n",
                "  d:\n",
                "    image: ",
                "    snapshots:\n",
                "      s:\n",
                "creating",
                "    ",
                "project: q\n",
            ];
            let pieces: Vec<&'static str> = keys
                .into_iter()
                .chain(yaml_pieces::YAML_PIECES.iter().copied())
                .collect();
            prop::collection::vec(prop::sample::select(pieces), 0..40)
                .prop_map(|tokens| tokens.concat())
        }

        /// Scalars whose reading differs between YAML's types, quoting
        /// styles and escapes.
        const SCALARS: &[&str] = &[
            "x",
            "1.30",
            "true",
            "false",
            "yes",
            "No",
            "null",
            "~",
            "Null",
            "0",
            "007",
            "-1",
            "1e3",
            "0x10",
            "+1",
            ".inf",
            "\"q\"",
            "\"a\\\"b\"",
            "\"\\e[2J\"",
            "\"\\u00e9\\x41\"",
            "'it''s'",
            "'x'",
            "a b",
            "a#b",
            "a #c",
            "http://x:1/y",
            "[1, 2]",
            "[]",
            "{}",
            "{k: v}",
            "[a, 'b']",
            "\"\"",
            "''",
            "\u{e9}",
            "-x",
            "8080:80",
            "\"8080:80\"",
            "2026-01-01T00:00:00Z",
            "\"2026-01-01T00:00:00.000Z\"",
            "65536",
            "4294967296",
            "\"\\N\\_\\L\\P\\ \\/\"",
            "\"\\q\"",
            "x ",
            "@x",
            "`x",
        ];

        /// A whole small file with `values` in the places that take
        /// strings, numbers, words and lists, and optional sections.
        fn file(values: Vec<&'static str>, parts: u8) -> String {
            let v = |i: usize| values[i % values.len()];
            let mut text = format!(
                "project: p\nruntime: fake\ncontainers:\n  c:\n    image: {}\n    owner: {}\n",
                v(0),
                v(1)
            );
            if parts & 1 != 0 {
                text += &format!(
                    "    snapshots:\n      s:\n        description: {}\n        created_at: {}\n",
                    v(2),
                    v(3)
                );
            }
            if parts & 2 != 0 {
                text += &format!(
                    "    devices:\n      d:\n        type: disk\n        config:\n          \
                     readonly: {}\n          path: {}\n",
                    v(4),
                    v(5)
                );
            }
            if parts & 4 != 0 {
                text += &format!(
                    "    state: {}\n    operation:\n      kind: {}\n      pid: {}\n      \
                     host: h\n      started_at: \"2026-01-01T00:00:00Z\"\n",
                    v(6),
                    v(7),
                    v(8)
                );
            }
            if parts & 8 != 0 {
                text += &format!(
                    "    ports: {}\n    pending_steps: {}\n    sync:\n      - source: {}\n        \
                     dest: /x\n",
                    v(9),
                    v(10),
                    v(11)
                );
            }
            if parts & 16 != 0 {
                text += &format!("defaults:\n  ports:\n    - {}\n  user: {}\n", v(12), v(13));
            }
            if parts & 32 != 0 {
                // Hooks, limits and env, at defaults level and in the entry.
                let entry = text.find("    image:").unwrap();
                text.insert_str(
                    entry,
                    &format!(
                        "    setup: {}\n    start:\n      - {}\n    limits:\n      cpu: {}\n      \
                         memory: {}\n    env:\n      A: {}\n",
                        v(14),
                        v(15),
                        v(16),
                        v(17),
                        v(18)
                    ),
                );
                if parts & 16 != 0 {
                    text += &format!(
                        "  setup: [{}, {}]\n  limits: {{processes: {}}}\n  env: {{B: {}}}\n",
                        v(19),
                        v(20),
                        v(21),
                        v(22)
                    );
                }
            }
            text
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
            #[test]
            fn the_plain_reader_reads_what_serde_saphyr_reads(
                values in prop::collection::vec(prop::sample::select(SCALARS), 1..16),
                parts in 0u8..64,
            ) {
                let text = file(values, parts);
                super::assert_plain_agrees(&text);
                let entries = &text[text.find("  c:").unwrap()..];
                super::assert_plain_agrees(entries);
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
            #[test]
            fn parse_changed_agrees_with_parse_on_yamlish_entries(entry in yamlish(), at in 0usize..3) {
                let base = super::BASE;
                let text = match at {
                    0 => format!("{base}{entry}"),
                    1 => {
                        let end = base.find("# tail").unwrap();
                        format!("{}{entry}{}", &base[..end], &base[end..])
                    }
                    _ => base.replace("  b:\n", &format!("{entry}  b:\n")),
                };
                super::assert_agree(base, &text);
                super::assert_agree(&text, &format!("{text}  z:\n    image: z\n"));
            }
        }
    }

    /// Median of 20 parses of a 1,000-container file (87 KB):
    /// `cargo test --release --lib config::model::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release mode"]
    fn timing_parse_1000_containers() {
        use std::time::Instant;
        let path = Path::new("/tmp/big.yaml");
        let text = std::fs::read_to_string(path).unwrap_or_else(|_| {
            let mut t = String::from("project: bench\nruntime: fake\ncontainers:\n");
            for i in 0..1000 {
                t.push_str(&format!(
                    "  e{i}:\n    image: busybox\n    owner: bench\n    created_at: \"2026-01-01T00:00:00.000Z\"\n"
                ));
            }
            std::fs::write(path, &t).unwrap();
            t
        });
        let mut times: Vec<_> = (0..20)
            .map(|_| {
                let t0 = Instant::now();
                let c = parse(&text, path).unwrap();
                let elapsed = t0.elapsed();
                assert_eq!(c.containers.len(), 1000);
                elapsed
            })
            .collect();
        times.sort();
        eprintln!(
            "model::parse, {} bytes: median {:?} (min {:?}, max {:?})",
            text.len(),
            times[10],
            times[0],
            times[19]
        );
    }

    fn device(kind: &str, config: &[(&str, &str)]) -> Device {
        Device {
            kind: kind.into(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            state: None,
            operation: None,
            error: None,
        }
    }

    #[test]
    fn bad_devices_are_refused() {
        assert!(validate(&device("disk", &[("source", "/a"), ("path", "/b")])).is_ok());
        assert!(validate(&device("disk", &[("source", "/a")])).is_err());
        assert!(validate(&device("disk", &[("source", "/a"), ("path", "b")])).is_err());
        assert!(validate(&device("proxy", &[("listen", "tcp:127.0.0.1:1")])).is_err());
        assert!(validate(&device("", &[])).is_err());
        assert!(validate(&device("disk --force", &[])).is_err());
        assert!(validate(&device("nic", &[("-x", "1")])).is_err());
        assert!(validate(&device("nic", &[("name", "a\nb")])).is_err());
    }
}
