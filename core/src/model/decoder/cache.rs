//! The keys and values a decoder computed for tokens it has read, so that text continuing them
//! is read without reading them again: trajectories that share a prefix (PRM800K's rows, many
//! samples of one question) then cost the distinct tokens, not every row's whole length
//! ([`crate::features::PrefixTree`]).

use burn::tensor::Tensor;

/// One layer's keys (rotated) and values, `[batch, kv_heads, seq_len, head_dim]`.
#[derive(Debug, Clone)]
pub struct LayerCache {
    /// The keys, after the rotary embedding.
    pub key: Tensor<4>,
    /// The values.
    pub value: Tensor<4>,
}

/// Every computed layer's keys and values for a run of tokens.
#[derive(Debug, Clone)]
pub struct DecoderCache {
    /// One entry per layer run.
    pub layers: Vec<LayerCache>,
}

impl DecoderCache {
    /// Tokens covered.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |layer| layer.key.dims()[2])
    }

    /// Whether it covers no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cache of tokens `range` alone (of every row).
    pub fn tokens(&self, range: std::ops::Range<usize>) -> Self {
        let cut = |x: &Tensor<4>| {
            let [batch, kv_heads, _, head_dim] = x.dims();
            x.clone()
                .slice([0..batch, 0..kv_heads, range.clone(), 0..head_dim])
        };
        Self {
            layers: self
                .layers
                .iter()
                .map(|layer| LayerCache {
                    key: cut(&layer.key),
                    value: cut(&layer.value),
                })
                .collect(),
        }
    }

    /// `parts` one after the other, each of batch 1: the cache of their concatenated tokens.
    ///
    /// # Panics
    /// When `parts` is empty.
    pub fn concat(parts: &[DecoderCache]) -> Self {
        assert!(!parts.is_empty(), "a cache of nothing");
        let layers = (0..parts[0].layers.len())
            .map(|layer| LayerCache {
                key: Tensor::cat(
                    parts.iter().map(|p| p.layers[layer].key.clone()).collect(),
                    2,
                ),
                value: Tensor::cat(
                    parts
                        .iter()
                        .map(|p| p.layers[layer].value.clone())
                        .collect(),
                    2,
                ),
            })
            .collect();
        Self { layers }
    }
}
