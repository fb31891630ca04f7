//! One optimisation step of the ensemble PRM: forward on the selected trajectories, the ActPRM
//! loss, backward, gradient clipping and AdamW with the warm-up/decay schedule.

use burn::config::Config;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use crate::batch::{Inputs, StepTargets};
use crate::clipping::{Clipping, clip_global_norm, take_gradients};
use crate::loss::{BootstrapMask, LossConfig};
use crate::model::EnsemblePrm;
use crate::rng::SeededRng;
use crate::schedule::WarmupLinearDecay;
use crate::trajectory::ProcessLabel;

mod divergence;
mod state;

pub use divergence::{DIVERGENCE_GROWTH, Divergence};
pub use state::{ResumeError, TrainerPosition, TrainerState};

/// Optimisation settings. The paper fine-tunes a 7B model at lr 1e-5 with 500 warm-up steps;
/// the defaults here suit the small models trained from scratch on the synthetic task.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Trajectories per pool mini-batch.
    #[config(default = 32)]
    pub batch_size: usize,
    /// Walks of the pool a run makes (1: the paper's single pass). The first buys the labels;
    /// each later one trains on them again, in the same mini-batches. A pass over trajectories
    /// drawn before it (the offline baselines) makes as many mini-batches as this many walks of
    /// the whole pool.
    #[config(default = 1)]
    pub epochs: usize,
    /// Peak learning rate of AdamW.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Peak learning rate of the backbone's parameters when it is trained, on the same
    /// schedule; `None` trains them at `learning_rate`. A pretrained encoder is usually
    /// fine-tuned far slower than freshly initialised heads learn.
    #[config(default = "None")]
    pub backbone_learning_rate: Option<f64>,
    /// Mini-batches of linear warm-up before the linear decay.
    #[config(default = 20)]
    pub warmup_steps: usize,
    /// AdamW decoupled weight decay (0 by default: the anchor term already regularises the
    /// heads).
    #[config(default = 0.0)]
    pub weight_decay: f32,
    /// The L2 norm gradients are clipped to.
    #[config(default = 1.0)]
    pub gradient_clip_norm: f32,
    /// Whether that norm is of all gradients together (the default) or of each
    /// parameter's.
    #[config(default = "Clipping::Global")]
    pub clipping: Clipping,
    /// The loss (λ and the bootstrap probability).
    #[config(default = "LossConfig::new()")]
    pub loss: LossConfig,
    /// Seed of the bootstrap masks.
    #[config(default = 0)]
    pub seed: u64,
}

impl TrainingConfig {
    /// Settings for [`PrmConfig::tiny`](crate::model::PrmConfig::tiny): mini-batches of 16 at
    /// a peak learning rate of 3e-3.
    pub fn tiny() -> Self {
        TrainingConfig::new()
            .with_batch_size(16)
            .with_learning_rate(3e-3)
    }
}

/// What one update did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpdateStats {
    /// Total loss (classification + λ · anchor).
    pub loss: f32,
    /// The BCE part.
    pub classification: f32,
    /// mean((θ − θ₀)²).
    pub anchor: f32,
    /// Learning rate used.
    pub learning_rate: f64,
}

/// The model with its optimiser state and schedule position.
pub struct PrmTrainer {
    model: EnsemblePrm,
    optimizer: ModuleOptimizer,
    schedule: WarmupLinearDecay,
    loss: LossConfig,
    /// The backbone's learning rate as a multiple of the heads', when it differs.
    backbone_rate_ratio: Option<f64>,
    /// The norm all gradients together are clipped to, when clipping is global.
    global_clip_norm: Option<f32>,
    rng: SeededRng,
    step: usize,
    /// The loss of the pass's first update, against which later ones are checked for
    /// divergence.
    first_loss: Option<f32>,
    device: Device,
}

impl PrmTrainer {
    /// Trains `model` (moved to the autodiff version of `device`) over `total_steps` scheduled
    /// mini-batches.
    pub fn new(
        model: EnsemblePrm,
        config: &TrainingConfig,
        total_steps: usize,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        let per_parameter = (config.clipping == Clipping::PerParameter)
            .then_some(GradientClippingConfig::Norm(config.gradient_clip_norm));
        let optimizer = AdamWConfig::new()
            .with_weight_decay(config.weight_decay)
            .with_grad_clipping(per_parameter)
            .init();
        Self {
            model: model.to_device(&device).train(),
            optimizer,
            schedule: WarmupLinearDecay {
                peak: config.learning_rate,
                warmup_steps: config.warmup_steps,
                total_steps,
            },
            loss: config.loss.clone(),
            backbone_rate_ratio: config
                .backbone_learning_rate
                .map(|rate| rate / config.learning_rate),
            global_clip_norm: (config.clipping == Clipping::Global)
                .then_some(config.gradient_clip_norm),
            rng: SeededRng::derive(config.seed, 0x4C4F_5353),
            step: 0,
            first_loss: None,
            device,
        }
    }

