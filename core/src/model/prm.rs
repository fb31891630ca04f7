//! `EnsemblePrm`: the backbone and the ensemble heads, reading one feature per step at the
//! step separators.

use burn::config::Config;
use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::backbone::{PrmBackbone, PrmBackboneConfig};
use super::feature_norm::{FeatureMoments, FeatureNorm};
use super::heads::{EnsembleHeads, EnsembleHeadsConfig};
use super::small_transformer::BackboneConfig;
use crate::batch::{InputSource, Inputs, PrmInput, StepTargets};
use crate::scores::StepScores;
use crate::scoring::SCORE_BATCH_SIZE;

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
    /// A tiny model for a vocabulary of `vocab_size`: a 2-layer backbone of width 32
    /// (feed-forward 64) and 4 heads of hidden width 32. Trained with
    /// [`TrainingConfig::tiny`](crate::trainer::TrainingConfig::tiny), it learns the synthetic
    /// task's default error kind within one pass over about 5,000 problems, in seconds on a
    /// CPU: small enough to train live in a browser.
    pub fn tiny(vocab_size: usize) -> Self {
        PrmConfig::new(
            BackboneConfig::new(vocab_size)
                .with_d_model(32)
                .with_n_layers(2)
                .with_d_ff(64)
                .into(),
        )
        .with_heads(EnsembleHeadsConfig::new().with_num_heads(4).with_hidden(32))
    }

    /// Builds the model with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> EnsemblePrm {
        EnsemblePrm {
            backbone: self.backbone.init(device),
            heads: self.heads.init(self.backbone.width(), device),
        }
    }

    /// Whether `backbone` is of the configured kind (small, BERT or decoder).
    pub fn is_kind_of(&self, backbone: &PrmBackbone) -> bool {
        matches!(
            (&self.backbone, backbone),
            (PrmBackboneConfig::Small(_), PrmBackbone::Small(_))
                | (PrmBackboneConfig::Bert(_), PrmBackbone::Bert(_))
                | (PrmBackboneConfig::Decoder(_), PrmBackbone::Decoder(_))
        )
    }

    /// The model around an existing backbone (a pretrained one), with fresh heads.
    ///
    /// # Panics
    /// When `backbone` is not of the configured kind.
    pub fn init_around(&self, backbone: PrmBackbone, device: &Device) -> EnsemblePrm {
        assert!(
            self.is_kind_of(&backbone),
            "the backbone is not of the configured kind"
        );
        EnsemblePrm {
            backbone,
            heads: self.heads.init(self.backbone.width(), device),
        }
    }
}

impl EnsemblePrm {
    /// The model made of `backbone` and `heads`.
    pub fn from_parts(backbone: PrmBackbone, heads: EnsembleHeads) -> Self {
        Self { backbone, heads }
    }

    /// Per-head logits of every step.
    ///
    /// # Shapes
    ///
    /// - input: a batch of `batch` trajectories with at most `max_steps` steps
    /// - output: `[E, batch, max_steps]` (slots past a trajectory's last step are meaningless)
    pub fn forward(&self, input: &PrmInput) -> Tensor<3> {
        self.heads.forward(self.step_features(input))
    }

