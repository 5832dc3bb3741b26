//! Dev-ready containers on the fake runtime, which simulates each
//! provisioning step (`LXDEV_FAKE_FAIL=provision_<step>:NAME` fails one):
//! the steps run and are recorded in order, a failed or killed step leaves
//! the container failed with the step named, and `reset` goes back to
//! `initial-state`. The same on real LXD is in `lxd.rs`.

use std::process::Stdio;

use lxdev::config::model::{ContainerState, SnapshotState};
use predicates::prelude::*;

use crate::support::Project;

fn runtime_file(project: &Project, path: &str) -> Option<String> {
    std::fs::read_to_string(project.dir().join(".lxdev/fake/instances").join(path)).ok()
}

#[test]
fn create_provisions_the_dev_user_and_takes_initial_state() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("user:    dev")
                .and(predicate::str::contains("lxdev ssh web"))
                .and(predicate::str::contains("no network")),
        );
    let config = project.config();
    let web = &config.containers["web"];
    assert_eq!(web.state, None);
    assert_eq!(web.operation, None);
    let initial = &web.snapshots["initial-state"];
    assert_eq!(initial.state, None);
    assert_eq!(
        initial.description.as_deref(),
        Some("Initial state after setup")
    );
    assert_eq!(project.runtime_snapshots("demo-web"), ["initial-state"]);
    assert!(
        runtime_file(&project, "demo-web/users/dev").is_some(),
        "the user step ran"
    );
}

#[test]
fn the_dev_user_comes_from_the_file_and_no_password_is_printed() {
    let project = Project::with_yaml(
        "project: pu\nruntime: fake\ndefaults:\n  user:\n    name: alice\n    password: s3cret-from-file\ncontainers: {}\n",
    );
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success()
        .stdout(predicate::str::contains("alice").and(predicate::str::contains("s3cret").not()))
        .stderr(predicate::str::contains("s3cret").not());
    assert!(runtime_file(&project, "pu-web/users/alice").is_some());
}

#[test]
fn no_provision_and_no_initial_snapshot_skip_what_they_say() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "bare", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev([
            "container",
            "create",
            "nosnap",
            "busybox",
            "--no-initial-snapshot",
        ])
        .assert()
        .success();
    let config = project.config();
    assert!(config.containers["bare"].snapshots.is_empty());
    assert!(config.containers["nosnap"].snapshots.is_empty());
    assert!(project.runtime_snapshots("demo-bare").is_empty());
    assert!(runtime_file(&project, "demo-bare/users/dev").is_none());
    assert!(runtime_file(&project, "demo-nosnap/users/dev").is_some());
}

#[test]
fn a_failed_step_leaves_the_container_failed_naming_the_step() {
    for (fail, step) in [
        ("provision_ready:web", "ready"),
        ("provision_user:web", "user"),
        ("provision_ssh:web", "ssh"),
        ("snapshot_create:web/initial-state", "initial_snapshot"),
    ] {
        let project = Project::new();
        project
            .lxdev(["container", "create", "web", "busybox"])
            .env("LXDEV_FAKE_FAIL", fail)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!("step `{step}`")));
        let config = project.config();
        let web = &config.containers["web"];
        assert_eq!(web.state, Some(ContainerState::Failed), "{fail}");
        assert!(
            web.error.as_deref().unwrap().contains(&format!("`{step}`")),
            "{fail}"
        );
        assert!(web.snapshots.is_empty(), "{fail}: {}", project.yaml());
        assert_eq!(project.runtime_instances(), ["demo-web"], "{fail}");
        // Re-running is safe: remove it and create it again.
        project
            .lxdev(["container", "remove", "web"])
            .assert()
            .success();
        project
            .lxdev(["container", "create", "web", "busybox"])
            .assert()
            .success();
        assert_eq!(project.config().containers["web"].state, None, "{fail}");
    }
}

/// SIGKILLs `container create web busybox` once its step note (beside
/// the file, not in it: no transaction per step) says it is at `step`;
/// returns the note's path.
fn kill_create_of_web_at(project: &Project, step: &str) -> std::path::PathBuf {
    let mut child = project
        .spawn_lxdev(["container", "create", "web", "busybox"])
        .env("LXDEV_FAKE_DELAY_MS", "800")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let note = project.wait_for_noted_step("web", step);
    child.kill().unwrap();
    child.wait().unwrap();
    note
}

