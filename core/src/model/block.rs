//! One pre-norm transformer block: `x + attention(norm(x))`, then `x + mlp(norm(x))`.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};

use super::attention::{PairRotation, RotarySelfAttention};
use super::gelu::gelu;
use super::products::project;

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
    /// A block of width `d_model` around `attention`, with a feed-forward layer of width `d_ff`
    /// and `dropout`.
    pub fn new(
        attention: RotarySelfAttention,
        d_model: usize,
        d_ff: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self {
            attention_norm: LayerNormConfig::new(d_model).init(device),
            attention,
            feed_forward_norm: LayerNormConfig::new(d_model).init(device),
            expand: LinearConfig::new(d_model, d_ff).init(device),
            contract: LinearConfig::new(d_ff, d_model).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// The block's output; shapes as [`RotarySelfAttention::forward`]'s.
    pub fn forward(
        &self,
        input: Tensor<3>,
        blocked: Tensor<3, Bool>,
        rotation: &PairRotation,
    ) -> Tensor<3> {
        let attended = self.attention.forward(
            self.attention_norm.forward(input.clone()),
            blocked,
            rotation,
        );
        let hidden = input + self.dropout.forward(attended);
        let expanded = gelu(project(
            &self.expand,
            self.feed_forward_norm.forward(hidden.clone()),
        ));
        hidden + self.dropout.forward(project(&self.contract, expanded))
    }
}
