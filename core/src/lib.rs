//! ActPRM: an ensemble process reward model (PRM) and the uncertainty-driven active learning
//! that trains it with a fraction of the labels (Duan et al., arXiv 2504.10559).
//!
//! The crate is backend-agnostic: every function takes a [`burn::tensor::Device`], and the
//! leaf crates (the `actprm` CLI, the web app) decide which backend that is.

pub mod active;
pub mod batch;
pub mod budget;
pub mod checkpoint;
pub mod clipping;
pub mod data;
pub mod encoding;
pub mod eval;
pub mod features;
pub mod filter;
pub mod finite;
pub mod gguf;
pub mod judge;
pub mod loss;
pub mod loss_steps;
pub mod model;
pub mod named_choice;
pub mod ordered_sum;
pub mod pool_indices;
pub mod pretrained;
pub mod rng;
pub mod schedule;
pub mod scores;
pub mod scoring;
pub mod selection;
pub mod storage;
pub mod strategy;
pub mod tasks;
pub mod tokenizer;
pub mod trainer;
pub mod trajectory;
pub mod whole_dir;

pub use named_choice::NamedChoice;
pub use trajectory::{ProcessLabel, StepLabel, Trajectory};

/// What scoring trajectories with a checkpoint takes, in one import:
/// `use actprm_core::prelude::*;` (see [`scoring`] for an example).
pub mod prelude {
    pub use burn::tensor::Device;

    pub use crate::checkpoint::{Checkpoint, CheckpointConfig, CheckpointFiles};
    pub use crate::eval::Evaluation;
    pub use crate::model::PrmConfig;
    pub use crate::scores::StepScores;
    pub use crate::scoring::{ScoreError, TrajectoryEncodingError};
    pub use crate::selection::{SelectionConfig, Verdict};
    pub use crate::tasks::synthetic::SyntheticConfig;
    pub use crate::tokenizer::StepTokenizer;
    pub use crate::trajectory::{ProcessLabel, StepLabel, Trajectory};
}
