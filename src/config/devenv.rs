//! The dev environment a project file asks for: the `setup` and `start`
//! hooks, resource `limits` and the container's `env`, each at `defaults`
//! level and per entry; how an entry's own and the defaults' combine; and
//! what a value must be before anything is made from it.
//!
//! Combining, lxc-dev-manager's rule for `ports` and `user` ("the entry's,
//! else the defaults'"), applied where it makes sense:
//! - a hook is the entry's list when the entry has the key (even `[]`,
//!   which means none), else the defaults': an entry's list replaces the
//!   defaults', it never extends it;
//! - `limits` and `env` combine key by key: an entry's key wins over the
//!   same key of the defaults, the others are the defaults'.
//!
//! What a file may set, and nothing else: `limits.cpu`, `limits.memory`,
//! `limits.processes` and `environment.*` of the instance (a limit only
//! restricts the container; an environment variable reaches only the
//! container). Hooks are commands run inside the container, never on the
//! host. Invariant: every value [`validate`] accepts is one LXD and Incus
//! take (`limits.cpu`: a count or a CPU set; `limits.memory`: bytes with a
//! unit or a percentage; `limits.processes`: a count) and one that passes
//! through a client's `KEY=VALUE` argument unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A hook: one command, or a list of commands run one after another, each
/// with `sh -c` inside the container. `setup: make deps` and
/// `setup: [make deps, make db]` both read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands(pub Vec<String>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Commands, D::Error> {
        struct CommandsVisitor;
        impl<'de> serde::de::Visitor<'de> for CommandsVisitor {
            type Value = Commands;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a command (quote it if YAML reads it as something else) or a list of commands",
                )
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Commands, E> {
                Ok(Commands(vec![text.to_owned()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Commands, A::Error> {
                let mut commands = Vec::new();
                while let Some(command) = seq.next_element::<String>()? {
                    commands.push(command);
                }
                Ok(Commands(commands))
            }
        }
        deserializer.deserialize_any(CommandsVisitor)
    }
}

/// `limits:`: what the container may use, as written (`cpu: 2`,
/// `memory: 2GiB`, `processes: 500`); checked by [`validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceLimits {
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub processes: Option<String>,
}

impl ResourceLimits {
    /// Each limit that is set, with its key in the file and in the
    /// runtime's config.
    fn each(&self) -> [(&'static str, Option<&String>); 3] {
        [
            ("cpu", self.cpu.as_ref()),
            ("memory", self.memory.as_ref()),
            ("processes", self.processes.as_ref()),
        ]
    }

    /// Key by key: `self`'s where set, else `defaults`'.
    fn over(&self, defaults: &ResourceLimits) -> ResourceLimits {
        ResourceLimits {
            cpu: self.cpu.clone().or_else(|| defaults.cpu.clone()),
            memory: self.memory.clone().or_else(|| defaults.memory.clone()),
            processes: self
                .processes
                .clone()
                .or_else(|| defaults.processes.clone()),
        }
    }
}

/// The prefix of every runtime config key an `env:` entry becomes.
pub const ENV_PREFIX: &str = "environment.";
/// The prefix of every runtime config key a limit becomes.
pub const LIMITS_PREFIX: &str = "limits.";

/// What one entry gets: its hooks, limits and environment once combined
/// with the defaults (see the module comment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DevEnv {
    pub setup: Vec<String>,
    pub start: Vec<String>,
    pub limits: ResourceLimits,
    pub env: BTreeMap<String, String>,
}

