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

    /// How far `scores` lie past the rule's bounds: over the counted steps and the tests that
    /// may select, the largest ratio of a step's measure to its test's bound — min(μ, 1 − μ)
    /// to 1 − δ_pred for the mean, s to δ_std for the spread — with that step as the reason.
    /// Past 1 only where [`SelectionConfig::decide_with`] selects, and at least 1 wherever it
    /// does; a bound of 0 makes any positive measure infinitely far past it. `None` for a
    /// trajectory without steps. Ranks trajectories for [`crate::strategy::Strategy::Ranked`].
    pub fn excess(&self, scores: &StepScores, tests: Tests) -> Option<(f32, SelectionReason)> {
        let ratio = |measure: f32, bound: f32| match bound > 0.0 {
            true => measure / bound,
            false if measure > 0.0 => f32::INFINITY,
            false => 0.0,
        };
        let last_counted = scores.last_counted_step(self.tau);
        let mut most: Option<(f32, SelectionReason)> = None;
        for step in 0..scores.num_steps().min(last_counted.saturating_add(1)) {
            let mean = scores.mean[step];
            let candidates = [
                tests.aleatoric().then(|| {
                    let excess = ratio(mean.min(1.0 - mean), 1.0 - self.delta_pred);
                    (excess, UncertaintyTest::Aleatoric, mean, self.delta_pred)
                }),
                tests.epistemic().then(|| {
                    let std = scores.std[step];
                    (
                        ratio(std, self.delta_std),
                        UncertaintyTest::Epistemic,
                        std,
                        self.delta_std,
                    )
                }),
            ];
            for (excess, test, value, threshold) in candidates.into_iter().flatten() {
                if most.is_none_or(|(largest, _)| excess > largest) {
                    let reason = SelectionReason {
                        step,
                        test,
                        value,
                        threshold,
                    };
                    most = Some((excess, reason));
                }
            }
        }
        most
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
mod tests;
