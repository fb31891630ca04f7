//! The ActPRM selection rule (docs/method.md §3): a trajectory is trusted when every step up to
//! its predicted first error is confident, and selected for labelling otherwise, with the
//! reason. Either of its two tests can also be used alone (the paper's ablations).

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::model::InvalidModelConfig;
use crate::named_choice::NamedChoice;
use crate::scores::StepScores;

/// Whether `value` is a δ_pred the rule can use: in (0.5, 1].
pub fn is_valid_delta_pred(value: f64) -> bool {
    value > 0.5 && value <= 1.0
}

/// Whether `value` is a δ_std the rule can use: at least 0 (a standard deviation).
pub fn is_valid_delta_std(value: f64) -> bool {
    value >= 0.0
}

/// Whether `value` is a τ that separates errors from correct steps: in (0, 1).
pub fn is_valid_tau(value: f64) -> bool {
    value > 0.0 && value < 1.0
}

/// An error naming `field` unless `value` is finite and `valid`.
pub(crate) fn check_threshold(
    field: &'static str,
    value: f32,
    valid: fn(f64) -> bool,
    range: &str,
) -> Result<(), InvalidModelConfig> {
    match value.is_finite() && valid(f64::from(value)) {
        true => Ok(()),
        false => Err(InvalidModelConfig {
            field,
            problem: format!("is {value}; it must be in {range}"),
        }),
    }
}

/// Thresholds of the selection rule. Defaults are the paper's values.
#[derive(Config, Debug, PartialEq)]
pub struct SelectionConfig {
    /// δ_pred: a step is confidently judged when μ ≥ δ_pred or μ ≤ 1 − δ_pred.
    #[config(default = 0.95)]
    pub delta_pred: f32,
    /// δ_std: a step's heads agree when s ≤ δ_std.
    #[config(default = 0.005)]
    pub delta_std: f32,
    /// τ: a step is predicted erroneous when μ < τ.
    #[config(default = 0.5)]
    pub tau: f32,
}

/// Which of the rule's two tests may select a trajectory. Written everywhere (files, URLs,
/// the command line) by [`Tests::name`]; files written with `_` in place of `-` still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tests {
    /// Both: the ActPRM rule.
    #[default]
    #[serde(rename = "both")]
    Both,
    /// Only the test on the mean (what E = 1 amounts to, since its spread is always 0).
    #[serde(rename = "aleatoric-only", alias = "aleatoric_only")]
    AleatoricOnly,
    /// Only the test on the spread.
    #[serde(rename = "epistemic-only", alias = "epistemic_only")]
    EpistemicOnly,
}

impl NamedChoice for Tests {
    const ALL: &'static [Self] = &[Tests::Both, Tests::AleatoricOnly, Tests::EpistemicOnly];

    /// The name: `both`, `aleatoric-only` or `epistemic-only`.
    fn name(self) -> &'static str {
        match self {
            Tests::Both => "both",
            Tests::AleatoricOnly => "aleatoric-only",
            Tests::EpistemicOnly => "epistemic-only",
        }
    }

    /// The tests called `name`, also when it is written with `_` in place of `-`.
    fn from_name(name: &str) -> Option<Self> {
        let name = name.replace('_', "-");
        Self::ALL.iter().copied().find(|tests| tests.name() == name)
    }
}

impl Tests {
    /// Whether the test on the mean may select.
    pub fn aleatoric(self) -> bool {
        self != Tests::EpistemicOnly
    }

    /// Whether the test on the spread may select.
    pub fn epistemic(self) -> bool {
        self != Tests::AleatoricOnly
    }
}

/// Which uncertainty test a trajectory failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UncertaintyTest {
    /// The mean lies strictly between 1 − δ_pred and δ_pred: the ensemble is unsure.
    Aleatoric,
    /// The spread exceeds δ_std: the heads disagree.
    Epistemic,
    /// The predictive entropy summed over the counted steps exceeds a threshold.
    Entropy,
    /// The mutual information (BALD) summed over the counted steps exceeds a threshold.
    MutualInformation,
}

