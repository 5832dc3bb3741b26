//! What a cloned repository's files can do to the host: nothing but what
//! the README's "what a cloned repo's files can do" row says. A repo ships
//! containers.yaml and anything git keeps beside it (symlinks, folders
//! named like lxdev's own, a lock file); each test here plants one such
//! file and checks that lxdev neither writes through it nor reads a host
//! secret because of it.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::Project;

const ONE_ENTRY: &str = "project: r1\nruntime: fake\ncontainers:\n  web: {image: busybox}\n";

/// A repo folder `repo/` inside a temp dir, with `victim` beside it: a
/// file the user can write that nothing may touch.
struct Repo {
    project: Project,
}

impl Repo {
    fn new(yaml: &str) -> Repo {
        let project = Project::empty();
        std::fs::create_dir(project.dir().join("repo")).unwrap();
        std::fs::write(project.dir().join("victim"), "keep\n").unwrap();
        std::fs::write(project.dir().join("repo/containers.yaml"), yaml).unwrap();
        Repo { project }
    }

    fn dir(&self) -> PathBuf {
        self.project.dir().join("repo")
    }

    fn victim(&self) -> PathBuf {
        self.project.dir().join("victim")
    }

    fn lxdev(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.project.lxdev(args);
        cmd.current_dir(self.dir());
        cmd
    }

    fn assert_victim_kept(&self) {
        assert_eq!(
            std::fs::read_to_string(self.victim()).unwrap(),
            "keep\n",
            "the file outside the repo was written through a planted link"
        );
    }
}

fn fake_instances(dir: &Path) -> PathBuf {
    dir.join(".lxdev/fake/instances")
}

// --- 1. lock files and lxdev's own folders never follow a symlink --------

#[test]
fn a_lock_file_symlink_is_refused_and_its_target_kept() {
    let repo = Repo::new(ONE_ENTRY);
    symlink("../victim", repo.dir().join("containers.yaml.lock")).unwrap();
    let before = std::fs::read(repo.dir().join("containers.yaml")).unwrap();
    for args in [
        &["up", "--all"][..],
        &["container", "create", "db", "busybox", "--no-provision"][..],
        &["container", "remove", "web", "--yes"][..],
    ] {
        repo.lxdev(args).assert().code(77).stderr(
            predicate::str::contains("containers.yaml.lock")
                .and(predicate::str::contains("symbolic link")),
        );
    }
    repo.assert_victim_kept();
    assert_eq!(
        std::fs::read(repo.dir().join("containers.yaml")).unwrap(),
        before,
        "nothing was recorded without a lock"
    );
    assert!(
        !fake_instances(&repo.dir()).exists(),
        "no runtime work without a lock"
    );
}

#[test]
fn a_lock_file_hard_link_is_refused_and_its_other_name_kept() {
    let repo = Repo::new(ONE_ENTRY);
    std::fs::hard_link(repo.victim(), repo.dir().join("containers.yaml.lock")).unwrap();
    repo.lxdev(&["container", "create", "db", "busybox", "--no-provision"])
        .assert()
        .code(77)
        .stderr(predicate::str::contains("link"));
    repo.assert_victim_kept();
}

