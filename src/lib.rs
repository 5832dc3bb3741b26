//! lxdev: dev containers on LXD/Incus for a project, recorded in the
//! project's containers.yaml, safe under any number of concurrent processes.
//!
//! Layers: `cli` (what users type), `commands` (one function per
//! subcommand), `config` (the only owner of containers.yaml), `fs` (lock and
//! atomic save), `runtime` (the only code that talks to LXD/Incus).

pub mod cli;
mod commands;
pub mod config;
pub mod env;
pub mod error;
pub mod exit_code;
pub mod fs;
pub mod interrupt;
pub mod operation;
pub mod output;
pub mod process;
pub mod runtime;
pub mod time;

/// Runs a parsed command line. `Ok` carries the exit status to use (0, or
/// the status of the command `lxdev exec` ran).
pub fn run(cli: cli::Cli) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()
        .map_err(|err| anyhow::anyhow!("cannot read the current directory: {err}"))?;
    commands::run(cli, &cwd)
}
