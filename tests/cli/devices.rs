//! Mounts and forwarded ports on the fake runtime: what the file records
//! (lxc-dev-manager's `devices:` format) and what the runtime has, after
//! each command and after each refusal.

use predicates::prelude::*;

use crate::support::{Project, dead_operation, free_port};

/// A project with container `web` (no provisioning) and folder `src`.
fn project_with_web() -> Project {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox", "--no-provision"])
        .assert()
        .success();
    std::fs::create_dir(project.dir().join("src")).unwrap();
    project
}

fn canonical(project: &Project, rel: &str) -> String {
    std::fs::canonicalize(project.dir().join(rel))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn mount_records_a_disk_device_and_unmount_restores_the_file() {
    let project = project_with_web();
    let before = project.bytes();
    project
        .lxdev(["mount", "web", "src", "/work", "-n", "code", "--rw"])
        .assert()
        .success()
        .stdout(predicate::str::contains("as device code"));
    let device = &project.config().containers["web"].devices["code"];
    assert_eq!(device.kind, "disk");
    // Relative to the project directory: the file works in every checkout.
    assert_eq!(device.config["source"], "src");
    assert_eq!(device.config["path"], "/work");
    assert!(!device.config.contains_key("readonly"), "--rw");
    assert_eq!(device.state, None);
    assert_eq!(project.runtime_devices("demo-web"), ["code"]);

    let out = project.lxdev(["mounts", "--json"]).assert().success();
    let rows: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(rows[0]["device"], "code");
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(rows[0]["mode"], "rw");

    project
        .lxdev(["unmount", "web", "/work"])
        .assert()
        .success();
    assert!(project.runtime_devices("demo-web").is_empty());
    assert_eq!(
        String::from_utf8(project.bytes()).unwrap(),
        String::from_utf8(before).unwrap(),
        "mount then unmount leaves the file byte for byte"
    );
}

#[test]
fn mounts_are_read_only_by_default_and_named_after_the_folder() {
    let project = project_with_web();
    std::fs::create_dir(project.dir().join("my app_2")).unwrap();
    project
        .lxdev(["mount", "web", "my app_2", "/srv/app"])
        .assert()
        .success();
    let device = &project.config().containers["web"].devices["my-app-2"];
    assert_eq!(device.config["readonly"], "true");
    assert_eq!(project.runtime_devices("demo-web"), ["my-app-2"]);
    // Unmount by name too.
    project
        .lxdev(["unmount", "web", "my-app-2"])
        .assert()
        .success();
    assert!(project.config().containers["web"].devices.is_empty());
}

#[test]
fn refused_mounts_change_nothing() {
    let project = project_with_web();
    std::fs::create_dir_all(project.dir().join("home/me/.ssh")).unwrap();
    project
        .lxdev(["mount", "web", "src", "/taken", "-n", "first"])
        .assert()
        .success();
    let outside = tempfile::tempdir().unwrap();
    let outside = outside.path().to_str().unwrap().to_owned();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["mount", "web", &outside, "/x"],
            2,
            "outside the project directory",
        ),
        (&["mount", "web", "home/me/.ssh", "/x"], 2, "holds secrets"),
        (
            &["mount", "web", "home/me", "/x"],
            2,
            "holds your home folder",
        ),
        (
            &[
                "mount",
                "web",
                "/usr/local",
                "/x",
                "--rw",
                "--allow-outside",
            ],
            2,
            "host's system",
        ),
        (
            &["mount", "web", "/", "/x", "--allow-outside"],
            2,
            "holds your home folder",
        ),
        (
            &["mount", "web", "/etc/shadow", "/x", "--allow-outside"],
            2,
            "holds secrets",
        ),
        (&["mount", "web", "src", "x"], 2, "must be absolute"),
        (
            &["mount", "web", "src", "/a/../etc"],
            2,
            "`..` is not allowed",
        ),
        (&["mount", "web", "src", "/"], 2, "system path"),
        (&["mount", "web", "src", "//etc"], 2, "system path"),
        (&["mount", "web", "src", "/./etc/"], 2, "system path"),
        (&["mount", "web", "src", "/proc"], 2, "system path"),
        (&["mount", "web", "src", "/dev/shm/x"], 2, "system path"),
        (&["mount", "web", "src", "/x", "-n", "root"], 2, "is taken"),
        (
            &["mount", "web", "src", "/x", "--name=-rf"],
            2,
            "device name `-rf` is invalid",
        ),
        (
            &["mount", "web", "src", "/x", "-n", "lxdev-port-80"],
            2,
            "is taken",
        ),
        (
            &["mount", "web", "missing", "/x"],
            3,
            "cannot mount `missing`",
        ),
        (&["mount", "nope", "src", "/x"], 3, "no container `nope`"),
        (
            &["mount", "web", "src", "/taken/"],
            4,
            "already mounted by device `first`",
        ),
        (
            &["mount", "web", "src", "//taken/."],
            4,
            "already mounted by device `first`",
        ),
        (
            &["mount", "web", "src", "/other", "-n", "first"],
            4,
            "already has a device `first`",
        ),
        (&["unmount", "web", "nothing"], 3, "no device `nothing`"),
        (
            &["unmount", "web", "/nowhere"],
            3,
            "nothing is mounted at `/nowhere`",
        ),
    ];
    let before = project.bytes();
    for (args, code, message) in cases {
        project
            .lxdev(*args)
            .env("HOME", project.dir().join("home/me"))
            .env_remove("SUDO_USER")
            .assert()
            .code(*code)
            .stderr(predicate::str::contains(*message));
        assert_eq!(project.bytes(), before, "{args:?} changed the file");
        assert_eq!(project.runtime_devices("demo-web"), ["first"], "{args:?}");
    }
    // What the flags allow.
    project
        .lxdev(["mount", "web", &outside, "/outside", "--allow-outside"])
        .assert()
        .success();
    project
        .lxdev(["mount", "web", "home/me", "/me", "--rw", "--allow-risky"])
        .env("HOME", project.dir().join("home/me"))
        .env_remove("SUDO_USER")
        .assert()
        .success();
    assert_eq!(project.runtime_devices("demo-web").len(), 3);
}

