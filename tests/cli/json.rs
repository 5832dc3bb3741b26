//! `--json`: every command prints one outcome object (listings their own
//! document), failed or not, with the keys the README documents.

use serde_json::Value;

use crate::support::Project;

/// The keys every outcome object has (README, "JSON output").
pub const OUTCOME_KEYS: [&str; 8] = [
    "ok",
    "command",
    "name",
    "instance",
    "state",
    "warnings",
    "error",
    "exit_code",
];

/// The keys every item of `results` has.
pub const ITEM_KEYS: [&str; 6] = ["ok", "name", "instance", "state", "error", "exit_code"];

/// The one JSON object on stdout, checked for the documented keys and for
/// agreeing with the exit code.
pub fn outcome(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("stdout is not one JSON value ({err}): {text:?}"));
    for key in OUTCOME_KEYS {
        assert!(value.get(key).is_some(), "no `{key}` in {value}");
    }
    let code = out.status.code().expect("exited");
    assert_eq!(value["exit_code"], code, "{value}");
    assert_eq!(value["ok"], code == 0, "{value}");
    assert_eq!(
        value["error"].is_null(),
        code == 0 || value["command"] == "exec"
    );
    for item in value["results"].as_array().into_iter().flatten() {
        for key in ITEM_KEYS {
            assert!(item.get(key).is_some(), "no `{key}` in item {item}");
        }
    }
    value
}

#[test]
fn a_create_reports_its_instance_and_state() {
    let project = Project::new();
    let out = project
        .lxdev([
            "--json",
            "container",
            "create",
            "dev",
            "busybox",
            "--no-provision",
        ])
        .output()
        .unwrap();
    let json = outcome(&out);
    assert_eq!(json["command"], "container create");
    assert_eq!(json["name"], "dev");
    assert_eq!(json["instance"], "demo-dev");
    assert_eq!(json["state"], "ready");
    assert_eq!(project.container_names(), ["dev"]);
}

