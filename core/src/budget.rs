//! The budget ledger of a pass: what the judge was paid for, what it cost, and why each
//! trajectory was bought.

use serde::{Deserialize, Serialize};

use crate::judge::JudgeCost;
use crate::pool_indices::PoolIndices;
use crate::trainer::UpdateStats;

/// Number of equal parts of the pass the selection rate is reported over.
const PARTS: usize = 10;

/// What happened to one mini-batch of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BatchReport {
    /// 0-based index of the mini-batch.
    pub batch: usize,
    /// Number of mini-batches in the pass.
    pub num_batches: usize,
    /// Trajectories in this mini-batch.
    pub batch_size: usize,
    /// Trajectories sent to the judge.
    pub selected: usize,
    /// Selected trajectories with an aleatoric reason.
    pub aleatoric: usize,
    /// Selected trajectories with an epistemic reason.
    pub epistemic: usize,
    /// Trajectories labelled whatever their scores.
    pub unconditional: usize,
    /// Selected trajectories the judge returned no usable label for.
    pub discarded: usize,
    /// Trajectories sent to the judge so far in the pass (the budget spent).
    pub labels_consumed: usize,
    /// Labelled steps obtained so far in the pass.
    pub steps_labelled: usize,
    /// The update made, or `None` when it was skipped (nothing labelled).
    pub update: Option<UpdateStats>,
}

impl BatchReport {
    /// Fraction of this mini-batch sent to the judge.
    pub fn selection_rate(&self) -> f64 {
        self.selected as f64 / self.batch_size.max(1) as f64
    }
}

/// Totals of one pass over the pool, built from its mini-batch reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetLedger {
    /// Trajectories in the pool.
    pub pool_size: usize,
    /// Trajectories sent to the judge: the budget.
    pub labels_consumed: usize,
    /// Labelled steps obtained (steps up to and including the first error).
    pub steps_labelled: usize,
    /// Trajectories the judge returned no usable label for.
    pub discarded: usize,
    /// Selected trajectories with an aleatoric reason (an unsure mean, or high entropy).
    pub aleatoric: usize,
    /// Selected trajectories with an epistemic reason (disagreeing heads, or high mutual
    /// information). A trajectory can have both reasons.
    pub epistemic: usize,
    /// Trajectories labelled whatever their scores (the random and full baselines).
    pub unconditional: usize,
    /// Mini-batches with an update.
    pub updates: usize,
    /// Tokens the judge is estimated to have generated.
    pub judge_tokens: u64,
    /// Tokens per judged trajectory the estimate used.
    pub tokens_per_trajectory: u64,
    /// Trajectories seen in each tenth of the pass (by mini-batch).
    pub seen_by_tenth: Vec<usize>,
    /// Trajectories sent to the judge in each tenth of the pass.
    pub selected_by_tenth: Vec<usize>,
    /// The pool trajectories the judge labelled (ledgers written before it was kept read it
    /// as empty).
    #[serde(default)]
    pub labelled: PoolIndices,
}

impl BudgetLedger {
    /// An empty ledger for a pool of `pool_size` trajectories.
    pub fn new(pool_size: usize, cost: &JudgeCost) -> Self {
        Self {
            pool_size,
            labels_consumed: 0,
            steps_labelled: 0,
            discarded: 0,
            aleatoric: 0,
            epistemic: 0,
            unconditional: 0,
            updates: 0,
            judge_tokens: 0,
            tokens_per_trajectory: cost.tokens_per_trajectory,
            seen_by_tenth: vec![0; PARTS],
            selected_by_tenth: vec![0; PARTS],
            labelled: PoolIndices::default(),
        }
    }

