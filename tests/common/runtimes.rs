//! The real runtimes the runtime-backed tests run against: one suite,
//! looped over every runtime that is asked for and reachable.
//!
//! `LXDEV_TEST_RUNTIMES` (default `lxd,incus`) names the runtimes to try.
//! Each test calls [`reachable`] and runs its body once per runtime that
//! answers `<client> query /1.0`; one that does not is skipped with a line
//! on stderr, unless `LXDEV_REQUIRE_LXD=1` / `LXDEV_REQUIRE_INCUS=1` (CI
//! after the setup scripts), where it fails the test.
//!
//! The fixture spells each client's commands itself (see
//! [`TestRuntime::snapshot_create`]) instead of borrowing lxdev's table, so
//! the tests check that table against the real clients.

// Shared by two test binaries (`cli`, `lxd_runtime`); each uses part of it.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Output, Stdio};

/// One real runtime under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRuntime {
    /// `lxd` or `incus`: what `--runtime` and `runtime:` say.
    pub name: &'static str,
    /// `lxc` or `incus`: the client program.
    pub client: &'static str,
    /// The environment variable that makes this runtime's absence a failure.
    require: &'static str,
    /// What to run to set it up.
    setup: &'static str,
}

pub const LXD: TestRuntime = TestRuntime {
    name: "lxd",
    client: "lxc",
    require: "LXDEV_REQUIRE_LXD",
    setup: "scripts/setup-lxd.sh",
};

pub const INCUS: TestRuntime = TestRuntime {
    name: "incus",
    client: "incus",
    require: "LXDEV_REQUIRE_INCUS",
    setup: "scripts/setup-incus.sh",
};

/// The runtimes `test` should run against: those `LXDEV_TEST_RUNTIMES`
/// names (default both) that reach a daemon. Says which are skipped, or
/// panics if a required one is not reachable.
pub fn reachable(test: &str) -> Vec<TestRuntime> {
    let asked = std::env::var("LXDEV_TEST_RUNTIMES").unwrap_or_else(|_| "lxd,incus".to_owned());
    let mut found = Vec::new();
    for name in asked.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let runtime = match name {
            "lxd" => LXD,
            "incus" => INCUS,
            other => panic!("LXDEV_TEST_RUNTIMES names `{other}`; expected lxd and/or incus"),
        };
        match runtime.unreachable() {
            None => found.push(runtime),
            Some(reason) if std::env::var_os(runtime.require).is_some() => panic!(
                "{test}: {} not reachable and {} is set: {reason}",
                runtime.name, runtime.require
            ),
            Some(reason) => {
                // Straight to the process's stderr: libtest captures
                // `eprintln!` of passing tests, and a skip should be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: {test} on {}: not reachable ({reason}; run {})",
                    runtime.name,
                    runtime.setup
                );
            }
        }
    }
    found
}

impl TestRuntime {
    /// Says on stderr that `test` is skipped on this runtime because of
    /// `reason` (`fix` says what sets it up), or panics when this runtime is
    /// required (`LXDEV_REQUIRE_LXD`/`LXDEV_REQUIRE_INCUS`).
    pub fn skip(&self, test: &str, reason: &str, fix: &str) {
        if std::env::var_os(self.require).is_some() {
            panic!(
                "{test}: {reason} on {} and {} is set; run {fix}",
                self.name, self.require
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test} on {}: {reason} (run {fix})",
            self.name
        );
    }

    /// Why `<client> query /1.0` fails, or `None` when it answers.
    fn unreachable(&self) -> Option<String> {
        match self.command(&["query", "/1.0"]).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "`{} query /1.0` failed: {}",
                self.client,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(err) => Some(format!("`{}` could not be run: {err}", self.client)),
        }
    }

    /// The client with `args`, stdin closed, messages in English.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(self.client);
        command.args(args).env("LC_ALL", "C").stdin(Stdio::null());
        command
    }

    /// The client with `args` to completion, output captured.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|err| panic!("run {}: {err}", self.client))
    }

    /// The client's words for taking a snapshot: LXD 5.0's `lxc snapshot`,
    /// Incus 6's `incus snapshot create`.
    pub fn snapshot_create(&self) -> &'static [&'static str] {
        match self.name {
            "incus" => &["snapshot", "create"],
            _ => &["snapshot"],
        }
    }

    /// The client's words for restoring a snapshot.
    pub fn snapshot_restore(&self) -> &'static [&'static str] {
        match self.name {
            "incus" => &["snapshot", "restore"],
            _ => &["restore"],
        }
    }

    /// Deletes snapshot `snap` of `instance` with the client itself (behind
    /// lxdev's back): LXD 5.0's `lxc delete I/S`, Incus 6's
    /// `incus snapshot delete I S`.
    pub fn delete_snapshot(&self, instance: &str, snap: &str) -> Output {
        match self.name {
            "incus" => self.run(&["snapshot", "delete", instance, snap]),
            _ => self.run(&["delete", &format!("{instance}/{snap}")]),
        }
    }

    /// The environment variable naming the client's config directory.
    pub fn conf_env(&self) -> &'static str {
        match self.name {
            "incus" => "INCUS_CONF",
            _ => "LXD_CONF",
        }
    }

    /// The client's words for making an instance without starting it.
    pub fn create(&self) -> &'static str {
        match self.name {
            "incus" => "create",
            _ => "init",
        }
    }
}
