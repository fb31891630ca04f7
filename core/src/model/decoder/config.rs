//! The configuration of a Llama-family decoder (read from a Hugging Face `config.json` by
//! [`DecoderConfig::from_hf_json`]).
//!
//! Llama, Mistral and Qwen2 share one architecture: RMSNorm before attention and before the
//! MLP, rotary position embeddings with the rotate-half layout, grouped-query attention, and a
//! SwiGLU MLP. They differ only in biases: Qwen2 has them on the query, key and value
//! projections; Llama may have them on every attention projection (`attention_bias`) and on
//! the MLP (`mlp_bias`); Mistral has none.

use burn::config::Config;

use super::lora::{LoraConfig, LoraTarget};
use crate::model::validation::invalid;
use crate::model::{InvalidModelConfig, StepFeature};
use crate::named_choice::NamedChoice;

/// The architectures a decoder configuration may name as its `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderFamily {
    /// Llama 1–3 and the models that copy it (SmolLM2 among them).
    Llama,
    /// Mistral: Llama without biases, with an optional sliding attention window.
    Mistral,
    /// Qwen2 and Qwen2.5: biases on the query, key and value projections.
    Qwen2,
}

impl NamedChoice for DecoderFamily {
    const ALL: &'static [Self] = &[
        DecoderFamily::Llama,
        DecoderFamily::Mistral,
        DecoderFamily::Qwen2,
    ];

    /// The `model_type` of a Hugging Face `config.json` (and `general.architecture` of GGUF).
    fn name(self) -> &'static str {
        match self {
            DecoderFamily::Llama => "llama",
            DecoderFamily::Mistral => "mistral",
            DecoderFamily::Qwen2 => "qwen2",
        }
    }
}

/// Sizes and settings of a Llama-family decoder, as a checkpoint's `config.json` records them.
/// Built from a Hugging Face configuration by [`DecoderConfig::from_hf_json`]; the defaults
/// are SmolLM2-135M's.
#[derive(Config, Debug, PartialEq)]
pub struct DecoderConfig {
    /// The architecture.
    #[config(default = "DecoderFamily::Llama")]
    pub family: DecoderFamily,
    /// Rows of the token embedding table.
    #[config(default = 49152)]
    pub vocab_size: usize,
    /// Width of the residual stream, and of the step features.
    #[config(default = 576)]
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    #[config(default = 1536)]
    pub intermediate_size: usize,
    /// Number of decoder layers.
    #[config(default = 30)]
    pub num_hidden_layers: usize,
    /// Query heads per layer.
    #[config(default = 9)]
    pub num_attention_heads: usize,
    /// Key and value heads per layer; each serves `num_attention_heads / num_key_value_heads`
    /// query heads (grouped-query attention).
    #[config(default = 3)]
    pub num_key_value_heads: usize,
    /// Width of one head: `hidden_size / num_attention_heads` unless the file says otherwise.
    #[config(default = 64)]
    pub head_dim: usize,
    /// ε of every RMSNorm.
    #[config(default = 1e-5)]
    pub rms_norm_eps: f64,
    /// Base of the rotary frequencies.
    #[config(default = 100000.0)]
    pub rope_theta: f64,
    /// The longest input, in tokens: the trained context, or the sliding attention window
    /// when that is shorter (within it, sliding attention is full causal attention).
    #[config(default = 8192)]
    pub max_position_embeddings: usize,
    /// Biases on the query, key and value projections.
    #[config(default = false)]
    pub qkv_bias: bool,
    /// A bias on the attention's output projection.
    #[config(default = false)]
    pub output_bias: bool,
    /// Biases on the MLP's three projections.
    #[config(default = false)]
    pub mlp_bias: bool,
    /// Which hidden state is a step's feature: `Some(k)` is the residual stream after layer
    /// `k` (1-based; `transformers`' `hidden_states[k]`), `None` the last layer's output after
    /// the final norm. Only the layers up to it are computed. The last layer is not always the
    /// best feature: choose it on validation.
    #[config(default = "None")]
    pub feature_layer: Option<usize>,
    /// What a step's feature is made of: the state at its separator, or that and the mean of
    /// the states of its own tokens.
    #[config(default = "StepFeature::Separator")]
    pub step_feature: StepFeature,
    /// Low-rank adapters on the attention projections of every layer computed, which are then
    /// all that trains in the decoder; `None` for none.
    #[config(default = "None")]
    pub lora: Option<LoraConfig>,
}

impl DecoderConfig {
    /// Width of the concatenated query heads.
    pub fn query_width(&self) -> usize {
        self.num_attention_heads * self.head_dim
    }

    /// Width of the concatenated key (or value) heads.
    pub fn key_value_width(&self) -> usize {
        self.num_key_value_heads * self.head_dim
    }

    /// The `(in, out)` widths of the projection `target` names.
    pub fn projection_widths(&self, target: LoraTarget) -> (usize, usize) {
        match target {
            LoraTarget::QProj => (self.hidden_size, self.query_width()),
            LoraTarget::KProj | LoraTarget::VProj => (self.hidden_size, self.key_value_width()),
            LoraTarget::OProj => (self.query_width(), self.hidden_size),
        }
    }

    /// How many layers a forward pass runs to reach the feature.
    pub fn layers_computed(&self) -> usize {
        self.feature_layer.unwrap_or(self.num_hidden_layers)
    }

    /// An error naming the first setting the decoder cannot be built with.
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        let at_least_one = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (field, value) in at_least_one {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) {
            return Err(invalid(
                "head_dim",
                format!(
                    "is {}; rotary embeddings need an even, positive head width",
                    self.head_dim
                ),
            ));
        }
        if !self
            .num_attention_heads
            .is_multiple_of(self.num_key_value_heads)
        {
            return Err(invalid(
                "num_key_value_heads",
                format!(
                    "is {}, which does not divide the {} query heads",
                    self.num_key_value_heads, self.num_attention_heads
                ),
            ));
        }
        let finite_positive = [
            ("rms_norm_eps", self.rms_norm_eps),
            ("rope_theta", self.rope_theta),
        ];
        for (field, value) in finite_positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(invalid(
                    field,
                    format!("must be finite and > 0, not {value}"),
                ));
            }
        }
        if let Some(layer) = self.feature_layer
            && !(1..=self.num_hidden_layers).contains(&layer)
        {
            return Err(invalid(
                "feature_layer",
                format!(
                    "is {layer}; the decoder has layers 1 to {}",
                    self.num_hidden_layers
                ),
            ));
        }
        if let Some(lora) = &self.lora {
            let narrowest = lora
                .targets
                .iter()
                .map(|&target| {
                    let (d_input, d_output) = self.projection_widths(target);
                    d_input.min(d_output)
                })
                .min()
                .unwrap_or(usize::MAX);
            lora.validate(narrowest, self.layers_computed())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_layer_must_exist() {
        let config = DecoderConfig::new().with_feature_layer(Some(31));
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("1 to 30")
        );
        assert_eq!(
            DecoderConfig::new()
                .with_feature_layer(Some(12))
                .layers_computed(),
            12
        );
    }
}
