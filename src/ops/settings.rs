//! Making an instance's limits and environment the file's
//! (`config::devenv`): `up` of an existing container, and a restore, which
//! brings back the snapshot's. Only the keys a file may set are compared
//! and changed; the sets go in one change.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::runtime::Runtime;

/// What makes `current` (an instance's settings) `wanted` (the file's),
/// as `up` says it, or `None` when they agree.
pub fn changes(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Option<String> {
    let changes = diff(current, wanted);
    (!changes.is_empty()).then(|| describe(current, &changes))
}

/// Gives `instance` the settings `wanted`, from `current`.
pub fn apply(
    runtime: &dyn Runtime,
    instance: &str,
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Result<()> {
    let changes = diff(current, wanted);
    if changes.is_empty() {
        return Ok(());
    }
    runtime.configure(instance, &changes)
}

/// What makes an instance's settings (`current`) the file's (`wanted`):
/// each key to set (`Some`) or unset (`None`), in key order.
fn diff(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Vec<(String, Option<String>)> {
    let set = wanted
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), Some(value.clone())));
    let unset = current
        .keys()
        .filter(|key| !wanted.contains_key(*key))
        .map(|key| (key.clone(), None));
    let mut changes: Vec<(String, Option<String>)> = set.chain(unset).collect();
    changes.sort();
    changes
}

/// The changes as `up` says them: a limit with its old and new value, an
/// environment variable by name only (its value may be a secret).
fn describe(current: &BTreeMap<String, String>, changes: &[(String, Option<String>)]) -> String {
    changes
        .iter()
        .map(|(key, value)| {
            let env = key.starts_with(crate::config::devenv::ENV_PREFIX);
            match (current.get(key), value, env) {
                (None, Some(_), true) => format!("{key} (new)"),
                (Some(_), Some(_), true) => format!("{key} (changed)"),
                (None, Some(new), false) => format!("{key} {new} (was unset)"),
                (Some(old), Some(new), false) => format!("{key} {new} (was {old})"),
                (_, None, _) => format!("{key} removed"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn the_changes_set_what_differs_and_unset_what_is_gone() {
        let current = map(&[
            ("limits.memory", "1GiB"),
            ("limits.cpu", "2"),
            ("environment.OLD", "x"),
            ("environment.SAME", "s"),
        ]);
        let wanted = map(&[
            ("limits.memory", "2GiB"),
            ("limits.cpu", "2"),
            ("environment.SAME", "s"),
            ("environment.NEW", "secret"),
        ]);
        let changes = diff(&current, &wanted);
        assert_eq!(
            changes,
            [
                ("environment.NEW".to_owned(), Some("secret".to_owned())),
                ("environment.OLD".to_owned(), None),
                ("limits.memory".to_owned(), Some("2GiB".to_owned())),
            ]
        );
        let said = describe(&current, &changes);
        assert_eq!(
            said,
            "environment.NEW (new), environment.OLD removed, limits.memory 2GiB (was 1GiB)"
        );
        assert!(!said.contains("secret"));
        assert!(diff(&wanted, &wanted).is_empty());
    }
}
