//! The pool-based active-learning loop (docs/method.md §4, the paper's Algorithm 1): one pass over
//! the pool with a cold start; each mini-batch is scored, the uncertain trajectories are sent to
//! the judge, and the model is updated on them alone, or on them and labels bought earlier
//! when the pass rehearses (`rehearsal.rs`).

use std::ops::Range;

use crate::batch::Inputs;
pub use crate::budget::BatchReport;
use crate::budget::BudgetLedger;
use crate::judge::{Judge, JudgeCost};
use crate::strategy::{Choice, Strategy};
use crate::trainer::{PrmTrainer, UpdateStats};
use crate::trajectory::{ProcessLabel, Trajectory};

mod rehearsal;

pub use rehearsal::Rehearsal;

/// Number of mini-batches a pass over `pool_size` trajectories in mini-batches of `batch_size`
/// makes (the last one may be short).
pub fn num_batches(pool_size: usize, batch_size: usize) -> usize {
    pool_size.div_ceil(batch_size.max(1))
}

/// One pass over a pool: `pool[i]` is the trajectory whose encoding is `encoded[i]`.
pub struct PoolPass<'a, J: Judge> {
    /// The trajectories (their stored labels are only ever read through the judge).
    pub pool: &'a [Trajectory],
    /// What the model reads of them: `inputs` item `i` is `pool[i]`.
    pub inputs: Inputs<'a>,
    /// Which trajectories to label.
    pub strategy: Strategy,
    /// Who labels them.
    pub judge: J,
    /// What a label costs, for the ledger.
    pub judge_cost: JudgeCost,
    /// Trajectories per mini-batch.
    pub batch_size: usize,
    /// At most this many trajectories are sent to the judge (the label budget); the pass ends
    /// once it is spent. `None` places no limit.
    pub label_budget: Option<usize>,
    /// Until this many updates are made, every trajectory of a mini-batch is labelled whatever
    /// the strategy says: a guard against the cold start's confident "all correct", which the
    /// paper's loop (0, no guard) trusts as soon as the untrained heads agree on it.
    pub warmup_updates: usize,
    /// Times the pass walks the pool (1: the paper's single pass). The first walk buys the
    /// labels; every later one updates on those labels again, in the same mini-batches,
    /// asking neither the strategy nor the judge.
    pub epochs: usize,
    /// Earlier labels each update trains on beside its mini-batch's own
    /// ([`Rehearsal::NONE`]: the paper's loop).
    pub rehearsal: Rehearsal,
}

impl<'a, J: Judge> PoolPass<'a, J> {
    /// Number of mini-batches the pass makes, over every epoch.
    pub fn num_batches(&self) -> usize {
        self.batches_per_epoch() * self.epochs.max(1)
    }

    /// Number of mini-batches of one walk over the pool.
    fn batches_per_epoch(&self) -> usize {
        num_batches(self.pool.len(), self.batch_size)
    }

    /// Pool indices of mini-batch `batch`.
    pub fn batch_range(&self, batch: usize) -> Range<usize> {
        let batch_size = self.batch_size.max(1);
        let within = batch % self.batches_per_epoch().max(1);
        let first = (within * batch_size).min(self.pool.len());
        first..(first + batch_size).min(self.pool.len())
    }

    /// Whether mini-batch `batch` belongs to a later epoch, which learns again from the labels
    /// the first bought.
    fn replays(&self, batch: usize) -> bool {
        batch >= self.batches_per_epoch()
    }

