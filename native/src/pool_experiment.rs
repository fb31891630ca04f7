//! One pool experiment, shared by `run`, `train` and `sweep`: the data (a pool, a validation
//! set and a test set), the model built from the arguments, one pass with a strategy, and
//! evaluation.

use actprm_core::Trajectory;
use actprm_core::active::{BatchReport, PassProgress, PoolPass};
use actprm_core::budget::BudgetLedger;
use actprm_core::checkpoint::CheckpointConfig;
use actprm_core::encoding::EncodingConfig;
use actprm_core::eval::threshold::{ChosenThreshold, choose_threshold};
use actprm_core::judge::{Judge, JudgeCost};
use actprm_core::loss::LossConfig;
use actprm_core::model::{
    BackboneConfig, EnsembleHeadsConfig, EnsemblePrm, FeatureNorm, InputNorm, PrmConfig,
    StepFeature,
};
use actprm_core::pretrained::{DEFAULT_SEPARATOR_INIT, DecoderOptions, PretrainedBackbone};
use actprm_core::scores::StepScores;
use actprm_core::scoring::score_inputs;
use actprm_core::selection::SelectionConfig;
use actprm_core::tokenizer::{SpecialTokensConfig, StepTokenizer};
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use serde_json::Value;

use crate::cli::{BackboneArg, ModelArgs, PoolArgs, TaskArg};
use crate::encoded_set::{EVAL_BATCH, EncodedSet};
use crate::feature_cache::FeatureCache;
use crate::pass_plan::{PassPlan, PassWalk, ResumedPass};
use crate::tasks;

/// Pool trajectories whose step features the heads' standardisation is measured on
/// (`--standardise-features`): enough steps for every dimension's mean and spread, few enough
/// that a backbone reading tokens does not spend long on them.
const STANDARDISATION_SAMPLE: usize = 1024;

/// A frozen pretrained backbone reading step features, and where they are cached.
#[derive(Clone)]
struct FrozenReader {
    reader: EnsemblePrm,
    cache: Option<FeatureCache>,
}

impl FrozenReader {
    fn new(pretrained: &PretrainedBackbone, model: &ModelArgs, device: &Device) -> Self {
        let reader = PrmConfig::new(pretrained.config.clone())
            .init_around(pretrained.backbone.clone(), device);
        let cache = model
            .feature_cache
            .root()
            .map(|root| FeatureCache::new(&root, reader.backbone()));
        Self { reader, cache }
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
    /// What reads step features once, when that backbone is frozen.
    frozen: Option<FrozenReader>,
    /// What a label costs, for the ledgers.
    pub judge_cost: JudgeCost,
}

impl ExperimentData {
    /// The pool, validation and test sets of the task `args` names, for `seed`, encoded for
    /// the backbone `model` names: `pretrained` when there is one (see [`load_pretrained`]).
    pub fn new(
        args: &PoolArgs,
        model: &ModelArgs,
        pretrained: Option<&PretrainedBackbone>,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let sets = task_sets(args, seed)?;
        let pretrained = pretrained.cloned();
        let tokenizer = reading_tokenizer(pretrained.as_ref(), &sets);
        let encoding = pretrained
            .as_ref()
            .map_or_else(EncodingConfig::new, |pretrained| {
                pretrained.encoding.clone()
            })
            .with_reading(model.step_reading);
        let frozen = match (model.freeze_backbone, &pretrained) {
            (true, Some(pretrained)) => Some(FrozenReader::new(pretrained, model, device)),
            _ => None,
        };
        let data = Self {
            pool: EncodedSet::default(),
            validation: EncodedSet::default(),
            test: EncodedSet::default(),
            task: tasks::task_settings(args)?,
            test_name: String::new(),
            tokenizer,
            encoding,
            pretrained,
            frozen,
            judge_cost: JudgeCost::new().with_tokens_per_trajectory(args.judge_tokens),
        };
        data.with_sets(sets)
    }

