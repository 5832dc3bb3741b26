//! The lock: timeouts, the waiting notice, and crash release.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::Project;

/// Holds the project's lock with flock(1) until the child is killed.
pub(crate) fn hold_lock(project: &Project, seconds: u32) -> std::process::Child {
    let mut child = Command::new("flock")
        .arg(project.lock_path())
        .args(["sleep", &seconds.to_string()])
        .spawn()
        .expect("flock(1) from util-linux");
    // Wait until the kernel shows the lock taken.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let busy = Command::new("flock")
            .args(["-n"])
            .arg(project.lock_path())
            .arg("true")
            .status()
            .unwrap();
        if !busy.success() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("flock never took the lock");
}

#[test]
fn a_lock_timeout_is_try_again_and_names_the_holder() {
    let project = Project::new();
    let before = project.bytes();
    let mut holder = hold_lock(&project, 30);
    project
        .lxdev([
            "--lock-timeout",
            "0.5",
            "container",
            "create",
            "dev",
            "busybox",
        ])
        .assert()
        .code(75)
        .stderr(
            predicate::str::contains("containers.yaml.lock")
                .and(predicate::str::contains(format!("pid {}", holder.id())))
                .and(predicate::str::contains("--lock-timeout"))
                .and(predicate::str::contains("LXDEV_LOCK_TIMEOUT")),
        );
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(project.bytes(), before);
    assert!(
        project.runtime_instances().is_empty(),
        "no runtime work without the reservation"
    );
}

#[test]
fn lock_timeout_zero_fails_at_once_and_env_var_is_read() {
    let project = Project::new();
    let mut holder = hold_lock(&project, 30);
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .env("LXDEV_LOCK_TIMEOUT", "0")
        .assert()
        .code(75);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(project.container_names().is_empty());
}

#[test]
fn a_waiter_says_once_who_it_waits_for_then_proceeds() {
    let project = Project::new();
    let mut holder = hold_lock(&project, 2);
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("waiting for lock on")
                .count(1)
                .and(predicate::str::contains("held by pid")),
        );
    assert_eq!(project.container_names(), ["dev"]);
    holder.wait().unwrap();
}

#[test]
fn sigkill_of_a_process_holding_the_lock_frees_it_at_once() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "before", "busybox", "--no-provision"])
        .assert()
        .success();
    let before = project.bytes();
    // LXDEV_TEST_HOLD_LOCK_MS makes lxdev sleep inside its transaction.
    let mut victim = project
        .spawn_lxdev(["container", "create", "victim", "busybox", "--no-provision"])
        .env("LXDEV_TEST_HOLD_LOCK_MS", "30000")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it holds the lock.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let free = Command::new("flock")
            .arg("-n")
            .arg(project.lock_path())
            .arg("true")
            .status()
            .unwrap();
        if !free.success() {
            break;
        }
        assert!(Instant::now() < deadline, "victim never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    victim.kill().unwrap();
    victim.wait().unwrap();
    // Fails unless the lock is free right away.
    project
        .lxdev([
            "--lock-timeout",
            "0",
            "container",
            "create",
            "after",
            "busybox",
        ])
        .assert()
        .success();
    let names = project.container_names();
    assert_eq!(
        names,
        ["after", "before"],
        "the killed transaction wrote nothing"
    );
    assert_ne!(project.bytes(), before);
    assert!(project.temp_files().is_empty());
}

#[test]
fn the_lock_is_not_inherited_by_runtime_commands() {
    // `exec` runs a child through the runtime; a long-lived child must not
    // keep the lock (close-on-exec).
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    let child = project
        .spawn_lxdev(["exec", "dev", "-u", "root", "--", "sleep", "3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    project
        .lxdev([
            "--lock-timeout",
            "0",
            "container",
            "create",
            "other",
            "busybox",
        ])
        .assert()
        .success();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The fake runtime's one notice, and nothing else.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("runs on the host"), "{stderr}");
}

/// `rm -f containers.yaml.lock` in a loop while creates run: each waiter
/// that got a lock on a deleted inode takes it again on the file now at
/// the path, so no two writers are ever in at once and every create that
/// exited 0 is in the file, settled.
#[test]
fn deleting_the_lock_file_while_writers_run_loses_nothing() {
    let project = Project::new();
    let lock = project.lock_path();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let runs: Vec<(String, std::process::Output)> = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&lock);
                std::thread::yield_now();
            }
        });
        let children: Vec<_> = (0..30)
            .map(|i| {
                let name = format!("c{i}");
                let child = project
                    .spawn_lxdev(["container", "create", &name, "busybox", "--no-provision"])
                    .env("LXDEV_LOCK_TIMEOUT", "60")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (name, child)
            })
            .collect();
        let runs = children
            .into_iter()
            .map(|(name, child)| (name, child.wait_with_output().unwrap()))
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        runs
    });
    let config = project.config();
    for (name, out) in &runs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        let entry = config
            .containers
            .get(name)
            .unwrap_or_else(|| panic!("{name} exited 0 but is not in the file"));
        assert_eq!(entry.state, None, "{name} left in flight");
    }
    assert_eq!(config.containers.len(), 30);
}
