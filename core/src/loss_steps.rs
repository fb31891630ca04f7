//! Which labelled steps of a trajectory the loss trains on: every one (the paper's loss), or the
//! last alone.

use crate::named_choice::{NamedChoice, serde_by_name};
use crate::trajectory::{ProcessLabel, StepLabel};

/// The labelled steps the loss counts. Written by name (`"all"`, `"last"`); a configuration
/// saved before the choice existed has none and reads [`LossSteps::All`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LossSteps {
    /// Every labelled step: the correct ones before the first error, and the error itself.
    #[default]
    All,
    /// The last labelled step alone: the first error, or a correct trajectory's final step. A
    /// PRM800K row is one rated step after a prefix of steps rated in other rows; trained this
    /// way, the loss sees each row's rated step and no prefix step again. A departure from the
    /// paper (docs/method.md §2).
    Last,
}

serde_by_name!(LossSteps, "loss steps");

impl NamedChoice for LossSteps {
    const ALL: &'static [Self] = &[LossSteps::All, LossSteps::Last];

    /// The name used on the command line and in files.
    fn name(self) -> &'static str {
        match self {
            LossSteps::All => "all",
            LossSteps::Last => "last",
        }
    }
}

impl LossSteps {
    /// The steps of a trajectory of `num_steps` steps labelled `label` that the loss counts,
    /// each with its index, in order.
    pub fn counted(self, label: ProcessLabel, num_steps: usize) -> Vec<(usize, StepLabel)> {
        let labelled = (0..num_steps).map_while(|step| label.step(step).map(|l| (step, l)));
        match self {
            LossSteps::All => labelled.collect(),
            LossSteps::Last => labelled.last().into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_labelled_step_is_the_first_error_or_the_final_step() {
        let error = ProcessLabel::FirstErrorAt(1);
        assert_eq!(
            LossSteps::All.counted(error, 4),
            [(0, StepLabel::Correct), (1, StepLabel::Erroneous)]
        );
        assert_eq!(
            LossSteps::Last.counted(error, 4),
            [(1, StepLabel::Erroneous)]
        );
        assert_eq!(
            LossSteps::Last.counted(ProcessLabel::AllCorrect, 3),
            [(2, StepLabel::Correct)]
        );
        assert_eq!(LossSteps::Last.counted(ProcessLabel::AllCorrect, 0), []);
    }
}
