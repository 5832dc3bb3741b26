use predicates::prelude::*;

use crate::support::{Project, live_operation};
use lxdev::config::model::{ContainerState, SnapshotState};

fn project_with_dev() -> Project {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    project
}

#[test]
fn create_list_restore_delete() {
    let project = project_with_dev();
    project
        .lxdev(["snapshot", "create", "dev", "clean", "-d", "fresh install"])
        .assert()
        .success();
    let snap = &project.config().containers["dev"].snapshots["clean"];
    assert_eq!(snap.description.as_deref(), Some("fresh install"));
    assert_eq!(snap.state, None);
    assert!(snap.created_at.is_some());
    assert_eq!(project.runtime_snapshots("demo-dev"), ["clean"]);

    project
        .lxdev(["snapshot", "list", "dev"])
        .assert()
        .success()
        .stdout(predicate::str::contains("clean").and(predicate::str::contains("fresh install")));

    project
        .lxdev(["snapshot", "restore", "dev", "clean"])
        .assert()
        .success();
    let config = project.config();
    assert_eq!(config.containers["dev"].state, None);
    assert_eq!(config.containers["dev"].snapshots["clean"].state, None);

    project
        .lxdev(["snapshot", "delete", "dev", "clean"])
        .assert()
        .success();
    assert!(project.config().containers["dev"].snapshots.is_empty());
    assert!(project.runtime_snapshots("demo-dev").is_empty());
}

#[test]
fn descriptions_that_look_like_other_types_stay_strings() {
    let project = project_with_dev();
    for (i, text) in ["no", "on", "007", "1e3", "1.30", "~", "a: b # c"]
        .iter()
        .enumerate()
    {
        let snap = format!("s{i}");
        project
            .lxdev(["snapshot", "create", "dev", &snap, "-d", text])
            .assert()
            .success();
        let config = project.config();
        assert_eq!(
            config.containers["dev"].snapshots[&snap]
                .description
                .as_deref(),
            Some(*text)
        );
    }
}

#[test]
fn unknown_container_or_snapshot_is_not_found_and_changes_nothing() {
    let project = project_with_dev();
    let before = project.bytes();
    project
        .lxdev(["snapshot", "create", "ghost", "s1"])
        .assert()
        .code(3);
    project
        .lxdev(["snapshot", "delete", "dev", "nosnap"])
        .assert()
        .code(3);
    project
        .lxdev(["snapshot", "restore", "dev", "nosnap"])
        .assert()
        .code(3);
    project
        .lxdev(["snapshot", "list", "ghost"])
        .assert()
        .code(3);
    assert_eq!(project.bytes(), before);
}

#[test]
fn duplicate_snapshot_is_a_conflict() {
    let project = project_with_dev();
    project
        .lxdev(["snapshot", "create", "dev", "s1"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["snapshot", "create", "dev", "s1"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("already has a snapshot"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn invalid_snapshot_names_are_usage_errors() {
    let project = project_with_dev();
    let before = project.bytes();
    for name in ["", "a/b", "has space"] {
        project
            .lxdev(["snapshot", "create", "dev", name])
            .assert()
            .code(2);
    }
    assert_eq!(project.bytes(), before);
}

#[test]
fn restore_while_a_snapshot_is_taken_is_try_again() {
    let project = project_with_dev();
    project
        .lxdev(["snapshot", "create", "dev", "old"])
        .assert()
        .success();
    let text = project.yaml();
    let op = live_operation("snapshot_create", "        ");
    let text = text.replace(
        "    snapshots:\n",
        &format!("    snapshots:\n      taking:\n        created_at: \"2026-01-01T00:00:00Z\"\n        state: creating\n{op}"),
    );
    std::fs::write(project.config_path(), &text).unwrap();
    assert!(
        project.config().containers["dev"]
            .snapshots
            .contains_key("taking")
    );
    project
        .lxdev(["snapshot", "restore", "dev", "old"])
        .assert()
        .code(75)
        .stderr(
            predicate::str::contains("taking").and(predicate::str::contains("snapshot_create")),
        );
    assert_eq!(project.yaml(), text);
}

#[test]
fn a_failed_snapshot_is_rolled_back_when_the_runtime_has_none() {
    let project = project_with_dev();
    let before = project.bytes();
    project
        .lxdev(["snapshot", "create", "dev", "s1"])
        .env("LXDEV_FAKE_FAIL", "snapshot_create:dev/s1")
        .assert()
        .code(1);
    assert_eq!(project.bytes(), before);
    project
        .lxdev(["snapshot", "create", "dev", "s2"])
        .env("LXDEV_FAKE_FAIL", "snapshot_create:dev/s2:after")
        .assert()
        .code(1);
    let s2 = &project.config().containers["dev"].snapshots["s2"];
    assert_eq!(s2.state, Some(SnapshotState::Failed));
    assert_eq!(project.runtime_snapshots("demo-dev"), ["s2"]);
}

#[test]
fn a_restore_that_failed_part_way_marks_the_container_failed() {
    let project = project_with_dev();
    project
        .lxdev(["snapshot", "create", "dev", "s1"])
        .assert()
        .success();
    // `:after`: the runtime did the work, then failed; a refusal before any
    // work leaves the container as it was (tests/cli/safety.rs).
    project
        .lxdev(["snapshot", "restore", "dev", "s1"])
        .env("LXDEV_FAKE_FAIL", "snapshot_restore:dev/s1:after")
        .assert()
        .code(1);
    let dev = &project.config().containers["dev"];
    assert_eq!(dev.state, Some(ContainerState::Failed));
    assert!(dev.error.as_deref().unwrap().contains("s1"));
    assert_eq!(dev.snapshots["s1"].state, None);
}

#[test]
fn another_users_snapshots_need_force() {
    let project = Project::new();
    project.append_containers("  theirs:\n    image: busybox\n    owner: someone-else\n    snapshots:\n      s1:\n        created_at: \"2026-01-01T00:00:00Z\"\n");
    std::fs::create_dir_all(
        project
            .dir()
            .join(".lxdev/fake/instances/demo-theirs/snapshots/s1"),
    )
    .unwrap();
    let before = project.bytes();
    project
        .lxdev(["snapshot", "restore", "theirs", "s1"])
        .assert()
        .code(4);
    project
        .lxdev(["snapshot", "delete", "theirs", "s1"])
        .assert()
        .code(4);
    assert_eq!(project.bytes(), before);
    project
        .lxdev(["snapshot", "delete", "theirs", "s1", "--force"])
        .assert()
        .success();
    assert!(project.config().containers["theirs"].snapshots.is_empty());
}

#[test]
fn a_failed_snapshot_cannot_be_cloned_or_restored() {
    let project = project_with_dev();
    project
        .lxdev(["snapshot", "create", "dev", "s1"])
        .env("LXDEV_FAKE_FAIL", "snapshot_create:dev/s1:after")
        .assert()
        .code(1);
    let before = project.bytes();
    for args in [
        &["container", "clone", "dev", "copy", "--snapshot", "s1"][..],
        &["snapshot", "restore", "dev", "s1"][..],
    ] {
        project
            .lxdev(args)
            .assert()
            .code(4)
            .stderr(predicate::str::contains("failed state"));
    }
    assert_eq!(project.bytes(), before);
    // Deleting it is how it is cleaned up.
    project
        .lxdev(["snapshot", "delete", "dev", "s1"])
        .assert()
        .success();
    assert!(project.config().containers["dev"].snapshots.is_empty());
}
