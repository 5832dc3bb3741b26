//! `LxdRuntime` against the real LXD and Incus daemons, through the
//! `Runtime` trait: every test runs once per reachable runtime (see
//! `common/runtimes.rs`).
//!
//! Each test makes instances named `lxdevtest-<pid>-<test>...` from the
//! `busybox` image that scripts/setup-lxd.sh and setup-incus.sh import, and
//! deletes them when it ends, pass or fail. Without a reachable daemon a
//! test prints "skipped: ..." for that runtime and passes, unless
//! `LXDEV_REQUIRE_LXD=1` / `LXDEV_REQUIRE_INCUS=1` (CI after the setup
//! scripts), where a missing daemon is a failure.

use std::path::Path;

use lxdev::config::ledger::Step;
use lxdev::runtime::{
    ExecOptions, Limits, Placement, Provisioning, Runtime, Tags, lxd::LxdRuntime,
};

#[path = "common/runtimes.rs"]
mod runtimes;

/// The image every test launches; `LXDEV_TEST_IMAGE` overrides it.
fn image() -> String {
    std::env::var("LXDEV_TEST_IMAGE").unwrap_or_else(|_| "busybox".to_owned())
}

/// One backend per reachable runtime, made lazily so each test's instances
/// on one runtime are cleaned up before the next runtime starts.
fn runtimes(test: &str) -> impl Iterator<Item = LxdRuntime> {
    runtimes::reachable(test).into_iter().map(|rt| {
        LxdRuntime::open(rt.name, Placement::default(), Limits::default())
            .expect("lxd or incus")
            .unwrap_or_else(|err| panic!("{} answered the fixture but not lxdev: {err:#}", rt.name))
    })
}

/// How the client for `rt` spells a command line in lxdev's errors, as the
/// real clients take it (LXD 5.0 and Incus 6.0 differ in their snapshot
/// verbs and in `init`/`create`).
fn spelled(rt: &LxdRuntime, lxd: &str, incus: &str) -> String {
    match rt.name() {
        "incus" => format!("incus {incus}"),
        _ => format!("lxc {lxd}"),
    }
}

/// Deletes the named instances when dropped, so a failing assertion does not
/// leave containers behind.
struct Cleanup<'a> {
    runtime: &'a LxdRuntime,
    names: Vec<String>,
}

impl<'a> Cleanup<'a> {
    fn new(runtime: &'a LxdRuntime) -> Self {
        Cleanup {
            runtime,
            names: Vec::new(),
        }
    }

    /// A unique instance name for `suffix`, deleted at the end of the test.
    fn name(&mut self, suffix: &str) -> String {
        let name = format!("lxdevtest-{}-{suffix}", std::process::id());
        self.names.push(name.clone());
        name
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            if let Ok(Some(_)) = self.runtime.status(name)
                && let Err(err) = self.runtime.remove(name)
            {
                eprintln!("cleanup: {err:#}");
            }
        }
    }
}

fn tags(project: &str) -> Tags<'_> {
    static NO_SETTINGS: std::collections::BTreeMap<String, String> =
        std::collections::BTreeMap::new();
    Tags {
        project,
        config_path: Path::new("/tmp/lxdev test/containers.yaml"),
        settings: &NO_SETTINGS,
    }
}

#[test]
fn create_status_list_remove() {
    for rt in runtimes("create_status_list_remove") {
        let mut cleanup = Cleanup::new(&rt);
        let project = cleanup.name("crt");
        let name = format!("{project}-dev");
        cleanup.names.push(name.clone());

        rt.create(&name, &image(), &tags(&project)).unwrap();

        let found = rt.status(&name).unwrap().expect("created instance exists");
        assert_eq!(found.name, name);
        assert_eq!(found.status, "Running");
        assert!(found.snapshots.is_empty());
        assert_eq!(found.project_tag.as_deref(), Some(project.as_str()));

        let listed = rt.list(&project).unwrap();
        assert_eq!(listed, vec![found]);

        rt.remove(&name).unwrap();
        assert_eq!(rt.status(&name).unwrap(), None);
        assert!(rt.list(&project).unwrap().is_empty());
    }
}

