//! The paper's loop, live: a tiny ensemble PRM trained from scratch on the synthetic task, one
//! pool mini-batch at a time, once choosing by the ActPRM rule and once at random, with the
//! held-out F1 of each measured as its labels grow (the budget curve).

use actprm_core::Trajectory;
use actprm_core::active::{PassProgress, PoolPass, Rehearsal};
use actprm_core::batch::Inputs;
use actprm_core::encoding::{EncodedTrajectory, EncodingConfig};
use actprm_core::eval::Evaluation;
use actprm_core::judge::{JudgeCost, StoredLabelJudge};
use actprm_core::model::PrmConfig;
use actprm_core::scores::StepScores;
use actprm_core::scoring::{encode_all, score_inputs_async};
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};
use actprm_core::tokenizer::StepTokenizer;
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use burn::tensor::Device;

use crate::protocol::live::{CurvePoint, LiveSnapshot, POOL_SIZE, RANDOM_FRACTION};
use crate::worker::scoring::{BATCH_SIZE, yield_now};

/// Held-out problems the F1 is measured on.
const HELD_OUT_SIZE: usize = 128;
/// Mini-batches between two F1 measurements.
const EVALUATE_EVERY: usize = 20;

/// One learner: a model, its strategy and what it has bought.
struct Learner {
    strategy: Strategy,
    trainer: PrmTrainer,
    progress: PassProgress,
    curve: Vec<CurvePoint>,
}

/// Both learners over the same pool, advanced together.
pub struct LiveRun {
    pool: Vec<Trajectory>,
    encoded: Vec<EncodedTrajectory>,
    held_out: Vec<Trajectory>,
    held_out_encoded: Vec<EncodedTrajectory>,
    pad_id: u32,
    learners: [Learner; 2],
    /// Trajectories per mini-batch.
    batch_size: usize,
    num_batches: usize,
}

impl LiveRun {
    /// A fresh run from `seed` on `device`: both learners start from the same initial weights.
    pub fn new(seed: u64, device: &Device) -> Self {
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let encoding = EncodingConfig::new();
        let pool = generate(&synthetic, seed, POOL_SIZE);
        let held_out = generate(&synthetic, seed.wrapping_add(1), HELD_OUT_SIZE);
        let encode = |trajectories: &[Trajectory]| {
            encode_all(&tokenizer, trajectories, &encoding)
                .expect("generated problems fit the encoding")
        };
        let config = PrmConfig::tiny(tokenizer.vocab_size());
        let training = TrainingConfig::tiny();
        device.seed(seed);
        let initial = config.init(device);
        let num_batches = actprm_core::active::num_batches(POOL_SIZE, training.batch_size);
        let learner = |strategy: Strategy| Learner {
            strategy,
            trainer: PrmTrainer::new(initial.clone(), &training, num_batches, device),
            progress: PassProgress::new(POOL_SIZE, &JudgeCost::new()),
            curve: Vec::new(),
        };
        let random = Strategy::Random {
            fraction: RANDOM_FRACTION,
            seed,
        };
        Self {
            encoded: encode(&pool),
            pool,
            held_out_encoded: encode(&held_out),
            held_out,
            pad_id: tokenizer.pad_id(),
            learners: [
                learner(Strategy::actprm(SelectionConfig::new())),
                learner(random),
            ],
            batch_size: training.batch_size,
            num_batches,
        }
    }

    /// Mini-batches done: both learners advance together.
    fn batches_done(&self) -> usize {
        self.learners[0].progress.next_batch
    }

    /// Whether the pass is over.
    pub fn is_done(&self) -> bool {
        self.batches_done() >= self.num_batches
    }

    /// Measures the learners before any label, so that each curve starts at zero labels. Both
    /// start from the same weights, so one measurement serves both curves.
    pub async fn start(&mut self) {
        let f1 = self.held_out_f1(0).await;
        for learner in &mut self.learners {
            learner.curve.push(CurvePoint { labels: 0, f1 });
        }
    }

