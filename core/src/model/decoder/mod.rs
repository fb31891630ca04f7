//! A Llama-family causal decoder (Llama, Mistral, Qwen2) built from a Hugging Face
//! configuration, whose hidden states are the step features: the hidden state at a step's
//! separator has attended to the question and the steps up to it, never to later ones, so one
//! pass reads every step with exactly its prefix.

mod cache;
mod config;
mod layer;
mod parameters;
mod rope;

use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::{Embedding, RmsNorm};
use burn::tensor::{Bool, Device, Int, Tensor};

pub use cache::{DecoderCache, LayerCache};
pub use config::{DecoderConfig, DecoderConfigError, DecoderFamily};
pub use layer::DecoderLayer;
pub use parameters::{
    FreshParameters, HostTensor, LoadedParameters, NamedTensors, ParameterSource,
};
use rope::RotaryTables;

use crate::model::WeightsError;

/// The decoder: token embeddings, layers, and the final norm. The language-model head is not
/// part of it: features are hidden states.
#[derive(Module, Debug)]
pub struct Decoder {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
    /// Present only when the feature is the last layer's output.
    norm: Option<RmsNorm>,
    rope_theta: f64,
    head_dim: usize,
}

impl DecoderConfig {
    /// A decoder with freshly initialised weights.
    ///
    /// # Panics
    /// When the configuration does not validate.
    pub fn init(&self, device: &Device) -> Decoder {
        Decoder::build(self, &mut FreshParameters { device })
    }

    /// The decoder with every weight read from `tensors` (Hugging Face names), or an error
    /// naming every tensor missing or of the wrong shape. Layers past the feature layer are
    /// not read.
    pub fn load<S: NamedTensors>(
        &self,
        tensors: S,
        device: &Device,
    ) -> Result<Decoder, WeightsError> {
        let mut parameters = LoadedParameters::new(tensors, device);
        let decoder = Decoder::build(self, &mut parameters);
        parameters.finish()?;
        Ok(decoder)
    }
}

impl Decoder {
    /// The decoder of `config`, its modules handed out by `source`.
    ///
    /// # Panics
    /// When the configuration does not validate.
    pub fn build(config: &DecoderConfig, source: &mut impl ParameterSource) -> Self {
        if let Err(error) = config.validate() {
            panic!("invalid decoder configuration: {error}");
        }
        Self {
            embed_tokens: source.embedding(
                "model.embed_tokens",
                config.vocab_size,
                config.hidden_size,
            ),
            layers: (0..config.layers_computed())
                .map(|i| DecoderLayer::build(config, &format!("model.layers.{i}"), source))
                .collect(),
            norm: config
                .feature_layer
                .is_none()
                .then(|| source.rms_norm("model.norm", config.hidden_size, config.rms_norm_eps)),
            rope_theta: config.rope_theta,
            head_dim: config.head_dim,
        }
    }

    /// The feature hidden state of every position. Padding keys are never attended to; with
    /// padding at the end of each row, every real position reads as it would alone.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`
    /// - padding: `[batch, seq_len]`, `true` at padding positions
    /// - output: `[batch, seq_len, hidden]`
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3> {
        self.forward_extending(tokens, padding, None).0
    }

    /// The feature hidden state of every position of tokens that continue `past` (every row
    /// the same past; none when `None`), and the keys and values of these tokens, with which a
    /// later call continues any row.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`, at positions `past.len()..past.len() + seq_len`
    /// - padding: `[batch, seq_len]`, `true` at padding positions (after each row's tokens)
    /// - past: batch 1
    /// - output: `[batch, seq_len, hidden]`, and a cache of batch `batch` and `seq_len` tokens
    pub fn forward_extending(
        &self,
        tokens: Tensor<2, Int>,
        padding: Tensor<2, Bool>,
        past: Option<&DecoderCache>,
    ) -> (Tensor<3>, DecoderCache) {
        let [batch, seq_len] = tokens.dims();
        let device = tokens.device();
        let past_len = past.map_or(0, DecoderCache::len);
        let mut blocked = generate_autoregressive_mask(batch, seq_len, &device).bool_or(
            padding
                .unsqueeze_dim::<3>(1)
                .expand([batch, seq_len, seq_len]),
        );
        if past_len > 0 {
            let open = Tensor::<3, Bool>::zeros([batch, seq_len, past_len], &device);
            blocked = Tensor::cat(vec![open, blocked], 2);
        }
        let rotary = RotaryTables::new(past_len, seq_len, self.head_dim, self.rope_theta, &device);
        let mut hidden = self.embed_tokens.forward(tokens);
        let mut layers = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate() {
            let layer_past = past.map(|past| &past.layers[index]);
            let (output, cache) = layer.forward(hidden, blocked.clone(), &rotary, layer_past);
            hidden = output;
            layers.push(cache);
        }
        let hidden = match &self.norm {
            Some(norm) => norm.forward(hidden),
            None => hidden,
        };
        (hidden, DecoderCache { layers })
    }