    /// Per-head logits of the steps `targets` counts alone: the backbone reads every step as
    /// [`Self::forward`] does, and the heads run on the counted ones.
    ///
    /// # Shapes
    ///
    /// - output: `[E, batch, slots]`, laid out as `targets` is
    pub fn forward_counted(&self, input: &PrmInput, targets: &StepTargets) -> Tensor<3> {
        let features = self.step_features(input);
        let [batch, max_steps, width] = features.dims();
        let [_, slots] = targets.labelled.dims();
        let counted = features
            .reshape([batch * max_steps, width])
            .select(0, targets.steps.clone())
            .reshape([batch, slots, width]);
        self.heads.forward(counted)
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
                step_spans,
            } => {
                let hidden = self.backbone.forward(tokens.clone(), padding.clone());
                let [rows, seq_len, width] = hidden.dims();
                let mut features = hidden
                    .clone()
                    .reshape([rows * seq_len, width])
                    .select(0, step_gather.clone());
                if self.backbone.step_feature().pools_step_tokens() {
                    features = Tensor::cat(vec![features, step_spans.means(hidden)], 1);
                }
                let width = features.dims()[1];
                features.reshape([input.batch_size(), input.max_steps(), width])
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

    /// The ensemble heads.
    #[cfg(test)]
    pub(crate) fn heads(&self) -> &EnsembleHeads {
        &self.heads
    }

    /// The backbone that reads trajectories into step features.
    pub fn backbone(&self) -> &PrmBackbone {
        &self.backbone
    }

    /// Whether `other` reads trajectories with the same backbone, weight for weight, as models
    /// whose heads were trained on one frozen backbone do. Compares every backbone tensor.
    pub fn shares_backbone_with(&self, other: &EnsemblePrm) -> bool {
        let ours = self.backbone.collect(None, None, false);
        let theirs = other.backbone.collect(None, None, false);
        ours.len() == theirs.len()
            && ours.iter().zip(&theirs).all(|(a, b)| {
                a.name == b.name
                    && a.dtype == b.dtype
                    && a.shape == b.shape
                    && matches!((a.to_bytes(), b.to_bytes()), (Ok(x), Ok(y)) if x == y)
            })
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

    /// Per-dimension moments of the backbone's feature of every step of `inputs`, read
    /// [`SCORE_BATCH_SIZE`] trajectories at a time (native only): what the heads'
    /// [`FeatureNorm`] is fitted to.
    pub fn feature_moments(&self, inputs: Inputs) -> FeatureMoments {
        let model = self.valid();
        let device = self.device();
        let width = self.heads.input_width();
        let mut moments = FeatureMoments::new(width);
        for chunk in inputs.chunks(SCORE_BATCH_SIZE) {
            let batch = chunk.batch(&device);
            let max_steps = batch.max_steps();
            let values = model
                .step_features(&batch)
                .into_data()
                .try_into_vec::<f32>()
                .expect("features are f32");
            for (trajectory, &steps) in batch.step_counts.iter().enumerate() {
                let first = trajectory * max_steps * width;
                values[first..first + steps * width]
                    .chunks_exact(width)
                    .for_each(|row| moments.add(row));
            }
        }
        moments
    }

    /// This model with its heads reading features through `norm`.
    ///
    /// # Panics
    /// When `norm` is not of the backbone's width.
    pub fn with_input_norm(self, norm: FeatureNorm) -> Self {
        Self {
            heads: self.heads.with_input_norm(norm),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::batch::PrmInput;
    use crate::encoding::{EncodedTrajectory, EncodingConfig, encode_trajectory};
    use crate::loss_steps::LossSteps;
    use crate::model::test_support::tiny_prm_config;
    use crate::scores::StepScores;
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;
    use crate::trajectory::ProcessLabel;
    use crate::trajectory::Trajectory;

    fn assert_close(a: &StepScores, b: &StepScores) {
        for (x, y) in a.heads.iter().flatten().zip(b.heads.iter().flatten()) {
            assert!((x - y).abs() < 1e-5, "{x} against {y}");
        }
    }

    #[test]
    fn a_backbone_is_shared_only_weight_for_weight() {
        let device = Device::flex();
        device.seed(1);
        let config = tiny_prm_config(20, 2, 8);
        let backbone = config.backbone.init(&device);
        let model = config.init_around(backbone.clone(), &device);
        let other_heads = config
            .clone()
            .with_heads(config.heads.clone().with_seed(9))
            .init_around(backbone, &device);
        let other_backbone = config.init(&device);
        assert!(model.shares_backbone_with(&other_heads));
        assert!(!model.shares_backbone_with(&other_backbone));
    }

    /// Each step of a windowed trajectory scores as it does when its window is read alone, and
    /// a trajectory that fits in one window scores the same alone or batched with windowed
    /// ones.
    #[test]
    fn windows_are_scored_as_separate_reads() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        device.seed(3);
        let model = tiny_prm_config(tokenizer.vocab_size(), 3, 8).init(&device);
        let mut short = generate(&synthetic, 1, 7).remove(0);
        short.steps.truncate(2);
        let long = Trajectory {
            steps: generate(&synthetic, 6, 8)
                .into_iter()
                .flat_map(|t| t.steps)
                .collect(),
            ..short.clone()
        };
        let config = EncodingConfig::new()
            .with_max_positions(64)
            .with_max_context_tokens(16);
        let short = encode_trajectory(&tokenizer, &short, &config).unwrap();
        let long = encode_trajectory(&tokenizer, &long, &config).unwrap();
        assert_eq!(short.windows.len(), 1);
        assert!(long.windows.len() > 2, "{} windows", long.windows.len());

        let pad = tokenizer.pad_id();
        let batched = model.score(&PrmInput::new(
            &[short.clone(), long.clone(), short.clone()],
            pad,
            &device,
        ));
        let alone = model.score(&PrmInput::new(std::slice::from_ref(&short), pad, &device));
        assert_close(&batched[0], &alone[0]);
        assert_close(&batched[2], &alone[0]);
        assert_eq!(batched[1].mean.len(), long.num_steps());
        for (j, at) in long.step_positions.iter().enumerate() {
            let window =
                EncodedTrajectory::single_window(long.windows[at.window].clone(), &[at.position]);
            let read_alone = model
                .score(&PrmInput::new(&[window], pad, &device))
                .remove(0);
            let step =
                StepScores::from_heads(batched[1].heads.iter().map(|head| vec![head[j]]).collect());
            assert_close(&step, &read_alone);
        }
    }

    /// The moments count every real step once and no padding slot, and a model whose heads
    /// standardise reads a feature as the same heads unstandardised read it standardised.
    #[test]
    fn heads_standardise_by_the_moments_of_the_real_steps() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        device.seed(5);
        let model = tiny_prm_config(tokenizer.vocab_size(), 2, 8).init(&device);
        let trajectories = generate(&synthetic, 40, 11);
        let encoded: Vec<EncodedTrajectory> = trajectories
            .iter()
            .map(|t| encode_trajectory(&tokenizer, t, &EncodingConfig::new()).unwrap())
            .collect();
        let inputs = Inputs::Tokens {
            encoded: &encoded,
            pad_id: tokenizer.pad_id(),
        };
        let moments = model.feature_moments(inputs);
        let steps: usize = trajectories.iter().map(Trajectory::num_steps).sum();
        assert_eq!(moments.count(), steps);
        let mut by_trajectory = FeatureMoments::new(moments.mean().len());
        for one in encoded.chunks(1) {
            let batch = PrmInput::new(one, tokenizer.pad_id(), &device);
            let values: Vec<f32> = model
                .step_features(&batch)
                .into_data()
                .try_to_vec()
                .unwrap();
            values
                .chunks_exact(by_trajectory.mean().len())
                .for_each(|row| by_trajectory.add(row));
        }
        for (a, b) in moments.mean().iter().zip(by_trajectory.mean()) {
            assert!((a - b).abs() < 1e-5, "{a} against {b}");
        }

        let norm = FeatureNorm::fitted(&moments, &device);
        let batch = PrmInput::new(&encoded[..3], tokenizer.pad_id(), &device);
        let standardised =
            FeatureNorm::fitted(&moments, &device).forward(model.step_features(&batch));
        let by_hand = model.heads().forward(standardised);
        let model = model.with_input_norm(norm);
        assert!(model.heads().standardises_input());
        let logits: Vec<f32> = model.forward(&batch).into_data().try_to_vec().unwrap();
        let expected: Vec<f32> = by_hand.into_data().try_to_vec().unwrap();
        for (x, y) in logits.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-5, "{x} against {y}");
        }
    }

