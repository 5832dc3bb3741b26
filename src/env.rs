//! Every environment variable lxdev reads, named once and read once per
//! process (the first time anything asks).
//!
//! `LXDEV_LOCK_TIMEOUT` is read by clap, beside its flag (`cli/mod.rs`).
//! Variables whose name starts `LXDEV_TEST_` exist for tests and benchmarks
//! only; README's "Knobs for tests" section lists them.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The names, for messages and for the one place that reads them.
pub struct EnvVars;

impl EnvVars {
    /// The runtime to use when `--runtime` is not given.
    pub const RUNTIME: &'static str = "LXDEV_RUNTIME";
    /// Fake runtime: every change waits this many ms first.
    pub const FAKE_DELAY_MS: &'static str = "LXDEV_FAKE_DELAY_MS";
    /// Fake runtime: `op:name[:after],...` operations that fail.
    pub const FAKE_FAIL: &'static str = "LXDEV_FAKE_FAIL";
    /// Test only: every transaction holds the lock this many ms, so a test
    /// can kill a process that surely holds it.
    pub const TEST_HOLD_LOCK_MS: &'static str = "LXDEV_TEST_HOLD_LOCK_MS";
    /// Set by sudo: the user who ran it, whose SSH keys provisioning uses.
    pub const SUDO_USER: &'static str = "SUDO_USER";
    pub const HOME: &'static str = "HOME";
    /// Where per-user state lives (default ~/.local/state): the mounts a
    /// person allowed with --allow-outside or --allow-risky.
    pub const XDG_STATE_HOME: &'static str = "XDG_STATE_HOME";
}

/// The values, as this process found them.
#[derive(Debug, Default)]
pub struct Env {
    pub runtime: Option<String>,
    pub fake_delay_ms: Option<u64>,
    pub fake_fail: Option<String>,
    pub test_hold_lock_ms: Option<u64>,
    pub sudo_user: Option<String>,
    pub home: Option<PathBuf>,
    pub state_home: Option<PathBuf>,
}

/// This process's environment, read on first use.
pub fn get() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let text = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str| text(name).and_then(|v| v.trim().parse().ok());
        Env {
            runtime: text(EnvVars::RUNTIME),
            fake_delay_ms: number(EnvVars::FAKE_DELAY_MS),
            fake_fail: text(EnvVars::FAKE_FAIL),
            test_hold_lock_ms: number(EnvVars::TEST_HOLD_LOCK_MS),
            sudo_user: text(EnvVars::SUDO_USER),
            home: std::env::var_os(EnvVars::HOME).map(PathBuf::from),
            state_home: text(EnvVars::XDG_STATE_HOME).map(PathBuf::from),
        }
    })
}
