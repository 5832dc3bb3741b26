//! Which project, container and snapshot names are allowed, and why.
//!
//! Runtime instance names are `<project>-<container>` (lxc-dev-manager's
//! convention) and LXD requires instance names to be valid hostnames, so a
//! container name must be a hostname label (RFC 1123: letters, digits and
//! `-`, not starting or ending with `-`) and the joined name at most 63
//! characters.
//!
//! LXD's own rule is stricter than RFC 1123 in one way: an instance name
//! must not start with a digit ("Instance name requirements" in the LXD and
//! Incus docs). Since the project name comes first in the instance name,
//! that rule, and the ban on `_`, are checked against the project when a
//! container is validated; `validate_project` itself keeps lxc-dev-manager's
//! looser rule so that existing files still load.
//!
//! Every error is one sentence naming the value and the rule it broke.

/// Longest hostname label (RFC 1035 §2.3.4) and LXD instance name.
const MAX_LABEL: usize = 63;

/// Checks a project name: ASCII letters, digits, `-`, `_` (lxc-dev-manager's rule).
pub fn validate_project(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("project name is empty: use letters, digits, `-` and `_`".to_string());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "project name `{}` is invalid: {} is not allowed; use letters, digits, `-` and `_`",
            name.escape_debug(),
            describe_char(bad)
        ));
    }
    Ok(())
}

/// Checks a container name on its own and joined with the project name.
pub fn validate_container(project: &str, name: &str) -> Result<(), String> {
    let instance = instance_name(project, name);
    let shown = name.escape_debug();
    if name.is_empty() {
        return Err("container name is empty: use letters, digits and `-`".to_string());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "container name `{shown}` is invalid: {} is not allowed; use letters, digits and `-` \
             (it becomes part of the hostname `{}`)",
            describe_char(bad),
            instance.escape_debug()
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!(
            "container name `{shown}` is invalid: it must not start or end with `-` \
             (hostname labels cannot, RFC 1123)"
        ));
    }
    // `123` reads as a number to YAML and to many tools that take a host
    // name or an address; RFC 1123 §2.1 asks for labels that cannot be
    // mistaken for numbers, so demand at least one letter or `-`.
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "container name `{shown}` is invalid: it is all digits, which reads as a number \
             rather than a host name; add a letter (e.g. `c{shown}`)"
        ));
    }
    if name.len() > MAX_LABEL {
        return Err(format!(
            "container name `{shown}` is too long: {} characters, at most {MAX_LABEL} allowed",
            name.len()
        ));
    }
    // The project part of the instance name must obey the same hostname
    // rules; lxc-dev-manager allows `_` in project names, LXD does not.
    if let Some(bad) = project
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "container `{shown}` cannot be created in project `{}`: the instance name `{}` \
             contains {}, and LXD instance names allow only letters, digits and `-`; \
             rename the project",
            project.escape_debug(),
            instance.escape_debug(),
            describe_char(bad)
        ));
    }
    if !project.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "container `{shown}` cannot be created in project `{}`: the instance name `{}` \
             must start with a letter (LXD rejects names starting with a digit or `-`); \
             rename the project",
            project.escape_debug(),
            instance.escape_debug()
        ));
    }
    if instance.len() > MAX_LABEL {
        return Err(format!(
            "container name `{shown}` is too long for project `{project}`: the instance name \
             `{instance}` has {} characters, at most {MAX_LABEL} allowed; use at most {} \
             characters",
            instance.len(),
            MAX_LABEL.saturating_sub(project.len() + 1)
        ));
    }
    Ok(())
}

/// Checks a snapshot name: ASCII letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit, at most 63 characters.
///
/// Strict because the name reaches the runtime's client and its storage:
/// `..` and `.` are directories to LXD's `dir` pool (a snapshot named `..`
/// deleted the pool's `containers-snapshots`), a leading `-` is an option
/// to `lxc snapshot` (`--reuse` made an untracked `snap0`), `/` separates
/// instance and snapshot in `INSTANCE/SNAPSHOT`. lxc-dev-manager's names
/// (`initial-state`, `before-upgrade`, `v1.2`, `pre_deploy`) all pass.
pub fn validate_snapshot(name: &str) -> Result<(), String> {
    const RULE: &str = "use letters, digits, `-`, `_` and `.`, starting with a letter or digit";
    if name.is_empty() {
        return Err(format!("snapshot name is empty: {RULE}"));
    }
    let shown = name.escape_debug();
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        let why = if bad == '/' {
            " (it separates container and snapshot in `CONTAINER/SNAPSHOT`)"
        } else {
            ""
        };
        return Err(format!(
            "snapshot name `{shown}` is invalid: {} is not allowed{why}; {RULE}",
            describe_char(bad)
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "snapshot name `{shown}` is invalid: it must start with a letter or digit \
             (a leading `-` reads as an option, `.` and `..` as directories)"
        ));
    }
    if name.len() > MAX_LABEL {
        return Err(format!(
            "snapshot name `{shown}` is too long: {} characters, at most {MAX_LABEL} allowed",
            name.len()
        ));
    }
    Ok(())
}

