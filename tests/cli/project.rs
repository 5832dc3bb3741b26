//! `up`/`down` of many containers, and `project delete`: what ends up in
//! containers.yaml and in the runtime.

use std::process::Stdio;

use predicates::prelude::*;

use crate::support::{Project, live_operation};

/// A project whose file lists `n` checked-in entries `c1..cn` that the
/// runtime does not have (a teammate's file on a new machine).
fn checked_in(n: usize) -> Project {
    let project = Project::new();
    let entries: String = (1..=n)
        .map(|i| format!("  c{i}:\n    image: busybox\n"))
        .collect();
    project.append_containers(&entries);
    project
}

fn status(project: &Project, instance: &str) -> String {
    std::fs::read_to_string(
        project
            .dir()
            .join(".lxdev/fake/instances")
            .join(instance)
            .join("status"),
    )
    .unwrap_or_else(|_| panic!("{instance} has no status"))
}

/// Every entry is ready: no state, operation or error left.
fn assert_all_ready(project: &Project) {
    for (name, c) in &project.config().containers {
        assert!(
            c.state.is_none() && c.operation.is_none() && c.error.is_none(),
            "`{name}` is not ready:\n{}",
            project.yaml()
        );
    }
}

#[test]
fn up_all_creates_missing_entries_in_jobs_and_keeps_the_file() {
    let project = checked_in(20);
    let before = project.yaml();
    let started = std::time::Instant::now();
    let out = project
        .lxdev(["up", "--all", "--jobs", "4"])
        .env("LXDEV_FAKE_DELAY_MS", "200")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        20,
        "one line per container:\n{stdout}"
    );
    assert!(stdout.contains("created c7 (demo-c7) from busybox and started it"));
    let want: Vec<String> = (1..=20).map(|i| format!("demo-c{i}")).collect();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(project.runtime_instances(), want_sorted);
    for instance in &want {
        assert_eq!(status(&project, instance), "Running");
    }
    // The entries stay as they were written: nothing is dropped, and
    // provisioning only adds each one's `initial-state`.
    assert_same_entries_provisioned(&project, &before);
    // Each container's work (a create and four provisioning steps of
    // 200 ms) ran 4 at a time: 5 rounds of about 1 s, not 20.
    eprintln!("up --all --jobs 4 of 20 entries took {elapsed:?}");
}

/// The file has the entries of `before`, each with the same image and
/// ready, and provisioning's `initial-state` snapshot.
fn assert_same_entries_provisioned(project: &Project, before: &str) {
    let before = lxdev::config::model::parse(before, &project.config_path()).unwrap();
    let after = project.config();
    assert_eq!(
        after.containers.keys().collect::<Vec<_>>(),
        before.containers.keys().collect::<Vec<_>>()
    );
    for (name, entry) in &after.containers {
        assert_eq!(entry.image, before.containers[name].image, "{name}");
        assert_eq!(entry.state, None, "{name}");
        assert!(entry.snapshots.contains_key("initial-state"), "{name}");
    }
}

#[test]
fn two_up_all_at_once_create_each_container_once() {
    let project = checked_in(12);
    let before = project.yaml();
    let children: Vec<_> = (0..2)
        .map(|_| {
            project
                .spawn_lxdev(["up", "--all", "--jobs", "4"])
                .env("LXDEV_FAKE_DELAY_MS", "100")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut created = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        created += String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("created "))
            .count();
    }
    assert_eq!(created, 12, "each container is created by exactly one `up`");
    assert_eq!(project.runtime_instances().len(), 12);
    assert_same_entries_provisioned(&project, &before);
}

#[test]
fn a_failed_create_in_up_keeps_the_entry_and_lists_the_failure() {
    let project = checked_in(3);
    let before = project.yaml();
    project
        .lxdev(["up", "--all"])
        .env("LXDEV_FAKE_FAIL", "create:c2")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "1 of 3 containers failed to come up: c2:",
        ));
    // The refused create changed nothing: the checked-in entry stays ready,
    // as written.
    let before = lxdev::config::model::parse(&before, &project.config_path()).unwrap();
    let c2 = &project.config().containers["c2"];
    assert_eq!(c2.state, None);
    assert_eq!(c2.snapshots.len(), before.containers["c2"].snapshots.len());
    assert_eq!(project.runtime_instances(), ["demo-c1", "demo-c3"]);
    // A create that happened but reported failure is recorded as failed,
    // and the entry is still there.
    project
        .lxdev(["up", "c2"])
        .env("LXDEV_FAKE_FAIL", "create:c2:after")
        .assert()
        .code(1);
    let c2 = &project.config().containers["c2"];
    assert_eq!(c2.state.map(|s| s.as_str()), Some("failed"));
}

