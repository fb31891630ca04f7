//! What the selection rule makes of one trajectory's scores, in the words and colours the page
//! shows: each step's state, the verdict as a sentence, and how uncertain the trajectory is.

use actprm_core::scores::StepScores;
use actprm_core::selection::{SelectionConfig, StepCheck, Tests, UncertaintyTest, Verdict};

/// The selection rule the page applies: its thresholds, and which of its tests may select
/// (both is ActPRM; one alone is an ablation).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub thresholds: SelectionConfig,
    pub tests: Tests,
}

impl Default for Rule {
    /// The paper's thresholds, both tests.
    fn default() -> Self {
        Self {
            thresholds: SelectionConfig::new(),
            tests: Tests::Both,
        }
    }
}

impl Rule {
    /// The thresholds a model was trained under, both tests.
    pub fn trained_with(thresholds: SelectionConfig) -> Self {
        Self {
            thresholds,
            tests: Tests::Both,
        }
    }

    /// The rule's verdict on one trajectory.
    pub fn decide(&self, scores: &StepScores) -> Verdict {
        self.thresholds.decide_with(scores, self.tests)
    }

    /// The state of every step of `scores`: a test that may not select flags nothing.
    pub fn step_states(&self, scores: &StepScores) -> Vec<StepState> {
        self.thresholds
            .check_steps(scores, self.tests)
            .into_iter()
            .map(StepState::from)
            .collect()
    }
}

/// How the selection rule sees one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Counted, with a confident mean and agreeing heads.
    Confident,
    /// Counted, with a mean between 1 − δ_pred and δ_pred.
    Unsure,
    /// Counted, with heads whose spread exceeds δ_std.
    Disagreeing,
    /// Counted, failing both tests.
    UnsureAndDisagreeing,
    /// After the predicted first error: the rule does not look at it.
    NotCounted,
}

impl From<StepCheck> for StepState {
    fn from(check: StepCheck) -> Self {
        match (check.counted, check.unsure, check.disagreeing) {
            (false, _, _) => StepState::NotCounted,
            (true, false, false) => StepState::Confident,
            (true, true, false) => StepState::Unsure,
            (true, false, true) => StepState::Disagreeing,
            (true, true, true) => StepState::UnsureAndDisagreeing,
        }
    }
}

impl StepState {
    /// The CSS class the page colours the step with.
    pub fn class(self) -> &'static str {
        match self {
            StepState::Confident => "confident",
            StepState::Unsure => "unsure",
            StepState::Disagreeing => "disagreeing",
            StepState::UnsureAndDisagreeing => "unsure disagreeing",
            StepState::NotCounted => "not-counted",
        }
    }

    /// The state in words, so that colour is never the only cue.
    pub fn label(self) -> &'static str {
        match self {
            StepState::Confident => "confident",
            StepState::Unsure => "unsure",
            StepState::Disagreeing => "heads disagree",
            StepState::UnsureAndDisagreeing => "unsure, heads disagree",
            StepState::NotCounted => "not counted",
        }
    }
}

/// The verdict as the page states it, steps counted from 1.
pub fn verdict_sentence(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Trusted => {
            "trusted: every step up to the predicted first error is confident".to_string()
        }
        Verdict::Selected(selection) => {
            let reason = &selection.reason;
            let step = reason.step + 1;
            match reason.test {
                UncertaintyTest::Aleatoric => format!(
                    "selected: step {step}, the ensemble is unsure (mean {:.3} between {:.3} and \
                     δ_pred {:.3})",
                    reason.value,
                    1.0 - reason.threshold,
                    reason.threshold
                ),
                UncertaintyTest::Epistemic => format!(
                    "selected: step {step}, heads disagree (std {:.3} > δ_std {:.3})",
                    reason.value, reason.threshold
                ),
                UncertaintyTest::Entropy | UncertaintyTest::MutualInformation => format!(
                    "selected: step {step} contributes most ({:.3} bits > {:.3})",
                    reason.value, reason.threshold
                ),
            }
        }
    }
}