#[test]
fn a_lock_file_with_someone_elses_text_is_locked_but_never_rewritten() {
    let repo = Repo::new(ONE_ENTRY);
    let lock = repo.dir().join("containers.yaml.lock");
    std::fs::write(&lock, "checked in by mistake\n").unwrap();
    repo.lxdev(&["container", "create", "db", "busybox", "--no-provision"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "checked in by mistake\n"
    );
}

#[test]
fn a_dangling_project_file_symlink_creates_no_lock_where_it_points() {
    let repo = Repo::new(ONE_ENTRY);
    std::fs::remove_file(repo.dir().join("containers.yaml")).unwrap();
    // `X` is missing but `X.lock` exists: the planted link aims the lock at it.
    let target = repo.project.dir().join("victim-dir/X");
    std::fs::create_dir(target.parent().unwrap()).unwrap();
    let target_lock = target.with_file_name("X.lock");
    std::fs::write(&target_lock, "keep\n").unwrap();
    symlink(&target, repo.dir().join("containers.yaml")).unwrap();
    repo.lxdev(&["init", "--project", "p", "--runtime", "fake"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("symlink"));
    repo.lxdev(&["container", "create", "db", "busybox"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("dangling symlink"));
    assert_eq!(std::fs::read_to_string(&target_lock).unwrap(), "keep\n");
    let made: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(made, ["X.lock"], "nothing made beside the link's target");
}

#[test]
fn a_symlinked_lxdev_folder_is_refused_and_nothing_is_made_where_it_points() {
    let repo = Repo::new(ONE_ENTRY);
    let elsewhere = repo.project.dir().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    symlink("../elsewhere", repo.dir().join(".lxdev")).unwrap();
    let before = std::fs::read(repo.dir().join("containers.yaml")).unwrap();
    repo.lxdev(&["container", "create", "db", "busybox", "--no-provision"])
        .assert()
        .code(77)
        .stderr(predicate::str::contains(".lxdev").and(predicate::str::contains("symbolic link")));
    repo.lxdev(&["up", "web"]).assert().code(77);
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing was made behind the link"
    );
    assert_eq!(
        std::fs::read(repo.dir().join("containers.yaml")).unwrap(),
        before
    );
}

#[test]
fn a_symlinked_folder_inside_lxdevs_own_is_refused() {
    let repo = Repo::new(ONE_ENTRY);
    let elsewhere = repo.project.dir().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::create_dir_all(repo.dir().join(".lxdev/fake")).unwrap();
    symlink(
        "../../../elsewhere",
        repo.dir().join(".lxdev/fake/instances"),
    )
    .unwrap();
    repo.lxdev(&["up", "web"])
        .assert()
        .code(77)
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_project_file_linked_to_a_kernel_file_is_neither_read_nor_quoted() {
    for target in ["/proc/self/environ", "/dev/zero"] {
        let repo = Repo::new(ONE_ENTRY);
        std::fs::remove_file(repo.dir().join("containers.yaml")).unwrap();
        symlink(target, repo.dir().join("containers.yaml")).unwrap();
        let mut cmd = repo.lxdev(&["list"]);
        cmd.env("LXDEV_TEST_SECRET", "hunter2-in-the-environment")
            .timeout(std::time::Duration::from_secs(20));
        cmd.assert().code(65).stderr(
            predicate::str::contains("not a regular file")
                .and(predicate::str::contains("hunter2").not()),
        );
    }
}

// --- 2. another project's instance is never touched ----------------------

/// Project `a`'s entry `b-web` and project `a-b`'s entry `web` are both
/// instance `a-b-web`; the runtime's one is `a-b`'s (its tags say so).
fn colliding_projects() -> (Project, PathBuf) {
    let project = Project::with_yaml(
        "project: a\nruntime: fake\ncontainers:\n  b-web:\n    image: busybox\n    \
         ports: [18080]\n    snapshots:\n      s1: {created_at: \"2026-01-01T00:00:00Z\"}\n    \
         sync:\n      - {source: f, dest: /tmp/f}\n",
    );
    let instance = fake_instances(project.dir()).join("a-b-web");
    std::fs::create_dir_all(instance.join("snapshots/s1")).unwrap();
    std::fs::create_dir_all(instance.join("rootfs/tmp")).unwrap();
    std::fs::write(instance.join("rootfs/tmp/f"), "theirs\n").unwrap();
    for (file, text) in [
        ("image", "busybox"),
        ("status", "Running"),
        ("project", "a-b"),
        ("config", "/elsewhere/a-b/containers.yaml"),
    ] {
        std::fs::write(instance.join(file), text).unwrap();
    }
    std::fs::write(project.dir().join("f"), "ours\n").unwrap();
    std::fs::create_dir(project.dir().join("code")).unwrap();
    (project, instance)
}

/// Every file and folder under `dir`, with file contents: what a command
/// may not change of another project's instance.
fn tree(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut found = Vec::new();
    let mut walk = vec![dir.to_path_buf()];
    while let Some(path) = walk.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            found.push((path, Some(target.into_os_string().into_encoded_bytes())));
        } else if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                walk.push(entry.unwrap().path());
            }
            found.push((path, None));
        } else {
            found.push((path.clone(), Some(std::fs::read(&path).unwrap())));
        }
    }
    found.sort();
    found
}