    /// What the model reads of mini-batch `batch`.
    pub fn batch_inputs(&self, batch: usize) -> Inputs<'a> {
        self.inputs.slice(self.batch_range(batch))
    }

    /// Runs the pass, calling `on_batch` with the report and the trainer after every
    /// mini-batch; an error from `on_batch` stops the pass. Returns the pass's budget ledger.
    pub fn run<E>(
        self,
        trainer: &mut PrmTrainer,
        on_batch: impl FnMut(&BatchReport, &PrmTrainer, &PassProgress) -> Result<(), E>,
    ) -> Result<BudgetLedger, E> {
        let progress = self.start();
        self.run_from(progress, trainer, on_batch)
    }

    /// [`PoolPass::run`] going on from `progress`, where a pass stopped with `trainer` (see
    /// [`PrmTrainer::resume`]); `on_batch` also sees where the pass stands after each
    /// mini-batch, which is what a later resume needs.
    pub fn run_from<E>(
        mut self,
        mut progress: PassProgress,
        trainer: &mut PrmTrainer,
        mut on_batch: impl FnMut(&BatchReport, &PrmTrainer, &PassProgress) -> Result<(), E>,
    ) -> Result<BudgetLedger, E> {
        while let Some(report) = self.step(trainer, &mut progress) {
            on_batch(&report, trainer, &progress)?;
        }
        Ok(progress.ledger)
    }

    /// Where the pass stands before its first mini-batch.
    pub fn start(&self) -> PassProgress {
        PassProgress::new(self.pool.len(), &self.judge_cost)
    }

    /// The pass's next mini-batch: scored, chosen from, judged, and learnt from. `None` once
    /// the pass is over.
    pub fn step(
        &mut self,
        trainer: &mut PrmTrainer,
        progress: &mut PassProgress,
    ) -> Option<BatchReport> {
        let batch = self.next_batch(progress)?;
        let judged = match self.judged_without_strategy(batch, progress) {
            Some(judged) => judged,
            None => {
                let inputs = self.batch_inputs(batch);
                let first = self.batch_range(batch).start;
                let choices = self.strategy.choose_batch(trainer.model(), first, inputs);
                self.judge_batch(batch, choices, progress)
            }
        };
        let (indices, labels) = self.training_set(&judged, progress);
        let update = trainer.step(self.inputs, &indices, &labels);
        Some(self.conclude(judged, update, progress))
    }

    /// [`PoolPass::step`] reading scores and loss back asynchronously, as a browser's WebGPU
    /// device requires.
    pub async fn step_async(
        &mut self,
        trainer: &mut PrmTrainer,
        progress: &mut PassProgress,
    ) -> Option<BatchReport> {
        let batch = self.next_batch(progress)?;
        let judged = match self.judged_without_strategy(batch, progress) {
            Some(judged) => judged,
            None => {
                let inputs = self.batch_inputs(batch);
                let first = self.batch_range(batch).start;
                let model = trainer.model();
                let choices = self.strategy.choose_batch_async(model, first, inputs).await;
                self.judge_batch(batch, choices, progress)
            }
        };
        let (indices, labels) = self.training_set(&judged, progress);
        let update = trainer.step_async(self.inputs, &indices, &labels).await;
        Some(self.conclude(judged, update, progress))
    }

    /// The mini-batch `progress` is at, unless the pass is over.
    fn next_batch(&self, progress: &PassProgress) -> Option<usize> {
        assert_eq!(
            self.pool.len(),
            self.inputs.len(),
            "one input per pool trajectory"
        );
        (!progress.stopped && progress.next_batch < self.num_batches())
            .then_some(progress.next_batch)
    }

    /// Whether the warm-up still labels every trajectory whatever the strategy says.
    fn warming_up(&self, progress: &PassProgress) -> bool {
        progress.ledger.updates < self.warmup_updates
    }

    /// Mini-batch `batch` judged when the strategy has no say in it: a later epoch's replay,
    /// or the warm-up's, which labels everything. `None` when the strategy is to choose.
    fn judged_without_strategy(
        &mut self,
        batch: usize,
        progress: &PassProgress,
    ) -> Option<JudgedBatch> {
        if self.replays(batch) {
            return Some(self.replay_batch(batch, progress));
        }
        self.warming_up(progress).then(|| {
            let everything = vec![Choice::Unconditional; self.batch_range(batch).len()];
            self.judge_batch(batch, everything, progress)
        })
    }

    /// What the update after `judged` learns from: the pool indices of the mini-batch's
    /// labelled trajectories, then those its rehearsal draws from the labels bought outside
    /// it, with their labels in the same order.
    fn training_set(
        &self,
        judged: &JudgedBatch,
        progress: &PassProgress,
    ) -> (Vec<usize>, Vec<ProcessLabel>) {
        let range = self.batch_range(judged.report.batch);
        let mut indices: Vec<usize> = judged
            .chosen
            .iter()
            .map(|&offset| range.start + offset)
            .collect();
        let mut labels = judged.labels.clone();
        let bought = progress.ledger.labelled.as_slice();
        for index in self.rehearsal.draw(judged.report.batch, range, bought) {
            let label = progress.bought.get(index).copied().flatten();
            let label = label.expect("the labels bought are kept while the pass rehearses");
            indices.push(index);
            labels.push(label);
        }
        (indices, labels)
    }

    /// Whether the labels bought are kept after their update: later epochs and rehearsal
    /// learn from them again.
    fn keeps_labels(&self) -> bool {
        self.epochs > 1 || self.rehearsal.is_active()
    }

    /// Records a judged mini-batch (with the pool indices labelled) and the update made on it,
    /// remembers its labels for the later epochs and rehearsal, and moves `progress` on. Once
    /// the label budget is spent or the judge can buy no more, the first epoch ends: the pass
    /// goes on to the later epochs, if any, or stops.
    fn conclude(
        &self,
        judged: JudgedBatch,
        update: Option<UpdateStats>,
        progress: &mut PassProgress,
    ) -> BatchReport {
        let buying = !self.replays(judged.report.batch);
        let first = self.batch_range(judged.report.batch).start;
        if buying {
            for &offset in &judged.chosen {
                progress.ledger.labelled.push(first + offset);
            }
        }
        if buying && self.keeps_labels() {
            progress.bought.resize(self.pool.len(), None);
            for (&offset, &label) in judged.chosen.iter().zip(&judged.labels) {
                progress.bought[first + offset] = Some(label);
            }
        }
        let report = judged.finish(update, &mut progress.ledger);
        progress.next_batch += 1;
        let budget_spent = self
            .label_budget
            .is_some_and(|budget| progress.ledger.labels_consumed >= budget);
        if buying && (budget_spent || self.judge.exhausted()) {
            match self.epochs > 1 {
                true => progress.next_batch = self.batches_per_epoch(),
                false => progress.stopped = true,
            }
        }
        report
    }

    /// Mini-batch `batch` of a later epoch: the labels the first epoch bought for it, without
    /// the strategy or the judge.
    fn replay_batch(&self, batch: usize, progress: &PassProgress) -> JudgedBatch {
        let range = self.batch_range(batch);
        let mut judged = JudgedBatch::empty(batch, self.num_batches(), range.len());
        for (offset, index) in range.enumerate() {
            if let Some(Some(label)) = progress.bought.get(index) {
                judged.chosen.push(offset);
                judged.labels.push(*label);
            }
        }
        judged
    }

    /// Sends the trajectories of mini-batch `batch` that `choices` (one per trajectory, from
    /// the strategy) name to the judge, as far as the label budget left allows.
    fn judge_batch(
        &mut self,
        batch: usize,
        mut choices: Vec<Choice>,
        progress: &PassProgress,
    ) -> JudgedBatch {
        if let Some(budget) = self.label_budget {
            let remaining = budget.saturating_sub(progress.ledger.labels_consumed);
            within_budget(&mut choices, remaining);
        }
        let range = self.batch_range(batch);
        assert_eq!(choices.len(), range.len(), "one choice per trajectory");
        let mut judged = JudgedBatch::empty(batch, self.num_batches(), range.len());
        let report = &mut judged.report;
        let pool = &self.pool[range];
        let mut sent = Vec::new();
        for (offset, choice) in choices.into_iter().enumerate() {
            match choice {
                Choice::Skip => continue,
                Choice::Unconditional => report.unconditional += 1,
                Choice::Selected(selection) => {
                    report.aleatoric += usize::from(selection.aleatoric);
                    report.epistemic += usize::from(selection.epistemic);
                }
            }
            report.selected += 1;
            sent.push(offset);
        }
        let trajectories: Vec<&Trajectory> = sent.iter().map(|&offset| &pool[offset]).collect();
        let labels = self.judge.judge_all(&trajectories);
        assert_eq!(labels.len(), sent.len(), "one answer per trajectory sent");
        for (offset, label) in sent.into_iter().zip(labels) {
            match label {
                Some(label) => {
                    judged.steps += label
                        .step_labels(pool[offset].num_steps())
                        .iter()
                        .flatten()
                        .count();
                    judged.chosen.push(offset);
                    judged.labels.push(label);
                }
                None => judged.report.discarded += 1,
            }
        }
        judged
    }
}

