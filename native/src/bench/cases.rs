//! The measured cases. Each builds its seeded inputs on the run's device once, then times the
//! work a command does with them, the read-back of its results included.

use std::ops::Range;

use actprm_core::Trajectory;
use actprm_core::batch::{InputSource, Inputs, PrmInput};
use actprm_core::encoding::EncodedTrajectory;
use actprm_core::model::{
    BackboneConfig, EnsembleHeadsConfig, EnsemblePrm, PrmBackbone, PrmConfig,
};
use actprm_core::pretrained::PretrainedBackbone;
use actprm_core::rng::SeededRng;
use actprm_core::scoring::{encode_all, score_with_shared_backbone};
use actprm_core::tokenizer::StepTokenizer;
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use anyhow::{Result, anyhow};
use burn::tensor::Tensor;

use super::BenchRun;
use super::record::CaseShape;
use super::workloads::{labels, step_features, token_windows};
use crate::cli::BatchShape;

/// Steps per synthetic trajectory: about a ProcessBench gsm8k solution's.
pub const STEPS: usize = 8;

/// A backbone to measure (an encoder, or a decoder), with the token ids its inputs are drawn
/// from.
pub struct Encoder<'a> {
    /// `minilm`, `small` or `smollm2`.
    pub name: &'static str,
    /// The backbone.
    pub backbone: &'a PrmBackbone,
    /// Ids of ordinary tokens.
    pub ids: Range<u32>,
    /// `[CLS]` and the step separator.
    pub special: (u32, u32),
    /// The padding id.
    pub pad: u32,
}

impl<'a> Encoder<'a> {
    /// `backbone` reading ids of `tokenizer`, its ordinary tokens drawn from `ids`.
    pub fn new(
        name: &'static str,
        backbone: &'a PrmBackbone,
        ids: Range<u32>,
        tokenizer: &StepTokenizer,
    ) -> Self {
        Self {
            name,
            backbone,
            ids,
            special: (tokenizer.cls_id(), tokenizer.separator_id()),
            pad: tokenizer.pad_id(),
        }
    }

    /// `shape.batch` seeded windows of `shape.seq_len` of this encoder's tokens, in [`STEPS`]
    /// steps each.
    fn windows(&self, shape: BatchShape, rng: &mut SeededRng) -> Vec<EncodedTrajectory> {
        token_windows(
            shape.batch,
            shape.seq_len,
            STEPS,
            self.ids.clone(),
            self.special,
            rng,
        )
    }
}

/// The shape record of a case reading tokens.
fn token_case(case: &str, model: &str, shape: BatchShape, heads: Option<usize>) -> CaseShape {
    CaseShape {
        case: case.to_string(),
        model: Some(model.to_string()),
        batch: shape.batch,
        seq_len: Some(shape.seq_len),
        heads,
        steps: Some(STEPS),
        unit: "tokens/s".to_string(),
    }
}

/// Reads a tensor's sum back, so that the work producing it is done when this returns.
fn wait_for(tensor: Tensor<3>) {
    tensor.sum().into_data();
}

/// A backbone's forward pass alone, recorded as `case`: `[batch, seq_len]` tokens to hidden
/// states (`encoder_forward` for the encoders, `decoder_forward` for a decoder).
pub fn forward_pass(
    run: &mut BenchRun,
    case: &str,
    encoder: &Encoder,
    shape: BatchShape,
    rng: &mut SeededRng,
) -> Result<()> {
    let encoded = encoder.windows(shape, rng);
    let InputSource::Tokens {
        tokens, padding, ..
    } = PrmInput::new(&encoded, encoder.pad, &run.device).source
    else {
        unreachable!("encoded trajectories are tokens");
    };
    let work = (shape.batch * shape.seq_len) as f64;
    run.time(token_case(case, encoder.name, shape, None), work, || {
        wait_for(encoder.backbone.forward(tokens.clone(), padding.clone()));
    })
}

/// A model of `heads` heads around `backbone`.
fn ensemble(backbone: &PretrainedBackbone, heads: usize, run: &BenchRun) -> EnsemblePrm {
    PrmConfig::new(backbone.config.clone())
        .with_heads(EnsembleHeadsConfig::new().with_num_heads(heads))
        .init_around(backbone.backbone.clone(), &run.device)
}