    /// The heads run on the counted steps alone and give them the logits the whole batch's
    /// forward pass gives them.
    #[test]
    fn counted_steps_get_the_logits_of_the_whole_forward() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        device.seed(7);
        let model = tiny_prm_config(tokenizer.vocab_size(), 3, 8).init(&device);
        let encoded: Vec<EncodedTrajectory> = generate(&synthetic, 13, 3)
            .iter()
            .map(|t| encode_trajectory(&tokenizer, t, &EncodingConfig::new()).unwrap())
            .collect();
        let batch = PrmInput::new(&encoded, tokenizer.pad_id(), &device);
        let max_steps = batch.max_steps();
        let whole: Vec<f32> = model.forward(&batch).into_data().try_to_vec().unwrap();
        let labels = [
            ProcessLabel::FirstErrorAt(1),
            ProcessLabel::AllCorrect,
            ProcessLabel::FirstErrorAt(0),
        ];
        for counted in [LossSteps::All, LossSteps::Last] {
            let targets =
                StepTargets::new(&labels, &batch.step_counts, max_steps, counted, &device);
            let [_, slots] = targets.labelled.dims();
            let logits: Vec<f32> = model
                .forward_counted(&batch, &targets)
                .into_data()
                .try_to_vec()
                .unwrap();
            assert_eq!(logits.len(), 3 * labels.len() * slots);
            for (b, (&label, &count)) in labels.iter().zip(&batch.step_counts).enumerate() {
                for (slot, (s, _)) in counted.counted(label, count).into_iter().enumerate() {
                    for head in 0..3 {
                        let got = logits[(head * labels.len() + b) * slots + slot];
                        let want = whole[(head * labels.len() + b) * max_steps + s];
                        assert!(
                            (got - want).abs() < 1e-5,
                            "{counted:?} {b} {s}: {got} {want}"
                        );
                    }
                }
            }
        }
    }
}
