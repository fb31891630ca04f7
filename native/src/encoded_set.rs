//! A set of trajectories as an experiment reads them: labelled trajectories, their encodings,
//! and their step features when the backbone is frozen.

use actprm_core::Trajectory;
use actprm_core::batch::Inputs;
use actprm_core::encoding::{EncodedTrajectory, EncodingConfig};
use actprm_core::features::StepFeatures;
use actprm_core::model::EnsemblePrm;
use actprm_core::scoring::encode_all;
use actprm_core::tokenizer::StepTokenizer;
use anyhow::{Result, anyhow};

use crate::feature_cache::{FeatureCache, step_features};
use crate::progress;
use crate::stdout::outln;

/// Trajectories scored per forward pass when evaluating.
pub const EVAL_BATCH: usize = 64;

/// Labelled trajectories and their encodings, with their step features when the backbone is
/// frozen.
#[derive(Default)]
pub struct EncodedSet {
    pub trajectories: Vec<Trajectory>,
    pub encoded: Vec<EncodedTrajectory>,
    pub features: Option<Vec<StepFeatures>>,
}

impl EncodedSet {
    pub fn new(
        tokenizer: &StepTokenizer,
        encoding: &EncodingConfig,
        trajectories: Vec<Trajectory>,
        what: &str,
    ) -> Result<Self> {
        let encoded =
            encode_all(tokenizer, &trajectories, encoding).map_err(|e| anyhow!("{what} {e}"))?;
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

    /// Computes the step features `model`'s backbone gives every trajectory, reading those
    /// that `cache` holds from it and storing the others there.
    pub fn cache_features(
        &mut self,
        model: &EnsemblePrm,
        cache: Option<&FeatureCache>,
        pad_id: u32,
        what: &str,
    ) -> Result<()> {
        let bar = progress::bar(self.encoded.len(), what);
        let progress = |done: usize| bar.set_position(done as u64);
        let (features, usage) =
            step_features(cache, model, &self.encoded, pad_id, EVAL_BATCH, progress)?;
        if let (Some(cache), true) = (cache, usage.hits > 0) {
            outln!(
                "{what}: {} of {} read from the cache {}",
                usage.hits,
                self.encoded.len(),
                cache.dir().display()
            )?;
        }
        bar.finish_and_clear();
        self.features = Some(features);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.trajectories.len()
    }

    /// The trajectories at `indices`, in that order, with their encodings and features.
    pub fn subset(&self, indices: &[usize]) -> Self {
        Self {
            trajectories: indices
                .iter()
                .map(|&i| self.trajectories[i].clone())
                .collect(),
            encoded: indices.iter().map(|&i| self.encoded[i].clone()).collect(),
            features: self
                .features
                .as_ref()
                .map(|features| indices.iter().map(|&i| features[i].clone()).collect()),
        }
    }
}
