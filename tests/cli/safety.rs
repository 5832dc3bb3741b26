//! The promise under hostile conditions: a runtime switch, other projects'
//! instances, one file reached by two paths, runtimes that refuse, YAML
//! anchors and aliases, files the user may not write, signals. Each test
//! reproduces a way the promise once broke.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lxdev::config::model::ContainerState;
use predicates::prelude::*;

use crate::support::{Project, dead_operation};

/// Runs `lxdev ARGS...` in `dir` with the fake runtime.
fn lxdev_in(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("lxdev").unwrap();
    cmd.current_dir(dir)
        .env("LXDEV_RUNTIME", "fake")
        .env_remove("LXDEV_FAKE_DELAY_MS")
        .env_remove("LXDEV_FAKE_FAIL")
        .env_remove("LXDEV_LOCK_TIMEOUT");
    cmd
}

/// Writes the fake runtime's record of an instance tagged for `project`
/// and `config` (the tags lxdev puts on every instance it makes).
fn tagged_fake_instance(project: &Project, instance: &str, tag_project: &str, tag_config: &str) {
    let dir = project.dir().join(".lxdev/fake/instances").join(instance);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("image"), "busybox").unwrap();
    std::fs::write(dir.join("status"), "Running").unwrap();
    std::fs::write(dir.join("project"), tag_project).unwrap();
    std::fs::write(dir.join("config"), tag_config).unwrap();
}

// --- A runtime is chosen once and recorded (issue: runtime switch) ------

#[test]
fn init_records_the_runtime_it_picked_and_says_so() {
    let project = Project::empty();
    // LXDEV_RUNTIME=fake is set by the fixture; no --runtime is typed.
    project
        .lxdev(["init", "--project", "r"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fake"));
    assert_eq!(project.config().runtime.as_deref(), Some("fake"));
}

#[test]
fn another_runtime_than_the_files_is_refused_and_changes_nothing() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "web", "s1", "-d", "important"])
        .assert()
        .success();
    let before = project.bytes();
    project
        .lxdev(["doctor", "--fix"])
        .env("LXDEV_RUNTIME", "lxd")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("runtime: fake")
                .or(predicate::str::contains("`fake`"))
                .and(predicate::str::contains("lxd")),
        );
    assert_eq!(project.bytes(), before);
}

#[test]
fn doctor_never_judges_an_entry_by_another_runtime() {
    // A file without `runtime:` (lxc-dev-manager's), with an entry lxdev
    // recorded on LXD. The fake runtime must not remove or change it.
    let project = Project::with_yaml(
        "project: mix\ncontainers:\n  web:\n    image: busybox\n    runtime: lxd\n    snapshots:\n      s1:\n        description: important\n",
    );
    let before = project.bytes();
    project
        .lxdev(["doctor", "--fix"])
        .assert()
        .stdout(predicate::str::contains("web").and(predicate::str::contains("lxd")));
    assert_eq!(project.bytes(), before);
}

#[test]
fn entries_remember_their_runtime_when_the_file_names_none() {
    let project = Project::with_yaml("project: legacy\ncontainers: {}\n");
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    let text = project.yaml();
    assert!(text.contains("runtime: fake"), "{text}");
}

// --- Ownership is decided by tags (issue: other projects' instances) ----