    /// Adds one mini-batch.
    pub fn record(&mut self, report: &BatchReport, steps_labelled: usize) {
        self.labels_consumed += report.selected;
        self.steps_labelled += steps_labelled;
        self.discarded += report.discarded;
        self.aleatoric += report.aleatoric;
        self.epistemic += report.epistemic;
        self.unconditional += report.unconditional;
        self.updates += usize::from(report.update.is_some());
        self.judge_tokens = self.labels_consumed as u64 * self.tokens_per_trajectory;
        let part = report.batch * PARTS / report.num_batches.max(1);
        self.seen_by_tenth[part] += report.batch_size;
        self.selected_by_tenth[part] += report.selected;
    }

    /// Labels consumed as a fraction of the pool: the normalised budget.
    pub fn budget_fraction(&self) -> f64 {
        self.labels_consumed as f64 / self.pool_size.max(1) as f64
    }

    /// Fraction of the trajectories sent to the judge in each tenth of the pass that saw any.
    pub fn selection_rate_by_tenth(&self) -> Vec<f64> {
        self.seen_by_tenth
            .iter()
            .zip(&self.selected_by_tenth)
            .filter(|(seen, _)| **seen > 0)
            .map(|(&seen, &selected)| selected as f64 / seen as f64)
            .collect()
    }

    /// Trajectories the judge answered with a usable label: those sent, less those discarded.
    pub fn judged(&self) -> usize {
        self.labels_consumed.saturating_sub(self.discarded)
    }

    /// The trajectories the judge labelled, when the ledger lists every one it answered for;
    /// `None` when it lists fewer: a ledger written before the list was kept reads it as
    /// empty, and a pass resumed across that change lists only what it labelled after.
    pub fn labelled_in_full(&self) -> Option<&PoolIndices> {
        (self.labelled.len() == self.judged()).then_some(&self.labelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(batch: usize, num_batches: usize, selected: usize) -> BatchReport {
        BatchReport {
            batch,
            num_batches,
            batch_size: 4,
            selected,
            aleatoric: selected,
            epistemic: selected / 2,
            unconditional: 0,
            discarded: 0,
            labels_consumed: 0,
            steps_labelled: 0,
            update: None,
        }
    }

    #[test]
    fn totals_cost_and_rates_by_tenth() {
        let mut ledger = BudgetLedger::new(80, &JudgeCost::new());
        // 20 mini-batches of 4: the first half selects everything, the second half nothing.
        for batch in 0..20 {
            ledger.record(&report(batch, 20, if batch < 10 { 4 } else { 0 }), 3);
        }
        assert_eq!(ledger.labels_consumed, 40);
        assert_eq!(ledger.budget_fraction(), 0.5);
        assert_eq!(ledger.judge_tokens, 40 * 1920);
        assert_eq!((ledger.aleatoric, ledger.epistemic), (40, 20));
        assert_eq!(ledger.steps_labelled, 60);
        assert_eq!(
            ledger.selection_rate_by_tenth(),
            [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn a_short_pass_reports_only_the_tenths_it_has() {
        let mut ledger = BudgetLedger::new(12, &JudgeCost::new().with_tokens_per_trajectory(10));
        for batch in 0..3 {
            ledger.record(&report(batch, 3, batch + 1), 0);
        }
        assert_eq!(ledger.selection_rate_by_tenth(), [0.25, 0.5, 0.75]);
        assert_eq!(ledger.judge_tokens, 60);
    }

    /// The list is whole when it names every trajectory judged, discarded ones apart.
    #[test]
    fn the_labelled_list_is_whole_only_when_it_names_every_judged_trajectory() {
        let mut ledger = BudgetLedger::new(12, &JudgeCost::new());
        ledger.record(&report(0, 3, 4), 0);
        assert_eq!(
            ledger.labelled_in_full(),
            None,
            "an older ledger's empty list"
        );
        ledger.labelled = (0..3).collect();
        assert_eq!(ledger.labelled_in_full(), None);
        ledger.discarded = 1;
        assert_eq!(ledger.labelled_in_full().map(PoolIndices::len), Some(3));
    }
}
