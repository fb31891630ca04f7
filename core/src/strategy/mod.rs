//! Selection strategies behind one interface: each decides, trajectory by trajectory, whether
//! the judge is asked. The score-based ones read the same ensemble scores and look only at the
//! counted steps (up to the predicted first error, docs/method.md §3); the baselines ignore them.

use serde::{Deserialize, Serialize};

use crate::batch::Inputs;
use crate::model::EnsemblePrm;
use crate::named_choice::NamedChoice;
use crate::pool_indices::PoolIndices;
use crate::rng::SeededRng;
use crate::scores::StepScores;
use crate::scoring::{SCORE_BATCH_SIZE, score_inputs};
use crate::selection::{Selection, SelectionConfig, SelectionReason, Tests, Verdict};
use record::StrategyRecord;

/// Default entropy threshold: H(0.95) = 0.2864 bits, so one step at the paper's δ_pred
/// boundary is enough to select, and so are several mildly uncertain ones.
pub const DEFAULT_ENTROPY_THRESHOLD: f32 = 0.2864;

/// Default mutual-information threshold in bits.
pub const DEFAULT_MUTUAL_INFORMATION_THRESHOLD: f32 = 1e-3;

/// Default number of trajectories [`Strategy::Ranked`] labels per mini-batch: a quarter of the
/// default mini-batch of 16.
pub const DEFAULT_PER_BATCH: usize = 4;

mod information;
mod record;

pub use information::{InformationRule, Measure};

/// How the trajectories of a mini-batch are chosen for labelling. Written to files as an
/// object named by [`Strategy::name`] with every setting the strategy reads, for example
/// `{"name": "entropy", "threshold": 0.2864, "tau": 0.5}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "StrategyRecord", from = "StrategyRecord")]
pub enum Strategy {
    /// The ActPRM rule (both tests), or one of its tests alone.
    Rule {
        /// Its thresholds.
        config: SelectionConfig,
        /// Which tests may select.
        tests: Tests,
    },
    /// An information measure summed over the counted steps, above a threshold.
    Information(InformationRule),
    /// The ActPRM rule at a fixed budget: of each mini-batch, the `per_batch` trajectories
    /// that lie furthest past the rule's bounds ([`SelectionConfig::excess`]) are labelled,
    /// whether or not they pass them. Not the paper's rule, whose budget is an outcome of its
    /// thresholds (docs/method.md §3).
    Ranked {
        /// The thresholds the trajectories are measured against, and τ.
        config: SelectionConfig,
        /// Trajectories labelled per mini-batch (every one of a smaller mini-batch).
        per_batch: usize,
    },
    /// Label each trajectory with probability `fraction`, independently of the model (the
    /// random baseline at a given expected budget).
    Random {
        /// Expected fraction of the pool labelled.
        fraction: f64,
        /// Seed of the draws; trajectory `i` of the pool is drawn from stream `i`.
        seed: u64,
    },
    /// The random baseline trained offline: the trajectories [`Strategy::Random`] with the same
    /// fraction and seed would label are drawn before the pass, and the pass runs over them
    /// alone, labelling each, in full mini-batches, walking them again (without buying their
    /// labels again) until it has made as many mini-batches as a pass over the whole pool.
    /// Both random baselines label the same trajectories; they differ in the training schedule
    /// only (docs/method.md §3).
    RandomOffline {
        /// Expected fraction of the pool labelled.
        fraction: f64,
        /// Seed of the draws, as [`Strategy::Random`]'s.
        seed: u64,
    },
    /// What an [`Strategy::actprm`] pass labelled, trained offline as
    /// [`Strategy::RandomOffline`] trains its draws: the pass runs over those trajectories
    /// alone, labelling each, in full mini-batches, on the full-data schedule. Beside the
    /// offline random baseline at the same budget, it tells selection from schedule
    /// (docs/method.md §3).
    ActprmOffline {
        /// The pool trajectories the actprm pass labelled.
        labelled: PoolIndices,
    },
    /// Label everything (the full-data baseline).
    Full,
}

