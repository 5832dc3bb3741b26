//! `lxdev cp` (alias `mv`) with the fake runtime, whose instances keep
//! their files in `<instance>/rootfs/` and record owners in `owners`.

use predicates::prelude::*;

use crate::json::outcome;
use crate::support::{Project, live_operation};

fn rootfs(project: &Project, instance: &str) -> std::path::PathBuf {
    project
        .dir()
        .join(".lxdev/fake/instances")
        .join(instance)
        .join("rootfs")
}

fn owners(project: &Project, instance: &str) -> String {
    std::fs::read_to_string(
        project
            .dir()
            .join(".lxdev/fake/instances")
            .join(instance)
            .join("owners"),
    )
    .unwrap_or_default()
}

fn with_tree(project: &Project) {
    std::fs::create_dir_all(project.dir().join("src/sub")).unwrap();
    std::fs::write(project.dir().join("src/f"), "f").unwrap();
    std::fs::write(project.dir().join("src/sub/g"), "g").unwrap();
}

#[test]
fn a_directory_is_pushed_recursively_and_belongs_to_the_dev_user() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox"])
        .assert()
        .success();
    with_tree(&project);
    project
        .lxdev(["cp", "src", "dev:~/code"])
        .assert()
        .success()
        .stdout(predicate::str::contains("owned by dev"));
    let copied = rootfs(&project, "demo-dev").join("home/dev/code");
    assert_eq!(std::fs::read_to_string(copied.join("sub/g")).unwrap(), "g");
    let owners = owners(&project, "demo-dev");
    assert!(
        owners.contains("1000:1000 /home/dev/code/sub/g"),
        "{owners}"
    );
    assert!(!owners.contains("0:0 /home/dev/code"), "{owners}");

    // And back, into an existing directory, as `mv` with lxc-dev-manager's -y.
    std::fs::create_dir(project.dir().join("back")).unwrap();
    project
        .lxdev(["mv", "dev:~/code", "back", "-y"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(project.dir().join("back/code/sub/g")).unwrap(),
        "g"
    );
}

#[test]
fn without_a_dev_user_copies_belong_to_root() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    std::fs::write(project.dir().join("f"), "x").unwrap();
    project
        .lxdev(["cp", "f", "dev:/etc/f"])
        .assert()
        .success()
        .stderr(predicate::str::contains("belongs to root"));
    assert!(owners(&project, "demo-dev").contains("0:0 /etc/f"));
}

#[test]
fn a_glob_pushes_to_every_matching_container() {
    let project = Project::new();
    for name in ["dev1", "dev2", "web"] {
        project
            .lxdev(["container", "create", name, "busybox", "--no-provision"])
            .assert()
            .success();
    }
    std::fs::write(project.dir().join("f"), "x").unwrap();
    let out = project
        .lxdev(["--json", "cp", "f", "dev*:/tmp/"])
        .output()
        .unwrap();
    let json = outcome(&out);
    assert_eq!(json["results"].as_array().unwrap().len(), 2, "{json}");
    assert!(rootfs(&project, "demo-dev1").join("tmp/f").is_file());
    assert!(rootfs(&project, "demo-dev2").join("tmp/f").is_file());
    assert!(!rootfs(&project, "demo-web").exists());
}

#[test]
fn bad_copies_are_refused_with_one_line_and_change_nothing() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    std::fs::write(project.dir().join("f"), "x").unwrap();
    let cases: [(&[&str], i32, &str); 7] = [
        (&["cp", "f", "nope:/tmp/f"], 3, "no container `nope`"),
        (&["cp", "f", "zz*:/tmp/f"], 3, "no container matches"),
        (&["cp", "missing", "dev:/tmp/f"], 3, "cannot copy `missing`"),
        (&["cp", "dev:/nothing", "out"], 3, "no `/nothing` in dev"),
        (&["cp", "f", "dev:../../etc"], 2, "must be absolute"),
        (&["cp", "f", "dev:/tmp/../../x"], 2, "must not contain `..`"),
        (&["cp", "f", "g"], 2, "must be in a container"),
    ];
    for (args, code, message) in cases {
        let out = project.lxdev(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    }
    assert!(!rootfs(&project, "demo-dev").exists());
    assert!(!project.dir().join("out").exists());
}

#[test]
fn a_container_with_an_operation_in_flight_is_refused() {
    let project = Project::new();
    let op = live_operation("create", "    ");
    project.append_containers(&format!(
        "  dev:\n    image: busybox\n    state: creating\n{op}"
    ));
    project.make_runtime_instance("demo-dev");
    std::fs::write(project.dir().join("f"), "x").unwrap();
    let before = project.bytes();
    project.lxdev(["cp", "f", "dev:/tmp/f"]).assert().code(75);
    assert_eq!(project.bytes(), before);
    assert!(!rootfs(&project, "demo-dev").exists());
}
