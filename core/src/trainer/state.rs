//! What a trainer holds beyond its model's weights, saved so that training can stop and go on
//! later exactly as if it never stopped: the schedule's position, the bootstrap generator and
//! AdamW's moments.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Bytes, Tensor};
use serde::{Deserialize, Serialize};

use super::PrmTrainer;
use crate::model::EnsemblePrm;
use crate::rng::SeededRng;
use crate::trainer::TrainingConfig;

/// A trainer's state between two mini-batches, without the model's weights (which a
/// checkpoint holds).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerState {
    /// Where the schedule and the bootstrap generator stand.
    pub position: TrainerPosition,
    /// AdamW's per-parameter moments and step counts, in burn's burnpack format, keyed by
    /// the parameter ids in `position`.
    pub optimizer: Vec<u8>,
}

/// The small part of a [`TrainerState`], as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerPosition {
    /// Mini-batches the schedule has advanced by.
    pub step: usize,
    /// The generator of the bootstrap masks.
    pub rng: SeededRng,
    /// The model's parameter ids in the order burn visits the parameters. The optimiser's
    /// state is keyed by them, and a model rebuilt from its weights draws new ones, so a
    /// resumed trainer gives its model these back.
    pub parameter_ids: Vec<u64>,
    /// The loss of the pass's first update, the scale of divergence; absent in states saved
    /// before it was kept, whose resumed pass takes its first update's instead.
    #[serde(default)]
    pub first_loss: Option<f32>,
}

/// Why a trainer cannot go on from a saved state.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResumeError {
    /// The model is not the one the state was taken from.
    #[error(
        "the saved trainer state is of a model with {saved} parameters, and this one has \
         {model}"
    )]
    ParameterCount {
        /// Parameters of the model the state was taken from.
        saved: usize,
        /// Parameters of the model given.
        model: usize,
    },
    /// The optimiser's state does not read.
    #[error("the saved optimiser state does not read: {0}")]
    Optimizer(String),
}

impl PrmTrainer {
    /// Where the trainer stands, for [`PrmTrainer::resume`].
    pub fn state(&self) -> Result<TrainerState, ResumeError> {
        let optimizer = self
            .optimizer
            .into_bytes()
            .map_err(|e| ResumeError::Optimizer(e.to_string()))?;
        Ok(TrainerState {
            position: TrainerPosition {
                step: self.step,
                rng: self.rng.clone(),
                parameter_ids: parameter_ids(&self.model),
                first_loss: self.first_loss,
            },
            optimizer: optimizer.to_vec(),
        })
    }

    /// A trainer that goes on from `state`, training `model`: the weights the trainer that
    /// gave `state` had then, with the `config` and `total_steps` it was made with. It then
    /// makes exactly the updates that trainer would have made.
    pub fn resume(
        model: EnsemblePrm,
        config: &TrainingConfig,
        total_steps: usize,
        device: &burn::tensor::Device,
        state: TrainerState,
    ) -> Result<Self, ResumeError> {
        let model = with_parameter_ids(model, &state.position.parameter_ids)?;
        let mut trainer = Self::new(model, config, total_steps, device);
        trainer.optimizer = trainer
            .optimizer
            .from_bytes(Bytes::from_bytes_vec(state.optimizer))
            .map_err(|e| ResumeError::Optimizer(e.to_string()))?;
        trainer.step = state.position.step;
        trainer.rng = state.position.rng;
        trainer.first_loss = state.position.first_loss;
        Ok(trainer)
    }
}

/// The ids of `model`'s float parameters, in the order burn visits them.
fn parameter_ids(model: &EnsemblePrm) -> Vec<u64> {
    struct Ids(Vec<u64>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id.val());
        }
    }
    let mut ids = Ids(Vec::new());
    model.visit(&mut ids);
    ids.0
}

