//! The pool pass learns, keeps to its budget and warm-up, and reads back alike both ways.

use burn::tensor::Device;

use super::*;
use crate::encoding::EncodingConfig;
use crate::eval::Evaluation;
use crate::judge::StoredLabelJudge;
use crate::model::{EnsemblePrm, PrmConfig};
use crate::scoring::{encode_all, score_encoded};
use crate::selection::SelectionConfig;
use crate::tasks::synthetic::{SyntheticConfig, generate};
use crate::tokenizer::StepTokenizer;
use crate::trainer::TrainingConfig;
use futures_executor::block_on;

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
        epochs: 1,
        rehearsal: Rehearsal::NONE,
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

/// What a tiny pass is asked beside its strategy: by default no budget, no warm-up, one
/// epoch, no rehearsal.
#[derive(Clone, Copy, Default)]
struct Plan {
    label_budget: Option<usize>,
    warmup_updates: usize,
    epochs: usize,
    rehearsal: Rehearsal,
}

/// One pass of a tiny model, in mini-batches of 16, over `pool_size` generated trajectories
/// with `strategy`: every mini-batch's report, and the ledger.
fn tiny_pass(
    pool_size: usize,
    strategy: Strategy,
    plan: Plan,
    judge: impl Judge,
) -> (Vec<BatchReport>, BudgetLedger) {
    tiny_pass_read(
        tiny_model(),
        pool_size,
        strategy,
        plan,
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

/// [`tiny_pass`] from `model`, its steps read back as `readback` says.
fn tiny_pass_read(
    model: EnsemblePrm,
    pool_size: usize,
    strategy: Strategy,
    plan: Plan,
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
        label_budget: plan.label_budget,
        warmup_updates: plan.warmup_updates,
        epochs: plan.epochs.max(1),
        rehearsal: plan.rehearsal,
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
        let plan = Plan {
            label_budget: Some(120),
            warmup_updates: 2,
            epochs: 2,
            rehearsal: Rehearsal {
                per_update: 5,
                window: 40,
                seed: 3,
            },
        };
        tiny_pass_read(model.clone(), 160, rule.clone(), plan, judge, readback)
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
    let (reports, ledger) = tiny_pass(96, Strategy::Full, Plan::default(), &mut judge);
    let discarded: Vec<usize> = reports.iter().map(|r| r.discarded).collect();
    assert_eq!(discarded, [0, 12]);
    assert_eq!(judge.calls, 2);
    assert_eq!(ledger.labels_consumed, 32);
    // What the judge sent back no label for is not in the ledger's list.
    assert_eq!(ledger.labelled.to_string(), "0-19");
}

/// The judge is never paid past the label budget, and the pass ends once it is spent.
#[test]
fn a_label_budget_caps_the_judge_and_ends_the_pass() {
    let (reports, ledger) = tiny_pass(96, Strategy::Full, budget(40), StoredLabelJudge);
    let selected: Vec<usize> = reports.iter().map(|r| r.selected).collect();
    assert_eq!(selected, [16, 16, 8]);
    assert_eq!(ledger.labels_consumed, 40);
    assert_eq!(ledger.labelled.to_string(), "0-39");
}

/// A warm-up labels every trajectory until it has made its updates, then lets the
/// strategy choose.
#[test]
fn a_warm_up_labels_everything_for_its_updates() {
    let never = Strategy::Random {
        fraction: 0.0,
        seed: 1,
    };
    let (reports, ledger) = tiny_pass(80, never, warm_up(2), StoredLabelJudge);
    let labelled: Vec<(usize, usize)> = reports
        .iter()
        .map(|r| (r.selected, r.unconditional))
        .collect();
    assert_eq!(labelled, [(16, 16), (16, 16), (0, 0), (0, 0), (0, 0)]);
    assert_eq!(ledger.updates, 2);
    assert_eq!(ledger.labelled.to_string(), "0-31");
}

fn budget(labels: usize) -> Plan {
    Plan {
        label_budget: Some(labels),
        ..Plan::default()
    }
}

fn warm_up(updates: usize) -> Plan {
    Plan {
        warmup_updates: updates,
        ..Plan::default()
    }
}

/// Later epochs learn again from the labels the first bought, without the judge; a label
/// budget ends the buying, and the later epochs replay what it bought.
#[test]
fn later_epochs_replay_the_labels_bought() {
    let mut judge = RunsDry {
        answers: usize::MAX,
        calls: 0,
    };
    let three = Plan {
        epochs: 3,
        ..Plan::default()
    };
    let (reports, ledger) = tiny_pass(48, Strategy::Full, three, &mut judge);
    let selected: Vec<usize> = reports.iter().map(|r| r.selected).collect();
    assert_eq!(selected, [16, 16, 16, 0, 0, 0, 0, 0, 0]);
    assert!(reports.iter().all(|r| r.update.is_some()));
    assert_eq!(judge.calls, 3);
    assert_eq!((ledger.labels_consumed, ledger.updates), (48, 9));
    // Replayed labels are listed once, as they are paid once.
    assert_eq!(ledger.labelled.to_string(), "0-47");

    let cut = Plan {
        epochs: 2,
        ..budget(20)
    };
    let (reports, ledger) = tiny_pass(48, Strategy::Full, cut, StoredLabelJudge);
    let batches: Vec<(usize, usize, bool)> = reports
        .iter()
        .map(|r| (r.batch, r.selected, r.update.is_some()))
        .collect();
    // Buying stops after 20 labels; the second epoch replays 16 and 4 of them, and has
    // nothing to learn from in the last mini-batch.
    assert_eq!(
        batches,
        [
            (0, 16, true),
            (1, 4, true),
            (3, 0, true),
            (4, 0, true),
            (5, 0, false)
        ]
    );
    assert_eq!((ledger.labels_consumed, ledger.updates), (20, 4));
}

/// Rehearsal trains each update on earlier labels too without buying any: the judge is asked
/// and paid as in the pass without it, every mini-batch after the first labels updates (even
/// one that labelled nothing), and from the second such update on the model learns otherwise.
#[test]
fn rehearsal_trains_on_earlier_labels_without_buying_them() {
    let sparse = Strategy::Random {
        fraction: 0.1,
        seed: 2,
    };
    let rehearsing = Plan {
        rehearsal: Rehearsal {
            per_update: 12,
            window: 0,
            seed: 1,
        },
        ..Plan::default()
    };
    let model = tiny_model();
    let pass = |plan| {
        let (model, strategy) = (model.clone(), sparse.clone());
        tiny_pass_read(model, 320, strategy, plan, StoredLabelJudge, Readback::Sync)
    };
    let (plain_reports, plain) = pass(Plan::default());
    let (reports, rehearsed) = pass(rehearsing);
    assert_eq!(rehearsed.labelled, plain.labelled);
    assert_eq!(rehearsed.labels_consumed, plain.labels_consumed);
    let selected =
        |reports: &[BatchReport]| -> Vec<usize> { reports.iter().map(|r| r.selected).collect() };
    assert_eq!(selected(&reports), selected(&plain_reports));
    let buying = selected(&reports).iter().filter(|&&s| s > 0).count();
    let first = selected(&reports).iter().position(|&s| s > 0).unwrap();
    assert!(
        buying < reports.len() - first,
        "some mini-batch labels nothing"
    );
    assert_eq!(plain.updates, buying);
    assert_eq!(rehearsed.updates, reports.len() - first);
    let losses = |reports: &[BatchReport]| -> Vec<Option<f32>> {
        reports.iter().map(|r| r.update.map(|u| u.loss)).collect()
    };
    let (plain_losses, losses) = (losses(&plain_reports), losses(&reports));
    assert_eq!(
        plain_losses[first], losses[first],
        "nothing to rehearse yet"
    );
    assert_ne!(plain_losses[first + 1..], losses[first + 1..]);
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
