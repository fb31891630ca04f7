//! The points of the decision plane: every step the selection rule counts, with its heads'
//! mean and spread, its label and how the rule sees it.

use actprm_core::scores::StepScores;
use actprm_core::selection::StepCheck;
use actprm_core::{ProcessLabel, Trajectory};

use super::axes::{mean_x, spread_y};
use crate::explain::{Rule, StepState};

/// What a step's label says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTruth {
    /// Before the labelled first error, or in a trajectory labelled correct.
    Correct,
    /// The labelled first error.
    FirstError,
    /// After the labelled first error, which labels leave unjudged.
    AfterFirstError,
    /// The trajectory has no label.
    Unlabelled,
}

impl StepTruth {
    /// What `label` says of step `step`.
    pub fn of(label: Option<ProcessLabel>, step: usize) -> Self {
        match label {
            None => StepTruth::Unlabelled,
            Some(label) => match label.first_error() {
                Some(first) if step == first => StepTruth::FirstError,
                Some(first) if step > first => StepTruth::AfterFirstError,
                _ => StepTruth::Correct,
            },
        }
    }

    /// The CSS class the point is drawn with.
    pub fn class(self) -> &'static str {
        match self {
            StepTruth::Correct => "truth-correct",
            StepTruth::FirstError => "truth-first-error",
            StepTruth::AfterFirstError => "truth-after-error",
            StepTruth::Unlabelled => "truth-unlabelled",
        }
    }

    /// The label in words.
    pub fn label(self) -> &'static str {
        match self {
            StepTruth::Correct => "correct",
            StepTruth::FirstError => "the labelled first error",
            StepTruth::AfterFirstError => "after the labelled first error",
            StepTruth::Unlabelled => "unlabelled",
        }
    }
}

/// A scored trajectory the plot draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Plotted {
    /// What clicking one of its points hands to the plot's `on_pick`: its place in the pool or
    /// the slice.
    pub key: usize,
    /// How its points name it: "Problem 3", "gsm8k-12".
    pub name: String,
    pub trajectory: Trajectory,
    pub scores: StepScores,
}

/// One counted step of a plotted trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotPoint {
    /// The trajectory's place among those plotted.
    pub trajectory: usize,
    /// The step's place in its trajectory.
    pub step: usize,
    pub mean: f32,
    pub std: f32,
    pub truth: StepTruth,
    /// How the rule sees the step.
    pub state: StepState,
}

impl PlotPoint {
    /// Where the point is drawn.
    pub fn position(&self) -> (f64, f64) {
        (mean_x(self.mean), spread_y(self.std))
    }
}

/// Every step of `plotted` that `rule` counts (up to each trajectory's predicted first error).
pub fn counted_points(plotted: &[Plotted], rule: &Rule) -> Vec<PlotPoint> {
    let mut points = Vec::new();
    for (trajectory, item) in plotted.iter().enumerate() {
        let scores = &item.scores;
        let checks: Vec<StepCheck> = rule.thresholds.check_steps(scores, rule.tests);
        for (step, check) in checks.into_iter().enumerate() {
            if !check.counted {
                continue;
            }
            points.push(PlotPoint {
                trajectory,
                step,
                mean: scores.mean[step],
                std: scores.std[step],
                truth: StepTruth::of(item.trajectory.label, step),
                state: StepState::from(check),
            });
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use actprm_core::selection::{SelectionConfig, Tests};

    use super::*;
    use crate::decision_plot::axes::{MEAN_MARGIN, SPREAD_FLOOR, trusted_region};
    use crate::pool::ScoredPool;

    fn rule(delta_pred: f32, delta_std: f32, tests: Tests) -> Rule {
        Rule {
            thresholds: SelectionConfig::new()
                .with_delta_pred(delta_pred)
                .with_delta_std(delta_std),
            tests,
        }
    }

    /// A pool whose steps cover the plane: means from 0 to 1 against spreads from 0 to 0.3.
    fn pool() -> ScoredPool {
        let mut trajectories = Vec::new();
        let mut scores = Vec::new();
        for i in 0..40 {
            let mean = i as f32 / 39.0;
            let spread = [0.0, 0.0004, 0.003, 0.02, 0.3][i % 5];
            // Two heads at mean ± spread (clamped into [0, 1], so some spreads shrink).
            let heads = vec![
                vec![0.999, (mean - spread).clamp(0.0, 1.0)],
                vec![0.999, (mean + spread).clamp(0.0, 1.0)],
            ];
            trajectories.push(Trajectory {
                question: format!("problem {i}"),
                steps: vec!["first".to_string(), "second".to_string()],
                label: Some(if i % 2 == 0 {
                    ProcessLabel::AllCorrect
                } else {
                    ProcessLabel::FirstErrorAt(1)
                }),
            });
            scores.push(StepScores::from_heads(heads));
        }
        ScoredPool {
            seed: 0,
            trajectories,
            scores,
        }
    }

    #[test]
    fn a_point_lies_in_the_trusted_region_exactly_when_the_rule_trusts_its_step() {
        let pool = pool();
        for tests in [Tests::Both, Tests::AleatoricOnly, Tests::EpistemicOnly] {
            for (delta_pred, delta_std) in [
                (0.95, 0.005),
                (0.6, 0.05),
                (0.99, 0.0),
                (0.5, 0.001),
                (1.0, 0.01),
            ] {
                let rule = rule(delta_pred, delta_std, tests);
                let region = trusted_region(&rule);
                let points = counted_points(&pool.plotted(), &rule);
                assert!(!points.is_empty());
                for point in points {
                    let pinned_mean = point.mean < MEAN_MARGIN || point.mean > 1.0 - MEAN_MARGIN;
                    if (delta_std < SPREAD_FLOOR && point.std < SPREAD_FLOOR)
                        || (delta_pred > 1.0 - MEAN_MARGIN && pinned_mean)
                    {
                        // Pinned to an axis' edge, where the region is not drawn.
                        continue;
                    }
                    let (x, y) = point.position();
                    let inside = region.iter().any(|r| r.contains(x, y));
                    assert_eq!(
                        inside,
                        point.state == StepState::Confident,
                        "{tests:?} δ_pred {delta_pred} δ_std {delta_std}: {point:?} at ({x}, {y})"
                    );
                }
            }
        }
    }

    #[test]
    fn only_counted_steps_are_points_and_each_carries_its_label() {
        let pool = pool();
        let rule = rule(0.95, 0.005, Tests::Both);
        let points = counted_points(&pool.plotted(), &rule);
        let counted: usize = pool
            .scores
            .iter()
            .map(|s| s.last_counted_step(rule.thresholds.tau) + 1)
            .sum();
        assert_eq!(points.len(), counted);
        // The first step (mean 0.999) is never an error; a second step is counted only when the
        // first is not a predicted error, which it never is.
        assert_eq!(points.len(), 2 * pool.scores.len());
        let second_of_erroneous = points
            .iter()
            .find(|p| p.trajectory == 1 && p.step == 1)
            .expect("problem 2's second step is counted");
        assert_eq!(second_of_erroneous.truth, StepTruth::FirstError);
        assert_eq!(
            StepTruth::of(Some(ProcessLabel::FirstErrorAt(0)), 1),
            StepTruth::AfterFirstError
        );
        assert_eq!(StepTruth::of(None, 0), StepTruth::Unlabelled);
    }
}
