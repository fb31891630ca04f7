//! The transformer backbone: token embeddings, a stack of causal pre-norm blocks with rotary
//! self-attention, and a final layer norm. Its hidden state at each step separator is that
//! step's feature.

use burn::config::Config;
use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Int, Tensor};

use super::attention::{PairRotation, RotarySelfAttention};
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
    head_width: usize,
    max_positions: usize,
    rope_theta: f64,
}

impl BackboneConfig {
    /// Builds the backbone with freshly initialised weights on `device`.
    ///
    /// # Panics
    /// When `d_model` does not split into `n_heads` heads of an even width (RoPE rotates pairs
    /// of features).
    pub fn init(&self, device: &Device) -> TransformerBackbone {
        let (d_model, n_heads) = (self.d_model, self.n_heads);
        assert!(
            n_heads > 0 && d_model.is_multiple_of(n_heads) && (d_model / n_heads).is_multiple_of(2),
            "d_model {d_model} must split into {n_heads} heads of an even width"
        );
        TransformerBackbone {
            tokens: EmbeddingConfig::new(self.vocab_size, d_model).init(device),
            blocks: (0..self.n_layers)
                .map(|_| {
                    let attention = RotarySelfAttention::new(d_model, device);
                    TransformerBlock::new(attention, d_model, self.d_ff, self.dropout, device)
                })
                .collect(),
            norm: LayerNormConfig::new(d_model).init(device),
            head_width: d_model / n_heads,
            max_positions: self.max_positions,
            rope_theta: f64::from(self.rope_theta),
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
    ///
    /// # Panics
    /// When `seq_len` exceeds the `max_positions` the backbone was configured for.
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, seq_len] = tokens.dims();
        assert!(
            seq_len <= self.max_positions,
            "{seq_len} tokens are more than the {} positions the backbone covers",
            self.max_positions
        );
        let device = tokens.device();
        let blocked = generate_autoregressive_mask(batch, seq_len, &device).bool_or(
            padding
                .unsqueeze_dim::<3>(1)
                .expand([batch, seq_len, seq_len]),
        );
        let rotation = PairRotation::from_start(
            seq_len,
            self.d_model(),
            self.head_width,
            self.rope_theta,
            &device,
        );
        let hidden = self
            .blocks
            .iter()
            .fold(self.tokens.forward(tokens), |hidden, block| {
                block.forward(hidden, blocked.clone(), &rotation)
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

    #[test]
    #[should_panic(expected = "more than the 4 positions")]
    fn refuses_inputs_longer_than_its_positions() {
        let device = Device::flex();
        let backbone = BackboneConfig::new(10)
            .with_d_model(8)
            .with_n_heads(2)
            .with_max_positions(4)
            .init(&device);
        backbone.forward(
            Tensor::zeros([1, 5], &device),
            Tensor::<2, Bool>::from_data(TensorData::new(vec![false; 5], [1, 5]), &device),
        );
    }
}
