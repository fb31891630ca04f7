//! The threads the CPU backend computes on.
//!
//! burn-flex and the host kernels split their loops over rayon's threads. A loop started on a
//! thread outside rayon's pool hands its work to the pool and sleeps until it is done: two
//! thread wake-ups for every tensor operation, and a forward pass is hundreds of them, most
//! short on the small backbone. Started on one of the pool's own threads, a loop splits its
//! work in place and the calling thread computes its share. So the commands run on a pool's
//! thread (docs/performance.md measures the difference).

use anyhow::{Context, Result};

/// Runs `work` on one of the threads of a new rayon pool of `threads` threads (by default
/// rayon's: `RAYON_NUM_THREADS`, else one per core), so that the parallel loops inside it
/// run on that pool from where they start.
pub fn run_on_pool<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> Result<R> {
    let mut builder =
        rayon::ThreadPoolBuilder::new().thread_name(|index| format!("compute-{index}"));
    if let Some(threads) = threads {
        builder = builder.num_threads(threads);
    }
    let pool = builder
        .build()
        .context("starting the CPU backend's threads")?;
    Ok(pool.install(work))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    /// The work and the loops inside it run on the pool's threads, as many as asked for.
    #[test]
    fn work_runs_on_the_pools_own_threads() {
        let (caller_index, threads, loop_on_pool) = run_on_pool(Some(3), || {
            let loop_on_pool = (0..64)
                .into_par_iter()
                .all(|_| rayon::current_thread_index().is_some());
            (
                rayon::current_thread_index(),
                rayon::current_num_threads(),
                loop_on_pool,
            )
        })
        .unwrap();
        assert!(caller_index.is_some(), "the work runs on a pool thread");
        assert_eq!(threads, 3);
        assert!(loop_on_pool);
    }

    /// A panic in the work reaches the caller.
    #[test]
    #[should_panic(expected = "in the pool")]
    fn a_panic_reaches_the_caller() {
        run_on_pool(Some(1), || panic!("in the pool")).unwrap();
    }
}
