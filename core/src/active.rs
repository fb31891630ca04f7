//! The pool-based active-learning loop (docs/method.md §4, the paper's Algorithm 1): one pass over
//! the pool with a cold start; each mini-batch is scored, the uncertain trajectories are sent to
//! the judge, and the model is updated on them alone.

use std::ops::Range;

use crate::batch::Inputs;
pub use crate::budget::BatchReport;
use crate::budget::BudgetLedger;
use crate::judge::{Judge, JudgeCost};
use crate::strategy::{Choice, Strategy};
use crate::trainer::{PrmTrainer, UpdateStats};
use crate::trajectory::{ProcessLabel, Trajectory};

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
}

impl<'a, J: Judge> PoolPass<'a, J> {
    /// Number of mini-batches the pass makes.
    pub fn num_batches(&self) -> usize {
        num_batches(self.pool.len(), self.batch_size)
    }

    /// Pool indices of mini-batch `batch`.
    pub fn batch_range(&self, batch: usize) -> Range<usize> {
        let batch_size = self.batch_size.max(1);
        let first = (batch * batch_size).min(self.pool.len());
        first..(first + batch_size).min(self.pool.len())
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
        let inputs = self.batch_inputs(batch);
        let choices = match self.warming_up(progress) {
            true => vec![Choice::Unconditional; inputs.len()],
            false => {
                let first = self.batch_range(batch).start;
                self.strategy.choose_batch(trainer.model(), first, inputs)
            }
        };
        let judged = self.judge_batch(batch, choices, progress);
        let update = trainer.step(inputs, &judged.chosen, &judged.labels);
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
        let inputs = self.batch_inputs(batch);
        let choices = match self.warming_up(progress) {
            true => vec![Choice::Unconditional; inputs.len()],
            false => {
                let first = self.batch_range(batch).start;
                let model = trainer.model();
                self.strategy.choose_batch_async(model, first, inputs).await
            }
        };
        let judged = self.judge_batch(batch, choices, progress);
        let update = trainer
            .step_async(inputs, &judged.chosen, &judged.labels)
            .await;
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

    /// Records a judged mini-batch and the update made on it, and moves `progress` on; the
    /// pass stops once the label budget is spent or the judge can buy no more.
    fn conclude(
        &self,
        judged: JudgedBatch,
        update: Option<UpdateStats>,
        progress: &mut PassProgress,
    ) -> BatchReport {
        let report = judged.finish(update, &mut progress.ledger);
        progress.next_batch += 1;
        let budget_spent = self
            .label_budget
            .is_some_and(|budget| progress.ledger.labels_consumed >= budget);
        progress.stopped = budget_spent || self.judge.exhausted();
        report
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
        let mut judged = JudgedBatch {
            report: BatchReport {
                batch,
                num_batches: self.num_batches(),
                batch_size: range.len(),
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
        };
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
}

impl PassProgress {
    /// A pass over a pool of `pool_size` trajectories that has made no step yet, its labels
    /// costed at `cost`.
    pub fn new(pool_size: usize, cost: &JudgeCost) -> Self {
        Self {
            next_batch: 0,
            ledger: BudgetLedger::new(pool_size, cost),
            stopped: false,
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
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::encoding::EncodingConfig;
    use crate::evaluation::Evaluation;
    use crate::judge::StoredLabelJudge;
    use crate::model::{EnsemblePrm, PrmConfig};
    use crate::scoring::{encode_all, score_encoded};
    use crate::selection::SelectionConfig;
    use crate::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;
    use crate::trainer::TrainingConfig;

    /// Pool of the learning test: enough mini-batches of 16 for the tiny model to learn the
    /// default error kind.
    const POOL_SIZE: usize = 9600;

    /// A tiny ensemble trained in one active pass beats chance clearly on held-out problems,
    /// spends fewer labels than the pool holds, and selects less as it learns.
    #[test]
    fn an_ensemble_learns_the_synthetic_task_in_one_pass() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let encoding = EncodingConfig::new();
        let pool = generate(&synthetic, 1, POOL_SIZE);
        let held_out = generate(&synthetic, 2, 256);
        let pool_encoded = encode_all(&tokenizer, &pool, &encoding).unwrap();
        let held_out_encoded = encode_all(&tokenizer, &held_out, &encoding).unwrap();
        let config = PrmConfig::tiny(tokenizer.vocab_size());
        let training = TrainingConfig::tiny();
        device.seed(0);
        let untrained = config.init(&device);
        let evaluate = |model: &crate::model::EnsemblePrm| {
            let scores = score_encoded(model, &held_out_encoded, tokenizer.pad_id(), 64, |_| {});
            Evaluation::from_scores(&held_out, &scores, 0.5)
        };
        let before = evaluate(&untrained);

        let pass = PoolPass {
            pool: &pool,
            inputs: Inputs::Tokens {
                encoded: &pool_encoded,
                pad_id: tokenizer.pad_id(),
            },
            strategy: Strategy::actprm(SelectionConfig::new()),
            judge: StoredLabelJudge,
            judge_cost: JudgeCost::new(),
            batch_size: training.batch_size,
            label_budget: None,
            warmup_updates: 0,
        };
        let mut trainer = PrmTrainer::new(untrained, &training, pass.num_batches(), &device);
        let mut rates = Vec::new();
        let summary = pass
            .run(&mut trainer, |report, _, _| {
                rates.push(report.selection_rate());
                Ok::<_, ()>(())
            })
            .unwrap();
        let after = evaluate(trainer.model());
        let tenth = rates.len() / 10;
        let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
        let (first, last) = (mean(&rates[..tenth]), mean(&rates[rates.len() - tenth..]));
        assert_eq!(rates[0], 1.0, "a cold start selects everything");
        assert!(
            last < 0.5 * first,
            "selection rate {first:.2} in the first tenth, {last:.2} in the last"
        );
        assert!(summary.labels_consumed < pool.len(), "{summary:?}");
        assert!(
            after.first_error.f1 > 0.5 && after.first_error.f1 > before.first_error.f1 + 0.2,
            "held-out F1 {:.3} (untrained {:.3})",
            after.first_error.f1,
            before.first_error.f1
        );
    }

    /// One pass of a tiny model, in mini-batches of 16, over `pool_size` generated trajectories
    /// with `strategy`: every mini-batch's report, and the ledger.
    fn tiny_pass(
        pool_size: usize,
        strategy: Strategy,
        label_budget: Option<usize>,
        warmup_updates: usize,
        judge: impl Judge,
    ) -> (Vec<BatchReport>, BudgetLedger) {
        tiny_pass_read(
            tiny_model(),
            pool_size,
            strategy,
            label_budget,
            warmup_updates,
            judge,
            Readback::Sync,
        )
    }

    /// A fresh tiny model for the synthetic task.
    fn tiny_model() -> EnsemblePrm {
        let tokenizer = StepTokenizer::for_synthetic(&SyntheticConfig::new());
        PrmConfig::tiny(tokenizer.vocab_size()).init(&Device::flex())
    }

    /// How [`tiny_pass_read`] reads scores and losses back.
    #[derive(Clone, Copy)]
    enum Readback {
        Sync,
        Async,
    }

    /// Polls a future that never waits on anything outside it (the flex backend's reads are
    /// ready at once) to its end.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut future = std::pin::pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    /// [`tiny_pass`] from `model`, its steps read back as `readback` says.
    fn tiny_pass_read(
        model: EnsemblePrm,
        pool_size: usize,
        strategy: Strategy,
        label_budget: Option<usize>,
        warmup_updates: usize,
        judge: impl Judge,
        readback: Readback,
    ) -> (Vec<BatchReport>, BudgetLedger) {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let pool = generate(&synthetic, 3, pool_size);
        let encoded = encode_all(&tokenizer, &pool, &EncodingConfig::new()).unwrap();
        let training = TrainingConfig::tiny().with_batch_size(16);
        let pass = PoolPass {
            pool: &pool,
            inputs: Inputs::Tokens {
                encoded: &encoded,
                pad_id: tokenizer.pad_id(),
            },
            strategy,
            judge,
            judge_cost: JudgeCost::new(),
            batch_size: training.batch_size,
            label_budget,
            warmup_updates,
        };
        let mut trainer = PrmTrainer::new(model, &training, pass.num_batches(), &device);
        let mut reports = Vec::new();
        match readback {
            Readback::Sync => {
                let ledger = pass
                    .run(&mut trainer, |report, _, _| {
                        reports.push(*report);
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                (reports, ledger)
            }
            Readback::Async => {
                let mut pass = pass;
                let mut progress = PassProgress::new(pool.len(), &pass.judge_cost);
                while let Some(report) = block_on(pass.step_async(&mut trainer, &mut progress)) {
                    reports.push(report);
                }
                (reports, progress.ledger)
            }
        }
    }

    /// The asynchronous pass makes the same choices, updates and purchases as the synchronous
    /// one, warm-up and label budget included: they differ only in how they read back.
    #[test]
    fn the_async_pass_is_the_sync_pass() {
        let rule = Strategy::actprm(SelectionConfig::new());
        let model = tiny_model();
        let pass = |readback| {
            let judge = StoredLabelJudge;
            tiny_pass_read(
                model.clone(),
                160,
                rule.clone(),
                Some(120),
                2,
                judge,
                readback,
            )
        };
        let (sync_reports, sync_ledger) = pass(Readback::Sync);
        let (async_reports, async_ledger) = pass(Readback::Async);
        assert_eq!(sync_reports, async_reports);
        assert_eq!(sync_ledger, async_ledger);
        assert!(sync_ledger.updates > 2, "{sync_ledger:?}");
    }

    /// Answers the first `answers` trajectories it is sent with their stored labels, then
    /// nothing; counts the calls it gets.
    struct RunsDry {
        answers: usize,
        calls: usize,
    }

    impl Judge for RunsDry {
        fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel> {
            let answer = (self.answers > 0).then_some(trajectory.label).flatten();
            self.answers = self.answers.saturating_sub(1);
            answer
        }

        fn judge_all(&mut self, trajectories: &[&Trajectory]) -> Vec<Option<ProcessLabel>> {
            self.calls += 1;
            trajectories.iter().map(|t| self.judge(t)).collect()
        }

        fn exhausted(&self) -> bool {
            self.answers == 0
        }
    }

    /// A mini-batch's selected trajectories go to the judge together, unanswered ones are
    /// discarded, and the pass ends once the judge can answer no more.
    #[test]
    fn the_pass_ends_when_the_judge_runs_dry() {
        let mut judge = RunsDry {
            answers: 20,
            calls: 0,
        };
        let (reports, ledger) = tiny_pass(96, Strategy::Full, None, 0, &mut judge);
        let discarded: Vec<usize> = reports.iter().map(|r| r.discarded).collect();
        assert_eq!(discarded, [0, 12]);
        assert_eq!(judge.calls, 2);
        assert_eq!(ledger.labels_consumed, 32);
    }

    /// The judge is never paid past the label budget, and the pass ends once it is spent.
    #[test]
    fn a_label_budget_caps_the_judge_and_ends_the_pass() {
        let (reports, ledger) = tiny_pass(96, Strategy::Full, Some(40), 0, StoredLabelJudge);
        let selected: Vec<usize> = reports.iter().map(|r| r.selected).collect();
        assert_eq!(selected, [16, 16, 8]);
        assert_eq!(ledger.labels_consumed, 40);
    }

    /// A warm-up labels every trajectory until it has made its updates, then lets the
    /// strategy choose.
    #[test]
    fn a_warm_up_labels_everything_for_its_updates() {
        let never = Strategy::Random {
            fraction: 0.0,
            seed: 1,
        };
        let (reports, ledger) = tiny_pass(80, never, None, 2, StoredLabelJudge);
        let labelled: Vec<(usize, usize)> = reports
            .iter()
            .map(|r| (r.selected, r.unconditional))
            .collect();
        assert_eq!(labelled, [(16, 16), (16, 16), (0, 0), (0, 0), (0, 0)]);
        assert_eq!(ledger.updates, 2);
    }

    #[test]
    fn within_budget_keeps_the_first_labelled_choices() {
        let mut choices = vec![
            Choice::Skip,
            Choice::Unconditional,
            Choice::Skip,
            Choice::Unconditional,
            Choice::Unconditional,
        ];
        within_budget(&mut choices, 1);
        let labelled: Vec<bool> = choices.iter().map(Choice::is_labelled).collect();
        assert_eq!(labelled, [false, true, false, false, false]);
        within_budget(&mut choices, 0);
        assert!(choices.iter().all(|choice| !choice.is_labelled()));
    }
}
