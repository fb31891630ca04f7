//! Reading a Hugging Face decoder `config.json` into a [`DecoderConfig`]: its numbers as
//! written, and what this decoder does not implement refused by field.

use serde::Deserialize;
use serde_json::Value;

use super::config::{DecoderConfig, DecoderFamily};
use crate::model::validation::invalid;
use crate::model::{InvalidModelConfig, StepFeature};
use crate::named_choice::NamedChoice;

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
                    DecoderFamily::names()
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
            step_feature: StepFeature::Separator,
            lora: None,
        };
        config.validate()?;
        Ok(config)
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
}
