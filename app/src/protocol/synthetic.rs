//! Messages about the synthetic model: loading it, scoring the pool of a seed, and scoring the
//! visitor's own trajectory.

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;
use actprm_core::selection::SelectionConfig;
use serde::{Deserialize, Serialize};

use crate::assets::Download;
use crate::compute::Compute;
use crate::pool::ScoredPool;

/// What the page asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SyntheticRequest {
    /// Fetch and load the model from under `base`, the page's directory URL (ending in `/`).
    Load {
        /// The page's directory URL.
        base: String,
    },
    /// Generate and score the pool of a seed, or the visitor's own trajectory.
    Score(ScoreTask),
}

/// Scoring that waits its turn; a newer task of the same kind replaces a waiting one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScoreTask {
    /// The pool of `seed`.
    Pool {
        /// The pool's seed.
        seed: u64,
    },
    /// The visitor's own trajectory.
    Own {
        /// The request's number, given back with the answer.
        request: u64,
        /// The trajectory.
        trajectory: Trajectory,
    },
}

/// What the worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SyntheticAnswer {
    /// How much of the model has arrived.
    Progress(Download),
    /// The model is loaded.
    Loaded {
        /// Where it runs.
        compute: Compute,
        /// The selection rule's thresholds it was trained under.
        trained_with: SelectionConfig,
    },
    /// Loading failed, and why.
    Failed(String),
    /// How many of the pool of `seed` are scored.
    Scoring {
        /// The pool's seed.
        seed: u64,
        /// Trajectories scored.
        done: usize,
    },
    /// A scored pool, or why it could not be scored.
    Pool(Result<ScoredPool, String>),
    /// The visitor's trajectory's scores.
    Own {
        /// The request's number.
        request: u64,
        /// The scores, or why it could not be scored.
        scores: Result<StepScores, String>,
    },
}