#[test]
fn every_command_refuses_another_projects_instance_met_by_name() {
    let (project, instance) = colliding_projects();
    let commands: &[&[&str]] = &[
        &["up", "b-web"],
        &["down", "b-web"],
        &["exec", "b-web", "--", "touch", "made-by-exec"],
        &["ssh", "b-web"],
        &["cp", "f", "b-web:/tmp/g"],
        &["cp", "b-web:/tmp/f", "pulled"],
        &["sync", "b-web"],
        &["snapshot", "create", "b-web", "s2"],
        &["snapshot", "delete", "b-web", "s1"],
        &["snapshot", "restore", "b-web", "s1"],
        &["container", "reset", "b-web", "s1"],
        &["container", "clone", "b-web", "copy"],
        &["proxy", "b-web"],
        &["proxy", "b-web", "--stop"],
        &["mount", "b-web", "code", "/srv/code"],
        &["mounts", "b-web", "--sync"],
        &["image", "create", "b-web", "theirs"],
        &["container", "remove", "b-web", "--force"],
        &["project", "delete", "--yes"],
    ];
    let before = project.bytes();
    let theirs = tree(&instance);
    for args in commands {
        project.lxdev(*args).assert().code(4).stderr(
            predicate::str::contains("`a-b-web`")
                .and(predicate::str::contains("project `a-b`"))
                .and(predicate::str::contains("b-web")),
        );
        assert_eq!(project.bytes(), before, "{args:?} changed the file");
        assert_eq!(tree(&instance), theirs, "{args:?} touched a-b's instance");
    }
    assert!(!project.dir().join("pulled").exists());
    assert_eq!(project.runtime_instances(), ["a-b-web"], "nothing cloned");
}

// --- 3. `sync:` from a checked-in file pushes no host secret --------------

/// A project with container `web` (provisioned, so its dev user exists),
/// a home folder with a key, and `sync:` entries in the file as given.
fn project_syncing(entries: &[(&str, &str)]) -> (Project, PathBuf) {
    let project = Project::new();
    project
        .lxdev(["container", "create", "web", "busybox"])
        .assert()
        .success();
    let home = project.dir().join("home/me");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "PRIVATE KEY\n").unwrap();
    let list: String = entries
        .iter()
        .map(|(source, dest)| format!("      - {{source: \"{source}\", dest: \"{dest}\"}}\n"))
        .collect();
    let text = project.yaml().replace(
        "    image: busybox\n",
        &format!("    image: busybox\n    sync:\n{list}"),
    );
    std::fs::write(project.config_path(), text).unwrap();
    (project, home)
}

fn rootfs(project: &Project) -> PathBuf {
    fake_instances(project.dir()).join("demo-web/rootfs")
}

#[test]
fn a_checked_in_sync_list_pushes_no_host_secret() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("notes"), "n\n").unwrap();
    let outside_file = outside.path().join("notes");
    let hostile: &[(&str, &str)] = &[
        ("/etc", "/tmp/etc"),
        ("/var/lib/lxd/server.key", "/tmp/key"),
        ("/var/lib", "/tmp/lib"),
        ("/proc/self/environ", "/tmp/env"),
        ("home", "/tmp/home"),
        ("home/me/.ssh", "/tmp/ssh"),
        ("creds", "/tmp/creds"),
        (outside_file.to_str().unwrap(), "/tmp/notes"),
    ];
    for &(source, dest) in hostile {
        let (project, home) = project_syncing(&[(source, dest)]);
        // A link the repo shipped, to a secret of the user's.
        symlink(home.join(".ssh"), project.dir().join("creds")).unwrap();
        let before = project.bytes();
        let pushed = tree(&rootfs(&project));
        project
            .lxdev(["sync", "web"])
            .env("HOME", &home)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot sync"));
        assert_eq!(tree(&rootfs(&project)), pushed, "{source} was pushed");
        assert_eq!(project.bytes(), before);
    }
}

