//! One pool experiment, shared by `run`, `train` and `sweep`: the data (a pool, a validation
//! set and a test set), the model built from the arguments, one pass with a strategy, and
//! evaluation.

use actprm_core::Trajectory;
use actprm_core::active::{BatchReport, PoolPass};
use actprm_core::batch::Inputs;
use actprm_core::budget::BudgetLedger;
use actprm_core::checkpoint::CheckpointConfig;
use actprm_core::data::{Gsm8kProblem, read_gsm8k, read_prm800k_stepwise, read_processbench};
use actprm_core::encoding::{EncodedTrajectory, EncodingConfig};
use actprm_core::evaluation::{Evaluation, encode_all, score_inputs};
use actprm_core::features::{StepFeatures, compute_features};
use actprm_core::gsm8k::{Gsm8kPoolConfig, derive_trajectories};
use actprm_core::judge::{JudgeCost, StoredLabelJudge};
use actprm_core::loss::LossConfig;
use actprm_core::model::{
    BackboneConfig, EnsembleHeadsConfig, EnsemblePrm, PrmBackbone, PrmConfig,
};
use actprm_core::pretrained::{DEFAULT_SEPARATOR_INIT, PretrainedBackbone};
use actprm_core::rng::SeededRng;
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use actprm_core::synthetic::generate;
use actprm_core::tokenizer::{CorpusVocabularyConfig, SpecialTokensConfig, StepTokenizer};
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use std::fs;
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;
use serde_json::{Value, json};

use crate::cli::{BackboneArg, ModelArgs, PoolArgs, TaskArg};
use crate::data_files::open_reader;
use crate::progress;

/// Seed offset of the test set, so it never shares a stream with the pool.
const TEST_SEED_OFFSET: u64 = 1_000_003;
/// Seed offset of the validation set.
const VALIDATION_SEED_OFFSET: u64 = 2_000_003;

/// Trajectories scored per forward pass when evaluating.
const EVAL_BATCH: usize = 64;

/// Labelled trajectories and their encodings, with their step features when the backbone is
/// frozen.
pub struct EncodedSet {
    pub trajectories: Vec<Trajectory>,
    pub encoded: Vec<EncodedTrajectory>,
    pub features: Option<Vec<StepFeatures>>,
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
            features: None,
        })
    }

    /// What the model reads: the cached features when there are some, else the encodings.
    pub fn inputs(&self, pad_id: u32) -> Inputs<'_> {
        match &self.features {
            Some(features) => Inputs::Features(features),
            None => Inputs::Tokens {
                encoded: &self.encoded,
                pad_id,
            },
        }
    }

    /// Caches the step features `model`'s backbone gives every trajectory.
    fn cache_features(&mut self, model: &EnsemblePrm, pad_id: u32, what: &str) {
        let bar = progress::bar(self.encoded.len(), what);
        let features = compute_features(model, &self.encoded, pad_id, EVAL_BATCH, |done| {
            bar.set_position(done as u64)
        });
        bar.finish_and_clear();
        self.features = Some(features);
    }

    pub fn len(&self) -> usize {
        self.trajectories.len()
    }
}

/// The data of one experiment.
pub struct ExperimentData {
    /// The task's settings, as recorded in run.json and sweep.json.
    pub task: Value,
    /// What the test set is, for reports.
    pub test_name: String,
    pub tokenizer: StepTokenizer,
    pub encoding: EncodingConfig,
    pub pool: EncodedSet,
    /// For choosing thresholds; never reported as the result.
    pub validation: EncodedSet,
    /// For reporting.
    pub test: EncodedSet,
    /// The pretrained backbone every experiment starts from, for `--backbone minilm`.
    pub pretrained: Option<PretrainedBackbone>,
}

/// A task's labelled sets, with the vocabulary a backbone trained from scratch would use.
struct TaskSets {
    test_name: String,
    tokenizer: StepTokenizer,
    pool: Vec<Trajectory>,
    validation: Vec<Trajectory>,
    test: Vec<Trajectory>,
}

