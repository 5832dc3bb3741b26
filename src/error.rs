//! The failures `main` must tell apart, one variant per exit code.
//!
//! Everything else travels as a plain `anyhow::Error` and exits 1. Each
//! message is a full sentence the user can act on; `main` prints it once.
//! [`Refused`] marks a failure that changed nothing, whatever its kind: the
//! runner puts a record back instead of failing it.

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

/// A runtime call failed before it changed anything (a precondition failed,
/// the runtime could not be reached, or the call was interrupted before it
/// started): the caller puts its record back as it was instead of marking
/// it failed. It reads exactly as the error it wraps; `exit_code` looks
/// through it for the error's kind.
#[derive(Debug)]
pub struct Refused(pub anyhow::Error);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Refused {}

/// Marks `err` as a failure that changed nothing (see [`Refused`]).
pub fn refused(err: anyhow::Error) -> anyhow::Error {
    Refused(err).into()
}

/// Whether the runtime changed nothing in a call that failed with `err`:
/// it refused, or the name was already taken (a conflict makes nothing).
pub fn changed_nothing(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Refused>().is_some()
        || matches!(err.downcast_ref::<Error>(), Some(Error::Conflict(_)))
}