    /// The same task and backbone for `seed`: its own draw of the sets, read through this
    /// data's feature cache, so that the trajectories both hold are held once in memory.
    pub fn for_seed(&self, args: &PoolArgs, seed: u64) -> Result<Self> {
        let sets = task_sets(args, seed)?;
        let data = Self {
            pool: EncodedSet::default(),
            validation: EncodedSet::default(),
            test: EncodedSet::default(),
            task: self.task.clone(),
            test_name: String::new(),
            tokenizer: reading_tokenizer(self.pretrained.as_ref(), &sets),
            encoding: self.encoding.clone(),
            pretrained: self.pretrained.clone(),
            frozen: self.frozen.clone(),
            judge_cost: self.judge_cost.clone(),
        };
        data.with_sets(sets)
    }

    /// This data holding `sets`, encoded.
    fn with_sets(mut self, sets: tasks::TaskSets) -> Result<Self> {
        self.test_name = sets.test_name;
        self.pool = self.encode(sets.pool, "pool")?;
        self.validation = self.encode(sets.validation, "validation")?;
        self.test = self.encode(sets.test, "test")?;
        Ok(self)
    }

    /// `trajectories` read as this data's pool is read: encoded, with their step features
    /// when the backbone is frozen (from the feature cache when it holds them).
    pub fn encode(&self, trajectories: Vec<Trajectory>, what: &str) -> Result<EncodedSet> {
        let mut set = EncodedSet::new(&self.tokenizer, &self.encoding, trajectories, what)?;
        if let Some(frozen) = &self.frozen {
            set.cache_features(
                &frozen.reader,
                frozen.cache.as_ref(),
                self.tokenizer.pad_id(),
                &format!("{what} features"),
            )?;
        }
        Ok(set)
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
            Some(pretrained) => pretrained.config.clone(),
            None => BackboneConfig::new(self.tokenizer.vocab_size())
                .with_d_model(model.d_model)
                .with_n_layers(model.layers)
                .with_max_positions(self.encoding.max_positions)
                .into(),
        };
        let special_tokens = self
            .pretrained
            .as_ref()
            .map_or_else(SpecialTokensConfig::new, |pretrained| {
                pretrained.special_tokens.clone()
            });
        CheckpointConfig::new(
            PrmConfig::new(backbone).with_heads(
                EnsembleHeadsConfig::new()
                    .with_num_heads(heads)
                    .with_seed(seed)
                    .with_input_norm(
                        model
                            .standardise_features
                            .then_some(InputNorm::Standardised),
                    ),
            ),
            self.encoding.clone(),
        )
        .with_selection(selection)
        .with_special_tokens(special_tokens)
    }

    /// An error when the pool holds trajectories without a label, which only a served judge
    /// can label.
    pub fn require_labelled_pool(&self) -> Result<()> {
        let unlabelled = self
            .pool
            .trajectories
            .iter()
            .filter(|trajectory| trajectory.label.is_none())
            .count();
        if unlabelled > 0 {
            bail!(
                "the pool holds {unlabelled} unlabelled trajectories: give --judge-url and \
                 --judge-model to have a judge label those selected, or label the file first \
                 with actprm label"
            );
        }
        Ok(())
    }

