//! Which project, container and snapshot names are allowed, and why.
//!
//! Runtime instance names are `<project>-<container>` (lxc-dev-manager's
//! convention) and LXD requires instance names to be valid hostnames, so a
//! container name must be a hostname label (RFC 1123: letters, digits and
//! `-`, not starting or ending with `-`) and the joined name at most 63
//! characters.

/// Checks a project name: ASCII letters, digits, `-`, `_` (lxc-dev-manager's rule).
pub fn validate_project(name: &str) -> Result<(), String> {
    todo!("{name}")
}

/// Checks a container name on its own and joined with the project name.
pub fn validate_container(project: &str, name: &str) -> Result<(), String> {
    todo!("{project} {name}")
}

/// Checks a snapshot name: non-empty, at most 63 characters, no `/`,
/// no whitespace or control characters.
pub fn validate_snapshot(name: &str) -> Result<(), String> {
    todo!("{name}")
}

/// The runtime's name for a container.
pub fn instance_name(project: &str, container: &str) -> String {
    format!("{project}-{container}")
}
