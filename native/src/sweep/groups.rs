//! Results averaged over seeds: one group per strategy, head count and setting, which is a
//! point of the chart and a row of the table.

use std::collections::BTreeSet;

use clap::ValueEnum;

use super::benchmarks::{PrmBenchResult, SplitResult};
use super::results::ExperimentResult;
use super::spec::Spec;
use crate::cli::StrategyArg;

/// Mean and sample standard deviation of some numbers (0 spread for fewer than two).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = if values.len() < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        };
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self {
            mean,
            std,
            min,
            max,
        }
    }
}

/// One experiment's place on the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedPoint {
    pub budget: f64,
    pub test_f1: f64,
    pub test_f1_at_threshold: Option<f64>,
}

/// The experiments of one strategy, head count and setting, over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The chart's series: the strategy, with its head count when the sweep has several.
    pub series: String,
    pub strategy: StrategyArg,
    pub heads: usize,
    /// The decoder layer the features are read from, when the sweep names layers.
    pub feature_layer: Option<usize>,
    pub setting: String,
    pub seeds: Vec<u64>,
    /// Labels consumed over the pool size.
    pub budget: Spread,
    /// Test first-error F1 at the selection's τ.
    pub test_f1: Spread,
    /// Test first-error F1 at the τ each experiment chose on its validation set; `None` when
    /// some experiment chose none (records written before thresholds were chosen).
    pub test_f1_at_threshold: Option<Spread>,
    /// Test step ROC-AUC; `None` when some experiment has none.
    pub test_auc: Option<Spread>,
    /// Validation first-error F1 at the selection's τ.
    pub validation_f1: Spread,
    /// Validation first-error F1 at the τ each experiment chose there; `None` when some
    /// experiment chose none.
    pub validation_f1_at_threshold: Option<Spread>,
    /// Per seed: the budget, the test F1 at the selection's τ, and at the τ chosen on
    /// validation when one was.
    pub points: Vec<SeedPoint>,
    /// Estimated judge tokens, mean over seeds.
    pub judge_tokens: f64,
    /// Fraction of the labelled trajectories with an aleatoric and an epistemic reason.
    pub aleatoric_share: f64,
    pub epistemic_share: f64,
    /// Wall time of one experiment, mean over seeds.
    pub wall_seconds: f64,
    /// The benchmarks beside the test set, when every experiment was scored on the same ones.
    pub benchmarks: Option<BenchmarkSpread>,
}

/// A group's results on one ProcessBench split over seeds, beside the split's baselines.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitSpread {
    pub name: String,
    /// First-error F1 at the τ chosen on validation (at 0.5 where none was).
    pub f1: Spread,
    /// Flagging a uniformly random step or none.
    pub chance_f1: f64,
    /// Flagging each step at random at the split's best rate, where the results record it.
    pub random_rate_f1: Option<f64>,
}

/// A group's benchmark results over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkSpread {
    /// Per ProcessBench split.
    pub splits: Vec<SplitSpread>,
    /// That F1 averaged over the splits; `None` without ProcessBench.
    pub processbench_average: Option<Spread>,
    /// PRMBench's PRMScore and negF1 at τ 0.5; `None` without PRMBench.
    pub prmbench_score: Option<Spread>,
    pub prmbench_negative_f1: Option<Spread>,
}

impl BenchmarkSpread {
    /// The spread of `members`' benchmark results, or `None` when they have none or were not
    /// all scored on the same benchmarks.
    fn of(members: &[&ExperimentResult]) -> Option<Self> {
        let first = &members.first()?.benchmarks;
        let names = |r: &ExperimentResult| -> Vec<String> {
            r.benchmarks
                .processbench
                .iter()
                .map(|split| split.split.clone())
                .collect()
        };
        let comparable = members.iter().all(|r| {
            names(r) == names(members[0])
                && r.benchmarks.prmbench.is_some() == first.prmbench.is_some()
        });
        if first.is_empty() || !comparable {
            return None;
        }
        let over_seeds = |f: &dyn Fn(&ExperimentResult) -> f64| {
            Spread::of(&members.iter().map(|r| f(r)).collect::<Vec<_>>())
        };
        let splits = first
            .processbench
            .iter()
            .enumerate()
            .map(|(index, split)| SplitSpread {
                name: split.split.clone(),
                f1: over_seeds(&|r| r.benchmarks.processbench[index].reported_f1()),
                chance_f1: split.chance_f1,
                random_rate_f1: split.random_rate_f1,
            })
            .collect();
        let processbench_average = (!first.processbench.is_empty()).then(|| {
            over_seeds(&|r| {
                let splits = &r.benchmarks.processbench;
                splits.iter().map(SplitResult::reported_f1).sum::<f64>() / splits.len() as f64
            })
        });
        let prmbench = |f: fn(&PrmBenchResult) -> f64| {
            first.prmbench.map(|_| {
                over_seeds(&|r| f(r.benchmarks.prmbench.as_ref().expect("compared above")))
            })
        };
        Some(Self {
            splits,
            processbench_average,
            prmbench_score: prmbench(|p| p.score),
            prmbench_negative_f1: prmbench(|p| p.negative_f1),
        })
    }
}

