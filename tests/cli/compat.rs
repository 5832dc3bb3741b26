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

fn rootfs(project: &Project, instance: &str) -> std::path::PathBuf {
    project
        .dir()
        .join(".lxdev/fake/instances")
        .join(instance)
        .join("rootfs")
}

fn sync_entries(project: &Project, name: &str) -> Vec<(String, String)> {
    project.config().containers[name]
        .sync
        .iter()
        .map(|e| (e.source.clone(), e.dest.clone()))
        .collect()
}

fn pair(source: &str, dest: &str) -> (String, String) {
    (source.into(), dest.into())
}

#[test]
fn sync_add_rm_and_list_keep_lxc_dev_managers_entries() {
    let project = Project::new();
    project
        .lxdev(["c", "create", "dev", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["sync", "add", "dev", ".env", "/home/dev/app/.env"])
        .assert()
        .success();
    project
        .lxdev(["sync", "add", "dev", "conf/a b.json", "~/a.json"])
        .assert()
        .success();
    // The same source again replaces its dest, in place.
    project
        .lxdev(["sync", "add", "dev", ".env", "/home/dev/.env"])
        .assert()
        .success();
    assert_eq!(
        sync_entries(&project, "dev"),
        [
            pair(".env", "/home/dev/.env"),
            pair("conf/a b.json", "~/a.json")
        ]
    );
    let out = project
        .lxdev(["--json", "sync", "list", "dev"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([
            {"source": ".env", "dest": "/home/dev/.env"},
            {"source": "conf/a b.json", "dest": "~/a.json"},
        ])
    );
    project
        .lxdev(["sync", "list", "dev"])
        .assert()
        .success()
        .stdout(predicate::str::contains("conf/a b.json"));

    // Forgetting one that is not there changes nothing and exits 0.
    let before = project.yaml();
    project
        .lxdev(["sync", "rm", "dev", "nope"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no sync entry"));
    assert_eq!(project.yaml(), before);
    project
        .lxdev(["sync", "rm", "dev", ".env"])
        .assert()
        .success();
    project
        .lxdev(["sync", "rm", "dev", "conf/a b.json"])
        .assert()
        .success();
    assert!(sync_entries(&project, "dev").is_empty());
    assert!(!project.yaml().contains("sync:"), "{}", project.yaml());
}

#[test]
fn sync_pushes_each_entry_owned_by_the_dev_user() {
    let project = Project::new();
    project
        .lxdev(["c", "create", "dev", "busybox"])
        .assert()
        .success();
    std::fs::write(project.dir().join(".env"), "A=1\n").unwrap();
    std::fs::create_dir(project.dir().join("conf")).unwrap();
    std::fs::write(project.dir().join("conf/x.json"), "{}").unwrap();
    // Written by hand, as lxc-dev-manager would have.
    let text = project.yaml().replace(
        "    image: busybox\n",
        "    image: busybox\n    sync:\n      - source: .env\n        dest: /home/dev/app/.env\n",
    );
    std::fs::write(project.config_path(), text).unwrap();
    project
        .lxdev(["sync", "add", "dev", "conf/x.json", "~/x.json"])
        .assert()
        .success();
    // Relative sources are in the project directory, wherever lxdev runs.
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = project.dir().to_str().unwrap().to_string();
    let out = project
        .lxdev(["--json", "-C", &dir, "sync", "dev"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let json = outcome(&out);
    assert_eq!(json["command"], "sync");
    assert_eq!(json["synced"][1]["dest"], "/home/dev/x.json", "{json}");
    let root = rootfs(&project, "demo-dev");
    assert_eq!(
        std::fs::read_to_string(root.join("home/dev/app/.env")).unwrap(),
        "A=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("home/dev/x.json")).unwrap(),
        "{}"
    );
    let owners =
        std::fs::read_to_string(project.dir().join(".lxdev/fake/instances/demo-dev/owners"))
            .unwrap();
    assert!(owners.contains("1000:1000 /home/dev/app/.env"), "{owners}");
    assert!(owners.contains("1000:1000 /home/dev/x.json"), "{owners}");
    // Again: the files are replaced with what the host has now.
    std::fs::write(project.dir().join(".env"), "A=2\n").unwrap();
    project.lxdev(["sync", "dev"]).assert().success();
    assert_eq!(
        std::fs::read_to_string(root.join("home/dev/app/.env")).unwrap(),
        "A=2\n"
    );
}

#[test]
fn sync_checks_every_entry_before_pushing_any() {
    let project = Project::new();
    project
        .lxdev(["c", "create", "dev", "busybox"])
        .assert()
        .success();
    std::fs::write(project.dir().join("a"), "a").unwrap();
    project
        .lxdev(["sync", "add", "dev", "a", "/tmp/a"])
        .assert()
        .success();
    project
        .lxdev(["sync", "add", "dev", "missing", "/tmp/m"])
        .assert()
        .success();
    project.lxdev(["sync", "dev"]).assert().code(3);
    assert!(!rootfs(&project, "demo-dev").join("tmp/a").exists());

    project
        .lxdev(["sync", "rm", "dev", "missing"])
        .assert()
        .success();
    std::fs::create_dir_all(rootfs(&project, "demo-dev").join("tmp/d")).unwrap();
    std::fs::write(project.dir().join("d"), "d").unwrap();
    project
        .lxdev(["sync", "add", "dev", "d", "/tmp/d"])
        .assert()
        .success();
    project
        .lxdev(["sync", "dev"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("is a directory"));
    assert!(!rootfs(&project, "demo-dev").join("tmp/a").exists());
}

#[test]
fn sync_refuses_bad_paths_unknown_and_busy_containers() {
    let project = Project::new();
    project
        .lxdev(["c", "create", "dev", "busybox"])
        .assert()
        .success();
    let before = project.yaml();
    for (source, dest) in [
        ("-rf", "/tmp/x"),
        ("a\nb", "/tmp/x"),
        ("", "/tmp/x"),
        ("a", "relative"),
        ("a", "/tmp/../etc/x"),
        ("a", "/tmp/a\u{1}"),
    ] {
        project
            .lxdev(["sync", "add", "dev", "--", source, dest])
            .assert()
            .code(2);
    }
    assert_eq!(project.yaml(), before);
    for args in [
        &["sync", "nope"][..],
        &["sync", "list", "nope"],
        &["sync", "add", "nope", "a", "/a"],
        &["sync", "rm", "nope", "a"],
    ] {
        project.lxdev(args).assert().code(3);
    }
    // A hand-written entry gets the same checks when pushed.
    let text = project.yaml().replace(
        "    image: busybox\n",
        "    image: busybox\n    sync:\n      - source: \"-x\"\n        dest: /tmp/x\n",
    );
    std::fs::write(project.config_path(), text).unwrap();
    project.lxdev(["sync", "dev"]).assert().code(2);

    project.append_containers(&format!(
        "  busy:\n    image: busybox\n    state: creating\n{}",
        crate::support::live_operation("create", "    ")
    ));
    project
        .lxdev(["sync", "busy"])
        .assert()
        .code(75)
        .stderr(predicate::str::contains("creat"));
}
