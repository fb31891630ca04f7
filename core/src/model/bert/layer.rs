//! One BERT encoder layer, post-LN as BERT was trained: `norm(x + attention(x))`, then
//! `norm(h + feed_forward(h))`. Field names follow the Hugging Face checkpoints' tensor names.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor};

use super::BertConfig;
use crate::model::gelu::gelu;
use crate::model::masked_softmax::{masked_softmax, runs_host_kernel};
use crate::model::products::{batched_matmul, project};

/// One encoder layer (`encoder.layer.{i}` in a checkpoint).
#[derive(Module, Debug)]
pub struct BertLayer {
    attention: BertAttention,
    intermediate: BertIntermediate,
    output: AddAndNorm,
}

/// Self-attention and its output projection (`attention`).
#[derive(Module, Debug)]
struct BertAttention {
    /// `attention.self` in a checkpoint (`self` is a Rust keyword).
    self_attention: BertSelfAttention,
    output: AddAndNorm,
}

/// Multi-head scaled dot-product attention with learned projections.
#[derive(Module, Debug)]
struct BertSelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    num_heads: usize,
}

/// The feed-forward expansion (`intermediate`).
#[derive(Module, Debug)]
struct BertIntermediate {
    dense: Linear,
}

/// A projection, dropout, the residual and a layer norm: `norm(residual + dropout(dense(x)))`.
#[derive(Module, Debug)]
struct AddAndNorm {
    dense: Linear,
    /// `LayerNorm` in a checkpoint.
    layer_norm: LayerNorm,
    dropout: Dropout,
}

impl BertLayer {
    /// A freshly initialised layer of `config`'s widths.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        let hidden = config.hidden_size;
        let linear = |d_in, d_out| LinearConfig::new(d_in, d_out).init(device);
        let add_and_norm = |d_in| AddAndNorm {
            dense: linear(d_in, hidden),
            layer_norm: LayerNormConfig::new(hidden)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
        };
        Self {
            attention: BertAttention {
                self_attention: BertSelfAttention {
                    query: linear(hidden, hidden),
                    key: linear(hidden, hidden),
                    value: linear(hidden, hidden),
                    num_heads: config.num_attention_heads,
                },
                output: add_and_norm(hidden),
            },
            intermediate: BertIntermediate {
                dense: linear(hidden, config.intermediate_size),
            },
            output: add_and_norm(config.intermediate_size),
        }
    }

    /// # Shapes
    ///
    /// - input: `[batch, seq_len, hidden]`
    /// - blocked: `[batch, seq_len, seq_len]`, `true` where query `i` may not attend to key `j`
    /// - output: `[batch, seq_len, hidden]`
    pub fn forward(&self, input: Tensor<3>, blocked: Tensor<3, Bool>) -> Tensor<3> {
        let attended = self
            .attention
            .self_attention
            .forward(input.clone(), blocked);
        let hidden = self.attention.output.forward(attended, input);
        let expanded = gelu(project(&self.intermediate.dense, hidden.clone()));
        self.output.forward(expanded, hidden)
    }
}

impl BertSelfAttention {
    /// Scaled dot-product attention. Blocked pairs get no weight; every query must have at
    /// least one key it may attend to (in a window, `[CLS]`). Where the masked softmax has a
    /// host kernel (`masked_softmax.rs`), scores are materialised and turned into weights there;
    /// elsewhere the backend's fused attention op runs, with no score tensor per head.
    fn forward(&self, input: Tensor<3>, blocked: Tensor<3, Bool>) -> Tensor<3> {
        let [batch, seq_len, hidden] = input.dims();
        let head_width = hidden / self.num_heads;
        let split = |x: Tensor<3>| {
            x.reshape([batch, seq_len, self.num_heads, head_width])
                .swap_dims(1, 2)
        };
        let query = split(project(&self.query, input.clone()));
        let key = split(project(&self.key, input.clone()));
        let value = split(project(&self.value, input));
        let mixed = if runs_host_kernel(&query) {
            let scores = batched_matmul(query, key.swap_dims(2, 3));
            let weights = masked_softmax(scores, blocked, (head_width as f32).sqrt().recip());
            batched_matmul(weights, value)
        } else {
            let blocked =
                blocked
                    .unsqueeze_dim::<4>(1)
                    .expand([batch, self.num_heads, seq_len, seq_len]);
            attention(
                query,
                key,
                value,
                Some(blocked),
                None,
                AttentionModuleOptions::default(),
            )
        };
        mixed.swap_dims(1, 2).reshape([batch, seq_len, hidden])
    }
}

impl AddAndNorm {
    fn forward(&self, input: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm
            .forward(residual + self.dropout.forward(project(&self.dense, input)))
    }
}
