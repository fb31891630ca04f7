//! One decoder layer: `x + attention(rms_norm(x))`, then `x + mlp(rms_norm(x))`, with
//! grouped-query attention under rotary positions and a SwiGLU MLP. Fields carry the Hugging
//! Face names, so a checkpoint's tensor names read as module paths. Low-rank adapters, when
//! the decoder has them, sit beside the projections they adapt (`self_attn.lora.q_proj`).

use burn::module::Module;
use burn::nn::{Linear, RmsNorm};
use burn::tensor::{Bool, Tensor};

use super::cache::LayerCache;
use super::config::DecoderConfig;
use super::lora::{AttentionAdapters, LoraConfig, LoraTarget};
use super::parameters::ParameterSource;
use crate::model::masked_softmax::masked_softmax;
use crate::model::products::{batched_matmul, project};
use crate::model::rope::RotaryTables;
use crate::model::swiglu::swiglu;
use crate::rng::SeededRng;

/// Grouped-query self-attention.
#[derive(Module, Debug)]
pub struct DecoderAttention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    /// What the adapters add to the projections, when the decoder is adapted.
    lora: Option<AttentionAdapters>,
    num_heads: usize,
    num_key_value_heads: usize,
    head_dim: usize,
}

/// The SwiGLU MLP: `down(silu(gate(x)) · up(x))`.
#[derive(Module, Debug)]
pub struct DecoderMlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

/// A pre-norm decoder layer.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: DecoderAttention,
    post_attention_layernorm: RmsNorm,
    mlp: DecoderMlp,
}

impl DecoderLayer {
    /// Layer `prefix` (`model.layers.{i}`) of a decoder of `config`.
    pub fn build(config: &DecoderConfig, prefix: &str, source: &mut impl ParameterSource) -> Self {
        let width = config.hidden_size;
        let (queries, keys) = (config.query_width(), config.key_value_width());
        let attention = format!("{prefix}.self_attn");
        let mlp = format!("{prefix}.mlp");
        let ff = config.intermediate_size;
        Self {
            input_layernorm: source.rms_norm(
                &format!("{prefix}.input_layernorm"),
                width,
                config.rms_norm_eps,
            ),
            self_attn: DecoderAttention {
                q_proj: source.linear(
                    &format!("{attention}.q_proj"),
                    width,
                    queries,
                    config.qkv_bias,
                ),
                k_proj: source.linear(&format!("{attention}.k_proj"), width, keys, config.qkv_bias),
                v_proj: source.linear(&format!("{attention}.v_proj"), width, keys, config.qkv_bias),
                o_proj: source.linear(
                    &format!("{attention}.o_proj"),
                    queries,
                    width,
                    config.output_bias,
                ),
                lora: None,
                num_heads: config.num_attention_heads,
                num_key_value_heads: config.num_key_value_heads,
                head_dim: config.head_dim,
            },
            post_attention_layernorm: source.rms_norm(
                &format!("{prefix}.post_attention_layernorm"),
                width,
                config.rms_norm_eps,
            ),
            mlp: DecoderMlp {
                gate_proj: source.linear(&format!("{mlp}.gate_proj"), width, ff, config.mlp_bias),
                up_proj: source.linear(&format!("{mlp}.up_proj"), width, ff, config.mlp_bias),
                down_proj: source.linear(&format!("{mlp}.down_proj"), ff, width, config.mlp_bias),
            },
        }
    }

    /// The layer with fresh adapters on the attention projections `lora` targets.
    pub fn adapted(
        mut self,
        config: &DecoderConfig,
        lora: &LoraConfig,
        rng: &mut SeededRng,
    ) -> Self {
        let device = self.self_attn.q_proj.weight.device();
        self.self_attn.lora = Some(AttentionAdapters::init(
            lora,
            |target| config.projection_widths(target),
            rng,
            &device,
        ));
        self
    }

    /// The adapters of the layer's attention, when it has any.
    #[cfg(test)]
    pub(super) fn adapters(&self) -> Option<&AttentionAdapters> {
        self.self_attn.lora.as_ref()
    }

