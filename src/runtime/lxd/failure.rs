//! What a failed client command says happened, judged from its stderr in
//! one place (the client has no machine-readable status), and carried in
//! the error as a typed [`Failure`]: callers match on its kind, never on
//! its message.

use std::fmt;

use crate::error::Error;

/// A client command that ran and exited non-zero. As an error it reads as
/// its message; [`Failure::kind`] says what happened.
#[derive(Debug, Clone)]
pub struct Failure {
    /// "`lxc ...` failed: Error: ...", ready for the user.
    pub(super) message: String,
    /// The client's stderr on one line.
    pub(super) stderr: String,
}

/// What a failed client command says happened, judged from its stderr in
/// this one place (the client has no machine-readable status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The name asked for is taken: the command made nothing. LXD says
    /// "already exists"; Incus 6.0.4 says so for instances but reports a
    /// duplicate snapshot as its database's "UNIQUE constraint failed".
    Taken,
    /// What it names does not exist ("Instance not found",
    /// "InstanceSnapshot not found", "Snapshot x/y does not exist"): a
    /// 404 for `query`, a refusal for anything else.
    Missing,
    /// The daemon could not be reached: its unix socket, or a remote's
    /// HTTPS address ("Unable to connect to: HOST:PORT").
    Unreachable,
    /// The client has no remote by the name a call used ("The remote "x"
    /// doesn't exist").
    NoSuchRemote,
    /// `--target` was given to a server that is not a cluster ("Target
    /// only allowed when clustered" from `init`/`create`, "To use --target,
    /// the destination remote must be a cluster" from `copy`; LXD 5.0 and
    /// Incus 6.0).
    NotClustered,
    /// The instance is busy with another operation ("Instance is busy
    /// running a "stop" operation").
    Busy,
    /// Another change to the instance's config won the race ("ETag
    /// doesn't match", "A matching non-reusable operation has now
    /// succeeded"): the daemon applied nothing of this one.
    Raced,
    /// The daemon could not open its database transaction: it did
    /// nothing ("Failed to begin transaction").
    Overloaded,
    /// The daemon could not read a running instance's live state at that
    /// moment: Incus 6.0 answers a `GET` of an instance that is starting
    /// or stopping under load with "Invalid PID" and garbage after it
    /// (seen in `scripts/race-mixed.sh`). Only reads are retried on it.
    StateUnreadable,
    /// Anything else: the command may have changed something.
    Other,
}

impl Failure {
    /// What happened, by the client's stderr.
    pub fn kind(&self) -> FailureKind {
        let stderr = self.stderr.to_lowercase();
        let says = |shapes: &[&str]| shapes.iter().any(|shape| stderr.contains(shape));
        if says(&["already exists", "unique constraint failed"]) {
            FailureKind::Taken
        } else if says(&["the remote \""]) && says(&["doesn't exist"]) {
            FailureKind::NoSuchRemote
        } else if says(&[
            "target only allowed when clustered",
            "to use --target, the destination remote must be a cluster",
        ]) {
            FailureKind::NotClustered
        } else if says(&["not found", "does not exist"]) {
            FailureKind::Missing
        } else if says(&[
            "connect: connection refused",
            "connect: no such file or directory",
            "connect: permission denied",
            "unable to connect to",
        ]) {
            FailureKind::Unreachable
        } else if says(&["is busy"]) {
            FailureKind::Busy
        } else if says(&["etag doesn't match", "matching non-reusable operation"]) {
            FailureKind::Raced
        } else if says(&["failed to begin transaction"]) {
            FailureKind::Overloaded
        } else if says(&["invalid pid"]) {
            FailureKind::StateUnreadable
        } else {
            FailureKind::Other
        }
    }

    /// The error for a failed client command: one the daemon refused
    /// before doing anything (what it names does not exist, or it could not
    /// be reached) is marked [`crate::error::Refused`], so callers put their record
    /// back as it was; anything else may have changed something.
    pub fn into_error(self) -> anyhow::Error {
        if self.kind() == FailureKind::NotClustered {
            return crate::error::refused(
                Error::Usage(format!(
                    "{}; --target names a member of a cluster, and this server is not one: \
                     drop --target",
                    self.message
                ))
                .into(),
            );
        }
        let refused = matches!(
            self.kind(),
            FailureKind::Missing
                | FailureKind::Unreachable
                | FailureKind::NoSuchRemote
                | FailureKind::Raced
                | FailureKind::Overloaded
        );
        let err = anyhow::Error::new(self);
        if refused {
            crate::error::refused(err)
        } else {
            err
        }
    }
}

impl fmt::Display for Failure {
    /// The message, ready for the user.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The kind of the client failure `err` carries, if it carries one
/// (marked refused or not).
pub fn kind_of(err: &anyhow::Error) -> Option<FailureKind> {
    let inner = match err.downcast_ref::<crate::error::Refused>() {
        Some(refused) => &refused.0,
        None => err,
    };
    inner.downcast_ref::<Failure>().map(Failure::kind)
}