/// Keeps the first `remaining` trajectories `choices` send to the judge, and skips the rest.
fn within_budget(choices: &mut [Choice], remaining: usize) {
    let mut kept = 0;
    for choice in choices {
        if !choice.is_labelled() {
            continue;
        }
        if kept == remaining {
            *choice = Choice::Skip;
        } else {
            kept += 1;
        }
    }
}

/// Where a pass stands between two mini-batches.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassProgress {
    /// The mini-batch the pass makes next.
    pub next_batch: usize,
    /// What the pass has bought so far.
    pub ledger: BudgetLedger,
    /// Whether the pass ended before its last mini-batch: the label budget is spent, or the
    /// judge can buy no more.
    stopped: bool,
    /// The label bought for each pool trajectory in the first epoch, by pool index, kept for
    /// the later ones and for rehearsal (empty when the pass needs neither).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    bought: Vec<Option<ProcessLabel>>,
}

impl PassProgress {
    /// A pass over a pool of `pool_size` trajectories that has made no step yet, its labels
    /// costed at `cost`.
    pub fn new(pool_size: usize, cost: &JudgeCost) -> Self {
        Self {
            next_batch: 0,
            ledger: BudgetLedger::new(pool_size, cost),
            stopped: false,
            bought: Vec::new(),
        }
    }
}