#[test]
fn a_failed_command_reports_its_error_and_exit_code() {
    let project = Project::new();
    let out = project
        .lxdev([
            "--json",
            "container",
            "create",
            "dev",
            "busybox",
            "--no-provision",
        ])
        .env("LXDEV_FAKE_FAIL", "create:dev:after")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json = outcome(&out);
    assert_eq!(json["state"], "failed", "{json}");
    assert!(json["error"].as_str().unwrap().contains("dev"), "{json}");
    // stderr still has the one error line for people.
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn errors_before_the_command_runs_give_the_outcome_too() {
    let empty = Project::empty();
    let out = empty.lxdev(["--json", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(outcome(&out)["command"], "list");

    let bad = Project::with_yaml("project: demo\ncontainers: [\n");
    let out = bad.lxdev(["--json", "up", "--all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    assert_eq!(outcome(&out)["command"], "up");

    let project = Project::new();
    let out = project
        .lxdev(["--json", "container", "create", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json = outcome(&out);
    assert_eq!(json["command"], "container create");
    assert!(
        json["error"].as_str().unwrap().contains("<IMAGE>"),
        "{json}"
    );
    assert!(project.container_names().is_empty());
}

#[test]
fn commands_on_several_containers_report_each_in_results() {
    let project = Project::new();
    for name in ["a", "b"] {
        project
            .lxdev(["container", "create", name, "busybox", "--no-provision"])
            .assert()
            .success();
    }
    let out = project
        .lxdev(["--json", "remove", "a", "b", "--yes"])
        .output()
        .unwrap();
    let json = outcome(&out);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{json}");
    assert_eq!(results[0]["instance"], "demo-a");
    assert_eq!(results[0]["state"], Value::Null, "removed: no entry left");
    assert!(project.container_names().is_empty());
}

/// Every command, run with `--json` in the order a user would, each
/// checked for one document with the documented keys; listings for their
/// documents' keys.
#[test]
fn every_command_prints_one_documented_json_value() {
    let project = Project::empty();
    let json = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = project.lxdev(&all).output().unwrap();
        assert!(
            out.status.success() || args[0] == "doctor",
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let outcome_of = |args: &[&str]| {
        let value = outcome(&json(args));
        assert_eq!(value["command"], args_command(args), "{value}");
        value
    };
    outcome_of(&["init", "--project", "demo", "--runtime", "fake"]);
    outcome_of(&["container", "create", "a", "busybox"]);
    outcome_of(&["container", "clone", "a", "b"]);
    outcome_of(&["snapshot", "create", "a", "s1"]);
    outcome_of(&["snapshot", "restore", "a", "s1"]);
    outcome_of(&["container", "reset", "a", "s1"]);
    outcome_of(&["snapshot", "delete", "a", "s1"]);
    outcome_of(&["down", "a"]);
    outcome_of(&["up", "--all"]);
    std::fs::write(project.dir().join("f"), "x").unwrap();
    outcome_of(&["cp", "f", "a:/tmp/f"]);
    outcome_of(&["mv", "a:/tmp/f", "g"]);
    outcome_of(&["sync", "add", "a", "f", "/tmp/synced"]);
    let synced = outcome_of(&["sync", "a"]);
    assert_eq!(synced["synced"][0]["dest"], "/tmp/synced", "{synced}");
    let entries: Value = serde_json::from_slice(&json(&["sync", "list", "a"]).stdout).unwrap();
    assert_eq!(entries[0]["source"], "f", "{entries}");
    outcome_of(&["sync", "rm", "a", "f"]);
    assert_eq!(outcome_of(&["exec", "a", "--", "true"])["status"], 0);
    std::fs::create_dir(project.dir().join("src")).unwrap();
    let mounted = outcome_of(&["mount", "a", "src", "/src", "-n", "code"]);
    assert_eq!(mounted["devices"], serde_json::json!(["code"]));
    let mounts: Value = serde_json::from_slice(&json(&["mounts"]).stdout).unwrap();
    assert_eq!(mounts[0]["device"], "code");
    assert_eq!(mounts[0]["status"], "ok");
    outcome_of(&["unmount", "a", "code"]);
    let port = crate::support::free_port();
    let text = std::fs::read_to_string(project.config_path())
        .unwrap()
        .replace("  a:\n", &format!("  a:\n    ports: [\"{port}:80\"]\n"));
    std::fs::write(project.config_path(), text).unwrap();
    let proxied = outcome_of(&["proxy", "a"]);
    assert_eq!(proxied["ports"][0]["host"], port);
    assert_eq!(proxied["ports"][0]["container"], 80);
    outcome_of(&["proxy", "a", "--stop"]);
    let logs = outcome_of(&["logs", "a", "-n", "5"]);
    assert_eq!(logs["source"], "console", "{logs}");
    assert!(logs["lines"].is_array(), "{logs}");
    // No sshd in the fake runtime: one outcome, failed, saying why.
    let home = project.dir().join("home");
    std::fs::create_dir(&home).unwrap();
    let out = project
        .lxdev(["--json", "ssh-config", "a"])
        .env("HOME", &home)
        .output()
        .unwrap();
    let config = outcome(&out);
    assert_eq!(config["command"], "ssh-config", "{config}");
    assert_eq!(config["exit_code"], 1, "{config}");
    assert!(
        config["warnings"][0].as_str().unwrap().contains("no sshd"),
        "{config}"
    );
    outcome_of(&["image", "create", "a", "img"]);
    outcome_of(&["image", "rename", "img", "img2"]);
    outcome_of(&["image", "delete", "img2"]);
    outcome_of(&["doctor"]);
    outcome_of(&["remove", "b", "--yes"]);
    outcome_of(&["container", "remove", "a", "--yes"]);

    let listing = |args: &[&str], keys: &[&str]| {
        let out = json(args);
        let value: Value = serde_json::from_slice(&out.stdout).unwrap();
        for key in keys {
            assert!(value.get(key).is_some(), "{args:?}: no `{key}` in {value}");
        }
    };
    project
        .lxdev(["container", "create", "c", "busybox"])
        .assert()
        .success();
    listing(&["list"], &["project", "containers"]);
    listing(&["container", "list"], &["project", "containers"]);
    listing(&["snapshot", "list", "c"], &["container", "snapshots"]);
    let images: Value = serde_json::from_slice(&json(&["image", "list"]).stdout).unwrap();
    assert!(images.is_array());

    let deleted = outcome_of(&["project", "delete", "--yes"]);
    assert_eq!(deleted["name"], "demo");
    assert_eq!(deleted["results"][0]["instance"], "demo-c");
    assert!(!project.config_path().exists());
}

/// The `command` key a command line should give: its subcommand words.
fn args_command(args: &[&str]) -> String {
    match args[0] {
        "container" | "snapshot" | "image" | "project" => format!("{} {}", args[0], args[1]),
        "mv" => "cp".into(),
        "sync" if matches!(args[1], "add" | "rm" | "list") => format!("sync {}", args[1]),
        word => word.into(),
    }
}
