//! Inputs that once made lxdev panic (exit 101) or answer unhelpfully:
//! values longer than a format width, lock timeouts beyond what a
//! `Duration` holds, a closed stdout, large honest files, dangling
//! symlinks, lists where mappings belong, stopped fake containers.

use std::process::Stdio;

use predicates::prelude::*;

use crate::support::Project;

/// Longer than `u16::MAX`, the largest width `format!("{:<w$}")` accepts.
const HUGE: usize = 70_000;

fn project_with_dev() -> Project {
    let project = Project::new();
    project
        .lxdev(["container", "create", "dev", "busybox", "--no-provision"])
        .assert()
        .success();
    project
}

#[test]
fn snapshot_list_prints_a_description_wider_than_any_format_width() {
    let project = project_with_dev();
    let description = "x".repeat(HUGE);
    project
        .lxdev(["snapshot", "create", "dev", "s", "-d", &description])
        .assert()
        .success();
    assert_eq!(
        project.config().containers["dev"].snapshots["s"]
            .description
            .as_deref(),
        Some(description.as_str())
    );
    let out = project.lxdev(["snapshot", "list", "dev"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = stdout.lines().nth(1).expect("a header and one row");
    assert!(row.starts_with("s "), "{}", &row[..80]);
    assert!(
        row.contains(&description),
        "the whole description is printed"
    );
}

#[test]
fn list_prints_an_image_wider_than_any_format_width() {
    let project = Project::new();
    let image = "i".repeat(HUGE);
    project.append_containers(&format!(
        "  dev:\n    image: {image}\n  web:\n    image: busybox\n"
    ));
    let out = project.lxdev(["list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two rows");
    assert!(lines[1].starts_with("dev ") && lines[1].contains(&image));
    // Columns stay aligned: the short image is padded to the long one.
    let image_at = lines[1].find(&image).unwrap();
    assert_eq!(lines[2].find("busybox"), Some(image_at));
    let next_column = image_at + HUGE + 2;
    assert!(
        lines[2][image_at + "busybox".len()..next_column]
            .bytes()
            .all(|b| b == b' ')
    );
    assert_eq!(&lines[1][next_column..], &lines[2][next_column..]);
}

#[test]
fn a_lock_timeout_too_large_for_a_duration_is_a_usage_error() {
    let project = Project::new();
    let before = project.bytes();
    for (flag, env, shown) in [
        (Some("1e300"), None, "got 1e300"),
        (Some("31536001"), None, "got 31536001"),
        (None, Some("1e20"), "got 1e20"),
    ] {
        let mut cmd = project.lxdev(["list"]);
        if let Some(value) = flag {
            cmd.args(["--lock-timeout", value]);
        }
        if let Some(value) = env {
            cmd.env("LXDEV_LOCK_TIMEOUT", value);
        }
        cmd.assert().code(2).stdout("").stderr(
            predicate::str::contains("--lock-timeout")
                .and(predicate::str::contains("at most 31536000"))
                .and(predicate::str::contains(shown))
                .and(predicate::str::contains("panicked").not()),
        );
    }
    // The largest accepted value works.
    project
        .lxdev([
            "--lock-timeout",
            "31536000",
            "container",
            "create",
            "dev",
            "busybox",
        ])
        .assert()
        .success();
    assert_ne!(project.bytes(), before);
    assert_eq!(project.container_names(), ["dev"]);
}

/// Runs `lxdev ARGS` with stdout a pipe whose read end is closed before
/// the process starts, so its first write fails with EPIPE.
fn run_with_closed_stdout(project: &Project, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    project
        .spawn_lxdev(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let project = Project::new();
    let mut entries = String::new();
    for i in 0..2000 {
        entries.push_str(&format!("  c{i}:\n    image: busybox\n"));
    }
    project.append_containers(&entries);
    for args in [
        &["list"][..],
        &["--json", "list"][..],
        &["container", "list"][..],
    ] {
        let out = run_with_closed_stdout(&project, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}: nothing on stderr");
    }

    // `lxdev list | head -1`: the reader goes away after one line.
    let mut child = project
        .spawn_lxdev(["list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("NAME"), "{first}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn a_closed_stdout_does_not_stop_a_change_from_being_recorded() {
    let project = Project::new();
    let out = run_with_closed_stdout(
        &project,
        &["container", "create", "dev", "busybox", "--no-provision"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(project.container_names(), ["dev"]);
    assert_eq!(project.runtime_instances(), ["demo-dev"]);
}

/// Over the old fixed budget of 1,000,000 nodes with the fewest bytes an
/// honest file needs: one node per two bytes (`1,` in a flow list of
/// ports). A 100,000-container file (about 20 MB) broke the same budget but
/// takes far longer to parse in a debug build.
#[test]
fn a_file_over_the_old_node_budget_loads() {
    let mut text = String::from("project: demo\nruntime: fake\ncontainers:\n");
    let ports = vec!["1"; 1000].join(",");
    for i in 0..1001 {
        text.push_str(&format!(
            "  c{i}:\n    image: busybox\n    ports: [{ports}]\n"
        ));
    }
    let project = Project::with_yaml(&text);
    let out = project.lxdev(["--json", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["containers"].as_array().unwrap().len(), 1001);
    assert_eq!(project.yaml(), text, "reading changes nothing");
}

#[test]
fn a_dangling_symlink_is_named_with_its_target() {
    let project = Project::empty();
    let target = project.dir().join("elsewhere/containers.yaml");
    std::os::unix::fs::symlink(&target, project.config_path()).unwrap();
    for args in [
        &["list"][..],
        &["container", "create", "dev", "busybox", "--no-provision"][..],
    ] {
        project.lxdev(args).assert().code(3).stdout("").stderr(
            predicate::str::contains("dangling symlink")
                .and(predicate::str::contains(target.display().to_string()))
                .and(predicate::str::contains("lxdev init").not()),
        );
    }
    assert!(project.config_path().is_symlink());
    assert!(!target.exists(), "nothing was created behind the symlink");
}

fn assert_invalid_says(text: &str, expect: &[&str]) {
    let project = Project::with_yaml(text);
    let out = project.lxdev(["list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{text:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("containers.yaml"), "{stderr}");
    for needle in expect {
        assert!(
            stderr.contains(needle),
            "expected {needle:?} for {text:?} in: {stderr}"
        );
    }
    assert_eq!(project.yaml(), text, "file untouched");
}

#[test]
fn a_list_where_a_mapping_belongs_is_explained() {
    assert_invalid_says(
        "project: demo\ncontainers: []\n",
        &[
            "line 2, column 13",
            "`containers` must be a mapping of container names to their settings, not a list",
        ],
    );
    assert_invalid_says(
        "project: demo\ncontainers:\n  dev: [unclosed\n",
        &[
            "line 3, column 8",
            "container `dev` must be a mapping of its settings",
            "not a list",
        ],
    );
    assert_invalid_says(
        "project: demo\ncontainers:\n  dev:\n    image: x\n    snapshots:\n      - s1\n",
        &[
            "line 6",
            "`snapshots` of container `dev` must be a mapping of snapshot names",
            "not a list",
        ],
    );
    assert_invalid_says(
        "project: [\n",
        &[
            "line 1, column 10",
            "`project` must be a single value",
            "not a list",
        ],
    );
    assert_invalid_says(
        "project: demo\ncontainers:\n  dev:\n    image: {a: b}\n",
        &[
            "line 4, column 12",
            "`image` of container `dev` must be a single value",
            "not a mapping",
        ],
    );
    assert_invalid_says(
        "project: demo\ncontainers:\n  dev:\n    image: x\n    ports: 80\n",
        &[
            "line 5, column 12",
            "`ports` of container `dev` must be a list",
            "not a single value",
        ],
    );
    assert_invalid_says(
        "- a\n- b\n",
        &[
            "line 1, column 1",
            "must be a mapping with `project:` and `containers:`",
            "not a list",
        ],
    );
}

#[test]
fn fake_exec_refuses_a_stopped_container_like_lxd() {
    let project = project_with_dev();
    let marker = project.dir().join("ran");
    project.lxdev(["down", "dev"]).assert().success();
    for args in [
        &[
            "exec",
            "dev",
            "-u",
            "root",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ][..],
        &["shell", "dev"][..],
    ] {
        project
            .lxdev(args)
            .write_stdin(format!("touch {}\n", marker.display()))
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains(
                "instance `demo-dev` is stopped, not running: start it first",
            ));
        assert!(!marker.exists(), "{args:?} ran nothing");
    }
}

#[test]
fn fake_exec_says_once_that_it_runs_on_the_host() {
    let project = project_with_dev();
    let dir = project.dir().join(".lxdev/fake/instances/demo-dev");
    project
        .lxdev(["exec", "dev", "-u", "root", "--", "sh", "-c", "pwd; exit 3"])
        .assert()
        .code(3)
        .stdout(format!("{}\n", dir.canonicalize().unwrap().display()))
        .stderr(
            predicate::str::contains("runs on the host")
                .count(1)
                .and(predicate::str::contains(dir.display().to_string())),
        );
    let out = project
        .lxdev(["exec", "dev", "-u", "root", "--", "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr.matches("runs on the host").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Every `SECS` option is capped when the command line is read, as
/// --lock-timeout is: `--ready-timeout 18446744073709551615` overflowed a
/// deadline on LXD (exit 101) and left the entry `creating`.
#[test]
fn every_duration_option_is_capped_before_anything_runs() {
    let project = project_with_dev();
    let before = project.bytes();
    let commands: &[&[&str]] = &[
        &["container", "create", "x", "busybox", "--ready-timeout"],
        &["container", "clone", "dev", "x", "--ready-timeout"],
        &["--connect-timeout"],
        &["--runtime-timeout"],
        &["--lock-timeout"],
    ];
    for args in commands {
        for bad in ["18446744073709551615", "-1", "NaN", "inf", "2e9", "ten"] {
            // `--opt=VALUE`: how a user gets a leading `-` past the parser.
            let (flag, words) = args.split_last().unwrap();
            let option = format!("{flag}={bad}");
            let mut full: Vec<&str> = words.to_vec();
            full.push(&option);
            if words.is_empty() {
                full.push("list");
            }
            project.lxdev(&full).assert().code(2).stdout("").stderr(
                predicate::str::contains("a number of seconds")
                    .and(predicate::str::contains("at most 31536000"))
                    .and(predicate::str::contains("panicked").not()),
            );
        }
    }
    assert_eq!(project.bytes(), before);
    assert_eq!(project.container_names(), ["dev"]);
}
