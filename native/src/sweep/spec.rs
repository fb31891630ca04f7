//! One experiment of a sweep, and the grid of them the arguments describe.

use actprm_core::pool_indices::PoolIndices;
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use serde::{Deserialize, Serialize};

use crate::cli::{StrategyArg, SweepArgs};

/// What distinguishes one experiment of a sweep from another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub strategy: StrategyArg,
    pub seed: u64,
    pub heads: usize,
    /// δ_pred of the rule strategies; for `random` matched to an `actprm` run, that run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_pred: Option<f32>,
    /// δ_std, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_std: Option<f32>,
    /// Threshold in bits of `entropy` and `bald`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Fraction of the pool `random` labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Trajectories `actprm-ranked` labels per mini-batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_batch: Option<usize>,
    /// The decoder layer the step features are read from, with `--feature-layers`; `None`
    /// reads the one --feature-layer names (or the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_layer: Option<usize>,
}

impl Spec {
    fn new(strategy: StrategyArg, seed: u64, heads: usize, feature_layer: Option<usize>) -> Self {
        Self {
            strategy,
            seed,
            heads,
            delta_pred: None,
            delta_std: None,
            threshold: None,
            fraction: None,
            per_batch: None,
            feature_layer,
        }
    }

    /// The data this experiment reads: its seed's, with its layer's features.
    pub fn data_key(&self) -> (u64, Option<usize>) {
        (self.seed, self.feature_layer)
    }

    /// A `strategy` experiment matched to an `actprm` experiment, at the budget it spent: a
    /// random baseline, or actprm-offline on its labels.
    pub fn matching(strategy: StrategyArg, actprm: &Spec, budget_fraction: f64) -> Self {
        Self {
            fraction: Some(budget_fraction),
            ..Self {
                strategy,
                ..actprm.clone()
            }
        }
    }

    /// The strategy to run, with τ for the score-based ones and, for actprm-offline, the
    /// trajectories its actprm experiment labelled.
    pub fn strategy(&self, tau: f32, labelled: &PoolIndices) -> Strategy {
        let defaults = SelectionConfig::new();
        let rule = SelectionConfig::new()
            .with_delta_pred(self.delta_pred.unwrap_or(defaults.delta_pred))
            .with_delta_std(self.delta_std.unwrap_or(defaults.delta_std))
            .with_tau(tau);
        self.strategy.strategy(
            rule,
            self.threshold.unwrap_or_default(),
            self.per_batch.unwrap_or_default(),
            self.fraction.unwrap_or_default(),
            self.seed,
            labelled,
        )
    }

    /// The setting within the strategy, the same across seeds: the experiments a chart point
    /// and a table row average over share it.
    pub fn setting(&self) -> String {
        match self.feature_layer {
            Some(layer) => format!("layer {layer} · {}", self.strategy_setting()),
            None => self.strategy_setting(),
        }
    }

    /// [`Spec::setting`] without the layer.
    fn strategy_setting(&self) -> String {
        // A rule's setting: its thresholds, after the count when it is ranked.
        let rule = || {
            let deltas = format!(
                "δ_pred {} · δ_std {}",
                self.delta_pred.unwrap_or_default(),
                self.delta_std.unwrap_or_default()
            );
            match self.per_batch {
                Some(per_batch) => format!("{per_batch} per mini-batch · {deltas}"),
                None => deltas,
            }
        };
        // The rule experiment a matched baseline follows, by name and setting.
        let matched_to = || match self.per_batch {
            Some(_) => format!("actprm-ranked {}", rule()),
            None => format!("actprm {}", rule()),
        };
        match self.strategy {
            StrategyArg::Actprm
            | StrategyArg::ActprmRanked
            | StrategyArg::AleatoricOnly
            | StrategyArg::EpistemicOnly => rule(),
            StrategyArg::Entropy | StrategyArg::Bald => {
                format!("threshold {} bits", self.threshold.unwrap_or_default())
            }
            StrategyArg::Random | StrategyArg::RandomOffline if self.delta_pred.is_some() => {
                format!("budget of {}", matched_to())
            }
            StrategyArg::ActprmOffline => format!("labels of {}", matched_to()),
            StrategyArg::Random | StrategyArg::RandomOffline => {
                format!("fraction {}", self.fraction.unwrap_or_default())
            }
            StrategyArg::Full => "every trajectory".to_string(),
        }
    }

    /// A short label for progress lines.
    pub fn label(&self) -> String {
        format!(
            "{} E={} seed {} ({})",
            self.strategy.name(),
            self.heads,
            self.seed,
            self.setting()
        )
    }
}

