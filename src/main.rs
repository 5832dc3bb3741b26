use std::process::ExitCode;

use clap::Parser;
use lxdev::{cli::Cli, exit_code};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version land here too, with exit code 0.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::OK
            });
        }
    };
    match lxdev::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            lxdev::output::error(&err);
            ExitCode::from(exit_code::for_error(&err))
        }
    }
}