    /// The layer's output, and the keys and values its attention computed for `input`'s
    /// positions (after `past`'s, when given).
    ///
    /// # Shapes
    ///
    /// - input: `[batch, seq_len, hidden]`
    /// - blocked: `[batch, seq_len, past + seq_len]`, `true` where query `i` may not attend to
    ///   key `j` (the past's keys first)
    /// - past: keys and values `[1 or batch, kv_heads, past, head_dim]`, shared by every row
    /// - output: `[batch, seq_len, hidden]`, and keys and values `[batch, kv_heads, seq_len,
    ///   head_dim]`
    pub fn forward(
        &self,
        input: Tensor<3>,
        blocked: Tensor<3, Bool>,
        rotary: &RotaryTables,
        past: Option<&LayerCache>,
    ) -> (Tensor<3>, LayerCache) {
        let (attended, cache) = self.self_attn.forward(
            self.input_layernorm.forward(input.clone()),
            blocked,
            rotary,
            past,
        );
        let hidden = input + attended;
        let mlp = self
            .mlp
            .forward(self.post_attention_layernorm.forward(hidden.clone()));
        (hidden + mlp, cache)
    }
}

impl DecoderAttention {
    fn forward(
        &self,
        input: Tensor<3>,
        blocked: Tensor<3, Bool>,
        rotary: &RotaryTables,
        past: Option<&LayerCache>,
    ) -> (Tensor<3>, LayerCache) {
        let [batch, seq_len, _] = input.dims();
        let head_dim = self.head_dim;
        let heads = |x: Tensor<3>, count: usize| {
            x.reshape([batch, seq_len, count, head_dim]).swap_dims(1, 2)
        };
        let query = rotary.rotate(heads(
            self.project(LoraTarget::QProj, input.clone()),
            self.num_heads,
        ));
        let key = rotary.rotate(heads(
            self.project(LoraTarget::KProj, input.clone()),
            self.num_key_value_heads,
        ));
        let value = heads(
            self.project(LoraTarget::VProj, input),
            self.num_key_value_heads,
        );
        let cache = LayerCache {
            key: key.clone(),
            value: value.clone(),
        };
        let (key, value) = match past {
            Some(past) => {
                let [_, kv_heads, past_len, _] = past.key.dims();
                let shape = [batch, kv_heads, past_len, head_dim];
                (
                    Tensor::cat(vec![past.key.clone().expand(shape), key], 2),
                    Tensor::cat(vec![past.value.clone().expand(shape), value], 2),
                )
            }
            None => (key, value),
        };
        let (key, value) = (self.shared_by_groups(key), self.shared_by_groups(value));

        let scores = batched_matmul(query, key.swap_dims(2, 3));
        let weights = masked_softmax(scores, blocked, (head_dim as f32).sqrt().recip());
        let mixed = batched_matmul(weights, value).swap_dims(1, 2).reshape([
            batch,
            seq_len,
            self.num_heads * head_dim,
        ]);
        (self.project(LoraTarget::OProj, mixed), cache)
    }

    /// `input` through the projection `target` names, plus its adapter's output if it has one.
    fn project(&self, target: LoraTarget, input: Tensor<3>) -> Tensor<3> {
        let projection = match target {
            LoraTarget::QProj => &self.q_proj,
            LoraTarget::KProj => &self.k_proj,
            LoraTarget::VProj => &self.v_proj,
            LoraTarget::OProj => &self.o_proj,
        };
        match self.lora.as_ref().and_then(|lora| lora.on(target)) {
            Some(adapter) => project(projection, input.clone()) + adapter.forward(input),
            None => project(projection, input),
        }
    }

    /// Key or value heads repeated for every query head of their group:
    /// `[batch, kv_heads, seq, d]` to `[batch, heads, seq, d]`.
    fn shared_by_groups(&self, x: Tensor<4>) -> Tensor<4> {
        let group = self.num_heads / self.num_key_value_heads;
        if group == 1 {
            return x;
        }
        let [batch, kv_heads, seq_len, head_dim] = x.dims();
        x.unsqueeze_dim::<5>(2)
            .expand([batch, kv_heads, group, seq_len, head_dim])
            .reshape([batch, kv_heads * group, seq_len, head_dim])
    }
}

impl DecoderMlp {
    fn forward(&self, input: Tensor<3>) -> Tensor<3> {
        let gated = swiglu(
            project(&self.gate_proj, input.clone()),
            project(&self.up_proj, input),
        );
        project(&self.down_proj, gated)
    }
}
