//! A Llama-family causal decoder (Llama, Mistral, Qwen2) built from a Hugging Face
//! configuration, whose hidden states are the step features: the hidden state at a step's
//! separator has attended to the question and the steps up to it, never to later ones, so one
//! pass reads every step with exactly its prefix.

mod cache;
mod config;
mod hf_config;
mod layer;
mod lora;
mod parameters;

use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::{Embedding, RmsNorm};
use burn::tensor::{Bool, Device, Int, Tensor};

pub use cache::{DecoderCache, LayerCache};
pub use config::{DecoderConfig, DecoderFamily};
pub use hf_config::DecoderConfigError;
pub use layer::DecoderLayer;
pub use lora::{LoraConfig, LoraTarget};
pub use parameters::{
    FreshParameters, HostTensor, LoadedParameters, NamedTensors, ParameterSource,
};

use crate::model::rope::RotaryTables;
use crate::model::{StepFeature, WeightsError};
use crate::rng::SeededRng;

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
    /// Whether a step's feature adds the mean of the step's tokens ([`StepFeature`]).
    pools_step_tokens: bool,
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
    /// The decoder of `config`, its modules handed out by `source`. When `config` has
    /// adapters, every weight `source` gives is frozen and fresh adapters are added: they are
    /// then all that trains.
    ///
    /// # Panics
    /// When the configuration does not validate.
    pub fn build(config: &DecoderConfig, source: &mut impl ParameterSource) -> Self {
        if let Err(error) = config.validate() {
            panic!("invalid decoder configuration: {error}");
        }
        let decoder = Self {
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
            pools_step_tokens: config.step_feature.pools_step_tokens(),
        };
        match &config.lora {
            Some(lora) => decoder.no_grad().adapted(config, lora),
            None => decoder,
        }
    }

    /// The decoder with fresh adapters in the layers `lora` names.
    fn adapted(mut self, config: &DecoderConfig, lora: &LoraConfig) -> Self {
        let mut rng = SeededRng::derive(lora.seed, 0x4C4F_5241);
        let first = lora.first_adapted_layer(self.layers.len());
        self.layers = self
            .layers
            .into_iter()
            .enumerate()
            .map(|(i, layer)| match i >= first {
                true => layer.adapted(config, lora, &mut rng),
                false => layer,
            })
            .collect();
        self
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
        let [batch, seq_len] = tokens.dims();
        let device = tokens.device();
        let blocked = generate_autoregressive_mask(batch, seq_len, &device).bool_or(
            padding
                .unsqueeze_dim::<3>(1)
                .expand([batch, seq_len, seq_len]),
        );
        let rotary = RotaryTables::from_start(seq_len, self.head_dim, self.rope_theta, &device);
        self.forward_with(tokens, blocked, &rotary, None).0
    }

    /// The feature hidden state of every token of rows that pack several sequences, after the
    /// keys and values of `past` (shared by every row; none when `None`): each token is
    /// rotated as at its `positions` entry (its position in its own sequence) and attends to
    /// the keys `blocked` leaves open, as a tree of sequences sharing prefixes is read
    /// ([`crate::features::PrefixTree`]). Also the keys and values of the tokens read, with
    /// which a later call continues them.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`
    /// - positions: `batch · seq_len` entries, row-major
    /// - blocked: `[batch, seq_len, past + seq_len]`, `true` where query `i` may not attend to
    ///   key `j` (the past's keys first)
    /// - past: batch 1
    /// - output: `[batch, seq_len, hidden]`, and a cache of batch `batch` and `seq_len` tokens
    ///
    /// # Panics
    /// When `positions` does not hold one entry per token.
    pub fn forward_packed(
        &self,
        tokens: Tensor<2, Int>,
        positions: &[usize],
        blocked: Tensor<3, Bool>,
        past: Option<&DecoderCache>,
    ) -> (Tensor<3>, DecoderCache) {
        let [batch, seq_len] = tokens.dims();
        assert_eq!(positions.len(), batch * seq_len, "one position per token");
        let rotary = RotaryTables::new(
            positions,
            batch,
            self.head_dim,
            self.rope_theta,
            &tokens.device(),
        );
        self.forward_with(tokens, blocked, &rotary, past)
    }

    fn forward_with(
        &self,
        tokens: Tensor<2, Int>,
        blocked: Tensor<3, Bool>,
        rotary: &RotaryTables,
        past: Option<&DecoderCache>,
    ) -> (Tensor<3>, DecoderCache) {
        let mut hidden = self.embed_tokens.forward(tokens);
        let mut layers = Vec::with_capacity(self.layers.len());
        for (index, layer) in self.layers.iter().enumerate() {
            let layer_past = past.map(|past| &past.layers[index]);
            let (output, cache) = layer.forward(hidden, blocked.clone(), rotary, layer_past);
            hidden = output;
            layers.push(cache);
        }
        let hidden = match &self.norm {
            Some(norm) => norm.forward(hidden),
            None => hidden,
        };
        (hidden, DecoderCache { layers })
    }

    /// What a step's feature is made of.
    pub fn step_feature(&self) -> StepFeature {
        match self.pools_step_tokens {
            true => StepFeature::SeparatorAndMean,
            false => StepFeature::Separator,
        }
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
    use crate::model::test_support::tiny_decoder_config;
    use crate::named_choice::NamedChoice;

    fn tiny(family: DecoderFamily) -> DecoderConfig {
        tiny_decoder_config(20)
            .with_family(family)
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
        for &family in DecoderFamily::ALL {
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

    /// Two sequences that share a prefix, packed in one row as a tree (the prefix once, then
    /// each continuation attending to it and to itself), read as each does alone, with the
    /// prefix in the row or read before as keys and values.
    #[test]
    fn a_packed_tree_reads_as_its_sequences() {
        let device = Device::flex();
        device.seed(11);
        for &family in DecoderFamily::ALL {
            let decoder = tiny(family).init(&device);
            // Tokens: the prefix [3, 7, 1], then [9, 4, 4] and [2], each after the prefix.
            let packed = [3i64, 7, 1, 9, 4, 4, 2, 0];
            let positions = [0, 1, 2, 3, 4, 5, 3, 7];
            let segment_of = [0, 0, 0, 1, 1, 1, 2, 3];
            let ancestors: [&[usize]; 4] = [&[], &[0], &[0], &[]];
            let mut blocked = Vec::new();
            for query in 0..packed.len() {
                for key in 0..packed.len() {
                    let (q, k) = (segment_of[query], segment_of[key]);
                    let open = (q == k && key <= query) || ancestors[q].contains(&k);
                    blocked.push(!open);
                }
            }
            let (hidden, _) = decoder.forward_packed(
                Tensor::from_data(TensorData::new(packed.to_vec(), [1, 8]), &device),
                &positions,
                Tensor::from_data(TensorData::new(blocked, [1, 8, 8]), &device),
                None,
            );
            let width = hidden.dims()[2];
            let hidden: Vec<f32> = hidden.into_data().try_to_vec::<f32>().unwrap();
            let at = |token: usize| &hidden[token * width..(token + 1) * width];
            let first = read(&decoder, &[vec![3, 7, 1, 9, 4, 4]], &device);
            for (token, alone) in first.iter().enumerate() {
                assert_close(at(token), alone);
            }
            let second = read(&decoder, &[vec![3, 7, 1, 2]], &device);
            assert_close(at(6), &second[3]);

            // The same continuations after the prefix's keys and values.
            let ids = |values: Vec<i64>| {
                let len = values.len();
                Tensor::<2, Int>::from_data(TensorData::new(values, [1, len]), &device)
            };
            let open = |values: Vec<bool>, keys: usize| {
                let queries = values.len() / keys;
                Tensor::<3, Bool>::from_data(TensorData::new(values, [1, queries, keys]), &device)
            };
            let (_, past) = decoder.forward_packed(
                ids(vec![3, 7, 1]),
                &[0, 1, 2],
                open(
                    vec![false, true, true, false, false, true, false, false, false],
                    3,
                ),
                None,
            );
            assert_eq!(past.len(), 3);
            // Keys: the past's three, then [9, 4, 4] and [2].
            let rows: [[bool; 7]; 4] = [
                [false, false, false, false, true, true, true],
                [false, false, false, false, false, true, true],
                [false, false, false, false, false, false, true],
                [false, false, false, true, true, true, false],
            ];
            let (continued, cache) = decoder.forward_packed(
                ids(vec![9, 4, 4, 2]),
                &[3, 4, 5, 3],
                open(rows.concat(), 7),
                Some(&past),
            );
            assert_eq!(cache.len(), 4);
            let continued: Vec<f32> = continued.into_data().try_to_vec::<f32>().unwrap();
            for (token, alone) in [&first[3], &first[4], &first[5], &second[3]]
                .into_iter()
                .enumerate()
            {
                assert_close(&continued[token * width..(token + 1) * width], alone);
            }
        }
    }

    /// Fresh adapters add nothing: an adapted decoder reads as the decoder it adapts.
    #[test]
    fn fresh_adapters_leave_the_features_as_they_were() {
        let device = Device::flex();
        for &family in DecoderFamily::ALL {
            let config = tiny(family);
            let plain = config.init(&device);
            let lora = LoraConfig::new().with_rank(2);
            let adapted = plain.clone().no_grad().adapted(&config, &lora);
            let rows = [vec![1, 5, 9, 2], vec![3, 3]];
            for (a, b) in read(&plain, &rows, &device)
                .iter()
                .zip(&read(&adapted, &rows, &device))
            {
                assert_eq!(a, b);
            }
            let built = config.clone().with_lora(Some(lora.clone())).init(&device);
            let adapters = built.layers[0].adapters().expect("adapters");
            assert!(LoraTarget::ALL.iter().all(|&t| adapters.on(t).is_some()));
            let top = config
                .with_lora(Some(lora.with_layers(Some(1))))
                .init(&device);
            assert!(top.layers[0].adapters().is_none());
            assert!(top.layers[1].adapters().is_some());
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
