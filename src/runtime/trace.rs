//! Who hears about each client call. A runtime never prints, but with
//! `--verbose` a user wants to see every `lxc`/`incus` call and how long it
//! took, as `cargo -v` prints the commands it runs: that is where the time
//! of a command goes. One observer per process, set once by the command
//! layer; with none set (the default, and every test of the backends
//! themselves), nothing is reported.

use std::sync::OnceLock;
use std::time::Duration;

/// One client call, once it ended.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The command line, as a user would type it (scripts shortened to
    /// their purpose).
    pub cmdline: &'a str,
    pub took: Duration,
    /// `None` when it succeeded; else how it ended (`exit 1`, `stopped`).
    pub failed: Option<&'a str>,
}

impl std::fmt::Display for Call<'_> {
    /// `lxc init ... (195 ms)`, or `(195 ms, exit 1)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.took.as_millis();
        match self.failed {
            None => write!(f, "{} ({ms} ms)", self.cmdline),
            Some(how) => write!(f, "{} ({ms} ms, {how})", self.cmdline),
        }
    }
}

type Observer = Box<dyn Fn(&Call<'_>) + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Sends every client call this process makes from now on to `observer`;
/// only the first observer set is kept.
pub fn observe(observer: Observer) {
    let _ = OBSERVER.set(observer);
}

/// Tells the observer, if any, about `call`.
pub(crate) fn report(call: &Call<'_>) {
    if let Some(observer) = OBSERVER.get() {
        observer(call);
    }
}