impl Group {
    /// The validation F1 a setting is chosen by: at the τ chosen on validation when every
    /// experiment chose one (on real text, where τ = 0.5 flags nothing, it is the only
    /// informative one), else at the selection's τ.
    pub fn choice_f1(&self) -> f64 {
        self.validation_f1_at_threshold
            .unwrap_or(self.validation_f1)
            .mean
    }
}

/// Groups `results` by strategy, head count and setting, in a stable order (strategies as the
/// command line lists them, then head count, then budget).
pub fn group(results: &[ExperimentResult]) -> Vec<Group> {
    let several_heads = results
        .iter()
        .map(|r| r.spec.heads)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let mut keys: Vec<(StrategyArg, usize, String)> = Vec::new();
    for result in results {
        let key = key(&result.spec);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut groups: Vec<Group> = keys
        .into_iter()
        .map(|(strategy, heads, setting)| {
            let members: Vec<&ExperimentResult> = results
                .iter()
                .filter(|r| key(&r.spec) == (strategy, heads, setting.clone()))
                .collect();
            let values = |f: &dyn Fn(&ExperimentResult) -> f64| -> Vec<f64> {
                members.iter().map(|r| f(r)).collect()
            };
            let all_of = |f: &dyn Fn(&ExperimentResult) -> Option<f64>| -> Option<Spread> {
                let found: Option<Vec<f64>> = members.iter().map(|r| f(r)).collect();
                found.map(|values| Spread::of(&values))
            };
            let labelled: f64 = values(&|r| r.ledger.labels_consumed as f64).iter().sum();
            let share = |count: &dyn Fn(&ExperimentResult) -> f64| {
                values(count).iter().sum::<f64>() / labelled.max(1.0)
            };
            Group {
                series: if several_heads {
                    format!("{} E={heads}", strategy.name())
                } else {
                    strategy.name()
                },
                strategy,
                heads,
                feature_layer: members[0].spec.feature_layer,
                seeds: members.iter().map(|r| r.spec.seed).collect(),
                budget: Spread::of(&values(&|r| r.budget_fraction)),
                test_f1: Spread::of(&values(&|r| r.test.first_error.f1)),
                test_f1_at_threshold: all_of(&|r| {
                    r.test_at_threshold
                        .as_ref()
                        .map(|evaluation| evaluation.first_error.f1)
                }),
                test_auc: all_of(&|r| r.test.step_auc),
                validation_f1_at_threshold: all_of(&|r| {
                    r.threshold.map(|chosen| chosen.validation_f1)
                }),
                validation_f1: Spread::of(&values(&|r| r.validation.first_error.f1)),
                points: members
                    .iter()
                    .map(|r| SeedPoint {
                        budget: r.budget_fraction,
                        test_f1: r.test.first_error.f1,
                        test_f1_at_threshold: r
                            .test_at_threshold
                            .as_ref()
                            .map(|evaluation| evaluation.first_error.f1),
                    })
                    .collect(),
                judge_tokens: Spread::of(&values(&|r| r.ledger.judge_tokens as f64)).mean,
                aleatoric_share: share(&|r| r.ledger.aleatoric as f64),
                epistemic_share: share(&|r| r.ledger.epistemic as f64),
                wall_seconds: Spread::of(&values(&|r| r.wall_seconds)).mean,
                benchmarks: BenchmarkSpread::of(&members),
                setting,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        let rank = |g: &Group| {
            StrategyArg::value_variants()
                .iter()
                .position(|&s| s == g.strategy)
        };
        (rank(a), a.heads, a.feature_layer)
            .cmp(&(rank(b), b.heads, b.feature_layer))
            .then(a.budget.mean.total_cmp(&b.budget.mean))
    });
    groups
}

fn key(spec: &Spec) -> (StrategyArg, usize, String) {
    (spec.strategy, spec.heads, spec.setting())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::results::tests::result;

    #[test]
    fn seeds_of_one_setting_form_one_group_with_their_spread() {
        let results = vec![
            result(StrategyArg::Full, 0, 1.0, 0.9),
            result(StrategyArg::Actprm, 0, 0.4, 0.8),
            result(StrategyArg::Actprm, 1, 0.6, 0.6),
        ];
        let groups = group(&results);
        assert_eq!(groups.len(), 2);
        let actprm = &groups[0];
        assert_eq!(actprm.series, "actprm");
        assert_eq!(actprm.seeds, [0, 1]);
        assert!((actprm.budget.mean - 0.5).abs() < 1e-12);
        assert!((actprm.test_f1.mean - 0.7).abs() < 1e-12);
        // Sample standard deviation of 0.8 and 0.6.
        assert!((actprm.test_f1.std - 0.141_421_356).abs() < 1e-8);
        assert_eq!((actprm.test_f1.min, actprm.test_f1.max), (0.6, 0.8));
        assert_eq!(groups[1].series, "full");
        assert_eq!(groups[1].test_f1.std, 0.0);
    }

    /// A result scored on two ProcessBench splits (F1 `f1` at the τ chosen on validation on
    /// the first, 0.5 F1 `f1` on the second, where it chose none) and on PRMBench.
    fn benchmarked(seed: u64, f1: f64) -> ExperimentResult {
        use crate::sweep::benchmarks::{BenchmarkResults, PrmBenchResult, SplitResult};

        let mut result = result(StrategyArg::Full, seed, 1.0, f1);
        let low = {
            let mut low = result.test;
            low.first_error.f1 = 0.0;
            low
        };
        let split = |name: &str, at_threshold, at_half| SplitResult {
            split: name.to_string(),
            items: 100,
            at_threshold,
            at_half,
            chance_f1: 0.15,
            random_rate_f1: Some(0.18),
        };
        result.benchmarks = BenchmarkResults {
            processbench: vec![
                split("gsm8k", Some(result.test), low),
                split("math", None, result.test),
            ],
            prmbench: Some(PrmBenchResult {
                items: 394,
                f1: 0.9,
                negative_f1: f1,
                score: 0.5 * (0.9 + f1),
            }),
        };
        result
    }

    #[test]
    fn benchmarks_are_averaged_over_seeds_at_the_chosen_tau() {
        let groups = group(&[benchmarked(0, 0.2), benchmarked(1, 0.4)]);
        let benchmarks = groups[0]
            .benchmarks
            .as_ref()
            .expect("both were benchmarked");
        let names: Vec<&str> = benchmarks.splits.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["gsm8k", "math"]);
        let gsm8k = benchmarks.splits[0].f1;
        assert!(
            (gsm8k.mean - 0.3).abs() < 1e-12,
            "at the chosen τ, not at 0.5"
        );
        assert_eq!(benchmarks.splits[1].chance_f1, 0.15);
        assert_eq!(benchmarks.splits[1].random_rate_f1, Some(0.18));
        assert!((benchmarks.processbench_average.unwrap().mean - 0.3).abs() < 1e-12);
        assert!((benchmarks.prmbench_negative_f1.unwrap().mean - 0.3).abs() < 1e-12);
        assert!((benchmarks.prmbench_score.unwrap().mean - 0.6).abs() < 1e-12);
    }

    #[test]
    fn seeds_scored_on_other_benchmarks_are_not_averaged() {
        let mut other = benchmarked(1, 0.4);
        other.benchmarks.processbench.pop();
        assert_eq!(group(&[benchmarked(0, 0.2), other])[0].benchmarks, None);
        assert_eq!(
            group(&[result(StrategyArg::Full, 0, 1.0, 0.5)])[0].benchmarks,
            None
        );
    }

    #[test]
    fn several_head_counts_name_their_series() {
        let mut eight = result(StrategyArg::Actprm, 0, 0.5, 0.7);
        eight.spec.heads = 8;
        let groups = group(&[result(StrategyArg::Actprm, 0, 0.4, 0.8), eight]);
        let series: Vec<_> = groups.iter().map(|g| g.series.as_str()).collect();
        assert_eq!(series, ["actprm E=4", "actprm E=8"]);
    }
}