/// Why a trajectory was selected: the first counted step that failed a test (for the summed
/// information measures, the step that contributed most).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SelectionReason {
    /// The 0-based step.
    pub step: usize,
    /// The failed test (aleatoric is reported when a step fails both).
    pub test: UncertaintyTest,
    /// μ for an aleatoric failure, s for an epistemic one, the total in bits for an
    /// information measure.
    pub value: f32,
    /// δ_pred for an aleatoric failure, δ_std for an epistemic one, the threshold in bits for
    /// an information measure.
    pub threshold: f32,
}

/// A trajectory chosen for labelling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The first failing step and test.
    pub reason: SelectionReason,
    /// Whether the mean made it selected: a counted step failed the aleatoric test, or the
    /// predictive entropy (a function of the mean alone) was too high.
    pub aleatoric: bool,
    /// Whether the heads' disagreement made it selected: a counted step failed the epistemic
    /// test, or the mutual information was too high.
    pub epistemic: bool,
}

/// The rule's decision on one trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every counted step is confident: no label is bought.
    Trusted,
    /// At least one counted step is uncertain: ask the judge.
    Selected(Selection),
}

impl Verdict {
    /// Whether the trajectory goes to the judge.
    pub fn is_selected(&self) -> bool {
        matches!(self, Verdict::Selected(_))
    }
}

impl SelectionConfig {
    /// An error naming the first threshold outside its range: δ_pred in (0.5, 1], δ_std at
    /// least 0, τ in (0, 1), as the command line requires.
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        check_threshold(
            "selection.delta_pred",
            self.delta_pred,
            is_valid_delta_pred,
            "(0.5, 1]",
        )?;
        check_threshold(
            "selection.delta_std",
            self.delta_std,
            is_valid_delta_std,
            "[0, ∞)",
        )?;
        check_threshold("selection.tau", self.tau, is_valid_tau, "(0, 1)")
    }

    /// Whether μ is confidently away from the decision boundary (inclusive comparisons).
    pub fn is_prediction_confident(&self, mean: f32) -> bool {
        mean >= self.delta_pred || mean <= 1.0 - self.delta_pred
    }

    /// Whether the heads agree (inclusive comparison).
    pub fn is_agreement_confident(&self, std: f32) -> bool {
        std <= self.delta_std
    }

    /// Applies the rule to one trajectory's scores.
    pub fn decide(&self, scores: &StepScores) -> Verdict {
        self.decide_with(scores, Tests::Both)
    }

    /// Applies the rule with only the given tests able to select.
    pub fn decide_with(&self, scores: &StepScores, tests: Tests) -> Verdict {
        let checks = self.check_steps(scores, tests);
        let first = checks.iter().position(StepCheck::fails);
        let Some(step) = first else {
            return Verdict::Trusted;
        };
        let reason = if checks[step].unsure {
            SelectionReason {
                step,
                test: UncertaintyTest::Aleatoric,
                value: scores.mean[step],
                threshold: self.delta_pred,
            }
        } else {
            SelectionReason {
                step,
                test: UncertaintyTest::Epistemic,
                value: scores.std[step],
                threshold: self.delta_std,
            }
        };
        Verdict::Selected(Selection {
            reason,
            aleatoric: checks.iter().any(|check| check.unsure),
            epistemic: checks.iter().any(|check| check.disagreeing),
        })
    }

    /// What the tests that may select find at every step of `scores`: the per-step detail of
    /// [`SelectionConfig::decide_with`].
    pub fn check_steps(&self, scores: &StepScores, tests: Tests) -> Vec<StepCheck> {
        if scores.num_steps() == 0 {
            return Vec::new();
        }
        let last_counted = scores.last_counted_step(self.tau);
        (0..scores.num_steps())
            .map(|step| {
                let counted = step <= last_counted;
                StepCheck {
                    counted,
                    unsure: counted
                        && tests.aleatoric()
                        && !self.is_prediction_confident(scores.mean[step]),
                    disagreeing: counted
                        && tests.epistemic()
                        && !self.is_agreement_confident(scores.std[step]),
                }
            })
            .collect()
    }
}