    /// The model being trained.
    pub fn model(&self) -> &EnsemblePrm {
        &self.model
    }

    /// Hands the trained model back.
    pub fn into_model(self) -> EnsemblePrm {
        self.model
    }

    /// The (non-autodiff) device the model computes on.
    pub fn device(&self) -> Device {
        self.device.clone().inner()
    }

    /// Advances the schedule by one mini-batch and, when `selected` names any trajectory of
    /// `inputs`, updates the model on those, labelled `labels` (in the same order). Returns
    /// `None` when the update was skipped.
    pub fn step(
        &mut self,
        inputs: Inputs,
        selected: &[usize],
        labels: &[ProcessLabel],
    ) -> Option<UpdateStats> {
        let update = self.update(inputs, selected, labels)?;
        let stats = update.stats(update.loss_parts.clone().into_data());
        Some(self.noted(stats))
    }

    /// [`PrmTrainer::step`] reading the loss back asynchronously, as a browser's WebGPU device
    /// requires.
    pub async fn step_async(
        &mut self,
        inputs: Inputs<'_>,
        selected: &[usize],
        labels: &[ProcessLabel],
    ) -> Option<UpdateStats> {
        let update = self.update(inputs, selected, labels)?;
        let parts = update.loss_parts.clone().into_data_async().await;
        let stats = update.stats(parts.expect("the loss parts are readable"));
        Some(self.noted(stats))
    }

    /// `stats`, after keeping the pass's first finite loss.
    fn noted(&mut self, stats: UpdateStats) -> UpdateStats {
        if self.first_loss.is_none() && stats.loss.is_finite() {
            self.first_loss = Some(stats.loss);
        }
        stats
    }

    /// Whether the update that gave `stats` diverged: its loss is NaN or infinite, or more
    /// than [`DIVERGENCE_GROWTH`] times the pass's first update's.
    pub fn divergence(&self, stats: &UpdateStats) -> Option<Divergence> {
        Divergence::of(stats.loss, self.first_loss)
    }

    /// The update of [`PrmTrainer::step`], leaving the loss on the device.
    fn update(
        &mut self,
        inputs: Inputs,
        selected: &[usize],
        labels: &[ProcessLabel],
    ) -> Option<AppliedUpdate> {
        let learning_rate = self.schedule.at(self.step);
        self.step += 1;
        if selected.is_empty() {
            return None;
        }
        let input = inputs.select(selected, &self.device);
        let targets = StepTargets::new(
            labels,
            &input.step_counts,
            input.max_steps(),
            self.loss.steps,
            &self.device,
        );
        let bootstrap = BootstrapMask::sample(
            self.model.num_heads(),
            selected.len(),
            self.loss.learning_probability,
            &mut self.rng,
        );
        let logits = self.model.forward_counted(&input, &targets);
        let loss = self
            .loss
            .loss(logits, &targets, &bootstrap, self.model.anchor_penalty())?;
        let loss_parts = Tensor::cat(
            vec![
                loss.total.clone().detach(),
                loss.classification.detach(),
                loss.anchor.detach(),
            ],
            0,
        );
        let mut gradients = GradientsParams::from_grads(loss.total.backward(), &self.model);
        if let Some(max_norm) = self.global_clip_norm {
            gradients = clip_global_norm(&self.model, gradients, max_norm);
        }
        if let Some(ratio) = self.backbone_rate_ratio {
            let backbone = take_gradients(self.model.backbone(), &mut gradients);
            self.model = self
                .optimizer
                .step(learning_rate * ratio, self.model.clone(), backbone);
        }
        self.model = self
            .optimizer
            .step(learning_rate, self.model.clone(), gradients);
        Some(AppliedUpdate {
            loss_parts,
            learning_rate,
        })
    }
}

/// An update made, with its loss still on the device.
struct AppliedUpdate {
    /// Total, classification and anchor loss, in that order.
    loss_parts: Tensor<1>,
    learning_rate: f64,
}

