//! How a [`Strategy`] is written to files: an object tagged by its command-line name, with
//! every setting the strategy reads beside the name.

use serde::{Deserialize, Serialize};

use super::{InformationRule, Measure, Strategy};
use crate::pool_indices::PoolIndices;
use crate::selection::{SelectionConfig, Tests};

/// [`Strategy`] as files hold it: tagged by its name, its settings beside the name.
#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub(super) enum StrategyRecord {
    Actprm(SelectionConfig),
    #[serde(alias = "aleatoric_only")]
    AleatoricOnly(SelectionConfig),
    #[serde(alias = "epistemic_only")]
    EpistemicOnly(SelectionConfig),
    Entropy {
        threshold: f32,
        tau: f32,
    },
    Bald {
        threshold: f32,
        tau: f32,
    },
    ActprmRanked {
        #[serde(flatten)]
        config: SelectionConfig,
        per_batch: usize,
    },
    Random {
        fraction: f64,
        seed: u64,
    },
    RandomOffline {
        fraction: f64,
        seed: u64,
    },
    ActprmOffline {
        labelled: PoolIndices,
    },
    Full,
}

impl From<Strategy> for StrategyRecord {
    fn from(strategy: Strategy) -> Self {
        match strategy {
            Strategy::Rule { config, tests } => match tests {
                Tests::Both => StrategyRecord::Actprm(config),
                Tests::AleatoricOnly => StrategyRecord::AleatoricOnly(config),
                Tests::EpistemicOnly => StrategyRecord::EpistemicOnly(config),
            },
            Strategy::Information(InformationRule {
                measure,
                threshold,
                tau,
            }) => match measure {
                Measure::Entropy => StrategyRecord::Entropy { threshold, tau },
                Measure::MutualInformation => StrategyRecord::Bald { threshold, tau },
            },
            Strategy::Ranked { config, per_batch } => {
                StrategyRecord::ActprmRanked { config, per_batch }
            }
            Strategy::Random { fraction, seed } => StrategyRecord::Random { fraction, seed },
            Strategy::RandomOffline { fraction, seed } => {
                StrategyRecord::RandomOffline { fraction, seed }
            }
            Strategy::ActprmOffline { labelled } => StrategyRecord::ActprmOffline { labelled },
            Strategy::Full => StrategyRecord::Full,
        }
    }
}

impl From<StrategyRecord> for Strategy {
    fn from(record: StrategyRecord) -> Self {
        let rule = |config, tests| Strategy::Rule { config, tests };
        match record {
            StrategyRecord::Actprm(config) => rule(config, Tests::Both),
            StrategyRecord::AleatoricOnly(config) => rule(config, Tests::AleatoricOnly),
            StrategyRecord::EpistemicOnly(config) => rule(config, Tests::EpistemicOnly),
            StrategyRecord::Entropy { threshold, tau } => Strategy::entropy(threshold, tau),
            StrategyRecord::Bald { threshold, tau } => Strategy::bald(threshold, tau),
            StrategyRecord::ActprmRanked { config, per_batch } => {
                Strategy::Ranked { config, per_batch }
            }
            StrategyRecord::Random { fraction, seed } => Strategy::Random { fraction, seed },
            StrategyRecord::RandomOffline { fraction, seed } => {
                Strategy::RandomOffline { fraction, seed }
            }
            StrategyRecord::ActprmOffline { labelled } => Strategy::ActprmOffline { labelled },
            StrategyRecord::Full => Strategy::Full,
        }
    }
}
