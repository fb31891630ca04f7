//! Arguments of the model a pool experiment trains: the backbone, its heads, the loss and the
//! optimisation.

use std::path::PathBuf;

use actprm_core::NamedChoice;
use actprm_core::clipping::Clipping;
use actprm_core::encoding::StepReading;
use actprm_core::loss::LossConfig;
use actprm_core::loss_steps::LossSteps;
use actprm_core::model::{LoraConfig, LoraTarget, StepFeature};
use actprm_core::pretrained::default_backbone_dir;
use actprm_core::trainer::TrainingConfig;
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};

use super::feature_cache::FeatureCacheArgs;
use super::ranges;

/// The adapters' peak learning rate when --backbone-learning-rate does not say.
pub const DEFAULT_ADAPTER_LEARNING_RATE: f64 = 1e-4;

/// Which backbone reads the trajectories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackboneArg {
    /// A small causal transformer trained from scratch (--d-model, --layers), with a
    /// vocabulary from the task.
    Small,
    /// all-MiniLM-L6-v2, a pretrained 6-layer BERT encoder (d = 384) with its own tokenizer;
    /// get it with scripts/fetch-backbone.sh.
    Minilm,
    /// A pretrained Llama-family decoder (Llama, Mistral, Qwen2): a Hugging Face directory
    /// (config.json, tokenizer.json, model.safetensors or its shards) or a GGUF file.
    Decoder(PathBuf),
}

impl BackboneArg {
    /// The command-line name: `small`, `minilm`, or the decoder's path.
    pub fn name(&self) -> String {
        match self {
            BackboneArg::Small => "small".into(),
            BackboneArg::Minilm => "minilm".into(),
            BackboneArg::Decoder(path) => path.display().to_string(),
        }
    }
}

/// The parser of `--backbone`: `small`, `minilm`, or else the path of a decoder (read, and
/// refused naming the path, when the experiment starts).
fn backbone(value: &str) -> Result<BackboneArg, String> {
    match value {
        "small" => Ok(BackboneArg::Small),
        "minilm" => Ok(BackboneArg::Minilm),
        "" => Err("give `small`, `minilm`, or the path of a decoder".to_string()),
        path => Ok(BackboneArg::Decoder(PathBuf::from(path))),
    }
}

