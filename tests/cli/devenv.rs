//! A declarative dev environment on the fake runtime: the file's rules
//! (hooks, limits, env, checked before anything is made), the `setup` hook
//! as a recorded provisioning step (failed, killed, settled by `doctor`),
//! `start` hooks and settings in `up`, `logs`, and `ssh-config` where no
//! container has an sshd. The fake runtime records hooks and never runs
//! them: each test that runs one also checks nothing happened on the host.
//! The same on real LXD and Incus is `devenv_lxd.rs`.

use std::process::Stdio;
use std::time::Duration;

use lxdev::config::model::{ContainerState, Step};
use predicates::prelude::*;
use serde_json::Value;

use crate::support::Project;

/// What the fake runtime recorded of the hooks of `instance`, in order.
fn hooks(project: &Project, instance: &str) -> Vec<Value> {
    let path = project
        .dir()
        .join(".lxdev/fake/instances")
        .join(instance)
        .join("hooks");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The settings (limits, environment) the fake runtime has for `instance`.
fn settings(project: &Project, instance: &str) -> Value {
    let path = project
        .dir()
        .join(".lxdev/fake/instances")
        .join(instance)
        .join("settings");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Commands (field `command`) of `records`.
fn commands(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r["stage"].as_str().unwrap(),
                r["command"].as_str().unwrap()
            )
        })
        .collect()
}

/// A marker a hook would make on the host, if it ran there.
fn host_marker(project: &Project) -> std::path::PathBuf {
    project.dir().join("hook-ran-on-the-host")
}

/// Two entries, hooks at both levels, limits and env at both levels, one
/// with the project mounted.
fn two_entries(project: &Project) -> String {
    let marker = host_marker(project);
    format!(
        "project: dv\nruntime: fake\ndefaults:\n  setup: touch {m}\n  start: [\"touch {m}.start\"]\n  \
         limits: {{memory: 1GiB, processes: 500}}\n  env:\n    GREETING: hello there\n\
         containers:\n  web:\n    image: busybox\n    setup:\n      - make deps\n      - make db\n    \
         limits:\n      cpu: 2\n    env: {{ROLE: web}}\n    devices:\n      project:\n        type: disk\n        \
         config:\n          source: .\n          path: /home/dev/app\n  db:\n    image: busybox\n    \
         start: []\n",
        m = marker.display()
    )
}

#[test]
fn bad_limits_env_and_hooks_are_refused_by_every_command_before_anything_is_made() {
    for (bad, key, line) in [
        (
            "    limits: {memory: 2 GB}\n",
            "containers.web.limits.memory",
            6,
        ),
        (
            "    limits:\n      cpu: lots\n",
            "containers.web.limits.cpu",
            7,
        ),
        (
            "    env:\n      NOT-A-NAME: x\n",
            "containers.web.env.NOT-A-NAME",
            7,
        ),
        ("    setup: [\"  \"]\n", "containers.web.setup", 6),
        ("    limits: {cpus: 2}\n", "cpus", 6),
    ] {
        let text =
            format!("project: dv\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n{bad}");
        let project = Project::with_yaml(&text);
        for args in [
            &["up", "--all"][..],
            &["list"],
            &["container", "create", "other", "busybox"],
            &["ssh-config"],
            &["logs", "web"],
        ] {
            project.lxdev(args).assert().code(65).stderr(
                predicate::str::contains(key)
                    .and(predicate::str::contains(format!("line {line}")))
                    .and(predicate::function(|e: &str| e.lines().count() == 1)),
            );
        }
        assert_eq!(project.yaml(), text, "{bad}");
        assert!(project.runtime_instances().is_empty(), "{bad}");
    }
}

