//! The `lxdev` binary through a real HTTPS remote, on LXD and on Incus:
//! each daemon reached as a remote of its own client
//! (`scripts/setup-remote.sh RUNTIME` adds `lxdev-loop`; another name with
//! `LXDEV_TEST_REMOTE`).
//!
//! The remote is the local daemon itself, so what lxdev made there is also
//! what the local listing shows, and the usual agreement checks hold. To
//! know that every call went *through the remote*, lxdev runs with a client
//! configuration of its own (`LXD_CONF`/`INCUS_CONF`) whose default remote
//! is `nowhere`, an address nothing listens on: a call that forgot the
//! `REMOTE:` prefix fails instead of quietly using the local socket. The
//! test's own checks use the user's configuration and `lxc list REMOTE:`.
//!
//! Without the remote each test prints `skipped: ...` and passes, unless
//! `LXDEV_REQUIRE_LXD=1` / `LXDEV_REQUIRE_INCUS=1` (CI after the setup
//! scripts), where it fails.

use std::collections::BTreeSet;
use std::path::PathBuf;

use predicates::prelude::*;
use serde_json::Value;

use crate::lxd::{IMAGE, LxdProject, RecordingShim, json_stdout, set};
use crate::runtimes::{self, TestRuntime};
use crate::support::dead_operation;

/// An unreachable default remote in the test's client configuration.
const NOWHERE: &str = "nowhere";

/// The remote under test, and a client configuration that has it, with
/// [`NOWHERE`] as the default remote.
struct Remote {
    name: String,
    rt: TestRuntime,
    conf: tempfile::TempDir,
}

impl Remote {
    /// For each reachable runtime whose client has the remote, a project
    /// whose file says `remote: NAME`, run with the remote-only client
    /// configuration.
    fn each(test: &str) -> impl Iterator<Item = (LxdProject, Remote)> {
        let test = test.to_owned();
        runtimes::reachable(&test)
            .into_iter()
            .filter_map(move |rt| match Remote::open(rt) {
                Ok(remote) => {
                    let mut lxd = LxdProject::start(rt);
                    std::fs::write(
                        lxd.project.config_path(),
                        format!(
                            "project: {}\nruntime: {}\nremote: {}\ncontainers: {{}}\n",
                            lxd.name, rt.name, remote.name
                        ),
                    )
                    .unwrap();
                    lxd.client_env = Some((rt.conf_env(), remote.conf.path().to_owned()));
                    Some((lxd, remote))
                }
                Err(why) => {
                    rt.skip(&test, &why, &format!("scripts/setup-remote.sh {}", rt.name));
                    None
                }
            })
    }