impl DevEnv {
    /// An entry's environment: its own `section` over the `defaults`'
    /// (the defaults' alone for a name the file does not have).
    pub fn combine(defaults: &Section<'_>, entry: Option<&Section<'_>>) -> DevEnv {
        let hook = |own: Option<&Option<Commands>>, default: &Option<Commands>| {
            own.and_then(Option::as_ref)
                .or(default.as_ref())
                .map(|c| c.0.clone())
                .unwrap_or_default()
        };
        let mut env = defaults.env.clone();
        if let Some(entry) = entry {
            env.extend(entry.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        DevEnv {
            setup: hook(entry.map(|e| e.setup), defaults.setup),
            start: hook(entry.map(|e| e.start), defaults.start),
            limits: entry.map_or(defaults.limits.clone(), |e| e.limits.over(defaults.limits)),
            env,
        }
    }

    /// The instance config keys this environment sets (`limits.memory`,
    /// `environment.KEY`), with their values: what the runtime is given
    /// at create, and what `up` makes an existing instance agree with.
    pub fn instance_config(&self) -> BTreeMap<String, String> {
        let limits = self
            .limits
            .each()
            .into_iter()
            .filter_map(|(key, value)| Some((format!("{LIMITS_PREFIX}{key}"), value?.clone())));
        let env = self
            .env
            .iter()
            .map(|(key, value)| (format!("{ENV_PREFIX}{key}"), value.clone()));
        limits.chain(env).collect()
    }
}

/// Whether `key` is one of the instance config keys a project file may
/// set (see [`DevEnv::instance_config`]): what a runtime is given and what
/// `up` compares, never any other key of the instance.
pub fn is_managed_key(key: &str) -> bool {
    match key.strip_prefix(LIMITS_PREFIX) {
        Some(limit) => ["cpu", "memory", "processes"].contains(&limit),
        None => key
            .strip_prefix(ENV_PREFIX)
            .is_some_and(|name| check_env_name(name).is_ok()),
    }
}

/// A value the file gives that lxdev would not pass on: the keys leading
/// to it (`limits`, `memory`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub keys: Vec<String>,
    pub why: String,
}

/// The parts of `defaults` (or of an entry) this module reads
/// (`Defaults::dev_section`, `Container::dev_section`).
pub struct Section<'c> {
    pub setup: &'c Option<Commands>,
    pub start: &'c Option<Commands>,
    pub limits: &'c ResourceLimits,
    pub env: &'c BTreeMap<String, String>,
}

/// Checks one section's hooks, limits and environment; the first value
/// that is wrong, with the keys that lead to it.
pub fn validate(section: &Section<'_>) -> Result<(), Refusal> {
    let refuse = |keys: &[&str], why: String| Refusal {
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        why,
    };
    for (key, hook) in [("setup", section.setup), ("start", section.start)] {
        for command in hook.iter().flat_map(|c| &c.0) {
            if command.trim().is_empty() {
                return Err(refuse(&[key], "a command is empty".into()));
            }
            if command.contains('\0') {
                return Err(refuse(&[key], "a command holds a NUL byte".into()));
            }
        }
    }
    for (key, value) in section.limits.each() {
        let Some(value) = value else { continue };
        let checked = match key {
            "cpu" => check_cpu(value),
            "memory" => check_memory(value),
            _ => check_count(value, "a number of processes"),
        };
        checked.map_err(|why| refuse(&["limits", key], why))?;
    }
    for (name, value) in section.env {
        check_env_name(name).map_err(|why| refuse(&["env", name], why))?;
        if value.chars().any(char::is_control) {
            return Err(refuse(
                &["env", name],
                format!("the value of `{name}` holds a control character (a line break, ...)"),
            ));
        }
    }
    Ok(())
}

/// An environment variable's name: a letter or `_`, then letters, digits
/// and `_` (POSIX's portable names), at most 128 characters.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let portable = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128;
    if portable {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an environment variable name: use letters, digits and `_`, \
             not starting with a digit",
            name.escape_debug()
        ))
    }
}

/// A count from 1: `processes: 500`.
fn check_count(value: &str, what: &str) -> Result<(), String> {
    match value.parse::<u64>() {
        Ok(n) if n >= 1 && !value.starts_with('0') => Ok(()),
        _ => Err(format!(
            "`{}` is not {what}: expected a whole number from 1",
            value.escape_debug()
        )),
    }
}

