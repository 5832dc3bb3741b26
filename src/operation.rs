//! In-flight operations: how one is started, described, and judged stale.
//!
//! An operation is recorded in containers.yaml beside a `state` while its
//! runtime work runs outside the lock. Its process may be killed at any
//! instant; the record is how others (and `doctor`) find out.

use std::time::Duration;

use crate::config::model::{Operation, OperationKind};
use crate::{process, time};

/// Operations from another host are only presumed dead after this long: we
/// cannot look at that host's processes.
pub const FOREIGN_STALE_AFTER: Duration = Duration::from_secs(3600);

/// The record for an operation this process is about to start.
pub fn begin(kind: OperationKind) -> Operation {
    Operation {
        kind,
        pid: std::process::id(),
        host: process::hostname(),
        started_at: time::now_rfc3339(),
        step: None,
    }
}

/// Why an operation's process is presumed gone, or `None` if it may still run.
pub fn stale_reason(op: &Operation) -> Option<String> {
    if op.host == process::hostname() {
        // An unreadable start time only loses the pid-reuse check.
        let since =
            time::parse_rfc3339(&op.started_at).unwrap_or_else(|_| std::time::SystemTime::now());
        (!process::runs_since(op.pid, since)).then(|| format!("pid {} no longer runs", op.pid))
    } else {
        let age = time::age(&op.started_at)?;
        (age > FOREIGN_STALE_AFTER).then(|| {
            format!(
                "it started on host {} {} ago",
                op.host,
                time::human_duration(age)
            )
        })
    }
}

/// `pid 42 on host h, started 3s ago`: who is doing it, for messages.
pub fn describe(op: &Operation) -> String {
    let age = time::age(&op.started_at)
        .map(|a| format!(", started {} ago", time::human_duration(a)))
        .unwrap_or_default();
    format!("pid {} on host {}{age}", op.pid, op.host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_operation_is_live() {
        assert_eq!(stale_reason(&begin(OperationKind::Create)), None);
    }

    #[test]
    fn an_operation_of_an_exited_process_is_stale() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let mut op = begin(OperationKind::Create);
        op.pid = child.id();
        child.wait().unwrap();
        assert!(stale_reason(&op).unwrap().contains("no longer runs"));
    }

    #[test]
    fn a_reused_pid_does_not_keep_an_old_operation_alive() {
        let mut op = begin(OperationKind::Create);
        op.started_at = "2001-01-01T00:00:00.000Z".into();
        assert!(stale_reason(&op).is_some(), "our pid started after 2001");
    }

    #[test]
    fn foreign_operations_go_stale_after_an_hour() {
        let mut op = begin(OperationKind::Create);
        op.host = "elsewhere.invalid".into();
        assert_eq!(stale_reason(&op), None);
        op.started_at = "2001-01-01T00:00:00.000Z".into();
        assert!(stale_reason(&op).unwrap().contains("elsewhere.invalid"));
    }
}