/// The experiments that need no other experiment's result, in run order: every strategy but
/// those matched to actprm ([`matched_to_actprm`]), for every seed, head count and feature
/// layer.
pub fn independent_grid(args: &SweepArgs) -> Vec<Spec> {
    let layers = feature_layers(args);
    let mut specs = Vec::new();
    for &seed in &args.seeds {
        for &heads in &args.heads {
            for &strategy in &args.strategies {
                for &layer in &layers {
                    let base = Spec::new(strategy, seed, heads, layer);
                    match strategy {
                        StrategyArg::Actprm
                        | StrategyArg::ActprmRanked
                        | StrategyArg::AleatoricOnly
                        | StrategyArg::EpistemicOnly => {
                            // The ranked rule also crosses its per-batch counts.
                            let counts: Vec<Option<usize>> = match strategy {
                                StrategyArg::ActprmRanked => {
                                    args.per_batch.iter().copied().map(Some).collect()
                                }
                                _ => vec![None],
                            };
                            for &per_batch in &counts {
                                for &delta_pred in &args.delta_pred {
                                    for &delta_std in &args.delta_std {
                                        specs.push(Spec {
                                            per_batch,
                                            delta_pred: Some(delta_pred),
                                            delta_std: Some(delta_std),
                                            ..base.clone()
                                        });
                                    }
                                }
                            }
                        }
                        StrategyArg::Entropy | StrategyArg::Bald => {
                            let thresholds = if strategy == StrategyArg::Entropy {
                                &args.entropy_thresholds
                            } else {
                                &args.bald_thresholds
                            };
                            specs.extend(thresholds.iter().map(|&threshold| Spec {
                                threshold: Some(threshold),
                                ..base.clone()
                            }));
                        }
                        StrategyArg::Random | StrategyArg::RandomOffline => {
                            specs.extend(args.random_fractions.iter().map(|&fraction| Spec {
                                fraction: Some(fraction),
                                ..base.clone()
                            }));
                        }
                        StrategyArg::ActprmOffline => {}
                        // The baseline does not depend on the head count beyond its model; run it
                        // once per seed and head count all the same, so each E has its reference.
                        StrategyArg::Full => specs.push(base),
                    }
                }
            }
        }
    }
    specs
}

/// The feature layers the experiments read, each a setting: those --feature-layers names, or
/// `None` alone, the layer --feature-layer names (or the last).
pub fn feature_layers(args: &SweepArgs) -> Vec<Option<usize>> {
    match args.feature_layers.is_empty() {
        true => vec![None],
        false => args.feature_layers.iter().copied().map(Some).collect(),
    }
}

