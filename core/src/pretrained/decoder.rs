//! A Llama-family decoder from a Hugging Face directory or a GGUF file, reading steps at an
//! existing token of its vocabulary.

use std::path::Path;

use burn::tensor::Device;
use serde_json::Value;

use super::gguf_model::{GgufTensors, decoder_config};
use super::gguf_tokenizer::{token_named_by, tokenizer_json};
use super::{PretrainedBackbone, PretrainedError, SafetensorsFiles, read_text};
use crate::encoding::EncodingConfig;
use crate::gguf::{GgufError, GgufFile};
use crate::model::{Decoder, DecoderConfig, LoraConfig, PrmBackbone, StepFeature};
use crate::tokenizer::{SeparatorToken, SpecialTokensConfig, StepTokenizer};

/// The step separator of a decoder, by default: a paragraph break, one token in byte-level
/// BPE vocabularies.
pub const DEFAULT_DECODER_SEPARATOR: &str = "\n\n";

/// The longest window a decoder reads, by default (at most the model's context): rows that
/// fit one window share their prefixes' reads (`features::PrefixTree`), and in SmolLM2's
/// tokens 1,778 of the first 1,866 PRM800K rows are at most 4,096 long.
pub const DEFAULT_DECODER_POSITIONS: usize = 8192;

