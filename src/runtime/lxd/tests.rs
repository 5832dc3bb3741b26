//! The LXD backend's unit tests: argument lists, failure classification,
//! connection advice, with stub clients; `tests/lxd_runtime.rs` runs the
//! real ones.

use std::time::{Duration, Instant};

use super::api::ApiInstance;
use super::busy::orphaned_client;
use super::child::shell_quote;
use super::client::Client;
use super::failure::{Failure, FailureKind};
use super::*;
use crate::error::Error;
use crate::runtime::types::{ExecOptions, Instance, Limits, Placement, Tags};

fn unavailable_message(err: anyhow::Error) -> String {
    match err.downcast_ref::<Error>() {
        Some(Error::RuntimeUnavailable(message)) => message.clone(),
        _ => panic!("expected RuntimeUnavailable, got {err:#}"),
    }
}

/// An executable `name` in a temp dir that prints a socket error and
/// fails, as a client whose daemon is stopped does.
fn client_without_daemon(dir: &std::path::Path, name: &str) -> &'static str {
    use std::os::unix::fs::PermissionsExt;
    let client = dir.join(name);
    std::fs::write(
        &client,
        "#!/bin/sh\necho 'Error: dial unix /var/lib/lxd/unix.socket: connect: no such file' >&2\n\
         echo 'second line' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
    Box::leak(client.to_str().unwrap().to_owned().into_boxed_str())
}

#[test]
fn connect_without_the_client_says_what_to_install() {
    let err = LxdRuntime::connect(
        "lxdev-no-such-client",
        Placement::default(),
        Limits::default(),
    )
    .unwrap_err();
    let message = unavailable_message(err);
    assert_eq!(
        message,
        "`lxdev-no-such-client` is not installed (not found on PATH); install LXD \
         (Debian's `lxd` package: `apt install lxd`, or the snap: `snap install lxd`), \
         set it up with `lxd init` and start it with `systemctl start lxd`; \
         or try lxdev without one: `--runtime fake`"
    );
}

#[test]
fn connect_without_incus_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let missing: &'static str = Box::leak(
        dir.path()
            .join("incus")
            .to_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    );
    let message = unavailable_message(
        LxdRuntime::connect(missing, Placement::default(), Limits::default()).unwrap_err(),
    );
    assert!(message.contains("is not installed"), "{message}");
    assert!(
        message.contains("Debian's `incus` package: `apt install incus`"),
        "{message}"
    );
    assert!(message.contains("`systemctl start incus`"), "{message}");
    assert!(message.ends_with("`--runtime fake`"), "{message}");
}

#[test]
fn connect_without_a_daemon_names_the_command_its_stderr_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let client = client_without_daemon(dir.path(), "lxc");
    let message = unavailable_message(
        LxdRuntime::connect(client, Placement::default(), Limits::default()).unwrap_err(),
    );
    assert_eq!(
        message,
        format!(
            "`{client} query /1.0` failed: Error: dial unix /var/lib/lxd/unix.socket: \
             connect: no such file; start the LXD daemon with `systemctl start lxd` \
             (the snap: `snap start lxd`) and check that you may use it (root, or a \
             member of the `lxd` group); or try lxdev without one: `--runtime fake`"
        )
    );
}

#[test]
fn connect_without_an_incus_daemon_says_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let client = client_without_daemon(dir.path(), "incus");
    let message = unavailable_message(
        LxdRuntime::connect(client, Placement::default(), Limits::default()).unwrap_err(),
    );
    assert!(message.contains("failed: Error: dial unix"), "{message}");
    assert!(
        message.contains("start the Incus daemon with `systemctl start incus`"),
        "{message}"
    );
    assert!(message.contains("`incus-admin` group"), "{message}");
    assert!(message.ends_with("`--runtime fake`"), "{message}");
}