#[test]
fn mounts_sync_fixes_the_side_that_is_wrong() {
    let project = project_with_web();
    let src = canonical(&project, "src");
    // Recorded but not in the runtime (a checked-in file), and in the
    // runtime but not recorded (added by hand).
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!(
            "    image: busybox\n    devices:\n      recorded:\n        type: disk\n        config:\n          source: {src}\n          path: /recorded\n"
        ),
    );
    std::fs::write(project.config_path(), text).unwrap();
    let by_hand = project.dir().join(".lxdev/fake/instances/demo-web/devices");
    std::fs::create_dir_all(&by_hand).unwrap();
    std::fs::write(
        by_hand.join("manual"),
        format!(r#"["disk",{{"path":"/manual","source":"{src}"}}]"#),
    )
    .unwrap();

    let statuses = |project: &Project| -> Vec<(String, String)> {
        let out = project
            .lxdev(["mounts", "web", "--json"])
            .assert()
            .success();
        let rows: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["device"].as_str().unwrap().to_owned(),
                    r["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        statuses(&project),
        [
            ("recorded".to_owned(), "missing".to_owned()),
            ("manual".to_owned(), "untracked".to_owned())
        ]
    );
    project
        .lxdev(["mounts", "web", "--sync"])
        .assert()
        .success();
    let mut after = statuses(&project);
    after.sort();
    assert_eq!(
        after,
        [
            ("manual".to_owned(), "ok".to_owned()),
            ("recorded".to_owned(), "ok".to_owned())
        ]
    );
    assert_eq!(project.runtime_devices("demo-web"), ["manual", "recorded"]);
    let devices = &project.config().containers["web"].devices;
    assert_eq!(devices["manual"].config["path"], "/manual");
}

#[test]
fn proxy_forwards_each_port_and_stop_removes_them() {
    let project = project_with_web();
    let (a, b) = (free_port(), free_port());
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!("    image: busybox\n    ports: [{a}, \"{b}:81\"]\n"),
    );
    std::fs::write(project.config_path(), text).unwrap();
    let before = project.bytes();

    let out = project.lxdev(["proxy", "web", "--json"]).assert().success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["ports"][0]["host"], a);
    assert_eq!(json["ports"][1]["container"], 81);
    let devices = &project.config().containers["web"].devices;
    let da = &devices[&format!("lxdev-port-{a}")];
    assert_eq!(da.kind, "proxy");
    assert_eq!(da.config["listen"], format!("tcp:127.0.0.1:{a}"));
    assert_eq!(da.config["connect"], format!("tcp:127.0.0.1:{a}"));
    let db = &devices[&format!("lxdev-port-{b}")];
    assert_eq!(db.config["connect"], "tcp:127.0.0.1:81");
    let mut want = vec![format!("lxdev-port-{a}"), format!("lxdev-port-{b}")];
    want.sort();
    assert_eq!(project.runtime_devices("demo-web"), want);
    project
        .lxdev(["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{a}*,{b}:81*")));
    // Again: nothing to do.
    project
        .lxdev(["proxy", "web"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already forwarding"));

    project.lxdev(["proxy", "web", "--stop"]).assert().success();
    assert!(project.runtime_devices("demo-web").is_empty());
    assert_eq!(project.bytes(), before);
}

#[test]
fn a_host_port_in_use_is_refused_naming_who_holds_it() {
    let project = project_with_web();
    project
        .lxdev(["container", "create", "api", "busybox", "--no-provision"])
        .assert()
        .success();
    let port = free_port();
    let text = project
        .yaml()
        .replace(
            "containers:\n",
            &format!("defaults:\n  ports: [{port}]\ncontainers:\n"),
        )
        .replace("defaults:\n  ports: []\n", "");
    std::fs::write(project.config_path(), text).unwrap();
    project.lxdev(["proxy", "web"]).assert().success();
    let before = project.bytes();
    project
        .lxdev(["proxy", "api"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!(
            "host port {port} is already forwarded to container `web`"
        )));
    assert_eq!(project.bytes(), before);
    assert!(project.runtime_devices("demo-api").is_empty());

    project.lxdev(["proxy", "web", "--stop"]).assert().success();
    let before = project.bytes();
    let _held = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    project
        .lxdev(["proxy", "api"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!(
            "host port {port} is in use by process {}",
            std::process::id()
        )));
    assert_eq!(project.bytes(), before, "a refused proxy records nothing");
    assert!(project.runtime_devices("demo-api").is_empty());
}

#[test]
fn bad_ports_make_an_invalid_file() {
    for bad in ["0", "\"8080:\"", "\"a:b\"", "70000", "\"1:70000\""] {
        let project = Project::with_yaml(&format!(
            "project: p\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    ports: [{bad}]\n"
        ));
        project.lxdev(["list"]).assert().code(65).stderr(
            predicate::str::contains("line 6, column").and(predicate::str::contains("1 to 65535")),
        );
    }
    let project = Project::with_yaml(
        "project: p\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    ports: [80, \"8080:80\", 443]\n",
    );
    project.lxdev(["list"]).assert().success();
}

#[test]
fn create_mount_project_records_and_mounts_the_project_directory() {
    let project = Project::new();
    project
        .lxdev([
            "container",
            "create",
            "web",
            "busybox",
            "--no-provision",
            "--mount-project",
        ])
        .assert()
        .success();
    let device = &project.config().containers["web"].devices["project"];
    assert_eq!(device.config["source"], ".");
    assert_eq!(device.config["path"], "/home/dev/demo");
    assert!(!device.config.contains_key("readonly"));
    assert_eq!(project.runtime_devices("demo-web"), ["project"]);

    project
        .lxdev([
            "container",
            "create",
            "api",
            "busybox",
            "--no-provision",
            "--mount-project=/src",
        ])
        .assert()
        .success();
    assert_eq!(
        project.config().containers["api"].devices["project"].config["path"],
        "/src"
    );
    project
        .lxdev([
            "container",
            "create",
            "bad",
            "busybox",
            "--mount-project=/proc",
        ])
        .assert()
        .code(2);
    assert!(!project.config().containers.contains_key("bad"));
}

#[test]
fn up_gives_a_checked_in_entry_its_devices_and_clone_its_mounts() {
    let project = Project::empty();
    std::fs::create_dir(project.dir().join("src")).unwrap();
    let src = canonical(&project, "src");
    let port = free_port();
    std::fs::write(
        project.config_path(),
        format!(
            "project: demo\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    ports: [{port}]\n    devices:\n      code:\n        type: disk\n        config:\n          source: {src}\n          path: /code\n      lxdev-port-{port}:\n        type: proxy\n        config:\n          listen: tcp:127.0.0.1:{port}\n          connect: tcp:127.0.0.1:{port}\n"
        ),
    )
    .unwrap();
    project
        .lxdev(["up", "web", "--no-provision"])
        .assert()
        .success();
    let mut want = vec!["code".to_owned(), format!("lxdev-port-{port}")];
    want.sort();
    assert_eq!(project.runtime_devices("demo-web"), want);

    project
        .lxdev(["container", "clone", "web", "copy", "--no-initial-snapshot"])
        .assert()
        .success();
    assert_eq!(project.runtime_devices("demo-copy"), ["code"]);
    let devices = &project.config().containers["copy"].devices;
    assert_eq!(devices.keys().collect::<Vec<_>>(), ["code"]);
}

#[test]
fn doctor_settles_a_device_operation_whose_process_died() {
    let project = project_with_web();
    let src = canonical(&project, "src");
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!(
            "    image: busybox\n    devices:\n      gone:\n        type: disk\n        config:\n          source: {src}\n          path: /gone\n        state: adding\n{}      kept:\n        type: disk\n        config:\n          source: {src}\n          path: /kept\n        state: adding\n{}",
            dead_operation("device_add", "        "),
            dead_operation("device_sync", "        "),
        ),
    );
    std::fs::write(project.config_path(), text).unwrap();
    project
        .lxdev(["mount", "web", "src", "/new"])
        .assert()
        .success();
    project.lxdev(["doctor"]).assert().code(1);
    project.lxdev(["doctor", "--fix"]).assert().success();
    let devices = &project.config().containers["web"].devices;
    // An add that never reached the runtime is dropped; a re-add of a
    // recorded device keeps its record.
    assert!(!devices.contains_key("gone"));
    assert_eq!(devices["kept"].state, None);
    assert_eq!(devices["src"].state, None);
}

