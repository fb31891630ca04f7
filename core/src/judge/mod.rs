//! The judge: the only place where labels are paid for. In the pool experiment the pool is
//! already labelled and judging reveals the stored label; a language-model judge reads the
//! [`prompt`] and its answer is turned into a label by [`verdict`].

pub mod prompt;
pub mod verdict;

use crate::trajectory::{ProcessLabel, Trajectory};

pub use prompt::{PROMPT_VERSION, critique_prompt};
pub use verdict::{Unusable, parse_verdict};

/// Something that labels trajectories on request.
pub trait Judge {
    /// The process label of `trajectory`, or `None` when no usable label could be obtained
    /// (such trajectories are discarded, never guessed).
    fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel>;

    /// The labels of a mini-batch's selected trajectories, in order. A judge that can answer
    /// several requests at once (a served language model) overrides this to send them
    /// together; the default asks one after the other.
    fn judge_all(&mut self, trajectories: &[&Trajectory]) -> Vec<Option<ProcessLabel>> {
        trajectories
            .iter()
            .map(|trajectory| self.judge(trajectory))
            .collect()
    }

    /// True once the judge can label nothing more (its budget is spent, or it stopped): the
    /// pass over the pool then ends after the current mini-batch.
    fn exhausted(&self) -> bool {
        false
    }
}

impl<J: Judge + ?Sized> Judge for &mut J {
    fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel> {
        (**self).judge(trajectory)
    }

    fn judge_all(&mut self, trajectories: &[&Trajectory]) -> Vec<Option<ProcessLabel>> {
        (**self).judge_all(trajectories)
    }

    fn exhausted(&self) -> bool {
        (**self).exhausted()
    }
}

/// Reveals the label stored with each trajectory.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoredLabelJudge;

impl Judge for StoredLabelJudge {
    fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel> {
        trajectory.label
    }
}

/// What judging costs, for the budget ledger (docs/method.md §4, the paper's cost model).
#[derive(burn::config::Config, Debug, PartialEq)]
pub struct JudgeCost {
    /// Tokens the judge generates per judged trajectory (the paper's reasoning judge averages
    /// about 1,920).
    #[config(default = 1920)]
    pub tokens_per_trajectory: u64,
}
