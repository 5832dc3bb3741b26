//! Names a client would read as options, paths or a second argument: every
//! command that passes one to the runtime refuses it (exit 2, naming the
//! value) before anything is reserved or run. `lxd.rs` runs the same table
//! against real LXD through a recording `lxc` shim.

use predicates::prelude::*;

use crate::support::Project;

/// Snapshot names that must never reach a runtime: `..` and `.` are
/// directories to LXD's storage (`..` damaged a dir pool), a leading `-` is
/// an option to `lxc` (`--reuse` made an untracked `snap0`), `/` splits
/// `INSTANCE/SNAPSHOT`, whitespace and newlines split lines and words.
pub const BAD_SNAPSHOTS: &[&str] = &["..", ".", "-x", "--reuse", "a/b", "a b", "a\nb"];

/// Image names that must never reach a runtime: each leading-`-` one is an
/// option to `lxc init` (`--empty` makes an instance from nothing,
/// `-c...` sets a config key).
pub const BAD_IMAGES: &[&str] = &["-csecurity.privileged=true", "--empty", "a b", "a\nb"];

/// `--target` values that must never reach a runtime: options to
/// `lxc init`/`lxc copy`, or not a member name at all.
pub const BAD_TARGETS: &[&str] = &["-x", "--force", "@-x", "m1 --empty", "a\nb"];

/// Each hostile command line, against container `web`, with the bad value
/// it carries. `--` (or `--opt=VALUE`) keeps lxdev's own parser from taking
/// a leading `-` as one of its options, as a user would type it.
pub fn hostile_commands() -> Vec<(Vec<String>, &'static str)> {
    let mut commands = Vec::new();
    for &snap in BAD_SNAPSHOTS {
        for verb in ["create", "delete", "restore"] {
            commands.push((words(&["snapshot", verb, "web", "--", snap]), snap));
        }
        let option = format!("--snapshot={snap}");
        commands.push((words(&["container", "clone", "web", "copy", &option]), snap));
    }
    for &image in BAD_IMAGES {
        commands.push((words(&["container", "create", "y", "--", image]), image));
    }
    // A cluster member a client would read as an option (`--target=VALUE`
    // is how a user gets a leading `-` past lxdev's own parser).
    for &target in BAD_TARGETS {
        let option = format!("--target={target}");
        commands.push((
            words(&["container", "create", "y", "busybox", &option]),
            target,
        ));
        commands.push((
            words(&["container", "clone", "web", "copy", &option]),
            target,
        ));
    }
    commands
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// How lxdev shows a value in an error (`escape_debug`, so a newline reads
/// `\n`).
pub fn shown(value: &str) -> String {
    value.escape_debug().to_string()
}

#[test]
fn hostile_names_are_refused_before_anything_is_reserved_or_run() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "web", "clean"])
        .assert()
        .success();
    let before = project.bytes();
    let instances = project.runtime_instances();
    assert_eq!(instances, ["demo-web"]);

    for (args, bad) in hostile_commands() {
        project
            .lxdev(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("`{}`", shown(bad))));
        assert_eq!(
            String::from_utf8_lossy(&project.bytes()),
            String::from_utf8_lossy(&before),
            "{args:?} must leave the file alone"
        );
        assert_eq!(project.runtime_instances(), instances, "{args:?}");
        assert_eq!(project.runtime_snapshots("demo-web"), ["clean"], "{args:?}");
    }
    // The good snapshot still works after all that.
    project
        .lxdev(["snapshot", "restore", "web", "clean"])
        .assert()
        .success();
    assert_eq!(project.runtime_snapshots("demo-web"), ["clean"]);
}

/// lxc-dev-manager's snapshot names keep loading and working.
#[test]
fn existing_snapshot_names_still_load_and_work() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox", "--no-provision"])
        .assert()
        .success();
    let names = ["initial-state", "before-upgrade", "v1.2", "pre_deploy"];
    for name in names {
        project
            .lxdev(["snapshot", "create", "web", name])
            .assert()
            .success();
    }
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    assert_eq!(project.runtime_snapshots("demo-web"), sorted);
    let recorded: Vec<String> = project.config().containers["web"]
        .snapshots
        .keys()
        .cloned()
        .collect();
    assert_eq!(recorded, sorted);
    project
        .lxdev(["snapshot", "restore", "web", "v1.2"])
        .assert()
        .success();
}

/// A file holding a snapshot name the runtime could take for an option is
/// refused as a whole (exit 65) rather than passed on later.
#[test]
fn a_file_with_a_hostile_snapshot_name_is_invalid() {
    let project = Project::with_yaml(
        "project: demo\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    \
         snapshots:\n      \"--reuse\":\n        description: by hand\n",
    );
    let before = project.bytes();
    project
        .lxdev(["snapshot", "list", "web"])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("`--reuse`"));
    assert_eq!(project.bytes(), before);
}

/// A well-formed `--target` on the fake runtime, which has no clusters, is
/// refused (exit 2) before anything is reserved, naming what to drop.
#[test]
fn a_target_on_the_fake_runtime_is_refused() {
    let project = Project::new();
    let before = project.bytes();
    project
        .lxdev(["container", "create", "web", "busybox", "--target", "node2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--target"));
    assert_eq!(project.bytes(), before);
    assert!(project.runtime_instances().is_empty());
}
