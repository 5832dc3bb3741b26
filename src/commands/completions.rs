//! `lxdev completions SHELL`: print the script that registers lxdev's
//! completion with the shell. It needs no project file, and prints only
//! the script, even with `--json` (it is meant for `source <(...)`).

use std::io::Write;

use anyhow::Result;

use crate::cli::completion::{self, Shell};

pub fn completions(shell: Shell) -> Result<u8> {
    let mut script = Vec::new();
    completion::write_registration(shell, &mut script)?;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        // `lxdev completions bash | head` is not an error.
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write the completion script: {err}"))
        }
        _ => Ok(0),
    }
}