/// `cpu: 2` (how many CPUs), or a set of CPUs: `0-3`, `0,2`, `1,4-5`.
fn check_cpu(value: &str) -> Result<(), String> {
    let wrong = || {
        format!(
            "`{}` is not a CPU limit: expected a number of CPUs from 1 (`2`), or a set of \
             CPU numbers (`0-3`, `0,2`)",
            value.escape_debug()
        )
    };
    let number = |part: &str| {
        (!part.is_empty() && part.len() <= 5 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    if !value.contains([',', '-']) {
        return check_count(value, "a number of CPUs").map_err(|_| wrong());
    }
    for part in value.split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        match (number(low), number(high)) {
            (Some(low), Some(high)) if low <= high => {}
            _ => return Err(wrong()),
        }
    }
    Ok(())
}

/// Bytes with an optional unit (`512MiB`, `2GB`, `1073741824`), or a
/// share of the host's memory (`50%`), as LXD and Incus read
/// `limits.memory`; never 0.
fn check_memory(value: &str) -> Result<(), String> {
    const UNITS: &[&str] = &[
        "B", "kB", "MB", "GB", "TB", "PB", "EB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
    ];
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = value.split_at(digits);
    let amount = (number.len() <= 18)
        .then(|| number.parse::<u64>().ok())
        .flatten();
    let fits = match (amount, unit) {
        (Some(n), "%") => (1..=100).contains(&n),
        (Some(n), unit) => n >= 1 && (unit.is_empty() || UNITS.contains(&unit)),
        (None, _) => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a memory limit: expected a size with a unit (`512MiB`, `2GB`; units \
             B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, ...), or a percentage of the host's \
             memory from 1% to 100%",
            value.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(cpu: Option<&str>, memory: Option<&str>, processes: Option<&str>) -> ResourceLimits {
        ResourceLimits {
            cpu: cpu.map(Into::into),
            memory: memory.map(Into::into),
            processes: processes.map(Into::into),
        }
    }

    fn check(limits: &ResourceLimits, env: &[(&str, &str)]) -> Result<(), Refusal> {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        validate(&Section {
            setup: &None,
            start: &None,
            limits,
            env: &env,
        })
    }

    #[test]
    fn limits_are_what_lxd_takes() {
        for cpu in ["1", "2", "64", "0-3", "0,2", "1,4-5", "0-0"] {
            assert!(check(&limits(Some(cpu), None, None), &[]).is_ok(), "{cpu}");
        }
        for cpu in [
            "0", "", "1.5", "-1", "2 ", "a", "3-1", "0-", ",", "02", "1,,2",
        ] {
            let refusal = check(&limits(Some(cpu), None, None), &[]).unwrap_err();
            assert_eq!(refusal.keys, ["limits", "cpu"], "{cpu}");
        }
        for memory in ["512MiB", "2GB", "1073741824", "50%", "100%", "1kB", "3EiB"] {
            assert!(
                check(&limits(None, Some(memory), None), &[]).is_ok(),
                "{memory}"
            );
        }
        for memory in [
            "0", "0MiB", "2 GB", "2gb", "1.5GiB", "101%", "0%", "%", "GiB", "-1MiB", "1MiB;", "",
        ] {
            let refusal = check(&limits(None, Some(memory), None), &[]).unwrap_err();
            assert_eq!(refusal.keys, ["limits", "memory"], "{memory}");
        }
        assert!(check(&limits(None, None, Some("500")), &[]).is_ok());
        for processes in ["0", "-5", "5x", "", "1e3", "007"] {
            assert!(
                check(&limits(None, None, Some(processes)), &[]).is_err(),
                "{processes}"
            );
        }
    }

    #[test]
    fn env_names_are_portable_and_values_one_line() {
        let none = ResourceLimits::default();
        assert!(
            check(
                &none,
                &[("DATABASE_URL", "postgres://u:p@db/x?a=b c"), ("_X1", "")]
            )
            .is_ok()
        );
        for name in ["1X", "A-B", "A B", "", "A=B", "é"] {
            let refusal = check(&none, &[(name, "v")]).unwrap_err();
            assert_eq!(refusal.keys, ["env", name]);
        }
        assert!(check(&none, &[("A", "line\nbreak")]).is_err());
        assert!(check(&none, &[("A", "\u{1b}[2J")]).is_err());
    }

    #[test]
    fn empty_commands_are_refused() {
        let hooks = Some(Commands(vec!["make".into(), "  ".into()]));
        let refusal = validate(&Section {
            setup: &hooks,
            start: &None,
            limits: &ResourceLimits::default(),
            env: &BTreeMap::new(),
        })
        .unwrap_err();
        assert_eq!(refusal.keys, ["setup"]);
    }

    #[test]
    fn managed_keys_are_the_limits_and_the_environment_only() {
        for key in [
            "limits.cpu",
            "limits.memory",
            "limits.processes",
            "environment.A_1",
        ] {
            assert!(is_managed_key(key), "{key}");
        }
        for key in [
            "limits.cpu.allowance",
            "security.privileged",
            "raw.lxc",
            "environment.",
            "environment.A-B",
            "user.lxdev.project",
        ] {
            assert!(!is_managed_key(key), "{key}");
        }
    }
}
