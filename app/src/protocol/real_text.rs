//! Messages about the real-text model: loading it, and reading a solution with it.

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;
use serde::{Deserialize, Serialize};

use crate::assets::Download;
use crate::compute::Compute;

/// What the page asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RealTextRequest {
    /// Fetch and load the model. `base` is the page's directory URL, which the files' paths are
    /// relative to: a worker started from a blob has no URL of its own to resolve them against.
    Load {
        /// The page's directory URL, ending in `/`.
        base: String,
    },
    /// Read a solution with the loaded model.
    Read {
        /// The request's number, given back with the answer.
        request: u64,
        /// The solution.
        trajectory: Trajectory,
    },
}

/// What the worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RealTextAnswer {
    /// How much of the model has arrived.
    Progress(Download),
    /// The model is loaded.
    Loaded {
        /// The decision threshold the model chose on validation.
        tau: f32,
        /// Where it runs.
        compute: Compute,
    },
    /// Loading failed, and why.
    Failed(String),
    /// A solution's reading.
    Read {
        /// The request's number.
        request: u64,
        /// The solution's scores and where the time went, or why it could not be read.
        scores: Result<(StepScores, ReadTiming), String>,
    },
}

/// Where the time of one reading went, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReadTiming {
    /// Turning the text into token windows.
    pub tokenise_ms: f64,
    /// The encoder over every step's window.
    pub encoder_ms: f64,
    /// The heads over every step's features.
    pub heads_ms: f64,
}