/// MiniLM and `heads` heads scoring every step, probabilities read back.
pub fn ensemble_scoring(
    run: &mut BenchRun,
    minilm: &PretrainedBackbone,
    encoder: &Encoder,
    shape: BatchShape,
    heads: usize,
    rng: &mut SeededRng,
) -> Result<()> {
    let model = ensemble(minilm, heads, run);
    let encoded = encoder.windows(shape, rng);
    let input = PrmInput::new(&encoded, encoder.pad, &run.device);
    let work = (shape.batch * shape.seq_len) as f64;
    run.time(
        token_case("ensemble_scoring", encoder.name, shape, Some(heads)),
        work,
        || {
            model.score(&input);
        },
    )
}

/// A model whose heads read cached features of `width`; its backbone never runs.
fn heads_only(width: usize, heads: usize, run: &BenchRun) -> EnsemblePrm {
    let unused_backbone = BackboneConfig::new(1).with_d_model(width).with_n_layers(0);
    PrmConfig::new(unused_backbone.into())
        .with_heads(EnsembleHeadsConfig::new().with_num_heads(heads))
        .init(&run.device)
}

/// The heads alone on cached step features: scoring, then one training step (forward, loss,
/// backward, AdamW).
pub fn heads(
    run: &mut BenchRun,
    trajectories: usize,
    width: usize,
    heads: usize,
    rng: &mut SeededRng,
) -> Result<()> {
    let features = step_features(trajectories, STEPS, width, rng);
    let labels = labels(trajectories, STEPS, rng);
    let shape = |case: &str| CaseShape {
        case: case.to_string(),
        model: None,
        batch: trajectories,
        seq_len: None,
        heads: Some(heads),
        steps: Some(STEPS),
        unit: "trajectories/s".to_string(),
    };
    let model = heads_only(width, heads, run);
    let input = Inputs::Features(&features).batch(&run.device);
    run.time(shape("heads_scoring"), trajectories as f64, || {
        model.score(&input);
    })?;

    let all: Vec<usize> = (0..trajectories).collect();
    let mut trainer = PrmTrainer::new(model, &TrainingConfig::new(), usize::MAX, &run.device);
    run.time(shape("heads_training_step"), trajectories as f64, || {
        trainer.step(Inputs::Features(&features), &all, &labels);
    })
}

/// One full fine-tuning step of MiniLM and `heads` heads: forward, loss, backward, AdamW.
pub fn finetune_step(
    run: &mut BenchRun,
    minilm: &PretrainedBackbone,
    encoder: &Encoder,
    shape: BatchShape,
    heads: usize,
    rng: &mut SeededRng,
) -> Result<()> {
    let model = ensemble(minilm, heads, run);
    let encoded = encoder.windows(shape, rng);
    let labels = labels(shape.batch, STEPS, rng);
    let all: Vec<usize> = (0..shape.batch).collect();
    let training = TrainingConfig::new()
        .with_batch_size(shape.batch)
        .with_learning_rate(2e-5);
    let mut trainer = PrmTrainer::new(model, &training, usize::MAX, &run.device);
    let inputs = Inputs::Tokens {
        encoded: &encoded,
        pad_id: encoder.pad,
    };
    run.time(
        token_case("finetune_step", encoder.name, shape, Some(heads)),
        (shape.batch * shape.seq_len) as f64,
        || {
            trainer.step(inputs, &all, &labels);
        },
    )
}

/// What `eval processbench` does for one checkpoint of MiniLM and `heads` heads: encode the
/// items, read them in mini-batches of `batch_size`, score every step.
pub fn eval_processbench(
    run: &mut BenchRun,
    minilm: &PretrainedBackbone,
    items: &[Trajectory],
    batch_size: usize,
    heads: usize,
) -> Result<()> {
    let model = ensemble(minilm, heads, run);
    let encoding = minilm.encoding.clone();
    let tokenizer = &minilm.tokenizer;
    encode_all(tokenizer, items, &encoding).map_err(|e| anyhow!("ProcessBench gsm8k {e}"))?;
    let shape = CaseShape {
        case: "eval_processbench".to_string(),
        model: Some("minilm".to_string()),
        batch: items.len(),
        seq_len: None,
        heads: Some(heads),
        steps: None,
        unit: "trajectories/s".to_string(),
    };
    run.time(shape, items.len() as f64, || {
        let encoded = encode_all(tokenizer, items, &encoding).expect("encoded once already");
        score_with_shared_backbone(&[&model], &encoded, tokenizer.pad_id(), batch_size, |_| {});
    })
}
