use predicates::prelude::*;

use lxdev::config::model::{ContainerState, Step};

use crate::support::{Project, dead_operation, live_operation};

#[test]
fn a_healthy_project_has_no_problems() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev(["doctor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no problems"));
}

#[test]
fn stale_creates_are_settled_by_what_the_runtime_has() {
    let project = Project::new();
    let op = dead_operation("create", "    ");
    project.append_containers(&format!(
        "  made:\n    image: busybox\n    state: creating\n{op}  lost:\n    image: busybox\n    state: creating\n{op}"
    ));
    project.make_runtime_instance("demo-made");
    let before = project.bytes();
    project
        .lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("made").and(predicate::str::contains("no longer runs")))
        .stderr(predicate::str::contains("doctor --fix"));
    assert_eq!(
        project.bytes(),
        before,
        "doctor without --fix changes nothing"
    );
    project.lxdev(["doctor", "--fix"]).assert().success();
    let config = project.config();
    assert_eq!(config.containers.keys().collect::<Vec<_>>(), ["made"]);
    assert_eq!(config.containers["made"].state, None);
    assert_eq!(config.containers["made"].operation, None);
    project.lxdev(["doctor"]).assert().success();
}

#[test]
fn live_operations_are_left_alone() {
    let project = Project::new();
    let op = live_operation("create", "    ");
    project.append_containers(&format!(
        "  busy:\n    image: busybox\n    state: creating\n{op}"
    ));
    let before = project.bytes();
    project
        .lxdev(["doctor", "--fix"])
        .assert()
        .success()
        .stdout(predicate::str::contains("left alone"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn orphans_missing_entries_and_temp_files_are_found_and_fixed() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "kept", "busybox", "--no-provision"])
        .assert()
        .success();
    project.append_containers("  gone:\n    image: busybox\n");
    project.make_runtime_instance("demo-orphan");
    std::fs::write(project.dir().join(".containers.yaml.tmp-abc123"), "partial").unwrap();
    project.lxdev(["--json", "doctor"]).assert().code(1).stdout(
        predicate::str::contains("missing_from_runtime")
            .and(predicate::str::contains("missing_from_config"))
            .and(predicate::str::contains("temp_file")),
    );
    // A ready entry the runtime lacks may be a checked-in one not created
    // here yet: --fix leaves it to the user, who removes it.
    project
        .lxdev(["doctor", "--fix"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("needs you").and(predicate::str::contains("`gone`")));
    assert_eq!(project.container_names(), ["gone", "kept", "orphan"]);
    assert!(project.temp_files().is_empty());
    project
        .lxdev(["container", "remove", "gone"])
        .assert()
        .success();
    assert_eq!(project.container_names(), ["kept", "orphan"]);
    project.lxdev(["doctor"]).assert().success();
}

#[test]
fn failed_entries_are_settled() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .env("LXDEV_FAKE_FAIL", "create:dev:after")
        .assert()
        .code(1);
    project
        .lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("failed"));
    project.lxdev(["doctor", "--fix"]).assert().success();
    assert_eq!(project.config().containers["dev"].state, None);
}

#[test]
fn stale_snapshot_operations_are_settled() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    let op = dead_operation("snapshot_create", "        ");
    let text = project.yaml().replace(
        "    created_at:",
        &format!("    snapshots:\n      half:\n        created_at: \"2026-01-01T00:00:00Z\"\n        state: creating\n{op}    created_at:"),
    );
    std::fs::write(project.config_path(), text).unwrap();
    assert!(
        project.config().containers["dev"]
            .snapshots
            .contains_key("half")
    );
    project.lxdev(["doctor", "--fix"]).assert().success();
    assert!(project.config().containers["dev"].snapshots.is_empty());
}

/// `ready` means fully provisioned: a create that failed or stopped
/// before its last provisioning step stays failed through any number of
/// `doctor --fix`, which names the steps not done.
#[test]
fn doctor_fix_never_marks_an_unprovisioned_container_ready() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "a", "busybox"])
        .env("LXDEV_FAKE_FAIL", "provision_user:a")
        .assert()
        .code(1);
    let entry = &project.config().containers["a"];
    assert_eq!(entry.state, Some(ContainerState::Failed));
    assert_eq!(
        entry.pending_steps,
        [Step::User, Step::Ssh, Step::InitialSnapshot]
    );
    for _ in 0..2 {
        project
            .lxdev(["doctor", "--fix"])
            .assert()
            .code(1)
            .stdout(predicate::str::contains(
                "not done: user, ssh, initial_snapshot",
            ));
        assert_eq!(
            project.config().containers["a"].state,
            Some(ContainerState::Failed)
        );
    }
    // Removing it is how it is cleaned up.
    project
        .lxdev(["container", "remove", "a", "--yes"])
        .assert()
        .success();
    assert!(project.config().containers.is_empty());
}

/// A create killed at a provisioning step, or after the runtime made the
/// instance but before the first step, is failed by `doctor --fix`, and a
/// second `doctor --fix` leaves it failed.
#[test]
fn a_killed_provisioning_stays_failed_through_every_doctor_fix() {
    for (step, pending) in [
        ("    step: ready\n", "[ready, user, ssh, initial_snapshot]"),
        ("", "[ready, user, ssh, initial_snapshot]"),
        ("    step: ssh\n", "[ssh, initial_snapshot]"),
    ] {
        let project = Project::new();
        project.make_runtime_instance("demo-a");
        project.append_containers(&format!(
            "  a:\n    image: busybox\n    state: creating\n    pending_steps: {pending}\n{}{}",
            dead_operation("create", "    "),
            step.replace("    step", "      step"),
        ));
        project.lxdev(["doctor", "--fix"]).assert().success();
        let entry = &project.config().containers["a"];
        assert_eq!(entry.state, Some(ContainerState::Failed), "{step:?}");
        for _ in 0..2 {
            project.lxdev(["doctor", "--fix"]).assert().code(1);
            assert_eq!(
                project.config().containers["a"].state,
                Some(ContainerState::Failed),
                "{step:?}"
            );
        }
    }
}

/// Without provisioning (`--no-provision`) nothing is pending: a create
/// killed after the runtime made the instance is ready, as before.
#[test]
fn a_killed_bare_create_is_ready_once_the_runtime_has_it() {
    let project = Project::new();
    project.make_runtime_instance("demo-a");
    project.append_containers(&format!(
        "  a:\n    image: busybox\n    state: creating\n{}",
        dead_operation("create", "    ")
    ));
    project.lxdev(["doctor", "--fix"]).assert().success();
    assert_eq!(project.config().containers["a"].state, None);
}