#[test]
fn list_finds_by_prefix_and_by_tag_only() {
    for rt in runtimes("list_finds_by_prefix_and_by_tag_only") {
        let mut cleanup = Cleanup::new(&rt);
        let project = cleanup.name("lst");
        // Named for the project but tagged for another: found by its name.
        let by_prefix = format!("{project}-a");
        cleanup.names.push(by_prefix.clone());
        // Named for nothing, tagged for the project: found by its tag.
        let by_tag = cleanup.name("lsttag");
        // Neither: `<project>x-...` shares the text but not the `-` boundary.
        let other = format!("{project}x-b");
        cleanup.names.push(other.clone());

        let image = image();
        rt.create(&by_prefix, &image, &tags("someone-else"))
            .unwrap();
        rt.create(&by_tag, &image, &tags(&project)).unwrap();
        rt.create(&other, &image, &tags("someone-else")).unwrap();

        let mut names: Vec<String> = rt
            .list(&project)
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        names.sort();
        let mut expected = vec![by_prefix, by_tag];
        expected.sort();
        assert_eq!(names, expected);
    }
}

#[test]
fn status_is_exact_not_prefix() {
    for rt in runtimes("status_is_exact_not_prefix") {
        let mut cleanup = Cleanup::new(&rt);
        let c1 = cleanup.name("x-c1");
        let c10 = cleanup.name("x-c10");
        let project = c1.trim_end_matches("-x-c1").to_owned();

        // Only c10 exists: `lxc list c1` would report it, status must not.
        rt.create(&c10, &image(), &tags(&project)).unwrap();
        assert_eq!(rt.status(&c1).unwrap(), None);
        assert_eq!(rt.status(&c10).unwrap().unwrap().name, c10);

        rt.create(&c1, &image(), &tags(&project)).unwrap();
        rt.stop(&c10).unwrap();
        let one = rt.status(&c1).unwrap().unwrap();
        assert_eq!(
            (one.name.as_str(), one.status.as_str()),
            (c1.as_str(), "Running")
        );
        let ten = rt.status(&c10).unwrap().unwrap();
        assert_eq!(
            (ten.name.as_str(), ten.status.as_str()),
            (c10.as_str(), "Stopped")
        );

        // Names that cannot be instances are simply absent, not a bad request.
        assert_eq!(rt.status("no/such?thing").unwrap(), None);
    }
}

#[test]
fn snapshot_create_list_restore_delete() {
    for rt in runtimes("snapshot_create_list_restore_delete") {
        let mut cleanup = Cleanup::new(&rt);
        let name = cleanup.name("snap");
        rt.create(&name, &image(), &tags("lxdevtest")).unwrap();

        let exec = |script: &str| {
            rt.exec(
                &name,
                &["sh".into(), "-c".into(), script.into()],
                &ExecOptions::default(),
            )
        };
        assert_eq!(exec("echo before > /root/marker").unwrap(), 0);
        rt.snapshot_create(&name, "s1").unwrap();
        rt.snapshot_create(&name, "s2").unwrap();
        assert_eq!(rt.status(&name).unwrap().unwrap().snapshots, ["s1", "s2"]);

        assert_eq!(exec("echo after > /root/marker").unwrap(), 0);
        rt.snapshot_restore(&name, "s1").unwrap();
        let restored = rt.status(&name).unwrap().unwrap();
        assert_eq!(
            restored.status, "Running",
            "restore keeps a running instance running"
        );
        assert_eq!(exec("test \"$(cat /root/marker)\" = before").unwrap(), 0);

        rt.snapshot_delete(&name, "s1").unwrap();
        assert_eq!(rt.status(&name).unwrap().unwrap().snapshots, ["s2"]);

        let err = rt.snapshot_create(&name, "s2").unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "`{}` failed: Error: ",
                spelled(
                    &rt,
                    &format!("snapshot -- {name} s2"),
                    &format!("snapshot create -- {name} s2")
                )
            )),
            "{err}"
        );
        assert!(err.contains("already exists"), "{err}");
        let err = rt.snapshot_restore(&name, "s1").unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "`{}` failed: Error: ",
                spelled(
                    &rt,
                    &format!("restore -- {name} s1"),
                    &format!("snapshot restore -- {name} s1")
                )
            )),
            "{err}"
        );
    }
}

