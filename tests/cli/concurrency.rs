//! Many writers at once, as threads and as processes: every acknowledged
//! change is in the file.

use std::time::Duration;

use lxdev::config::ledger::Target;
use lxdev::config::{ConfigManager, NewContainer};

use crate::support::Project;

#[test]
fn eight_threads_times_fifty_updates_all_land() {
    let project = Project::new();
    let path = project.config_path();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let path = path.clone();
            scope.spawn(move || {
                let manager = ConfigManager::new(path).with_lock_timeout(Duration::from_secs(60));
                for i in 0..50 {
                    let name = format!("t{t}-c{i}");
                    let op = lxdev::operation::begin(lxdev::config::model::OperationKind::Create);
                    manager
                        .update(|project| {
                            let new = NewContainer {
                                image: "busybox",
                                owner: "tester",
                                created_at: &op.started_at,
                                cloned_from: None,
                                runtime: "fake",
                            };
                            project.insert_container(&name, &new, Some(&op))?;
                            project.finish(&Target::Container(name.clone()))
                        })
                        .unwrap();
                }
            });
        }
    });
    let config = project.config();
    assert_eq!(config.containers.len(), 400);
    for t in 0..8 {
        for i in 0..50 {
            let entry = &config.containers[&format!("t{t}-c{i}")];
            assert_eq!(entry.state, None);
        }
    }
}

/// How one process ended: its exit code and what it said on stderr
/// (captured, so expected refusals and lock notices stay out of the test
/// run's output and show up in a failing assertion instead).
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stderr: String,
}

/// Runs `n` `container create` processes at once; returns how each ended.
fn parallel_creates(project: &Project, n: usize, env: &[(&str, &str)], extra: &[&str]) -> Vec<Run> {
    let children: Vec<_> = (0..n)
        .map(|i| {
            let name = format!("c{i}");
            let mut args: Vec<&str> = extra.to_vec();
            args.extend(["container", "create", &name, "busybox", "--no-provision"]);
            let mut cmd = project.spawn_lxdev(&args);
            cmd.envs(env.iter().copied())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            Run {
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .collect()
}

#[test]
fn fifty_concurrent_creates_all_land() {
    let project = Project::new();
    let codes = parallel_creates(&project, 50, &[], &[]);
    assert!(codes.iter().all(|c| c.code == Some(0)), "{codes:?}");
    let names = project.container_names();
    assert_eq!(names.len(), 50);
    assert!(
        project
            .config()
            .containers
            .values()
            .all(|c| c.state.is_none())
    );
    assert_eq!(project.runtime_instances().len(), 50);
    assert!(project.temp_files().is_empty());
}

#[test]
fn slow_runtime_work_runs_outside_the_lock() {
    // Ten creates that each spend 1 s in the runtime, with a 3 s lock
    // timeout: if the lock covered the runtime work they would queue for
    // up to 10 s and most would time out.
    let project = Project::new();
    let codes = parallel_creates(
        &project,
        10,
        &[("LXDEV_FAKE_DELAY_MS", "1000")],
        &["--lock-timeout", "3"],
    );
    assert!(codes.iter().all(|c| c.code == Some(0)), "{codes:?}");
    assert_eq!(project.container_names().len(), 10);
    assert_eq!(project.runtime_instances().len(), 10);
}

#[test]
fn ten_creates_against_a_limit_of_five() {
    let project = Project::with_yaml(
        "project: demo\nruntime: fake\ndefaults:\n  max_containers: 5\ncontainers: {}\n",
    );
    let codes = parallel_creates(&project, 10, &[("LXDEV_FAKE_DELAY_MS", "100")], &[]);
    assert_eq!(
        codes.iter().filter(|c| c.code == Some(0)).count(),
        5,
        "{codes:?}"
    );
    let refused: Vec<&Run> = codes.iter().filter(|c| c.code == Some(4)).collect();
    assert_eq!(refused.len(), 5, "{codes:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.stderr.contains("defaults.max_containers is 5")),
        "{refused:?}"
    );
    assert_eq!(project.container_names().len(), 5);
    assert_eq!(project.runtime_instances().len(), 5);
}

#[test]
fn parallel_snapshots_of_one_container_all_land() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "c0", "busybox", "--no-provision"])
        .assert()
        .success();
    let children: Vec<_> = (0..20)
        .map(|i| {
            project
                .spawn_lxdev(["snapshot", "create", "c0", &format!("s{i}")])
                .env("LXDEV_FAKE_DELAY_MS", "50")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{:?}: {stderr}", out.status);
    }
    assert_eq!(project.config().containers["c0"].snapshots.len(), 20);
    assert_eq!(project.runtime_snapshots("demo-c0").len(), 20);
}
