//! The `lxdev` binary end to end against the real LXD daemon.
//!
//! Invariant checked after every lxdev command: the containers in
//! containers.yaml are exactly the LXD instances named `<project>-...`, each
//! with the same snapshot names, and a command that succeeded leaves every
//! entry ready (no `state`, no `operation`).
//!
//! Each test uses its own project, `lxt<pid>x<n>`, and deletes every
//! instance with that prefix when it ends, pass or fail. Without a reachable
//! daemon each test prints `skipped: <test>: ...` and passes, unless
//! `LXDEV_REQUIRE_LXD=1` (CI after scripts/setup-lxd.sh), where it fails.
//! `lxc stop` takes about 3 s (busybox init's clean shutdown), so only
//! `up_down_exec_and_list_follow_lxd` stops an instance, once: its second
//! `down` must find it stopped and run no stop.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use lxdev::config::model::ContainerState;
use predicates::prelude::*;
use serde_json::Value;

use crate::hostile::{hostile_commands, shown};
use crate::support::Project;

/// The image scripts/setup-lxd.sh imports under this alias.
const IMAGE: &str = "busybox";

/// Numbers the projects of this test process.
static NEXT_PROJECT: AtomicUsize = AtomicUsize::new(0);

/// What LXD says about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LxdInstance {
    status: String,
    snapshots: BTreeSet<String>,
    config: BTreeMap<String, String>,
}

/// A project with `runtime: lxd`, and the cleanup of its instances.
struct LxdProject {
    project: Project,
    name: String,
}

impl LxdProject {
    /// A temp dir whose containers.yaml is project `lxt<pid>x<n>` with
    /// `runtime: lxd` and no containers, or `None` (after saying so) when
    /// LXD is not reachable.
    fn start(test: &str) -> Option<LxdProject> {
        if !lxd_reachable(test) {
            return None;
        }
        let name = format!(
            "lxt{}x{}",
            std::process::id(),
            NEXT_PROJECT.fetch_add(1, Ordering::SeqCst)
        );
        let lxd = LxdProject {
            project: Project::with_yaml(&format!(
                "project: {name}\nruntime: lxd\ncontainers: {{}}\n"
            )),
            name,
        };
        lxd.assert_agree_and_ready();
        Some(lxd)
    }

    /// Like [`LxdProject::start`] with no project file yet.
    fn start_empty(test: &str) -> Option<LxdProject> {
        let lxd = LxdProject::start(test)?;
        std::fs::remove_file(lxd.project.config_path()).unwrap();
        Some(lxd)
    }

    /// `lxdev ARGS...` in the project dir with the LXD runtime.
    fn lxdev<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.project.lxdev(args);
        cmd.env("LXDEV_RUNTIME", "lxd");
        cmd
    }

    /// Runs `lxdev ARGS...`, asserts it succeeded and that the file and LXD
    /// agree with every entry ready.
    fn ok<const N: usize>(&self, args: [&str; N]) -> Assert {
        let assert = self.lxdev(args).assert().success();
        self.assert_agree_and_ready();
        assert
    }

    /// Runs `lxdev ARGS...`, asserts it exited `code` and left the file
    /// byte for byte as it was, agreeing with LXD.
    fn fails<const N: usize>(&self, args: [&str; N], code: i32) -> Assert {
        let before = self.project.bytes();
        let assert = self.lxdev(args).assert().code(code);
        assert_eq!(
            String::from_utf8_lossy(&self.project.bytes()),
            String::from_utf8_lossy(&before),
            "`lxdev {}` failed and must change nothing",
            args.join(" ")
        );
        self.assert_agree_and_ready();
        assert
    }

    /// The LXD instance name of container `name`.
    fn instance(&self, name: &str) -> String {
        format!("{}-{name}", self.name)
    }

    /// LXD's instances named `<project>-...`.
    fn instances(&self) -> BTreeMap<String, LxdInstance> {
        lxd_instances(&format!("{}-", self.name))
    }

    /// What LXD says about container `name`; panics if it has no instance.
    fn lxd(&self, name: &str) -> LxdInstance {
        let instance = self.instance(name);
        self.instances()
            .remove(&instance)
            .unwrap_or_else(|| panic!("LXD has no instance `{instance}`"))
    }

    /// Why containers.yaml and LXD disagree, if they do: instance names and
    /// each instance's snapshot names.
    fn disagreement(&self) -> Option<String> {
        let file: BTreeMap<String, BTreeSet<String>> = self
            .project
            .config()
            .containers
            .iter()
            .map(|(name, c)| (self.instance(name), c.snapshots.keys().cloned().collect()))
            .collect();
        let runtime: BTreeMap<String, BTreeSet<String>> = self
            .instances()
            .into_iter()
            .map(|(name, i)| (name, i.snapshots))
            .collect();
        (file != runtime).then(|| format!("containers.yaml has {file:?}\nLXD has {runtime:?}"))
    }

    fn assert_agree(&self) {
        if let Some(why) = self.disagreement() {
            panic!(
                "containers.yaml and LXD disagree:\n{why}\n--- containers.yaml ---\n{}",
                self.project.yaml()
            );
        }
    }

    /// Agreement, and no entry or snapshot in flight or failed.
    fn assert_agree_and_ready(&self) {
        self.assert_agree();
        for (name, c) in &self.project.config().containers {
            assert!(
                c.state.is_none() && c.operation.is_none() && c.error.is_none(),
                "container `{name}` is not ready:\n{}",
                self.project.yaml()
            );
            for (snap, s) in &c.snapshots {
                assert!(
                    s.state.is_none() && s.operation.is_none() && s.error.is_none(),
                    "snapshot `{name}/{snap}` is not ready:\n{}",
                    self.project.yaml()
                );
            }
        }
    }

    fn container_names(&self) -> Vec<String> {
        self.project.container_names()
    }
}