/// `up --all --jobs 2` makes both entries: `setup` runs once as a
/// recorded step (the entry's list replacing the defaults'), in the
/// project's mount for `web` and the home for `db`, with the file's
/// environment; `start` after it; settings given at create. Output is
/// prefixed with each container's name. Nothing runs on the host.
#[test]
fn up_all_runs_setup_once_then_start_with_the_files_settings() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    let out = project
        .lxdev(["up", "--all", "--jobs", "2"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("web | setup: $ make deps")
                .and(predicate::str::contains("db | setup: $ touch"))
                .and(predicate::str::contains("web | start: $ touch")),
        );
    drop(out);
    let marker = host_marker(&project).display().to_string();
    let web = hooks(&project, "dv-web");
    assert_eq!(
        commands(&web),
        [
            "setup: make deps",
            "setup: make db",
            &format!("start: touch {marker}.start")
        ]
    );
    for record in &web {
        assert_eq!(record["user"], "dev");
        assert_eq!(record["cwd"], "/home/dev/app", "the project's mount");
        assert_eq!(record["env"]["GREETING"], "hello there");
        assert_eq!(record["env"]["ROLE"], "web");
    }
    let db = hooks(&project, "dv-db");
    assert_eq!(
        commands(&db),
        [format!("setup: touch {marker}")],
        "db's start is []"
    );
    assert_eq!(db[0]["cwd"], "/home/dev");
    assert!(!host_marker(&project).exists(), "a hook ran on the host");
    assert!(!project.dir().join(format!("{marker}.start")).exists());

    assert_eq!(
        settings(&project, "dv-web"),
        serde_json::json!({
            "environment.GREETING": "hello there",
            "environment.ROLE": "web",
            "limits.cpu": "2",
            "limits.memory": "1GiB",
            "limits.processes": "500",
        })
    );
    // Both fully provisioned: ready, initial-state taken after setup.
    let config = project.config();
    for name in ["web", "db"] {
        let entry = &config.containers[name];
        assert_eq!(entry.state, None, "{name}");
        assert!(entry.pending_steps.is_empty(), "{name}");
        assert!(entry.snapshots.contains_key("initial-state"), "{name}");
    }
    // `list --json` shows what each entry gets.
    let listed = project.lxdev(["--json", "list"]).assert().success();
    let listed: Value = serde_json::from_slice(&listed.get_output().stdout).unwrap();
    let web = listed["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "web")
        .unwrap();
    assert_eq!(web["limits"]["cpu"], "2");
    assert_eq!(web["limits"]["memory"], "1GiB");
    assert_eq!(web["env"]["ROLE"], "web");
    assert_eq!(web["setup"], serde_json::json!(["make deps", "make db"]));

    // Already running: no start hook. Stopped, then up: start again,
    // setup never again.
    project.lxdev(["up", "web"]).assert().success();
    assert_eq!(hooks(&project, "dv-web").len(), 3);
    project.lxdev(["down", "web"]).assert().success();
    project.lxdev(["up", "web"]).assert().success();
    let again = commands(&hooks(&project, "dv-web"));
    assert_eq!(again.len(), 4);
    assert!(again[3].starts_with("start: "), "{again:?}");
    // --no-setup skips both.
    project.lxdev(["down", "web"]).assert().success();
    project
        .lxdev(["up", "web", "--no-setup"])
        .assert()
        .success();
    assert_eq!(hooks(&project, "dv-web").len(), 4);
    assert!(!host_marker(&project).exists(), "a hook ran on the host");
}

#[test]
fn create_with_no_setup_makes_a_ready_container_without_the_step() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project
        .lxdev(["container", "create", "extra", "busybox", "--no-setup"])
        .assert()
        .success();
    assert!(hooks(&project, "dv-extra").is_empty());
    let config = project.config();
    assert_eq!(config.containers["extra"].state, None);
    assert!(
        config.containers["extra"]
            .snapshots
            .contains_key("initial-state")
    );
    // Without the flag, a new entry gets the defaults' setup.
    project
        .lxdev(["container", "create", "more", "busybox"])
        .assert()
        .success()
        .stderr(predicate::str::contains("setup: $ touch"));
    assert_eq!(hooks(&project, "dv-more").len(), 1);
}

/// A failing setup command leaves the entry `failed`, naming the step and
/// the command's exit status, with the steps not done; no `initial-state`
/// (setup comes before it); `doctor` names it; `remove` clears it.
#[test]
fn a_failed_setup_leaves_the_entry_failed_naming_the_step_and_status() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project
        .lxdev(["up", "web"])
        .env("LXDEV_FAKE_FAIL", "hook_setup:web")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("step `setup`")
                .and(predicate::str::contains("`make deps` exited with status 1")),
        );
    let config = project.config();
    let web = &config.containers["web"];
    assert_eq!(web.state, Some(ContainerState::Failed));
    let error = web.error.as_deref().unwrap();
    assert!(
        error.contains("provisioning step `setup` failed") && error.contains("status 1"),
        "{error}"
    );
    assert_eq!(web.pending_steps, [Step::Setup, Step::InitialSnapshot]);
    assert!(project.runtime_snapshots("dv-web").is_empty());
    project
        .lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "not done: setup, initial_snapshot",
        ));
    project.lxdev(["up", "web"]).assert().code(4);
    project
        .lxdev(["container", "remove", "web", "-y"])
        .assert()
        .success();
    assert!(!project.config().containers.contains_key("web"));
    assert!(!host_marker(&project).exists());
}

/// SIGKILL while `setup` runs: its step note says so (`config::progress`), `doctor`
/// names the step, `--fix` marks it failed (never ready), and `remove`
/// and `up` make it again, this time whole.
#[test]
fn a_kill_during_setup_is_named_by_doctor_and_settled() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project.lxdev(["up", "db"]).assert().success();
    let checked_in = project.yaml();
    let mut child = project
        .spawn_lxdev(["up", "web"])
        .env("LXDEV_FAKE_DELAY_MS", "800")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    project.wait_for_noted_step("web", "setup");
    child.kill().unwrap();
    child.wait().unwrap();
    project
        .lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("`web`").and(predicate::str::contains("step `setup`")));
    project.lxdev(["doctor", "--fix"]).assert().success();
    let config = project.config();
    let web = &config.containers["web"];
    assert_eq!(
        web.state,
        Some(ContainerState::Failed),
        "{}",
        project.yaml()
    );
    assert!(
        web.error
            .as_deref()
            .unwrap()
            .contains("stopped at step `setup`"),
        "{}",
        project.yaml()
    );
    assert!(!web.pending_steps.is_empty());
    project
        .lxdev(["container", "remove", "web", "-y"])
        .assert()
        .success();
    // The checked-in entry went with it; record it again, as a teammate's
    // checkout would have it, and bring it up whole.
    std::fs::write(project.config_path(), checked_in).unwrap();
    project.lxdev(["up", "web"]).assert().success();
    project.lxdev(["doctor"]).assert().success();
    assert_eq!(project.config().containers["web"].state, None);
    assert!(!host_marker(&project).exists());
}