    /// The remote `LXDEV_TEST_REMOTE` (default `lxdev-loop`) of `rt`'s
    /// client, if it answers as trusted, with a client configuration
    /// holding only it and [`NOWHERE`].
    fn open(rt: TestRuntime) -> Result<Remote, String> {
        let name = std::env::var("LXDEV_TEST_REMOTE").unwrap_or_else(|_| "lxdev-loop".into());
        let out = rt.run(&["query", &format!("{name}:/1.0")]);
        if !out.status.success() {
            return Err(format!(
                "`{} query {name}:/1.0` failed: {}",
                rt.client,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let server: Value = serde_json::from_slice(&out.stdout).expect("query prints JSON");
        if server["auth"] != "trusted" {
            return Err(format!("remote `{name}` does not trust this client"));
        }
        let listed = rt.run(&["remote", "list", "--format", "csv"]);
        let url = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|fields| fields[0].trim_end_matches(" (current)") == name)
            .map(|fields| fields[1].to_owned())
            .ok_or_else(|| format!("`{} remote list` has no `{name}`", rt.client))?;
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let own = std::env::var_os(rt.conf_env())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config").join(rt.client));
        let conf = tempfile::tempdir().unwrap();
        std::fs::create_dir(conf.path().join("servercerts")).unwrap();
        for file in [
            "client.crt".to_owned(),
            "client.key".to_owned(),
            format!("servercerts/{name}.crt"),
        ] {
            std::fs::copy(own.join(&file), conf.path().join(&file))
                .map_err(|err| format!("cannot copy `{}`: {err}", own.join(&file).display()))?;
        }
        let protocol = rt.name;
        std::fs::write(
            conf.path().join("config.yml"),
            format!(
                "default-remote: {NOWHERE}\nremotes:\n  {NOWHERE}:\n    addr: https://127.0.0.1:9\n    \
                 protocol: {protocol}\n    public: false\n  {name}:\n    addr: {url}\n    \
                 protocol: {protocol}\n    public: false\naliases: {{}}\n"
            ),
        )
        .unwrap();
        Ok(Remote { name, rt, conf })
    }

    /// The instances `<client> list REMOTE:PREFIX` shows (the user's own
    /// client configuration).
    fn list(&self, prefix: &str) -> BTreeSet<String> {
        let out = self.rt.run(&[
            "list",
            &format!("{}:{prefix}", self.name),
            "--format",
            "csv",
            "-c",
            "n",
        ]);
        assert!(
            out.status.success(),
            "{} list {}: {}",
            self.rt.client,
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|name| name.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }
}

/// What `<client> list REMOTE:` shows of `lxd`'s project, as container
/// names.
fn on_remote(lxd: &LxdProject, remote: &Remote) -> BTreeSet<String> {
    let prefix = format!("{}-", lxd.name);
    remote
        .list(&prefix)
        .into_iter()
        .map(|instance| instance[prefix.len()..].to_owned())
        .collect()
}

/// Every command through the remote: init records it, a provisioned
/// create (the readiness wait, the user and SSH scripts and `initial-state`
/// all run through `exec REMOTE:...`), snapshots, exec as the dev user and
/// as root, restore, list, clone (current state and snapshot), image
/// publish/list/delete, remove and doctor; after each, the file, the
/// listing and `<client> list REMOTE:` name the same containers.
#[test]
fn every_command_goes_through_the_remote() {
    for (lxd, remote) in Remote::each("every_command_goes_through_the_remote") {
        let name = remote.name.as_str();
        std::fs::remove_file(lxd.project.config_path()).unwrap();
        lxd.lxdev(["--remote", name, "init", "--project", &lxd.name])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("remote `{name}`")));
        assert_eq!(lxd.project.config().remote.as_deref(), Some(name));

        lxd.ok(["container", "create", "dev", IMAGE]);
        assert_eq!(on_remote(&lxd, &remote), set(&["dev"]));
        assert!(lxd.lxd("dev").snapshots.contains("initial-state"));

        lxd.ok(["snapshot", "create", "dev", "s1"]);
        lxd.ok(["snapshot", "list", "dev"])
            .stdout(predicate::str::contains("s1").and(predicate::str::contains("initial-state")));
        lxd.lxdev(["exec", "dev", "--", "id", "-un"])
            .assert()
            .success()
            .stdout("dev\n");
        lxd.lxdev(["exec", "dev", "-u", "root", "--", "touch", "/after-s1"])
            .assert()
            .success();
        lxd.ok(["snapshot", "restore", "dev", "s1"]);
        lxd.lxdev(["exec", "dev", "-u", "root", "--", "test", "-e", "/after-s1"])
            .assert()
            .code(1);

        let listed = json_stdout(&lxd.ok(["--json", "list"]));
        assert_eq!(listed["containers"][0]["name"], "dev", "{listed}");
        assert_eq!(listed["containers"][0]["status"], "Running", "{listed}");

        lxd.ok(["container", "clone", "dev", "copy", "--no-initial-snapshot"]);
        lxd.ok(["container", "clone", "dev", "old", "--snapshot", "s1"]);
        assert_eq!(on_remote(&lxd, &remote), set(&["dev", "copy", "old"]));

        let alias = format!("{}-img", lxd.name);
        lxd.ok(["image", "create", "old", &alias]);
        lxd.ok(["image", "list"])
            .stdout(predicate::str::contains(alias.as_str()));
        let images = remote.rt.run(&[
            "image",
            "list",
            &format!("{name}:"),
            "--format",
            "csv",
            "-c",
            "l",
        ]);
        assert!(
            String::from_utf8_lossy(&images.stdout)
                .lines()
                .any(|l| l == alias),
            "`{} image list {name}:` lacks {alias}",
            remote.rt.client
        );
        lxd.ok(["image", "delete", &alias]);

        lxd.ok(["container", "remove", "--yes", "copy", "old"]);
        assert_eq!(on_remote(&lxd, &remote), set(&["dev"]));
        // Busybox has no sshd: a warning, not a problem (exit 0).
        lxd.ok(["doctor"]).stdout(
            predicate::str::contains(format!("against the {} (remote {name}", remote.rt.name))
                .and(predicate::str::contains("SSH is off")),
        );
        lxd.ok(["container", "remove", "--yes", "dev"]);
        assert_eq!(on_remote(&lxd, &remote), set(&[]));
    }
}

/// Parallel creates through the remote all land: every one exits 0, and
/// the file and `<client> list REMOTE:` name the same N containers.
#[test]
fn parallel_creates_through_the_remote_all_land() {
    const N: usize = 6;
    for (lxd, remote) in Remote::each("parallel_creates_through_the_remote_all_land") {
        let names: Vec<String> = (0..N).map(|i| format!("c{i}")).collect();
        crate::lxd::all_succeed(std::array::from_fn::<_, N, _>(|i| {
            lxd.spawn(["container", "create", &names[i], IMAGE, "--no-provision"])
        }));
        let wanted: BTreeSet<String> = names.iter().cloned().collect();
        assert_eq!(
            lxd.container_names().into_iter().collect::<BTreeSet<_>>(),
            wanted
        );
        assert_eq!(on_remote(&lxd, &remote), wanted);
        lxd.assert_agree_and_ready();
    }
}

/// An instance on the remote tagged for the project but not in the file is
/// found by `doctor`, which says it checked that remote, and adopted by
/// `doctor --fix`.
#[test]
fn doctor_finds_an_orphan_on_the_remote() {
    for (lxd, remote) in Remote::each("doctor_finds_an_orphan_on_the_remote") {
        let name = remote.name.as_str();
        let stray = format!("{name}:{}", lxd.instance("stray"));
        let made = remote.rt.run(&[
            remote.rt.create(),
            "-c",
            &format!("user.lxdev.project={}", lxd.name),
            "--",
            &format!("{name}:{IMAGE}"),
            &stray,
        ]);
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let before = lxd.project.bytes();
        lxd.lxdev(["doctor"]).assert().code(1).stdout(
            predicate::str::contains(format!("remote {name}")).and(predicate::str::contains(
                "container `stray` exists in the runtime but not in the file",
            )),
        );
        let report = json_stdout(&lxd.lxdev(["--json", "doctor"]).assert().code(1));
        assert_eq!(report["remote"], name, "{report}");
        assert_eq!(report["findings"][0]["kind"], "missing_from_config");
        assert_eq!(
            lxd.project.bytes(),
            before,
            "doctor without --fix writes nothing"
        );

        lxd.ok(["doctor", "--fix"])
            .stdout(predicate::str::contains("fixed: container `stray`"));
        assert_eq!(lxd.container_names(), ["stray"]);
        assert_eq!(on_remote(&lxd, &remote), set(&["stray"]));
    }
}

/// An unknown remote and an unreachable one: a command that needs the
/// runtime exits 69 with one line naming the remote, the file untouched.
/// (`list` still shows the file, warning that the status is unknown.)
#[test]
fn unknown_and_unreachable_remotes_are_one_line_and_exit_69() {
    for (lxd, _remote) in Remote::each("unknown_and_unreachable_remotes_are_one_line_and_exit_69") {
        for (remote, says) in [
            ("lxdev-no-such-remote", "is not one of"),
            (NOWHERE, "cannot be reached"),
        ] {
            let assert = lxd.fails(
                [
                    "--remote",
                    remote,
                    "container",
                    "create",
                    "x",
                    IMAGE,
                    "--no-provision",
                ],
                69,
            );
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with(&format!("error: remote `{remote}` {says}")),
                "{stderr}"
            );
        }
    }
}

