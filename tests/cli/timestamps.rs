//! A timestamp written by hand in containers.yaml is read strictly: an
//! impossible date or a malformed offset makes the file invalid (exit 65),
//! naming the key and its line, and the file stays as it was. A lenient
//! reader would roll `2026-13-45T99:99:99Z` over into 2027 and judge the
//! operation by that.

use crate::support::Project;

/// Runs commands that read the file and checks each one refuses it, naming
/// `key` and `line`, and leaves the bytes alone.
fn assert_rejected(text: &str, key: &str, line: usize) {
    let project = Project::with_yaml(text);
    for args in [
        &["list"][..],
        &["container", "create", "other", "busybox"][..],
        &["doctor"][..],
    ] {
        let out = project.lxdev(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("containers.yaml"),
            "names the file: {stderr}"
        );
        assert!(
            stderr.contains(&format!("`{key}`")),
            "names {key}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("line {line},")),
            "names line {line}: {stderr}"
        );
    }
    assert_eq!(project.yaml(), text, "file untouched");
    assert!(project.temp_files().is_empty());
}

#[test]
fn an_impossible_container_created_at_is_an_invalid_file() {
    assert_rejected(
        "project: demo\nruntime: fake\ncontainers:\n  dev:\n    image: busybox\n    \
         created_at: \"2026-13-45T99:99:99Z\"\n",
        "created_at",
        6,
    );
}

#[test]
fn a_malformed_offset_in_a_snapshot_created_at_is_an_invalid_file() {
    assert_rejected(
        "project: demo\nruntime: fake\ncontainers:\n  dev:\n    image: busybox\n    snapshots:\n      \
         s1:\n        created_at: 2026-01-02T03:04:05+02x00\n",
        "created_at",
        8,
    );
}

#[test]
fn an_impossible_operation_started_at_is_an_invalid_file() {
    assert_rejected(
        "project: demo\nruntime: fake\ncontainers:\n  dev:\n    image: busybox\n    state: creating\n    \
         operation:\n      kind: create\n      pid: 1\n      host: elsewhere\n      \
         started_at: \"2026-02-30T00:00:00.000Z\"\n",
        "started_at",
        11,
    );
}

#[test]
fn times_lxc_dev_manager_writes_are_read() {
    let text = "project: demo\nruntime: fake\ncontainers:\n  dev:\n    image: busybox\n    \
                created_at: \"2026-01-02T03:04:05.123456789+01:00\"\n    snapshots:\n      \
                s1:\n        created_at: 2026-01-02T03:04:05Z\n";
    let project = Project::with_yaml(text);
    project.lxdev(["list"]).assert().success();
    assert_eq!(project.yaml(), text);
}