/// A mini-batch after the judge, before the update.
#[derive(Debug, Clone)]
struct JudgedBatch {
    report: BatchReport,
    /// Offsets within the mini-batch of the labelled trajectories.
    chosen: Vec<usize>,
    /// Their labels, in the same order.
    labels: Vec<ProcessLabel>,
    /// Labelled steps obtained.
    steps: usize,
}

impl JudgedBatch {
    /// Mini-batch `batch` of `num_batches`, of `batch_size` trajectories, before any is judged.
    fn empty(batch: usize, num_batches: usize, batch_size: usize) -> Self {
        Self {
            report: BatchReport {
                batch,
                num_batches,
                batch_size,
                selected: 0,
                aleatoric: 0,
                epistemic: 0,
                unconditional: 0,
                discarded: 0,
                labels_consumed: 0,
                steps_labelled: 0,
                update: None,
            },
            chosen: Vec::new(),
            labels: Vec::new(),
            steps: 0,
        }
    }

    /// Records the mini-batch, with the update made on it, in `ledger`.
    fn finish(mut self, update: Option<UpdateStats>, ledger: &mut BudgetLedger) -> BatchReport {
        self.report.update = update;
        ledger.record(&self.report, self.steps);
        self.report.labels_consumed = ledger.labels_consumed;
        self.report.steps_labelled = ledger.steps_labelled;
        self.report
    }
}

#[cfg(test)]
mod tests;