/// The backbone and optimisation, shared by `run`, `train` and `sweep`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The backbone: `small`, trained from scratch; `minilm`, all-MiniLM-L6-v2 from
    /// --backbone-dir, fine-tuned whole unless frozen; or the path of a pretrained Llama-family
    /// decoder (Llama, Mistral, Qwen2), a Hugging Face directory holding config.json,
    /// tokenizer.json and model.safetensors (or its shards) or a GGUF file, which reads every
    /// step with its prefix in one pass.
    #[arg(long, default_value = "small", value_parser = backbone)]
    pub backbone: BackboneArg,
    /// Directory of the pretrained backbone: config.json, model.safetensors and tokenizer.json
    /// [default: ~/.cache/actprm/all-minilm-l6-v2, where scripts/fetch-backbone.sh puts them].
    #[arg(long)]
    pub backbone_dir: Option<PathBuf>,
    /// Which layer's hidden state a decoder backbone gives as a step's feature, from 1 to its
    /// number of layers (only the layers up to it are run) [default: the last, after the
    /// final norm]. The last layer is not always the best: choose it on validation (`sweep
    /// --feature-layers`).
    #[arg(long, value_parser = ranges::small_count)]
    pub feature_layer: Option<usize>,
    /// What a decoder backbone gives as a step's feature: `separator`, its hidden state at the
    /// step's separator; or `separator-and-mean`, that state and the mean of the states of the
    /// step's own tokens (twice as wide; cached apart from the other).
    #[arg(long, default_value = "separator", value_parser = named::<StepFeature>())]
    pub step_feature: StepFeature,
    /// Keep the pretrained backbone fixed and train the heads alone, on step features the
    /// backbone computes once per trajectory: far faster on a CPU than fine-tuning it whole.
    #[arg(long)]
    pub freeze_backbone: bool,
    /// Standardise every dimension of the step features before the heads, by its mean and
    /// standard deviation over the steps of the first pool trajectories (no label is read),
    /// stored with the heads. A decoder's inner layers are not normalised, and a few of their
    /// dimensions carry offsets far above the others' spread.
    #[arg(long)]
    pub standardise_features: bool,
    /// Fine-tune a decoder backbone through low-rank adapters (LoRA) of this rank on its
    /// attention projections: the decoder's own weights stay fixed and only the adapters and
    /// the heads train (the anchor θ₀ covers the heads alone). Adapters start at zero, so
    /// training starts from the pretrained features [default adapter learning rate: 1e-4,
    /// heads' 1e-3].
    #[arg(long, value_parser = ranges::small_count)]
    pub lora_rank: Option<usize>,
    /// LoRA's α: the adapters' output is scaled by α / rank [default: 16].
    #[arg(long, requires = "lora_rank", value_parser = ranges::lora_alpha)]
    pub lora_alpha: Option<f64>,
    /// The attention projections that carry adapters, comma-separated
    /// [default: q_proj,k_proj,v_proj,o_proj].
    #[arg(long, requires = "lora_rank", value_delimiter = ',', value_parser = named::<LoraTarget>())]
    pub lora_targets: Vec<LoraTarget>,
    /// How many layers carry adapters, counted down from the feature layer [default: every
    /// layer computed]. The layers below get no gradient, so adapting the top few of a deep
    /// decoder trains in a fraction of the time and memory.
    #[arg(long, requires = "lora_rank", value_parser = ranges::small_count)]
    pub lora_layers: Option<usize>,
    #[command(flatten)]
    pub feature_cache: FeatureCacheArgs,
    /// How each step is read: `whole`, one read of the trajectory in which every separator
    /// also sees the steps after it; or `prefix`, one read per step holding the question, the
    /// steps before it and the step, which is what a causal decoder's separator sees (about
    /// n/2 times the encoder's work for n steps; reads shared by several trajectories are done
    /// once).
    #[arg(long, default_value = "whole", value_parser = named::<StepReading>())]
    pub step_reading: StepReading,
    /// Width of the small backbone: a multiple of 8, so that it splits into 4 attention heads
    /// of an even width.
    #[arg(long, default_value_t = 64, value_parser = ranges::small_width)]
    pub d_model: usize,
    /// Layers of the small backbone.
    #[arg(long, default_value_t = 2, value_parser = ranges::small_count)]
    pub layers: usize,
    /// Trajectories per pool mini-batch.
    #[arg(long, default_value_t = 16, value_parser = ranges::count)]
    pub batch_size: usize,
    /// Walks of the pool (1: the paper's single pass). The first buys the labels; each later
    /// one trains on them again, asking neither the strategy nor the judge. The offline
    /// baselines make as many mini-batches as this many walks of the whole pool
    #[arg(long, default_value_t = 1, value_parser = ranges::count)]
    pub epochs: usize,
    /// Peak learning rate (AdamW, linear warm-up then linear decay) [default: 3e-3 for the
    /// small backbone, 2e-5 to fine-tune a pretrained one, 1e-3 for heads on a frozen one].
    #[arg(long, value_parser = ranges::learning_rate, allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Peak learning rate of the backbone's parameters when it is fine-tuned, on the same
    /// schedule as --learning-rate, which then applies to the heads alone [default: the heads'
    /// rate]. Freshly initialised heads learn at rates that would wreck a pretrained encoder,
    /// so fine-tuning minilm with heads that learn fast wants, for example, --learning-rate 1e-3
    /// --backbone-learning-rate 2e-5.
    #[arg(long, value_parser = ranges::learning_rate, allow_negative_numbers = true)]
    pub backbone_learning_rate: Option<f64>,
    /// λ, the weight of the anchored-ensemble regulariser.
    #[arg(long, default_value_t = LossConfig::new().anchor_weight, value_parser = ranges::weight, allow_negative_numbers = true)]
    pub anchor_weight: f64,
    /// Weight of an erroneous step in the loss, against 1 for a correct one. 1 is the paper's
    /// loss; real process labels hold few errors (about 1 step in 40 in PRM800K's rows), and a
    /// weight near their inverse frequency keeps the heads from calling every step correct.
    /// A departure from the paper.
    #[arg(long, default_value_t = LossConfig::new().error_weight, value_parser = ranges::relative_weight, allow_negative_numbers = true)]
    pub error_weight: f64,
    /// Which labelled steps of a trajectory the loss counts: `all` (the paper's loss), or
    /// `last`, the first error or a correct trajectory's final step alone. A PRM800K row is one
    /// rated step after a prefix of steps rated in other rows, so `last` trains on what each
    /// row rated, about 40% of it erroneous, and on no prefix again (docs/results.md §19). A
    /// departure from the paper.
    #[arg(long, default_value = "all", value_parser = named::<LossSteps>())]
    pub loss_steps: LossSteps,
    /// AdamW's decoupled weight decay (0 by default: the anchor term already regularises the
    /// heads). Each update takes learning rate × decay of every weight, so that product must
    /// stay below 1.
    #[arg(long, default_value_t = TrainingConfig::new().weight_decay, value_parser = ranges::weight_f32, allow_negative_numbers = true)]
    pub weight_decay: f32,
    /// The L2 norm gradients are clipped to.
    #[arg(long, default_value_t = TrainingConfig::new().gradient_clip_norm, value_parser = ranges::positive_f32, allow_negative_numbers = true)]
    pub clip_norm: f32,
    /// Clip the norm of all gradients together (`global`, the default) or of each
    /// parameter's own (`per-parameter`).
    #[arg(long, default_value_t = TrainingConfig::new().clipping, value_parser = named::<Clipping>())]
    pub clipping: Clipping,
}

