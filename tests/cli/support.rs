//! Fixture builder: a temp project driven through the real `lxdev` binary
//! with the fake runtime, and readers for what ended up in the file and in
//! the runtime.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use lxdev::config::model::{self, Config};

pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// `lxdev init --project demo --runtime fake` in a new temp dir.
    pub fn new() -> Project {
        let project = Project::empty();
        project
            .lxdev(["init", "--project", "demo", "--runtime", "fake"])
            .assert()
            .success();
        project
    }

    /// A temp dir with no project file.
    pub fn empty() -> Project {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A project whose containers.yaml is exactly `text`.
    pub fn with_yaml(text: &str) -> Project {
        let project = Project::empty();
        std::fs::write(project.config_path(), text).unwrap();
        project
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir().join("containers.yaml")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir().join("containers.yaml.lock")
    }

    /// `lxdev ARGS...` run in the project dir, with the fake runtime and no
    /// inherited knobs.
    pub fn lxdev<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::from_std(self.spawn_lxdev(args))
    }

    /// The same as a std::process::Command, for spawning in parallel.
    pub fn spawn_lxdev<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("lxdev"));
        cmd.current_dir(self.dir())
            .stdin(std::process::Stdio::null())
            .env("LXDEV_RUNTIME", "fake")
            .env_remove("LXDEV_FAKE_DELAY_MS")
            .env_remove("LXDEV_FAKE_FAIL")
            .env_remove("LXDEV_LOCK_TIMEOUT")
            // Approved mounts are per user: each test keeps its own.
            .env("XDG_STATE_HOME", self.dir().join(".test-state"))
            .args(args);
        cmd
    }

    pub fn yaml(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap()
    }

    /// Waits (at most 30 s) until container `name`'s step note says its
    /// operation is at `step`; returns the note's path.
    pub fn wait_for_noted_step(&self, name: &str, step: &str) -> PathBuf {
        let note = self.dir().join(".lxdev/progress").join(name);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !std::fs::read_to_string(&note)
            .is_ok_and(|n| n.contains(&format!("\"step\":\"{step}\"")))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "never reached step {step}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        note
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_path()).unwrap()
    }

    /// The file as lxdev's typed model reads it.
    pub fn config(&self) -> Config {
        model::parse(&self.yaml(), &self.config_path()).expect("containers.yaml stays valid")
    }

    pub fn container_names(&self) -> Vec<String> {
        self.config().containers.keys().cloned().collect()
    }

    /// Instance names the fake runtime has.
    pub fn runtime_instances(&self) -> Vec<String> {
        list_dir(&self.dir().join(".lxdev/fake/instances"))
    }

    /// Snapshot names the fake runtime has for `instance`.
    pub fn runtime_snapshots(&self, instance: &str) -> Vec<String> {
        list_dir(
            &self
                .dir()
                .join(".lxdev/fake/instances")
                .join(instance)
                .join("snapshots"),
        )
    }

    /// Device names the fake runtime has on `instance`.
    pub fn runtime_devices(&self, instance: &str) -> Vec<String> {
        list_dir(
            &self
                .dir()
                .join(".lxdev/fake/instances")
                .join(instance)
                .join("devices"),
        )
    }

    /// Adds text under `containers:` by hand, as a person (or a crashed
    /// lxdev) would have left it. `entry` is indented by 2 spaces already.
    pub fn append_containers(&self, entry: &str) {
        let text = self.yaml().replace("containers: {}\n", "containers:\n");
        std::fs::write(self.config_path(), format!("{text}{entry}")).unwrap();
    }

    /// Makes the fake runtime have `instance` (as if created by hand).
    pub fn make_runtime_instance(&self, instance: &str) {
        std::fs::create_dir_all(self.dir().join(".lxdev/fake/instances").join(instance)).unwrap();
    }

    /// Temp files beside containers.yaml.
    pub fn temp_files(&self) -> Vec<String> {
        list_dir(self.dir())
            .into_iter()
            .filter(|n| n.starts_with(".containers.yaml.tmp"))
            .collect()
    }
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A TCP port nothing listens on right now, for a port a test forwards.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `operation:` block for a live process (this test process), indented
/// for a container entry.
pub fn live_operation(kind: &str, indent: &str) -> String {
    operation_block(
        kind,
        std::process::id(),
        &lxdev::time::now_rfc3339(),
        indent,
    )
}

/// An `operation:` block for a process that has exited.
pub fn dead_operation(kind: &str, indent: &str) -> String {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    operation_block(kind, pid, &lxdev::time::now_rfc3339(), indent)
}

fn operation_block(kind: &str, pid: u32, started_at: &str, indent: &str) -> String {
    let host = lxdev::process::hostname();
    format!(
        "{indent}operation:\n{indent}  kind: {kind}\n{indent}  pid: {pid}\n{indent}  host: \"{host}\"\n{indent}  started_at: \"{started_at}\"\n"
    )
}
