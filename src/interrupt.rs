//! SIGINT and SIGTERM during a command: the first asks the command to stop
//! its runtime work where the runtime allows and to settle what it has in
//! flight (recording what exists), then lxdev exits 130 or 143; a second
//! one ends the process at once, as the default action would, leaving the
//! entry for `lxdev doctor`.
//!
//! The handler only stores the signal number (async-signal-safe); commands
//! poll [`received`] between steps, and the fake runtime while it waits.

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Installs the handlers. Commands that hand the terminal to a process in
/// the container (`exec`, `shell`) do not call this: Ctrl-C is that
/// process's to handle.
pub fn install() -> std::io::Result<()> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // SAFETY: the action only touches an atomic, or re-raises through
        // signal-hook's async-signal-safe default emulation.
        unsafe {
            signal_hook::low_level::register(signal, move || {
                if RECEIVED.swap(signal, Ordering::SeqCst) != 0 {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            })?;
        }
    }
    Ok(())
}

/// The signal that asked this process to stop, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Takes the signal received, if any, so the command goes on as if none
/// came: for a command whose normal end is Ctrl-C (`proxy --foreground`).
pub fn take() -> Option<i32> {
    match RECEIVED.swap(0, Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `SIGINT` or `SIGTERM`, for messages.
pub fn name(signal: i32) -> &'static str {
    if signal == signal_hook::consts::SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    }
}
