//! One pre-norm transformer block: `x + attention(norm(x))`, then `x + mlp(norm(x))`.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};

use super::attention::RotarySelfAttention;
use super::backbone::BackboneConfig;
use super::gelu::gelu;

/// A pre-norm transformer block with rotary self-attention and a GELU feed-forward layer.
#[derive(Module, Debug)]
pub struct TransformerBlock {
    attention_norm: LayerNorm,
    attention: RotarySelfAttention,
    feed_forward_norm: LayerNorm,
    expand: Linear,
    contract: Linear,
    dropout: Dropout,
}

impl TransformerBlock {
    /// A block with `config`'s widths, heads and dropout.
    pub fn new(config: &BackboneConfig, device: &Device) -> Self {
        Self {
            attention_norm: LayerNormConfig::new(config.d_model).init(device),
            attention: RotarySelfAttention::new(
                config.d_model,
                config.n_heads,
                config.max_positions,
                config.rope_theta,
                device,
            ),
            feed_forward_norm: LayerNormConfig::new(config.d_model).init(device),
            expand: LinearConfig::new(config.d_model, config.d_ff).init(device),
            contract: LinearConfig::new(config.d_ff, config.d_model).init(device),
            dropout: DropoutConfig::new(config.dropout).init(),
        }
    }

    /// # Shapes
    ///
    /// - input: `[batch, seq_len, d_model]`
    /// - blocked: `[batch, seq_len, seq_len]`, `true` where query `i` may not attend to key `j`
    /// - output: `[batch, seq_len, d_model]`
    pub fn forward(&self, input: Tensor<3>, blocked: Tensor<3, Bool>) -> Tensor<3> {
        let attended = self
            .attention
            .forward(self.attention_norm.forward(input.clone()), blocked);
        let hidden = input + self.dropout.forward(attended);
        let expanded = gelu(
            self.expand
                .forward(self.feed_forward_norm.forward(hidden.clone())),
        );
        hidden + self.dropout.forward(self.contract.forward(expanded))
    }
}
