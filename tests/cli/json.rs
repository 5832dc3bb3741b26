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