/// Checks an image name as given to `container create`: not empty, no
/// leading `-` (`lxc init --empty` or `-c KEY=VALUE` would be options), no
/// whitespace or control characters. Anything else is left to the runtime,
/// since images are written many ways (`busybox`, `images:debian/12`, a
/// fingerprint).
pub fn validate_image(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err("the image name is empty".to_string());
    }
    let shown = image.escape_debug();
    if let Some(bad) = image.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "image name `{shown}` is invalid: {} is not allowed",
            describe_char(bad)
        ));
    }
    if image.starts_with('-') {
        return Err(format!(
            "image name `{shown}` is invalid: it must not start with `-` (it would read as an \
             option to the runtime's client)"
        ));
    }
    Ok(())
}

/// Checks a user name for inside a container (the dev user, `-u USER`):
/// what `useradd` and busybox `adduser` accept everywhere, ASCII letters,
/// digits, `_`, `-` and `.`, starting with a letter or `_`, at most 32
/// characters. It is handed to `useradd` and `su`, so it must never read as
/// an option.
pub fn validate_user(name: &str) -> Result<(), String> {
    check_word(
        "user name",
        name,
        32,
        |c| c.is_ascii_alphabetic() || c == '_',
        "use at most 32 letters, digits, `_`, `-` and `.`, starting with a letter or `_`",
    )
}

/// Checks an image alias lxdev gives an image it publishes (`image create`,
/// `image rename`): letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit, at most 63 characters. No `:` (a remote), no `/`.
pub fn validate_alias(alias: &str) -> Result<(), String> {
    check_word(
        "image alias",
        alias,
        MAX_LABEL,
        |c| c.is_ascii_alphanumeric(),
        LABEL_RULE,
    )
}

/// Checks a runtime instance name as the backends receive it
/// (`<project>-<container>`): LXD's rule, letters, digits and `-`, starting
/// with a letter, not ending with `-`, at most 63 characters. The backends
/// check it themselves so no caller can hand the client an option or a path.
pub fn validate_instance(name: &str) -> Result<(), String> {
    let shown = name.escape_debug();
    let valid = name.len() <= MAX_LABEL
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "instance name `{shown}` is invalid: use at most {MAX_LABEL} letters, digits and `-`, \
             starting with a letter and not ending with `-`"
        ))
    }
}

/// Checks the value of `runtime_project:`, `remote:` or `storage:` (named
/// by `key`), which reach the client as `--project=NAME`, `NAME:INSTANCE`
/// and `--storage=POOL`: letters,
/// digits, `-`, `_` and `.`, starting with a letter or digit, at most 63
/// characters. Stricter than LXD (which allows any project name without
/// `/`), so no value can read as an option, a path or a second remote.
pub fn validate_placement(key: &str, value: &str) -> Result<(), String> {
    check_word(
        key,
        value,
        MAX_LABEL,
        |c| c.is_ascii_alphanumeric(),
        LABEL_RULE,
    )
}

/// Checks a device name (`mount --name`, keys under `devices:`): letters,
/// digits, `-`, `_` and `.`, starting with a letter, at most 63 characters
/// (LXD's device names may hold more, but this is what reaches the client
/// as an argument, so it must never read as an option or a path).
pub fn validate_device(name: &str) -> Result<(), String> {
    check_word(
        "device name",
        name,
        MAX_LABEL,
        |c| c.is_ascii_alphabetic(),
        "use at most 63 letters, digits, `-`, `_` and `.`, starting with a letter",
    )
}

/// Checks `--target`'s value, a cluster member (`node2`) or, with `@`, a
/// cluster group (`@gpu`); it reaches the client as `--target=VALUE`. The
/// rest follows [`validate_placement`], so nothing starting with `-` gets
/// through.
pub fn validate_target(value: &str) -> Result<(), String> {
    let member = value.strip_prefix('@').unwrap_or(value);
    validate_placement("--target", member).map_err(|_| {
        format!(
            "--target `{}` is invalid: name a cluster member, or `@` and a cluster group; \
             {LABEL_RULE}",
            value.escape_debug()
        )
    })
}

/// How [`validate_alias`] and [`validate_placement`] word their rule.
const LABEL_RULE: &str =
    "use at most 63 letters, digits, `-`, `_` and `.`, starting with a letter or digit";

