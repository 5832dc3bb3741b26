use predicates::prelude::*;

use crate::support::{Project, dead_operation, live_operation};
use lxdev::config::model::ContainerState;

#[test]
fn create_records_the_entry_and_the_runtime_instance() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success()
        .stdout(predicate::str::contains("demo-dev"));
    let config = project.config();
    let dev = &config.containers["dev"];
    assert_eq!(dev.image, "busybox");
    assert_eq!(dev.state, None, "ready entries carry no state");
    assert_eq!(dev.operation, None);
    assert_eq!(
        dev.owner.as_deref(),
        Some(lxdev::process::current_user().as_str())
    );
    assert!(dev.created_at.is_some());
    assert_eq!(project.runtime_instances(), ["demo-dev"]);
}

#[test]
fn create_of_an_existing_name_is_a_conflict_and_changes_nothing() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["container", "create", "dev", "alpine", "--no-provision"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn invalid_names_are_usage_errors_and_change_nothing() {
    let project = Project::new();
    let before = project.bytes();
    let too_long = "x".repeat(60);
    for name in ["Dev_1", "-dev", "dev-", "a.b", "", too_long.as_str()] {
        project
            .lxdev(["container", "create", name, "busybox", "--no-provision"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("error:"));
    }
    assert_eq!(project.bytes(), before);
    assert!(project.runtime_instances().is_empty());
}

#[test]
fn a_failed_create_that_left_nothing_is_not_recorded() {
    let project = Project::new();
    let before = project.bytes();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .env("LXDEV_FAKE_FAIL", "create:dev")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("injected"));
    assert_eq!(project.bytes(), before, "the reservation is rolled back");
    assert!(project.runtime_instances().is_empty());
}

#[test]
fn a_failed_create_that_left_an_instance_is_recorded_as_failed() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .env("LXDEV_FAKE_FAIL", "create:dev:after")
        .assert()
        .code(1);
    let dev = &project.config().containers["dev"];
    assert_eq!(dev.state, Some(ContainerState::Failed));
    assert!(dev.error.as_deref().unwrap().contains("injected"));
    assert_eq!(dev.operation, None);
    assert_eq!(project.runtime_instances(), ["demo-dev"]);
    // A failed entry is cleaned up by remove.
    project
        .lxdev(["container", "remove", "dev"])
        .assert()
        .success();
    assert!(project.container_names().is_empty());
    assert!(project.runtime_instances().is_empty());
}

#[test]
fn clone_copies_without_snapshots_and_records_the_source() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "base", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "base", "s1"])
        .assert()
        .success();
    project
        .lxdev([
            "container",
            "clone",
            "base",
            "copy",
            "--no-initial-snapshot",
        ])
        .assert()
        .success();
    project
        .lxdev([
            "container",
            "clone",
            "base",
            "fromsnap",
            "--snapshot",
            "s1",
            "--no-initial-snapshot",
        ])
        .assert()
        .success();
    let config = project.config();
    assert_eq!(
        config.containers["copy"].cloned_from.as_deref(),
        Some("base")
    );
    assert_eq!(
        config.containers["fromsnap"].cloned_from.as_deref(),
        Some("base/s1")
    );
    assert_eq!(config.containers["copy"].image, "busybox");
    assert!(config.containers["copy"].snapshots.is_empty());
    assert_eq!(
        project.runtime_instances(),
        ["demo-base", "demo-copy", "demo-fromsnap"]
    );
    assert!(project.runtime_snapshots("demo-copy").is_empty());
}