    /// Rows of the token embedding table.
    pub fn vocab_size(&self) -> usize {
        self.embed_tokens.weight.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;

    fn tiny(family: DecoderFamily) -> DecoderConfig {
        DecoderConfig::new()
            .with_family(family)
            .with_vocab_size(20)
            .with_hidden_size(16)
            .with_intermediate_size(24)
            .with_num_hidden_layers(2)
            .with_num_attention_heads(4)
            .with_num_key_value_heads(2)
            .with_head_dim(4)
            .with_qkv_bias(family == DecoderFamily::Qwen2)
            .with_max_position_embeddings(32)
    }

    fn read(decoder: &Decoder, rows: &[Vec<i64>], device: &Device) -> Vec<Vec<f32>> {
        let seq_len = rows.iter().map(Vec::len).max().unwrap();
        let mut ids = Vec::new();
        let mut padding = Vec::new();
        for row in rows {
            ids.extend(
                row.iter()
                    .copied()
                    .chain(std::iter::repeat(0))
                    .take(seq_len),
            );
            padding.extend((0..seq_len).map(|i| i >= row.len()));
        }
        let shape = [rows.len(), seq_len];
        let hidden = decoder.forward(
            Tensor::from_data(TensorData::new(ids, shape), device),
            Tensor::from_data(TensorData::new(padding, shape), device),
        );
        let width = hidden.dims()[2];
        let flat: Vec<f32> = hidden.into_data().try_to_vec::<f32>().unwrap();
        flat.chunks(width).map(<[f32]>::to_vec).collect()
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{x} against {y}");
        }
    }

    /// A position's hidden state depends on the tokens up to it only, and padding after a
    /// row changes none of its positions.
    #[test]
    fn a_position_reads_its_prefix_only() {
        let device = Device::flex();
        device.seed(5);
        for family in DecoderFamily::ALL {
            let decoder = tiny(family).init(&device);
            let long = vec![3, 7, 1, 9, 4, 4];
            let hidden = read(&decoder, &[long.clone(), vec![2, 5]], &device);
            for cut in 1..=long.len() {
                let alone = read(&decoder, &[long[..cut].to_vec()], &device);
                assert_close(&hidden[cut - 1], &alone[cut - 1]);
            }
            let short = read(&decoder, &[vec![2, 5]], &device);
            assert_close(&hidden[6], &short[0]);
            assert_close(&hidden[7], &short[1]);
        }
    }

    /// Tokens read after a cache of their prefix have the hidden states they have when read
    /// with it, for every continuation of a batch, padded or not.
    #[test]
    fn continuing_a_cache_reads_as_reading_the_whole() {
        let device = Device::flex();
        device.seed(11);
        for family in DecoderFamily::ALL {
            let decoder = tiny(family).init(&device);
            let prefix = vec![3i64, 7, 1];
            let continuations = [vec![9i64, 4, 4], vec![2]];
            let ids = |rows: &[Vec<i64>]| {
                let seq_len = rows.iter().map(Vec::len).max().unwrap();
                let shape = [rows.len(), seq_len];
                let flat: Vec<i64> = rows
                    .iter()
                    .flat_map(|r| r.iter().copied().chain(std::iter::repeat(0)).take(seq_len))
                    .collect();
                let padding: Vec<bool> = rows
                    .iter()
                    .flat_map(|r| (0..seq_len).map(move |i| i >= r.len()))
                    .collect();
                (
                    Tensor::<2, Int>::from_data(TensorData::new(flat, shape), &device),
                    Tensor::<2, Bool>::from_data(TensorData::new(padding, shape), &device),
                )
            };
            let (tokens, padding) = ids(std::slice::from_ref(&prefix));
            let (_, cache) = decoder.forward_extending(tokens, padding, None);
            assert_eq!(cache.len(), 3);
            let (tokens, padding) = ids(&continuations);
            let (continued, _) = decoder.forward_extending(tokens, padding, Some(&cache));
            let width = continued.dims()[2];
            let continued: Vec<f32> = continued.into_data().try_to_vec::<f32>().unwrap();
            for (row, continuation) in continuations.iter().enumerate() {
                let whole: Vec<i64> = prefix.iter().chain(continuation).copied().collect();
                let alone = read(&decoder, &[whole], &device);
                for (i, _) in continuation.iter().enumerate() {
                    let start = (row * 3 + i) * width;
                    assert_close(&continued[start..start + width], &alone[3 + i]);
                }
            }
        }
    }

    /// A decoder whose feature is an inner layer runs only the layers up to it.
    #[test]
    fn an_inner_feature_layer_stops_early() {
        let device = Device::flex();
        let config = tiny(DecoderFamily::Llama).with_feature_layer(Some(1));
        let decoder = config.init(&device);
        assert_eq!(decoder.layers.len(), 1);
        assert!(decoder.norm.is_none());
        assert_eq!(read(&decoder, &[vec![1, 2]], &device)[1].len(), 16);
    }
}
