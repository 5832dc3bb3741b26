//! Property tests: no command line and no file content makes lxdev panic.
//!
//! A panic exits 101 (and prints "panicked"); every other outcome, success
//! or a reported error, is acceptable here: other tests pin down which one.
//! The binary is spawned (not `lxdev::run` in-process under
//! `catch_unwind`): that is the only way to see what users see, clap's
//! parsing of flags and environment and `main`'s exit code included, and it
//! keeps lxdev's prints out of the test harness's output. A spawn costs a
//! few milliseconds, so each property runs a modest number of cases (the
//! whole module takes well under 30 s in a debug build). Inputs are free
//! text of any length (up to past `u16::MAX`, the width `format!` accepts),
//! numbers of any magnitude, and YAML-ish text built from the tokens that
//! make parsers branch. NUL is left out: no argv or environment can hold
//! it.

use std::process::Output;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::support::Project;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Shrinking respawns the binary for every step; a few are enough to
        // get a readable counterexample.
        max_shrink_iters: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

fn assert_no_panic(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{what}: {stderr}");
    assert!(
        out.status.code().is_some(),
        "{what}: killed by a signal: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

/// Free text without NUL, now and then very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[^\u{0}]{0,40}",
        1 => (60_000usize..70_000).prop_map(|n| "x".repeat(n)),
        1 => "[a-z0-9-]{1,80}",
    ]
}

/// What a user might pass as a number of seconds.
fn seconds() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (-400i32..400).prop_map(|e| format!("1e{e}")),
        Just("inf".to_string()),
        Just("-0".to_string()),
        Just("NaN".to_string()),
        "[^\u{0}]{0,12}",
    ]
}

/// Text made of the pieces YAML parsers branch on.
fn yamlish() -> impl Strategy<Value = String> {
    let keys = [
        "project: demo\n",
        "containers:",
        "  dev:\n",
        "    image: ",
        "snapshots:",
        "defaults:",
    ];
    let pieces: Vec<&'static str> = keys
        .into_iter()
        .chain(crate::yaml_pieces::YAML_PIECES.iter().copied())
        .collect();
    prop::collection::vec(prop::sample::select(pieces), 0..60).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn no_lock_timeout_panics(value in seconds(), via_env in any::<bool>()) {
        let project = Project::with_yaml("project: demo\ncontainers: {}\n");
        let mut cmd = project.spawn_lxdev(["list"]);
        if via_env {
            cmd.env("LXDEV_LOCK_TIMEOUT", &value);
        } else {
            cmd.arg(format!("--lock-timeout={value}"));
        }
        assert_no_panic(&format!("--lock-timeout {value:?}"), &cmd.output().unwrap());
    }
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn no_name_image_or_description_panics(
        name in text(),
        image in text(),
        snapshot in text(),
        description in text(),
    ) {
        let project = Project::with_yaml("project: demo\nruntime: fake\ncontainers: {}\n");
        let runs: [&[&str]; 6] = [
            &["container", "create", &name, &image, "--no-provision"],
            &["container", "create", "dev", &image, "--no-provision"],
            &["snapshot", "create", "dev", &snapshot, "-d", &description],
            &["snapshot", "create", "dev", "s", "-d", &description],
            &["snapshot", "list", "dev"],
            &["list"],
        ];
        for args in runs {
            let out = project.spawn_lxdev(args).output().unwrap();
            let shown: Vec<String> = args.iter().map(|a| a.chars().take(40).collect()).collect();
            assert_no_panic(&format!("{shown:?}"), &out);
        }
        let out = project.spawn_lxdev(["--json", "list"]).output().unwrap();
        assert_no_panic("--json list", &out);
        // Whatever was accepted was recorded in a file lxdev can still read.
        prop_assert_eq!(out.status.code(), Some(0));
    }

    #[test]
    fn no_file_content_panics(text in yamlish()) {
        let project = Project::with_yaml(&text);
        for args in [&["list"][..], &["container", "create", "web", "busybox", "--no-provision"][..], &["doctor"][..]] {
            let out = project.spawn_lxdev(args).output().unwrap();
            assert_no_panic(&format!("{args:?} on {text:?}"), &out);
        }
    }
}
