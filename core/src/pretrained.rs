//! A pretrained BERT-family backbone read from a directory holding the Hugging Face
//! `config.json`, `model.safetensors` and `tokenizer.json` (as scripts/fetch-backbone.sh
//! unpacks all-MiniLM-L6-v2), made ready for a PRM: the step separator is added to the
//! tokenizer as a new token, and its embedding row starts as a copy of an existing token's.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::model::{Bert, BertConfig, WeightsError};
use crate::tokenizer::{SpecialTokensConfig, StepTokenizer};

/// The token whose embedding a new step separator starts from, by default: BERT's own
/// segment separator.
pub const DEFAULT_SEPARATOR_INIT: &str = "[SEP]";

/// A loaded backbone with its tokenizer.
#[derive(Debug, Clone)]
pub struct PretrainedBackbone {
    /// Its configuration, the grown vocabulary included.
    pub config: BertConfig,
    /// The encoder.
    pub bert: Bert,
    /// Its tokenizer, with the step separator.
    pub tokenizer: StepTokenizer,
}

/// Why a pretrained backbone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    /// A file could not be read.
    #[error("{path}: {source} (run scripts/fetch-backbone.sh to get all-MiniLM-L6-v2)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `config.json` is not a BERT configuration.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
    /// `tokenizer.json` is unusable.
    #[error("{path}: {message}")]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The token the separator's embedding should copy is not in the vocabulary.
    #[error("the tokenizer has no token {0:?} to initialise the step separator from")]
    UnknownInitToken(String),
    /// The weights do not fit the configuration.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

impl PretrainedBackbone {
    /// Loads the backbone in `dir` onto `device`; the separator named in `special` is added to
    /// the vocabulary (when absent) with the embedding of `separator_init`.
    pub fn load(
        dir: &Path,
        special: &SpecialTokensConfig,
        separator_init: &str,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map(|text| (text, path.clone()))
                .map_err(|source| PretrainedError::Io { path, source })
        };
        let (text, path) = read("config.json")?;
        let mut config = BertConfig::from_hf_json(&text)
            .map_err(|source| PretrainedError::Config { path, source })?;
        let (text, path) = read("tokenizer.json")?;
        let tokenizer = StepTokenizer::from_json(&text, special).map_err(|error| {
            PretrainedError::Tokenizer {
                path,
                message: error.to_string(),
            }
        })?;
        let init_id = tokenizer
            .token_id(separator_init)
            .ok_or_else(|| PretrainedError::UnknownInitToken(separator_init.to_string()))?;
        let mut bert = config
            .init(device)
            .load_hf_file(&dir.join("model.safetensors"))?;
        if tokenizer.vocab_size() > config.vocab_size {
            bert = bert.with_vocab_size(tokenizer.vocab_size(), init_id as usize);
            config.vocab_size = tokenizer.vocab_size();
        }
        Ok(Self {
            config,
            bert,
            tokenizer,
        })
    }
}

/// The backbone directory the tests read.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// Where scripts/fetch-backbone.sh unpacks all-MiniLM-L6-v2 (`$ACTPRM_BACKBONE` overrides).
    ///
    /// # Panics
    /// When the weights are not there, saying how to get them.
    pub(crate) fn backbone_dir() -> PathBuf {
        let dir = std::env::var_os("ACTPRM_BACKBONE").map_or_else(
            || {
                let home = std::env::var_os("HOME").expect("HOME is set");
                PathBuf::from(home).join(".cache/actprm/all-minilm-l6-v2")
            },
            PathBuf::from,
        );
        assert!(
            dir.join("model.safetensors").is_file(),
            "the all-MiniLM-L6-v2 weights are not in {}: run scripts/fetch-backbone.sh (or set \
             ACTPRM_BACKBONE to where they are)",
            dir.display()
        );
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::backbone_dir;
    use super::*;
    use crate::batch::PrmInput;
    use burn::tensor::TensorData;

    use crate::encoding::{EncodedTrajectory, EncodingConfig, encode_trajectory};
    use crate::model::{EnsembleHeads, EnsemblePrm, PrmBackbone};
    use crate::trajectory::Trajectory;

    /// One trajectory of the step-score reference: its text, and what the reference built and
    /// scored.
    #[derive(serde::Deserialize)]
    struct GoldenTrajectory {
        question: String,
        steps: Vec<String>,
        ids: Vec<u32>,
        separator_positions: Vec<usize>,
        /// `probabilities[e][j]`.
        probabilities: Vec<Vec<f32>>,
    }

    /// One head layer of the reference: `weight[e][in][out]`, `bias[e][out]`.
    #[derive(serde::Deserialize)]
    struct GoldenLayer {
        weight: Vec<Vec<Vec<f32>>>,
        bias: Vec<Vec<f32>>,
    }

    /// Separator, encoding, encoder, step gathering and heads together give the step scores
    /// that scripts/bert_golden.py computes independently with NumPy, both trajectories in one
    /// padded batch.
    #[test]
    fn minilm_step_scores_match_the_numpy_reference() {
        #[derive(serde::Deserialize)]
        struct Golden {
            separator_init: String,
            heads: Vec<GoldenLayer>,
            trajectories: Vec<GoldenTrajectory>,
        }
        let golden: Golden =
            serde_json::from_str(include_str!("minilm_step_scores_golden.json")).unwrap();
        let device = Device::flex();
        let pretrained = PretrainedBackbone::load(
            &backbone_dir(),
            &SpecialTokensConfig::new(),
            &golden.separator_init,
            &device,
        )
        .unwrap();
        let layers = golden
            .heads
            .iter()
            .map(|layer| {
                let heads = layer.weight.len();
                let (fan_in, fan_out) = (layer.weight[0].len(), layer.bias[0].len());
                let weight: Vec<f32> = layer.weight.iter().flatten().flatten().copied().collect();
                let bias: Vec<f32> = layer.bias.iter().flatten().copied().collect();
                (
                    TensorData::new(weight, [heads, fan_in, fan_out]),
                    TensorData::new(bias, [heads, 1, fan_out]),
                )
            })
            .collect();
        let model = EnsemblePrm::from_parts(
            PrmBackbone::Bert(pretrained.bert),
            EnsembleHeads::from_weights(layers, &device),
        );

        let encoding = EncodingConfig::for_encoder(512);
        let encoded: Vec<EncodedTrajectory> = golden
            .trajectories
            .iter()
            .map(|item| {
                let trajectory = Trajectory {
                    question: item.question.clone(),
                    steps: item.steps.clone(),
                    label: None,
                };
                let encoded =
                    encode_trajectory(&pretrained.tokenizer, &trajectory, &encoding).unwrap();
                assert_eq!(
                    encoded,
                    EncodedTrajectory::single_window(item.ids.clone(), &item.separator_positions)
                );
                encoded
            })
            .collect();
        let scores = model.score(&PrmInput::new(
            &encoded,
            pretrained.tokenizer.pad_id(),
            &device,
        ));
        let mut max_difference = 0.0f32;
        for (got, item) in scores.iter().zip(&golden.trajectories) {
            assert_eq!(got.heads.len(), item.probabilities.len());
            for (got, want) in got
                .heads
                .iter()
                .flatten()
                .zip(item.probabilities.iter().flatten())
            {
                max_difference = max_difference.max((got - want).abs());
            }
        }
        eprintln!("max |rust - numpy| over the step probabilities: {max_difference:e}");
        assert!(
            max_difference <= 1e-4,
            "max abs difference {max_difference}"
        );
    }
}