#[test]
fn a_sync_source_outside_the_project_needs_this_machines_approval() {
    let outside = tempfile::tempdir().unwrap();
    let notes = outside.path().join("notes");
    std::fs::write(&notes, "n\n").unwrap();
    let (project, home) = project_syncing(&[]);
    let notes = notes.to_str().unwrap();
    project
        .lxdev(["sync", "add", "web", notes, "/tmp/notes"])
        .env("HOME", &home)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-outside"));
    project
        .lxdev(["sync", "add", "web", notes, "/tmp/notes", "--allow-outside"])
        .env("HOME", &home)
        .assert()
        .success();
    project
        .lxdev(["sync", "web"])
        .env("HOME", &home)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(rootfs(&project).join("tmp/notes")).unwrap(),
        "n\n"
    );
    // No flag makes a folder holding the system's secrets pushable.
    project
        .lxdev(["sync", "add", "web", "/etc", "/tmp/etc", "--allow-outside"])
        .env("HOME", &home)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/etc/shadow"));
    project
        .lxdev([
            "sync",
            "add",
            "web",
            "/proc/self",
            "/tmp/p",
            "--allow-risky",
            "--allow-outside",
        ])
        .env("HOME", &home)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("never"));
}

// --- 4. `cp` never carries a host secret through a link -------------------

