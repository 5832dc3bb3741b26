//! lxdev: dev containers on LXD/Incus for a project, recorded in the
//! project's containers.yaml, safe under any number of concurrent processes.
//!
//! Layers, each importing only those below it: `commands` (one thin
//! handler per subcommand, over `cli`, what users type), `ops` (the
//! operations and their machinery), `runtime` (the only code that talks to
//! LXD/Incus), `config` (the only owner of containers.yaml), `fs` (lock and
//! atomic save), and at the bottom `output`, `error`, `env`. See
//! ARCHITECTURE.md.

pub mod cli;
mod commands;
pub mod config;
pub mod env;
pub mod error;
pub mod exit_code;
pub mod fs;
pub mod interrupt;
pub mod operation;
mod ops;
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

/// Prints why the command line could not be parsed (clap's message, and
/// with `--json` on the line, the outcome object) and returns the exit
/// code: 2, or 0 for `--help` and `--version`, which clap reports the same
/// way.
pub fn parse_failed(err: &clap::Error) -> u8 {
    let _ = err.print();
    if !err.use_stderr() {
        return exit_code::OK;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&String> = args.iter().take_while(|a| *a != "--").collect();
    if words.iter().any(|a| *a == "--json") {
        // What is wrong comes first; usage help follows a blank line.
        let rendered = err.to_string();
        let message = rendered
            .lines()
            .take_while(|line| !line.trim().is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        let mut outcome = ops::report::Outcome::new(cli::typed_command(&args), None);
        outcome.fail(&error::Error::Usage(message.trim_start_matches("error: ").into()).into());
        outcome.print();
    }
    exit_code::USAGE
}