/// Whether the random baselines with `fraction` and `seed` label pool trajectory `index`.
fn drawn(fraction: f64, seed: u64, index: usize) -> bool {
    SeededRng::derive(seed, index as u64).chance(fraction)
}

/// [`Strategy::Ranked`]'s decisions on one mini-batch's `scores`: the `per_batch` trajectories
/// furthest past `config`'s bounds are labelled (the earlier of two as far), each with the
/// step furthest past as its reason; a trajectory without steps never is.
fn ranked(config: &SelectionConfig, per_batch: usize, scores: &[StepScores]) -> Vec<Choice> {
    let mut order: Vec<(usize, f32, SelectionReason)> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, scores)| {
            let (excess, reason) = config.excess(scores, Tests::Both)?;
            Some((i, excess, reason))
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut choices = vec![Choice::Skip; scores.len()];
    for &(i, _, reason) in order.iter().take(per_batch) {
        let (aleatoric, epistemic) = match config.decide(&scores[i]) {
            Verdict::Selected(selection) => (selection.aleatoric, selection.epistemic),
            Verdict::Trusted => (false, false),
        };
        choices[i] = Choice::Selected(Selection {
            reason,
            aleatoric,
            epistemic,
        });
    }
    choices
}

/// A strategy's decision on one trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice {
    /// Not labelled.
    Skip,
    /// Labelled whatever the model's scores (the random and full baselines).
    Unconditional,
    /// Labelled because the scores were uncertain, with the reason.
    Selected(Selection),
}

impl Choice {
    /// Whether the trajectory goes to the judge.
    pub fn is_labelled(&self) -> bool {
        !matches!(self, Choice::Skip)
    }
}

impl From<Verdict> for Choice {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Trusted => Choice::Skip,
            Verdict::Selected(selection) => Choice::Selected(selection),
        }
    }
}

impl Strategy {
    /// The paper's rule with the given thresholds.
    pub fn actprm(config: SelectionConfig) -> Self {
        Strategy::Rule {
            config,
            tests: Tests::Both,
        }
    }

    /// Predictive entropy above `threshold` bits.
    pub fn entropy(threshold: f32, tau: f32) -> Self {
        Strategy::Information(InformationRule {
            measure: Measure::Entropy,
            threshold,
            tau,
        })
    }

    /// Mutual information over heads (BALD) above `threshold` bits.
    pub fn bald(threshold: f32, tau: f32) -> Self {
        Strategy::Information(InformationRule {
            measure: Measure::MutualInformation,
            threshold,
            tau,
        })
    }

