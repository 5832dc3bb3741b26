use std::process::ExitCode;

use clap::Parser;
use lxdev::{cli::Cli, exit_code};

fn main() -> ExitCode {
    // A Tab press in a shell that sourced `lxdev completions SHELL`.
    lxdev::cli::complete_if_asked();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version land here too, with exit code 0.
        Err(err) => return ExitCode::from(lxdev::parse_failed(&err)),
    };
    match lxdev::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            lxdev::output::error(&err);
            ExitCode::from(exit_code::for_error(&err))
        }
    }
}