/// `model` with its float parameters given `ids`, in the order burn visits them.
fn with_parameter_ids(model: EnsemblePrm, ids: &[u64]) -> Result<EnsemblePrm, ResumeError> {
    let count = parameter_ids(&model).len();
    if count != ids.len() {
        return Err(ResumeError::ParameterCount {
            saved: ids.len(),
            model: count,
        });
    }
    struct Renumber<'a>(std::slice::Iter<'a, u64>);
    impl ModuleMapper for Renumber<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let id = *self.0.next().expect("as many ids as parameters");
            let (_, value, mapper) = param.consume();
            Param::from_mapped_value(ParamId::from(id), value, mapper)
        }
    }
    Ok(model.map(&mut Renumber(ids.iter())))
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::batch::Inputs;
    use crate::checkpoint::{CheckpointConfig, CheckpointFiles};
    use crate::encoding::EncodingConfig;
    use crate::loss::LossConfig;
    use crate::model::test_support::tiny_prm_config;
    use crate::model::{BackboneConfig, PrmConfig};
    use crate::scoring::encode_all;
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;
    use crate::trajectory::ProcessLabel;

    /// Every float parameter's values, in the order burn visits them.
    fn parameter_values(model: &EnsemblePrm) -> Vec<Vec<f32>> {
        struct Values(Vec<Vec<f32>>);
        impl ModuleVisitor for Values {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0
                    .push(param.val().into_data().try_to_vec::<f32>().unwrap());
            }
        }
        let mut values = Values(Vec::new());
        model.visit(&mut values);
        values.0
    }

    /// Stopping after some updates, saving the weights and the state, reloading both and
    /// going on gives the weights a trainer never stopped gives, bit for bit; the schedule,
    /// the bootstrap masks and AdamW's moments all carry over (a trainer resumed without the
    /// optimiser's state ends elsewhere).
    #[test]
    fn a_resumed_trainer_ends_where_an_unstopped_one_does() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let trajectories = generate(&synthetic, 5, 12);
        let labels: Vec<ProcessLabel> = trajectories.iter().map(|t| t.label.unwrap()).collect();
        let encoded = encode_all(&tokenizer, &trajectories, &EncodingConfig::new()).unwrap();
        let inputs = Inputs::Tokens {
            encoded: &encoded,
            pad_id: tokenizer.pad_id(),
        };
        let prm = tiny_prm_config(tokenizer.vocab_size(), 3, 8);
        let config = CheckpointConfig::new(prm.clone(), EncodingConfig::new());
        let training = TrainingConfig::new()
            .with_learning_rate(1e-2)
            .with_warmup_steps(2)
            .with_loss(LossConfig::new().with_learning_probability(0.5))
            .with_seed(9);
        let batches: [&[usize]; 6] = [&[0, 1, 2], &[3, 4], &[], &[5, 6, 7, 8], &[9], &[10, 11]];
        let train = |trainer: &mut PrmTrainer, batches: &[&[usize]]| {
            for selected in batches {
                let chosen: Vec<ProcessLabel> = selected.iter().map(|&i| labels[i]).collect();
                trainer.step(inputs, selected, &chosen);
            }
        };
        let weights = |trainer: PrmTrainer| parameter_values(&trainer.into_model());
        let untrained = prm.init(&device);
        // burn draws initial weights on first use; draw them once, for both trainers.
        untrained.score(&inputs.batch(&device));

        let mut unstopped = PrmTrainer::new(untrained.clone(), &training, 6, &device);
        train(&mut unstopped, &batches);
        let unstopped = weights(unstopped);

        let mut first = PrmTrainer::new(untrained, &training, 6, &device);
        train(&mut first, &batches[..3]);
        let state = first.state().unwrap();
        assert_eq!(state.position.step, 3);
        let saved = CheckpointFiles::from_model(first.model(), &config, &tokenizer).unwrap();
        let reloaded = || saved.load(&device).unwrap().model;

        let mut resumed =
            PrmTrainer::resume(reloaded(), &training, 6, &device, state.clone()).unwrap();
        train(&mut resumed, &batches[3..]);
        assert!(weights(resumed) == unstopped, "the weights differ");

        let mut forgetful = PrmTrainer::resume(
            reloaded(),
            &training,
            6,
            &device,
            TrainerState {
                optimizer: PrmTrainer::new(reloaded(), &training, 6, &device)
                    .state()
                    .unwrap()
                    .optimizer,
                ..state.clone()
            },
        )
        .unwrap();
        train(&mut forgetful, &batches[3..]);
        assert!(
            weights(forgetful) != unstopped,
            "without AdamW's moments the updates differ"
        );

        let deeper = PrmConfig::new(
            BackboneConfig::new(tokenizer.vocab_size())
                .with_d_model(16)
                .with_n_layers(2)
                .with_d_ff(32)
                .into(),
        );
        let other = deeper.init(&device);
        let refused = PrmTrainer::resume(other, &training, 6, &device, state).err();
        assert!(
            matches!(refused, Some(ResumeError::ParameterCount { .. })),
            "{refused:?}"
        );
    }
}
