//! `EnsemblePrm`: the backbone and the ensemble heads, reading one feature per step at the
//! step separators.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::heads::{EnsembleHeads, EnsembleHeadsConfig};
use super::prm_backbone::{PrmBackbone, PrmBackboneConfig};
use crate::batch::{InputSource, PrmInput};
use crate::scores::StepScores;

/// Configuration of [`EnsemblePrm`].
#[derive(Config, Debug)]
pub struct PrmConfig {
    /// The transformer that reads `question + steps`.
    pub backbone: PrmBackboneConfig,
    /// The ensemble of scoring heads.
    #[config(default = "EnsembleHeadsConfig::new()")]
    pub heads: EnsembleHeadsConfig,
}

/// An ensemble process reward model.
#[derive(Module, Debug)]
pub struct EnsemblePrm {
    backbone: PrmBackbone,
    heads: EnsembleHeads,
}

impl PrmConfig {
    /// Builds the model with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> EnsemblePrm {
        EnsemblePrm {
            backbone: self.backbone.init(device),
            heads: self.heads.init(self.backbone.width(), device),
        }
    }

    /// The model around an existing backbone (a pretrained one), with fresh heads.
    ///
    /// # Panics
    /// When `backbone` is not of the configured kind.
    pub fn init_around(&self, backbone: PrmBackbone, device: &Device) -> EnsemblePrm {
        let same_kind = matches!(
            (&self.backbone, &backbone),
            (PrmBackboneConfig::Small(_), PrmBackbone::Small(_))
                | (PrmBackboneConfig::Bert(_), PrmBackbone::Bert(_))
        );
        assert!(same_kind, "the backbone is not of the configured kind");
        EnsemblePrm {
            backbone,
            heads: self.heads.init(self.backbone.width(), device),
        }
    }
}

impl EnsemblePrm {
    /// Per-head logits of every step.
    ///
    /// # Shapes
    ///
    /// - input: a batch of `batch` trajectories with at most `max_steps` steps
    /// - output: `[E, batch, max_steps]` (slots past a trajectory's last step are meaningless)
    pub fn forward(&self, input: &PrmInput) -> Tensor<3> {
        self.heads.forward(self.step_features(input))
    }

    /// The backbone's feature of every step, `[batch, max_steps, width]`; for an input of
    /// cached features, those features.
    pub fn step_features(&self, input: &PrmInput) -> Tensor<3> {
        match &input.source {
            InputSource::Features(features) => features.clone(),
            InputSource::Tokens {
                tokens,
                padding,
                step_gather,
            } => {
                let hidden = self.backbone.forward(tokens.clone(), padding.clone());
                let [batch, seq_len, width] = hidden.dims();
                hidden
                    .reshape([batch * seq_len, width])
                    .select(0, step_gather.clone())
                    .reshape([batch, input.max_steps(), width])
            }
        }
    }

    /// Per-head probabilities that each step is correct, `[E, batch, max_steps]`.
    pub fn step_probabilities(&self, input: &PrmInput) -> Tensor<3> {
        sigmoid(self.forward(input))
    }

    /// The anchored-ensemble regulariser of the heads.
    pub fn anchor_penalty(&self) -> Tensor<1> {
        self.heads.anchor_penalty()
    }

    /// Number of heads E.
    pub fn num_heads(&self) -> usize {
        self.heads.num_heads()
    }

    /// The device the model's parameters live on.
    pub fn device(&self) -> Device {
        self.devices()
            .into_iter()
            .next()
            .expect("a model lives on a device")
            .inner()
    }
}

impl EnsemblePrm {
    /// Ensemble scores of every trajectory in `input`, read back synchronously (native only).
    pub fn score(&self, input: &PrmInput) -> Vec<StepScores> {
        let probabilities = self.valid().step_probabilities(input);
        let flat = probabilities
            .into_data()
            .try_into_vec::<f32>()
            .expect("probabilities are f32");
        StepScores::from_batch(&flat, self.num_heads(), &input.step_counts)
    }

    /// Ensemble scores with an asynchronous read-back, as browsers require.
    pub async fn score_async(&self, input: &PrmInput) -> Vec<StepScores> {
        let probabilities = self.valid().step_probabilities(input);
        let flat = probabilities
            .into_data_async()
            .await
            .expect("read-back of the step probabilities")
            .try_into_vec::<f32>()
            .expect("probabilities are f32");
        StepScores::from_batch(&flat, self.num_heads(), &input.step_counts)
    }
}
