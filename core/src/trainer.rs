//! One optimisation step of the ensemble PRM: forward on the selected trajectories, the ActPRM
//! loss, backward, gradient clipping and AdamW with the warm-up/decay schedule.

use burn::config::Config;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use crate::batch::{Inputs, StepTargets};
use crate::clipping::{Clipping, clip_global_norm};
use crate::loss::{BootstrapMask, LossConfig};
use crate::model::EnsemblePrm;
use crate::rng::SeededRng;
use crate::schedule::WarmupLinearDecay;
use crate::trajectory::ProcessLabel;

/// Optimisation settings. The paper fine-tunes a 7B model at lr 1e-5 with 500 warm-up steps;
/// the defaults here suit the small models trained from scratch on the synthetic task.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Trajectories per pool mini-batch.
    #[config(default = 32)]
    pub batch_size: usize,
    /// Peak learning rate of AdamW.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Mini-batches of linear warm-up before the linear decay.
    #[config(default = 20)]
    pub warmup_steps: usize,
    /// AdamW decoupled weight decay (0, as in the reference setup: the anchor term already
    /// regularises the heads).
    #[config(default = 0.0)]
    pub weight_decay: f32,
    /// The L2 norm gradients are clipped to.
    #[config(default = 1.0)]
    pub gradient_clip_norm: f32,
    /// Whether that norm is of all gradients together (the reference setup's) or of each
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
    /// The norm all gradients together are clipped to, when clipping is global.
    global_clip_norm: Option<f32>,
    rng: SeededRng,
    step: usize,
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
            global_clip_norm: (config.clipping == Clipping::Global)
                .then_some(config.gradient_clip_norm),
            rng: SeededRng::derive(config.seed, 0x4C4F_5353),
            step: 0,
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
        Some(update.stats(update.loss_parts.clone().into_data()))
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
        Some(update.stats(parts.expect("the loss parts are readable")))
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
        let targets = StepTargets::new(labels, &input.step_counts, input.max_steps(), &self.device);
        let bootstrap = BootstrapMask::sample(
            self.model.num_heads(),
            selected.len(),
            self.loss.learning_probability,
            &mut self.rng,
        );
        let logits = self.model.forward(&input);
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