/// How far the heads spread on the steps the rule counts: the largest standard deviation
/// among them. The pool is sorted by it, most uncertain first.
pub fn largest_counted_spread(scores: &StepScores, tau: f32) -> f32 {
    if scores.num_steps() == 0 {
        return 0.0;
    }
    scores.std[..=scores.last_counted_step(tau)]
        .iter()
        .copied()
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three heads whose mean and spread are set per step.
    fn scores(heads: [[f32; 4]; 3]) -> StepScores {
        StepScores::from_heads(heads.iter().map(|h| h.to_vec()).collect())
    }

    #[test]
    fn states_follow_both_tests_up_to_the_predicted_first_error() {
        let scores = scores([
            [0.99, 0.80, 0.99, 0.01],
            [0.99, 0.80, 0.70, 0.01],
            [0.99, 0.80, 0.99, 0.01],
        ]);
        let rule = Rule::default();
        assert_eq!(
            rule.step_states(&scores),
            [
                StepState::Confident,
                StepState::Unsure,
                StepState::UnsureAndDisagreeing,
                StepState::Confident,
            ]
        );
        let early_error = scores_with_error_at_first_step();
        assert_eq!(
            rule.step_states(&early_error)[1..],
            [StepState::NotCounted; 3]
        );
    }

    #[test]
    fn a_test_that_may_not_select_flags_no_step() {
        let scores = scores([
            [0.99, 0.80, 0.99, 0.99],
            [0.99, 0.80, 0.70, 0.99],
            [0.99, 0.80, 0.99, 0.99],
        ]);
        let rule = |tests| Rule {
            thresholds: SelectionConfig::new(),
            tests,
        };
        use StepState::*;
        assert_eq!(
            rule(Tests::AleatoricOnly).step_states(&scores),
            [Confident, Unsure, Unsure, Confident]
        );
        assert_eq!(
            rule(Tests::EpistemicOnly).step_states(&scores),
            [Confident, Confident, Disagreeing, Confident]
        );
        let steady_but_unsure = StepScores::from_heads(vec![vec![0.99, 0.8]; 3]);
        assert!(
            rule(Tests::AleatoricOnly)
                .decide(&steady_but_unsure)
                .is_selected()
        );
        assert!(
            !rule(Tests::EpistemicOnly)
                .decide(&steady_but_unsure)
                .is_selected()
        );
    }

    fn scores_with_error_at_first_step() -> StepScores {
        scores([[0.01, 0.5, 0.5, 0.5]; 3])
    }

    #[test]
    fn the_verdict_names_the_step_the_test_and_the_numbers() {
        let thresholds = SelectionConfig::new();
        let disagreeing = scores([
            [0.99, 0.99, 0.99, 0.99],
            [0.99, 0.99, 0.99, 0.99],
            [0.99, 0.97, 0.99, 0.99],
        ]);
        let sentence = verdict_sentence(&thresholds.decide(&disagreeing));
        assert_eq!(
            sentence,
            "selected: step 2, heads disagree (std 0.012 > δ_std 0.005)"
        );
        let unsure = scores([[0.99, 0.7, 0.99, 0.99]; 3]);
        let sentence = verdict_sentence(&thresholds.decide(&unsure));
        assert!(sentence.starts_with("selected: step 2, the ensemble is unsure (mean 0.700"));
        let trusted = verdict_sentence(&thresholds.decide(&scores([[0.99; 4]; 3])));
        assert!(trusted.starts_with("trusted"));
    }

    #[test]
    fn the_spread_counts_only_steps_the_rule_looks_at() {
        let scores = scores([
            [0.99, 0.2, 0.9, 0.9],
            [0.99, 0.2, 0.1, 0.1],
            [0.99, 0.2, 0.5, 0.5],
        ]);
        assert_eq!(largest_counted_spread(&scores, 0.5), 0.0);
        assert!(largest_counted_spread(&scores, 0.1) > 0.3);
    }
}
