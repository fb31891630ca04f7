//! The backbone an [`EnsemblePrm`](super::EnsemblePrm) reads trajectories with: the small
//! causal transformer trained from scratch, a pretrained BERT-family encoder, or a pretrained
//! Llama-family decoder.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor};

use super::bert::{Bert, BertConfig};
use super::decoder::{Decoder, DecoderConfig};
use super::small_transformer::{BackboneConfig, TransformerBackbone};
use super::step_feature::StepFeature;

/// Which backbone, with its configuration.
#[derive(Config, Debug)]
pub enum PrmBackboneConfig {
    /// The small causal transformer: a step's feature depends on the question and the steps up
    /// to it.
    Small(BackboneConfig),
    /// A BERT-family encoder with bidirectional attention, as it was pretrained: a step's
    /// feature may also depend on the steps after it.
    Bert(BertConfig),
    /// A Llama-family causal decoder: a step's feature depends on the question and the steps
    /// up to it, so one read scores every step with its prefix.
    Decoder(DecoderConfig),
}

/// The backbone module.
#[derive(Module, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a model holds one backbone, built once; boxing would only add an indirection"
)]
pub enum PrmBackbone {
    /// See [`PrmBackboneConfig::Small`].
    Small(TransformerBackbone),
    /// See [`PrmBackboneConfig::Bert`].
    Bert(Bert),
    /// See [`PrmBackboneConfig::Decoder`].
    Decoder(Decoder),
}

impl From<BackboneConfig> for PrmBackboneConfig {
    fn from(config: BackboneConfig) -> Self {
        PrmBackboneConfig::Small(config)
    }
}

impl From<BertConfig> for PrmBackboneConfig {
    fn from(config: BertConfig) -> Self {
        PrmBackboneConfig::Bert(config)
    }
}

impl From<DecoderConfig> for PrmBackboneConfig {
    fn from(config: DecoderConfig) -> Self {
        PrmBackboneConfig::Decoder(config)
    }
}

impl PrmBackboneConfig {
    /// A backbone with freshly initialised weights.
    pub fn init(&self, device: &Device) -> PrmBackbone {
        match self {
            PrmBackboneConfig::Small(config) => PrmBackbone::Small(config.init(device)),
            PrmBackboneConfig::Bert(config) => PrmBackbone::Bert(config.init(device)),
            PrmBackboneConfig::Decoder(config) => PrmBackbone::Decoder(config.init(device)),
        }
    }

    /// Width of a step's feature: the hidden states', or twice it for a decoder whose feature
    /// adds the mean of the step's tokens ([`StepFeature`]).
    pub fn width(&self) -> usize {
        match self {
            PrmBackboneConfig::Small(config) => config.d_model,
            PrmBackboneConfig::Bert(config) => config.hidden_size,
            PrmBackboneConfig::Decoder(config) => config.step_feature.width(config.hidden_size),
        }
    }

    /// Rows of the token embedding table: every token id must be below it.
    pub fn vocab_size(&self) -> usize {
        match self {
            PrmBackboneConfig::Small(config) => config.vocab_size,
            PrmBackboneConfig::Bert(config) => config.vocab_size,
            PrmBackboneConfig::Decoder(config) => config.vocab_size,
        }
    }

    /// The longest input the backbone takes, in tokens.
    pub fn max_positions(&self) -> usize {
        match self {
            PrmBackboneConfig::Small(config) => config.max_positions,
            PrmBackboneConfig::Bert(config) => config.max_position_embeddings,
            PrmBackboneConfig::Decoder(config) => config.max_position_embeddings,
        }
    }
}

impl PrmBackbone {
    /// Whether a position's hidden state depends on the tokens up to it alone (the small
    /// transformer and decoders), so that a window's features are those of any window it
    /// begins.
    pub fn is_causal(&self) -> bool {
        match self {
            PrmBackbone::Small(_) | PrmBackbone::Decoder(_) => true,
            PrmBackbone::Bert(_) => false,
        }
    }

    /// What a step's feature is: the separator's state, unless a decoder was configured to add
    /// the mean of the step's tokens.
    pub fn step_feature(&self) -> StepFeature {
        match self {
            PrmBackbone::Small(_) | PrmBackbone::Bert(_) => StepFeature::Separator,
            PrmBackbone::Decoder(decoder) => decoder.step_feature(),
        }
    }

    /// Hidden states for a padded batch of token ids; padding is never attended to.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`
    /// - padding: `[batch, seq_len]`, `true` at padding positions
    /// - output: `[batch, seq_len, width]`
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3> {
        match self {
            PrmBackbone::Small(backbone) => backbone.forward(tokens, padding),
            PrmBackbone::Bert(bert) => bert.forward(tokens, Bert::padding_mask(padding)),
            PrmBackbone::Decoder(decoder) => decoder.forward(tokens, padding),
        }
    }
}