impl AppliedUpdate {
    /// The statistics, from the read-back loss parts.
    fn stats(&self, parts: TensorData) -> UpdateStats {
        let [loss, classification, anchor]: [f32; 3] = parts
            .try_into_vec::<f32>()
            .expect("loss is f32")
            .try_into()
            .expect("three loss parts");
        UpdateStats {
            loss,
            classification,
            anchor,
            learning_rate: self.learning_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{EncodedTrajectory, EncodingConfig};
    use crate::features::{StepFeatures, compute_features};
    use crate::model::test_support::tiny_prm_config;
    use crate::scoring::encode_all;
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;

    /// The synthetic tokenizer, and four labelled synthetic problems encoded for it.
    fn synthetic_batch() -> (StepTokenizer, Vec<ProcessLabel>, Vec<EncodedTrajectory>) {
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let trajectories = generate(&synthetic, 4, 8);
        let labels = trajectories.iter().map(|t| t.label.unwrap()).collect();
        let encoded = encode_all(&tokenizer, &trajectories, &EncodingConfig::new()).unwrap();
        (tokenizer, labels, encoded)
    }

    /// The largest difference between two sets of step features.
    fn largest_change(a: &[StepFeatures], b: &[StepFeatures]) -> f32 {
        let pairs = a
            .iter()
            .zip(b)
            .flat_map(|(a, b)| a.values.iter().zip(b.values.iter()));
        pairs.map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    /// With a learning rate of its own, the backbone moves at that rate while the heads learn
    /// at theirs; the same rate given twice trains as one rate does.
    #[test]
    fn the_backbone_learns_at_its_own_rate() {
        let device = Device::flex();
        let (tokenizer, labels, encoded) = synthetic_batch();
        let pad_id = tokenizer.pad_id();
        let tokens = Inputs::Tokens {
            encoded: &encoded,
            pad_id,
        };
        let untrained = tiny_prm_config(tokenizer.vocab_size(), 2, 8).init(&device);
        let trained = |backbone_rate: Option<f64>| {
            let training = TrainingConfig::new()
                .with_learning_rate(1e-2)
                .with_warmup_steps(0)
                .with_backbone_learning_rate(backbone_rate);
            let mut trainer = PrmTrainer::new(untrained.clone(), &training, 3, &device);
            let all: Vec<usize> = (0..labels.len()).collect();
            for _ in 0..3 {
                trainer.step(tokens, &all, &labels).expect("an update");
            }
            trainer.into_model()
        };
        let features = |model: &EnsemblePrm| compute_features(model, &encoded, pad_id, 8, |_| {});
        let before = features(&untrained);

        let one_rate = trained(None);
        let same_rate_twice = trained(Some(1e-2));
        let batch = tokens.batch(&device);
        let (a, b) = (one_rate.score(&batch), same_rate_twice.score(&batch));
        for (x, y) in a
            .iter()
            .flat_map(|s| &s.mean)
            .zip(b.iter().flat_map(|s| &s.mean))
        {
            assert!((x - y).abs() < 1e-6, "{x} against {y}");
        }

        let slow_backbone = trained(Some(1e-6));
        let moved = largest_change(&before, &features(&one_rate));
        let barely = largest_change(&before, &features(&slow_backbone));
        assert!(barely < moved / 100.0, "{barely} against {moved}");
        assert_ne!(
            slow_backbone.score(&batch),
            untrained.score(&batch),
            "the heads learnt"
        );
    }

    /// In a decoder with adapters, the adapters and the heads learn and every pretrained
    /// weight stays as it was.
    #[test]
    fn an_adapted_decoder_trains_its_adapters_alone() {
        use burn::store::ModuleSnapshot;

        use crate::model::test_support::tiny_decoder_config;
        use crate::model::{EnsembleHeadsConfig, LoraConfig, PrmConfig};

        let device = Device::flex();
        let (tokenizer, labels, encoded) = synthetic_batch();
        let tokens = Inputs::Tokens {
            encoded: &encoded,
            pad_id: tokenizer.pad_id(),
        };
        let decoder = tiny_decoder_config(tokenizer.vocab_size())
            .with_lora(Some(LoraConfig::new().with_rank(2)));
        let untrained = PrmConfig::new(decoder.into())
            .with_heads(EnsembleHeadsConfig::new().with_num_heads(2).with_hidden(8))
            .init(&device);
        let training = TrainingConfig::new()
            .with_learning_rate(1e-2)
            .with_warmup_steps(0);
        let mut trainer = PrmTrainer::new(untrained.clone(), &training, 3, &device);
        let all: Vec<usize> = (0..labels.len()).collect();
        for _ in 0..3 {
            trainer.step(tokens, &all, &labels).expect("an update");
        }
        let trained = trainer.into_model();

        let weights = |model: &EnsemblePrm| -> Vec<(String, Vec<u8>)> {
            model
                .backbone()
                .collect(None, None, false)
                .iter()
                .map(|tensor| (tensor.name.clone(), tensor.to_bytes().unwrap().to_vec()))
                .collect()
        };
        let (before, after) = (weights(&untrained), weights(&trained));
        assert_eq!(before.len(), after.len());
        let mut adapters = 0;
        for ((name, old), (_, new)) in before.iter().zip(&after) {
            if name.contains(".lora.") {
                adapters += 1;
                assert_ne!(old, new, "{name} learnt");
            } else {
                assert_eq!(old, new, "{name} stayed as it was");
            }
        }
        // Two layers of four adapted projections, each with A and B.
        assert_eq!(adapters, 2 * 4 * 2);
    }
}