#[test]
fn clone_from_instance_and_from_snapshot_has_no_snapshots() {
    for rt in runtimes("clone_from_instance_and_from_snapshot_has_no_snapshots") {
        let mut cleanup = Cleanup::new(&rt);
        let source = cleanup.name("cln");
        let from_instance = cleanup.name("cln-i");
        let from_snapshot = cleanup.name("cln-s");
        rt.create(&source, &image(), &tags("src-project")).unwrap();
        let exec = |name: &str, script: &str| {
            rt.exec(
                name,
                &["sh".into(), "-c".into(), script.into()],
                &ExecOptions::default(),
            )
        };
        assert_eq!(exec(&source, "echo one > /root/marker").unwrap(), 0);
        rt.snapshot_create(&source, "s1").unwrap();
        assert_eq!(exec(&source, "echo two > /root/marker").unwrap(), 0);

        rt.clone_instance(&source, None, &from_instance, &tags("dst-project"))
            .unwrap();
        rt.clone_instance(&source, Some("s1"), &from_snapshot, &tags("dst-project"))
            .unwrap();

        for (clone, marker) in [(&from_instance, "two"), (&from_snapshot, "one")] {
            // Started is not booted: LXD 5.0 may fail an `exec` into a
            // container whose init is not up yet ("Failed to retrieve PID
            // of executing child process"), as provisioning's `ready` step
            // knows.
            let ready = Provisioning {
                user: "dev".into(),
                password: None,
                keys: vec![],
                ready_timeout: std::time::Duration::from_secs(60),
            };
            rt.provision(clone, Step::Ready, &ready).unwrap();
            let found = rt.status(clone).unwrap().expect("clone exists");
            assert_eq!(found.name, *clone);
            assert_eq!(
                found.status, "Running",
                "clones are started like new instances"
            );
            assert!(
                found.snapshots.is_empty(),
                "{clone} has {:?}",
                found.snapshots
            );
            assert_eq!(found.project_tag.as_deref(), Some("dst-project"));
            let check = format!("test \"$(cat /root/marker)\" = {marker}");
            assert_eq!(exec(clone, &check).unwrap(), 0, "{clone} holds {marker}");
        }
        // The source keeps its snapshot and its tag.
        let source_now = rt.status(&source).unwrap().unwrap();
        assert_eq!(source_now.snapshots, ["s1"]);
        assert_eq!(source_now.project_tag.as_deref(), Some("src-project"));

        let missing = cleanup.name("cln-m");
        let err = rt
            .clone_instance(&source, Some("nope"), &missing, &tags("dst-project"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(" -- {source}/nope {missing}` failed")),
            "{err}"
        );
        assert!(err.contains("failed: Error: "), "{err}");
        assert_eq!(rt.status(&missing).unwrap(), None);
    }
}

#[test]
fn errors_name_the_command_and_its_stderr() {
    for rt in runtimes("errors_name_the_command_and_its_stderr") {
        let mut cleanup = Cleanup::new(&rt);
        let name = cleanup.name("err");

        let err = rt
            .create(&name, "lxdev-no-such-image", &tags("lxdevtest"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("`{} -c ", spelled(&rt, "init", "create"))),
            "{err}"
        );
        assert!(
            err.contains("'user.lxdev.config=/tmp/lxdev test/containers.yaml'"),
            "{err}"
        );
        assert!(
            err.contains(&format!(" -- lxdev-no-such-image {name}` failed")),
            "options first, then `--`, then the names: {err}"
        );
        assert!(err.contains("failed: Error: "), "{err}");
        // LXD: "Image not found"; Incus: `Image "NAME" not found`.
        assert!(
            err.contains("failed: Error: Image ") && err.ends_with("not found"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
        assert_eq!(rt.status(&name).unwrap(), None);

        let err = rt.snapshot_create(&name, "s1").unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "`{}` failed: Error: ",
                spelled(
                    &rt,
                    &format!("snapshot -- {name} s1"),
                    &format!("snapshot create -- {name} s1")
                )
            )),
            "{err}"
        );
        assert!(err.ends_with("Instance not found"), "{err}");
        let err = rt.remove(&name).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "`{}` failed: Error: ",
                spelled(
                    &rt,
                    &format!("delete --force -- {name}"),
                    &format!("delete --force -- {name}")
                )
            )),
            "{err}"
        );
        assert!(err.ends_with("Instance not found"), "{err}");
        let err = rt.start(&name).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "`{}` failed: Error: ",
                spelled(
                    &rt,
                    &format!("start -- {name}"),
                    &format!("start -- {name}")
                )
            )),
            "{err}"
        );

        // Creating over an existing instance is a conflict (exit 4), not a
        // generic failure, and leaves the existing instance alone.
        rt.create(&name, &image(), &tags("lxdevtest")).unwrap();
        let err = rt.create(&name, &image(), &tags("lxdevtest")).unwrap_err();
        assert!(
            matches!(err.downcast_ref(), Some(lxdev::error::Error::Conflict(_))),
            "{err:#}"
        );
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(rt.status(&name).unwrap().unwrap().status, "Running");
    }
}