#[test]
fn proxy_foreground_forwards_until_ctrl_c_then_stops() {
    let project = project_with_web();
    let port = free_port();
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!("    image: busybox\n    ports: [{port}]\n"),
    );
    std::fs::write(project.config_path(), text).unwrap();
    let before = project.bytes();
    let mut child = project
        .spawn_lxdev(["proxy", "web", "--foreground"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let device = format!("lxdev-port-{port}");
    // Waits for the forwarding to be in place (the command says so on its
    // own terms: the device is recorded ready and in the runtime).
    let started = std::time::Instant::now();
    while !(project.runtime_devices("demo-web").contains(&device)
        && project.config().containers["web"]
            .devices
            .get(&device)
            .is_some_and(|d| d.state.is_none()))
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "never forwarded"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C is how --foreground ends");
    assert!(project.runtime_devices("demo-web").is_empty());
    assert_eq!(project.bytes(), before);
}

/// A checked-in file cannot do what `mount` refuses: its devices outside
/// the rules are not given to the instance (a warning names each), and
/// `mounts --sync` refuses them; the file is left as it is.
#[test]
fn a_checked_in_file_gets_no_device_mount_would_refuse() {
    let project = Project::empty();
    std::fs::create_dir(project.dir().join("src")).unwrap();
    std::fs::write(
        project.config_path(),
        "project: demo\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    devices:\n\
         \x20     good:\n        type: disk\n        config:\n          source: src\n          path: /src\n\
         \x20     hostroot:\n        type: disk\n        config:\n          source: /\n          path: /mnt/host\n\
         \x20     overetc:\n        type: disk\n        config:\n          source: src\n          path: //etc\n\
         \x20     sock:\n        type: proxy\n        config:\n          listen: unix:/tmp/x.sock\n          connect: unix:/var/lib/lxd/unix.socket\n          bind: instance\n\
         \x20     kmsg:\n        type: unix-char\n        config:\n          source: /dev/kmsg\n          path: /dev/kmsg\n",
    )
    .unwrap();
    project
        .lxdev(["up", "web", "--no-provision"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("device `hostroot` not added")
                .and(predicate::str::contains("device `overetc` not added"))
                .and(predicate::str::contains("device `sock` not added"))
                .and(predicate::str::contains("device `kmsg` not added")),
        );
    assert_eq!(project.runtime_devices("demo-web"), ["good"]);
    // The entry keeps every device it recorded, and says what was left out.
    let entry = &project.config().containers["web"];
    assert_eq!(entry.devices.len(), 5);
    assert!(
        entry
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("`hostroot` not added"))
    );
    let before = project.bytes();
    project
        .lxdev(["mounts", "web", "--sync"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not added"));
    assert_eq!(project.runtime_devices("demo-web"), ["good"]);
    assert_eq!(project.bytes(), before);
}

#[test]
fn a_host_port_listed_for_two_container_ports_is_refused() {
    let project = Project::with_yaml(
        "project: p\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    ports: [18600, \"18600:22\"]\n",
    );
    let before = project.bytes();
    project
        .lxdev(["proxy", "web"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "host port 18600 of `web` is listed twice",
        ));
    assert_eq!(project.bytes(), before);
}

#[test]
fn proxy_foreground_leaves_a_forwarding_it_did_not_make() {
    let project = project_with_web();
    let port = free_port();
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!("    image: busybox\n    ports: [{port}]\n"),
    );
    std::fs::write(project.config_path(), text).unwrap();
    project.lxdev(["proxy", "web"]).assert().success();
    let mut child = project
        .spawn_lxdev(["proxy", "web", "--foreground"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // It says "forwarding until Ctrl-C" once its devices are settled.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("until Ctrl-C") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0);
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(
        project.runtime_devices("demo-web"),
        [format!("lxdev-port-{port}")]
    );
}

#[test]
fn sync_never_copies_secrets() {
    let project = project_with_web();
    let home = project.dir().join("home/me");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_ed25519"), "secret").unwrap();
    let key = home.join(".ssh/id_ed25519");
    let before = project.bytes();
    project
        .lxdev(["sync", "add", "web", key.to_str().unwrap(), "/tmp/k"])
        .env("HOME", &home)
        .env_remove("SUDO_USER")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot sync"));
    assert_eq!(project.bytes(), before);
    // Written into the file by hand: `sync` refuses it before pushing.
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!(
            "    image: busybox\n    sync:\n      - source: {}\n        dest: /tmp/k\n",
            key.display()
        ),
    );
    std::fs::write(project.config_path(), text).unwrap();
    project
        .lxdev(["sync", "web"])
        .env("HOME", &home)
        .env_remove("SUDO_USER")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot sync"));
}
