//! Messages about the live run: the page asks for one more mini-batch and gets back what it
//! draws. The run's shape is fixed, so the page can describe it before it starts.

use serde::{Deserialize, Serialize};

/// Trajectories in the pool of one pass.
pub const POOL_SIZE: usize = 4800;
/// Share of the pool the random baseline labels: about what the rule ends up buying.
pub const RANDOM_FRACTION: f64 = 0.5;
/// Names of the two learners, in the order of [`LiveSnapshot::curves`].
pub const LEARNERS: [&str; 2] = ["actprm", "random"];

/// A request for one more mini-batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    /// Which run: a number the worker has not seen starts a new run from `seed`, dropping the
    /// previous one (the page's reset).
    pub run: u64,
    /// The seed of the pool a new run generates.
    pub seed: u64,
}

/// The answer to an [`Advance`]: the run's state after its mini-batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advanced {
    /// The run advanced.
    pub run: u64,
    /// What the page draws.
    pub snapshot: LiveSnapshot,
    /// Whether the pass is over.
    pub done: bool,
}

/// What the page shows of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSnapshot {
    /// Mini-batches done.
    pub batch: usize,
    /// Mini-batches in the pass.
    pub num_batches: usize,
    /// Pool size.
    pub pool_size: usize,
    /// The curves of ActPRM and of random selection.
    pub curves: [Vec<CurvePoint>; 2],
    /// Labels bought so far by each.
    pub labels: [usize; 2],
}

/// One point of a budget curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Trajectories labelled so far.
    pub labels: usize,
    /// Held-out first-error F1 of the model at that point.
    pub f1: f64,
}
