//! A Llama-family decoder's configuration and tensors from a GGUF file, under the names
//! llama.cpp gives them (`blk.0.attn_q.weight`), dequantised to `f32` as they are read.
//!
//! llama.cpp's converter stores a `llama` model's query and key projections with the rows of
//! each head interleaved for its rotary layout (adjacent pairs rotate together); they are put
//! back in the rotate-half order of the Hugging Face checkpoint. Qwen2's are stored as they
//! are.

use crate::gguf::{GgufError, GgufFile, MetadataValue};
use crate::model::{DecoderConfig, DecoderFamily, HostTensor, NamedTensors, WeightsError};
use crate::named_choice::NamedChoice;

/// The decoder configuration a GGUF file's metadata describes.
pub fn decoder_config(file: &GgufFile) -> Result<DecoderConfig, GgufError> {
    let architecture = file
        .metadata("general.architecture")
        .and_then(MetadataValue::as_str)
        .ok_or_else(|| GgufError::bad_metadata("general.architecture", "is missing"))?;
    let family = DecoderFamily::from_name(architecture).ok_or_else(|| {
        GgufError::bad_metadata(
            "general.architecture",
            format!(
                "is `{architecture}`; the supported decoders are {}",
                DecoderFamily::names()
            ),
        )
    })?;
    let key = |name: &str| format!("{architecture}.{name}");
    let count = |name: &str| -> Result<usize, GgufError> {
        let key = key(name);
        file.metadata(&key)
            .and_then(MetadataValue::as_u64)
            .and_then(|value| usize::try_from(value).ok())
            .ok_or_else(|| GgufError::bad_metadata(&key, "is missing or not a count"))
    };
    let optional_count = |name: &str| count(name).ok();
    let number = |name: &str| file.metadata(&key(name)).and_then(MetadataValue::as_f64);
    if let Some(kind) = file
        .metadata(&key("rope.scaling.type"))
        .and_then(MetadataValue::as_str)
        .filter(|kind| *kind != "none")
    {
        return Err(GgufError::bad_metadata(
            &key("rope.scaling.type"),
            format!(
                "asks for `{kind}` rotary scaling; only unscaled rotary embeddings are supported"
            ),
        ));
    }
    let embedding = file
        .tensor("token_embd.weight")
        .ok_or_else(|| GgufError::UnknownTensor("token_embd.weight".to_string()))?;
    let hidden_size = count("embedding_length")?;
    let heads = count("attention.head_count")?;
    let has = |name: &str| file.tensor(name).is_some();
    let config = DecoderConfig::new()
        .with_family(family)
        .with_vocab_size(embedding.shape().first().copied().unwrap_or(0))
        .with_hidden_size(hidden_size)
        .with_intermediate_size(count("feed_forward_length")?)
        .with_num_hidden_layers(count("block_count")?)
        .with_num_attention_heads(heads)
        .with_num_key_value_heads(optional_count("attention.head_count_kv").unwrap_or(heads))
        .with_head_dim(optional_count("attention.key_length").unwrap_or(hidden_size / heads.max(1)))
        .with_rms_norm_eps(number("attention.layer_norm_rms_epsilon").ok_or_else(|| {
            GgufError::bad_metadata(&key("attention.layer_norm_rms_epsilon"), "is missing")
        })?)
        .with_rope_theta(number("rope.freq_base").unwrap_or(10_000.0))
        .with_max_position_embeddings(count("context_length")?)
        .with_qkv_bias(has("blk.0.attn_q.bias"))
        .with_output_bias(has("blk.0.attn_output.bias"))
        .with_mlp_bias(has("blk.0.ffn_gate.bias"));
    Ok(config)
}

/// The GGUF name of a Hugging Face decoder tensor name, if the decoder has such a tensor.
fn gguf_name(hf_name: &str) -> Option<String> {
    const LAYER_PARTS: [(&str, &str); 9] = [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ];
    match hf_name {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        _ => {}
    }
    let rest = hf_name.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (part, parameter) = rest.rsplit_once('.')?;
    let (_, gguf_part) = LAYER_PARTS.iter().find(|(hf, _)| *hf == part)?;
    Some(format!("blk.{layer}.{gguf_part}.{parameter}"))
}

/// A GGUF file's tensors under Hugging Face names.
pub struct GgufTensors<'a> {
    file: &'a GgufFile,
    bytes: &'a [u8],
    config: &'a DecoderConfig,
    source_name: String,
}

