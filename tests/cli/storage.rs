//! `storage:`, the pool new containers go on, on the fake runtime (whose
//! pools are `default` and the lines of `.lxdev/fake/pools`): `init
//! --storage` records it after checking it exists, an entry may name its
//! own, `create`, `clone` and `up` make instances there, an unknown pool is
//! one line and exit 2 with nothing changed, and a `dir` pool is named as
//! the slow path. The same on LXD and Incus: `lxd_storage` below.

use predicates::prelude::*;

use crate::json::outcome;
use crate::lxd::{IMAGE, LxdProject};
use crate::support::Project;

/// A temp dir whose fake runtime has pools `fast` (btrfs) and `slow` (dir)
/// besides `default`.
fn with_pools() -> Project {
    let project = Project::empty();
    let dir = project.dir().join(".lxdev/fake");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pools"), "fast btrfs\nslow dir\n").unwrap();
    project
}

/// The pool the fake runtime made `instance` on.
fn pool_of(project: &Project, instance: &str) -> String {
    let path = project
        .dir()
        .join(".lxdev/fake/instances")
        .join(instance)
        .join("pool");
    std::fs::read_to_string(path).unwrap()
}

fn init(project: &Project, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["init", "--project", "demo", "--runtime", "fake"];
    args.extend(extra);
    project.lxdev(args).output().unwrap()
}

