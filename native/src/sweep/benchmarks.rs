//! Benchmarks a sweep scores every trained model on, beside the task's test set: every
//! ProcessBench split, at the τ its run chose on validation and at 0.5, and PRMBench at 0.5
//! (its protocol). Averaged over seeds, they are the sweep's second table.

use actprm_core::Trajectory;
use actprm_core::data::{PROCESSBENCH_SPLITS, PrmBenchItem};
use actprm_core::eval::Evaluation;
use actprm_core::eval::baselines::TrivialBaselines;
use actprm_core::eval::threshold::{ChosenThreshold, PAPER_TAU};
use actprm_core::model::EnsemblePrm;
use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cli::BenchmarkArgs;
use crate::data_files::{read_prmbench_data, read_processbench_split};
use crate::encoded_set::EncodedSet;
use crate::pool_experiment::ExperimentData;

/// The benchmarks a sweep was given, read once for every seed.
#[derive(Default)]
pub struct Benchmarks {
    /// Each ProcessBench split's name, trajectories and trivial baselines.
    processbench: Vec<(String, Vec<Trajectory>, TrivialBaselines)>,
    prmbench: Option<Vec<PrmBenchItem>>,
}

impl Benchmarks {
    /// The benchmarks `args` name.
    pub fn read(args: &BenchmarkArgs) -> Result<Self> {
        let processbench = match &args.processbench {
            Some(dir) => PROCESSBENCH_SPLITS
                .iter()
                .map(|split| {
                    let trajectories = read_processbench_split(dir, split)?;
                    let baselines = TrivialBaselines::of(&trajectories);
                    Ok(((*split).to_string(), trajectories, baselines))
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let prmbench = args
            .prmbench
            .as_deref()
            .map(read_prmbench_data)
            .transpose()?;
        Ok(Self {
            processbench,
            prmbench,
        })
    }
}

/// The benchmark sets of one seed's data, read as its pool is read.
#[derive(Default)]
pub struct BenchmarkSets {
    processbench: Vec<ProcessBenchSplit>,
    prmbench: Option<(Vec<PrmBenchItem>, EncodedSet)>,
}

struct ProcessBenchSplit {
    name: String,
    set: EncodedSet,
    baselines: TrivialBaselines,
}

impl BenchmarkSets {
    /// `benchmarks` encoded (and their features read) for `data`.
    pub fn encode(benchmarks: &Benchmarks, data: &ExperimentData) -> Result<Self> {
        let processbench = benchmarks
            .processbench
            .iter()
            .map(|(name, trajectories, baselines)| {
                Ok(ProcessBenchSplit {
                    name: name.clone(),
                    set: data.encode(trajectories.clone(), &format!("ProcessBench {name}"))?,
                    baselines: *baselines,
                })
            })
            .collect::<Result<_>>()?;
        let prmbench = match &benchmarks.prmbench {
            Some(items) => {
                let trajectories = items.iter().map(|item| item.trajectory.clone()).collect();
                Some((items.clone(), data.encode(trajectories, "PRMBench")?))
            }
            None => None,
        };
        Ok(Self {
            processbench,
            prmbench,
        })
    }

    /// `model`'s results on every benchmark, ProcessBench's at `threshold` (the τ chosen on
    /// validation) when there is one, and at 0.5.
    pub fn evaluate(
        &self,
        data: &ExperimentData,
        model: &EnsemblePrm,
        threshold: Option<ChosenThreshold>,
    ) -> BenchmarkResults {
        let processbench = self
            .processbench
            .iter()
            .map(|split| {
                let scores = data.score(model, &split.set, |_| {});
                let at = |tau| Evaluation::from_scores(&split.set.trajectories, &scores, tau);
                SplitResult {
                    split: split.name.clone(),
                    items: split.set.len(),
                    at_threshold: threshold.map(|chosen| at(chosen.tau)),
                    at_half: at(PAPER_TAU),
                    chance_f1: split.baselines.random_step.f1,
                    random_rate_f1: Some(split.baselines.random_rate.scores.f1),
                }
            })
            .collect();
        let prmbench = self.prmbench.as_ref().map(|(items, set)| {
            let scores = data.score(model, set, |_| {});
            let overall = actprm_core::eval::prmbench::evaluate(items, &scores).overall;
            PrmBenchResult {
                items: items.len(),
                f1: overall.f1,
                negative_f1: overall.negative_f1,
                score: overall.score,
            }
        });
        BenchmarkResults {
            processbench,
            prmbench,
        }
    }
}

/// One model's results on the sweep's benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkResults {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processbench: Vec<SplitResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prmbench: Option<PrmBenchResult>,
}

impl BenchmarkResults {
    pub fn is_empty(&self) -> bool {
        self.processbench.is_empty() && self.prmbench.is_none()
    }
}

/// One ProcessBench split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitResult {
    pub split: String,
    pub items: usize,
    /// At the τ chosen on validation; `None` when the run chose none.
    pub at_threshold: Option<Evaluation>,
    /// At τ = 0.5, the paper's protocol.
    pub at_half: Evaluation,
    /// The F1 of flagging a uniformly random step or none, the chance level.
    pub chance_f1: f64,
    /// The F1 expected of flagging each step at random at the rate best for the split; absent
    /// from results written before it was recorded.
    #[serde(default)]
    pub random_rate_f1: Option<f64>,
}

impl SplitResult {
    /// First-error F1 at the τ chosen on validation, or at 0.5 when none was chosen.
    pub fn reported_f1(&self) -> f64 {
        self.at_threshold.unwrap_or(self.at_half).first_error.f1
    }
}

/// PRMBench's overall scores at τ 0.5.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrmBenchResult {
    pub items: usize,
    /// F1 of the steps judged valid.
    pub f1: f64,
    /// F1 of the steps judged erroneous.
    pub negative_f1: f64,
    /// PRMScore: the mean of the two.
    pub score: f64,
}