impl Drop for LxdProject {
    /// Deletes every instance with the project's prefix, even when an
    /// assertion failed.
    fn drop(&mut self) {
        let prefix = format!("{}-", self.name);
        let Ok(names) = std::panic::catch_unwind(|| lxd_instances(&prefix)) else {
            eprintln!("cleanup: could not list the instances of `{prefix}*`");
            return;
        };
        for name in names.keys() {
            let out = lxc(&["delete", "--force", name]);
            if !out.status.success() {
                eprintln!(
                    "cleanup: `lxc delete --force {name}` failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// Whether `lxc query /1.0` reaches a daemon. When it does not, says the
/// test is skipped (or panics under `LXDEV_REQUIRE_LXD`).
fn lxd_reachable(test: &str) -> bool {
    let reason = match std::process::Command::new("lxc")
        .args(["query", "/1.0"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "`lxc query /1.0` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => format!("`lxc` could not be run: {err}"),
    };
    if std::env::var_os("LXDEV_REQUIRE_LXD").is_some() {
        panic!("{test}: LXD not reachable and LXDEV_REQUIRE_LXD is set: {reason}");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of
    // passing tests, and a skip should be seen.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {test}: LXD not reachable ({reason}; run scripts/setup-lxd.sh)"
    );
    false
}

/// `lxc ARGS...` to completion, output captured.
fn lxc(args: &[&str]) -> std::process::Output {
    std::process::Command::new("lxc")
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run lxc")
}

/// Every LXD instance whose name starts with `prefix`, from one
/// `GET /1.0/instances?recursion=2`. Retried a few times: a listing that
/// races another test's delete can fail with "not found".
fn lxd_instances(prefix: &str) -> BTreeMap<String, LxdInstance> {
    let mut last_error = String::new();
    for _ in 0..5 {
        let out = lxc(&["query", "/1.0/instances?recursion=2"]);
        if !out.status.success() {
            last_error = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("lxc query prints JSON");
        return all
            .iter()
            .filter_map(|i| {
                let name = i["name"].as_str()?;
                name.starts_with(prefix)
                    .then(|| (name.to_owned(), parse_instance(i)))
            })
            .collect();
    }
    panic!("`lxc query /1.0/instances?recursion=2` kept failing: {last_error}");
}

fn parse_instance(api: &Value) -> LxdInstance {
    let snapshots = api["snapshots"]
        .as_array()
        .map(|snaps| {
            snaps
                .iter()
                .filter_map(|s| s["name"].as_str())
                // LXD 5.0 gives the bare name; older servers `inst/snap`.
                .map(|s| s.rsplit('/').next().unwrap_or(s).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let config = api["config"]
        .as_object()
        .map(|c| {
            c.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    LxdInstance {
        status: api["status"].as_str().unwrap_or_default().to_owned(),
        snapshots,
        config,
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn json_stdout(assert: &Assert) -> Value {
    serde_json::from_slice(&assert.get_output().stdout).expect("--json prints JSON")
}

#[test]
fn init_records_the_lxd_runtime() {
    let Some(lxd) = LxdProject::start_empty("init_records_the_lxd_runtime") else {
        return;
    };
    lxd.lxdev(["init", "--project", &lxd.name, "--runtime", "lxd"])
        .assert()
        .success();
    let config = lxd.project.config();
    assert_eq!(config.project, lxd.name);
    assert_eq!(config.runtime.as_deref(), Some("lxd"));
    assert!(config.containers.is_empty());
    lxd.assert_agree_and_ready();
    lxd.ok(["doctor"])
        .stdout(predicate::str::contains("no problems").and(predicate::str::contains("lxd")));
}

#[test]
fn create_duplicate_and_missing_image() {
    let Some(lxd) = LxdProject::start("create_duplicate_and_missing_image") else {
        return;
    };
    lxd.ok(["container", "create", "dev", IMAGE])
        .stdout(predicate::str::contains(lxd.instance("dev")));
    let dev = lxd.lxd("dev");
    assert_eq!(dev.status, "Running");
    assert_eq!(
        dev.config.get("user.lxdev.project"),
        Some(&lxd.name),
        "{dev:?}"
    );
    let config_path = std::fs::canonicalize(lxd.project.config_path()).unwrap();
    assert_eq!(
        dev.config.get("user.lxdev.config").map(String::as_str),
        config_path.to_str(),
        "{dev:?}"
    );
    let entry = &lxd.project.config().containers["dev"];
    assert_eq!(entry.image, IMAGE);
    assert_eq!(
        entry.owner.as_deref(),
        Some(lxdev::process::current_user().as_str())
    );
    assert!(entry.created_at.is_some());

    lxd.fails(["container", "create", "dev", IMAGE], 4)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(lxd.lxd("dev"), dev, "the duplicate left LXD alone");

    lxd.fails(["container", "create", "bad", "lxdev-no-such-image"], 1)
        .stderr(predicate::str::contains("lxdev-no-such-image"));
    assert_eq!(lxd.container_names(), ["dev"]);
    assert_eq!(
        lxd.instances().keys().cloned().collect::<Vec<_>>(),
        [lxd.instance("dev")],
        "a create that failed leaves no instance"
    );
}

/// An instance named like a container but made by someone else (here by
/// hand) is not lxdev's: a create under that name must change nothing, or a
/// later `remove` would delete what lxdev never made.
#[test]
fn create_over_an_unrecorded_instance_is_a_conflict_and_changes_nothing() {
    let Some(lxd) =
        LxdProject::start("create_over_an_unrecorded_instance_is_a_conflict_and_changes_nothing")
    else {
        return;
    };
    let inst = lxd.instance("taken");
    assert!(lxc(&["init", IMAGE, &inst]).status.success());
    let by_hand = lxd.lxd("taken");
    let before = lxd.project.bytes();
    lxd.lxdev(["container", "create", "taken", IMAGE])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(
        String::from_utf8_lossy(&lxd.project.bytes()),
        String::from_utf8_lossy(&before),
        "a create that made nothing records nothing"
    );
    assert_eq!(lxd.lxd("taken"), by_hand, "the instance is left as it was");
    // It is an orphan, which doctor adopts.
    lxd.ok(["doctor", "--fix"]);
    assert_eq!(lxd.container_names(), ["taken"]);
}

#[test]
fn parallel_creates_and_snapshots_all_land() {
    let Some(lxd) = LxdProject::start("parallel_creates_and_snapshots_all_land") else {
        return;
    };
    let children: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            lxd.project
                .spawn_lxdev(["container", "create", name, IMAGE])
                .env("LXDEV_RUNTIME", "lxd")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn lxdev")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    lxd.assert_agree_and_ready();
    assert_eq!(lxd.container_names(), ["a", "b"]);
    for name in ["a", "b"] {
        assert_eq!(lxd.lxd(name).status, "Running");
    }

    // Two snapshots of one container at once: LXD runs them one after the
    // other, and both must be recorded.
    let children: Vec<_> = ["s1", "s2"]
        .into_iter()
        .map(|snap| {
            lxd.project
                .spawn_lxdev(["snapshot", "create", "a", snap])
                .env("LXDEV_RUNTIME", "lxd")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn lxdev")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    lxd.assert_agree_and_ready();
    assert_eq!(lxd.lxd("a").snapshots, set(&["s1", "s2"]));
}

#[test]
fn snapshots_create_list_restore_delete() {
    let Some(lxd) = LxdProject::start("snapshots_create_list_restore_delete") else {
        return;
    };
    let inst = lxd.instance("c");
    lxd.ok(["container", "create", "c", IMAGE]);
    lxd.ok(["snapshot", "create", "c", "s1", "-d", "before the change"]);
    assert_eq!(lxd.lxd("c").snapshots, set(&["s1"]));
    let s1 = &lxd.project.config().containers["c"].snapshots["s1"];
    assert_eq!(s1.description.as_deref(), Some("before the change"));
    assert!(s1.created_at.is_some());

    let listed = json_stdout(&lxd.ok(["--json", "snapshot", "list", "c"]));
    assert_eq!(listed["snapshots"][0]["name"], "s1", "{listed}");
    assert_eq!(listed["snapshots"][0]["description"], "before the change");

    // A change made after the snapshot, which the restore must undo.
    assert!(
        lxc(&["exec", &inst, "--", "touch", "/after-s1"])
            .status
            .success()
    );
    lxd.ok(["snapshot", "restore", "c", "s1"]);
    assert_eq!(
        lxc(&["exec", &inst, "--", "test", "-e", "/after-s1"])
            .status
            .code(),
        Some(1),
        "the restore rolled the file system back"
    );
    assert_eq!(lxd.lxd("c").status, "Running");
    assert_eq!(lxd.lxd("c").snapshots, set(&["s1"]));

    lxd.fails(["snapshot", "restore", "c", "nope"], 3);
    lxd.fails(["snapshot", "create", "c", "s1"], 4);

    lxd.ok(["snapshot", "create", "c", "s2"]);
    lxd.ok(["snapshot", "delete", "c", "s1"]);
    assert_eq!(lxd.lxd("c").snapshots, set(&["s2"]));
    assert_eq!(
        lxd.project.config().containers["c"]
            .snapshots
            .keys()
            .collect::<Vec<_>>(),
        ["s2"]
    );
}

#[test]
fn clone_clone_from_snapshot_and_remove() {
    let Some(lxd) = LxdProject::start("clone_clone_from_snapshot_and_remove") else {
        return;
    };
    lxd.ok(["container", "create", "base", IMAGE]);
    lxd.ok(["snapshot", "create", "base", "s1"]);
    lxd.ok(["container", "clone", "base", "copy"]);
    lxd.ok(["container", "clone", "base", "fromsnap", "--snapshot", "s1"]);

    let config = lxd.project.config();
    assert_eq!(
        config.containers["copy"].cloned_from.as_deref(),
        Some("base")
    );
    assert_eq!(
        config.containers["fromsnap"].cloned_from.as_deref(),
        Some("base/s1")
    );
    for name in ["copy", "fromsnap"] {
        assert!(config.containers[name].snapshots.is_empty());
        let clone = lxd.lxd(name);
        assert!(clone.snapshots.is_empty(), "{name}: {clone:?}");
        assert_eq!(clone.status, "Running", "{name}");
        assert_eq!(
            clone.config.get("user.lxdev.project"),
            Some(&lxd.name),
            "{name}"
        );
    }
    assert_eq!(lxd.lxd("base").snapshots, set(&["s1"]));

    lxd.ok(["container", "remove", "copy", "fromsnap"]);
    assert_eq!(lxd.container_names(), ["base"]);
    assert_eq!(
        lxd.instances().keys().cloned().collect::<Vec<_>>(),
        [lxd.instance("base")]
    );

    lxd.fails(["container", "remove", "base", "nope"], 3);
    assert_eq!(lxd.lxd("base").status, "Running", "all names checked first");
    lxd.ok(["container", "remove", "base"]);
    assert!(lxd.container_names().is_empty());
    assert!(lxd.instances().is_empty());
}

#[test]
fn up_down_exec_and_list_follow_lxd() {
    let Some(lxd) = LxdProject::start("up_down_exec_and_list_follow_lxd") else {
        return;
    };
    lxd.ok(["container", "create", "c", IMAGE]);
    let before = lxd.project.bytes();

    lxd.lxdev(["exec", "c", "--", "sh", "-c", "exit 3"])
        .assert()
        .code(3);
    lxd.lxdev(["exec", "c", "--", "sh", "-c", "echo out-$((40+2))"])
        .assert()
        .success()
        .stdout(predicate::str::contains("out-42"));
    lxd.assert_agree_and_ready();

    let listed = json_stdout(&lxd.ok(["--json", "list"]));
    assert_eq!(listed["containers"][0]["name"], "c", "{listed}");
    assert_eq!(listed["containers"][0]["status"], "Running");
    assert_eq!(lxd.lxd("c").status, "Running");

    lxd.ok(["down", "c"])
        .stdout(predicate::str::contains("stopped c"));
    assert_eq!(lxd.lxd("c").status, "Stopped");
    // Nothing to do is not a failure ("The instance is already stopped"
    // from `lxc stop` exited 1).
    lxd.ok(["down", "c"])
        .stdout(predicate::str::contains("already stopped"));
    assert_eq!(lxd.lxd("c").status, "Stopped");
    let listed = json_stdout(&lxd.ok(["--json", "container", "list"]));
    assert_eq!(listed["containers"][0]["status"], "Stopped", "{listed}");
    lxd.lxdev(["exec", "c", "--", "true"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not running"));

    lxd.ok(["up", "c"])
        .stdout(predicate::str::contains("started c"));
    assert_eq!(lxd.lxd("c").status, "Running");
    lxd.ok(["up", "c"])
        .stdout(predicate::str::contains("already running"));
    assert_eq!(lxd.lxd("c").status, "Running");
    lxd.lxdev(["exec", "c", "--", "true"]).assert().success();
    assert_eq!(
        lxd.project.bytes(),
        before,
        "up, down, exec and list leave the file alone"
    );
}

/// A directory holding an `lxc` that records each call's arguments (NUL
/// after each, a newline after the call) and then runs the real client.
/// lxdev spawns `lxc` by name, so a PATH starting with this directory makes
/// every call it makes go through the shim.
struct RecordingShim {
    dir: tempfile::TempDir,
}

impl RecordingShim {
    fn new() -> RecordingShim {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let real = std::env::split_paths(&path)
            .map(|dir| dir.join("lxc"))
            .find(|candidate| candidate.is_file())
            .expect("a real `lxc` on PATH");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{log}'\nprintf '\\n' >> '{log}'\nexec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display()
        );
        let shim = dir.path().join("lxc");
        std::fs::write(&shim, script).unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        RecordingShim { dir }
    }

    /// PATH with the shim first.
    fn path(&self) -> std::ffi::OsString {
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let dirs =
            std::iter::once(self.dir.path().to_path_buf()).chain(std::env::split_paths(&rest));
        std::env::join_paths(dirs).unwrap()
    }

    /// Every recorded call, as its arguments.
    fn calls(&self) -> Vec<Vec<String>> {
        let log = std::fs::read(self.dir.path().join("calls.log")).unwrap_or_default();
        String::from_utf8_lossy(&log)
            .split("\0\n")
            .filter(|call| !call.is_empty())
            .map(|call| call.split('\0').map(str::to_owned).collect())
            .collect()
    }
}

/// The hostile table of `hostile.rs` against real LXD: each command exits 2
/// naming the bad value, the file is byte-identical, LXD's snapshots of the
/// instance are unchanged, and no `lxc` call lxdev made carries the value.
/// Before the fix, `snapshot create web ..` exited 0 and damaged the dir
/// pool, and `-- --reuse` made an untracked `snap0`.
#[test]
fn hostile_names_never_reach_lxc() {
    let Some(lxd) = LxdProject::start("hostile_names_never_reach_lxc") else {
        return;
    };
    lxd.ok(["container", "create", "web", IMAGE]);
    lxd.ok(["snapshot", "create", "web", "clean"]);
    let web = lxd.lxd("web");
    assert_eq!(web.snapshots, set(&["clean"]));
    let before = lxd.project.bytes();

    let shim = RecordingShim::new();
    // The shim is the `lxc` lxdev runs.
    lxd.lxdev(["list"])
        .env("PATH", shim.path())
        .assert()
        .success();
    assert!(
        shim.calls()
            .iter()
            .any(|call| call.first().map(String::as_str) == Some("query")),
        "lxdev did not run the shim: {:?}",
        shim.calls()
    );

    let commands = hostile_commands();
    for (args, bad) in &commands {
        lxd.lxdev(args)
            .env("PATH", shim.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("`{}`", shown(bad))));
        assert_eq!(
            String::from_utf8_lossy(&lxd.project.bytes()),
            String::from_utf8_lossy(&before),
            "{args:?} must leave the file alone"
        );
    }
    lxd.assert_agree_and_ready();
    assert_eq!(lxd.lxd("web"), web, "LXD's instance is unchanged");
    assert_eq!(
        lxd.instances().keys().cloned().collect::<Vec<_>>(),
        [lxd.instance("web")],
        "no instance was made"
    );

    let calls = shim.calls();
    for (_, bad) in &commands {
        let carried = calls.iter().find(|call| {
            call.iter().any(|arg| {
                arg == bad
                    || arg.ends_with(&format!("/{bad}"))
                    || (bad.len() > 2 && arg.contains(bad))
            })
        });
        assert!(
            carried.is_none(),
            "`{}` reached lxc: {carried:?}",
            shown(bad)
        );
    }

    lxd.ok(["snapshot", "restore", "web", "clean"]);
    assert_eq!(lxd.lxd("web").snapshots, set(&["clean"]));
    assert_eq!(lxd.lxd("web").status, "Running");
}

#[test]
fn doctor_finds_and_fixes_orphans_and_missing_instances() {
    let Some(lxd) = LxdProject::start("doctor_finds_and_fixes_orphans_and_missing_instances")
    else {
        return;
    };
    lxd.ok(["container", "create", "kept", IMAGE]);
    lxd.ok(["container", "create", "gone", IMAGE]);
    lxd.ok(["doctor"])
        .stdout(predicate::str::contains("no problems"));

    // Changes made behind lxdev's back.
    let orphan = lxd.instance("orphan");
    assert!(lxc(&["init", IMAGE, &orphan]).status.success());
    assert!(
        lxc(&["delete", "--force", &lxd.instance("gone")])
            .status
            .success()
    );
    assert!(
        lxc(&["snapshot", &lxd.instance("kept"), "byhand"])
            .status
            .success()
    );
    assert!(lxd.disagreement().is_some());

    let before = lxd.project.bytes();
    let report = lxd
        .lxdev(["--json", "doctor"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("doctor --fix"));
    assert_eq!(lxd.project.bytes(), before, "doctor without --fix");
    let report = json_stdout(&report);
    let findings: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let message = f["message"].as_str().unwrap();
            let target = ["`orphan`", "`gone`", "`kept/byhand`"]
                .into_iter()
                .find(|t| message.contains(t))
                .unwrap_or(message);
            (f["kind"].as_str().unwrap().to_owned(), target.to_owned())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("missing_from_config", "`orphan`"),
        ("missing_from_runtime", "`gone`"),
        ("missing_from_config", "`kept/byhand`"),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_owned(), t.to_owned()))
    .collect();
    assert_eq!(findings, expected, "{report}");

    // `gone` may be a checked-in entry not created here yet: --fix leaves
    // it to the user, and `container remove` drops it.
    lxd.lxdev(["doctor", "--fix"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("fixed").and(predicate::str::contains("needs you")));
    assert_eq!(lxd.container_names(), ["gone", "kept", "orphan"]);
    lxd.ok(["container", "remove", "gone"]);
    assert_eq!(lxd.container_names(), ["kept", "orphan"]);
    assert_eq!(lxd.lxd("kept").snapshots, set(&["byhand"]));
    lxd.ok(["doctor"])
        .stdout(predicate::str::contains("no problems"));
}

/// When the kill test kills lxdev.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// As soon as the file shows the reservation (`state: creating`).
    Reserved,
    /// Once LXD shows the instance and the file still says `creating`.
    InstanceMade,
}

#[test]
fn sigkill_after_reserving_a_create_is_settled_by_doctor_fix() {
    kill_a_create_then_doctor_fix(
        "sigkill_after_reserving_a_create_is_settled_by_doctor_fix",
        KillPoint::Reserved,
    );
}

#[test]
fn sigkill_after_lxd_made_the_instance_is_settled_by_doctor_fix() {
    kill_a_create_then_doctor_fix(
        "sigkill_after_lxd_made_the_instance_is_settled_by_doctor_fix",
        KillPoint::InstanceMade,
    );
}

/// SIGKILLs `lxdev container create k` at `point`; `doctor` then reports
/// the stale operation without changing anything, and `doctor --fix`
/// makes the file agree with whatever LXD ended up with.
fn kill_a_create_then_doctor_fix(test: &str, point: KillPoint) {
    let Some(lxd) = LxdProject::start(test) else {
        return;
    };
    let inst = lxd.instance("k");
    lxd.ok(["container", "create", "before", IMAGE]);
    let mut child = lxd
        .project
        .spawn_lxdev(["container", "create", "k", IMAGE])
        .env("LXDEV_RUNTIME", "lxd")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lxdev");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reserved = lxd
            .project
            .config()
            .containers
            .get("k")
            .is_some_and(|k| k.state == Some(ContainerState::Creating));
        let ready = match point {
            KillPoint::Reserved => reserved,
            KillPoint::InstanceMade => {
                reserved
                    && lxc(&["query", &format!("/1.0/instances/{inst}")])
                        .status
                        .success()
            }
        };
        if ready {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("lxdev exited ({status}) before the kill point {point:?}");
        }
        assert!(Instant::now() < deadline, "kill point {point:?} never came");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL lxdev");
    child.wait().unwrap();
    // lxdev's `lxc` child, if any, outlives it and may still make or start
    // the instance: let it finish so LXD holds still.
    wait_for_clients_of(&inst);

    let k = &lxd.project.config().containers["k"];
    assert_eq!(k.state, Some(ContainerState::Creating), "the kill left it");
    assert_eq!(k.operation.as_ref().map(|op| op.pid), Some(child.id()));
    let made = lxd.instances().contains_key(&inst);
    if matches!(point, KillPoint::InstanceMade) {
        assert!(made, "LXD showed `{inst}` before the kill");
    }
    let _ = writeln!(
        std::io::stderr(),
        "{test}: `{inst}` {} after the kill",
        if made { "exists" } else { "does not exist" }
    );

    let before = lxd.project.bytes();
    lxd.lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no longer runs"));
    assert_eq!(lxd.project.bytes(), before, "doctor without --fix");

    lxd.ok(["doctor", "--fix"]);
    let expected: &[&str] = if made { &["before", "k"] } else { &["before"] };
    assert_eq!(lxd.container_names(), expected);
    if made {
        // Settled as it is: a create killed before `lxc start` leaves it stopped.
        let listed = json_stdout(&lxd.ok(["--json", "list"]));
        let row = listed["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == "k")
            .unwrap_or_else(|| panic!("no `k` in {listed}"));
        assert_eq!(row["status"], lxd.lxd("k").status.as_str(), "{listed}");
    }
    lxd.ok(["doctor"])
        .stdout(predicate::str::contains("no problems"));
}

/// Waits until no process has `instance` in its command line (the `lxc`
/// clients a killed lxdev left running).
fn wait_for_clients_of(instance: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let me = std::process::id().to_string();
    loop {
        let busy = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != me.as_str())
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|cmdline| {
                cmdline
                    .split(|b| *b == 0)
                    .any(|arg| String::from_utf8_lossy(arg).contains(instance))
            });
        if !busy {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "an `lxc` for `{instance}` still runs after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ownership is decided by lxdev's tags, never by the name prefix alone:
/// project `N` must not adopt or remove the instances of project `N-b`
/// (whose names also start `N-`), nor those of another checkout of `N`.
#[test]
fn another_projects_instances_are_never_adopted_or_removed() {
    let Some(lxd) = LxdProject::start("another_projects_instances_are_never_adopted_or_removed")
    else {
        return;
    };
    let other_project = Project::with_yaml(&format!(
        "project: {}-b\nruntime: lxd\ncontainers: {{}}\n",
        lxd.name
    ));
    let other_checkout = Project::with_yaml(&format!(
        "project: {}\nruntime: lxd\ncontainers: {{}}\n",
        lxd.name
    ));
    for (project, name) in [(&other_project, "c"), (&other_checkout, "x")] {
        project
            .lxdev(["container", "create", name, IMAGE])
            .env("LXDEV_RUNTIME", "lxd")
            .assert()
            .success();
    }
    // Both instances carry this project's prefix.
    let theirs = [lxd.instance("b-c"), lxd.instance("x")];
    let before = lxd.project.bytes();
    lxd.lxdev(["doctor", "--fix"])
        .assert()
        .success()
        .stdout(predicate::str::contains("another project"));
    assert_eq!(lxd.project.bytes(), before, "nothing adopted");

    // Even recorded here by hand, another project's instance is not ours
    // to delete.
    lxd.project
        .append_containers(&format!("  b-c:\n    image: {IMAGE}\n"));
    let before = lxd.project.bytes();
    lxd.lxdev(["container", "remove", "b-c", "--force"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!(
            "project `{}-b`",
            lxd.name
        )));
    assert_eq!(lxd.project.bytes(), before);
    let left = lxd_instances(&format!("{}-", lxd.name));
    for instance in &theirs {
        assert!(left.contains_key(instance), "{instance} was deleted");
    }
}

/// A restore LXD refused at once (the snapshot is gone from LXD) changed
/// nothing: the container is not marked failed.
#[test]
fn a_restore_lxd_refused_leaves_the_container_as_it_was() {
    let Some(lxd) = LxdProject::start("a_restore_lxd_refused_leaves_the_container_as_it_was")
    else {
        return;
    };
    lxd.ok(["container", "create", "c", IMAGE]);
    lxd.ok(["snapshot", "create", "c", "s"]);
    let snapshot = format!("{}/s", lxd.instance("c"));
    assert!(lxc(&["delete", &snapshot]).status.success());
    let before = lxd.project.bytes();
    lxd.lxdev(["snapshot", "restore", "c", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("as it was"));
    assert_eq!(
        String::from_utf8_lossy(&lxd.project.bytes()),
        String::from_utf8_lossy(&before)
    );
}

/// `image create` publishes a running container (stopped, published,
/// started again), tagged for the project; a container made from it has
/// the file written before publishing; `image list` shows it, `image
/// delete` refuses it while an entry names it, and rename and delete reach
/// LXD.
#[test]
fn image_round_trip_through_lxd() {
    let Some(lxd) = LxdProject::start("image_round_trip_through_lxd") else {
        return;
    };
    let alias = format!("{}-img", lxd.name);
    let renamed = format!("{}-img2", lxd.name);
    // Whatever happens below, leave no image behind.
    struct Cleanup(Vec<String>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for alias in &self.0 {
                let _ = lxc(&["image", "delete", alias]);
            }
        }
    }
    let _cleanup = Cleanup(vec![alias.clone(), renamed.clone()]);
    lxd.ok(["container", "create", "src", IMAGE]);
    lxd.lxdev(["exec", "src", "--", "sh", "-c", "echo baked > /root/mark"])
        .assert()
        .success();
    lxd.ok(["image", "create", "src", &alias])
        .stdout(predicate::str::contains(format!("as image {alias}")));
    assert_eq!(
        lxd.lxd("src").status,
        "Running",
        "restarted after publishing"
    );
    let out = lxc(&["query", &format!("/1.0/images/aliases/{alias}")]);
    assert!(out.status.success(), "LXD has alias {alias}");
    let listed = json_stdout(&lxd.ok(["--json", "image", "list"]));
    let ours: Vec<&Value> = listed.as_array().unwrap().iter().collect();
    assert_eq!(ours.len(), 1, "{listed}");
    assert_eq!(ours[0]["aliases"][0], alias.as_str());
    assert_eq!(ours[0]["project"], lxd.name.as_str());
    // The busybox image is not this project's: only with --all.
    let all = json_stdout(&lxd.ok(["--json", "image", "list", "--all"]));
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|i| i["aliases"][0] == IMAGE),
        "{all}"
    );

    lxd.ok(["container", "create", "copy", &alias]);
    lxd.lxdev(["exec", "copy", "--", "cat", "/root/mark"])
        .assert()
        .success()
        .stdout(predicate::str::contains("baked"));
    lxd.fails(["image", "delete", &alias], 4);
    lxd.ok(["image", "rename", &alias, &renamed]);
    assert!(
        !lxc(&["query", &format!("/1.0/images/aliases/{alias}")])
            .status
            .success()
    );
    lxd.ok(["image", "delete", &renamed, "--force"]);
    assert!(
        !lxc(&["query", &format!("/1.0/images/aliases/{renamed}")])
            .status
            .success()
    );
}
