//! Asking the person at the terminal, for the commands that destroy: never
//! where no one can answer.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

/// Asks `question` on the terminal and fails unless the answer is yes.
/// Never asks when `yes` is set or stdin is not a terminal (scripts, CI):
/// there the command line is the decision.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        return Ok(());
    }
    anyhow::bail!("not confirmed; nothing was changed (pass --yes to skip the question)")
}
