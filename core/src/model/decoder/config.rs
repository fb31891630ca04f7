//! The configuration of a Llama-family decoder, read from a Hugging Face `config.json`.
//!
//! Llama, Mistral and Qwen2 share one architecture: RMSNorm before attention and before the
//! MLP, rotary position embeddings with the rotate-half layout, grouped-query attention, and a
//! SwiGLU MLP. They differ only in biases: Qwen2 has them on the query, key and value
//! projections; Llama may have them on every attention projection (`attention_bias`) and on
//! the MLP (`mlp_bias`); Mistral has none.

use burn::config::Config;
use serde::Deserialize;
use serde_json::Value;

use super::lora::{LoraConfig, LoraTarget};
use crate::model::InvalidModelConfig;
use crate::model::validation::invalid;

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

impl DecoderFamily {
    /// Every family, in the order errors list them.
    pub const ALL: [DecoderFamily; 3] = [
        DecoderFamily::Llama,
        DecoderFamily::Mistral,
        DecoderFamily::Qwen2,
    ];

    /// The `model_type` of a Hugging Face `config.json` (and `general.architecture` of GGUF).
    pub fn name(self) -> &'static str {
        match self {
            DecoderFamily::Llama => "llama",
            DecoderFamily::Mistral => "mistral",
            DecoderFamily::Qwen2 => "qwen2",
        }
    }

    /// The family called `name`, if supported.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|family| family.name() == name)
    }

    /// `"llama, mistral, qwen2"`, for errors.
    pub fn supported() -> String {
        Self::ALL.map(Self::name).join(", ")
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
    /// Low-rank adapters on the attention projections of every layer computed, which are then
    /// all that trains in the decoder; `None` for none.
    #[config(default = "None")]
    pub lora: Option<LoraConfig>,
}

/// The fields of a Hugging Face decoder `config.json` that matter here.
#[derive(Deserialize)]
struct HfDecoderConfig {
    model_type: String,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: f64,
    rope_theta: Option<f64>,
    /// Where `transformers` 5 writes the rotary settings.
    rope_parameters: Option<Value>,
    rope_scaling: Option<Value>,
    max_position_embeddings: usize,
    hidden_act: Option<String>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    sliding_window: Option<usize>,
    use_sliding_window: Option<bool>,
}

/// Why a decoder `config.json` was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecoderConfigError {
    /// Not JSON, or a required field is missing or mistyped.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Readable, but describing something this decoder does not implement.
    #[error(transparent)]
    Unsupported(#[from] InvalidModelConfig),
}

/// The rotary base of a configuration: `rope_theta`, or `rope_parameters.rope_theta` as
/// `transformers` 5 writes it; 10,000 (Llama's) when neither is given. Scaled rotary
/// embeddings (linear, dynamic, YaRN, Llama 3's) are refused.
fn rope_theta(hf: &HfDecoderConfig) -> Result<f64, InvalidModelConfig> {
    let scaling = [
        ("rope_scaling", hf.rope_scaling.as_ref()),
        ("rope_parameters", hf.rope_parameters.as_ref()),
    ];
    for (field, value) in scaling {
        let kind = value
            .and_then(|value| value.get("rope_type").or_else(|| value.get("type")))
            .and_then(Value::as_str);
        if let Some(kind) = kind.filter(|kind| *kind != "default") {
            return Err(invalid(
                field,
                format!(
                    "asks for `{kind}` rotary scaling; only unscaled (`default`) rotary embeddings are supported"
                ),
            ));
        }
    }
    let nested = hf
        .rope_parameters
        .as_ref()
        .and_then(|value| value.get("rope_theta"))
        .and_then(Value::as_f64);
    Ok(hf.rope_theta.or(nested).unwrap_or(10_000.0))
}

