//! `lxdev image ...` with the fake runtime: the file and the image store.

use std::process::Stdio;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::Project;

fn images(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.dir().join(".lxdev/fake/images"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn status(project: &Project, instance: &str) -> String {
    std::fs::read_to_string(
        project
            .dir()
            .join(".lxdev/fake/instances")
            .join(instance)
            .join("status"),
    )
    .unwrap()
}

#[test]
fn create_publishes_restarts_and_leaves_the_entry_ready() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["image", "create", "dev", "dev-img"])
        .assert()
        .success()
        .stdout(predicate::str::contains("as image dev-img"));
    assert_eq!(images(&project), ["dev-img"]);
    assert_eq!(status(&project, "demo-dev"), "Running");
    assert_eq!(
        project.bytes(),
        before,
        "a publish leaves the file as it was"
    );
    // Taken alias: conflict, nothing changes.
    project
        .lxdev(["image", "create", "dev", "dev-img"])
        .assert()
        .code(4);
    assert_eq!(project.bytes(), before);
    // A container from the published image.
    project
        .lxdev(["container", "create", "copy", "dev-img"])
        .assert()
        .success();
    let listed = project.lxdev(["--json", "image", "list"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(json[0]["aliases"][0], "dev-img", "{json}");
    assert_eq!(json[0]["project"], "demo", "{json}");
    // In use: refused without --force.
    project
        .lxdev(["image", "delete", "dev-img"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("`copy`"));
    assert_eq!(images(&project), ["dev-img"]);
    project
        .lxdev(["image", "rename", "dev-img", "v2"])
        .assert()
        .success();
    assert_eq!(images(&project), ["v2"]);
    project.lxdev(["image", "delete", "v2"]).assert().success();
    assert!(images(&project).is_empty());
    project.lxdev(["image", "delete", "v2"]).assert().code(3);
    project
        .lxdev(["image", "create", "dev", "--bad"])
        .assert()
        .code(2);
}

#[test]
fn a_container_being_published_cannot_be_removed_or_restored() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "dev", "s1"])
        .assert()
        .success();
    let mut child = project
        .spawn_lxdev(["image", "create", "dev", "img"])
        .env("LXDEV_FAKE_DELAY_MS", "1500")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !project.yaml().contains("state: publishing") {
        assert!(Instant::now() < deadline, "never reserved");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(project.yaml().contains("kind: publish"));
    for args in [
        vec!["container", "remove", "dev"],
        vec!["snapshot", "restore", "dev", "s1"],
    ] {
        project
            .lxdev(&args)
            .assert()
            .code(75)
            .stderr(predicate::str::contains("being published"));
    }
    assert!(child.wait().unwrap().success());
    let config = project.config();
    assert!(
        config.containers.values().all(|c| c.state.is_none()),
        "{}",
        project.yaml()
    );
    assert_eq!(images(&project), ["img"]);
    assert_eq!(status(&project, "demo-dev"), "Running");
}