/// How a pretrained decoder reads steps.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderOptions {
    /// Text that ends every step (and the question): one token the vocabulary has.
    pub separator: String,
    /// Which layer's hidden state is a step's feature (see
    /// [`DecoderConfig::feature_layer`]); `None` for the last.
    pub feature_layer: Option<usize>,
    /// What a step's feature is made of (see [`DecoderConfig::step_feature`]).
    pub step_feature: StepFeature,
    /// Low-rank adapters to fine-tune instead of the decoder's own weights (see
    /// [`DecoderConfig::lora`]); `None` for none.
    pub lora: Option<LoraConfig>,
    /// The longest window read, in tokens (at most the model's context).
    pub max_positions: usize,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        Self {
            separator: DEFAULT_DECODER_SEPARATOR.to_string(),
            feature_layer: None,
            step_feature: StepFeature::Separator,
            lora: None,
            max_positions: DEFAULT_DECODER_POSITIONS,
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> PretrainedError {
    PretrainedError::Io {
        path: path.to_path_buf(),
        source,
        hint: "",
    }
}

impl PretrainedBackbone {
    /// Loads the decoder at `path` onto `device`: a directory holding `config.json`,
    /// `tokenizer.json` and `model.safetensors` (or `model.safetensors.index.json` and its
    /// shards), or a GGUF file, whose metadata gives the configuration and the tokenizer.
    /// Every trajectory starts with the model's beginning-of-text token (its end-of-text
    /// token when it has none), which also pads.
    pub fn decoder(
        path: &Path,
        options: &DecoderOptions,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        if path.is_dir() {
            Self::decoder_from_dir(path, options, device)
        } else {
            Self::decoder_from_gguf(path, options, device)
        }
    }

    fn decoder_from_dir(
        dir: &Path,
        options: &DecoderOptions,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let read = |name| read_text(dir, name, "");
        let (text, path) = read("config.json")?;
        let config = DecoderConfig::from_hf_json(&text).map_err(|source| {
            PretrainedError::DecoderConfig {
                path: path.clone(),
                source,
            }
        })?;
        let start_id = start_token_id(&text).ok_or_else(|| PretrainedError::Tokenizer {
            path: path.clone(),
            message: "names neither a bos_token_id nor an eos_token_id to start trajectories with"
                .to_string(),
        })?;
        let (tokenizer_text, tokenizer_path) = read("tokenizer.json")?;
        let tokenizer_error = |message: String| PretrainedError::Tokenizer {
            path: tokenizer_path.clone(),
            message,
        };
        let inner = StepTokenizer::parse_json(&tokenizer_text)
            .map_err(|error| tokenizer_error(error.to_string()))?;
        let start = inner.id_to_token(start_id).ok_or_else(|| {
            tokenizer_error(format!(
                "has no token {start_id}, the start token config.json names"
            ))
        })?;
        let (config, special) = configure(config, options, start, &path)?;
        let tokenizer = StepTokenizer::from_tokenizer(inner, &special)
            .map_err(|error| tokenizer_error(error.to_string()))?;
        let decoder = config.load(SafetensorsFiles::open(dir)?, device)?;
        finish(
            config,
            decoder,
            tokenizer,
            special,
            options,
            &tokenizer_path,
        )
    }

    fn decoder_from_gguf(
        path: &Path,
        options: &DecoderOptions,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let bytes = std::fs::read(path).map_err(|source| io(path, source))?;
        let gguf_error = |source: GgufError| PretrainedError::Gguf {
            path: path.to_path_buf(),
            source,
        };
        let file = GgufFile::parse(&bytes).map_err(gguf_error)?;
        let config = decoder_config(&file).map_err(gguf_error)?;
        let start = ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"]
            .iter()
            .find_map(|key| token_named_by(&file, key))
            .ok_or_else(|| PretrainedError::Tokenizer {
                path: path.to_path_buf(),
                message: "names neither a beginning- nor an end-of-text token".to_string(),
            })?;
        let (config, special) = configure(config, options, start, path)?;
        let tokenizer_text = tokenizer_json(&file).map_err(gguf_error)?;
        let tokenizer = StepTokenizer::from_json(&tokenizer_text, &special).map_err(|error| {
            PretrainedError::Tokenizer {
                path: path.to_path_buf(),
                message: error.to_string(),
            }
        })?;
        let tensors = GgufTensors::new(&file, &bytes, &config, path.display().to_string());
        let decoder = config.load(tensors, device)?;
        finish(config, decoder, tokenizer, special, options, path)
    }
}

/// The token id a trajectory starts with: `bos_token_id`, else `eos_token_id` (the first, when
/// it is a list).
fn start_token_id(config_json: &str) -> Option<u32> {
    let config: Value = serde_json::from_str(config_json).ok()?;
    ["bos_token_id", "eos_token_id"].iter().find_map(|key| {
        let value = config.get(key)?;
        let id = value.as_u64().or_else(|| value.get(0)?.as_u64())?;
        u32::try_from(id).ok()
    })
}

/// The configuration with the options' feature layer, step feature and adapters, and the
/// special tokens: `start` starts
/// and pads every trajectory, the separator is an existing token.
fn configure(
    config: DecoderConfig,
    options: &DecoderOptions,
    start: String,
    path: &Path,
) -> Result<(DecoderConfig, SpecialTokensConfig), PretrainedError> {
    let config = config
        .with_feature_layer(options.feature_layer)
        .with_step_feature(options.step_feature)
        .with_lora(options.lora.clone());
    config
        .validate()
        .map_err(|source| PretrainedError::InvalidModel {
            path: path.to_path_buf(),
            source,
        })?;
    let special = SpecialTokensConfig::new()
        .with_pad(start.clone())
        .with_unk(start.clone())
        .with_cls(start)
        .with_separator(options.separator.clone())
        .with_separator_token(SeparatorToken::Existing);
    Ok((config, special))
}

/// The loaded backbone, once its tokenizer is known to fit its embedding table.
fn finish(
    config: DecoderConfig,
    decoder: Decoder,
    tokenizer: StepTokenizer,
    special_tokens: SpecialTokensConfig,
    options: &DecoderOptions,
    tokenizer_path: &Path,
) -> Result<PretrainedBackbone, PretrainedError> {
    if tokenizer.vocab_size() > config.vocab_size {
        return Err(PretrainedError::Tokenizer {
            path: tokenizer_path.to_path_buf(),
            message: format!(
                "gives token ids up to {}, beyond the decoder's embedding table of {} rows",
                tokenizer.vocab_size() - 1,
                config.vocab_size
            ),
        });
    }
    let positions = options.max_positions.min(config.max_position_embeddings);
    Ok(PretrainedBackbone {
        encoding: EncodingConfig::for_decoder(positions),
        config: config.into(),
        backbone: PrmBackbone::Decoder(decoder),
        tokenizer,
        special_tokens,
    })
}