/// The checks come before any client is spawned: with a client that
/// does not exist, a spawn would fail with "failed to run".
#[test]
fn bad_names_are_refused_before_a_client_is_spawned() {
    let rt = LxdRuntime::unprobed(
        "lxdev-no-such-client",
        Placement::default(),
        Limits::default(),
    );
    let tags = Tags {
        project: "web",
        config_path: std::path::Path::new("/tmp/containers.yaml"),
        settings: &Default::default(),
    };
    let usage = |result: Result<()>| match result {
        Err(err) => match err.downcast_ref::<Error>() {
            Some(Error::Usage(message)) => message.clone(),
            _ => panic!("expected a usage error, got {err:#}"),
        },
        Ok(()) => panic!("expected a usage error, got Ok"),
    };
    for image in ["--empty", "-csecurity.privileged=true", "a b", "a\nb", ""] {
        let err = usage(rt.create("web-y", image, &tags));
        assert!(err.contains("image name"), "{image:?}: {err}");
    }
    for snap in ["..", ".", "-x", "--reuse", "a/b", "a b", "a\nb"] {
        let shown = format!("`{}`", snap.escape_debug());
        for result in [
            rt.snapshot_create("web-dev", snap),
            rt.snapshot_delete("web-dev", snap),
            rt.snapshot_restore("web-dev", snap),
            rt.clone_instance("web-dev", Some(snap), "web-c", &tags),
        ] {
            let err = usage(result);
            assert!(err.contains(&shown), "{snap:?}: {err}");
        }
    }
    for instance in ["--force", "-x", "..", "web/dev", "web dev", ""] {
        for result in [
            rt.create(instance, "busybox", &tags),
            rt.clone_instance("web-dev", None, instance, &tags),
            rt.clone_instance(instance, None, "web-c", &tags),
            rt.remove(instance),
            rt.start(instance),
            rt.stop(instance),
            rt.exec(instance, &[], &ExecOptions::default()).map(drop),
        ] {
            let err = usage(result);
            assert!(err.contains("instance name"), "{instance:?}: {err}");
        }
    }
}

/// A client `lxc` in `dir` that prints `stdout` and `stderr` and exits
/// `status`, whatever it is asked.
fn stub_client(dir: &std::path::Path, stdout: &str, stderr: &str, status: i32) -> &'static str {
    use std::os::unix::fs::PermissionsExt;
    let client = dir.join("lxc");
    std::fs::write(
        &client,
        format!(
            "#!/bin/sh\nprintf '%s' '{stdout}'\nprintf '%s\\n' '{stderr}' >&2\nexit {status}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
    Box::leak(client.to_str().unwrap().to_owned().into_boxed_str())
}

/// A client that answers `query /1.0` at once and hangs on anything
/// else (`hang_probe`: on that too), as a remote that accepts TCP and
/// never answers TLS does.
fn hanging_client(dir: &std::path::Path, hang_probe: bool) -> &'static str {
    use std::os::unix::fs::PermissionsExt;
    let client = dir.join("lxc");
    let probe = if hang_probe {
        ""
    } else {
        "[ \"$2\" = far:/1.0 ] && { echo '{\"auth\":\"trusted\"}'; exit 0; }\n"
    };
    std::fs::write(&client, format!("#!/bin/sh\n{probe}exec sleep 60\n")).unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
    Box::leak(client.to_str().unwrap().to_owned().into_boxed_str())
}

