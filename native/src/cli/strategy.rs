//! Selection strategies by their command-line names.

use actprm_core::pool_indices::PoolIndices;
use actprm_core::selection::{SelectionConfig, Tests};
use actprm_core::strategy::{
    DEFAULT_ENTROPY_THRESHOLD, DEFAULT_MUTUAL_INFORMATION_THRESHOLD, Strategy,
};
use anyhow::{Result, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// A selection strategy, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyArg {
    /// The paper's rule: an unsure mean or disagreeing heads on a counted step.
    Actprm,
    /// The paper's rule at a fixed budget: of each mini-batch, the --per-batch trajectories
    /// furthest past its bounds (the largest ratio of a counted step's min(μ, 1 − μ) to
    /// 1 − δ_pred, or of its spread to δ_std), whether or not they pass them; not in the paper.
    ActprmRanked,
    /// Only the test on the mean (δ_pred).
    AleatoricOnly,
    /// Only the test on the heads' spread (δ_std).
    EpistemicOnly,
    /// Predictive entropy summed over the counted steps, above a threshold in bits.
    Entropy,
    /// Mutual information between label and head (BALD) summed over the counted steps, above a
    /// threshold in bits.
    Bald,
    /// Each trajectory with a fixed probability, whatever the model says.
    Random,
    /// The trajectories `random` would label, drawn before the pass and trained on alone in
    /// full mini-batches: the same labels, the full-data schedule.
    RandomOffline,
    /// The trajectories the `actprm` (or `actprm-ranked`) run of the same seed and settings
    /// labelled, trained on alone in full mini-batches: its labels on the full-data schedule (a
    /// sweep's).
    ActprmOffline,
    /// Every trajectory: the full-data baseline.
    Full,
}

impl StrategyArg {
    /// The command-line name.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .expect("every strategy has a command-line name")
    }

    /// The strategy this name stands for. `rule` holds the thresholds of the rule strategies
    /// and τ of every score-based one; `threshold` is entropy's or bald's, in bits; `per_batch`
    /// is actprm-ranked's; `fraction` and `seed` are random's; `labelled` is what
    /// actprm-offline trains on.
    pub fn strategy(
        self,
        rule: SelectionConfig,
        threshold: f32,
        per_batch: usize,
        fraction: f64,
        seed: u64,
        labelled: &PoolIndices,
    ) -> Strategy {
        let tau = rule.tau;
        let with_tests = |tests| Strategy::Rule {
            config: rule.clone(),
            tests,
        };
        match self {
            StrategyArg::Actprm => with_tests(Tests::Both),
            StrategyArg::ActprmRanked => Strategy::Ranked {
                config: rule,
                per_batch,
            },
            StrategyArg::AleatoricOnly => with_tests(Tests::AleatoricOnly),
            StrategyArg::EpistemicOnly => with_tests(Tests::EpistemicOnly),
            StrategyArg::Entropy => Strategy::entropy(threshold, tau),
            StrategyArg::Bald => Strategy::bald(threshold, tau),
            StrategyArg::Random => Strategy::Random { fraction, seed },
            StrategyArg::RandomOffline => Strategy::RandomOffline { fraction, seed },
            StrategyArg::ActprmOffline => Strategy::ActprmOffline {
                labelled: labelled.clone(),
            },
            StrategyArg::Full => Strategy::Full,
        }
    }

    /// Whether the strategy decides by the ensemble's scores (the baselines do not).
    pub fn reads_scores(self) -> bool {
        !self.is_baseline()
    }

    /// Whether the strategy is a baseline that labels regardless of the model: the random
    /// ones, actprm-offline and full.
    fn is_baseline(self) -> bool {
        matches!(
            self,
            StrategyArg::Random
                | StrategyArg::RandomOffline
                | StrategyArg::ActprmOffline
                | StrategyArg::Full
        )
    }

    /// Whether a sweep runs the baselines matched to each of the strategy's experiments, at its
    /// budget or on its labels ([`StrategyArg::is_matched_to_actprm`]): the rule's, with its
    /// thresholds or ranked.
    pub fn is_matched_against(self) -> bool {
        matches!(self, StrategyArg::Actprm | StrategyArg::ActprmRanked)
    }

    /// Whether a sweep runs the strategy at the budget of each `actprm` run: the random ones
    /// (unless their fractions are given) and actprm-offline, which trains on actprm's labels.
    pub fn is_matched_to_actprm(self) -> bool {
        matches!(
            self,
            StrategyArg::Random | StrategyArg::RandomOffline | StrategyArg::ActprmOffline
        )
    }

    /// Whether the strategy selects by the heads' disagreement alone (the spread, or the
    /// mutual information between label and head), which a single head never shows: with one
    /// head it selects nothing after the warm-up.
    pub fn needs_several_heads(self) -> bool {
        matches!(self, StrategyArg::EpistemicOnly | StrategyArg::Bald)
    }

    /// The score-based strategy this name stands for, with `threshold` (entropy's or bald's,
    /// in bits) defaulting to the strategy's own, and actprm-ranked's `per_batch`. Random and
    /// full read no scores and are refused.
    pub fn score_based(
        self,
        rule: SelectionConfig,
        threshold: Option<f32>,
        per_batch: usize,
    ) -> Result<Strategy> {
        let threshold = match self {
            StrategyArg::Random
            | StrategyArg::RandomOffline
            | StrategyArg::ActprmOffline
            | StrategyArg::Full => {
                bail!("{} does not read the ensemble's scores", self.name())
            }
            StrategyArg::Entropy => threshold.unwrap_or(DEFAULT_ENTROPY_THRESHOLD),
            StrategyArg::Bald => threshold.unwrap_or(DEFAULT_MUTUAL_INFORMATION_THRESHOLD),
            // The rule strategies have no information threshold.
            StrategyArg::Actprm
            | StrategyArg::ActprmRanked
            | StrategyArg::AleatoricOnly
            | StrategyArg::EpistemicOnly => 0.0,
        };
        Ok(self.strategy(rule, threshold, per_batch, 1.0, 0, &PoolIndices::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strategy has one name: the command line's is the one core writes into results.
    #[test]
    fn command_line_names_are_cores() {
        for arg in StrategyArg::value_variants() {
            let strategy = arg.strategy(
                SelectionConfig::new(),
                0.1,
                4,
                0.5,
                0,
                &PoolIndices::default(),
            );
            assert_eq!(arg.name(), strategy.name());
        }
    }
}
