//! The file's hooks, run inside a container and never on the host:
//! `setup` once, as a provisioning step (`provision.rs`), and `start` each
//! time `up` starts a container (`lifecycle.rs`).
//!
//! Each command runs with `sh -c` as the dev user, in the project's mount
//! when the entry has one (a disk device whose source is the project
//! directory), else in the user's home, with the container's environment
//! (the file's `env`). Commands run one after another; the first that
//! fails stops the hook, and the error names it, its exit status and the
//! last line it printed. What they print goes to the terminal as it
//! comes, through the container's [`Line`]: `web | ...` when several
//! containers work at once.

use std::path::Path;

use anyhow::{Result, anyhow};

use super::bulk::Line;
use crate::config::devices::Spec;
use crate::runtime::{Hook, HookStage, Runtime};

/// One hook of one container, ready to run.
#[derive(Debug, Clone)]
pub struct Hooks {
    pub stage: HookStage,
    pub commands: Vec<String>,
    /// The dev user, who runs them.
    pub user: String,
    /// The project's mount in the container; the user's home when `None`.
    pub cwd: Option<String>,
}

/// The path in the container where the project directory (`project_dir`)
/// is mounted among `devices`, if it is: a disk whose source is `.` or
/// that directory. One named `project` (`--mount-project`) first.
pub fn project_mount(project_dir: &Path, devices: &[(String, Spec)]) -> Option<String> {
    let canonical = |path: &Path| std::fs::canonicalize(path).ok();
    let dir = canonical(project_dir);
    let is_project = |spec: &Spec| {
        spec.kind == "disk"
            && spec.config.get("source").is_some_and(|source| {
                source == "."
                    || (source.starts_with('/')
                        && dir.is_some()
                        && canonical(Path::new(source)) == dir)
            })
    };
    let mut mounts: Vec<&(String, Spec)> = devices.iter().filter(|(_, s)| is_project(s)).collect();
    mounts.sort_by_key(|(name, _)| name != "project");
    mounts
        .first()
        .and_then(|(_, spec)| spec.config.get("path").cloned())
}

impl Hooks {
    /// Runs each command in `instance` in order (see the module comment);
    /// prints through `line`.
    pub fn run(&self, runtime: &dyn Runtime, instance: &str, line: &Line) -> Result<()> {
        let stage = self.stage.as_str();
        let user = runtime
            .container_user(instance, &self.user)?
            .ok_or_else(|| {
                anyhow!(
                    "container `{instance}` has no user `{}` to run the `{stage}` hook as",
                    self.user
                )
            })?;
        let cwd = self.cwd.clone().unwrap_or_else(|| user.home.clone());
        for command in &self.commands {
            line.print(&format!("{stage}: $ {}", one_line(command)));
            let mut last = String::new();
            let hook = Hook {
                stage: self.stage,
                command,
                user: &user,
                cwd: &cwd,
            };
            let status = runtime.run_hook(instance, &hook, &mut |text: &str| {
                if !text.trim().is_empty() {
                    last = text.to_owned();
                }
                line.print(text);
            })?;
            if status != 0 {
                let last = match last.trim() {
                    "" => String::new(),
                    text => format!("; its last line: {}", shorten(text, 200)),
                };
                return Err(anyhow!(
                    "`{}` exited with status {status}{last}",
                    one_line(command)
                ));
            }
        }
        Ok(())
    }
}

/// A command as messages show it: its first line, shortened, with `…` when
/// anything was left out.
fn one_line(command: &str) -> String {
    let first = command.trim().lines().next().unwrap_or("");
    let shown = shorten(first, 80);
    if shown.len() < command.trim().len() && !shown.ends_with('…') {
        format!("{shown} …")
    } else {
        shown
    }
}

/// At most `max` characters of `text`, ending in `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(source: &str, path: &str) -> Spec {
        Spec::disk(source, path, true, false)
    }

    #[test]
    fn the_project_mount_is_a_disk_of_the_project_directory() {
        let dir = tempfile::tempdir().unwrap();
        let abs = dir.path().to_str().unwrap().to_owned();
        let devices = vec![
            ("src".to_owned(), disk("src", "/srv/src")),
            ("code".to_owned(), disk(&abs, "/srv/code")),
        ];
        assert_eq!(
            project_mount(dir.path(), &devices).as_deref(),
            Some("/srv/code")
        );
        let mut with_project = devices.clone();
        with_project.push(("project".to_owned(), disk(".", "/home/dev/p")));
        assert_eq!(
            project_mount(dir.path(), &with_project).as_deref(),
            Some("/home/dev/p")
        );
        assert_eq!(project_mount(dir.path(), &devices[..1]), None);
    }

    #[test]
    fn commands_are_shown_on_one_line() {
        assert_eq!(one_line("make"), "make");
        assert_eq!(one_line("set -e\nmake\n"), "set -e …");
        assert_eq!(one_line(&"x".repeat(100)).chars().count(), 81);
    }
}