#[test]
fn a_remote_that_never_answers_is_given_up_on_with_exit_69() {
    let limits = Limits {
        connect: Duration::from_millis(300),
        call: Duration::from_millis(500),
    };
    let dir = tempfile::tempdir().unwrap();
    let silent = hanging_client(dir.path(), true);
    let started = Instant::now();
    let err = LxdRuntime::connect(silent, on_remote("far"), limits).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(crate::exit_code::for_error(&err), 69);
    let message = unavailable_message(err);
    assert!(
        message.contains("remote `far` did not answer within 0.3 s")
            && message.contains("--connect-timeout"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let slow = hanging_client(dir.path(), false);
    let runtime = LxdRuntime::connect(slow, on_remote("far"), limits).unwrap();
    let started = Instant::now();
    let err = runtime.status("web-a").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(crate::exit_code::for_error(&err), 69);
    let message = format!("{err:#}");
    assert!(
        message.contains("did not finish within 0.5 s")
            && message.contains("remote `far`")
            && message.contains("--runtime-timeout"),
        "{message}"
    );
}

fn on_remote(remote: &str) -> Placement {
    Placement {
        remote: Some(remote.to_owned()),
        ..Placement::default()
    }
}

/// What the real clients print, from LXD 5.0.2 and Incus 6.0.4: an
/// unknown remote, one that refuses connections, one that does not
/// trust this client. Each is one line naming the remote, exit 69.
#[test]
fn a_remote_that_cannot_be_used_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = stub_client(
        dir.path(),
        "",
        "Error: The remote \"nosuch\" doesn'\\''t exist",
        1,
    );
    let err = LxdRuntime::connect(unknown, on_remote("nosuch"), Limits::default()).unwrap_err();
    assert_eq!(crate::exit_code::for_error(&err), 69);
    let message = unavailable_message(err);
    assert!(
        message.starts_with(&format!(
            "remote `nosuch` is not one of `{unknown}`'s remotes (`{unknown} remote list`): \
             add it with `{unknown} remote add nosuch HOST:8443 --token TOKEN`"
        )),
        "{message}"
    );
    assert!(
        !message.contains('\n') && !message.contains("fake"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let refused = stub_client(
        dir.path(),
        "",
        "Error: Get \"https://127.0.0.1:9/1.0\": Unable to connect to: 127.0.0.1:9 \
         ([dial tcp 127.0.0.1:9: connect: connection refused])",
        1,
    );
    let err = LxdRuntime::connect(refused, on_remote("far"), Limits::default()).unwrap_err();
    assert_eq!(crate::exit_code::for_error(&err), 69);
    let message = unavailable_message(err);
    assert!(
        message.starts_with(&format!(
            "remote `far` cannot be reached (`{refused} query far:/1.0`: Error: Get"
        )),
        "{message}"
    );
    assert!(message.contains("connection refused"), "{message}");
    assert!(!message.contains('\n'), "{message}");

    let dir = tempfile::tempdir().unwrap();
    let untrusted = stub_client(dir.path(), r#"{"auth": "untrusted"}"#, "", 0);
    let err = LxdRuntime::connect(untrusted, on_remote("far"), Limits::default()).unwrap_err();
    assert_eq!(crate::exit_code::for_error(&err), 69);
    let message = unavailable_message(err);
    assert!(
        message.starts_with("remote `far` does not trust this client (it answers as `untrusted`)"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let trusted = stub_client(dir.path(), r#"{"auth": "trusted"}"#, "", 0);
    let runtime = LxdRuntime::connect(trusted, on_remote("far"), Limits::default()).unwrap();
    assert_eq!(runtime.location(), "lxd (remote far)");
}

/// `--target` and `--storage` reach the client's argv of `init`/`create`
/// and `copy`, each as one argument before `--`, and no other call.
#[test]
fn a_target_and_a_pool_reach_create_and_copy_only() {
    use std::os::unix::fs::PermissionsExt;
    for program in ["lxc", "incus"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("argv");
        let client = dir.path().join(program);
        std::fs::write(
            &client,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\necho 'Error: boom' >&2\nexit 1\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut rt = LxdRuntime::unprobed(
            Box::leak(client.to_str().unwrap().to_owned().into_boxed_str()),
            Placement::default(),
            Limits::default(),
        );
        rt.client.placement = Placement {
            remote: Some("far".into()),
            project: None,
            target: Some("@gpu".into()),
            storage: Some("fast".into()),
        };
        let tags = Tags {
            project: "web",
            config_path: std::path::Path::new("/p/containers.yaml"),
            settings: &Default::default(),
        };
        assert!(rt.create("web-a", "busybox", &tags).is_err());
        assert!(rt.clone_instance("web-a", None, "web-b", &tags).is_err());
        assert!(
            rt.clone_instance("web-a", Some("s1"), "web-c", &tags)
                .is_err()
        );
        assert!(rt.start("web-a").is_err());
        let calls = std::fs::read_to_string(&log).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        let create = if program == "incus" { "create" } else { "init" };
        assert_eq!(
            calls,
            [
                format!(
                    "{create} --target=@gpu --storage=fast -c user.lxdev.project=web \
                     -c user.lxdev.config=/p/containers.yaml -c security.nesting=true \
                     -c security.syscalls.intercept.mknod=true \
                     -c security.syscalls.intercept.setxattr=true -- far:busybox far:web-a"
                ),
                "copy --target=@gpu --storage=fast --instance-only -c user.lxdev.project=web \
                 -c user.lxdev.config=/p/containers.yaml -- far:web-a far:web-b"
                    .to_owned(),
                "copy --target=@gpu --storage=fast -c user.lxdev.project=web \
                 -c user.lxdev.config=/p/containers.yaml -- far:web-a/s1 far:web-c"
                    .to_owned(),
                "start -- far:web-a".to_owned(),
            ],
            "{program}"
        );
    }
}

/// `busy` looks for orphaned clients by the argument the client was
/// given: `REMOTE:NAME` on a remote, where a bare `NAME` is another
/// server's instance.
#[test]
fn an_orphaned_client_is_found_by_its_remote_name() {
    use std::os::unix::process::CommandExt;
    let instance = format!("lxdevorphan{}", std::process::id());
    let remote_name = format!("far:{instance}");
    // Named `lxc` in its argv, as the client lxdev spawned would be.
    let mut child = std::process::Command::new("sh")
        .arg0("lxc")
        .args(["-c", "sleep 30 & wait", &remote_name])
        .spawn()
        .unwrap();
    // Between fork and exec the child still shows our own command line.
    let deadline = Instant::now() + Duration::from_secs(5);
    while crate::process::arguments(child.id()).and_then(|a| a.first().cloned())
        != Some("lxc".to_owned())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut client = Client::new("lxc");
    client.placement = on_remote("far");
    let found = orphaned_client("lxc", &client.at(&instance));
    let bare = orphaned_client("lxc", &instance);
    child.kill().unwrap();
    child.wait().unwrap();
    let (pid, cmdline) = found.expect("the client naming far:NAME is found");
    assert_eq!(pid, child.id());
    assert!(cmdline.ends_with(&remote_name), "{cmdline}");
    assert_eq!(bare, None, "a bare name is another server's instance");
}

#[test]
fn failures_are_classified_by_what_the_clients_say() {
    let kind = |stderr: &str| {
        Failure {
            message: String::new(),
            stderr: stderr.to_owned(),
        }
        .kind()
    };
    assert_eq!(
        kind("Error: Instance \"web\" already exists"),
        FailureKind::Taken
    );
    assert_eq!(
        kind("Error: UNIQUE constraint failed: instances_snapshots.instance_id"),
        FailureKind::Taken
    );
    assert_eq!(kind("Error: Instance not found"), FailureKind::Missing);
    assert_eq!(
        kind("Error: Snapshot web/s1 does not exist"),
        FailureKind::Missing
    );
    assert_eq!(
        kind("Error: dial unix /var/lib/lxd/unix.socket: connect: permission denied"),
        FailureKind::Unreachable
    );
    assert_eq!(
        kind("Error: Instance is busy running a \"stop\" operation"),
        FailureKind::Busy
    );
    assert_eq!(
        kind("Error: Failed to begin transaction: context deadline exceeded"),
        FailureKind::Overloaded
    );
    assert_eq!(
        kind("Error: Invalid PID '\u{fffd}'"),
        FailureKind::StateUnreadable
    );
    assert_eq!(
        kind("Error: ETag doesn't match: a42b vs 70c7"),
        FailureKind::Raced
    );
    assert_eq!(
        kind("Error: The remote \"nosuch\" doesn't exist"),
        FailureKind::NoSuchRemote
    );
    assert_eq!(
        kind(
            "Error: Get \"https://127.0.0.1:9/1.0\": Unable to connect to: 127.0.0.1:9 \
             ([dial tcp 127.0.0.1:9: connect: no route to host])"
        ),
        FailureKind::Unreachable
    );
    assert_eq!(
        kind("Error: Target only allowed when clustered"),
        FailureKind::NotClustered
    );
    assert_eq!(
        kind("Error: To use --target, the destination remote must be a cluster"),
        FailureKind::NotClustered
    );
    assert_eq!(kind("Error: Failed to run: rsync: ..."), FailureKind::Other);
}

#[test]
fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
    assert_eq!(
        shell_quote("user.lxdev.project=web"),
        "user.lxdev.project=web"
    );
    assert_eq!(shell_quote("a b"), "'a b'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}

#[test]
fn snapshot_names_lose_the_instance_prefix() {
    let api: ApiInstance = serde_json::from_str(
        r#"{"name":"web-dev","status":"Running",
            "config":{"user.lxdev.project":"web"},
            "snapshots":[{"name":"s1"},{"name":"web-dev/s2"}]}"#,
    )
    .unwrap();
    let instance = Instance::from(api);
    assert_eq!(instance.snapshots, ["s1", "s2"]);
    assert_eq!(instance.project_tag.as_deref(), Some("web"));
}

/// An instance read without its state takes its snapshots' names from
/// their URLs, project query and escapes removed.
#[test]
fn snapshot_names_from_their_urls() {
    let api: ApiInstance =
        serde_json::from_str(r#"{"name":"web-dev","status":"Running"}"#).unwrap();
    let api = api.with_snapshot_urls(&[
        "/1.0/instances/web-dev/snapshots/initial-state".to_string(),
        "/1.0/instances/web-dev/snapshots/s%201?project=team".to_string(),
    ]);
    assert_eq!(Instance::from(api).snapshots, ["initial-state", "s 1"]);
}

/// Incus answers a `GET` of an instance caught between states with
/// "Invalid PID": the status is read again without the live state.
#[test]
fn an_instance_whose_state_cannot_be_read_is_read_without_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let client = dir.path().join("incus");
    std::fs::write(
        &client,
        r#"#!/bin/sh
case "$2" in
  *recursion=1*) echo "Error: Invalid PID '?'" >&2; exit 1 ;;
  */snapshots) echo '["/1.0/instances/web-dev/snapshots/initial-state"]' ;;
  *) echo '{"name":"web-dev","status":"Running"}' ;;
esac
"#,
    )
    .unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rt = LxdRuntime::unprobed(
        Box::leak(client.to_str().unwrap().to_owned().into_boxed_str()),
        Placement::default(),
        Limits::default(),
    );
    let found = rt.status("web-dev").unwrap().unwrap();
    assert_eq!(found.snapshots, ["initial-state"]);
    assert_eq!(found.name, "web-dev");
}

/// The client prints nothing for `/1.0/operations` when the server has
/// no operations at all (metadata `{}`): nothing is running.
#[test]
fn no_operations_at_all_means_none_running() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LxdRuntime::unprobed(
        stub_client(dir.path(), "", "", 0),
        Placement::default(),
        Limits::default(),
    );
    assert_eq!(rt.busy("lxdevnoops-a").unwrap(), None);
}

#[test]
fn null_config_means_no_tags() {
    let api: ApiInstance =
        serde_json::from_str(r#"{"name":"a","status":"Stopped","config":null}"#).unwrap();
    assert_eq!(Instance::from(api).project_tag, None);
}

#[test]
fn null_snapshots_mean_none() {
    let api: ApiInstance =
        serde_json::from_str(r#"{"name":"a","status":"Stopped","snapshots":null}"#).unwrap();
    assert_eq!(Instance::from(api).snapshots, Vec::<String>::new());
}

/// Only the lookup script's own "no such user" reads as no user: any
/// other failure of the exec is an error, not a copy made as root.
#[test]
fn a_failed_user_lookup_is_an_error_not_no_user() {
    use std::os::unix::fs::PermissionsExt;
    for (status, no_user) in [(4, true), (1, false), (137, false)] {
        let dir = tempfile::tempdir().unwrap();
        let client = dir.path().join("lxc");
        std::fs::write(
            &client,
            format!("#!/bin/sh\n[ \"$1\" = query ] && {{ echo '{{}}'; exit 0; }}\nexit {status}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        let client: &'static str = Box::leak(client.to_str().unwrap().to_owned().into_boxed_str());
        let runtime = LxdRuntime::connect(client, Placement::default(), Limits::default()).unwrap();
        let found = runtime.container_user("web-a", "dev");
        if no_user {
            assert_eq!(found.unwrap(), None);
        } else {
            let err = found.unwrap_err();
            assert!(
                format!("{err:#}").contains("looking up user `dev`"),
                "{err:#}"
            );
        }
    }
}
/// A runtime opened without a probe finds out on its first call whether
/// the daemon answers, with the probe's advice and exit 69, as a failure
/// that changed nothing: a socket no daemon listens on, and a daemon that
/// never answers (within --connect-timeout, a query or not).
#[test]
fn the_first_call_of_an_unprobed_runtime_says_when_no_daemon_answers() {
    let limits = Limits {
        connect: Duration::from_millis(600),
        call: Duration::from_secs(30),
    };
    let dir = tempfile::tempdir().unwrap();
    // What LXD 5.0's client says with the daemon stopped.
    let down = stub_client(
        dir.path(),
        "",
        "Error: Get \"http://unix.socket/1.0\": dial unix /var/lib/lxd/unix.socket: \
         connect: no such file or directory",
        1,
    );
    for first in ["query", "start"] {
        let rt = LxdRuntime::unprobed(down, Placement::default(), limits);
        let err = match first {
            "query" => rt.status("web-a").map(drop).unwrap_err(),
            _ => rt.start("web-a").unwrap_err(),
        };
        assert!(crate::error::changed_nothing(&err), "{err:#}");
        assert_eq!(crate::exit_code::for_error(&err), 69, "{err:#}");
        let message = format!("{err:#}");
        assert!(
            message.contains("start the LXD daemon") && message.ends_with("`--runtime fake`"),
            "{message}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let silent = hanging_client(dir.path(), true);
    for first in ["query", "start"] {
        let rt = LxdRuntime::unprobed(silent, Placement::default(), limits);
        let started = Instant::now();
        let err = match first {
            "query" => rt.status("web-a").map(drop).unwrap_err(),
            _ => rt.start("web-a").unwrap_err(),
        };
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{first}: {:?}",
            started.elapsed()
        );
        assert_eq!(crate::exit_code::for_error(&err), 69, "{err:#}");
        let message = format!("{err:#}");
        assert!(
            message.contains("daemon did not answer within 0.6 s")
                && message.contains("--connect-timeout"),
            "{first}: {message}"
        );
    }
}

/// A first call that is slow while the daemon answers (an `init` that
/// unpacks an image) is not cut short by --connect-timeout.
#[test]
fn a_slow_first_call_goes_on_while_the_daemon_answers() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let client = dir.path().join("lxc");
    std::fs::write(
        &client,
        "#!/bin/sh\n[ \"$1\" = query ] && { echo '{}'; exit 0; }\nsleep 1\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
    let client: &'static str = Box::leak(client.to_str().unwrap().to_owned().into_boxed_str());
    let limits = Limits {
        connect: Duration::from_millis(400),
        call: Duration::from_secs(30),
    };
    let rt = LxdRuntime::unprobed(client, Placement::default(), limits);
    rt.start("web-a").unwrap();
}