#[test]
fn a_killed_up_leaves_the_entry_for_doctor_which_keeps_it() {
    let project = checked_in(1);
    let mut child = project
        .spawn_lxdev(["up", "c1"])
        .env("LXDEV_FAKE_DELAY_MS", "5000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !project.yaml().contains("kind: instantiate") {
        assert!(std::time::Instant::now() < deadline, "never reserved");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(project.yaml().contains("state: creating"));
    project
        .lxdev(["doctor", "--fix"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "is kept ready; `lxdev up c1` creates it",
        ));
    // A checked-in entry is never dropped because its instance is missing.
    assert_eq!(project.container_names(), ["c1"]);
    assert_all_ready(&project);
    project.lxdev(["up", "c1"]).assert().success();
    assert_eq!(project.runtime_instances(), ["demo-c1"]);
}

#[test]
fn up_and_down_fail_busy_on_a_removal_in_flight_and_do_the_rest() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "a", "busybox"])
        .assert()
        .success();
    project.append_containers(&format!(
        "  b:\n    image: busybox\n    state: removing\n{}",
        live_operation("remove", "    ")
    ));
    project
        .lxdev(["up", "a", "b"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains(
            "b: container `b` is being removed",
        ));
    project
        .lxdev(["down", "--all"])
        .assert()
        .code(75)
        .stdout(predicate::str::contains("stopped a (demo-a)"));
    assert_eq!(status(&project, "demo-a"), "Stopped");
}

#[test]
fn down_of_an_entry_not_created_here_is_nothing_to_do() {
    let project = checked_in(2);
    project.lxdev(["up", "c1"]).assert().success();
    project.lxdev(["down", "--all"]).assert().success().stdout(
        predicate::str::contains("stopped c1 (demo-c1)").and(predicate::str::contains(
            "c2 (demo-c2) is not created on this machine",
        )),
    );
    assert_eq!(status(&project, "demo-c1"), "Stopped");
    assert_eq!(project.runtime_instances(), ["demo-c1"]);
}

#[test]
fn project_delete_removes_every_container_then_the_file_but_not_the_lock() {
    let project = Project::new();
    for name in ["a", "b", "c"] {
        project
            .lxdev(["container", "create", name, "busybox"])
            .assert()
            .success();
    }
    project
        .lxdev(["project", "delete"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted project `demo`"));
    assert!(!project.config_path().exists());
    assert!(
        project.lock_path().exists(),
        "the lock file is never deleted"
    );
    assert!(project.runtime_instances().is_empty());
}

#[test]
fn project_delete_changes_nothing_when_one_container_is_busy() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "a", "busybox"])
        .assert()
        .success();
    project.append_containers(&format!(
        "  b:\n    image: busybox\n    state: creating\n{}",
        live_operation("create", "    ")
    ));
    let before = project.bytes();
    project
        .lxdev(["project", "delete", "--yes"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains("container `b` is being created"));
    assert_eq!(project.bytes(), before);
    assert_eq!(project.runtime_instances(), ["demo-a"]);
}

#[test]
fn project_delete_of_another_users_container_needs_force() {
    let project = Project::new();
    project.append_containers("  theirs:\n    image: busybox\n    owner: someone-else\n");
    project.make_runtime_instance("demo-theirs");
    let before = project.bytes();
    project
        .lxdev(["project", "delete", "--yes"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(project.bytes(), before);
    project
        .lxdev(["project", "delete", "--yes", "--force"])
        .assert()
        .success();
    assert!(!project.config_path().exists());
    assert!(project.runtime_instances().is_empty());
}

#[test]
fn commands_during_a_project_delete_fail_at_once_and_a_kill_leaves_what_is_left() {
    let project = Project::new();
    for name in ["a", "b", "c", "d"] {
        project
            .lxdev(["container", "create", name, "busybox"])
            .assert()
            .success();
    }
    // b's removal fails before it starts; the others take 3 s each.
    let mut child = project
        .spawn_lxdev(["project", "delete", "--yes"])
        .env("LXDEV_FAKE_DELAY_MS", "3000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !project.yaml().contains("kind: project_delete") {
        assert!(std::time::Instant::now() < deadline, "never reserved");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Every container was marked in one reservation.
    assert_eq!(project.yaml().matches("state: removing").count(), 4);
    for args in [
        vec!["container", "remove", "a"],
        vec!["snapshot", "create", "b", "s1"],
        vec!["container", "clone", "c", "e"],
    ] {
        project
            .lxdev(&args)
            .assert()
            .code(75)
            .stderr(predicate::str::contains("being removed"));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed before any removal finished: everything is still listed (as
    // being removed), and doctor settles it by what the runtime has.
    assert_eq!(project.container_names(), ["a", "b", "c", "d"]);
    project.lxdev(["doctor", "--fix"]).assert().success();
    assert_eq!(project.container_names(), ["a", "b", "c", "d"]);
    assert_all_ready(&project);
    project
        .lxdev(["project", "delete", "--yes"])
        .env("LXDEV_FAKE_FAIL", "remove:b")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is kept"));
    // The file lists exactly what is left.
    assert_eq!(project.container_names(), ["b"]);
    assert_eq!(project.runtime_instances(), ["demo-b"]);
    assert_all_ready(&project);
}
