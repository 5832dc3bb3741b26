//! The REST API's answers, as `<client> query` prints them: only what
//! lxdev reads, and how an instance in the API becomes an [`Instance`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::config::devices::Spec as DeviceSpec;
use crate::runtime::types::Instance;

/// The instance as `GET /1.0/instances/NAME?recursion=1` (and each element
/// of `GET /1.0/instances?recursion=2`) returns it; only what lxdev reads.
#[derive(Debug, Deserialize)]
pub(super) struct ApiInstance {
    name: String,
    status: String,
    /// `null` while Incus 6.0 is still making the instance (seen by the
    /// kill test: a listing taken mid-create).
    #[serde(default, deserialize_with = "null_as_empty")]
    config: serde_json::Map<String, Value>,
    /// `null` when the instance has none.
    #[serde(default)]
    snapshots: Option<Vec<ApiSnapshot>>,
    /// With `recursion=2` (and for a single instance's `/state`): its
    /// network, where its address is.
    #[serde(default)]
    state: Option<Value>,
    /// Its own devices: each a `type` and string config keys.
    #[serde(default, deserialize_with = "null_as_empty")]
    devices: BTreeMap<String, BTreeMap<String, String>>,
}

/// The first global address among `state.network`'s NICs (not `lo`),
/// IPv4 first, or `None` without a network.
pub(super) fn global_address(state: &Value) -> Option<String> {
    let network = state.get("network")?.as_object()?;
    let mut found: Vec<(bool, String)> = Vec::new();
    for (nic, details) in network {
        if nic == "lo" {
            continue;
        }
        for address in details["addresses"].as_array().into_iter().flatten() {
            if address["scope"] == "global"
                && let Some(text) = address["address"].as_str()
            {
                found.push((address["family"] != "inet", text.to_string()));
            }
        }
    }
    found.sort();
    found.into_iter().next().map(|(_, address)| address)
}

/// Reads JSON `null` as the type's default, where the API sends `null`
/// for an empty value.
pub(super) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiSnapshot {
    name: String,
}

impl ApiInstance {
    /// The instance with its snapshots named by the URLs of `GET
    /// /1.0/instances/NAME/snapshots` (`/1.0/instances/NAME/snapshots/SNAP`,
    /// each maybe with `?project=`), for a record read without them.
    pub(super) fn with_snapshot_urls(mut self, urls: &[String]) -> ApiInstance {
        let names = urls
            .iter()
            .filter_map(|url| {
                let path = url.split_once('?').map_or(url.as_str(), |(path, _)| path);
                let name = path.rsplit_once('/')?.1;
                Some(ApiSnapshot {
                    name: percent_decoded(name),
                })
            })
            .collect();
        self.snapshots = Some(names);
        self
    }
}

/// `text` with its `%XX` escapes decoded (snapshot names in URLs).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        });
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl From<ApiInstance> for Instance {
    fn from(api: ApiInstance) -> Instance {
        let project_tag = api
            .config
            .get("user.lxdev.project")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let config_tag = api
            .config
            .get("user.lxdev.config")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let snapshots = api
            .snapshots
            .unwrap_or_default()
            .into_iter()
            // LXD 5.0 gives the bare name; older servers gave `inst/snap`.
            .map(|snap| match snap.name.rsplit_once('/') {
                Some((_, bare)) => bare.to_owned(),
                None => snap.name,
            })
            .collect();
        let idmap = api
            .config
            .get("raw.idmap")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let devices = api
            .devices
            .into_iter()
            .filter(|(_, config)| !is_root_disk(config))
            .map(|(name, mut config)| {
                let kind = config.remove("type").unwrap_or_default();
                (name, DeviceSpec { kind, config })
            })
            .collect();
        let settings = api
            .config
            .iter()
            .filter(|(key, _)| crate::config::devenv::is_managed_key(key))
            .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
            .collect();
        Instance {
            devices,
            idmap,
            settings,
            name: api.name,
            status: api.status.into(),
            snapshots,
            project_tag,
            config_tag,
            address: api.state.as_ref().and_then(global_address),
        }
    }
}

/// `GET /1.0/storage-pools/NAME`, the parts lxdev reads.
#[derive(Debug, Deserialize)]
pub(super) struct ApiPool {
    pub(super) name: String,
    pub(super) driver: String,
}

/// `GET /1.0/profiles/NAME`: its devices, where the root disk names its
/// pool.
#[derive(Debug, Deserialize)]
pub(super) struct ApiProfile {
    #[serde(default, deserialize_with = "null_as_empty")]
    devices: BTreeMap<String, BTreeMap<String, String>>,
}

impl ApiProfile {
    /// The pool of its root disk (the `disk` device at `/`).
    pub(super) fn root_pool(self) -> Option<String> {
        self.devices
            .into_values()
            .find_map(|mut device| is_root_disk(&device).then(|| device.remove("pool"))?)
    }
}

/// Whether `device` is an instance's own root disk, which `--storage`
/// gives it (a disk at `/` with a pool and no source): where the instance
/// lives, not a device the file records or `mounts` shows.
fn is_root_disk(device: &BTreeMap<String, String>) -> bool {
    device.get("type").is_some_and(|t| t == "disk")
        && device.get("path").is_some_and(|p| p == "/")
        && !device.contains_key("source")
}

/// `GET /1.0/operations?recursion=1`, the parts `busy` reads.
#[derive(Debug, Deserialize)]
pub(super) struct ApiOperations {
    pub(super) running: Option<Vec<ApiOperation>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiOperation {
    pub(super) description: String,
    /// Resource kind -> API paths, e.g. `instances: [/1.0/instances/x]`;
    /// `null` for an operation on no resource.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(super) resources: std::collections::HashMap<String, Vec<String>>,
}

/// Whether `name` can be put in an API path as it is. LXD instance names
/// are hostnames (letters, digits, `-`), so anything else cannot exist.
pub(super) fn is_url_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}
