//! Every kind of bad containers.yaml: a one-line error naming the file (and
//! line and column where there is one), exit 65, and the file byte-for-byte
//! unchanged.

use predicates::prelude::*;

use crate::support::Project;

fn assert_invalid(bytes: &[u8], expect: &[&str]) {
    let project = Project::empty();
    std::fs::write(project.config_path(), bytes).unwrap();
    for args in [
        &["container", "create", "dev", "busybox", "--no-provision"][..],
        &["container", "remove", "dev"][..],
        &["snapshot", "create", "dev", "s1"][..],
        &["list"][..],
    ] {
        let out = project.lxdev(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(65),
            "{args:?} on {:?}",
            String::from_utf8_lossy(bytes)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("containers.yaml"),
            "names the file: {stderr}"
        );
        for needle in expect {
            assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
        }
    }
    assert_eq!(
        std::fs::read(project.config_path()).unwrap(),
        bytes,
        "file untouched"
    );
    assert!(project.temp_files().is_empty());
}

#[test]
fn malformed_yaml_names_line_and_column() {
    assert_invalid(
        b"project: demo\ncontainers:\n  dev: [unclosed\n",
        &["line 3"],
    );
}

#[test]
fn duplicate_keys_are_rejected() {
    assert_invalid(
        b"project: demo\ncontainers:\n  dev:\n    image: a\n  dev:\n    image: b\n",
        &["dev"],
    );
}

#[test]
fn wrong_types_are_rejected() {
    assert_invalid(b"project: demo\ncontainers: 5\n", &["line 2"]);
    assert_invalid(
        b"project: demo\ncontainers:\n  dev:\n    image: busybox\n    ports: [http]\n",
        &["line 5"],
    );
}

#[test]
fn an_empty_file_is_rejected() {
    assert_invalid(b"", &["empty"]);
    assert_invalid(b"# only a comment\n", &["empty"]);
}

#[test]
fn non_utf8_is_rejected() {
    assert_invalid(
        b"project: demo\ncontainers:\n  d\xffv:\n    image: a\n",
        &["UTF-8"],
    );
}

#[test]
fn a_missing_project_key_is_rejected() {
    assert_invalid(b"containers: {}\n", &["project"]);
}

#[test]
fn invalid_names_in_the_file_are_rejected() {
    assert_invalid(
        b"project: demo\ncontainers:\n  Bad_Name:\n    image: a\n",
        &["Bad_Name"],
    );
    assert_invalid(b"project: has space\ncontainers: {}\n", &["has space"]);
}

#[test]
fn an_unknown_state_is_rejected() {
    assert_invalid(
        b"project: demo\ncontainers:\n  dev:\n    image: a\n    state: dancing\n",
        &["dancing"],
    );
}

#[test]
fn comments_order_and_unknown_keys_survive_edits() {
    let original = "\
# Team project file. Do not reorder.
project: demo   # the prefix
runtime: fake

defaults:
  ports:
    - 5173
  # who logs in
  user:
    name: dev
    password: dev
custom_tool_setting: keep me
containers:
  # the main box
  web:
    image: 'ubuntu:24.04'
    ports: [3000, 4000]
    x-notes: \"hand written\"
";
    let project = Project::with_yaml(original);
    project.make_runtime_instance("demo-web");
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "web", "s1"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "delete", "web", "s1"])
        .assert()
        .success();
    project
        .lxdev(["container", "remove", "dev"])
        .assert()
        .success();
    let text = project.yaml();
    for kept in [
        "# Team project file. Do not reorder.",
        "project: demo   # the prefix",
        "  # who logs in",
        "custom_tool_setting: keep me",
        "  # the main box",
        "    image: 'ubuntu:24.04'",
        "    ports: [3000, 4000]",
        "    x-notes: \"hand written\"",
    ] {
        assert!(text.contains(kept), "lost {kept:?} in:\n{text}");
    }
    let order: Vec<usize> = [
        "project:",
        "runtime:",
        "defaults:",
        "custom_tool_setting:",
        "containers:",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "key order kept:\n{text}"
    );
    assert!(
        !text.contains("dev:\n    image: busybox"),
        "dev was removed:\n{text}"
    );
}

#[test]
fn a_symlinked_project_file_stays_a_symlink() {
    let project = Project::new();
    let real = project.dir().join("real.yaml");
    std::fs::rename(project.config_path(), &real).unwrap();
    std::os::unix::fs::symlink("real.yaml", project.config_path()).unwrap();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    let meta = std::fs::symlink_metadata(project.config_path()).unwrap();
    assert!(meta.file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("dev:"));
}

#[test]
fn the_file_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    std::fs::set_permissions(
        project.config_path(),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    let mode = std::fs::metadata(project.config_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn unknown_runtime_is_a_usage_error() {
    let project = Project::new();
    let before = project.bytes();
    project
        .lxdev([
            "--runtime",
            "docker",
            "container",
            "create",
            "dev",
            "busybox",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("docker"));
    assert_eq!(project.bytes(), before);
}
