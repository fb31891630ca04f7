//! A pool of generated synthetic problems with the model's scores (the worker scores it:
//! `worker::synthetic`), and how well the model finds their errors.

use std::sync::Arc;

use actprm_core::Trajectory;
use actprm_core::eval::metrics::FirstErrorF1;
use actprm_core::scores::StepScores;
use serde::{Deserialize, Serialize};

use crate::decision_plot::Plotted;

/// Trajectories in a pool.
pub const POOL_SIZE: usize = 48;

/// Scored trajectories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredPool {
    /// The seed the pool was generated from.
    pub seed: u64,
    /// The problems, with their true labels.
    pub trajectories: Vec<Trajectory>,
    /// The ensemble's scores of each.
    pub scores: Vec<StepScores>,
}

impl ScoredPool {
    /// How well the predicted first errors at `tau` match the labelled ones, over the pool's
    /// labelled trajectories (the ProcessBench metric); `None` when none is labelled.
    pub fn first_error_f1(&self, tau: f32) -> Option<FirstErrorF1> {
        let pairs: Vec<_> = self
            .trajectories
            .iter()
            .zip(&self.scores)
            .filter_map(|(trajectory, scores)| {
                let label = trajectory.label?;
                Some((scores.predicted_first_error(tau), label.first_error()))
            })
            .collect();
        (!pairs.is_empty()).then(|| FirstErrorF1::from_pairs(pairs))
    }

    /// Every problem as the decision plot draws it, keyed and named by its place in the pool.
    pub fn plotted(&self) -> Arc<[Plotted]> {
        self.trajectories
            .iter()
            .zip(&self.scores)
            .enumerate()
            .map(|(index, (trajectory, scores))| Plotted {
                key: index,
                name: format!("Problem {}", index + 1),
                trajectory: trajectory.clone(),
                scores: scores.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use actprm_core::ProcessLabel;

    use super::*;

    #[test]
    fn the_pool_is_scored_against_its_labelled_trajectories_only() {
        let trajectory = |label| Trajectory {
            question: "Q ?".to_string(),
            steps: vec!["a".to_string(), "b".to_string()],
            label,
        };
        let pool = ScoredPool {
            seed: 0,
            trajectories: vec![
                trajectory(Some(ProcessLabel::FirstErrorAt(1))),
                trajectory(Some(ProcessLabel::FirstErrorAt(0))),
                trajectory(Some(ProcessLabel::AllCorrect)),
                trajectory(None),
            ],
            scores: vec![
                // Found at step 2; missed (predicted at step 2, labelled at step 1); correct
                // and trusted; unlabelled, whatever it predicts.
                StepScores::from_heads(vec![vec![0.9, 0.1]]),
                StepScores::from_heads(vec![vec![0.9, 0.1]]),
                StepScores::from_heads(vec![vec![0.9, 0.9]]),
                StepScores::from_heads(vec![vec![0.1, 0.1]]),
            ],
        };
        let f1 = pool.first_error_f1(0.5).expect("labelled trajectories");
        assert_eq!((f1.num_erroneous, f1.num_correct), (2, 1));
        assert_eq!((f1.erroneous_accuracy, f1.correct_accuracy), (0.5, 1.0));
        // At τ 0.95 every first step is an error: only problem 2 is right.
        let f1 = pool.first_error_f1(0.95).expect("labelled trajectories");
        assert_eq!((f1.erroneous_accuracy, f1.correct_accuracy), (0.5, 0.0));

        let unlabelled = ScoredPool {
            trajectories: pool.trajectories[3..].to_vec(),
            scores: pool.scores[3..].to_vec(),
            ..pool
        };
        assert_eq!(unlabelled.first_error_f1(0.5), None);
    }
}