    /// The name used on the command line and in results.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Rule { tests, .. } => match tests {
                Tests::Both => "actprm",
                alone => alone.name(),
            },
            Strategy::Information(rule) => match rule.measure {
                Measure::Entropy => "entropy",
                Measure::MutualInformation => "bald",
            },
            Strategy::Ranked { .. } => "actprm-ranked",
            Strategy::Random { .. } => "random",
            Strategy::RandomOffline { .. } => "random-offline",
            Strategy::ActprmOffline { .. } => "actprm-offline",
            Strategy::Full => "full",
        }
    }

    /// Whether [`Strategy::choose`] reads the ensemble's scores (if not, no forward pass is
    /// needed to select).
    pub fn needs_scores(&self) -> bool {
        matches!(
            self,
            Strategy::Rule { .. } | Strategy::Information(_) | Strategy::Ranked { .. }
        )
    }

    /// Whether the pass labels every trajectory it walks (full data and the offline passes),
    /// so that its mini-batches are full and rehearsal has nothing to add.
    pub fn labels_all_it_walks(&self) -> bool {
        matches!(
            self,
            Strategy::RandomOffline { .. } | Strategy::ActprmOffline { .. } | Strategy::Full
        )
    }

    /// The decision on pool trajectory `index`, whose scores are `scores` (required when
    /// [`Strategy::needs_scores`]). [`Strategy::Ranked`] ranks it as a mini-batch of one.
    pub fn choose(&self, index: usize, scores: Option<&StepScores>) -> Choice {
        let scores = || scores.expect("a score-based strategy needs the trajectory's scores");
        match self {
            Strategy::Rule { config, tests } => config.decide_with(scores(), *tests).into(),
            Strategy::Information(rule) => rule.decide(scores()).into(),
            Strategy::Ranked { config, per_batch } => {
                ranked(config, *per_batch, std::slice::from_ref(scores()))[0]
            }
            Strategy::Random { fraction, seed } => match drawn(*fraction, *seed, index) {
                true => Choice::Unconditional,
                false => Choice::Skip,
            },
            // The offline passes see only the trajectories drawn before them.
            Strategy::RandomOffline { .. } | Strategy::ActprmOffline { .. } | Strategy::Full => {
                Choice::Unconditional
            }
        }
    }

    /// The pool indices the pass is to run over, in pool order, when the strategy draws them
    /// before it (the offline strategies); `None` when the pass runs over the whole pool of
    /// `pool_size` trajectories.
    ///
    /// # Panics
    ///
    /// When actprm-offline lists an index past the pool: it was given another pool's labels.
    pub fn drawn_before_pass(&self, pool_size: usize) -> Option<Vec<usize>> {
        match self {
            Strategy::RandomOffline { fraction, seed } => Some(
                (0..pool_size)
                    .filter(|&index| drawn(*fraction, *seed, index))
                    .collect(),
            ),
            Strategy::ActprmOffline { labelled } => {
                let indices = labelled.as_slice();
                if let Some(&last) = indices.last() {
                    assert!(
                        last < pool_size,
                        "actprm-offline lists pool index {last}, past a pool of {pool_size}"
                    );
                }
                Some(indices.to_vec())
            }
            _ => None,
        }
    }

    /// The decision on each trajectory of a mini-batch of the pool that starts at pool index
    /// `first`, scoring it with `model` only when the strategy reads scores.
    pub fn choose_batch(&self, model: &EnsemblePrm, first: usize, inputs: Inputs) -> Vec<Choice> {
        let scores = self.scores_read(model, inputs);
        self.choices(first..first + inputs.len(), scores.as_deref())
    }

    /// `model`'s scores of `inputs` when the strategy reads scores, else `None` (and no forward
    /// pass). They are read [`SCORE_BATCH_SIZE`] trajectories at a time, so that a large chunk
    /// of long trajectories does not hold every window's activations at once.
    pub fn scores_read(&self, model: &EnsemblePrm, inputs: Inputs) -> Option<Vec<StepScores>> {
        self.needs_scores()
            .then(|| score_inputs(model, inputs, SCORE_BATCH_SIZE, |_| {}))
    }

    /// [`Strategy::choose_batch`] reading the scores back asynchronously, as a browser's
    /// WebGPU device requires.
    pub async fn choose_batch_async(
        &self,
        model: &EnsemblePrm,
        first: usize,
        inputs: Inputs<'_>,
    ) -> Vec<Choice> {
        let scores = match self.needs_scores() {
            true => Some(model.score_async(&inputs.batch(&model.device())).await),
            false => None,
        };
        self.choices(first..first + inputs.len(), scores.as_deref())
    }

    /// The decisions on the pool trajectories at `indices`, given their scores (in the same
    /// order) when the strategy reads them. [`Strategy::Ranked`] ranks them as one mini-batch.
    pub fn choices(
        &self,
        indices: impl IntoIterator<Item = usize>,
        scores: Option<&[StepScores]>,
    ) -> Vec<Choice> {
        if let Strategy::Ranked { config, per_batch } = self {
            let scores = scores.expect("a score-based strategy needs the trajectories' scores");
            assert_eq!(
                indices.into_iter().count(),
                scores.len(),
                "one score per trajectory"
            );
            return ranked(config, *per_batch, scores);
        }
        indices
            .into_iter()
            .enumerate()
            .map(|(offset, index)| self.choose(index, scores.map(|scores| &scores[offset])))
            .collect()
    }
}

#[cfg(test)]
mod tests;
