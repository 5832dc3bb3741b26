//! Work on many things at once: the one way lxdev runs runtime calls side
//! by side (`up`, `down`, `cp`, `remove`, `project delete`). At most `jobs`
//! threads run, each taking the next item when it is done, so a command on
//! a thousand containers never starts a thousand clients at once.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of jobs to run when `--jobs` is not given: one per CPU.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on every item, at most `jobs` at a time, and returns what
/// each gave, in the order of `items`; an `Err` holds what a `work` that
/// panicked panicked with (the others still run).
pub fn bounded<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<std::thread::Result<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<std::thread::Result<R>>>> =
        Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let result = panic::catch_unwind(AssertUnwindSafe(|| work(item)));
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_jobs_run_at_once_and_results_keep_their_order() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<usize> = (0..20).collect();
        let results = bounded(&items, 3, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
            if i == 7 {
                panic!("item 7");
            }
            i * 2
        });
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(results.len(), 20);
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(doubled) => assert_eq!(doubled, i * 2),
                Err(_) => assert_eq!(i, 7),
            }
        }
    }
}
