use predicates::prelude::*;

use crate::support::Project;

#[test]
fn init_writes_a_loadable_project_file() {
    let project = Project::new();
    let config = project.config();
    assert_eq!(config.project, "demo");
    assert_eq!(config.runtime.as_deref(), Some("fake"));
    assert!(config.containers.is_empty());
}

#[test]
fn init_names_the_project_after_the_directory() {
    let project = Project::empty();
    let dir = project.dir().join("webapp");
    std::fs::create_dir(&dir).unwrap();
    project.lxdev(["-C", "webapp", "init"]).assert().success();
    let text = std::fs::read_to_string(dir.join("containers.yaml")).unwrap();
    let config = lxdev::config::model::parse(&text, &dir).unwrap();
    assert_eq!(config.project, "webapp");
}

#[test]
fn init_refuses_to_overwrite() {
    let project = Project::new();
    let before = project.bytes();
    project
        .lxdev(["init", "--project", "other"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn init_rejects_an_invalid_project_name() {
    let project = Project::empty();
    project
        .lxdev(["init", "--project", "bad name"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--project"));
    assert!(!project.config_path().exists());
}

#[test]
fn commands_find_the_project_upward_like_git() {
    let project = Project::new();
    let nested = project.dir().join("src/deep");
    std::fs::create_dir_all(&nested).unwrap();
    let mut cmd = project.lxdev(["container", "create", "dev", "busybox", "--no-provision"]);
    cmd.current_dir(&nested).assert().success();
    assert_eq!(project.container_names(), ["dev"]);
}

#[test]
fn a_missing_project_is_not_found() {
    let project = Project::empty();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("lxdev init"));
    assert!(!project.config_path().exists());
}

#[test]
fn no_runtime_installed_is_unavailable_with_a_hint() {
    let project = Project::with_yaml("project: demo\ncontainers: {}\n");
    let before = project.bytes();
    let mut cmd = project.lxdev(["container", "create", "dev", "busybox", "--no-provision"]);
    // Auto-detection with no incus/lxc on PATH.
    cmd.env_remove("LXDEV_RUNTIME").env("PATH", "/nonexistent");
    cmd.assert()
        .code(69)
        .stderr(predicate::str::contains("--runtime fake"));
    assert_eq!(project.bytes(), before);
}

#[test]
fn help_explains_the_commands() {
    let project = Project::empty();
    project.lxdev(["--help"]).assert().success().stdout(
        predicate::str::contains("snapshot").and(predicate::str::contains("--lock-timeout")),
    );
    project.lxdev(["container", "frobnicate"]).assert().code(2);
}
