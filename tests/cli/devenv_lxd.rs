//! The declarative dev environment on real LXD and Incus, with the
//! `debian-12` image (systemd, sudo, sshd, rsync, git): a checked-in file
//! of two entries with `setup` and `start` hooks, limits and env comes up
//! with `up --all --jobs 2`, and then the containers are reached with a
//! real OpenSSH client through `ssh-config`'s entries, with no container
//! network. What each step left is checked in the container, in the
//! runtime's config and in the file, not only exit codes.

use std::path::Path;
use std::process::Command;

use predicates::prelude::*;
use serde_json::Value;

use crate::lxd::{DEBIAN, LxdProject, debian_image};

/// A home of the test's own with an SSH key pair: provisioning installs
/// its public key, `ssh-config` finds it as the `IdentityFile`, and lxdev's
/// files under `~/.ssh` land there. Outside the project folder: lxdev
/// would rightly refuse to mount a folder holding an `~/.ssh`.
fn home_with_key() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(home.join(".ssh/id_ed25519"))
        .status()
        .expect("ssh-keygen (openssh-client) is installed");
    assert!(made.success());
    dir
}

/// `ssh -F CONFIG ARGS...`, never asking anything.
fn ssh(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new("ssh")
        .arg("-F")
        .arg(config)
        .args(["-o", "BatchMode=yes"])
        .args(args)
        .output()
        .expect("ssh (openssh-client) is installed")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn a_checked_in_dev_environment_comes_up_and_is_reached_over_ssh() {
    let test = "a_checked_in_dev_environment_comes_up_and_is_reached_over_ssh";
    for lxd in LxdProject::each(test) {
        if !debian_image(&lxd, test) {
            continue;
        }
        // A project folder others may enter, as a checkout usually is (a
        // temp dir is 0700): the dev user works in its mount.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(lxd.project.dir(), mode).unwrap();
        let home_dir = home_with_key();
        let home = home_dir.path().to_path_buf();
        let run = |args: &[&str]| {
            let mut command = lxd.lxdev(args);
            command.env("HOME", &home);
            command
        };
        // The checked-in file: hooks and settings at both levels; web has
        // the project mounted, so its hooks run there.
        let entries = format!(
            "defaults:\n  setup: pwd > ~/setup-cwd\n  start:\n    - date >> ~/started\n  \
             limits:\n    memory: 512MiB\n    processes: 1000\n  env:\n    GREETING: hello from the file\n\
             containers:\n  web:\n    image: {DEBIAN}\n    setup:\n      - pwd > ~/setup-cwd\n      \
             - echo \"$GREETING\" > ~/greeting\n      - echo setup output for web\n    limits:\n      \
             cpu: 1\n    env:\n      ROLE: web\n    devices:\n      project:\n        type: disk\n        \
             config:\n          source: .\n          path: /srv/app\n          readonly: \"true\"\n  \
             db:\n    image: {DEBIAN}\n    env: {{ROLE: db}}\n"
        );
        let text = lxd.project.yaml().replace("containers: {}\n", &entries);
        std::fs::write(lxd.project.config_path(), &text).unwrap();
        run(&["up", "--all", "--jobs", "2"])
            .assert()
            .success()
            .stderr(
                predicate::str::contains("web | setup: $ pwd > ~/setup-cwd")
                    .and(predicate::str::contains("web | setup output for web"))
                    .and(predicate::str::contains("db | start: $ date >> ~/started")),
            );
        lxd.assert_agree_and_ready();
        let config = lxd.project.config();
        for name in ["web", "db"] {
            assert!(config.containers[name].pending_steps.is_empty(), "{name}");
            assert!(lxd.lxd(name).snapshots.contains("initial-state"), "{name}");
        }

        // LXD 5.0 now and then fails an exec it accepted, right after a
        // boot or under load ("Failed to retrieve PID of executing child
        // process", the client's own exit 255): these scripts only read,
        // or touch, so such a failure is run again (up to 3 times).
        let exec = |name: &str, script: &str| {
            let mut out = run(&["exec", name, "--", "sh", "-c", script])
                .output()
                .unwrap();
            for _ in 0..3 {
                let flake = out.status.code() == Some(255)
                    && String::from_utf8_lossy(&out.stderr).contains("Failed to retrieve PID");
                if !flake {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
                out = run(&["exec", name, "--", "sh", "-c", script])
                    .output()
                    .unwrap();
            }
            stdout(&out)
        };
        // The setup's effect, owned by the dev user, made where it says.
        assert_eq!(exec("web", "stat -c %U ~/greeting"), "dev");
        assert_eq!(exec("web", "cat ~/greeting"), "hello from the file");
        assert_eq!(exec("web", "cat ~/setup-cwd"), "/srv/app");
        assert_eq!(exec("db", "cat ~/setup-cwd"), "/home/dev");
        assert_eq!(exec("db", "wc -l < ~/started"), "1", "start ran once");
        // Limits in the runtime's config, env visible to exec.
        let web = lxd.lxd("web").config;
        for (key, value) in [
            ("limits.cpu", "1"),
            ("limits.memory", "512MiB"),
            ("limits.processes", "1000"),
            ("environment.GREETING", "hello from the file"),
            ("environment.ROLE", "web"),
        ] {
            assert_eq!(web.get(key).map(String::as_str), Some(value), "{key}");
        }
        assert!(!lxd.lxd("db").config.contains_key("limits.cpu"));
        assert_eq!(
            exec("web", "echo \"$ROLE/$GREETING\""),
            "web/hello from the file"
        );
        assert_eq!(exec("db", "echo \"$ROLE\""), "db");

        // `reset` keeps what setup made (initial-state was taken after
        // it), drops what came later, and keeps the file's settings.
        exec("web", "touch ~/later");
        lxd.lxdev(["container", "reset", "web"]).assert().success();
        assert_eq!(exec("web", "cat ~/greeting"), "hello from the file");
        assert_eq!(exec("web", "test -e ~/later && echo yes || echo no"), "no");
        assert_eq!(lxd.lxd("web").config["limits.memory"], "512MiB");

        // `up NAME` applies the file's current settings and says so.
        let changed = lxd
            .project
            .yaml()
            .replace("memory: 512MiB", "memory: 768MiB")
            .replace("ROLE: web", "ROLE: api");
        std::fs::write(lxd.project.config_path(), changed).unwrap();
        run(&["up", "web"]).assert().success().stdout(
            predicate::str::contains("limits.memory 768MiB (was 512MiB)")
                .and(predicate::str::contains("environment.ROLE (changed)")),
        );
        assert_eq!(lxd.lxd("web").config["limits.memory"], "768MiB");
        assert_eq!(exec("web", "echo $ROLE"), "api");

        // ssh-config, then a real OpenSSH client: no container network.
        let printed = run(&["ssh-config"]).output().unwrap();
        let ssh_config = home.join("printed.conf");
        std::fs::write(&ssh_config, stdout(&printed)).unwrap();
        let alias = lxd.instance("web");
        assert_eq!(stdout(&ssh(&ssh_config, &[&alias, "true"])), "");
        assert_eq!(
            stdout(&ssh(&ssh_config, &[&alias, "id -un; echo $ROLE; pwd"])),
            "dev\napi\n/home/dev",
            "the dev user, the file's env, over SSH"
        );
        let local = home.join("up.txt");
        std::fs::write(&local, "pushed with scp\n").unwrap();
        let scp = |from: &str, to: &str| {
            let out = Command::new("scp")
                .arg("-F")
                .arg(&ssh_config)
                .args(["-o", "BatchMode=yes", "-q", from, to])
                .output()
                .unwrap();
            stdout(&out);
        };
        scp(local.to_str().unwrap(), &format!("{alias}:up.txt"));
        assert_eq!(exec("web", "cat ~/up.txt"), "pushed with scp");
        let back = home.join("greeting.txt");
        scp(&format!("{alias}:greeting"), back.to_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(&back).unwrap(),
            "hello from the file\n"
        );
        let tree = home.join("tree");
        std::fs::create_dir_all(tree.join("a")).unwrap();
        std::fs::write(tree.join("a/f"), "synced\n").unwrap();
        let rsh = format!("ssh -F {} -o BatchMode=yes", ssh_config.display());
        let rsync = |from: &str, to: &str| {
            let out = Command::new("rsync")
                .args(["-a", "-e", &rsh, from, to])
                .output()
                .expect("rsync is installed");
            stdout(&out);
        };
        rsync(&format!("{}/", tree.display()), &format!("{alias}:tree/"));
        assert_eq!(
            exec("web", "cat ~/tree/a/f; stat -c %U ~/tree/a/f"),
            "synced\ndev"
        );
        let pulled = home.join("pulled");
        rsync(&format!("{alias}:tree/"), &format!("{}/", pulled.display()));
        assert_eq!(
            std::fs::read_to_string(pulled.join("a/f")).unwrap(),
            "synced\n"
        );

        // --write: lxdev's own file, and one Include at the top of
        // ~/.ssh/config, kept byte for byte below it.
        let user_config = home.join(".ssh/config");
        std::fs::write(&user_config, "Host elsewhere\n    User me\n").unwrap();
        let written = run(&["--json", "ssh-config", "--write"]).output().unwrap();
        let outcome: Value = serde_json::from_slice(&written.stdout).unwrap();
        assert_eq!(outcome["ok"], true, "{outcome}");
        assert_eq!(outcome["include_added"], true, "{outcome}");
        let text = std::fs::read_to_string(&user_config).unwrap();
        let (first, rest) = text.split_once('\n').unwrap();
        assert!(
            first.starts_with("Include ") && first.contains(".ssh/lxdev/*.conf"),
            "{text}"
        );
        assert_eq!(rest, "Host elsewhere\n    User me\n");
        run(&["ssh-config", "--write"]).assert().success();
        assert_eq!(
            std::fs::read_to_string(&user_config).unwrap(),
            text,
            "only if missing"
        );
        let db = lxd.instance("db");
        assert_eq!(stdout(&ssh(&user_config, &[&db, "echo $ROLE"])), "db");
        // Made again (new host keys), the written entry still works: `up`
        // refreshed lxdev's known hosts.
        run(&["container", "remove", "db", "-y"]).assert().success();
        // Checked in again (the last entry of the file), as a teammate's.
        let db_entry = format!("  db:\n    image: {DEBIAN}\n    env: {{ROLE: db}}\n");
        let text = format!("{}{db_entry}", lxd.project.yaml());
        std::fs::write(lxd.project.config_path(), text).unwrap();
        run(&["up", "db"]).assert().success();
        assert_eq!(stdout(&ssh(&user_config, &[&db, "echo $ROLE"])), "db");

        // The journal, where systemd runs.
        let logs = run(&["--json", "logs", "web", "-n", "50"])
            .output()
            .unwrap();
        let logs: Value = serde_json::from_slice(&logs.stdout).unwrap();
        assert_eq!(logs["source"], "journal", "{logs}");
        let lines = logs["lines"].as_array().unwrap();
        assert!(
            lines.iter().any(|l| l.as_str().unwrap().contains("sshd")),
            "the SSH sessions above are in the journal: {logs}"
        );
        lxd.assert_agree_and_ready();
    }
}