impl DecoderConfig {
    /// Reads a Hugging Face `config.json` of `model_type` llama, mistral or qwen2. Its numbers
    /// are taken as written; an architecture or setting this decoder does not implement (an
    /// other `model_type`, an activation other than SiLU, scaled rotary embeddings) is refused
    /// naming the field.
    pub fn from_hf_json(text: &str) -> Result<Self, DecoderConfigError> {
        let hf: HfDecoderConfig = serde_json::from_str(text)?;
        let family = DecoderFamily::from_name(&hf.model_type).ok_or_else(|| {
            invalid(
                "model_type",
                format!(
                    "is `{}`; the supported decoders are {}",
                    hf.model_type,
                    DecoderFamily::supported()
                ),
            )
        })?;
        if let Some(act) = hf.hidden_act.as_deref().filter(|act| *act != "silu") {
            return Err(invalid(
                "hidden_act",
                format!("is `{act}`; the SwiGLU MLP needs `silu`"),
            )
            .into());
        }
        let rope_theta = rope_theta(&hf)?;
        let sliding = match family {
            DecoderFamily::Qwen2 if hf.use_sliding_window != Some(true) => None,
            _ => hf.sliding_window,
        };
        let heads = hf.num_attention_heads.max(1);
        let (qkv_bias, output_bias) = match family {
            DecoderFamily::Qwen2 => (true, false),
            DecoderFamily::Mistral => (false, false),
            DecoderFamily::Llama => {
                let bias = hf.attention_bias.unwrap_or(false);
                (bias, bias)
            }
        };
        let config = DecoderConfig {
            family,
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            intermediate_size: hf.intermediate_size,
            num_hidden_layers: hf.num_hidden_layers,
            num_attention_heads: hf.num_attention_heads,
            num_key_value_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            head_dim: hf.head_dim.unwrap_or(hf.hidden_size / heads),
            rms_norm_eps: hf.rms_norm_eps,
            rope_theta,
            max_position_embeddings: sliding.map_or(hf.max_position_embeddings, |window| {
                window.min(hf.max_position_embeddings)
            }),
            qkv_bias,
            output_bias,
            mlp_bias: family == DecoderFamily::Llama && hf.mlp_bias.unwrap_or(false),
            feature_layer: None,
            lora: None,
        };
        config.validate()?;
        Ok(config)
    }

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

    /// SmolLM2-135M's configuration as the hub publishes it (abridged to the fields read).
    const SMOLLM2: &str = r#"{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152,
        "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
        "num_attention_heads": 9, "num_key_value_heads": 3, "rms_norm_eps": 1e-05,
        "rope_theta": 100000, "rope_scaling": null, "max_position_embeddings": 8192,
        "hidden_act": "silu", "tie_word_embeddings": true, "attention_bias": false,
        "mlp_bias": false, "torch_dtype": "bfloat16"
    }"#;

    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut json: Value = serde_json::from_str(SMOLLM2).unwrap();
        edit(&mut json);
        json.to_string()
    }

    #[test]
    fn reads_smollm2_as_the_defaults() {
        let config = DecoderConfig::from_hf_json(SMOLLM2).unwrap();
        assert_eq!(config, DecoderConfig::new());
        assert_eq!(config.query_width(), 576);
        assert_eq!(config.key_value_width(), 192);
    }

    #[test]
    fn qwen2_has_query_key_value_biases_and_ignores_an_unused_window() {
        let text = edited(|c| {
            c["model_type"] = "qwen2".into();
            c["sliding_window"] = 4096.into();
            c["use_sliding_window"] = false.into();
        });
        let config = DecoderConfig::from_hf_json(&text).unwrap();
        assert!(config.qkv_bias && !config.output_bias && !config.mlp_bias);
        assert_eq!(config.max_position_embeddings, 8192);
    }

    #[test]
    fn a_mistral_window_bounds_the_positions() {
        let text = edited(|c| {
            c["model_type"] = "mistral".into();
            c["sliding_window"] = 4096.into();
        });
        let config = DecoderConfig::from_hf_json(&text).unwrap();
        assert_eq!(config.max_position_embeddings, 4096);
        assert!(!config.qkv_bias);
    }

    #[test]
    fn transformers_5_rope_parameters_are_read() {
        let text = edited(|c| {
            c.as_object_mut().unwrap().remove("rope_theta");
            c["rope_parameters"] = serde_json::json!({"rope_theta": 1e6, "rope_type": "default"});
        });
        assert_eq!(DecoderConfig::from_hf_json(&text).unwrap().rope_theta, 1e6);
        let text = edited(|c| {
            c.as_object_mut().unwrap().remove("rope_theta");
        });
        assert_eq!(DecoderConfig::from_hf_json(&text).unwrap().rope_theta, 1e4);
    }

    #[test]
    fn what_is_not_implemented_is_refused_by_name() {
        type Edit<'a> = &'a dyn Fn(&mut Value);
        let cases: [(Edit, &str); 5] = [
            (&|c| c["model_type"] = "gpt_neox".into(), "model_type"),
            (&|c| c["hidden_act"] = "gelu".into(), "hidden_act"),
            (
                &|c| c["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 8.0}),
                "rope_scaling",
            ),
            (
                &|c| c["num_key_value_heads"] = 2.into(),
                "num_key_value_heads",
            ),
            (&|c| c["rms_norm_eps"] = 0.into(), "rms_norm_eps"),
        ];
        for (edit, field) in cases {
            let error = DecoderConfig::from_hf_json(&edited(edit)).unwrap_err();
            assert!(
                error.to_string().starts_with(&format!("`{field}`")),
                "{field}: {error}"
            );
        }
        let error = DecoderConfig::from_hf_json(&edited(|c| {
            c.as_object_mut().unwrap().remove("hidden_size");
        }))
        .unwrap_err();
        assert!(error.to_string().contains("hidden_size"), "{error}");
    }

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
