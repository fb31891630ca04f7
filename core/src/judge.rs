//! The judge: the only place where labels are paid for. In the pool experiment the pool is
//! already labelled and judging reveals the stored label.

use crate::trajectory::{ProcessLabel, Trajectory};

/// Something that labels a trajectory on request.
pub trait Judge {
    /// The process label of `trajectory`, or `None` when no usable label could be obtained
    /// (such trajectories are discarded, never guessed).
    fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel>;
}

/// Reveals the label stored with each trajectory.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoredLabelJudge;

impl Judge for StoredLabelJudge {
    fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel> {
        trajectory.label
    }
}