impl ModelArgs {
    /// The peak learning rate: the one given, or the backbone's default.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate.unwrap_or(
            match (
                &self.backbone,
                self.freeze_backbone || self.lora_rank.is_some(),
            ) {
                (BackboneArg::Small, _) => 3e-3,
                (_, true) => 1e-3,
                (_, false) => 2e-5,
            },
        )
    }

    /// The backbone's own peak learning rate, when it differs from the heads': the one given,
    /// or 1e-4 for adapters.
    pub fn backbone_learning_rate(&self) -> Option<f64> {
        self.backbone_learning_rate
            .or(self.lora_rank.map(|_| DEFAULT_ADAPTER_LEARNING_RATE))
    }

    /// The adapters the decoder backbone is fine-tuned through, when --lora-rank asks for them.
    pub fn lora(&self) -> Option<LoraConfig> {
        let rank = self.lora_rank?;
        let mut config = LoraConfig::new().with_rank(rank);
        if let Some(alpha) = self.lora_alpha {
            config = config.with_alpha(alpha);
        }
        if !self.lora_targets.is_empty() {
            config = config.with_targets(self.lora_targets.clone());
        }
        Some(config.with_layers(self.lora_layers))
    }

    /// Refuses a weight decay that, at the fastest learning rate, would take each weight past
    /// zero at every update: AdamW's decoupled decay takes learning rate × decay of each weight,
    /// so their product must stay below 1.
    pub fn refuse_runaway_decay(&self) -> anyhow::Result<()> {
        let fastest = self
            .learning_rate()
            .max(self.backbone_learning_rate().unwrap_or(0.0));
        let shrink = fastest * f64::from(self.weight_decay);
        if shrink >= 1.0 {
            anyhow::bail!(
                "--weight-decay {} at a learning rate of {fastest} takes {shrink:.3e} of every \
                 weight at each update, sending it past zero: learning rate × weight decay must \
                 stay below 1",
                self.weight_decay
            );
        }
        Ok(())
    }

    /// Where the pretrained backbone is.
    pub fn backbone_dir(&self) -> PathBuf {
        self.backbone_dir
            .clone()
            .unwrap_or_else(default_backbone_dir)
    }
}

/// The parser of a setting core chooses by name, whose possible values are the choices' names
/// (`--step-feature`, `--lora-targets`, `--step-reading`, `--loss-steps`, `--clipping`).
fn named<T: NamedChoice + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|choice| choice.name()))
        .map(|name| T::from_name(&name).expect("the parser admits only the choices' names"))
}
