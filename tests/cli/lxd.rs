//! The `lxdev` binary end to end against the real LXD and Incus daemons:
//! every test runs once per reachable runtime (`tests/common/runtimes.rs`),
//! and "LXD" below means whichever of the two it runs on.
//!
//! Invariant checked after every lxdev command: the containers in
//! containers.yaml are exactly the LXD instances named `<project>-...`, each
//! with the same snapshot names, and a command that succeeded leaves every
//! entry ready (no `state`, no `operation`).
//!
//! Each test uses its own project, `lxt<pid>x<n>`, and deletes every
//! instance with that prefix when it ends, pass or fail. Without a reachable
//! daemon each test prints `skipped: <test> on <runtime>: ...` and passes,
//! unless `LXDEV_REQUIRE_LXD=1` / `LXDEV_REQUIRE_INCUS=1` (CI after the
//! setup scripts), where it fails.
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
use crate::runtimes::{self, TestRuntime};
use crate::support::Project;

/// The image scripts/setup-lxd.sh imports under this alias.
pub(crate) const IMAGE: &str = "busybox";

/// Numbers the projects of this test process.
static NEXT_PROJECT: AtomicUsize = AtomicUsize::new(0);

/// What LXD says about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LxdInstance {
    pub(crate) status: String,
    pub(crate) snapshots: BTreeSet<String>,
    pub(crate) config: BTreeMap<String, String>,
    /// Its own devices' names (not its profiles').
    pub(crate) devices: BTreeSet<String>,
}

/// A project with `runtime: lxd` (or `incus`), and the cleanup of its
/// instances.
pub(crate) struct LxdProject {
    pub(crate) project: Project,
    pub(crate) name: String,
    pub(crate) rt: TestRuntime,
    /// The file's `runtime_project:`, when it names one.
    place: Option<String>,
    /// An environment variable every lxdev this fixture runs gets (the
    /// client's config directory, for the remote tests).
    pub(crate) client_env: Option<(&'static str, std::path::PathBuf)>,
}

impl LxdProject {
    /// For each reachable runtime in turn (see `runtimes::reachable`), a
    /// temp dir whose containers.yaml is project `lxt<pid>x<n>` with
    /// `runtime: <it>` and no containers. Made lazily: one runtime's
    /// project is cleaned up before the next one's starts.
    pub(crate) fn each(test: &str) -> impl Iterator<Item = LxdProject> {
        runtimes::reachable(test).into_iter().map(LxdProject::start)
    }

    pub(crate) fn start(rt: TestRuntime) -> LxdProject {
        LxdProject::start_in(rt, next_name(), None)
    }

    /// Project `name` whose file names `runtime_project: PLACE` if given.
    fn start_in(rt: TestRuntime, name: String, place: Option<&str>) -> LxdProject {
        let place_line = place
            .map(|p| format!("runtime_project: {p}\n"))
            .unwrap_or_default();
        let lxd = LxdProject {
            project: Project::with_yaml(&format!(
                "project: {name}\nruntime: {}\n{place_line}containers: {{}}\n",
                rt.name
            )),
            name,
            rt,
            place: place.map(str::to_owned),
            client_env: None,
        };
        lxd.assert_agree_and_ready();
        lxd
    }

    /// Like [`LxdProject::each`] with no project file yet.
    fn each_empty(test: &str) -> impl Iterator<Item = LxdProject> {
        LxdProject::each(test).inspect(|lxd| {
            std::fs::remove_file(lxd.project.config_path()).unwrap();
        })
    }

    /// `lxdev ARGS...` in the project dir with this project's runtime.
    pub(crate) fn lxdev<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::from_std(self.spawn(args))
    }