#[test]
fn a_link_made_in_the_container_is_never_pulled_as_a_host_link() {
    let (project, home) = project_syncing(&[]);
    let tmp = rootfs(&project).join("tmp");
    std::fs::create_dir_all(tmp.join("tree")).unwrap();
    // `ln -s /root/.ssh/id_rsa /tmp/evil` in a real container: in the fake
    // one, a link to the host's key.
    symlink(home.join(".ssh/id_rsa"), tmp.join("evil")).unwrap();
    std::fs::write(tmp.join("tree/f"), "x\n").unwrap();
    symlink(home.join(".ssh/id_rsa"), tmp.join("tree/out")).unwrap();
    symlink("../../../../../../../etc/shadow", tmp.join("tree/up")).unwrap();
    symlink("f", tmp.join("tree/in")).unwrap();
    // Out through the copy's own links: `d` is the copy's top.
    symlink(".", tmp.join("tree/d")).unwrap();
    symlink("d/d/d/../..", tmp.join("tree/e")).unwrap();
    project
        .lxdev(["cp", "web:/tmp/evil", "x"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("symbolic link"));
    assert!(std::fs::symlink_metadata(project.dir().join("x")).is_err());
    project
        .lxdev(["cp", "web:/tmp/tree", "tree"])
        .assert()
        .success()
        .stderr(predicate::str::contains("left out 3 symbolic link(s)"));
    let tree_dir = project.dir().join("tree");
    assert!(std::fs::symlink_metadata(tree_dir.join("out")).is_err());
    assert!(std::fs::symlink_metadata(tree_dir.join("up")).is_err());
    assert!(std::fs::symlink_metadata(tree_dir.join("e")).is_err());
    assert_eq!(
        std::fs::read_link(tree_dir.join("d")).unwrap(),
        Path::new(".")
    );
    assert_eq!(
        std::fs::read_link(tree_dir.join("in")).unwrap(),
        Path::new("f")
    );
    assert_eq!(std::fs::read_to_string(tree_dir.join("f")).unwrap(), "x\n");
}

#[test]
fn a_push_is_held_to_the_secret_rules_and_keeps_modes() {
    use std::os::unix::fs::PermissionsExt;
    let (project, home) = project_syncing(&[]);
    // What a pull used to leave: a host link to the user's key.
    symlink(home.join(".ssh/id_rsa"), project.dir().join("x")).unwrap();
    let pushed = tree(&rootfs(&project));
    for source in ["x", "home/me/.ssh", "/etc", "/proc/self/environ"] {
        project
            .lxdev(["cp", source, "web:/tmp/y"])
            .env("HOME", &home)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot copy"));
        assert_eq!(tree(&rootfs(&project)), pushed, "{source} was pushed");
    }
    // Asked for by name, it goes, and stays as private as it was.
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(&home.join(".ssh/id_rsa"), 0o600);
    mode(&home.join(".ssh"), 0o700);
    project
        .lxdev(["cp", "home/me/.ssh", "web:/tmp/ssh", "--allow-risky"])
        .env("HOME", &home)
        .assert()
        .success();
    let mode_of = |rel: &str| {
        std::fs::metadata(rootfs(&project).join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode_of("tmp/ssh"), 0o700);
    assert_eq!(mode_of("tmp/ssh/id_rsa"), 0o600);
}

// --- 9. text from the file is data, not terminal commands ----------------

#[test]
fn control_characters_from_the_file_never_reach_the_terminal() {
    // OSC 52 writes the clipboard; CSI 2J clears the screen; U+202E turns
    // the rest of a line around.
    let osc52 = "\\e]52;c;aGVsbG8=\\a";
    let yaml = format!(
        "project: demo\nruntime: fake\ncontainers:\n  web:\n    image: \"busy\\e[2Jbox\"\n    \
         owner: \"{osc52}\"\n    snapshots:\n      s1:\n        description: \"a\\u202Eb\\e[31m\"\n        \
         created_at: \"2026-01-01T00:00:00Z\"\n  bad:\n    image: busybox\n    state: failed\n    \
         error: \"boom\\e]0;pwned\\a\"\n"
    );
    let project = Project::with_yaml(&yaml);
    project.make_runtime_instance("demo-web");
    let raw = |c: char| c.is_control() && c != '\n';
    for args in [
        &["list"][..],
        &["snapshot", "list", "web"][..],
        &["doctor"][..],
        &["container", "remove", "web", "--yes"][..],
    ] {
        let out = project.lxdev(args).output().unwrap();
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.chars().any(|c| raw(c) || c == '\u{202e}'),
                "{args:?} printed a control character: {text:?}"
            );
        }
    }
    // `--json` stays exact: the document says what the file says.
    let out = project.lxdev(["--json", "list"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let web = json["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "web")
        .unwrap()
        .clone();
    assert_eq!(web["owner"], "\u{1b}]52;c;aGVsbG8=\u{7}");
}

// --- Variants found by a second hostile pass -----------------------------

#[test]
fn a_fifo_for_the_project_file_is_refused_without_hanging() {
    let repo = Repo::new(ONE_ENTRY);
    std::fs::remove_file(repo.dir().join("containers.yaml")).unwrap();
    let fifo = repo.dir().join("containers.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut cmd = repo.lxdev(&["list"]);
    cmd.timeout(std::time::Duration::from_secs(20));
    cmd.assert()
        .code(65)
        .stderr(predicate::str::contains("not a regular file"));
}

#[test]
fn a_folder_for_the_lock_file_is_refused() {
    let repo = Repo::new(ONE_ENTRY);
    std::fs::create_dir(repo.dir().join("containers.yaml.lock")).unwrap();
    repo.lxdev(&["container", "create", "db", "busybox", "--no-provision"])
        .assert()
        .code(77)
        .stderr(predicate::str::contains("it is a folder"));
}

/// Another user's containers.yaml above the current directory (left in a
/// shared folder such as /tmp) is not acted on unless named with -C.
#[test]
fn another_users_project_file_found_upward_is_refused() {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        != 0
    {
        eprintln!("skipped: another_users_project_file_found_upward_is_refused: needs root");
        return;
    }
    let repo = Repo::new(ONE_ENTRY);
    let file = repo.dir().join("containers.yaml");
    std::os::unix::fs::chown(&file, Some(1500), Some(1500)).unwrap();
    let below = repo.dir().join("mywork");
    std::fs::create_dir(&below).unwrap();
    let mut cmd = repo.lxdev(&["up", "web"]);
    cmd.current_dir(&below);
    cmd.assert()
        .code(77)
        .stderr(predicate::str::contains("belongs to").and(predicate::str::contains("-C")));
    assert!(!fake_instances(&repo.dir()).exists(), "nothing was made");
    assert!(!repo.dir().join("containers.yaml.lock").exists());
    // Named on purpose, it is used.
    let mut cmd = repo.lxdev(&["-C", "..", "list"]);
    cmd.current_dir(&below);
    cmd.assert()
        .success()
        .stdout(predicate::str::contains("web"));
}

/// A cloned repo may ship the fake runtime's state too: links inside an
/// instance's folder (to a folder to delete, a file to write or a secret
/// to print) are refused, whatever the command.
#[test]
fn links_inside_the_fake_runtimes_instances_are_refused() {
    let cases: &[(&str, &[&str])] = &[
        ("snapshots", &["snapshot", "delete", "web", "precious"]),
        ("devices", &["unmount", "web", "precious"]),
        ("status", &["down", "web"]),
        ("owners", &["cp", "f", "web:/tmp/x"]),
        ("project", &["up", "web"]),
        ("image", &["image", "create", "web", "leak"]),
    ];
    for (planted, args) in cases {
        let project = Project::new();
        project
            .lxdev(["container", "create", "web", "busybox", "--no-provision"])
            .assert()
            .success();
        std::fs::write(project.dir().join("f"), "f\n").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(outside.path().join("precious")).unwrap();
        std::fs::write(outside.path().join("precious/keep"), "keep\n").unwrap();
        std::fs::write(outside.path().join("secret"), "SECRETHASH\n").unwrap();
        let instance = fake_instances(project.dir()).join("demo-web");
        let at = instance.join(planted);
        let _ = std::fs::remove_dir_all(&at);
        let _ = std::fs::remove_file(&at);
        let target = match *planted {
            "snapshots" | "devices" => outside.path().to_path_buf(),
            _ => outside.path().join("secret"),
        };
        symlink(&target, &at).unwrap();
        let text = project.yaml().replace(
            "    image: busybox\n",
            "    image: busybox\n    snapshots:\n      precious:\n        created_at: \
             \"2026-01-01T00:00:00Z\"\n    devices:\n      precious:\n        type: disk\n        \
             config: {source: ., path: /srv/p}\n",
        );
        std::fs::write(project.config_path(), text).unwrap();
        let before = project.bytes();
        project.lxdev(*args).assert().code(77).stderr(
            predicate::str::contains("symbolic link")
                .and(predicate::str::contains("SECRETHASH").not()),
        );
        assert_eq!(project.bytes(), before, "{args:?}");
        assert_eq!(
            std::fs::read_to_string(outside.path().join("precious/keep")).unwrap(),
            "keep\n",
            "{args:?}"
        );
        assert_eq!(
            std::fs::read_to_string(outside.path().join("secret")).unwrap(),
            "SECRETHASH\n",
            "{args:?}"
        );
        assert!(!project.dir().join(".lxdev/fake/images/leak").exists());
    }
}

/// A read-write mount of the project recorded in the file would let the
/// container write `.git` (hooks that git runs on the host): on a machine
/// where this user has not allowed it, it is given read-only, with a note
/// naming the command that allows it; that command then makes it
/// read-write, and the approval holds for later instances here.
#[test]
fn a_checked_in_read_write_mount_of_a_git_folder_needs_this_machines_approval() {
    let project = Project::with_yaml(
        "project: demo\nruntime: fake\ncontainers:\n  web:\n    image: busybox\n    devices:\n      \
         src:\n        type: disk\n        config: {source: ., path: /srv/src}\n",
    );
    std::fs::create_dir_all(project.dir().join(".git/hooks")).unwrap();
    let device = || {
        let text =
            std::fs::read_to_string(fake_instances(project.dir()).join("demo-web/devices/src"))
                .unwrap();
        let (_, config): (String, std::collections::BTreeMap<String, String>) =
            serde_json::from_str(&text).unwrap();
        config
    };
    project
        .lxdev(["up", "web", "--no-provision"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("mounted read-only").and(predicate::str::contains(".git")),
        );
    assert_eq!(device().get("readonly").map(String::as_str), Some("true"));
    let before = project.bytes();
    project
        .lxdev(["mount", "web", ".", "/srv/src", "-n", "src", "--rw"])
        .assert()
        .success();
    assert_eq!(device().get("readonly"), None, "now read-write");
    assert_eq!(project.bytes(), before, "the record was already right");
    // Approved on this machine: a new instance gets it read-write at once.
    project
        .lxdev(["container", "remove", "web", "--yes"])
        .assert()
        .success();
    std::fs::write(project.config_path(), String::from_utf8(before).unwrap()).unwrap();
    project
        .lxdev(["up", "web", "--no-provision"])
        .assert()
        .success()
        .stderr(predicate::str::contains("read-only").not());
    assert_eq!(device().get("readonly"), None);
}
