//! Devices as the file records them (lxc-dev-manager's format): what a
//! `disk` mount and a forwarded port look like, and which recorded device
//! is which. The runtime gets exactly these type and config keys.
//!
//! lxdev writes two kinds: `disk` (`mount`) and `proxy` (`proxy`, named
//! `lxdev-port-<host port>`). Other types a user records by hand are
//! passed through to the runtime as they are.

use std::collections::BTreeMap;

use super::model::{Device, Port};

/// Prefix of the devices `proxy` makes, one per forwarded host port.
pub const PORT_PREFIX: &str = "lxdev-port-";

/// What the runtime needs to make a device: its type and config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub kind: String,
    pub config: BTreeMap<String, String>,
}

impl Spec {
    /// A read-only (unless `writable`) mount of host folder `source` at
    /// `path`, with `shift=true` when asked.
    pub fn disk(source: &str, path: &str, writable: bool, shift: bool) -> Spec {
        let mut config = BTreeMap::from([
            ("source".to_owned(), source.to_owned()),
            ("path".to_owned(), path.to_owned()),
        ]);
        if !writable {
            config.insert("readonly".into(), "true".into());
        }
        if shift {
            config.insert("shift".into(), "true".into());
        }
        Spec {
            kind: "disk".into(),
            config,
        }
    }

    /// Forwarding of `port.host` on the host's loopback to `port.container`
    /// on the container's. The runtime makes the connection inside the
    /// container, so no container network is needed.
    pub fn port(port: Port) -> Spec {
        Spec {
            kind: "proxy".into(),
            config: BTreeMap::from([
                ("listen".into(), format!("tcp:127.0.0.1:{}", port.host)),
                (
                    "connect".into(),
                    format!("tcp:127.0.0.1:{}", port.container),
                ),
            ]),
        }
    }

    /// The name `proxy` gives the device forwarding `port`.
    pub fn port_name(port: Port) -> String {
        format!("{PORT_PREFIX}{}", port.host)
    }

    /// The spec the runtime gets: a disk's source relative to the project
    /// directory made absolute.
    pub fn for_runtime(&self, project_dir: &std::path::Path) -> Spec {
        let mut spec = self.clone();
        if self.kind == "disk"
            && let Some(source) = self.config.get("source")
            && !source.starts_with('/')
        {
            let absolute = project_dir.join(source);
            let absolute = if source == "." {
                project_dir.to_path_buf()
            } else {
                absolute
            };
            spec.config
                .insert("source".into(), absolute.to_string_lossy().into_owned());
        }
        spec
    }

    pub fn of(device: &Device) -> Spec {
        Spec {
            kind: device.kind.clone(),
            config: device.config.clone(),
        }
    }

    /// The mount's host folder and its path in the container.
    pub fn mount(&self) -> Option<(&str, &str)> {
        (self.kind == "disk").then_some(())?;
        Some((self.config.get("source")?, self.config.get("path")?))
    }

    pub fn readonly(&self) -> bool {
        self.config
            .get("readonly")
            .is_some_and(|v| matches!(v.as_str(), "true" | "yes" | "on" | "1"))
    }

    /// The host port a forwarding device listens on (`tcp:ADDR:PORT`).
    pub fn listen_port(&self) -> Option<u16> {
        (self.kind == "proxy").then_some(())?;
        self.config.get("listen")?.rsplit(':').next()?.parse().ok()
    }

    /// The container port a forwarding device connects to.
    pub fn connect_port(&self) -> Option<u16> {
        (self.kind == "proxy").then_some(())?;
        self.config.get("connect")?.rsplit(':').next()?.parse().ok()
    }

    /// `source -> path (ro)` or `127.0.0.1:8080 -> 80`, for listings.
    pub fn describe(&self) -> String {
        if let Some((source, path)) = self.mount() {
            let mode = if self.readonly() { "ro" } else { "rw" };
            return format!("{source} -> {path} ({mode})");
        }
        // Only what `lxdev proxy` writes reads as a forwarded port: any other
        // proxy (a hand-added 0.0.0.0 listener) is shown as it is.
        let loopback = |key: &str| {
            self.config
                .get(key)
                .is_some_and(|v| v.starts_with("tcp:127.0.0.1:"))
        };
        if let (Some(host), Some(container)) = (self.listen_port(), self.connect_port())
            && loopback("listen")
            && loopback("connect")
            && self.config.len() == 2
        {
            return format!("127.0.0.1:{host} -> {container}");
        }
        let config: Vec<String> = self
            .config
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{} {}", self.kind, config.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_and_ports_read_back() {
        let spec = Spec::disk("/src", "/work", false, false);
        assert_eq!(spec.mount(), Some(("/src", "/work")));
        assert!(spec.readonly());
        assert_eq!(spec.describe(), "/src -> /work (ro)");
        let port = Port {
            host: 8080,
            container: 80,
        };
        let spec = Spec::port(port);
        assert_eq!(
            (spec.listen_port(), spec.connect_port()),
            (Some(8080), Some(80))
        );
        assert_eq!(Spec::port_name(port), "lxdev-port-8080");
        assert_eq!(spec.describe(), "127.0.0.1:8080 -> 80");
    }
}