/// The strategies run once per `actprm` experiment, at its budget: the random baselines
/// (`random`, `random-offline`) asked for, unless --random-fractions fixes their budgets, and
/// `actprm-offline`, which trains on that experiment's labels.
pub fn matched_to_actprm(args: &SweepArgs) -> Vec<StrategyArg> {
    let fixed_fractions = !args.random_fractions.is_empty();
    args.strategies
        .iter()
        .copied()
        .filter(|strategy| match strategy {
            StrategyArg::Random | StrategyArg::RandomOffline => !fixed_fractions,
            other => other.is_matched_to_actprm(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn sweep_args(extra: &[&str]) -> SweepArgs {
        let argv = ["actprm", "sweep"].iter().chain(extra);
        match Cli::parse_from(argv).command {
            Command::Sweep(args) => args,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn the_grid_crosses_seeds_heads_and_thresholds() {
        let args = sweep_args(&[
            "--strategies",
            "actprm,entropy,full,random,random-offline,actprm-offline",
            "--seeds",
            "0,1",
            "--heads",
            "1,8",
            "--delta-pred",
            "0.9,0.95",
            "--delta-std",
            "0.005,0.05",
            "--entropy-thresholds",
            "0.1,0.3,0.5",
        ]);
        let grid = independent_grid(&args);
        // Per seed and head count: 4 actprm settings, 3 entropy thresholds, 1 full; matched
        // random runs come later.
        assert_eq!(grid.len(), 2 * 2 * (4 + 3 + 1));
        assert_eq!(
            matched_to_actprm(&args),
            [
                StrategyArg::Random,
                StrategyArg::RandomOffline,
                StrategyArg::ActprmOffline
            ]
        );
        let settings: std::collections::BTreeSet<_> = grid.iter().map(Spec::setting).collect();
        assert_eq!(settings.len(), 4 + 3 + 1);
        assert!(
            grid.iter()
                .all(|spec| !spec.strategy.is_matched_to_actprm())
        );
    }

    /// Each feature layer is a setting of every strategy, read from data of its own.
    #[test]
    fn feature_layers_are_settings_of_every_strategy() {
        let args = sweep_args(&[
            "--strategies",
            "actprm,full",
            "--seeds",
            "0,1",
            "--feature-layers",
            "12,24",
        ]);
        let grid = independent_grid(&args);
        assert_eq!(grid.len(), 2 * 2 * 2);
        let settings: std::collections::BTreeSet<_> = grid.iter().map(Spec::setting).collect();
        assert_eq!(
            settings.into_iter().collect::<Vec<_>>(),
            [
                "layer 12 · every trajectory",
                "layer 12 · δ_pred 0.95 · δ_std 0.005",
                "layer 24 · every trajectory",
                "layer 24 · δ_pred 0.95 · δ_std 0.005",
            ]
        );
        let keys: std::collections::BTreeSet<_> = grid.iter().map(Spec::data_key).collect();
        assert_eq!(keys.len(), 4);
        let matched = Spec::matching(StrategyArg::Random, &grid[0], 0.5);
        assert_eq!(matched.data_key(), grid[0].data_key());
        assert!(
            sweep_args(&["--strategies", "full"])
                .feature_layers
                .is_empty()
        );
    }

    /// actprm-ranked crosses its per-batch counts with the thresholds it ranks against.
    #[test]
    fn ranked_per_batch_counts_are_settings() {
        let args = sweep_args(&[
            "--strategies",
            "actprm-ranked",
            "--seeds",
            "1",
            "--per-batch",
            "2,8",
            "--delta-pred",
            "0.55",
            "--delta-std",
            "0.15",
        ]);
        let grid = independent_grid(&args);
        assert_eq!(grid.len(), 2);
        assert_eq!(
            grid[1].setting(),
            "8 per mini-batch · δ_pred 0.55 · δ_std 0.15"
        );
        assert_eq!(
            grid[1].strategy(0.5, &PoolIndices::default()),
            Strategy::Ranked {
                config: SelectionConfig::new()
                    .with_delta_pred(0.55)
                    .with_delta_std(0.15)
                    .with_tau(0.5),
                per_batch: 8
            }
        );
        assert!(matched_to_actprm(&args).is_empty());
        let labels = Spec::matching(StrategyArg::ActprmOffline, &grid[0], 0.125);
        assert_eq!(
            labels.setting(),
            "labels of actprm-ranked 2 per mini-batch · δ_pred 0.55 · δ_std 0.15"
        );
        let line = serde_json::to_string(&grid[0]).unwrap();
        assert_eq!(serde_json::from_str::<Spec>(&line).unwrap(), grid[0]);
    }

    #[test]
    fn explicit_random_fractions_are_part_of_the_grid() {
        let args = sweep_args(&[
            "--strategies",
            "random",
            "--seeds",
            "3",
            "--random-fractions",
            "0.25,0.5",
        ]);
        let grid = independent_grid(&args);
        assert_eq!(grid.len(), 2);
        assert!(matched_to_actprm(&args).is_empty());
        assert_eq!(
            grid[1].strategy(0.5, &PoolIndices::default()),
            Strategy::Random {
                fraction: 0.5,
                seed: 3
            }
        );
    }

    #[test]
    fn matched_random_keeps_its_actprm_setting_and_survives_a_round_trip() {
        let actprm = Spec {
            delta_pred: Some(0.95),
            delta_std: Some(0.005),
            ..Spec::new(StrategyArg::Actprm, 2, 32, None)
        };
        let random = Spec::matching(StrategyArg::Random, &actprm, 0.4886666);
        assert_eq!(
            random.setting(),
            "budget of actprm δ_pred 0.95 · δ_std 0.005"
        );
        let line = serde_json::to_string(&random).unwrap();
        assert_eq!(serde_json::from_str::<Spec>(&line).unwrap(), random);
        let none = PoolIndices::default();
        assert_eq!(actprm.strategy(0.5, &none).name(), "actprm");
        let offline = Spec::matching(StrategyArg::RandomOffline, &actprm, 0.4886666);
        assert_eq!(offline.setting(), random.setting());
        assert_eq!(
            offline.strategy(0.5, &none),
            Strategy::RandomOffline {
                fraction: 0.4886666,
                seed: 2
            }
        );
        let labels = Spec::matching(StrategyArg::ActprmOffline, &actprm, 0.4886666);
        assert_eq!(
            labels.setting(),
            "labels of actprm δ_pred 0.95 · δ_std 0.005"
        );
        let labelled: PoolIndices = [4, 5, 8].into_iter().collect();
        assert_eq!(
            labels.strategy(0.5, &labelled),
            Strategy::ActprmOffline { labelled }
        );
    }

    /// actprm-offline is matched to every actprm experiment, even beside fixed random
    /// fractions, and never runs on its own.
    #[test]
    fn actprm_offline_is_always_matched_to_actprm() {
        let args = sweep_args(&[
            "--strategies",
            "actprm,random,actprm-offline",
            "--random-fractions",
            "0.5",
            "--heads",
            "8",
            "--seeds",
            "0",
        ]);
        assert_eq!(matched_to_actprm(&args), [StrategyArg::ActprmOffline]);
        let grid = independent_grid(&args);
        assert!(
            grid.iter()
                .all(|spec| spec.strategy != StrategyArg::ActprmOffline)
        );
        assert_eq!(grid.len(), 2);
    }
}
