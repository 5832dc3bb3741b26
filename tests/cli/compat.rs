//! lxc-dev-manager's command lines, as its scripts spell them, with the
//! fake runtime: each is checked for its effect on containers.yaml and the
//! runtime. `scripts/compat-transcript.sh` runs a whole script of them on
//! the fake runtime and on LXD.

use predicates::prelude::*;

use crate::json::outcome;
use crate::support::Project;

#[test]
fn create_with_name_and_ports_writes_the_project_and_its_default_ports() {
    for command in [&["create"][..], &["project", "create"]] {
        let project = Project::empty();
        let mut args = command.to_vec();
        args.extend(["-n", "web", "-p", "5173, 8000,8080:80", "--runtime", "fake"]);
        project.lxdev(&args).assert().success();
        let config = project.config();
        assert_eq!(config.project, "web", "{command:?}");
        let ports: Vec<String> = config
            .defaults
            .ports
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(ports, ["5173", "8000", "8080:80"], "{command:?}");
        // lxc-dev-manager's own reader takes ports as numbers.
        assert!(project.yaml().contains("ports: [5173, 8000, \"8080:80\"]"));

        let again = Project::empty();
        let mut args = command.to_vec();
        args.extend(["--name", "web", "--ports", "5173"]);
        again
            .lxdev(&args)
            .env("LXDEV_RUNTIME", "fake")
            .assert()
            .success();
        assert_eq!(again.config().defaults.ports.len(), 1);
    }
}

#[test]
fn bad_ports_are_a_usage_error_that_writes_nothing() {
    for ports in ["0", "5173,x", "80,80", "99999"] {
        let project = Project::empty();
        project
            .lxdev(["create", "-n", "web", "-p", ports])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--ports"));
        assert!(!project.config_path().exists(), "{ports}");
    }
}

#[test]
fn project_dir_is_the_dir_option() {
    let project = Project::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = project.dir().to_str().unwrap();
    project
        .lxdev(["--project-dir", dir, "container", "create", "a", "busybox"])
        .current_dir(elsewhere.path())
        .assert()
        .success();
    project
        .lxdev(["c", "create", "b", "busybox", "-C", dir])
        .current_dir(elsewhere.path())
        .assert()
        .success();
    assert_eq!(project.container_names(), ["a", "b"]);
}

#[test]
fn container_snapshot_commands_are_the_snapshot_commands() {
    let project = Project::new();
    project
        .lxdev(["c", "create", "dev", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["c", "snapshot", "create", "dev", "s1", "-d", "before"])
        .assert()
        .success();
    let snap = &project.config().containers["dev"].snapshots["s1"];
    assert_eq!(snap.description.as_deref(), Some("before"));
    assert!(
        project
            .runtime_snapshots("demo-dev")
            .contains(&"s1".to_string())
    );
    let out = project
        .lxdev(["--json", "container", "snapshot", "list", "dev"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["snapshots"][1]["name"], "s1", "{listed}");
    let deleted = outcome(
        &project
            .lxdev(["--json", "container", "snapshot", "delete", "dev", "s1"])
            .output()
            .unwrap(),
    );
    assert_eq!(deleted["command"], "container snapshot delete");
    assert!(
        !project.config().containers["dev"]
            .snapshots
            .contains_key("s1")
    );
    assert_eq!(project.runtime_snapshots("demo-dev"), ["initial-state"]);
}

#[test]
fn images_and_short_image_options_are_accepted() {
    let project = Project::new();
    project
        .lxdev(["c", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev(["image", "create", "dev", "base"])
        .assert()
        .success();
    for args in [&["images"][..], &["images", "-a"], &["image", "list", "-a"]] {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = project.lxdev(&all).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let images: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            images
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["aliases"][0] == "base"),
            "{args:?}: {images}"
        );
    }
    // lxc-dev-manager's `image delete NAME -f` deletes even an image an
    // entry names (it never checked).
    let text = project.yaml().replace("image: busybox", "image: base");
    std::fs::write(project.config_path(), text).unwrap();
    project
        .lxdev(["image", "delete", "base", "-f"])
        .assert()
        .success();
    let out = project.lxdev(["--json", "images", "-a"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"base\""));
}

/// lxc-dev-manager had no owners: its `remove -f` and `project delete -f`
/// remove whatever the file lists, without asking.
#[test]
fn force_removes_another_users_container_without_asking() {
    let project = Project::new();
    for name in ["a", "b", "c"] {
        project
            .lxdev(["c", "create", name, "busybox", "--no-provision"])
            .assert()
            .success();
    }
    let text = project.yaml().replace(
        &format!("owner: {}", lxdev::process::current_user()),
        "owner: someone-else",
    );
    std::fs::write(project.config_path(), text).unwrap();
    project.lxdev(["remove", "a"]).assert().code(4);
    project.lxdev(["remove", "a", "-f"]).assert().success();
    assert_eq!(project.container_names(), ["b", "c"]);
    project.lxdev(["project", "delete"]).assert().code(4);
    project
        .lxdev(["project", "delete", "-f"])
        .assert()
        .success();
    assert!(!project.config_path().exists());
    assert!(project.runtime_instances().is_empty());
}

#[test]
fn the_compat_spellings_stay_out_of_the_help() {
    let project = Project::empty();
    let help = project.lxdev(["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("project-dir"), "{help}");
    // Subcommands are listed as `  NAME  Summary` lines.
    let listed = |args: &[&str], word: &str| {
        let help = project.lxdev(args).output().unwrap();
        String::from_utf8_lossy(&help.stdout)
            .lines()
            .any(|line| line.trim_start().starts_with(&format!("{word} ")))
    };
    assert!(listed(&["--help"], "image"));
    assert!(!listed(&["--help"], "images"));
    assert!(listed(&["container", "--help"], "create"));
    assert!(!listed(&["container", "--help"], "snapshot"));
    assert!(listed(&["project", "--help"], "delete"));
    assert!(!listed(&["project", "--help"], "create"));
}
