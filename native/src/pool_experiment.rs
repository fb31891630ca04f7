//! One pool experiment, shared by `run`, `train` and `sweep`: the data (a pool, a validation
//! set and a test set), the model built from the arguments, one pass with a strategy, and
//! evaluation.

use actprm_core::Trajectory;
use actprm_core::active::{BatchReport, PoolPass};
use actprm_core::batch::PrmInput;
use actprm_core::budget::BudgetLedger;
use actprm_core::checkpoint::CheckpointConfig;
use actprm_core::encoding::{EncodedTrajectory, EncodingConfig};
use actprm_core::evaluation::{Evaluation, encode_all, score_encoded};
use actprm_core::judge::{JudgeCost, StoredLabelJudge};
use actprm_core::loss::LossConfig;
use actprm_core::model::{BackboneConfig, EnsembleHeadsConfig, EnsemblePrm, PrmConfig};
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use actprm_core::synthetic::{SyntheticConfig, generate};
use actprm_core::tokenizer::StepTokenizer;
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use std::sync::Mutex;

use anyhow::{Result, anyhow};
use burn::tensor::Device;

use crate::cli::{ModelArgs, PoolArgs};

/// Seed offset of the test set, so it never shares a stream with the pool.
const TEST_SEED_OFFSET: u64 = 1_000_003;
/// Seed offset of the validation set.
const VALIDATION_SEED_OFFSET: u64 = 2_000_003;

/// Trajectories scored per forward pass when evaluating.
const EVAL_BATCH: usize = 64;

/// Labelled trajectories and their encodings.
pub struct EncodedSet {
    pub trajectories: Vec<Trajectory>,
    pub encoded: Vec<EncodedTrajectory>,
}

impl EncodedSet {
    fn new(
        tokenizer: &StepTokenizer,
        encoding: &EncodingConfig,
        trajectories: Vec<Trajectory>,
        what: &str,
    ) -> Result<Self> {
        let encoded = encode_all(tokenizer, &trajectories, encoding)
            .map_err(|(index, e)| anyhow!("{what} trajectory {index}: {e}"))?;
        Ok(Self {
            trajectories,
            encoded,
        })
    }

    pub fn len(&self) -> usize {
        self.trajectories.len()
    }
}

/// The data of one experiment.
pub struct ExperimentData {
    pub synthetic: SyntheticConfig,
    pub tokenizer: StepTokenizer,
    pub encoding: EncodingConfig,
    pub pool: EncodedSet,
    /// For choosing thresholds; never reported as the result.
    pub validation: EncodedSet,
    /// For reporting.
    pub test: EncodedSet,
}

impl ExperimentData {
    /// The synthetic task's pool, validation and test sets for `seed`.
    pub fn synthetic(args: &PoolArgs, seed: u64) -> Result<Self> {
        let synthetic = args.synthetic.config();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let encoding = EncodingConfig::new();
        let set = |offset: u64, size: usize, what: &str| {
            let trajectories = generate(&synthetic, seed.wrapping_add(offset), size);
            EncodedSet::new(&tokenizer, &encoding, trajectories, what)
        };
        Ok(Self {
            pool: set(0, args.pool_size, "pool")?,
            validation: set(VALIDATION_SEED_OFFSET, args.eval_size, "validation")?,
            test: set(TEST_SEED_OFFSET, args.eval_size, "test")?,
            synthetic,
            tokenizer,
            encoding,
        })
    }

    /// The checkpoint configuration of a model with `heads` heads for this data.
    pub fn checkpoint_config(
        &self,
        model: &ModelArgs,
        heads: usize,
        seed: u64,
        selection: SelectionConfig,
    ) -> CheckpointConfig {
        CheckpointConfig::new(
            PrmConfig::new(
                BackboneConfig::new(self.tokenizer.vocab_size())
                    .with_d_model(model.d_model)
                    .with_n_layers(model.layers)
                    .with_max_positions(self.encoding.max_positions),
            )
            .with_heads(
                EnsembleHeadsConfig::new()
                    .with_num_heads(heads)
                    .with_seed(seed),
            ),
            self.encoding.clone(),
        )
        .with_selection(selection)
    }

    /// Trains a fresh model in one pass over the pool with `strategy`, calling `on_batch`
    /// after every mini-batch.
    pub fn train(
        &self,
        config: &CheckpointConfig,
        training: &TrainingConfig,
        strategy: Strategy,
        cost: &JudgeCost,
        device: &Device,
        on_batch: impl FnMut(&BatchReport, &PrmTrainer) -> Result<()>,
    ) -> Result<(EnsemblePrm, BudgetLedger)> {
        let model = {
            // burn draws a parameter's initial values when it is first used, from the device's
            // generator: seeding, initialising and a first forward pass must not interleave
            // with another thread's, or parallel experiments would not be reproducible.
            static INIT: Mutex<()> = Mutex::new(());
            let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            device.seed(training.seed);
            let model = config.model.init(device);
            let first = &self.pool.encoded[..self.pool.encoded.len().min(1)];
            if !first.is_empty() {
                model.score(&PrmInput::new(first, self.tokenizer.pad_id(), device));
            }
            model
        };
        let pass = PoolPass {
            pool: &self.pool.trajectories,
            encoded: &self.pool.encoded,
            strategy,
            judge: StoredLabelJudge,
            judge_cost: cost.clone(),
            batch_size: training.batch_size,
            pad_id: self.tokenizer.pad_id(),
        };
        let mut trainer = PrmTrainer::new(model, training, pass.num_batches(), device);
        let ledger = pass.run(&mut trainer, on_batch)?;
        Ok((trainer.into_model(), ledger))
    }

    /// Evaluates `model` on `set`, calling `progress` with the number scored so far.
    pub fn evaluate(
        &self,
        model: &EnsemblePrm,
        set: &EncodedSet,
        tau: f32,
        progress: impl FnMut(usize),
    ) -> Evaluation {
        let scores = score_encoded(
            model,
            &set.encoded,
            self.tokenizer.pad_id(),
            EVAL_BATCH,
            progress,
        );
        Evaluation::from_scores(&set.trajectories, &scores, tau)
    }
}

/// The optimisation settings `args` describe.
pub fn training_config(args: &ModelArgs, seed: u64) -> TrainingConfig {
    TrainingConfig::new()
        .with_batch_size(args.batch_size)
        .with_learning_rate(args.learning_rate)
        .with_loss(LossConfig::new().with_anchor_weight(args.anchor_weight))
        .with_seed(seed)
}

/// The judge's cost model `args` describe.
pub fn judge_cost(args: &PoolArgs) -> JudgeCost {
    JudgeCost::new().with_tokens_per_trajectory(args.judge_tokens)
}
