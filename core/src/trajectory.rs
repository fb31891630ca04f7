//! A reasoning trajectory (a question and its solution steps) and its process label.
//!
//! Labels follow the PRM convention: every step up to and including the first erroneous one is
//! labelled, later steps are not. [`ProcessLabel`] stores exactly that, so no sentinel integer
//! ever stands in for "unlabelled".

use serde::{Deserialize, Serialize};

/// The verdict on one labelled step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepLabel {
    /// The step is correct given the steps before it.
    Correct,
    /// The step is the first erroneous one.
    Erroneous,
}

impl StepLabel {
    /// The binary-cross-entropy target of this label: 1 for a correct step, 0 for an error.
    pub fn target(self) -> f32 {
        match self {
            StepLabel::Correct => 1.0,
            StepLabel::Erroneous => 0.0,
        }
    }
}

/// The process label of a whole trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessLabel {
    /// Every step is correct (all steps are labelled).
    AllCorrect,
    /// Steps before `index` are correct, step `index` (0-based) is the first error, and later
    /// steps are unlabelled.
    FirstErrorAt(usize),
}

impl ProcessLabel {
    /// The 0-based index of the first erroneous step, if any.
    pub fn first_error(self) -> Option<usize> {
        match self {
            ProcessLabel::AllCorrect => None,
            ProcessLabel::FirstErrorAt(index) => Some(index),
        }
    }

    /// Builds a label from a first-error index (`None` when every step is correct).
    pub fn from_first_error(first_error: Option<usize>) -> Self {
        first_error.map_or(ProcessLabel::AllCorrect, ProcessLabel::FirstErrorAt)
    }

    /// The label of step `step`, or `None` when that step lies after the first error.
    pub fn step(self, step: usize) -> Option<StepLabel> {
        match self {
            ProcessLabel::AllCorrect => Some(StepLabel::Correct),
            ProcessLabel::FirstErrorAt(index) if step < index => Some(StepLabel::Correct),
            ProcessLabel::FirstErrorAt(index) if step == index => Some(StepLabel::Erroneous),
            ProcessLabel::FirstErrorAt(_) => None,
        }
    }

    /// Per-step labels for a trajectory of `num_steps` steps (`None` = unlabelled).
    pub fn step_labels(self, num_steps: usize) -> Vec<Option<StepLabel>> {
        (0..num_steps).map(|step| self.step(step)).collect()
    }

    /// The `hard_labels` of a training row (docs/method.md §6) for a trajectory of `num_steps`
    /// steps: 1 per correct step and 0 for the first error, nothing after it.
    pub fn hard_labels(self, num_steps: usize) -> Vec<u8> {
        (0..num_steps)
            .map_while(|step| self.step(step))
            .map(|label| u8::from(label == StepLabel::Correct))
            .collect()
    }
}

/// A question with its solution steps and, when known, the process label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// The problem statement.
    pub question: String,
    /// The solution, one entry per reasoning step.
    pub steps: Vec<String>,
    /// The process label; `None` for an unlabelled trajectory (a pool item before judging).
    pub label: Option<ProcessLabel>,
}

impl Trajectory {
    /// An unlabelled trajectory: `question` and its solution `steps`.
    pub fn new(
        question: impl Into<String>,
        steps: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            question: question.into(),
            steps: steps.into_iter().map(Into::into).collect(),
            label: None,
        }
    }

    /// Number of solution steps.
    pub fn num_steps(&self) -> usize {
        self.steps.len()
    }

    /// The steps its label covers: those up to and including the first error, every step when
    /// all are correct.
    ///
    /// `None` when the trajectory is unlabelled, has no steps, or its first error lies past its
    /// last step: nothing a labelled row could hold.
    pub fn labelled_steps(&self) -> Option<&[String]> {
        let num_labelled = self
            .label?
            .first_error()
            .map_or(self.num_steps(), |index| index + 1);
        self.steps
            .get(..num_labelled)
            .filter(|steps| !steps.is_empty())
    }

    /// The same trajectory with its label removed, as the judge first sees it.
    pub fn unlabelled(&self) -> Self {
        Self {
            label: None,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stop_after_the_first_error() {
        let labels = ProcessLabel::FirstErrorAt(1).step_labels(4);
        assert_eq!(
            labels,
            vec![
                Some(StepLabel::Correct),
                Some(StepLabel::Erroneous),
                None,
                None
            ]
        );
    }

    #[test]
    fn hard_labels_end_at_the_first_error() {
        assert_eq!(ProcessLabel::FirstErrorAt(2).hard_labels(5), [1, 1, 0]);
        assert_eq!(ProcessLabel::FirstErrorAt(7).hard_labels(3), [1, 1, 1]);
        assert_eq!(ProcessLabel::AllCorrect.hard_labels(2), [1, 1]);
    }

    #[test]
    fn labelled_steps_end_at_the_first_error() {
        let labelled = |label| Trajectory {
            label,
            ..Trajectory::new("Q", ["a", "b", "c"])
        };
        let steps = |label| labelled(label).labelled_steps().map(<[String]>::to_vec);
        assert_eq!(
            steps(Some(ProcessLabel::FirstErrorAt(1))).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            steps(Some(ProcessLabel::FirstErrorAt(2))).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(
            steps(Some(ProcessLabel::AllCorrect)).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(steps(Some(ProcessLabel::FirstErrorAt(3))), None);
        assert_eq!(steps(None), None);
        let stepless = Trajectory {
            label: Some(ProcessLabel::AllCorrect),
            ..Trajectory::new("Q", Vec::<String>::new())
        };
        assert_eq!(stepless.labelled_steps(), None);
    }

    #[test]
    fn all_correct_labels_every_step() {
        let labels = ProcessLabel::AllCorrect.step_labels(3);
        assert!(labels.iter().all(|l| *l == Some(StepLabel::Correct)));
        assert_eq!(ProcessLabel::AllCorrect.first_error(), None);
    }

    #[test]
    fn first_error_round_trips() {
        assert_eq!(
            ProcessLabel::from_first_error(Some(2)),
            ProcessLabel::FirstErrorAt(2)
        );
        assert_eq!(
            ProcessLabel::from_first_error(None),
            ProcessLabel::AllCorrect
        );
        assert_eq!(StepLabel::Erroneous.target(), 0.0);
    }
}