/// The one shape of the short names lxdev hands a client as they are: at
/// most `max` bytes, a first character `first` allows, the rest ASCII
/// letters, digits, `-`, `_` and `.`. `rule` words it for the error, which
/// names `what` and the value.
fn check_word(
    what: &str,
    value: &str,
    max: usize,
    first: fn(char) -> bool,
    rule: &str,
) -> Result<(), String> {
    let valid = value.len() <= max
        && value.starts_with(first)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{what} `{}` is invalid: {rule}",
            value.escape_debug()
        ))
    }
}

/// A name a runtime call carries, for the backends' one check before they
/// run anything.
#[derive(Debug, Clone, Copy)]
pub enum RuntimeName<'a> {
    Instance(&'a str),
    Snapshot(&'a str),
    Image(&'a str),
    User(&'a str),
    /// An image alias lxdev sets (see [`validate_alias`]).
    Alias(&'a str),
    Device(&'a str),
}

/// Checks every name, reporting the first that fails.
pub fn validate_runtime_names(names: &[RuntimeName<'_>]) -> Result<(), String> {
    names.iter().try_for_each(|name| match *name {
        RuntimeName::Instance(name) => validate_instance(name),
        RuntimeName::Snapshot(name) => validate_snapshot(name),
        RuntimeName::Image(name) => validate_image(name),
        RuntimeName::User(name) => validate_user(name),
        RuntimeName::Alias(name) => validate_alias(name),
        RuntimeName::Device(name) => validate_device(name),
    })
}

/// The runtime's name for a container.
pub fn instance_name(project: &str, container: &str) -> String {
    format!("{project}-{container}")
}

/// How an offending character is named in an error: visible ones quoted,
/// invisible ones by their code point so the user can find them.
fn describe_char(c: char) -> String {
    if c == ' ' {
        "a space".to_string()
    } else if c.is_whitespace() || c.is_control() {
        format!("the character U+{:04X}", u32::from(c))
    } else if c == '`' {
        "the character '`'".to_string()
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_member_or_a_group_never_an_option() {
        for ok in ["node2", "lxd-m1.example", "@gpu", "@default"] {
            assert_eq!(validate_target(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "@", "-x", "--force", "@-x", "@@g", "a b", "m1:x", "a/b", "a\nb",
        ] {
            let why = validate_target(bad).unwrap_err();
            assert!(
                why.starts_with(&format!("--target `{}` is invalid", bad.escape_debug())),
                "{bad:?}: {why}"
            );
        }
    }

    #[test]
    fn project_accepts_letters_digits_dash_underscore() {
        for ok in ["webapp", "web-app", "web_app", "W3b", "1", "_", "-"] {
            assert_eq!(validate_project(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn project_rejects_empty_and_other_characters() {
        assert!(validate_project("").unwrap_err().contains("empty"));
        let err = validate_project("web app").unwrap_err();
        assert!(err.contains("a space"), "{err}");
        let err = validate_project("web.app").unwrap_err();
        assert!(err.contains("`.`") && err.contains("`web.app`"), "{err}");
        assert!(validate_project("wéb").is_err());
        let err = validate_project("a\tb").unwrap_err();
        assert!(err.contains("U+0009") && err.contains("a\\tb"), "{err}");
    }

    #[test]
    fn container_accepts_hostname_labels() {
        for ok in ["dev", "Dev", "dev-1", "a", "1a", "a1", "x-y-z", "web2"] {
            assert_eq!(validate_container("web", ok), Ok(()), "{ok}");
        }
        let longest = "a".repeat(63 - "web-".len());
        assert_eq!(validate_container("web", &longest), Ok(()));
    }

    #[test]
    fn container_rejects_bad_characters_naming_the_hostname() {
        let err = validate_container("web", "Dev_1").unwrap_err();
        assert!(err.contains("`_`"), "{err}");
        assert!(err.contains("letters, digits and `-`"), "{err}");
        assert!(err.contains("`web-Dev_1`"), "{err}");
        assert!(validate_container("web", "dev.1").is_err());
        assert!(validate_container("web", "dév").is_err());
        assert!(
            validate_container("web", "a b")
                .unwrap_err()
                .contains("a space")
        );
        assert!(validate_container("web", "a/b").is_err());
    }

    #[test]
    fn container_rejects_empty() {
        assert!(validate_container("web", "").unwrap_err().contains("empty"));
    }

    #[test]
    fn container_rejects_leading_or_trailing_dash() {
        for bad in ["-dev", "dev-", "-"] {
            let err = validate_container("web", bad).unwrap_err();
            assert!(err.contains("start or end with `-`"), "{bad}: {err}");
        }
    }

    #[test]
    fn container_rejects_all_digits() {
        let err = validate_container("web", "123").unwrap_err();
        assert!(err.contains("all digits"), "{err}");
        assert!(err.contains("`c123`"), "{err}");
        assert_eq!(validate_container("web", "1-2"), Ok(()));
    }

    #[test]
    fn container_rejects_long_label_and_long_instance_name() {
        let err = validate_container("w", &"a".repeat(64)).unwrap_err();
        assert!(err.contains("64 characters"), "{err}");
        let project = "p".repeat(20);
        let name = "a".repeat(63 - 20); // joined: 20 + 1 + 43 = 64
        let err = validate_container(&project, &name).unwrap_err();
        assert!(err.contains("64 characters"), "{err}");
        assert!(err.contains("at most 42 characters"), "{err}");
        assert_eq!(validate_container(&project, &name[1..]), Ok(()));
    }

    #[test]
    fn container_rejects_projects_that_cannot_name_instances() {
        let err = validate_container("my_app", "dev").unwrap_err();
        assert!(err.contains("`my_app-dev`") && err.contains("`_`"), "{err}");
        let err = validate_container("1app", "dev").unwrap_err();
        assert!(err.contains("start with a letter"), "{err}");
        assert!(validate_container("-app", "dev").is_err());
    }

    #[test]
    fn snapshot_accepts_lxc_dev_manager_names() {
        for ok in [
            "clean",
            "initial-state",
            "before-upgrade",
            "v1.2",
            "pre_deploy",
            "snap_0",
            "2026-01-02",
            "a",
            "S.",
        ] {
            assert_eq!(validate_snapshot(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_snapshot(&"s".repeat(63)), Ok(()));
    }

    #[test]
    fn snapshot_rejects_names_a_client_or_a_file_system_would_misread() {
        assert!(validate_snapshot("").unwrap_err().contains("empty"));
        for bad in ["..", ".", "-x", "--reuse", ".hidden", "_a"] {
            let err = validate_snapshot(bad).unwrap_err();
            assert!(err.contains("start with a letter or digit"), "{bad}: {err}");
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
        let err = validate_snapshot("a/b").unwrap_err();
        assert!(
            err.contains("`/`") && err.contains("CONTAINER/SNAPSHOT"),
            "{err}"
        );
        assert!(validate_snapshot("a b").unwrap_err().contains("a space"));
        let err = validate_snapshot("a\nb").unwrap_err();
        assert!(err.contains("U+000A") && err.contains("`a\\nb`"), "{err}");
        assert!(validate_snapshot("a\0b").unwrap_err().contains("U+0000"));
        assert!(validate_snapshot("a\u{7f}").is_err());
        assert!(validate_snapshot("ünï").is_err());
        assert!(validate_snapshot("a\tb").is_err());
        let err = validate_snapshot(&"s".repeat(64)).unwrap_err();
        assert!(err.contains("64 characters"), "{err}");
    }

    #[test]
    fn image_rules() {
        for ok in ["busybox", "images:debian/12", "ubuntu:22.04", "a1b2c3"] {
            assert_eq!(validate_image(ok), Ok(()), "{ok}");
        }
        assert!(validate_image("").unwrap_err().contains("empty"));
        for bad in ["--empty", "-csecurity.privileged=true", "-"] {
            let err = validate_image(bad).unwrap_err();
            assert!(err.contains("must not start with `-`"), "{bad}: {err}");
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
        assert!(validate_image(" ").unwrap_err().contains("a space"));
        assert!(validate_image("a b").unwrap_err().contains("a space"));
        assert!(validate_image("a\nb").unwrap_err().contains("U+000A"));
        assert!(validate_image("a\0b").unwrap_err().contains("U+0000"));
    }

    #[test]
    fn instance_rules() {
        for ok in ["web-dev", "a", "w1-2"] {
            assert_eq!(validate_instance(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "-web", "--empty", "1web", "web-", "web_dev", "a/b", "a b", ".", "..",
        ] {
            let err = validate_instance(bad).unwrap_err();
            assert!(err.contains("instance name"), "{bad}: {err}");
        }
        assert!(validate_instance(&"a".repeat(64)).is_err());
    }

    #[test]
    fn runtime_names_report_the_first_bad_one() {
        use RuntimeName::{Image, Instance, Snapshot};
        assert_eq!(
            validate_runtime_names(&[Instance("web-dev"), Snapshot("s1"), Image("busybox")]),
            Ok(())
        );
        let err = validate_runtime_names(&[Instance("web-dev"), Snapshot("--reuse")]).unwrap_err();
        assert!(err.contains("`--reuse`"), "{err}");
        let err = validate_runtime_names(&[Image("--empty"), Instance("web-y")]).unwrap_err();
        assert!(err.contains("`--empty`"), "{err}");
    }

    #[test]
    fn instance_name_joins_with_dash() {
        assert_eq!(instance_name("web", "dev"), "web-dev");
    }
}