    /// Trains a model in one pass over the pool as `plan` says, from scratch or from where a
    /// stopped pass saved its state (`resumed`), with `judge` labelling what the strategy
    /// selects, calling `on_batch` after every mini-batch with where the pass then stands.
    /// Training stops with an error naming the mini-batch when the loss turns NaN or
    /// infinite, before `on_batch` sees the diverged model.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &self,
        config: &CheckpointConfig,
        training: &TrainingConfig,
        plan: PassPlan,
        judge: &mut dyn Judge,
        resumed: Option<ResumedPass>,
        device: &Device,
        on_batch: impl FnMut(&BatchReport, &PrmTrainer, &PassProgress) -> Result<()>,
    ) -> Result<(EnsemblePrm, BudgetLedger)> {
        let walk = PassWalk::of(&plan.strategy, self.pool.len(), training);
        let drawn = walk.drawn.as_ref().map(|indices| self.pool.subset(indices));
        let pool = drawn.as_ref().unwrap_or(&self.pool);
        let epochs = walk.epochs;
        let pass = PoolPass {
            pool: &pool.trajectories,
            inputs: pool.inputs(self.tokenizer.pad_id()),
            strategy: plan.strategy,
            judge,
            judge_cost: self.judge_cost.clone(),
            batch_size: training.batch_size,
            label_budget: plan.label_budget,
            warmup_updates: plan.warmup_updates,
            epochs,
            rehearsal: plan.rehearsal,
        };
        let total_steps = pass.num_batches();
        let (mut trainer, progress) = match resumed {
            None => {
                let model = self.fresh_model(config, training.seed, device);
                let trainer = PrmTrainer::new(model, training, total_steps, device);
                (trainer, pass.start())
            }
            Some(resumed) => {
                let trainer = PrmTrainer::resume(
                    resumed.model,
                    training,
                    total_steps,
                    device,
                    resumed.trainer,
                )
                .context("the saved state to resume from does not fit this run; pass --force")?;
                (trainer, resumed.progress)
            }
        };
        let mut on_batch = on_batch;
        let ledger = pass.run_from(progress, &mut trainer, |report, trainer, progress| {
            if let Some(update) = &report.update
                && let Some(divergence) = trainer.divergence(update)
            {
                bail!(
                    "training diverged at mini-batch {} of the pool: {divergence} at learning \
                     rate {:.2e}; try a lower --learning-rate or --weight-decay",
                    report.batch + 1,
                    update.learning_rate
                );
            }
            on_batch(report, trainer, progress)
        })?;
        // The budget is a fraction of the whole pool, of which the pass may have seen a part,
        // and the trajectories labelled are named by their index in the whole pool.
        let labelled = match &walk.drawn {
            Some(drawn) => ledger.labelled.within(drawn),
            None => ledger.labelled.clone(),
        };
        let ledger = BudgetLedger {
            pool_size: self.pool.len(),
            labelled,
            ..ledger
        };
        Ok((trainer.into_model(), ledger))
    }

    /// A freshly initialised model of `config`, around the pretrained backbone when there is
    /// one, its weights drawn from `seed`.
    fn fresh_model(&self, config: &CheckpointConfig, seed: u64, device: &Device) -> EnsemblePrm {
        // burn draws a parameter's initial values when it is first used, from the device's
        // generator: seeding, initialising and a first forward pass must not interleave with
        // another thread's, or parallel experiments would not be reproducible.
        static INIT: Mutex<()> = Mutex::new(());
        let _guard = INIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        device.seed(seed);
        let model = match &self.pretrained {
            Some(pretrained) => config
                .model
                .init_around(pretrained.backbone.clone(), device),
            None => config.model.init(device),
        };
        let pool = self.pool.inputs(self.tokenizer.pad_id());
        if !pool.is_empty() {
            model.score(&pool.slice(0..1).batch(device));
        }
        match config.model.heads.input_norm {
            Some(InputNorm::Standardised) => {
                let sample = pool.slice(0..pool.len().min(STANDARDISATION_SAMPLE));
                let moments = model.feature_moments(sample);
                model.with_input_norm(FeatureNorm::fitted(&moments, device))
            }
            None => model,
        }
    }

    /// `model`'s scores of every trajectory of `set`, calling `progress` with the number
    /// scored so far.
    pub fn score(
        &self,
        model: &EnsemblePrm,
        set: &EncodedSet,
        progress: impl FnMut(usize),
    ) -> Vec<StepScores> {
        score_inputs(
            model,
            set.inputs(self.tokenizer.pad_id()),
            EVAL_BATCH,
            progress,
        )
    }

    /// The τ at which `model` scores the highest first-error F1 on the validation set, or
    /// `None` when that set is empty.
    pub fn choose_threshold(&self, model: &EnsemblePrm) -> Option<ChosenThreshold> {
        let scores = self.score(model, &self.validation, |_| {});
        choose_threshold(&self.validation.trajectories, &scores)
    }
}