impl<'a> GgufTensors<'a> {
    /// The tensors of `file`, whose bytes are `bytes`, for a decoder of `config`.
    pub fn new(
        file: &'a GgufFile,
        bytes: &'a [u8],
        config: &'a DecoderConfig,
        source_name: String,
    ) -> Self {
        Self {
            file,
            bytes,
            config,
            source_name,
        }
    }

    /// The number of heads whose rows llama.cpp interleaved in `hf_name`, if it did.
    fn interleaved_heads(&self, hf_name: &str) -> Option<usize> {
        if self.config.family == DecoderFamily::Qwen2 {
            return None;
        }
        if hf_name.contains(".self_attn.q_proj.") {
            Some(self.config.num_attention_heads)
        } else if hf_name.contains(".self_attn.k_proj.") {
            Some(self.config.num_key_value_heads)
        } else {
            None
        }
    }
}

impl NamedTensors for GgufTensors<'_> {
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>, WeightsError> {
        let Some(gguf_name) = gguf_name(name) else {
            return Ok(None);
        };
        let Some(info) = self.file.tensor(&gguf_name) else {
            return Ok(None);
        };
        let shape = info.shape();
        let mut values = self
            .file
            .dequantize(self.bytes, &gguf_name)
            .map_err(|error| WeightsError::Unreadable {
                source_name: self.source_name.clone(),
                message: error.to_string(),
            })?;
        if let Some(heads) = self.interleaved_heads(name) {
            values = rotate_half_rows(&values, heads, &shape);
        }
        Ok(Some(HostTensor { shape, values }))
    }

    fn source_name(&self) -> String {
        self.source_name.clone()
    }
}

/// Undoes llama.cpp's interleaving of each head's rows: within a head of `2h` rows, stored row
/// `2j + p` is row `p·h + j` of the Hugging Face checkpoint. Works on weights (`[rows, in]`)
/// and biases (`[rows]`); a shape that does not split into `heads` even heads is left as it is,
/// for the shape check to name.
fn rotate_half_rows(values: &[f32], heads: usize, shape: &[usize]) -> Vec<f32> {
    let rows = shape.first().copied().unwrap_or(0);
    let columns = shape.get(1).copied().unwrap_or(1);
    if heads == 0 || !rows.is_multiple_of(heads) || !(rows / heads).is_multiple_of(2) {
        return values.to_vec();
    }
    let half = rows / heads / 2;
    let mut out = vec![0.0; values.len()];
    for head in 0..heads {
        for j in 0..half {
            for p in 0..2 {
                let stored = head * 2 * half + 2 * j + p;
                let original = head * 2 * half + p * half + j;
                out[original * columns..(original + 1) * columns]
                    .copy_from_slice(&values[stored * columns..(stored + 1) * columns]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugging_face_names_map_to_llama_cpp_names() {
        let cases = [
            ("model.embed_tokens.weight", Some("token_embd.weight")),
            ("model.norm.weight", Some("output_norm.weight")),
            (
                "model.layers.12.self_attn.q_proj.bias",
                Some("blk.12.attn_q.bias"),
            ),
            (
                "model.layers.0.mlp.down_proj.weight",
                Some("blk.0.ffn_down.weight"),
            ),
            (
                "model.layers.3.post_attention_layernorm.weight",
                Some("blk.3.ffn_norm.weight"),
            ),
            ("lm_head.weight", None),
            ("model.layers.0.self_attn.rotary.weight", None),
        ];
        for (hf, gguf) in cases {
            assert_eq!(gguf_name(hf).as_deref(), gguf, "{hf}");
        }
    }

    /// llama.cpp's permutation, `reshape(heads, 2, h, in).swapaxes(1, 2)`, is undone.
    #[test]
    fn interleaved_rows_are_put_back() {
        let (heads, half, columns) = (2, 3, 2);
        let rows = heads * 2 * half;
        let original: Vec<f32> = (0..rows * columns).map(|i| i as f32).collect();
        let mut stored = vec![0.0; original.len()];
        for head in 0..heads {
            for p in 0..2 {
                for j in 0..half {
                    let from = head * 2 * half + p * half + j;
                    let to = head * 2 * half + 2 * j + p;
                    stored[to * columns..(to + 1) * columns]
                        .copy_from_slice(&original[from * columns..(from + 1) * columns]);
                }
            }
        }
        assert_eq!(rotate_half_rows(&stored, heads, &[rows, columns]), original);
        let bias: Vec<f32> = (0..rows).map(|i| i as f32).collect();
        let restored = rotate_half_rows(&bias, heads, &[rows]);
        assert_eq!(restored[..6], [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]);
    }
}
