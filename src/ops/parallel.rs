//! Running work for many things at once, on threads.

use anyhow::Result;

use super::runner::Ticket;

/// The number of jobs to run when `--jobs` is not given: one per CPU.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` for every ticket on its own thread; one result per ticket.
pub fn in_parallel(
    tickets: &[Ticket],
    work: impl Fn(&Ticket) -> Result<()> + Sync,
) -> Vec<Result<()>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = tickets
            .iter()
            .map(|ticket| scope.spawn(|| work(ticket)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("runtime call panicked")))
            })
            .collect()
    })
}