#[test]
fn doctor_leaves_another_projects_instance_alone() {
    let project = Project::with_yaml("project: ncx\nruntime: fake\ncontainers: {}\n");
    tagged_fake_instance(&project, "ncx-b-c", "ncx-b", "/elsewhere/containers.yaml");
    let before = project.bytes();
    project
        .lxdev(["doctor", "--fix"])
        .assert()
        .success()
        .stdout(predicate::str::contains("another project"));
    assert_eq!(project.bytes(), before, "nothing adopted");
    project
        .lxdev(["doctor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("another project"));
}

#[test]
fn doctor_leaves_another_checkouts_instance_alone() {
    let project = Project::with_yaml("project: web\nruntime: fake\ncontainers: {}\n");
    tagged_fake_instance(
        &project,
        "web-dev",
        "web",
        "/other/checkout/containers.yaml",
    );
    let before = project.bytes();
    project.lxdev(["doctor", "--fix"]).assert().success();
    assert_eq!(project.bytes(), before, "nothing adopted");
}

#[test]
fn remove_refuses_an_instance_tagged_for_another_project() {
    let project = Project::with_yaml(
        "project: ncx\nruntime: fake\ncontainers:\n  b-c:\n    image: busybox\n",
    );
    tagged_fake_instance(&project, "ncx-b-c", "ncx-b", "/elsewhere/containers.yaml");
    let before = project.bytes();
    project
        .lxdev(["container", "remove", "b-c", "--force"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("ncx-b"));
    assert_eq!(project.bytes(), before);
    assert!(
        project.runtime_instances().contains(&"ncx-b-c".to_string()),
        "the other project's instance is still there"
    );
}

#[test]
fn instances_lxdev_makes_carry_the_config_tag() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    let tag = std::fs::read_to_string(project.dir().join(".lxdev/fake/instances/demo-web/config"))
        .expect("config tag written");
    assert_eq!(
        Path::new(&tag),
        std::fs::canonicalize(project.config_path()).unwrap()
    );
}

// --- One file reached by two paths (issue: per-path lock) ---------------

#[test]
fn one_file_reached_by_two_paths_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(
        b.join("containers.yaml"),
        "project: sl\nruntime: fake\ncontainers: {}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("../b/containers.yaml", a.join("containers.yaml")).unwrap();
    let children: Vec<_> = (0..40)
        .map(|i| {
            let (dir, name) = if i % 2 == 0 {
                (&a, format!("a{i}"))
            } else {
                (&b, format!("b{i}"))
            };
            std::process::Command::new(assert_cmd::cargo::cargo_bin("lxdev"))
                .current_dir(dir)
                .env("LXDEV_RUNTIME", "fake")
                .env("LXDEV_LOCK_TIMEOUT", "60")
                .args(["container", "create", &name, "busybox"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
    let text = std::fs::read_to_string(b.join("containers.yaml")).unwrap();
    let config = lxdev::config::model::parse(&text, &b.join("containers.yaml")).unwrap();
    assert_eq!(config.containers.len(), 40);
    assert!(config.containers.values().all(|c| c.state.is_none()));
    assert!(
        std::fs::symlink_metadata(a.join("containers.yaml"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the symlink stays a symlink"
    );
    for dir in [&a, &b] {
        let temps: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(temps.is_empty(), "temp files left in {}", dir.display());
    }
}

// --- A runtime that refused changed nothing ------------------------------

#[test]
fn what_the_runtime_refused_is_left_as_it_was() {
    let cases: [(&[&str], &str); 3] = [
        (&["container", "remove", "c"], "remove:c"),
        (&["snapshot", "restore", "c", "s"], "snapshot_restore:c/s"),
        (&["snapshot", "delete", "c", "s"], "snapshot_delete:c/s"),
    ];
    for (args, refusal) in cases {
        let project = Project::new();
        project
            .lxdev(["container", "create", "c", "busybox", "--no-provision"])
            .assert()
            .success();
        project
            .lxdev(["snapshot", "create", "c", "s"])
            .assert()
            .success();
        let before = project.bytes();
        project
            .lxdev(args)
            .env("LXDEV_FAKE_FAIL", refusal)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("as it was"));
        assert_eq!(
            String::from_utf8_lossy(&project.bytes()),
            String::from_utf8_lossy(&before),
            "{args:?}"
        );
        assert_eq!(project.runtime_instances(), ["demo-c"]);
        assert_eq!(project.runtime_snapshots("demo-c"), ["s"]);
    }
}

#[test]
fn a_failed_restore_that_may_be_half_done_is_still_recorded_failed() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "c", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "c", "s"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "restore", "c", "s"])
        .env("LXDEV_FAKE_FAIL", "snapshot_restore:c/s:after")
        .assert()
        .code(1);
    let config = project.config();
    assert_eq!(config.containers["c"].state, Some(ContainerState::Failed));
    assert_eq!(config.containers["c"].snapshots["s"].state, None);
}

/// `setpriv` from util-linux runs a command as another uid; only root can.
fn as_nobody(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(assert_cmd::cargo::cargo_bin("lxdev"))
        .args(args)
        .current_dir(dir)
        .env("LXDEV_RUNTIME", "fake")
        .output()
        .unwrap()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        == 0
}

#[test]
fn a_non_owners_failed_remove_leaves_the_owners_container_as_it_was() {
    if !is_root() {
        eprintln!("skipped: a_non_owners_failed_remove_...: needs root for setpriv");
        return;
    }
    let project = Project::new();
    project
        .lxdev(["container", "create", "rootc", "busybox"])
        .assert()
        .success();
    // A shared directory and file that anyone may write; the fake
    // runtime's state stays root's, so the other user's remove fails there.
    std::fs::set_permissions(project.dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        project.config_path(),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::set_permissions(project.lock_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_nobody(project.dir(), &["container", "remove", "rootc", "--force"]);
    assert!(!out.status.success(), "{out:?}");
    assert_ne!(out.status.code(), Some(101), "{out:?}");
    let entry = &project.config().containers["rootc"];
    assert_eq!(entry.state, None, "{}", project.yaml());
    assert_eq!(entry.error, None);
    assert_eq!(project.runtime_instances(), ["demo-rootc"]);
}

/// A folder this user may not write in, or a read-only file system, is a
/// refusal (exit 77) naming the folder, with the file unchanged: not a
/// plain failure (exit 1).
#[test]
fn an_unwritable_folder_or_read_only_file_system_is_exit_77() {
    if !is_root() {
        eprintln!("skipped: an_unwritable_folder_...: needs root for setpriv and mount");
        return;
    }
    let project = Project::new();
    let before = project.bytes();
    // The file is anyone's to write, its folder is root's (0755).
    std::fs::set_permissions(
        project.config_path(),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    for lock in [false, true] {
        if lock {
            std::fs::write(project.lock_path(), "").unwrap();
            std::fs::set_permissions(project.lock_path(), std::fs::Permissions::from_mode(0o666))
                .unwrap();
        }
        let out = as_nobody(project.dir(), &["container", "create", "web", "busybox"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(77),
            "lock file there: {lock}: {stderr}"
        );
        assert!(stderr.contains("may not write in its folder"), "{stderr}");
        assert_eq!(project.bytes(), before);
    }
    // A read-only bind mount of the project, in a mount namespace of its own.
    let dir = project.dir().display().to_string();
    let lxdev = assert_cmd::cargo::cargo_bin("lxdev");
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind '{dir}' '{dir}' && mount -o remount,ro,bind '{dir}' && \
             cd '{dir}' && LXDEV_RUNTIME=fake '{}' container create web busybox",
            lxdev.display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(project.bytes(), before);
}

// --- Aliases and anchors ---------------------------------------------------

#[test]
fn an_entry_written_as_an_alias_is_refused_for_changes() {
    let project = Project::with_yaml(
        "project: al\nruntime: fake\ncontainers:\n  api: &api\n    image: busybox\n  api2: *api\n",
    );
    project.make_runtime_instance("al-api");
    project.make_runtime_instance("al-api2");
    let before = project.bytes();
    for args in [
        ["container", "remove", "api2"],
        ["container", "remove", "api"],
    ] {
        project
            .lxdev(args)
            .assert()
            .code(65)
            .stderr(predicate::str::contains("line 4").and(predicate::str::contains("line 6")));
        assert_eq!(project.bytes(), before);
    }
    assert_eq!(project.runtime_instances(), ["al-api", "al-api2"]);
}

#[test]
fn an_anchored_node_used_elsewhere_is_not_edited() {
    let project = Project::with_yaml(
        "project: ra\nruntime: fake\ncontainers:\n  base: &b\n    image: debian\n  other:\n    image: busybox\n    user: *b\n",
    );
    project.make_runtime_instance("ra-base");
    let before = project.bytes();
    project
        .lxdev(["container", "remove", "base"])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("line 4").and(predicate::str::contains("line 8")));
    assert_eq!(project.bytes(), before);

    let project = Project::with_yaml(
        "project: rb\nruntime: fake\ncontainers:\n  web: &w\n    image: busybox\n  web2: *w\n",
    );
    project.make_runtime_instance("rb-web");
    project.make_runtime_instance("rb-web2");
    let before = project.bytes();
    project
        .lxdev(["snapshot", "create", "web", "s"])
        .assert()
        .code(65);
    assert_eq!(project.bytes(), before);
    assert!(project.runtime_snapshots("rb-web").is_empty());
}

#[test]
fn merge_keys_keep_working() {
    let project = Project::with_yaml(
        "project: mk\nruntime: fake\nx-base: &base\n  image: busybox\ncontainers:\n  web:\n    <<: *base\n    ports: [80]\n",
    );
    project.make_runtime_instance("mk-web");
    project
        .lxdev(["snapshot", "create", "web", "s1"])
        .assert()
        .success();
    let config = project.config();
    assert_eq!(config.containers["web"].image, "busybox");
    assert_eq!(config.containers["web"].snapshots["s1"].state, None);
    assert_eq!(project.runtime_snapshots("mk-web"), ["s1"]);
}

// --- A file the user may not write ----------------------------------------

#[test]
fn a_read_only_file_is_not_replaced() {
    let project = Project::new();
    std::fs::set_permissions(
        project.config_path(),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    let before = project.bytes();
    project
        .lxdev(["container", "create", "x", "busybox"])
        .assert()
        .code(77)
        .stderr(predicate::str::contains("0444").and(predicate::str::contains("owner")));
    assert_eq!(project.bytes(), before);
    assert_eq!(
        std::fs::metadata(project.config_path()).unwrap().mode() & 0o777,
        0o444
    );
    assert!(project.runtime_instances().is_empty());
}

// --- Messages that leave nobody stranded -----------------------------------

#[test]
fn a_name_left_by_a_dead_create_says_so_and_how_to_settle_it() {
    let project = Project::new();
    let op = dead_operation("create", "    ");
    project.append_containers(&format!(
        "  web:\n    image: busybox\n    state: creating\n{op}"
    ));
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .code(4)
        .stderr(
            predicate::str::contains("no longer runs")
                .and(predicate::str::contains("lxdev doctor --fix")),
        );
}

/// The commit after the runtime made the instance fails (the file became
/// read-only): the error says what exists, and `doctor --fix` settles it:
/// ready when nothing was to be provisioned, failed (never ready) when the
/// provisioning steps could not even be recorded.
#[test]
fn a_commit_that_fails_after_the_runtime_work_says_what_exists() {
    for (extra, settled) in [
        (Some("--no-provision"), None),
        (None, Some(ContainerState::Failed)),
    ] {
        let project = Project::new();
        let mut args = vec!["container", "create", "web", "busybox"];
        args.extend(extra);
        let child = project
            .spawn_lxdev(&args)
            .env("LXDEV_FAKE_DELAY_MS", "1500")
            .env("LXDEV_LOCK_TIMEOUT", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(|| project.yaml().contains("state: creating"));
        std::fs::set_permissions(
            project.config_path(),
            std::fs::Permissions::from_mode(0o444),
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        std::fs::set_permissions(
            project.config_path(),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("demo-web")
                && stderr.contains("exists")
                && stderr.contains("doctor --fix"),
            "{stderr}"
        );
        project.lxdev(["doctor", "--fix"]).assert().success();
        assert_eq!(
            project.config().containers["web"].state,
            settled,
            "{extra:?}"
        );
        assert_eq!(project.runtime_instances(), ["demo-web"]);
    }
}

// --- Signals ----------------------------------------------------------------

fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts `args` with a slow fake runtime, waits until the file shows the
/// operation in flight, sends `signal`, and returns the output.
fn interrupt(project: &Project, args: &[&str], signal: &str) -> std::process::Output {
    let child = project
        .spawn_lxdev(args)
        .env("LXDEV_FAKE_DELAY_MS", "5000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(|| project.yaml().contains("operation:"));
    send(signal, child.id());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the work was not stopped: {:?}",
        started.elapsed()
    );
    out
}

/// No entry in flight, and the file and the fake runtime agree.
fn assert_settled(project: &Project) {
    let config = project.config();
    let mut instances = Vec::new();
    for (name, c) in &config.containers {
        assert!(
            c.state.is_none() && c.operation.is_none(),
            "{name} left in flight: {}",
            project.yaml()
        );
        instances.push(format!("demo-{name}"));
        let mut snaps: Vec<_> = c.snapshots.keys().cloned().collect();
        snaps.sort();
        assert_eq!(project.runtime_snapshots(&format!("demo-{name}")), snaps);
        assert!(c.snapshots.values().all(|s| s.state.is_none()));
    }
    assert_eq!(project.runtime_instances(), instances);
}

#[test]
fn ctrl_c_during_each_operation_settles_it() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "base", "busybox"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "base", "keep"])
        .assert()
        .success();
    project
        .lxdev(["snapshot", "create", "base", "gone"])
        .assert()
        .success();
    let cases: [&[&str]; 6] = [
        &["container", "create", "web", "busybox"],
        &["container", "clone", "base", "copy"],
        &["snapshot", "create", "base", "s1"],
        &["snapshot", "delete", "base", "gone"],
        &["snapshot", "restore", "base", "keep"],
        &["container", "remove", "base"],
    ];
    for args in cases {
        let out = interrupt(&project, args, "INT");
        assert_eq!(
            out.status.code(),
            Some(130),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("interrupted"), "{args:?}: {stderr}");
        assert_settled(&project);
    }
}

#[test]
fn sigterm_settles_and_exits_143() {
    let project = Project::new();
    let out = interrupt(&project, &["container", "create", "web", "busybox"], "TERM");
    assert_eq!(out.status.code(), Some(143));
    assert_settled(&project);
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_leaves_the_entry_to_doctor() {
    let project = Project::new();
    let child = project
        .spawn_lxdev(["container", "create", "web", "busybox"])
        .env("LXDEV_FAKE_DELAY_MS", "5000")
        // Holding the lock in the commit keeps the first interrupt from
        // finishing before the second arrives.
        .env("LXDEV_TEST_HOLD_LOCK_MS", "3000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(|| project.yaml().contains("state: creating"));
    let pid = child.id();
    send("INT", pid);
    std::thread::sleep(Duration::from_millis(200));
    send("INT", pid);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_ne!(out.status.code(), Some(0));
    project
        .lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no longer runs"));
    project.lxdev(["doctor", "--fix"]).assert().success();
    assert_settled(&project);
}

// --- doctor and checked-in entries -----------------------------------------

const CHECKED_IN: &str = "\
project: team
runtime: fake
defaults:
  ports: [8080]
containers:
  # the main dev box
  dev:
    image: busybox
    ports: [3000]
    notes: run make dev
    snapshots:
      clean:
        description: fresh install
  # legacy, delete after the migration
  legacy:
    image: busybox
    ports: [5432]
  # api box
  api:
    image: busybox
";

#[test]
fn doctor_fix_never_deletes_checked_in_entries() {
    let project = Project::with_yaml(CHECKED_IN);
    let before = project.bytes();
    project.lxdev(["doctor"]).assert().code(1).stdout(
        predicate::str::contains("not present")
            .and(predicate::str::contains("lxdev container remove legacy")),
    );
    project.lxdev(["doctor", "--fix"]).assert().code(1);
    assert_eq!(
        String::from_utf8_lossy(&project.bytes()),
        String::from_utf8_lossy(&before)
    );
}

#[test]
fn removing_an_entry_whose_instance_is_gone_takes_its_comment_along() {
    let project = Project::with_yaml(CHECKED_IN);
    project.make_runtime_instance("team-dev");
    project
        .lxdev(["container", "remove", "legacy"])
        .assert()
        .success();
    let text = project.yaml();
    assert!(!text.contains("legacy"), "{text}");
    assert!(text.contains("  # the main dev box\n  dev:\n"), "{text}");
    assert!(text.contains("  # api box\n  api:\n"), "{text}");
    assert_eq!(project.container_names(), ["api", "dev"]);
}

// --- init picks a name its containers can use --------------------------------

#[test]
fn init_derives_a_usable_project_name_from_the_directory() {
    for (dir_name, expected) in [("my_app", "my-app"), ("1abc", "p1abc")] {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(dir_name);
        std::fs::create_dir(&dir).unwrap();
        lxdev_in(&dir)
            .args(["init", "--runtime", "fake"])
            .assert()
            .success()
            .stdout(predicate::str::contains(expected));
        lxdev_in(&dir)
            .args(["container", "create", "dev", "busybox"])
            .assert()
            .success();
        let text = std::fs::read_to_string(dir.join("containers.yaml")).unwrap();
        assert!(text.contains(&format!("project: {expected}")), "{text}");
    }
}