    /// Advances both learners by one mini-batch of the pool, measuring their F1 every
    /// [`EVALUATE_EVERY`] mini-batches and at the end.
    pub async fn step(&mut self) {
        if self.is_done() {
            return;
        }
        for learner in &mut self.learners {
            let mut pass = PoolPass {
                pool: &self.pool,
                inputs: Inputs::Tokens {
                    encoded: &self.encoded,
                    pad_id: self.pad_id,
                },
                strategy: learner.strategy.clone(),
                judge: StoredLabelJudge,
                judge_cost: JudgeCost::new(),
                batch_size: self.batch_size,
                label_budget: None,
                warmup_updates: 0,
                epochs: 1,
                rehearsal: Rehearsal::NONE,
            };
            pass.step_async(&mut learner.trainer, &mut learner.progress)
                .await;
        }
        if self.batches_done().is_multiple_of(EVALUATE_EVERY) || self.is_done() {
            for index in 0..self.learners.len() {
                self.measure(index).await;
            }
        }
    }

    /// Adds the current held-out F1 of learner `index` to its curve.
    async fn measure(&mut self, index: usize) {
        let f1 = self.held_out_f1(index).await;
        let learner = &mut self.learners[index];
        learner.curve.push(CurvePoint {
            labels: learner.progress.ledger.labels_consumed,
            f1,
        });
    }

    /// The first-error F1 of learner `index`'s model on the held-out problems.
    async fn held_out_f1(&self, index: usize) -> f64 {
        let scores = self.held_out_scores(index).await;
        Evaluation::from_scores(&self.held_out, &scores, 0.5)
            .first_error
            .f1
    }

    /// Learner `index`'s scores of the held-out problems.
    async fn held_out_scores(&self, index: usize) -> Vec<StepScores> {
        let model = self.learners[index].trainer.model();
        let held_out = Inputs::Tokens {
            encoded: &self.held_out_encoded,
            pad_id: self.pad_id,
        };
        score_inputs_async(model, held_out, BATCH_SIZE, |_| yield_now()).await
    }

    /// The state to draw.
    pub fn snapshot(&self) -> LiveSnapshot {
        LiveSnapshot {
            batch: self.batches_done(),
            num_batches: self.num_batches,
            pool_size: self.pool.len(),
            curves: self.learners.each_ref().map(|l| l.curve.clone()),
            labels: self
                .learners
                .each_ref()
                .map(|l| l.progress.ledger.labels_consumed),
        }
    }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use futures_executor::block_on;

    use super::*;
    use crate::protocol::live::LEARNERS;

    #[test]
    fn both_learners_advance_and_their_curves_start_at_zero_labels() {
        let mut run = LiveRun::new(0, &Device::flex());
        block_on(run.start());
        // One measurement stands for both at the start, as both score alike before any label.
        let first = block_on(run.held_out_scores(0));
        assert_eq!(first, block_on(run.held_out_scores(1)));
        let curves = run.snapshot().curves;
        assert_eq!(curves[0], curves[1]);
        for _ in 0..EVALUATE_EVERY {
            block_on(run.step());
        }
        let snapshot = run.snapshot();
        assert_eq!(snapshot.batch, EVALUATE_EVERY);
        for (name, curve) in LEARNERS.iter().zip(&snapshot.curves) {
            assert_eq!(curve.len(), 2, "{name}: a point at the start and one after");
            assert_eq!(curve[0].labels, 0, "{name}");
        }
        // The rule buys everything while the cold model is unsure; random buys about half.
        let seen = EVALUATE_EVERY * run.batch_size;
        assert_eq!(snapshot.labels[0], seen);
        let random_share = snapshot.labels[1] as f64 / seen as f64;
        assert!(
            (0.35..0.65).contains(&random_share),
            "random bought {random_share}"
        );
        assert_eq!(snapshot.curves[0][1].labels, snapshot.labels[0]);
    }
}