/// `--target` reaches the client on `init`/`create` and `copy`, as one
/// argument; the remote here is no cluster, which the daemon says, and
/// lxdev turns that into exit 2 with nothing made or recorded.
#[test]
fn a_target_reaches_the_client_and_a_non_cluster_refuses_it() {
    for (lxd, remote) in Remote::each("a_target_reaches_the_client_and_a_non_cluster_refuses_it") {
        lxd.ok(["container", "create", "web", IMAGE, "--no-provision"]);
        let shim = RecordingShim::new(remote.rt.client);
        for (args, target) in [
            (
                vec![
                    "container",
                    "create",
                    "t",
                    IMAGE,
                    "--no-provision",
                    "--target=node2",
                ],
                "node2",
            ),
            (
                vec!["container", "clone", "web", "t", "--target=@group1"],
                "@group1",
            ),
        ] {
            let before = lxd.project.bytes();
            lxd.lxdev(&args)
                .env("PATH", shim.path())
                .assert()
                .code(2)
                .stderr(
                    predicate::str::contains("cluster")
                        .and(predicate::str::contains("drop --target")),
                );
            assert_eq!(lxd.project.bytes(), before, "{args:?} changed the file");
            let flag = format!("--target={target}");
            assert!(
                shim.calls().iter().any(|call| call.contains(&flag)),
                "no call carried {flag}: {:?}",
                shim.calls()
            );
            lxd.assert_agree_and_ready();
        }
        assert_eq!(on_remote(&lxd, &remote), set(&["web"]));
    }
}

