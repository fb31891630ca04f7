//! The transformer backbone: token embeddings, a stack of causal pre-norm blocks with rotary
//! self-attention, and a final layer norm. Its hidden state at each step separator is that
//! step's feature.

use burn::config::Config;
use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Int, Tensor};

use super::attention::RotarySelfAttention;
use super::block::TransformerBlock;

/// Configuration of [`TransformerBackbone`].
#[derive(Config, Debug)]
pub struct BackboneConfig {
    /// Number of token ids (taken from the tokenizer).
    pub vocab_size: usize,
    /// Hidden width of every layer; also the width of the step features.
    #[config(default = 64)]
    pub d_model: usize,
    /// Number of transformer blocks.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Number of attention heads per block; `d_model / n_heads` must be even.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Width of the feed-forward layer of every block.
    #[config(default = 256)]
    pub d_ff: usize,
    /// Longest input, in tokens, the rotary position tables cover.
    #[config(default = 256)]
    pub max_positions: usize,
    /// Base of the rotary position frequencies.
    #[config(default = 10000.0)]
    pub rope_theta: f32,
    /// Dropout rate after attention and feed-forward layers.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// A small causal transformer.
#[derive(Module, Debug)]
pub struct TransformerBackbone {
    tokens: Embedding,
    blocks: Vec<TransformerBlock>,
    norm: LayerNorm,
}

impl BackboneConfig {
    /// Builds the backbone with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> TransformerBackbone {
        TransformerBackbone {
            tokens: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            blocks: (0..self.n_layers)
                .map(|_| {
                    let attention = RotarySelfAttention::new(
                        self.d_model,
                        self.n_heads,
                        self.max_positions,
                        self.rope_theta,
                        device,
                    );
                    TransformerBlock::new(attention, self.d_model, self.d_ff, self.dropout, device)
                })
                .collect(),
            norm: LayerNormConfig::new(self.d_model).init(device),
        }
    }
}

impl TransformerBackbone {
    /// Hidden states for a padded batch of token ids.
    ///
    /// Attention is causal: a step's feature depends on the question and the steps up to it,
    /// never on later steps (which, after a slip, would give the error away). Padding is never
    /// attended to.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`
    /// - padding: `[batch, seq_len]`, `true` at padding positions
    /// - output: `[batch, seq_len, d_model]`
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, seq_len] = tokens.dims();
        let blocked = generate_autoregressive_mask(batch, seq_len, &tokens.device()).bool_or(
            padding
                .unsqueeze_dim::<3>(1)
                .expand([batch, seq_len, seq_len]),
        );
        let hidden = self
            .blocks
            .iter()
            .fold(self.tokens.forward(tokens), |hidden, block| {
                block.forward(hidden, blocked.clone())
            });
        self.norm.forward(hidden)
    }

    /// Width of the hidden states.
    pub fn d_model(&self) -> usize {
        self.norm.gamma.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn later_tokens_and_padding_do_not_change_earlier_features() {
        let device = Device::flex();
        let backbone = BackboneConfig::new(10)
            .with_d_model(16)
            .with_n_heads(2)
            .with_d_ff(32)
            .init(&device);
        let tokens = |ids: [i64; 5]| {
            Tensor::<2, Int>::from_data(TensorData::new(ids.to_vec(), [1, 5]), &device)
        };
        let padding = |pads: [bool; 5]| {
            Tensor::<2, Bool>::from_data(TensorData::new(pads.to_vec(), [1, 5]), &device)
        };
        let no_padding = [false; 5];
        let reference = backbone.forward(tokens([1, 2, 3, 4, 5]), padding(no_padding));
        let a = reference.clone().slice([0..1, 0..3]);
        let b = backbone
            .forward(
                tokens([1, 2, 3, 9, 0]),
                padding([false, false, false, false, true]),
            )
            .slice([0..1, 0..3]);
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Default::default());
        let c = backbone
            .forward(tokens([1, 7, 3, 4, 5]), padding(no_padding))
            .slice([0..1, 2..3]);
        let a_last = reference.slice([0..1, 2..3]);
        let difference = (c - a_last).abs().max().into_scalar::<f32>();
        assert!(difference > 1e-4, "an earlier token must matter");
    }
}
