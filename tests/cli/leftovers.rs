//! What a kill, a hand edit or a repeated word used to leave wrong, each
//! small: a clone that could not start, a container left stopped by a
//! killed operation, a listing that took a bad `--remote`, a line said
//! twice.

use predicates::prelude::*;

use crate::support::{Project, dead_operation};

fn fake_instance(project: &Project, instance: &str) -> std::path::PathBuf {
    project.dir().join(".lxdev/fake/instances").join(instance)
}

/// A proxy recorded by hand under another name than `lxdev-port-*` is a
/// forwarded port too: a copy never carries it (its source still listens
/// on the port, and the copy would not start on LXD).
#[test]
fn a_clone_drops_every_forwarded_port_whatever_its_name() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox", "--no-provision"])
        .assert()
        .success();
    let devices = fake_instance(&project, "demo-web").join("devices");
    std::fs::create_dir_all(&devices).unwrap();
    std::fs::write(
        devices.join("web-port"),
        r#"["proxy",{"listen":"tcp:127.0.0.1:18080","connect":"tcp:127.0.0.1:80"}]"#,
    )
    .unwrap();
    std::fs::write(
        devices.join("code"),
        r#"["disk",{"source":"/tmp","path":"/srv/code","readonly":"true"}]"#,
    )
    .unwrap();
    project
        .lxdev(["container", "clone", "web", "copy"])
        .assert()
        .success();
    assert_eq!(project.runtime_devices("demo-copy"), ["code"]);
}

/// A killed `image create` (or a mount's restart) stopped a running
/// container: doctor names it, and `--fix` starts it again.
#[test]
fn a_container_left_stopped_by_a_killed_operation_is_started_by_doctor_fix() {
    for (state, kind) in [("publishing", "publish"), ("", "device_add")] {
        let project = Project::new();
        let instance = fake_instance(&project, "demo-web");
        std::fs::create_dir_all(&instance).unwrap();
        std::fs::write(instance.join("status"), "Stopped").unwrap();
        let op =
            |indent: &str| format!("{}{indent}  step: restart\n", dead_operation(kind, indent));
        let entry = if state.is_empty() {
            format!(
                "  web:\n    image: busybox\n    devices:\n      code:\n        type: disk\n        \
                 config: {{source: ., path: /srv/code}}\n        state: adding\n{}",
                op("        ")
            )
        } else {
            format!(
                "  web:\n    image: busybox\n    state: {state}\n{}",
                op("    ")
            )
        };
        project.append_containers(&entry);
        project
            .lxdev(["doctor"])
            .assert()
            .code(1)
            .stdout(predicate::str::contains("is stopped: it was running when"));
        project
            .lxdev(["doctor", "--fix"])
            .assert()
            .success()
            .stdout(predicate::str::contains("started it again"));
        assert_eq!(
            std::fs::read_to_string(instance.join("status")).unwrap(),
            "Running",
            "{kind}"
        );
        assert_eq!(project.config().containers["web"].state, None, "{kind}");
    }
}

/// A hostile `--remote` is a usage error for `list` too (it warned and
/// exited 0).
#[test]
fn list_refuses_a_remote_that_reads_as_an_option() {
    let project = Project::new();
    project
        .lxdev(["list", "--remote=-x"])
        .assert()
        .code(2)
        .stdout("");
}

/// `defaults.ports: [8080, 8080]` is one forwarding: each line once, in
/// `proxy` and in `list`.
#[test]
fn a_port_listed_twice_is_said_once() {
    let project = Project::new();
    let text = project
        .yaml()
        .replace("  ports: []", "  ports: [18081, 18081]");
    std::fs::write(project.config_path(), text).unwrap();
    project
        .lxdev(["container", "create", "web", "busybox", "--no-provision"])
        .assert()
        .success();
    for (args, line) in [
        (
            &["proxy", "web"][..],
            "forwarding 127.0.0.1:18081 -> web:18081",
        ),
        (
            &["proxy", "web", "--stop"][..],
            "stopped forwarding 127.0.0.1:18081 -> web:18081",
        ),
    ] {
        let out = project.lxdev(args).assert().success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert_eq!(stdout.matches(line).count(), 1, "{args:?}: {stdout}");
    }
    let listed = project.lxdev(["list"]).assert().success();
    let stdout = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    assert_eq!(stdout.matches("18081").count(), 1, "{stdout}");
}

/// A proxy added by hand that listens on every address is shown as it
/// is, not as a forwarded 127.0.0.1 port.
#[test]
fn mounts_shows_a_hand_added_proxy_as_it_is() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox", "--no-provision"])
        .assert()
        .success();
    let devices = fake_instance(&project, "demo-web").join("devices");
    std::fs::create_dir_all(&devices).unwrap();
    std::fs::write(
        devices.join("wide"),
        r#"["proxy",{"listen":"tcp:0.0.0.0:2298","connect":"tcp:127.0.0.1:22"}]"#,
    )
    .unwrap();
    project.lxdev(["mounts", "web"]).assert().success().stdout(
        predicate::str::contains("listen=tcp:0.0.0.0:2298")
            .and(predicate::str::contains("127.0.0.1:2298").not()),
    );
}