/// A create whose lxdev was killed while its client still runs: `doctor`
/// leaves the entry alone while a client process on this host names the
/// instance as `REMOTE:NAME` (a bare `NAME` would be another server's), and
/// `--fix` settles it once that process is gone.
#[test]
fn doctor_waits_for_a_client_still_working_on_the_remote() {
    use std::os::unix::process::CommandExt;
    for (lxd, remote) in Remote::each("doctor_waits_for_a_client_still_working_on_the_remote") {
        let op = dead_operation("create", "    ");
        lxd.project.append_containers(&format!(
            "  slow:\n    image: {IMAGE}\n    state: creating\n{op}"
        ));
        let instance = format!("{}:{}", remote.name, lxd.instance("slow"));
        // What a killed lxdev leaves: its client, still running.
        let mut client = std::process::Command::new("sh")
            .arg0(remote.rt.client)
            .args(["-c", "sleep 60 & wait", remote.rt.create(), &instance])
            .spawn()
            .unwrap();
        let named = |args: Option<Vec<String>>| args.is_some_and(|a| a.contains(&instance));
        while !named(lxdev::process::arguments(client.id())) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let before = lxd.project.bytes();
        lxd.lxdev(["doctor", "--fix"]).assert().success().stdout(
            predicate::str::contains(format!("pid {} is still running", client.id()))
                .and(predicate::str::contains(instance.as_str()))
                .and(predicate::str::contains("left alone")),
        );
        assert_eq!(
            lxd.project.bytes(),
            before,
            "an entry in flight is left alone"
        );
        client.kill().unwrap();
        client.wait().unwrap();
        lxd.ok(["doctor", "--fix"]);
        assert!(lxd.container_names().is_empty(), "{}", lxd.project.yaml());
        assert_eq!(on_remote(&lxd, &remote), set(&[]));
    }
}

/// A remote that accepts the connection and never answers (a TLS
/// handshake that never comes) hung `up --all` and `list` for minutes.
/// Every call is bounded now: the first by --connect-timeout, with exit 69
/// naming the remote; `list` still shows the file, with a warning.
#[test]
fn a_remote_that_accepts_and_never_answers_is_given_up_on() {
    let test = "a_remote_that_accepts_and_never_answers_is_given_up_on";
    for (lxd, remote) in Remote::each(test) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts, and holds every connection open without a word.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        let config = remote.conf.path().join("config.yml");
        let text = std::fs::read_to_string(&config).unwrap().replace(
            "aliases: {}",
            &format!(
                "  silent:\n    addr: https://127.0.0.1:{port}\n    protocol: {}\n    \
                 public: false\naliases: {{}}",
                remote.rt.name
            ),
        );
        std::fs::write(&config, text).unwrap();
        lxd.project
            .append_containers(&format!("  web:\n    image: {IMAGE}\n"));
        let before = lxd.project.bytes();
        for (args, code) in [
            (&["--remote", "silent", "up", "--all"][..], 69),
            (&["--remote", "silent", "list"][..], 0),
        ] {
            let started = std::time::Instant::now();
            let out = lxd
                .spawn(args)
                .env("LXDEV_CONNECT_TIMEOUT", "2")
                .output()
                .unwrap();
            let elapsed = started.elapsed();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
            assert!(
                elapsed < std::time::Duration::from_secs(30),
                "{args:?}: {elapsed:?}"
            );
            assert!(
                stderr.contains("remote `silent` did not answer within 2 s")
                    && stderr.contains("--connect-timeout"),
                "{args:?}: {stderr}"
            );
            assert_eq!(lxd.project.bytes(), before, "{args:?}");
        }
        let listed = lxd
            .spawn(["--remote", "silent", "list"])
            .env("LXDEV_CONNECT_TIMEOUT", "2")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&listed.stdout).contains("web"));
    }
}