#[test]
fn clone_of_unknown_source_or_snapshot_is_not_found() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "base", "busybox", "--no-provision"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["container", "clone", "nope", "copy"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nope"));
    project
        .lxdev(["container", "clone", "base", "copy", "--snapshot", "nosnap"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nosnap"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn remove_deletes_entry_and_instance() {
    let project = Project::new();
    for name in ["a", "b", "c"] {
        project
            .lxdev(["container", "create", name, "busybox", "--no-provision"])
            .assert()
            .success();
    }
    project
        .lxdev(["container", "remove", "a", "c"])
        .assert()
        .success();
    assert_eq!(project.container_names(), ["b"]);
    assert_eq!(project.runtime_instances(), ["demo-b"]);
}

#[test]
fn remove_with_one_unknown_name_removes_none() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "a", "busybox", "--no-provision"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["container", "remove", "a", "ghost"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("ghost"));
    assert_eq!(project.bytes(), before);
    assert_eq!(project.runtime_instances(), ["demo-a"]);
}

#[test]
fn another_users_container_needs_force() {
    let project = Project::new();
    project.append_containers("  theirs:\n    image: busybox\n    owner: someone-else\n");
    project.make_runtime_instance("demo-theirs");
    let before = project.bytes();
    project
        .lxdev(["container", "remove", "theirs"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("someone-else").and(predicate::str::contains("--force")));
    assert_eq!(project.bytes(), before);
    project
        .lxdev(["container", "remove", "theirs", "--force"])
        .assert()
        .success();
    assert!(project.container_names().is_empty());
}

#[test]
fn quota_counts_every_entry() {
    let project = Project::with_yaml(
        "project: demo\nruntime: fake\ndefaults:\n  max_containers: 2\ncontainers: {}\n",
    );
    project
        .lxdev(["container", "create", "a", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev(["container", "create", "b", "busybox", "--no-provision"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["container", "create", "c", "busybox", "--no-provision"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("max_containers is 2"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn a_name_in_flight_is_taken_and_names_the_pid() {
    let project = Project::new();
    let op = live_operation("create", "    ");
    project.append_containers(&format!(
        "  dev:\n    image: busybox\n    state: creating\n{op}"
    ));
    let before = project.bytes();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!(
            "pid {}",
            std::process::id()
        )));
    assert_eq!(project.bytes(), before);
}

#[test]
fn removing_a_container_in_flight_is_try_again() {
    let project = Project::new();
    let op = live_operation("create", "    ");
    project.append_containers(&format!(
        "  dev:\n    image: busybox\n    state: creating\n{op}"
    ));
    let before = project.bytes();
    project
        .lxdev(["container", "remove", "dev"])
        .assert()
        .code(75)
        .stderr(
            predicate::str::contains(format!("pid {}", std::process::id()))
                .and(predicate::str::contains("create"))
                .and(predicate::str::contains("ago")),
        );
    assert_eq!(project.bytes(), before);
}

#[test]
fn a_stale_operation_is_called_stale() {
    let project = Project::new();
    let op = dead_operation("create", "    ");
    project.append_containers(&format!(
        "  dev:\n    image: busybox\n    state: creating\n{op}"
    ));
    project
        .lxdev(["container", "remove", "dev"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains("stale").and(predicate::str::contains("doctor --fix")));
}

#[test]
fn removing_a_clone_source_mid_copy_is_try_again() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "base", "busybox", "--no-provision"])
        .assert()
        .success();
    let op = live_operation("clone", "    ");
    project.append_containers(&format!(
        "  copy:\n    image: busybox\n    cloned_from: base\n    state: creating\n{op}"
    ));
    project
        .lxdev(["container", "remove", "base"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains("cloned to `copy`"));
    assert_eq!(project.runtime_instances(), ["demo-base"]);
}

#[test]
fn list_shows_entries_with_runtime_status() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    project.append_containers("  ghost:\n    image: busybox\n");
    project.lxdev(["list"]).assert().success().stdout(
        predicate::str::contains("NAME")
            .and(predicate::str::contains("dev"))
            .and(predicate::str::contains("Running"))
            .and(predicate::str::contains("missing")),
    );
    let out = project
        .lxdev(["--json", "container", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json["containers"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let dev = rows.iter().find(|r| r["name"] == "dev").unwrap();
    assert_eq!(dev["instance"], "demo-dev");
    assert_eq!(dev["state"], "ready");
    assert_eq!(dev["status"], "Running");
}

#[test]
fn up_down_and_exec_use_the_runtime_without_touching_the_file() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    let before = project.bytes();
    project.lxdev(["down", "dev"]).assert().success();
    let status =
        std::fs::read_to_string(project.dir().join(".lxdev/fake/instances/demo-dev/status"))
            .unwrap();
    assert_eq!(status, "Stopped");
    project.lxdev(["up", "dev"]).assert().success();
    project
        .lxdev(["exec", "dev", "--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    project
        .lxdev(["exec", "ghost", "--", "true"])
        .assert()
        .code(3);
    assert_eq!(project.bytes(), before);
}

#[test]
fn create_over_an_unrecorded_runtime_instance_changes_nothing() {
    // The runtime refuses the taken name: lxdev made nothing, so it must
    // neither record the name as failed nor (later) remove that instance.
    let project = Project::new();
    project.make_runtime_instance("demo-dev");
    let before = project.bytes();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .code(4)
        .stderr(
            predicate::str::contains("already exists")
                .and(predicate::str::contains("not recorded")),
        );
    assert_eq!(project.bytes(), before);
    assert_eq!(project.runtime_instances(), ["demo-dev"]);
}

#[test]
fn shell_runs_the_runtimes_shell_and_passes_its_status_on() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    // The fake runtime's shell is `sh` in the instance's directory.
    project
        .lxdev(["shell", "dev"])
        .write_stdin("test -f image && exit 5\n")
        .assert()
        .code(5);
    project.lxdev(["shell", "ghost"]).assert().code(3);
}
