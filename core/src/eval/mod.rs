//! Scoring a trained PRM against labelled sets: ProcessBench's first-error F1 and the step
//! measures beside it, PRMBench's PRMScore, the trivial baselines that show what chance is on a
//! set, and the choice of the decision threshold τ on validation.

pub mod baselines;
mod evaluation;
pub mod metrics;
pub mod prmbench;
pub mod threshold;

pub use baselines::TrivialBaselines;
pub use evaluation::Evaluation;
pub use threshold::{ChosenThreshold, choose_threshold};
