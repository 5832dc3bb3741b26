//! The rules every backend keeps, written once above them: which names may
//! reach a runtime, what a path in a container may be, that files move only
//! to and from a running instance, what a copy keeps of its source's
//! devices, and how a mount's owner joins an instance's ID map.

use anyhow::Result;

use super::types::Instance;
use crate::config::devices::Spec as DeviceSpec;
use crate::config::names::{self, RuntimeName};
use crate::error::Error;

/// Refuses (usage, exit 2) any name that fails its rule in
/// `config::names`, before anything runs: a backend does not rely on its
/// callers having checked. Every backend method that passes a caller's
/// name on calls this first.
pub fn check_names(names: &[RuntimeName<'_>]) -> Result<()> {
    names::validate_runtime_names(names).map_err(|why| Error::Usage(why).into())
}

/// The names of a copy: its source instance, the source's snapshot it is
/// made from (if any), and the new instance.
pub fn check_copy(source: &str, snapshot: Option<&str>, instance: &str) -> Result<()> {
    check_names(&[
        RuntimeName::Instance(source),
        RuntimeName::Instance(instance),
    ])?;
    if let Some(snap) = snapshot {
        check_names(&[RuntimeName::Snapshot(snap)])?;
    }
    Ok(())
}

/// Checks a path inside an instance before any runtime sees it: absolute,
/// no `..` (the copy must land where the command line says), no newline,
/// NUL or backslash (the client and the scripts that place a copy take one
/// path per argument and per line). `Err` says why, for a usage error.
pub fn check_container_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!(
            "the path in the container `{path}` must be absolute (`/...` or `~/...`)"
        ));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!(
            "the path in the container `{path}` must not contain `..`"
        ));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!(
            "the path in the container {path:?} holds a control character or a backslash"
        ));
    }
    Ok(())
}

/// Files are copied only to and from a running instance (LXD runs the
/// scripts that place them with `exec`), and a command is only run in
/// one: `instance` as `found` is refused otherwise.
pub fn must_run(instance: &str, found: &Instance) -> Result<()> {
    if found.status.is_running() {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "instance `{instance}` is {}, not running: start it first",
        found.status.as_str().to_lowercase()
    ))
}

/// Whether a copy of an instance keeps `device` of its source: not a
/// forwarded port (`proxy`), whatever its name, which the source still
/// listens on (the copy would not start).
pub fn copy_keeps(device: &DeviceSpec) -> bool {
    device.kind != "proxy"
}

/// `current` (a `raw.idmap` value) with `uid H C` and `gid H C` lines for
/// `host` and `inside` added: `Ok(None)` when it already has them, an
/// error naming the line in the way when it maps either side elsewhere.
pub fn merged_idmap(
    current: Option<&str>,
    host: (u32, u32),
    inside: (u32, u32),
) -> Result<Option<String>, String> {
    let current = current.unwrap_or("");
    let mut lines: Vec<String> = current
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let mut changed = false;
    for (kind, h, c) in [("uid", host.0, inside.0), ("gid", host.1, inside.1)] {
        let mut found = false;
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [which, line_h, line_c] = words[..] else {
                return Err(format!(
                    "raw.idmap line `{line}` is not `uid|gid|both HOST INSIDE`"
                ));
            };
            if which != kind && which != "both" {
                continue;
            }
            let (line_h, line_c) = (line_h.parse::<u32>(), line_c.parse::<u32>());
            match (line_h == Ok(h), line_c == Ok(c)) {
                (true, true) => found = true,
                (false, false) => {}
                _ => {
                    return Err(format!(
                        "its raw.idmap already has `{line}` (host {kind} {line_h} is {line_c} \
                         inside, for another mount's owner), so a folder of host {kind} {h} \
                         cannot also be {c} inside: give one container folders of one owner, \
                         or mount with --shift",
                        line_h = words[1],
                        line_c = words[2],
                    ));
                }
            }
        }
        if !found {
            lines.push(format!("{kind} {h} {c}"));
            changed = true;
        }
    }
    Ok(changed.then(|| lines.join("\n")))
}

/// Refuses (usage, exit 2) a config key a project file may not set
/// (anything but `limits.cpu|memory|processes` and `environment.NAME`), or
/// a value with a control character: a backend passes each as one
/// `KEY=VALUE` argument and sets nothing else of an instance from a file.
pub fn check_settings<'a>(
    changes: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<()> {
    for (key, value) in changes {
        if !crate::config::devenv::is_managed_key(key) {
            return Err(Error::Usage(format!(
                "`{}` is not an instance setting lxdev may give (limits.cpu, limits.memory, \
                 limits.processes, environment.NAME)",
                key.escape_debug()
            ))
            .into());
        }
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(
                Error::Usage(format!("the value of `{key}` holds a control character")).into(),
            );
        }
    }
    Ok(())
}

/// The `TYPE BASE64` of an OpenSSH public key line (a `.pub` file, an
/// `authorized_keys` line with or without options, a host key), leaving
/// out options and comment; `None` when the line holds no key. What a
/// container says its keys are is checked here before lxdev writes it
/// anywhere: no other text gets through.
pub fn public_key(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let (kind, data) = (pair[0], pair[1]);
        let kind_ok =
            (kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-"))
                && kind.len() <= 64
                && kind
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-@.".contains(c));
        let data_ok = data.len() >= 16
            && data
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c));
        (kind_ok && data_ok).then(|| format!("{kind} {data}"))
    })
}

#[cfg(test)]
mod tests {
    use super::merged_idmap;

    #[test]
    fn public_keys_are_type_and_data_only() {
        use super::public_key;
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOlxdevTestKey";
        assert_eq!(public_key(&format!("{key} me@host")).as_deref(), Some(key));
        assert_eq!(
            public_key(&format!("no-pty,command=\"x\" {key}")).as_deref(),
            Some(key)
        );
        for bad in [
            "",
            "# comment",
            "ssh-ed25519",
            "* ssh-rsa AAA\nx",
            "ssh-rsa not_base64!!!!!!!!!",
        ] {
            assert_eq!(public_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_limits_and_the_environment_may_be_set() {
        use super::check_settings;
        assert!(check_settings([("limits.memory", Some("1GiB")), ("environment.A", None)]).is_ok());
        for key in [
            "security.privileged",
            "raw.lxc",
            "limits.cpu.allowance",
            "environment.A B",
        ] {
            assert!(check_settings([(key, Some("x"))]).is_err(), "{key}");
        }
        assert!(check_settings([("environment.A", Some("a\nb"))]).is_err());
    }

    #[test]
    fn idmaps_gain_lines_once_and_refuse_a_second_partner() {
        assert_eq!(
            merged_idmap(None, (1500, 1501), (1000, 1000))
                .unwrap()
                .as_deref(),
            Some("uid 1500 1000\ngid 1501 1000")
        );
        let current = "uid 1500 1000\ngid 1501 1000";
        assert_eq!(
            merged_idmap(Some(current), (1500, 1501), (1000, 1000)),
            Ok(None)
        );
        assert_eq!(
            merged_idmap(Some("both 1500 1000"), (1500, 1500), (1000, 1000)),
            Ok(None)
        );
        let why = merged_idmap(Some(current), (1600, 1600), (1000, 1000)).unwrap_err();
        assert!(
            why.contains("`uid 1500 1000`") && why.contains("host uid 1600"),
            "{why}"
        );
        assert!(merged_idmap(Some("nonsense"), (1, 1), (2, 2)).is_err());
    }
}
