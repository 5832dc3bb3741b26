//! `lxdev completions SHELL`: each script passes its shell's syntax check,
//! and a Tab press, run the way each registered script runs it, completes
//! container and snapshot names from containers.yaml, without the lock and
//! silently when there is no project.
//!
//! Needs bash, zsh and fish (`.ci/run` installs them); a missing shell
//! fails the test, naming the package.

use std::path::Path;
use std::process::{Command, Output};

use predicates::prelude::*;

use crate::support::Project;

const YAML: &str = "\
project: demo
runtime: fake
containers:
  web:
    image: busybox
    snapshots:
      initial-state:
        description: Initial state after setup
      v1: {}
  db:
    image: debian-12
    snapshots:
      nightly: {}
";

fn lxdev_bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("lxdev")
}

/// Runs `shell ARGS...` in `dir`; fails naming the package when the shell
/// is not installed.
fn shell(name: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(name)
        .current_dir(dir)
        .args(args)
        .env_remove("COMPLETE")
        .output()
        .unwrap_or_else(|err| panic!("cannot run {name} ({err}): apt-get install {name}"))
}

fn lines(output: &Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "status {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// What bash offers for the words `line` (the last word being completed),
/// through the function `lxdev completions bash` registers, as bash calls
/// it: `COMP_WORDS`/`COMP_CWORD` set, the word under the cursor as `$2`.
fn bash_complete(dir: &Path, line: &[&str]) -> Vec<String> {
    let script = r#"
        source <("$0" completions bash) || exit 9
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_TYPE=9
        _clap_complete_lxdev lxdev "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let bin = lxdev_bin();
    let mut args = vec!["--norc", "--noprofile", "-c", script, bin.to_str().unwrap()];
    args.extend_from_slice(line);
    lines(&shell("bash", dir, &args))
}

/// What fish offers for the command line `line` (`complete -C`), after
/// sourcing `lxdev completions fish`: value, tab, description.
fn fish_complete(dir: &Path, line: &str) -> Vec<String> {
    let script = r#"$argv[1] completions fish | source; or exit 9
        complete -C $argv[2]"#;
    let bin = lxdev_bin();
    lines(&shell(
        "fish",
        dir,
        &["--no-config", "-c", script, bin.to_str().unwrap(), line],
    ))
    .into_iter()
    .map(|l| l.split('\t').next().unwrap_or_default().to_string())
    .collect()
}

/// What lxdev answers zsh's registered function: it runs
/// `COMPLETE=zsh lxdev -- WORDS...` with the index of the word being
/// completed (as that function passes it), one `value:description` a line.
fn zsh_complete(dir: &Path, line: &[&str]) -> Vec<String> {
    let output = Command::new(lxdev_bin())
        .current_dir(dir)
        .env("COMPLETE", "zsh")
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(line)
        .output()
        .unwrap();
    lines(&output)
        .into_iter()
        .map(|l| l.split(':').next().unwrap_or_default().to_string())
        .collect()
}

fn without_options(candidates: Vec<String>) -> Vec<String> {
    candidates
        .into_iter()
        .filter(|c| !c.starts_with('-') && !c.is_empty())
        .collect()
}

#[test]
fn each_script_passes_its_shells_syntax_check() {
    let project = Project::empty();
    for name in ["bash", "zsh", "fish"] {
        let out = project
            .lxdev(["completions", name])
            .assert()
            .success()
            .stderr("");
        let script = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(
            script.contains(lxdev_bin().to_str().unwrap()),
            "{name}: the script runs this binary: {script}"
        );
        let path = project.dir().join(format!("lxdev.{name}"));
        std::fs::write(&path, &script).unwrap();
        let check = shell(name, project.dir(), &["-n", path.to_str().unwrap()]);
        assert!(
            check.status.success(),
            "{name} -n: {}\n{script}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // Nothing else is written: no project file appears, none is needed.
    assert!(!project.config_path().exists());
    project
        .lxdev(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bash, zsh, fish"));
}

#[test]
fn a_container_name_is_completed_from_the_project_file() {
    let project = Project::with_yaml(YAML);
    assert_eq!(
        without_options(bash_complete(
            project.dir(),
            &["lxdev", "container", "reset", "w"]
        )),
        ["web"]
    );
    assert_eq!(
        without_options(bash_complete(project.dir(), &["lxdev", "exec", ""])),
        ["db", "web"]
    );
    assert_eq!(
        without_options(bash_complete(project.dir(), &["lxdev", "up", "web", "d"])),
        ["db"]
    );
    assert_eq!(fish_complete(project.dir(), "lxdev ssh w"), ["web"]);
    assert_eq!(
        without_options(zsh_complete(
            project.dir(),
            &["lxdev", "image", "create", "w"]
        )),
        ["web"]
    );
    // From a subdirectory the file is found upward, as commands find it.
    let sub = project.dir().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(
        without_options(bash_complete(&sub, &["lxdev", "snapshot", "list", "w"])),
        ["web"]
    );
    // `cp` offers `NAME:` on either side, beside host paths.
    let cp = bash_complete(project.dir(), &["lxdev", "cp", "./x", "w"]);
    assert_eq!(without_options(cp), ["web:"]);
}

#[test]
fn a_snapshot_name_is_completed_for_its_container() {
    let project = Project::with_yaml(YAML);
    assert_eq!(
        without_options(bash_complete(
            project.dir(),
            &["lxdev", "snapshot", "delete", "web", ""]
        )),
        ["initial-state", "v1"]
    );
    assert_eq!(
        without_options(bash_complete(
            project.dir(),
            &["lxdev", "snapshot", "restore", "db", ""]
        )),
        ["nightly"]
    );
    assert_eq!(
        fish_complete(project.dir(), "lxdev container reset web i"),
        ["initial-state"]
    );
    assert_eq!(
        without_options(zsh_complete(
            project.dir(),
            &[
                "lxdev",
                "container",
                "clone",
                "db",
                "copy",
                "--snapshot",
                ""
            ]
        )),
        ["nightly"]
    );
}

#[test]
fn dir_and_config_on_the_line_choose_the_project() {
    let project = Project::with_yaml(YAML);
    let elsewhere = Project::empty();
    let dir = project.dir().to_str().unwrap();
    assert_eq!(
        without_options(bash_complete(
            elsewhere.dir(),
            &["lxdev", "-C", dir, "down", "w"]
        )),
        ["web"]
    );
    let config = project.config_path();
    assert_eq!(
        without_options(bash_complete(
            elsewhere.dir(),
            &[
                "lxdev",
                "snapshot",
                "delete",
                "--config",
                config.to_str().unwrap(),
                "db",
                ""
            ]
        )),
        ["nightly"]
    );
}

#[test]
fn completing_never_waits_for_the_lock_and_fails_silently() {
    let project = Project::with_yaml(YAML);
    let before = project.bytes();
    let mut holder = crate::locking::hold_lock(&project, 60);
    // A completer that took the lock would wait 10 s, then give nothing.
    let offered = bash_complete(project.dir(), &["lxdev", "remove", "w"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(without_options(offered), ["web"]);
    assert_eq!(project.bytes(), before);

    // No project file, or an invalid one: no names, no error, exit 0.
    let empty = Project::empty();
    assert!(without_options(bash_complete(empty.dir(), &["lxdev", "exec", ""])).is_empty());
    let invalid = Project::with_yaml("project: [unclosed\n");
    let answer = Command::new(lxdev_bin())
        .current_dir(invalid.dir())
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .args(["--", "lxdev", "exec", ""])
        .output()
        .unwrap();
    assert!(answer.status.success());
    assert_eq!(String::from_utf8_lossy(&answer.stderr), "");
    assert!(!String::from_utf8_lossy(&answer.stdout).contains("web"));
    assert_eq!(invalid.yaml(), "project: [unclosed\n");
}
