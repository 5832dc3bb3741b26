//! A fake instance's settings, hooks, sshd and logs.
//!
//! Settings (the file's limits and environment) are one JSON map in
//! `settings`, replaced whole by rename. Hooks are **recorded, never
//! run**: a command from containers.yaml must not run on the host, and
//! the fake has no container to run it in. Each becomes one JSON line in
//! `hooks` (`{"stage", "user", "cwd", "command", "env"}`), which tests
//! read; `LXDEV_FAKE_FAIL=hook_setup:NAME` (or `hook_start`) makes it
//! exit 1 instead, and `LXDEV_FAKE_DELAY_MS` delays it like any change.
//! The fake has no sshd; its logs are its hook records.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::{Failure, FakeRuntime};
use crate::config::names::RuntimeName;
use crate::error::refused;
use crate::runtime::backend::Environment;
use crate::runtime::rules::{check_names, check_settings};
use crate::runtime::types::{Hook, LogRequest, LogSource, SshFacts};

/// The settings file of an instance's folder.
pub(super) const SETTINGS: &str = "settings";
/// The hook records of an instance's folder.
const HOOKS: &str = "hooks";

/// The settings recorded in instance folder `dir` (none when missing).
pub(super) fn read_settings(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join(SETTINGS))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Replaces the settings of instance folder `dir`, whole, by rename.
pub(super) fn write_settings(dir: &Path, settings: &BTreeMap<String, String>) -> Result<()> {
    check_settings(settings.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))?;
    let temp = dir.join(format!(".{SETTINGS}.{}", std::process::id()));
    std::fs::write(&temp, serde_json::to_string(settings)?)
        .with_context(|| format!("failed to write `{}`", temp.display()))?;
    std::fs::rename(&temp, dir.join(SETTINGS))
        .with_context(|| format!("failed to write `{}`", dir.join(SETTINGS).display()))
}

impl Environment for FakeRuntime {
    fn configure(&self, instance: &str, changes: &[(String, Option<String>)]) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        check_settings(changes.iter().map(|(k, v)| (k.as_str(), v.as_deref())))?;
        let dir = self.require_instance(instance)?;
        self.mutate("configure", instance, || {
            let mut settings = read_settings(&dir);
            for (key, value) in changes {
                match value {
                    Some(value) => settings.insert(key.clone(), value.clone()),
                    None => settings.remove(key),
                };
            }
            write_settings(&dir, &settings)
        })
    }

    /// Records the hook (see the module comment); says so on `line`.
    fn run_hook(&self, instance: &str, hook: &Hook<'_>, line: &mut dyn FnMut(&str)) -> Result<i32> {
        check_names(&[
            RuntimeName::Instance(instance),
            RuntimeName::User(&hook.user.name),
        ])?;
        let dir = self.require_instance(instance)?;
        let op = format!("hook_{}", hook.stage.as_str());
        match self.step(&op, instance) {
            Some(Failure::Interrupted) => {
                return Err(refused(anyhow!(
                    "fake runtime: {op} of `{instance}` was interrupted before it started"
                )));
            }
            Some(Failure::Before | Failure::After) => {
                line("fake runtime: this hook fails (injected by LXDEV_FAKE_FAIL)");
                return Ok(1);
            }
            None => {}
        }
        let settings = read_settings(&dir);
        let env: BTreeMap<&str, &str> = settings
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix(crate::config::devenv::ENV_PREFIX)?;
                Some((name, v.as_str()))
            })
            .collect();
        let record = serde_json::json!({
            "stage": hook.stage.as_str(),
            "user": hook.user.name,
            "cwd": hook.cwd,
            "command": hook.command,
            "env": env,
        });
        let path = dir.join(HOOKS);
        let mut text = serde_json::to_string(&record)?;
        text.push('\n');
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        line("fake runtime: recorded, not run (the fake runtime has no container to run it in)");
        Ok(0)
    }

    /// Fake instances have no sshd and no keys.
    fn ssh_facts(&self, instance: &str, _user: &str) -> Result<SshFacts> {
        check_names(&[RuntimeName::Instance(instance)])?;
        self.require_instance(instance)?;
        Ok(SshFacts::default())
    }

    fn sshd_session(&self, instance: &str, _env: &[(String, String)]) -> Result<i32> {
        check_names(&[RuntimeName::Instance(instance)])?;
        Err(anyhow!(
            "fake runtime: instance `{instance}` has no sshd to connect to"
        ))
    }

    /// Its hook records, one line each, as a console log.
    fn logs(
        &self,
        instance: &str,
        request: &LogRequest,
        line: &mut dyn FnMut(&str),
    ) -> Result<LogSource> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let dir = self.require_instance(instance)?;
        let mut shown = 0;
        let mut first = true;
        loop {
            let records: Vec<String> = std::fs::read_to_string(dir.join(HOOKS))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            let mut from = shown.min(records.len());
            if first && let Some(n) = request.lines {
                from = records.len().saturating_sub(n as usize);
            }
            for record in &records[from..] {
                line(&describe(record));
            }
            shown = records.len();
            first = false;
            if !request.follow || crate::interrupt::received().is_some() {
                return Ok(LogSource::Console);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A hook record as a log line: `setup (dev in /home/dev): make`.
fn describe(record: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(record) else {
        return record.to_owned();
    };
    let text = |key: &str| value[key].as_str().unwrap_or("").to_owned();
    format!(
        "hook {} ({} in {}): {}",
        text("stage"),
        text("user"),
        text("cwd"),
        text("command")
    )
}