/// The pool, validation and test sets of the task `args` names, drawn for `seed`.
fn task_sets(args: &PoolArgs, seed: u64) -> Result<tasks::TaskSets> {
    Ok(match args.task {
        TaskArg::Synthetic => tasks::synthetic_sets(args, seed),
        TaskArg::Gsm8k => tasks::gsm8k_sets(args, seed)?,
        TaskArg::Prm800k => tasks::prm800k_sets(args, seed)?,
        TaskArg::Mixed => tasks::mixed_sets(args, seed)?,
        TaskArg::Files => tasks::file_sets(args, seed)?,
    })
}

/// The tokenizer that reads `sets`: the pretrained backbone's, or else the task's own (for a
/// corpus, built from the seed's pool).
fn reading_tokenizer(
    pretrained: Option<&PretrainedBackbone>,
    sets: &tasks::TaskSets,
) -> StepTokenizer {
    pretrained.map_or_else(
        || sets.tokenizer.clone(),
        |pretrained| pretrained.tokenizer.clone(),
    )
}

/// The pretrained backbone `model` asks for, loaded onto `device` once for every experiment,
/// or `None` for the small backbone trained from scratch.
pub fn load_pretrained(model: &ModelArgs, device: &Device) -> Result<Option<PretrainedBackbone>> {
    if model.feature_layer.is_some() && !matches!(model.backbone, BackboneArg::Decoder(_)) {
        bail!(
            "--feature-layer picks a decoder's layer (as sweep's --feature-layers do): pass \
             --backbone with a decoder's path"
        );
    }
    if model.step_feature != StepFeature::Separator
        && !matches!(model.backbone, BackboneArg::Decoder(_))
    {
        bail!(
            "--step-feature {} reads a decoder's states: pass --backbone with a decoder's path",
            model.step_feature
        );
    }
    if model.lora_rank.is_some() {
        if !matches!(model.backbone, BackboneArg::Decoder(_)) {
            bail!(
                "--lora-rank adapts a decoder's attention: pass --backbone with a decoder's path"
            );
        }
        if model.freeze_backbone {
            bail!(
                "--lora-rank trains adapters inside the backbone, which --freeze-backbone keeps \
                 fixed: drop one of them"
            );
        }
    }
    match &model.backbone {
        BackboneArg::Small if model.freeze_backbone => bail!(
            "--freeze-backbone keeps a pretrained backbone fixed: pass --backbone minilm or a \
             decoder's path"
        ),
        BackboneArg::Small => Ok(None),
        BackboneArg::Minilm => Ok(Some(PretrainedBackbone::bert(
            &model.backbone_dir(),
            &SpecialTokensConfig::new(),
            DEFAULT_SEPARATOR_INIT,
            device,
        )?)),
        BackboneArg::Decoder(path) => {
            let options = DecoderOptions {
                feature_layer: model.feature_layer,
                step_feature: model.step_feature,
                lora: model.lora(),
                ..DecoderOptions::default()
            };
            Ok(Some(PretrainedBackbone::decoder(path, &options, device)?))
        }
    }
}

/// The optimisation settings `args` describe.
pub fn training_config(args: &ModelArgs, seed: u64) -> TrainingConfig {
    TrainingConfig::new()
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .with_learning_rate(args.learning_rate())
        .with_backbone_learning_rate(args.backbone_learning_rate())
        .with_weight_decay(args.weight_decay)
        .with_gradient_clip_norm(args.clip_norm)
        .with_clipping(args.clipping)
        .with_loss(
            LossConfig::new()
                .with_anchor_weight(args.anchor_weight)
                .with_error_weight(args.error_weight)
                .with_steps(args.loss_steps),
        )
        .with_seed(seed)
}