/// What the selection rule's tests find at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepCheck {
    /// Whether the rule looks at the step: it is at or before the predicted first error.
    pub counted: bool,
    /// A counted step whose mean fails the aleatoric test, when that test may select.
    pub unsure: bool,
    /// A counted step whose spread fails the epistemic test, when that test may select.
    pub disagreeing: bool,
}

impl StepCheck {
    /// Whether the step fails a test, and so selects its trajectory.
    pub fn fails(&self) -> bool {
        self.unsure || self.disagreeing
    }
}

impl std::fmt::Display for SelectionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.test {
            UncertaintyTest::Aleatoric => write!(
                f,
                "step {}: prediction unsure (mean {:.3} between {:.3} and δ_pred {:.3})",
                self.step + 1,
                self.value,
                1.0 - self.threshold,
                self.threshold
            ),
            UncertaintyTest::Epistemic => write!(
                f,
                "step {}: heads disagree (std {:.4} > δ_std {:.4})",
                self.step + 1,
                self.value,
                self.threshold
            ),
            UncertaintyTest::Entropy => write!(
                f,
                "predictive entropy {:.3} bits > {:.3} (most at step {})",
                self.value,
                self.threshold,
                self.step + 1
            ),
            UncertaintyTest::MutualInformation => write!(
                f,
                "mutual information {:.4} bits > {:.4} (most at step {})",
                self.value,
                self.threshold,
                self.step + 1
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_have_one_name_everywhere_and_old_spellings_read() {
        for &tests in Tests::ALL {
            assert_eq!(Tests::from_name(tests.name()), Some(tests));
            let json = serde_json::to_string(&tests).unwrap();
            assert_eq!(json, format!("\"{}\"", tests.name()));
        }
        assert_eq!(
            Tests::from_name("aleatoric_only"),
            Some(Tests::AleatoricOnly)
        );
        assert_eq!(
            serde_json::from_str::<Tests>("\"epistemic_only\"").unwrap(),
            Tests::EpistemicOnly
        );
        assert_eq!(Tests::from_name("all"), None);
    }

    /// Scores with the given per-step means and spreads (the head values are irrelevant here).
    fn scores(mean: &[f32], std: &[f32]) -> StepScores {
        StepScores {
            mean: mean.to_vec(),
            std: std.to_vec(),
            heads: vec![mean.to_vec()],
        }
    }

    fn rule() -> SelectionConfig {
        SelectionConfig::new()
    }

    #[test]
    fn confident_everywhere_is_trusted() {
        assert_eq!(
            rule().decide(&scores(&[0.99, 0.97, 0.96], &[0.001, 0.002, 0.0])),
            Verdict::Trusted
        );
    }

    #[test]
    fn thresholds_are_inclusive() {
        // μ exactly δ_pred, μ exactly 1 − δ_pred and s exactly δ_std are all confident.
        assert_eq!(
            rule().decide(&scores(&[0.95, 0.05], &[0.005, 0.005])),
            Verdict::Trusted
        );
        let just_inside = rule().decide(&scores(&[0.949], &[0.0]));
        assert!(just_inside.is_selected());
        let just_over = rule().decide(&scores(&[0.99], &[0.0051]));
        assert!(just_over.is_selected());
    }

    #[test]
    fn aleatoric_reason_names_step_value_and_threshold() {
        let verdict = rule().decide(&scores(&[0.99, 0.7, 0.99], &[0.0, 0.0, 0.0]));
        let Verdict::Selected(selection) = verdict else {
            panic!("expected a selection")
        };
        assert_eq!(
            selection.reason,
            SelectionReason {
                step: 1,
                test: UncertaintyTest::Aleatoric,
                value: 0.7,
                threshold: 0.95
            }
        );
        assert!(selection.aleatoric && !selection.epistemic);
        assert_eq!(
            selection.reason.to_string(),
            "step 2: prediction unsure (mean 0.700 between 0.050 and δ_pred 0.950)"
        );
    }

    #[test]
    fn epistemic_reason_when_heads_disagree() {
        let verdict = rule().decide(&scores(&[0.99, 0.98], &[0.001, 0.031]));
        let Verdict::Selected(selection) = verdict else {
            panic!("expected a selection")
        };
        assert_eq!(selection.reason.test, UncertaintyTest::Epistemic);
        assert_eq!(selection.reason.step, 1);
        assert!((selection.reason.value - 0.031).abs() < 1e-7);
        assert!(!selection.aleatoric && selection.epistemic);
        assert_eq!(
            selection.reason.to_string(),
            "step 2: heads disagree (std 0.0310 > δ_std 0.0050)"
        );
    }

    #[test]
    fn only_steps_up_to_the_predicted_first_error_count() {
        // Step 1 is a confident error (μ = 0.01 < τ): steps 2 and 3 are never looked at, however
        // uncertain they are.
        let verdict = rule().decide(&scores(&[0.99, 0.01, 0.5, 0.6], &[0.0, 0.0, 0.2, 0.3]));
        assert_eq!(verdict, Verdict::Trusted);
        // The same trajectory with an uncertain step before the error is selected.
        let verdict = rule().decide(&scores(&[0.9, 0.01, 0.5], &[0.0, 0.0, 0.2]));
        assert!(verdict.is_selected());
    }

    #[test]
    fn the_predicted_error_step_itself_counts() {
        // μ = 0.3 < τ makes step 0 the predicted error; it is also unsure, so selected.
        let Verdict::Selected(selection) = rule().decide(&scores(&[0.3, 0.99], &[0.0, 0.0])) else {
            panic!("expected a selection")
        };
        assert_eq!(selection.reason.step, 0);
    }

    #[test]
    fn both_tests_failing_reports_aleatoric_and_flags_both() {
        let Verdict::Selected(selection) = rule().decide(&scores(&[0.99, 0.8], &[0.01, 0.2]))
        else {
            panic!("expected a selection")
        };
        // Step 0 fails only the spread test; it comes first.
        assert_eq!(selection.reason.step, 0);
        assert_eq!(selection.reason.test, UncertaintyTest::Epistemic);
        assert!(selection.aleatoric && selection.epistemic);
        let Verdict::Selected(selection) = rule().decide(&scores(&[0.8], &[0.2])) else {
            panic!("expected a selection")
        };
        assert_eq!(selection.reason.test, UncertaintyTest::Aleatoric);
    }

    #[test]
    fn one_test_alone_ignores_the_other() {
        // Step 0 is unsure but the heads agree; step 1 is confident but the heads disagree.
        let unsure_first = scores(&[0.8, 0.99], &[0.0, 0.2]);
        let Verdict::Selected(selection) = rule().decide_with(&unsure_first, Tests::EpistemicOnly)
        else {
            panic!("expected a selection")
        };
        assert_eq!(selection.reason.step, 1);
        assert!(!selection.aleatoric && selection.epistemic);
        let Verdict::Selected(selection) = rule().decide_with(&unsure_first, Tests::AleatoricOnly)
        else {
            panic!("expected a selection")
        };
        assert_eq!(selection.reason.step, 0);
        assert!(selection.aleatoric && !selection.epistemic);
        // Only disagreement: trusted by the aleatoric test alone, selected by the epistemic one.
        let disagreeing = scores(&[0.99, 0.98], &[0.0, 0.1]);
        assert_eq!(
            rule().decide_with(&disagreeing, Tests::AleatoricOnly),
            Verdict::Trusted
        );
        assert!(rule().decide_with(&disagreeing, Tests::Both).is_selected());
        // Only an unsure mean: the mirror image.
        let unsure = scores(&[0.7], &[0.0]);
        assert_eq!(
            rule().decide_with(&unsure, Tests::EpistemicOnly),
            Verdict::Trusted
        );
        assert!(
            rule()
                .decide_with(&unsure, Tests::AleatoricOnly)
                .is_selected()
        );
    }

    #[test]
    fn paper_defaults() {
        let config = SelectionConfig::new();
        assert_eq!(
            (config.delta_pred, config.delta_std, config.tau),
            (0.95, 0.005, 0.5)
        );
    }
}
