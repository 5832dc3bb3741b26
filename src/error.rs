//! The failures `main` must tell apart, one variant per exit code.
//!
//! Everything else travels as a plain `anyhow::Error` and exits 1. Each
//! message is a full sentence the user can act on; `main` prints it once.

use thiserror::Error;

/// An error whose kind decides the exit code (see `exit_code.rs`).
#[derive(Debug, Error)]
pub enum Error {
    /// The command line itself is wrong in a way clap cannot see.
    #[error("{0}")]
    Usage(String),
    /// No project, container or snapshot by that name.
    #[error("{0}")]
    NotFound(String),
    /// Already exists, quota reached, or owned by another user.
    #[error("{0}")]
    Conflict(String),
    /// containers.yaml cannot be read as a project file.
    #[error("{0}")]
    InvalidConfig(String),
    /// No container runtime can be reached.
    #[error("{0}")]
    RuntimeUnavailable(String),
    /// Try again later: the target has an operation in flight.
    #[error("{0}")]
    Busy(String),
    /// The invoking user may not change the project file.
    #[error("{0}")]
    PermissionDenied(String),
    /// SIGINT or SIGTERM arrived; the message says what was settled.
    #[error("{message}")]
    Interrupted { message: String, signal: i32 },
}