/// The backend refuses names `lxc` would read as options or paths, even
/// from a caller that did not check: before the fix `snapshot_create(..,
/// "--reuse")` made an untracked `snap0` and `".."` damaged the dir pool.
#[test]
fn hostile_names_are_refused_and_leave_lxd_alone() {
    for rt in runtimes("hostile_names_are_refused_and_leave_lxd_alone") {
        let mut cleanup = Cleanup::new(&rt);
        let name = cleanup.name("hostile");
        let other = cleanup.name("hostile2");
        rt.create(&name, &image(), &tags("lxdevtest")).unwrap();
        rt.snapshot_create(&name, "clean").unwrap();
        let before = rt.status(&name).unwrap().unwrap();

        let refused = |result: anyhow::Result<()>, bad: &str| {
            let err = result.expect_err(bad);
            assert!(
                matches!(err.downcast_ref(), Some(lxdev::error::Error::Usage(_))),
                "{bad:?}: {err:#}"
            );
            assert!(
                format!("{err:#}").contains(&format!("`{}`", bad.escape_debug())),
                "{bad:?}: {err:#}"
            );
        };
        for snap in ["..", ".", "-x", "--reuse", "a/b", "a b", "a\nb"] {
            refused(rt.snapshot_create(&name, snap), snap);
            refused(rt.snapshot_delete(&name, snap), snap);
            refused(rt.snapshot_restore(&name, snap), snap);
            refused(
                rt.clone_instance(&name, Some(snap), &other, &tags("lxdevtest")),
                snap,
            );
        }
        for image in ["--empty", "-csecurity.privileged=true"] {
            refused(rt.create(&other, image, &tags("lxdevtest")), image);
        }
        assert_eq!(rt.status(&name).unwrap().unwrap(), before);
        assert_eq!(rt.status(&other).unwrap(), None);
        rt.snapshot_restore(&name, "clean").unwrap();
        assert_eq!(rt.status(&name).unwrap().unwrap().snapshots, ["clean"]);
    }
}

#[test]
fn exec_returns_the_exit_status() {
    for rt in runtimes("exec_returns_the_exit_status") {
        let mut cleanup = Cleanup::new(&rt);
        let name = cleanup.name("exec");
        rt.create(&name, &image(), &tags("lxdevtest")).unwrap();
        let sh = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];

        assert_eq!(
            rt.exec(&name, &sh("exit 3"), &ExecOptions::default())
                .unwrap(),
            3
        );
        assert_eq!(
            rt.exec(&name, &sh("true"), &ExecOptions::default())
                .unwrap(),
            0
        );
        assert_eq!(
            rt.exec(&name, &sh("kill -9 $$"), &ExecOptions::default())
                .unwrap(),
            137
        );
        assert_eq!(
            rt.exec(
                &name,
                &["lxdev-no-such-command".to_owned()],
                &ExecOptions::default()
            )
            .unwrap(),
            127
        );

        // A stopped or missing instance is an error, not exit status 1.
        rt.stop(&name).unwrap();
        assert_eq!(rt.status(&name).unwrap().unwrap().status, "Stopped");
        let err = rt
            .exec(&name, &sh("true"), &ExecOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("is stopped, not running"), "{err}");
        rt.start(&name).unwrap();
        assert_eq!(
            rt.exec(&name, &sh("exit 4"), &ExecOptions::default())
                .unwrap(),
            4
        );

        rt.remove(&name).unwrap();
        let err = rt
            .exec(&name, &sh("true"), &ExecOptions::default())
            .unwrap_err();
        assert!(
            matches!(err.downcast_ref(), Some(lxdev::error::Error::NotFound(_))),
            "{err:#}"
        );
    }
}