/// `up NAME` on an existing container makes its limits and env the
/// file's and says what changed (env by name, never its value).
#[test]
fn up_applies_the_files_current_limits_and_env_and_says_what_changed() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project.lxdev(["up", "web"]).assert().success();
    let text = project
        .yaml()
        .replace("cpu: 2", "cpu: 3")
        .replace("{ROLE: web}", "{ROLE: api, TOKEN: s3cret-value}")
        .replace("memory: 1GiB, ", "");
    std::fs::write(project.config_path(), text).unwrap();
    project.lxdev(["up", "web"]).assert().success().stdout(
        predicate::str::contains("limits.cpu 3 (was 2)")
            .and(predicate::str::contains("limits.memory removed"))
            .and(predicate::str::contains("environment.ROLE (changed)"))
            .and(predicate::str::contains("environment.TOKEN (new)"))
            .and(predicate::str::contains("s3cret").not()),
    );
    assert_eq!(
        settings(&project, "dv-web"),
        serde_json::json!({
            "environment.GREETING": "hello there",
            "environment.ROLE": "api",
            "environment.TOKEN": "s3cret-value",
            "limits.cpu": "3",
            "limits.processes": "500",
        })
    );
    // Nothing left to change: nothing said.
    project
        .lxdev(["up", "web"])
        .assert()
        .success()
        .stdout(predicate::str::contains("applied").not());
}

/// A `start` hook that fails makes `up` fail for that container; the entry
/// itself stays ready (start is no provisioning step).
#[test]
fn a_failed_start_hook_fails_up_and_leaves_the_entry_ready() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project.lxdev(["up", "web"]).assert().success();
    project.lxdev(["down", "web"]).assert().success();
    project
        .lxdev(["up", "web"])
        .env("LXDEV_FAKE_FAIL", "hook_start:web")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the `start` hook of web failed"));
    assert_eq!(project.config().containers["web"].state, None);
}

#[test]
fn logs_show_the_fake_runtimes_records_and_need_a_created_container() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project
        .lxdev(["logs", "web"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not created on this machine"));
    project.lxdev(["up", "web"]).assert().success();
    project
        .lxdev(["logs", "web"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "hook setup (dev in /home/dev/app): make deps",
        ));
    let last = project.lxdev(["logs", "web", "-n", "1"]).assert().success();
    let last = String::from_utf8_lossy(&last.get_output().stdout).to_string();
    assert_eq!(last.lines().count(), 1, "{last}");
    assert!(last.contains("hook start"), "{last}");
}

/// `logs -f` goes on until SIGINT, then exits 0.
#[test]
fn logs_follow_until_interrupted_then_exit_0() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project.lxdev(["up", "web"]).assert().success();
    let mut child = project
        .spawn_lxdev(["logs", "web", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "logs -f ended by itself"
    );
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("hook setup"));
}

/// Hook output and errors come from the container: shown escaped, never
/// as terminal control sequences.
#[test]
fn hook_text_from_the_file_is_escaped_on_the_terminal() {
    let project = Project::with_yaml(
        "project: dv\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    \
         setup: \"printf '\\e]52;c;aGk=\\a'\"\n",
    );
    let out = project.lxdev(["up", "web"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("\\u{1b}]52"), "{stderr:?}");
}

/// The fake runtime has no sshd: `ssh-config` says so for each container
/// and fails, writing nothing under ~/.ssh; `ssh-proxy` fails with nothing
/// on stdout (the SSH connection).
#[test]
fn ssh_config_and_ssh_proxy_without_an_sshd() {
    let project = Project::empty();
    std::fs::write(project.config_path(), two_entries(&project)).unwrap();
    project.lxdev(["up", "--all"]).assert().success();
    let home = project.dir().join("home");
    std::fs::create_dir(&home).unwrap();
    project
        .lxdev(["ssh-config"])
        .env("HOME", &home)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("web: left out: container `dv-web` has no sshd")
                .and(predicate::str::contains("db: left out")),
        );
    assert!(!home.join(".ssh").exists());
    project
        .lxdev(["ssh-proxy", "web"])
        .env("HOME", &home)
        .assert()
        .code(1)
        .stdout("");
    project.lxdev(["ssh-config", "nosuch"]).assert().code(3);
}