#[test]
fn init_records_the_pool_and_says_which_it_is() {
    let project = with_pools();
    let out = init(&project, &["--storage", "fast"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("new containers go on storage pool `fast`, driver btrfs"),
        "{stdout}"
    );
    assert_eq!(project.config().storage.as_deref(), Some("fast"));
    assert!(
        project.yaml().contains("\nstorage: fast\n"),
        "{}",
        project.yaml()
    );

    // Without --storage: the default profile's pool, named as such.
    let plain = with_pools();
    let out = init(&plain, &["--json"]);
    let json = outcome(&out);
    assert_eq!(json["storage"]["name"], "default", "{json}");
    assert_eq!(json["storage"]["driver"], "fake", "{json}");
    assert_eq!(plain.config().storage, None);
    let out = init(&with_pools(), &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("`default` (the default profile's)"),
        "{out:?}"
    );
}

#[test]
fn init_on_a_dir_pool_says_it_is_the_slow_path() {
    let project = with_pools();
    let out = init(&project, &["-s", "slow"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`slow` is a `dir` pool, the slow path")
            && stderr.contains("copies the whole root filesystem")
            && stderr.contains("init --storage"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_or_invalid_pool_at_init_writes_no_file() {
    for (args, says) in [
        (
            &["--storage", "nosuch"][..],
            "storage pool `nosuch` (--storage) does not exist",
        ),
        (&["--storage=-x"][..], "--storage `-x` is invalid"),
        (&["--storage", "a/b"][..], "--storage `a/b` is invalid"),
    ] {
        let project = with_pools();
        let mut cmd = vec!["init", "--project", "demo", "--runtime", "fake"];
        cmd.extend(args);
        project.lxdev(cmd).assert().code(2).stderr(
            predicate::str::contains(says)
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
        assert!(!project.config_path().exists(), "{args:?}");
    }
}

#[test]
fn create_clone_and_up_make_instances_on_the_files_pool() {
    let project = with_pools();
    assert!(init(&project, &["--storage", "fast"]).status.success());
    project
        .lxdev(["container", "create", "a", "busybox", "--no-provision"])
        .assert()
        .success();
    assert_eq!(pool_of(&project, "demo-a"), "fast");
    project
        .lxdev(["container", "clone", "a", "b", "--no-initial-snapshot"])
        .assert()
        .success();
    assert_eq!(pool_of(&project, "demo-b"), "fast");
    // A checked-in entry with a pool of its own, made by `up`.
    project.append_containers("  c:\n    image: busybox\n    storage: slow\n");
    project
        .lxdev(["up", "c", "--no-provision"])
        .assert()
        .success();
    assert_eq!(pool_of(&project, "demo-c"), "slow");
    assert_eq!(
        project.container_names(),
        ["a", "b", "c"],
        "{}",
        project.yaml()
    );
}

#[test]
fn a_file_without_the_key_uses_the_default_profiles_pool() {
    let project = Project::new();
    project
        .lxdev(["container", "create", "a", "busybox", "--no-provision"])
        .assert()
        .success();
    assert_eq!(pool_of(&project, "demo-a"), "default");
}

#[test]
fn an_unknown_pool_in_the_file_is_refused_before_anything_is_reserved() {
    let project = with_pools();
    assert!(init(&project, &["--storage", "fast"]).status.success());
    project
        .lxdev(["container", "create", "a", "busybox", "--no-provision"])
        .assert()
        .success();
    let text = project.yaml().replace("storage: fast", "storage: gone");
    std::fs::write(project.config_path(), text).unwrap();
    project.append_containers("  c:\n    image: busybox\n    storage: lost\n");
    let before = project.bytes();
    for (args, says) in [
        (
            &["container", "create", "b", "busybox"][..],
            "storage pool `gone` (`storage:` in",
        ),
        (&["container", "clone", "a", "b"][..], "storage pool `gone`"),
        (
            &["up", "c"][..],
            "storage pool `lost` (`containers.c.storage` in",
        ),
    ] {
        project.lxdev(args).assert().code(2).stderr(
            predicate::str::contains(says)
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
        assert_eq!(project.bytes(), before, "{args:?}");
    }
    assert_eq!(project.runtime_instances(), ["demo-a"]);
    // doctor says so, as a problem.
    project
        .lxdev(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "storage pool `gone` (`storage:`) does not exist",
        ));
}

#[test]
fn a_pool_name_that_could_read_as_an_option_is_an_invalid_file() {
    let project = with_pools();
    assert!(init(&project, &[]).status.success());
    for bad in ["storage: \"-x\"\n", "storage: \"--force\"\n"] {
        let text = project
            .yaml()
            .replace("containers: {}\n", &format!("{bad}containers: {{}}\n"));
        let broken = Project::with_yaml(&text);
        broken
            .lxdev(["container", "create", "a", "busybox"])
            .assert()
            .code(65)
            .stderr(predicate::str::contains("storage"));
        assert!(broken.runtime_instances().is_empty());
    }
}

#[test]
fn doctor_names_a_dir_pool_as_the_slow_path_without_failing() {
    let project = with_pools();
    assert!(init(&project, &["--storage", "slow"]).status.success());
    project.lxdev(["doctor"]).assert().success().stdout(
        predicate::str::contains("note: storage pool `slow` is a `dir` pool, the slow path")
            .and(predicate::str::contains("btrfs size=8GiB")),
    );
    let out = project.lxdev(["--json", "doctor"]).output().unwrap();
    let json = outcome(&out);
    let finding = &json["findings"][0];
    assert_eq!(finding["kind"], "slow_storage", "{json}");
    assert_eq!(finding["problem"], false, "{json}");
    // On a copy-on-write pool, nothing to say.
    let fast = with_pools();
    assert!(init(&fast, &["--storage", "fast"]).status.success());
    fast.lxdev(["doctor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no problems"));
}

/// The instance's root disk pool, as LXD reports it.
fn lxd_pool(lxd: &LxdProject, instance: &str) -> String {
    let out = lxd
        .rt
        .run(&["query", &format!("/1.0/instances/{instance}")]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["expanded_devices"]["root"]["pool"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// On LXD and Incus, whose default profile puts root disks on
/// `lxdev-btrfs` (scripts/setup-*.sh) and which have a `default` pool too:
/// the file's pool and an entry's own are used, an unknown one refused.
#[test]
fn lxd_storage() {
    for lxd in LxdProject::each("lxd_storage") {
        let text = lxd
            .project
            .yaml()
            .replace("containers: {}\n", "storage: default\ncontainers: {}\n");
        std::fs::write(lxd.project.config_path(), text).unwrap();
        // -v shows each client call with its duration; the local daemon
        // the file names is not probed with `query /1.0` first, and the
        // pool check is the first call.
        let made = lxd.ok(["-v", "container", "create", "a", IMAGE, "--no-provision"]);
        let stderr = String::from_utf8_lossy(&made.get_output().stderr).into_owned();
        let calls: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("lxdev: {} ", lxd.rt.client)))
            .collect();
        assert!(
            calls.len() == 3
                && calls[0].contains("query /1.0/storage-pools/default")
                && calls[1].contains("--storage=default")
                && calls[2].contains(" start ")
                && calls.iter().all(|l| l.ends_with(" ms)")),
            "{stderr}"
        );
        assert_eq!(lxd_pool(&lxd, &format!("{}-a", lxd.name)), "default");
        lxd.ok(["container", "clone", "a", "b", "--no-initial-snapshot"]);
        assert_eq!(lxd_pool(&lxd, &format!("{}-b", lxd.name)), "default");
        lxd.project.append_containers(&format!(
            "  c:\n    image: {IMAGE}\n    storage: lxdev-btrfs\n"
        ));
        lxd.ok(["up", "c", "--no-provision"]);
        assert_eq!(lxd_pool(&lxd, &format!("{}-c", lxd.name)), "lxdev-btrfs");
        lxd.ok(["doctor"]).stdout(predicate::str::contains(
            "note: storage pool `default` is a `dir` pool",
        ));

        let text = lxd
            .project
            .yaml()
            .replace("storage: default", "storage: nosuch-pool");
        std::fs::write(lxd.project.config_path(), text).unwrap();
        lxd.fails(["container", "create", "d", IMAGE, "--no-provision"], 2)
            .stderr(predicate::str::contains("storage pool `nosuch-pool`").and(
                predicate::str::contains(format!("{} storage create", lxd.rt.client)),
            ));
    }
}