#[test]
fn a_kill_during_each_step_is_named_by_doctor_and_settled() {
    for step in ["ready", "user", "ssh", "initial_snapshot"] {
        let project = Project::new();
        let note = kill_create_of_web_at(&project, step);
        // The file still says what the reservation said: every step
        // pending (the initial snapshot's own reservation records its step).
        let text = project.yaml();
        if step != "initial_snapshot" {
            assert!(!text.contains("step:"), "{step}: {text}");
            assert!(
                text.contains("pending_steps: [ready, user, ssh, initial_snapshot]"),
                "{step}: {text}"
            );
        }
        // Readers see the note: list and doctor name the step.
        let listed = project.lxdev(["--json", "list"]).assert().success();
        let listed = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
        assert!(
            listed.contains(&format!("\"step\": \"{step}\"")),
            "{listed}"
        );
        project.lxdev(["doctor"]).assert().code(1).stdout(
            predicate::str::contains("`web`")
                .and(predicate::str::contains(format!("step `{step}`"))),
        );
        project.lxdev(["doctor", "--fix"]).assert().success();
        assert!(
            !note.exists(),
            "{step}: the settled operation's note is swept"
        );
        let config = project.config();
        let web = &config.containers["web"];
        // What was not done is now in the file itself.
        let all = ["ready", "user", "ssh", "initial_snapshot"];
        let from = all.iter().position(|s| *s == step).unwrap();
        let pending: Vec<&str> = web.pending_steps.iter().map(|s| s.as_str()).collect();
        assert_eq!(pending, all[from..], "{step}: {}", project.yaml());
        assert_eq!(
            web.state,
            Some(ContainerState::Failed),
            "{step}: {}",
            project.yaml()
        );
        assert!(web.error.as_deref().unwrap().contains(step), "{step}");
        assert!(
            web.snapshots
                .values()
                .all(|s| s.state != Some(SnapshotState::Creating)),
            "{step}: {}",
            project.yaml()
        );
        project
            .lxdev(["container", "remove", "web"])
            .assert()
            .success();
        project
            .lxdev(["container", "create", "web", "busybox"])
            .assert()
            .success();
        project.lxdev(["doctor"]).assert().success();
    }
}

/// A power loss may take back a step note (it is not synced): doctor then
/// reads the file's record, where the reservation wrote every step as
/// pending. It says less, never that the container is ready.
#[test]
fn a_killed_create_whose_step_note_was_lost_is_still_failed_not_ready() {
    let project = Project::new();
    let note = kill_create_of_web_at(&project, "ssh");
    // Emptied, as a rename not yet on disk may leave it.
    std::fs::write(&note, "").unwrap();
    project.lxdev(["doctor"]).assert().code(1).stdout(
        predicate::str::contains("container `web` was left `creating`")
            .and(predicate::str::contains("step `").not()),
    );
    project
        .lxdev(["doctor", "--fix"])
        .assert()
        .success()
        .stdout(predicate::str::contains("never provisioned: marked failed"));
    let config = project.config();
    let web = &config.containers["web"];
    assert_eq!(
        web.state,
        Some(ContainerState::Failed),
        "{}",
        project.yaml()
    );
    let pending: Vec<&str> = web.pending_steps.iter().map(|s| s.as_str()).collect();
    assert_eq!(pending, ["ready", "user", "ssh", "initial_snapshot"]);
    assert!(!note.exists());
    project.lxdev(["doctor"]).assert().code(1);
}

#[test]
fn reset_goes_back_to_initial_state_and_starts_the_container() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    project.lxdev(["down", "web"]).assert().success();
    let before = project.bytes();
    project
        .lxdev(["container", "reset", "web"])
        .assert()
        .success()
        .stdout(predicate::str::contains("initial-state"));
    assert_eq!(project.bytes(), before, "a reset leaves the file as it was");
    assert_eq!(
        runtime_file(&project, "demo-web/status").as_deref(),
        Some("Running")
    );
    project
        .lxdev(["container", "reset", "web", "nosuch"])
        .assert()
        .code(3);
}

#[test]
fn exec_refuses_bad_users_and_environment() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["exec", "web", "-u", "-rf", "--", "true"])
        .assert()
        .code(2);
    project
        .lxdev(["exec", "web", "--env", "NOEQUALS", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("KEY=VALUE"));
    project
        .lxdev(["exec", "web", "-u", "nobody-here", "--", "true"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no user `nobody-here`"));
}

#[test]
fn list_shows_ip_and_ports_and_doctor_shows_warnings() {
    let project = Project::with_yaml(
        "project: lp\nruntime: fake\ndefaults:\n  ports: [8080]\ncontainers:\n  web:\n    image: busybox\n    ports: [3000, 5173]\n  db:\n    image: busybox\n    warning: \"SSH is off: no sshd\"\n",
    );
    project.make_runtime_instance("lp-web");
    project.make_runtime_instance("lp-db");
    let out = project.lxdev(["list"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let header = stdout.lines().next().unwrap();
    assert!(
        header.contains("IP") && header.contains("PORTS"),
        "{stdout}"
    );
    let web = stdout.lines().find(|l| l.starts_with("web")).unwrap();
    assert!(web.ends_with("3000,5173"), "{stdout}");
    let db = stdout.lines().find(|l| l.starts_with("db")).unwrap();
    assert!(db.ends_with("8080"), "the defaults' ports: {stdout}");
    assert!(db.contains("ready (warning)"), "{stdout}");
    let json = project.lxdev(["--json", "list"]).assert().success();
    let json: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    let db = json["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "db")
        .unwrap();
    assert_eq!(db["ports"], serde_json::json!([8080]));
    assert_eq!(db["ip"], serde_json::Value::Null);
    assert_eq!(db["warning"], "SSH is off: no sshd");
    project
        .lxdev(["doctor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("container `db`: SSH is off"));
}

#[test]
fn up_waits_for_the_container_and_says_where_it_is() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    project.lxdev(["down", "web"]).assert().success();
    project.lxdev(["up", "web"]).assert().success().stdout(
        predicate::str::contains("started web")
            .and(predicate::str::contains("address: no network")),
    );
}
