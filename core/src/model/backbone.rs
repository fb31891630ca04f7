//! The transformer backbone: token and learned position embeddings, a causal pre-norm
//! transformer stack and a final layer norm. Its hidden state at each step separator is that step's feature.

use burn::config::Config;
use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Int, Tensor};

/// Configuration of [`TransformerBackbone`].
#[derive(Config, Debug)]
pub struct BackboneConfig {
    /// Number of token ids (taken from the tokenizer).
    pub vocab_size: usize,
    /// Hidden width of every layer; also the width of the step features.
    #[config(default = 64)]
    pub d_model: usize,
    /// Number of encoder layers.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Number of attention heads per layer.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Width of the position-wise feed-forward layers.
    #[config(default = 256)]
    pub d_ff: usize,
    /// Longest input, in tokens, the learned position table covers.
    #[config(default = 256)]
    pub max_positions: usize,
    /// Dropout rate inside the encoder.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// A small causal transformer.
#[derive(Module, Debug)]
pub struct TransformerBackbone {
    tokens: Embedding,
    positions: Embedding,
    encoder: TransformerEncoder,
    norm: LayerNorm,
}

impl BackboneConfig {
    /// Builds the backbone with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> TransformerBackbone {
        TransformerBackbone {
            tokens: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            positions: EmbeddingConfig::new(self.max_positions, self.d_model).init(device),
            encoder: TransformerEncoderConfig::new(self.d_model, self.d_ff, self.n_heads, self.n_layers)
                .with_dropout(self.dropout)
                .with_norm_first(true)
                .init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
        }
    }
}

impl TransformerBackbone {
    /// Hidden states for a padded batch of token ids.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`
    /// - padding: `[batch, seq_len]`, `true` at padding positions
    /// - output: `[batch, seq_len, d_model]`
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, seq_len] = tokens.dims();
        let device = tokens.device();
        let positions = Tensor::<1, Int>::arange(0..seq_len as i64, &device)
            .reshape([1, seq_len])
            .expand([batch, seq_len]);
        let embedded = self.tokens.forward(tokens) + self.positions.forward(positions);
        // Causal attention: a step's feature depends on the question and the steps up to it,
        // never on later steps (which, after a slip, would give the error away).
        let causal = generate_autoregressive_mask(batch, seq_len, &device);
        let hidden = self.encoder.forward(
            TransformerEncoderInput::new(embedded)
                .mask_pad(padding)
                .mask_attn(causal),
        );
        self.norm.forward(hidden)
    }

    /// Width of the hidden states.
    pub fn d_model(&self) -> usize {
        self.encoder.d_model
    }
}
