//! Every exit code lxdev returns, in one place (mirrored in the README).

use crate::error::Error;
use crate::fs::lock::LockTimeout;

pub const OK: u8 = 0;
/// Runtime or any other failure.
pub const FAILURE: u8 = 1;
/// Bad command line.
pub const USAGE: u8 = 2;
/// No project, container or snapshot by that name.
pub const NOT_FOUND: u8 = 3;
/// Already exists, quota reached, or owned by another user.
pub const CONFLICT: u8 = 4;
/// containers.yaml is not a valid project file (sysexits EX_DATAERR).
pub const INVALID_CONFIG: u8 = 65;
/// No container runtime reachable (sysexits EX_UNAVAILABLE).
pub const RUNTIME_UNAVAILABLE: u8 = 69;
/// The invoking user may not write containers.yaml (sysexits EX_NOPERM).
pub const PERMISSION_DENIED: u8 = 77;
/// Interrupted by SIGINT (128 + 2), after settling what was in flight.
pub const INTERRUPTED: u8 = 130;
/// Terminated by SIGTERM (128 + 15), after settling what was in flight.
pub const TERMINATED: u8 = 143;
/// Try again: lock timeout, or the target has an operation in flight
/// (sysexits EX_TEMPFAIL).
pub const TRY_AGAIN: u8 = 75;

/// Picks the exit code for an error by walking its chain, so context added
/// on the way up never hides the kind.
pub fn for_error(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(refused) = cause.downcast_ref::<crate::error::Refused>() {
            return for_error(&refused.0);
        }
        if cause.downcast_ref::<LockTimeout>().is_some() {
            return TRY_AGAIN;
        }
        if let Some(kind) = cause.downcast_ref::<Error>() {
            return match kind {
                Error::Usage(_) => USAGE,
                Error::NotFound(_) => NOT_FOUND,
                Error::Conflict(_) => CONFLICT,
                Error::InvalidConfig(_) => INVALID_CONFIG,
                Error::RuntimeUnavailable(_) => RUNTIME_UNAVAILABLE,
                Error::Busy(_) => TRY_AGAIN,
                Error::PermissionDenied(_) => PERMISSION_DENIED,
                Error::Interrupted { signal, .. } => {
                    if *signal == 15 {
                        TERMINATED
                    } else {
                        INTERRUPTED
                    }
                }
            };
        }
    }
    FAILURE
}