impl ExperimentData {
    /// The pool, validation and test sets of the task `args` names, for `seed`, encoded for
    /// the backbone `model` names (loaded onto `device` when pretrained).
    pub fn new(args: &PoolArgs, model: &ModelArgs, seed: u64, device: &Device) -> Result<Self> {
        let sets = match args.task {
            TaskArg::Synthetic => synthetic_sets(args, seed),
            TaskArg::Gsm8k => gsm8k_sets(args, seed)?,
            TaskArg::Prm800k => prm800k_sets(args, seed)?,
        };
        let pretrained = match model.backbone {
            BackboneArg::Small => None,
            BackboneArg::Minilm => Some(PretrainedBackbone::load(
                &model.backbone_dir(),
                &SpecialTokensConfig::new(),
                DEFAULT_SEPARATOR_INIT,
                device,
            )?),
        };
        let tokenizer = pretrained
            .as_ref()
            .map_or(sets.tokenizer, |pretrained| pretrained.tokenizer.clone());
        let encoding = EncodingConfig::new();
        let set = |trajectories, what| EncodedSet::new(&tokenizer, &encoding, trajectories, what);
        let mut pool = set(sets.pool, "pool")?;
        let mut validation = set(sets.validation, "validation")?;
        let mut test = set(sets.test, "test")?;
        if model.freeze_backbone {
            let Some(pretrained) = &pretrained else {
                bail!(
                    "--freeze-backbone keeps a pretrained backbone fixed: pass --backbone minilm"
                );
            };
            let reader = PrmConfig::new(pretrained.config.clone().into())
                .init_around(PrmBackbone::Bert(pretrained.bert.clone()), device);
            let pad_id = tokenizer.pad_id();
            pool.cache_features(&reader, pad_id, "pool features");
            validation.cache_features(&reader, pad_id, "validation features");
            test.cache_features(&reader, pad_id, "test features");
        }
        Ok(Self {
            pool,
            validation,
            test,
            task: task_settings(args),
            test_name: sets.test_name,
            tokenizer,
            encoding,
            pretrained,
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
        let backbone = match &self.pretrained {
            Some(pretrained) => pretrained.config.clone().into(),
            None => BackboneConfig::new(self.tokenizer.vocab_size())
                .with_d_model(model.d_model)
                .with_n_layers(model.layers)
                .with_max_positions(self.encoding.max_positions)
                .into(),
        };
        CheckpointConfig::new(
            PrmConfig::new(backbone).with_heads(
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
            let model = match &self.pretrained {
                Some(pretrained) => config
                    .model
                    .init_around(PrmBackbone::Bert(pretrained.bert.clone()), device),
                None => config.model.init(device),
            };
            let pool = self.pool.inputs(self.tokenizer.pad_id());
            if !pool.is_empty() {
                model.score(&pool.slice(0..1).batch(device));
            }
            model
        };
        let pass = PoolPass {
            pool: &self.pool.trajectories,
            inputs: self.pool.inputs(self.tokenizer.pad_id()),
            strategy,
            judge: StoredLabelJudge,
            judge_cost: cost.clone(),
            batch_size: training.batch_size,
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
        let scores = score_inputs(
            model,
            set.inputs(self.tokenizer.pad_id()),
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
        .with_learning_rate(args.learning_rate())
        .with_loss(LossConfig::new().with_anchor_weight(args.anchor_weight))
        .with_seed(seed)
}

/// The synthetic task's sets: each generated from its own seed.
fn synthetic_sets(args: &PoolArgs, seed: u64) -> TaskSets {
    let synthetic = args.synthetic.config();
    let tokenizer = StepTokenizer::for_synthetic(&synthetic);
    let generated =
        |offset: u64, size: usize| generate(&synthetic, seed.wrapping_add(offset), size);
    TaskSets {
        test_name: format!("{} synthetic trajectories", args.eval_size),
        tokenizer,
        pool: generated(0, args.pool_size),
        validation: generated(VALIDATION_SEED_OFFSET, args.eval_size),
        test: generated(TEST_SEED_OFFSET, args.eval_size),
    }
}

/// The GSM8K-derived pool and validation set, and ProcessBench gsm8k as the test set.
fn gsm8k_sets(args: &PoolArgs, seed: u64) -> Result<TaskSets> {
    let problems = |split: &str| -> Result<Vec<Gsm8kProblem>> {
        let path = args.data_dir.join("gsm8k").join(format!("{split}.jsonl"));
        Ok(read_gsm8k(
            &path.display().to_string(),
            open_reader(&path).context("set --data-dir")?,
        )?)
    };
    let config = Gsm8kPoolConfig::new();
    let pool = derive_trajectories(&problems("train")?, &config, seed, args.pool_size);
    let validation = derive_trajectories(
        &problems("test")?,
        &config,
        seed.wrapping_add(VALIDATION_SEED_OFFSET),
        args.eval_size,
    );
    let test = processbench_split(args, "gsm8k")?;
    Ok(TaskSets {
        test_name: format!("{} ProcessBench gsm8k items", test.len()),
        tokenizer: corpus_tokenizer(&pool),
        pool,
        validation,
        test,
    })
}

/// PRM800K phase 1 stepwise rows: a seeded sample of the training rows as the pool, one of
/// the test rows as the validation set, and ProcessBench math (problems of the same
/// competition) as the test set.
fn prm800k_sets(args: &PoolArgs, seed: u64) -> Result<TaskSets> {
    let rows = |file: &str, size: usize, offset: u64| -> Result<Vec<Trajectory>> {
        let path = args.data_dir.join("prm800k_stepwise").join(file);
        let mut rows = read_prm800k_stepwise(
            &path.display().to_string(),
            open_reader(&path).context("set --data-dir")?,
        )?;
        SeededRng::derive(seed, offset).shuffle(&mut rows);
        rows.truncate(size);
        Ok(rows)
    };
    let pool = rows(
        "phase1_train_plus.stepwise-critic.jsonl.gz",
        args.pool_size,
        0,
    )?;
    let validation = rows(
        "phase1_test.stepwise-critic.jsonl.gz",
        args.eval_size,
        VALIDATION_SEED_OFFSET,
    )?;
    let test = processbench_split(args, "math")?;
    Ok(TaskSets {
        test_name: format!("{} ProcessBench math items", test.len()),
        tokenizer: corpus_tokenizer(&pool),
        pool,
        validation,
        test,
    })
}

/// The trajectories of one ProcessBench split under `--data-dir`.
fn processbench_split(args: &PoolArgs, split: &str) -> Result<Vec<Trajectory>> {
    let path = args
        .data_dir
        .join("processbench")
        .join(format!("{split}.json"));
    let text = fs::read_to_string(&path)
        .with_context(|| format!("reading {} (set --data-dir)", path.display()))?;
    Ok(read_processbench(&path.display().to_string(), &text)?
        .into_iter()
        .map(|item| item.trajectory)
        .collect())
}

/// A vocabulary learnt from the pool's questions and steps.
fn corpus_tokenizer(pool: &[Trajectory]) -> StepTokenizer {
    StepTokenizer::for_corpus(
        pool.iter()
            .flat_map(|t| std::iter::once(&t.question).chain(&t.steps))
            .map(String::as_str),
        &CorpusVocabularyConfig::new(),
    )
}

/// The task's settings, keyed by its name: what decides the data of every seed.
pub fn task_settings(args: &PoolArgs) -> Value {
    match args.task {
        TaskArg::Synthetic => json!({ "synthetic": args.synthetic.config() }),
        TaskArg::Gsm8k => json!({ "gsm8k": {
            "data_dir": args.data_dir.display().to_string(),
            "pool": Gsm8kPoolConfig::new(),
        } }),
        TaskArg::Prm800k => json!({ "prm800k": {
            "data_dir": args.data_dir.display().to_string(),
        } }),
    }
}

/// The judge's cost model `args` describe.
pub fn judge_cost(args: &PoolArgs) -> JudgeCost {
    JudgeCost::new().with_tokens_per_trajectory(args.judge_tokens)
}