    /// The same as a std::process::Command, for spawning in parallel.
    pub(crate) fn spawn<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.project.spawn_lxdev(args);
        cmd.env("LXDEV_RUNTIME", self.rt.name);
        if let Some((var, value)) = &self.client_env {
            cmd.env(var, value);
        }
        cmd
    }

    /// The runtime's client with `args` (in the file's runtime project),
    /// output captured.
    fn client(&self, args: &[&str]) -> std::process::Output {
        let mut args: Vec<&str> = args.to_vec();
        let flag = self.place.as_ref().map(|p| format!("--project={p}"));
        if let Some(flag) = &flag {
            assert_ne!(args[0], "query", "query takes no --project");
            args.insert(1, flag);
        }
        self.rt.run(&args)
    }

    /// Runs `lxdev ARGS...`, asserts it succeeded and that the file and LXD
    /// agree with every entry ready.
    pub(crate) fn ok<const N: usize>(&self, args: [&str; N]) -> Assert {
        let assert = self.lxdev(args).assert().success();
        self.assert_agree_and_ready();
        assert
    }

    /// Runs `lxdev ARGS...`, asserts it exited `code` and left the file
    /// byte for byte as it was, agreeing with LXD.
    pub(crate) fn fails<const N: usize>(&self, args: [&str; N], code: i32) -> Assert {
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
    pub(crate) fn instance(&self, name: &str) -> String {
        format!("{}-{name}", self.name)
    }

    /// LXD's instances named `<project>-...`.
    pub(crate) fn instances(&self) -> BTreeMap<String, LxdInstance> {
        lxd_instances(self.rt, self.place.as_deref(), &format!("{}-", self.name))
    }

    /// What LXD says about container `name`; panics if it has no instance.
    pub(crate) fn lxd(&self, name: &str) -> LxdInstance {
        let instance = self.instance(name);
        self.instances()
            .remove(&instance)
            .unwrap_or_else(|| panic!("LXD has no instance `{instance}`"))
    }

    /// Why containers.yaml and LXD disagree, if they do: instance names and
    /// each instance's snapshot and device names.
    fn disagreement(&self) -> Option<String> {
        type Names = (BTreeSet<String>, BTreeSet<String>);
        let file: BTreeMap<String, Names> = self
            .project
            .config()
            .containers
            .iter()
            .map(|(name, c)| {
                let names = (
                    c.snapshots.keys().cloned().collect(),
                    c.devices.keys().cloned().collect(),
                );
                (self.instance(name), names)
            })
            .collect();
        let runtime: BTreeMap<String, Names> = self
            .instances()
            .into_iter()
            .map(|(name, i)| (name, (i.snapshots, i.devices)))
            .collect();
        (file != runtime).then(|| format!("containers.yaml has {file:?}\nLXD has {runtime:?}"))
    }

    pub(crate) fn assert_agree(&self) {
        if let Some(why) = self.disagreement() {
            panic!(
                "containers.yaml and LXD disagree:\n{why}\n--- containers.yaml ---\n{}",
                self.project.yaml()
            );
        }
    }

    /// Agreement, and no entry or snapshot in flight or failed.
    pub(crate) fn assert_agree_and_ready(&self) {
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

    pub(crate) fn container_names(&self) -> Vec<String> {
        self.project.container_names()
    }
}

impl Drop for LxdProject {
    /// Deletes every instance with the project's prefix, even when an
    /// assertion failed.
    fn drop(&mut self) {
        let prefix = format!("{}-", self.name);
        let rt = self.rt;
        let place = self.place.clone();
        let Ok(names) = std::panic::catch_unwind(|| lxd_instances(rt, place.as_deref(), &prefix))
        else {
            eprintln!("cleanup: could not list the instances of `{prefix}*`");
            return;
        };
        for name in names.keys() {
            let out = self.client(&["delete", "--force", name]);
            if !out.status.success() {
                eprintln!(
                    "cleanup: `{} delete --force {name}` failed: {}",
                    rt.client,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// Every LXD instance whose name starts with `prefix`, from one
/// `GET /1.0/instances?recursion=2`. Retried a few times: a listing that
/// races another test's delete can fail with "not found".
fn lxd_instances(
    rt: TestRuntime,
    place: Option<&str>,
    prefix: &str,
) -> BTreeMap<String, LxdInstance> {
    let path = match place {
        Some(p) => format!("/1.0/instances?recursion=2&project={p}"),
        None => "/1.0/instances?recursion=2".to_owned(),
    };
    let mut last_error = String::new();
    for _ in 0..5 {
        let out = rt.run(&["query", &path]);
        if !out.status.success() {
            last_error = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("query prints JSON");
        return all
            .iter()
            .filter_map(|i| {
                let name = i["name"].as_str()?;
                name.starts_with(prefix)
                    .then(|| (name.to_owned(), parse_instance(i)))
            })
            .collect();
    }
    panic!("`{} query {path}` kept failing: {last_error}", rt.client);
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
    // The root disk `--storage` gives an instance (a disk at `/` with a
    // pool and no source) is where it lives, not a device the file records.
    let is_root = |d: &Value| d["type"] == "disk" && d["path"] == "/" && d["source"].is_null();
    let devices = api["devices"]
        .as_object()
        .map(|d| {
            d.iter()
                .filter(|(_, d)| !is_root(d))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    LxdInstance {
        status: api["status"].as_str().unwrap_or_default().to_owned(),
        snapshots,
        config,
        devices,
    }
}

/// Starts every command at once and asserts each exits 0.
pub(crate) fn all_succeed<const N: usize>(commands: [std::process::Command; N]) {
    let children = commands.map(|mut command| {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lxdev")
    });
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A fresh lxdev project name, `lxt<pid>x<n>`.
pub(crate) fn next_name() -> String {
    format!(
        "lxt{}x{}",
        std::process::id(),
        NEXT_PROJECT.fetch_add(1, Ordering::SeqCst)
    )
}

/// An LXD/Incus project made for one test and deleted when dropped (after
/// the instances in it: declare it before the `LxdProject`s that use it).
/// Images and profiles are shared with `default`, so `busybox` and the
/// default profile's root disk work in it.
struct RuntimeProject {
    rt: TestRuntime,
    name: String,
}

impl RuntimeProject {
    fn new(rt: TestRuntime, name: String) -> RuntimeProject {
        let out = rt.run(&[
            "project",
            "create",
            &name,
            "-c",
            "features.images=false",
            "-c",
            "features.profiles=false",
        ]);
        assert!(
            out.status.success(),
            "{} project create {name}: {}",
            rt.client,
            String::from_utf8_lossy(&out.stderr)
        );
        RuntimeProject { rt, name }
    }
}

impl Drop for RuntimeProject {
    fn drop(&mut self) {
        let out = self.rt.run(&["project", "delete", &self.name]);
        if !out.status.success() {
            eprintln!(
                "cleanup: `{} project delete {}` failed: {}",
                self.rt.client,
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

pub(crate) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn json_stdout(assert: &Assert) -> Value {
    serde_json::from_slice(&assert.get_output().stdout).expect("--json prints JSON")
}

#[test]
fn init_records_the_lxd_runtime() {
    for lxd in LxdProject::each_empty("init_records_the_lxd_runtime") {
        lxd.lxdev(["init", "--project", &lxd.name, "--runtime", lxd.rt.name])
            .assert()
            .success();
        let config = lxd.project.config();
        assert_eq!(config.project, lxd.name);
        assert_eq!(config.runtime.as_deref(), Some(lxd.rt.name));
        assert!(config.containers.is_empty());
        lxd.assert_agree_and_ready();
        lxd.ok(["doctor"]).stdout(
            predicate::str::contains("no problems").and(predicate::str::contains(lxd.rt.name)),
        );
    }
}

#[test]
fn create_duplicate_and_missing_image() {
    for lxd in LxdProject::each("create_duplicate_and_missing_image") {
        lxd.ok(["container", "create", "dev", IMAGE, "--no-provision"])
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

        lxd.fails(["container", "create", "dev", IMAGE, "--no-provision"], 4)
            .stderr(predicate::str::contains("already exists"));
        assert_eq!(lxd.lxd("dev"), dev, "the duplicate left LXD alone");

        lxd.fails(
            [
                "container",
                "create",
                "bad",
                "lxdev-no-such-image",
                "--no-provision",
            ],
            1,
        )
        .stderr(predicate::str::contains("lxdev-no-such-image"));
        assert_eq!(lxd.container_names(), ["dev"]);
        assert_eq!(
            lxd.instances().keys().cloned().collect::<Vec<_>>(),
            [lxd.instance("dev")],
            "a create that failed leaves no instance"
        );
    }
}

/// An instance named like a container but made by someone else (here by
/// hand) is not lxdev's: a create under that name must change nothing, or a
/// later `remove` would delete what lxdev never made.
#[test]
fn create_over_an_unrecorded_instance_is_a_conflict_and_changes_nothing() {
    for lxd in
        LxdProject::each("create_over_an_unrecorded_instance_is_a_conflict_and_changes_nothing")
    {
        let inst = lxd.instance("taken");
        assert!(
            lxd.client(&[lxd.rt.create(), IMAGE, &inst])
                .status
                .success()
        );
        let by_hand = lxd.lxd("taken");
        let before = lxd.project.bytes();
        lxd.lxdev(["container", "create", "taken", IMAGE, "--no-provision"])
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
}

#[test]
fn parallel_creates_and_snapshots_all_land() {
    for lxd in LxdProject::each("parallel_creates_and_snapshots_all_land") {
        all_succeed(
            ["a", "b"]
                .map(|name| lxd.spawn(["container", "create", name, IMAGE, "--no-provision"])),
        );
        lxd.assert_agree_and_ready();
        assert_eq!(lxd.container_names(), ["a", "b"]);
        for name in ["a", "b"] {
            assert_eq!(lxd.lxd(name).status, "Running");
        }

        // Two snapshots of one container at once: LXD runs them one after the
        // other, and both must be recorded.
        all_succeed(["s1", "s2"].map(|snap| lxd.spawn(["snapshot", "create", "a", snap])));
        lxd.assert_agree_and_ready();
        assert_eq!(lxd.lxd("a").snapshots, set(&["s1", "s2"]));
    }
}

#[test]
fn snapshots_create_list_restore_delete() {
    for lxd in LxdProject::each("snapshots_create_list_restore_delete") {
        let inst = lxd.instance("c");
        lxd.ok(["container", "create", "c", IMAGE, "--no-provision"]);
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
            lxd.client(&["exec", &inst, "--", "touch", "/after-s1"])
                .status
                .success()
        );
        lxd.ok(["snapshot", "restore", "c", "s1"]);
        assert_eq!(
            lxd.client(&["exec", &inst, "--", "test", "-e", "/after-s1"])
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
}

#[test]
fn clone_clone_from_snapshot_and_remove() {
    for lxd in LxdProject::each("clone_clone_from_snapshot_and_remove") {
        lxd.ok(["container", "create", "base", IMAGE, "--no-provision"]);
        lxd.ok(["snapshot", "create", "base", "s1"]);
        lxd.ok([
            "container",
            "clone",
            "base",
            "copy",
            "--no-initial-snapshot",
        ]);
        lxd.ok([
            "container",
            "clone",
            "base",
            "fromsnap",
            "--snapshot",
            "s1",
            "--no-initial-snapshot",
        ]);

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
}

#[test]
fn up_down_exec_and_list_follow_lxd() {
    for lxd in LxdProject::each("up_down_exec_and_list_follow_lxd") {
        lxd.ok(["container", "create", "c", IMAGE, "--no-provision"]);
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
}

/// A directory holding an `lxc` that records each call's arguments (NUL
/// after each, a newline after the call) and then runs the real client.
/// lxdev spawns `lxc` by name, so a PATH starting with this directory makes
/// every call it makes go through the shim.
pub(crate) struct RecordingShim {
    dir: tempfile::TempDir,
}

impl RecordingShim {
    pub(crate) fn new(client: &str) -> RecordingShim {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let real = std::env::split_paths(&path)
            .map(|dir| dir.join(client))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| panic!("a real `{client}` on PATH"));
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{log}'\nprintf '\\n' >> '{log}'\nexec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display()
        );
        let shim = dir.path().join(client);
        std::fs::write(&shim, script).unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        RecordingShim { dir }
    }

    /// PATH with the shim first.
    pub(crate) fn path(&self) -> std::ffi::OsString {
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let dirs =
            std::iter::once(self.dir.path().to_path_buf()).chain(std::env::split_paths(&rest));
        std::env::join_paths(dirs).unwrap()
    }

    /// Every recorded call, as its arguments.
    pub(crate) fn calls(&self) -> Vec<Vec<String>> {
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
    for lxd in LxdProject::each("hostile_names_never_reach_lxc") {
        lxd.ok(["container", "create", "web", IMAGE, "--no-provision"]);
        lxd.ok(["snapshot", "create", "web", "clean"]);
        let web = lxd.lxd("web");
        assert_eq!(web.snapshots, set(&["clean"]));
        let before = lxd.project.bytes();

        let shim = RecordingShim::new(lxd.rt.client);
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
}

#[test]
fn doctor_finds_and_fixes_orphans_and_missing_instances() {
    for lxd in LxdProject::each("doctor_finds_and_fixes_orphans_and_missing_instances") {
        lxd.ok(["container", "create", "kept", IMAGE, "--no-provision"]);
        lxd.ok(["container", "create", "gone", IMAGE, "--no-provision"]);
        lxd.ok(["doctor"])
            .stdout(predicate::str::contains("no problems"));

        // Changes made behind lxdev's back.
        let orphan = lxd.instance("orphan");
        assert!(
            lxd.client(&[lxd.rt.create(), IMAGE, &orphan])
                .status
                .success()
        );
        assert!(
            lxd.client(&["delete", "--force", &lxd.instance("gone")])
                .status
                .success()
        );
        let kept = lxd.instance("kept");
        let by_hand = [lxd.rt.snapshot_create(), &[kept.as_str(), "byhand"]].concat();
        assert!(lxd.client(&by_hand).status.success());
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
    for lxd in LxdProject::each(test) {
        let inst = lxd.instance("k");
        lxd.ok(["container", "create", "before", IMAGE, "--no-provision"]);
        let mut child = lxd
            .spawn(["container", "create", "k", IMAGE, "--no-provision"])
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
                        && lxd
                            .client(&["query", &format!("/1.0/instances/{inst}")])
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
        // The daemon may still be doing what the killed client asked
        // (`Creating instance`): doctor then leaves the entry alone. The
        // case under test starts once that work has ended.
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let out = lxd.lxdev(["doctor"]).output().unwrap();
            if !String::from_utf8_lossy(&out.stdout).contains("run doctor again when it ends") {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
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

/// Two lxdev projects with the same name (so the same instance names) in
/// two LXD/Incus projects: each sees, lists, doctors and removes only its
/// own instance; the client's `default` project holds neither.
#[test]
fn runtime_projects_keep_same_named_instances_apart() {
    for rt in runtimes::reachable("runtime_projects_keep_same_named_instances_apart") {
        let name = next_name();
        let place_a = RuntimeProject::new(rt, format!("{name}a"));
        let place_b = RuntimeProject::new(rt, format!("{name}b"));
        let a = LxdProject::start_in(rt, name.clone(), Some(&place_a.name));
        let b = LxdProject::start_in(rt, name.clone(), Some(&place_b.name));
        let in_default =
            |inst: &str| lxd_instances(rt, None, &format!("{name}-")).contains_key(inst);

        a.ok(["container", "create", "dev", IMAGE, "--no-provision"]);
        assert!(b.instances().is_empty(), "b sees a's instance");
        b.ok(["container", "create", "dev", IMAGE, "--no-provision"]);
        a.ok(["snapshot", "create", "dev", "only-a"]);
        assert_eq!(a.lxd("dev").snapshots, set(&["only-a"]));
        assert!(b.lxd("dev").snapshots.is_empty());
        assert!(
            !in_default(&a.instance("dev")),
            "nothing lands in `default`"
        );
        for lxd in [&a, &b] {
            lxd.ok(["doctor"])
                .stdout(predicate::str::contains("no problems"));
            let listed = json_stdout(&lxd.ok(["--json", "list"]));
            assert_eq!(listed["containers"][0]["status"], "Running", "{listed}");
        }

        a.ok(["container", "remove", "dev"]);
        assert!(a.instances().is_empty());
        assert_eq!(b.lxd("dev").status, "Running", "a's remove left b alone");
        b.ok(["container", "remove", "dev"]);
    }
}

/// `init` records the client's current project, so switching the client
/// to another project afterwards does not move lxdev: here the client's
/// config (a temp `LXD_CONF`/`INCUS_CONF`) is switched to a new project for
/// `init` only, and later commands run with the user's usual config.
#[test]
fn init_pins_the_clients_current_project() {
    for rt in runtimes::reachable("init_pins_the_clients_current_project") {
        let name = next_name();
        let place = RuntimeProject::new(rt, format!("{name}p"));
        let conf = tempfile::tempdir().unwrap();
        let conf_var = rt.conf_env();
        let switched = rt
            .command(&["project", "switch", &place.name])
            .env(conf_var, conf.path())
            .output()
            .unwrap();
        assert!(
            switched.status.success(),
            "{}",
            String::from_utf8_lossy(&switched.stderr)
        );
        let lxd = LxdProject::start_in(rt, name.clone(), Some(&place.name));
        std::fs::remove_file(lxd.project.config_path()).unwrap();
        lxd.lxdev(["init", "--project", &name])
            .env(conf_var, conf.path())
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "project `{}`",
                place.name
            )));
        assert_eq!(
            lxd.project.config().runtime_project.as_deref(),
            Some(place.name.as_str()),
            "{}",
            lxd.project.yaml()
        );

        // The user's own config still has `default` as current.
        lxd.ok(["container", "create", "dev", IMAGE, "--no-provision"]);
        assert_eq!(lxd.lxd("dev").status, "Running");
        assert!(
            !lxd_instances(rt, None, &format!("{name}-")).contains_key(&lxd.instance("dev")),
            "the instance went to the client's current project, not the recorded one"
        );
        lxd.ok(["container", "remove", "dev"]);
    }
}

/// A file with no `runtime:` (lxc-dev-manager's) on a machine where both
/// clients reach a daemon: the command says it picked Incus and how to pin
/// a runtime, and leaves the file alone.
#[test]
fn detection_with_both_runtimes_says_which_and_how_to_pin_it() {
    let test = "detection_with_both_runtimes_says_which_and_how_to_pin_it";
    if runtimes::reachable(test).len() < 2 {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test}: needs both lxd and incus"
        );
        return;
    }
    let project = Project::with_yaml(&format!("project: {}\ncontainers: {{}}\n", next_name()));
    let before = project.bytes();
    project
        .lxdev(["list"])
        .env_remove("LXDEV_RUNTIME")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "using the incus runtime (detected); pin it with `runtime: incus`",
        ))
        .stderr(predicate::str::contains("--runtime incus"));
    assert_eq!(project.bytes(), before);
}

/// Ownership is decided by lxdev's tags, never by the name prefix alone:
/// project `N` must not adopt or remove the instances of project `N-b`
/// (whose names also start `N-`), nor those of another checkout of `N`.
#[test]
fn another_projects_instances_are_never_adopted_or_removed() {
    for lxd in LxdProject::each("another_projects_instances_are_never_adopted_or_removed") {
        let other_project = Project::with_yaml(&format!(
            "project: {}-b\nruntime: {}\ncontainers: {{}}\n",
            lxd.name, lxd.rt.name
        ));
        let other_checkout = Project::with_yaml(&format!(
            "project: {}\nruntime: {}\ncontainers: {{}}\n",
            lxd.name, lxd.rt.name
        ));
        for (project, name) in [(&other_project, "c"), (&other_checkout, "x")] {
            project
                .lxdev(["container", "create", name, IMAGE, "--no-provision"])
                .env("LXDEV_RUNTIME", lxd.rt.name)
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

        // Even recorded here by hand, another project's instance is not
        // ours to delete.
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
        // Nor to snapshot, restore, start, stop or run anything in.
        other_project
            .lxdev(["snapshot", "create", "c", "theirs"])
            .env("LXDEV_RUNTIME", lxd.rt.name)
            .assert()
            .success();
        let snapshots = lxd.instances()[&theirs[0]].snapshots.clone();
        for args in [
            &["snapshot", "create", "b-c", "s2"][..],
            &["snapshot", "restore", "b-c", "theirs"][..],
            &["snapshot", "delete", "b-c", "theirs"][..],
            &["down", "b-c"][..],
            &["exec", "b-c", "--", "true"][..],
            &["container", "clone", "b-c", "copy"][..],
        ] {
            lxd.lxdev(args).assert().code(4).stderr(
                predicate::str::contains(format!("project `{}-b`", lxd.name))
                    .and(predicate::str::contains("lxc delete").not())
                    .and(predicate::str::contains("incus delete").not()),
            );
            assert_eq!(lxd.project.bytes(), before, "{args:?}");
        }
        assert_eq!(lxd.instances()[&theirs[0]].snapshots, snapshots);
        // A create of the colliding name is refused, and the refusal never
        // advises deleting the other project's container.
        let without = String::from_utf8_lossy(&before).replace(
            &format!("containers:\n  b-c:\n    image: {IMAGE}\n"),
            "containers: {}\n",
        );
        std::fs::write(lxd.project.config_path(), without).unwrap();
        let before = lxd.project.bytes();
        lxd.lxdev(["container", "create", "b-c", IMAGE, "--no-provision"])
            .assert()
            .code(4)
            .stderr(
                predicate::str::contains(format!("project `{}-b`", lxd.name))
                    .and(predicate::str::contains("delete").not()),
            );
        assert_eq!(lxd.project.bytes(), before);
        let left = lxd.instances();
        for instance in &theirs {
            assert!(left.contains_key(instance), "{instance} was deleted");
        }
    }
}

/// A restore the runtime refused at once (the snapshot is gone from it)
/// changed nothing: the container is not marked failed.
#[test]
fn a_restore_the_runtime_refused_leaves_the_container_as_it_was() {
    for lxd in LxdProject::each("a_restore_the_runtime_refused_leaves_the_container_as_it_was") {
        lxd.ok(["container", "create", "c", IMAGE, "--no-provision"]);
        lxd.ok(["snapshot", "create", "c", "s"]);
        // Deleted behind lxdev's back.
        let out = lxd.rt.delete_snapshot(&lxd.instance("c"), "s");
        assert!(out.status.success(), "{out:?}");
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
}

/// The Debian 12 image scripts/image-debian.sh imports (systemd, sudo,
/// openssh-server).
pub(crate) const DEBIAN: &str = "debian-12";

/// Whether the runtime has the Debian image; without it the test says it
/// is skipped (or fails where the setup scripts made it: CI).
pub(crate) fn debian_image(lxd: &LxdProject, test: &str) -> bool {
    if lxd.client(&["image", "info", DEBIAN]).status.success() {
        return true;
    }
    assert!(
        std::env::var_os("LXDEV_REQUIRE_LXD").is_none(),
        "{test}: {} has no `{DEBIAN}` image; run scripts/image-debian.sh {}",
        lxd.rt.name,
        lxd.rt.client
    );
    eprintln!(
        "skipped: {test} on {}: no `{DEBIAN}` image (scripts/image-debian.sh)",
        lxd.rt.name
    );
    false
}

/// Full provisioning on a real distro: the dev user with passwordless sudo
/// and the given key, sshd running, `initial-state` in the file and in the
/// runtime, `exec` as the dev user by default, and `reset` back to
/// `initial-state`.
#[test]
fn debian_containers_come_up_ready_to_use() {
    let test = "debian_containers_come_up_ready_to_use";
    for lxd in LxdProject::each(test) {
        if !debian_image(&lxd, test) {
            continue;
        }
        let key_file = lxd.project.dir().join("me.pub");
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOlxdevTestKeyOnlyForThisTestxxxxxxxxxxxx tester@host";
        std::fs::write(&key_file, format!("{key}\n")).unwrap();
        lxd.ok([
            "container",
            "create",
            "dev",
            DEBIAN,
            "--ssh-key",
            key_file.to_str().unwrap(),
        ])
        .stdout(predicate::str::contains("user:    dev"));
        assert_eq!(lxd.lxd("dev").snapshots, set(&["initial-state"]));

        // LXD 5.0's client now and then loses a short command's output
        // under load (exit 0, nothing on stdout; seen in full parallel
        // runs): read again before comparing, up to 3 times.
        let out = |args: &[&str]| {
            let mut text = String::new();
            for _ in 0..3 {
                let assert = lxd.lxdev(args).assert().success();
                text = String::from_utf8_lossy(&assert.get_output().stdout)
                    .trim()
                    .to_string();
                if !text.is_empty() {
                    break;
                }
            }
            text
        };
        assert_eq!(out(&["exec", "dev", "--", "id", "-un"]), "dev");
        assert_eq!(
            out(&["exec", "dev", "-u", "root", "--", "id", "-un"]),
            "root"
        );
        assert_eq!(out(&["exec", "dev", "--", "pwd"]), "/home/dev");
        assert_eq!(
            out(&["exec", "dev", "--", "sudo", "-n", "id", "-un"]),
            "root"
        );
        assert_eq!(
            out(&[
                "exec",
                "dev",
                "-u",
                "root",
                "--",
                "systemctl",
                "is-active",
                "ssh"
            ]),
            "active"
        );
        assert_eq!(
            out(&["exec", "dev", "--", "cat", ".ssh/authorized_keys"]),
            key
        );
        // No password was written, so none is set: the account is locked.
        let status = out(&["exec", "dev", "-u", "root", "--", "passwd", "-S", "dev"]);
        assert_eq!(status.split_whitespace().nth(1), Some("L"), "{status}");
        // The exit status is passed on.
        lxd.lxdev(["exec", "dev", "--", "sh", "-c", "exit 7"])
            .assert()
            .code(7);

        out(&["exec", "dev", "--", "touch", "/home/dev/written-after"]);
        lxd.ok(["container", "reset", "dev"]);
        lxd.lxdev(["exec", "dev", "--", "test", "-e", "/home/dev/written-after"])
            .assert()
            .code(1);
        assert_eq!(lxd.lxd("dev").status, "Running");
    }
}

/// A busybox image has no useradd, sudo or sshd: the user is still made,
/// and SSH is skipped with a warning recorded on the entry.
#[test]
fn busybox_gets_its_user_and_a_warning_for_ssh() {
    for lxd in LxdProject::each("busybox_gets_its_user_and_a_warning_for_ssh") {
        lxd.lxdev(["container", "create", "box", IMAGE])
            .assert()
            .success()
            .stderr(predicate::str::contains("SSH is off"));
        lxd.assert_agree_and_ready();
        let config = lxd.project.config();
        let warning = config.containers["box"].warning.clone().unwrap_or_default();
        assert!(warning.contains("SSH is off"), "{warning}");
        let id = lxd
            .lxdev(["exec", "box", "--", "id", "-un"])
            .assert()
            .success();
        assert_eq!(
            String::from_utf8_lossy(&id.get_output().stdout).trim(),
            "dev"
        );
    }
}

/// A teammate's checked-in file of 6 entries with mixed images, one with a
/// mount and a forwarded port, on a runtime that has none of them:
/// `up --all --jobs 3` makes and provisions every one, gives the entry its
/// devices, and the file (as checked in) and the runtime agree.
#[test]
fn up_all_brings_a_checked_in_project_to_an_empty_runtime() {
    let test = "up_all_brings_a_checked_in_project_to_an_empty_runtime";
    for lxd in LxdProject::each(test) {
        if !debian_image(&lxd, test) {
            continue;
        }
        std::fs::create_dir(lxd.project.dir().join("src")).unwrap();
        let src = std::fs::canonicalize(lxd.project.dir().join("src")).unwrap();
        let port = crate::support::free_port();
        let entries = format!(
            "containers:\n\
             \x20 web:\n    image: {DEBIAN}\n    ports: [\"{port}:22\"]\n    devices:\n\
             \x20     src:\n        type: disk\n        config:\n          source: {}\n          path: /srv/src\n\
             \x20     lxdev-port-{port}:\n        type: proxy\n        config:\n\
             \x20         listen: tcp:127.0.0.1:{port}\n          connect: tcp:127.0.0.1:22\n\
             \x20 db:\n    image: {DEBIAN}\n\
             \x20 cache:\n    image: {IMAGE}\n\
             \x20 queue:\n    image: {IMAGE}\n\
             \x20 worker:\n    image: {IMAGE}\n\
             \x20 tools:\n    image: {IMAGE}\n",
            src.display()
        );
        let text = lxd.project.yaml().replace("containers: {}\n", &entries);
        std::fs::write(lxd.project.config_path(), &text).unwrap();
        assert!(lxd.instances().is_empty());

        lxd.lxdev(["up", "--all", "--jobs", "3"]).assert().success();
        let names: BTreeSet<String> = ["web", "db", "cache", "queue", "worker", "tools"]
            .iter()
            .map(|n| lxd.instance(n))
            .collect();
        let instances = lxd.instances();
        assert_eq!(instances.keys().cloned().collect::<BTreeSet<_>>(), names);
        for (name, instance) in &instances {
            assert_eq!(instance.status, "Running", "{name}");
        }
        let want = BTreeSet::from(["src".to_owned(), format!("lxdev-port-{port}")]);
        assert_eq!(lxd.lxd("web").devices, want);
        // Provisioned: the dev user and its initial-state, on both images.
        assert!(lxd.lxd("db").snapshots.contains("initial-state"));
        lxd.lxdev(["exec", "db", "--", "id", "-un"])
            .assert()
            .success()
            .stdout("dev\n");
        assert!(
            ssh_banner(port, Duration::from_secs(60)).is_some(),
            "the forwarded port reaches web's sshd"
        );
        // The checked-in entries are as they were, plus what up recorded
        // (the initial-state snapshots); file and runtime agree.
        lxd.assert_agree_and_ready();
        let config = lxd.project.config();
        assert_eq!(config.containers["web"].devices.len(), 2);
    }
}

/// The host uid that owns the mounted folder in
/// `mounts_and_ports_work_for_real`: scripts/setup-lxd.sh lets the daemons
/// map it (`root:1500:1` in /etc/subuid and /etc/subgid).
const FOLDER_OWNER: u32 = 1500;

/// Reads the SSH banner through 127.0.0.1:`port`, retrying while sshd
/// (re)starts; `None` if nothing answers within `wait`.
fn ssh_banner(port: u16, wait: Duration) -> Option<String> {
    use std::io::Read;
    let deadline = Instant::now() + wait;
    loop {
        let read = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf)?;
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        });
        match read {
            Ok(banner) if banner.starts_with("SSH-") => return Some(banner),
            _ if Instant::now() >= deadline => return None,
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// A host folder owned by a non-root user, mounted read-write: a file the
/// dev user makes inside belongs to the folder's owner on the host, and
/// the dev user can edit the owner's files. A port forwarded to sshd
/// answers from the host, still does after the container restarts, stops
/// with `--stop`; `reset` keeps the file's devices.
#[test]
fn mounts_and_ports_work_for_real() {
    use std::os::unix::fs::MetadataExt;
    let test = "mounts_and_ports_work_for_real";
    for lxd in LxdProject::each(test) {
        if !debian_image(&lxd, test) {
            continue;
        }
        let code = lxd.project.dir().join("code");
        std::fs::create_dir(&code).unwrap();
        std::os::unix::fs::chown(&code, Some(FOLDER_OWNER), Some(FOLDER_OWNER)).unwrap();
        let port = crate::support::free_port();
        let text = lxd.project.yaml().replace(
            "containers: {}\n",
            &format!("containers:\n  dev:\n    image: {DEBIAN}\n    ports: [\"{port}:22\"]\n"),
        );
        // Recorded by hand, as a checked-in file would: `up` creates it.
        std::fs::write(lxd.project.config_path(), text).unwrap();
        lxd.ok(["up", "dev"]);
        lxd.ok(["mount", "dev", "code", "/srv/code", "--rw"]);
        assert_eq!(lxd.lxd("dev").devices, set(&["code"]));

        let sh = |script: &str| {
            lxd.lxdev(["exec", "dev", "--", "sh", "-c", script])
                .assert()
                .success();
        };
        sh("echo inside > /srv/code/made-inside");
        let made = std::fs::metadata(code.join("made-inside")).unwrap();
        assert_eq!(
            (made.uid(), made.gid()),
            (FOLDER_OWNER, FOLDER_OWNER),
            "a file the dev user made belongs to the folder's owner on the host"
        );
        std::fs::write(code.join("made-outside"), "outside\n").unwrap();
        std::os::unix::fs::chown(
            code.join("made-outside"),
            Some(FOLDER_OWNER),
            Some(FOLDER_OWNER),
        )
        .unwrap();
        sh(
            "echo edited >> /srv/code/made-outside && test \"$(stat -c %U /srv/code/made-outside)\" = dev",
        );
        assert_eq!(
            std::fs::read_to_string(code.join("made-outside")).unwrap(),
            "outside\nedited\n"
        );

        lxd.ok(["proxy", "dev"]);
        let banner = ssh_banner(port, Duration::from_secs(30));
        assert!(banner.is_some(), "nothing answered on 127.0.0.1:{port}");
        let restarted = lxd.client(&["restart", &lxd.instance("dev")]);
        assert!(restarted.status.success(), "{restarted:?}");
        assert!(
            ssh_banner(port, Duration::from_secs(60)).is_some(),
            "the forwarding outlives a restart"
        );
        lxd.ok(["container", "reset", "dev", "initial-state"]);
        assert_eq!(
            lxd.lxd("dev").devices,
            BTreeSet::from(["code".to_owned(), format!("lxdev-port-{port}")]),
            "reset keeps the file's devices"
        );
        assert!(ssh_banner(port, Duration::from_secs(60)).is_some());
        lxd.ok(["proxy", "dev", "--stop"]);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "--stop closes the port"
        );
        lxd.ok(["unmount", "dev", "/srv/code"]);
        assert!(lxd.lxd("dev").devices.is_empty());
    }
}

/// `image create` publishes a running container (stopped, published,
/// started again), tagged for the project; a container made from it has
/// the file written before publishing; `image list` shows it, `image
/// delete` refuses it while an entry names it, and rename and delete reach
/// the runtime.
#[test]
fn image_round_trip_through_the_runtime() {
    for lxd in LxdProject::each("image_round_trip_through_the_runtime") {
        let alias = format!("{}-img", lxd.name);
        let renamed = format!("{}-img2", lxd.name);
        // Whatever happens below, leave no image behind.
        struct Cleanup<'a>(&'a LxdProject, Vec<String>);
        impl Drop for Cleanup<'_> {
            fn drop(&mut self) {
                for alias in &self.1 {
                    let _ = self.0.client(&["image", "delete", alias]);
                }
            }
        }
        let _cleanup = Cleanup(&lxd, vec![alias.clone(), renamed.clone()]);
        lxd.ok(["container", "create", "src", IMAGE, "--no-provision"]);
        lxd.lxdev([
            "exec",
            "src",
            "-u",
            "root",
            "--",
            "sh",
            "-c",
            "echo baked > /root/mark",
        ])
        .assert()
        .success();
        lxd.ok(["image", "create", "src", &alias])
            .stdout(predicate::str::contains(format!("as image {alias}")));
        assert_eq!(
            lxd.lxd("src").status,
            "Running",
            "restarted after publishing"
        );
        let alias_path = |a: &str| format!("/1.0/images/aliases/{a}");
        assert!(lxd.rt.run(&["query", &alias_path(&alias)]).status.success());
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

        lxd.ok(["container", "create", "copy", &alias, "--no-provision"]);
        lxd.lxdev(["exec", "copy", "-u", "root", "--", "cat", "/root/mark"])
            .assert()
            .success()
            .stdout(predicate::str::contains("baked"));
        lxd.fails(["image", "delete", &alias], 4);
        lxd.ok(["image", "rename", &alias, &renamed]);
        assert!(!lxd.rt.run(&["query", &alias_path(&alias)]).status.success());
        lxd.ok(["image", "delete", &renamed, "--force"]);
        assert!(
            !lxd.rt
                .run(&["query", &alias_path(&renamed)])
                .status
                .success()
        );
    }
}

/// Every path under `dir`, relative to it, with its bytes (`None` for a
/// directory).
fn host_tree(dir: &std::path::Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut tree = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                tree.insert(rel, None);
                todo.push(path);
            } else {
                tree.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    tree
}

/// `cp` through the real clients, on a provisioned Debian: a directory
/// tree pushed into the dev user's home belongs to `dev` throughout (the
/// clients refuse `--uid` with `-r`, so lxdev hands it over after the
/// move) and comes back byte for byte; a single file belongs to `dev`
/// too; `NAME*:` pushes to both matching containers, making the missing
/// directory outside the home root's.
#[test]
fn cp_trees_files_and_globs_on_a_real_distro() {
    let test = "cp_trees_files_and_globs_on_a_real_distro";
    for lxd in LxdProject::each(test) {
        if !debian_image(&lxd, test) {
            continue;
        }
        lxd.ok([
            "container",
            "create",
            "web1",
            DEBIAN,
            "--no-initial-snapshot",
        ]);
        // A copy has the same dev user, and is quicker than provisioning.
        lxd.ok([
            "container",
            "clone",
            "web1",
            "web2",
            "--no-initial-snapshot",
        ]);

        let dir = lxd.project.dir();
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
        std::fs::create_dir(src.join("empty")).unwrap();
        std::fs::write(src.join("a.txt"), "alpha\n").unwrap();
        std::fs::write(src.join(".hidden"), "dot\n").unwrap();
        std::fs::write(src.join("sub/with space.txt"), "spaced\n").unwrap();
        std::fs::write(src.join("sub/deeper/bytes.bin"), [0u8, 255, 10, 13, 128]).unwrap();
        lxd.ok(["cp", "src", "web1:~/code"])
            .stdout(predicate::str::contains("owned by dev"));

        // `stat` every path of the copy, as the dev user, in its home.
        let owners = lxd
            .lxdev([
                "exec", "web1", "--", "find", "code", "-exec", "stat", "-c", "%U:%G %n", "{}", "+",
            ])
            .assert()
            .success();
        let owners = String::from_utf8_lossy(&owners.get_output().stdout).into_owned();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for line in owners.lines() {
            let (owner, path) = line.split_once(' ').unwrap();
            assert_eq!(owner, "dev:dev", "`{path}` in web1: {owners}");
            seen.insert(path.to_string());
        }
        let mut expected: BTreeSet<String> = host_tree(&src)
            .into_keys()
            .map(|rel| format!("code/{rel}"))
            .collect();
        expected.insert("code".into());
        assert_eq!(seen, expected, "the whole tree, and nothing else");
        // No staging directory is left beside the copy.
        lxd.lxdev(["exec", "web1", "--", "ls", "-A", "/home/dev"])
            .assert()
            .success()
            .stdout(predicate::str::contains(".lxdev-cp").not());

        lxd.ok(["cp", "web1:~/code", "back"]);
        assert_eq!(host_tree(&dir.join("back")), host_tree(&src));

        // One file, into the home (a directory: the copy goes inside it).
        std::fs::write(dir.join("notes.txt"), "one file\n").unwrap();
        lxd.ok(["cp", "notes.txt", "web1:~/"]);
        let cat = |name: &str, path: &str| {
            let out = lxd
                .lxdev(["exec", name, "--", "stat", "-c", "%U", path])
                .assert()
                .success();
            let owner = String::from_utf8_lossy(&out.get_output().stdout)
                .trim()
                .to_string();
            let out = lxd
                .lxdev(["exec", name, "--", "cat", path])
                .assert()
                .success();
            (
                owner,
                String::from_utf8_lossy(&out.get_output().stdout).into_owned(),
            )
        };
        assert_eq!(
            cat("web1", "/home/dev/notes.txt"),
            ("dev".to_string(), "one file\n".to_string())
        );

        // A glob: both containers receive it; /opt/shared is made, root's.
        let pushed = lxd.ok(["--json", "cp", "notes.txt", "web*:/opt/shared/"]);
        let outcome = json_stdout(&pushed);
        let names: BTreeSet<&str> = outcome["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, BTreeSet::from(["web1", "web2"]), "{outcome}");
        for name in ["web1", "web2"] {
            assert_eq!(
                cat(name, "/opt/shared/notes.txt"),
                ("dev".to_string(), "one file\n".to_string()),
                "{name}"
            );
            let out = lxd
                .lxdev(["exec", name, "--", "stat", "-c", "%U", "/opt/shared"])
                .assert()
                .success();
            assert_eq!(
                String::from_utf8_lossy(&out.get_output().stdout).trim(),
                "root"
            );
        }

        // Modes are kept, never widened: a 0600 file and a 0700 folder.
        std::fs::create_dir(dir.join("private")).unwrap();
        std::fs::write(dir.join("private/key"), "k\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &std::path::Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        mode(&dir.join("private/key"), 0o600);
        mode(&dir.join("private"), 0o700);
        lxd.ok(["cp", "private", "web1:~/private"]);
        lxd.ok(["cp", "private/key", "web1:~/key"]);
        let modes = lxd
            .lxdev([
                "exec",
                "web1",
                "--",
                "stat",
                "-c",
                "%a %n",
                "private",
                "private/key",
                "key",
            ])
            .assert()
            .success();
        assert_eq!(
            String::from_utf8_lossy(&modes.get_output().stdout),
            "700 private\n600 private/key\n600 key\n"
        );

        // A link made inside the container never becomes a host link to
        // this machine's files: alone it is refused, in a folder left out.
        let instance = lxd.instance("web1");
        let planted = lxd.rt.run(&[
            "exec",
            &instance,
            "--",
            "sh",
            "-c",
            "ln -s /root/.ssh/id_rsa /tmp/evil && mkdir /tmp/tree && echo x >/tmp/tree/f \
             && ln -s /etc/shadow /tmp/tree/out && ln -s f /tmp/tree/in \
             && ln -s . /tmp/tree/d && ln -s d/d/d/../.. /tmp/tree/e \
             && cp /bin/true /tmp/tree/s1 && chmod 6757 /tmp/tree/s1",
        ]);
        assert!(planted.status.success(), "{planted:?}");
        lxd.fails(["cp", "web1:/tmp/evil", "evil"], 4)
            .stderr(predicate::str::contains("symbolic link"));
        assert!(std::fs::symlink_metadata(dir.join("evil")).is_err());
        lxd.ok(["cp", "web1:/tmp/tree", "tree"])
            .stderr(predicate::str::contains("out -> /etc/shadow"));
        assert!(std::fs::symlink_metadata(dir.join("tree/out")).is_err());
        assert_eq!(
            std::fs::read_link(dir.join("tree/in")).unwrap(),
            std::path::Path::new("f"),
            "a link inside the copy stays"
        );
        // Climbing out through the copy's own `.` link: left out, or (LXD's
        // client cleans such a target first) leading inside the copy.
        if let Ok(resolved) = std::fs::canonicalize(dir.join("tree/e")) {
            let copy = std::fs::canonicalize(dir.join("tree")).unwrap();
            assert!(
                resolved.starts_with(&copy),
                "tree/e leads to {}",
                resolved.display()
            );
        }
        // A set-user-ID program the container made is not one on the host.
        let mode = std::fs::metadata(dir.join("tree/s1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755, "{mode:o}");
    }
}
