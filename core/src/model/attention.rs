//! Multi-head self-attention with rotary position encoding (RoPE) on queries and keys, so that
//! attention scores depend on the offset between two tokens rather than their absolute places:
//! "the number two tokens before this separator" is one pattern, wherever the step sits.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, RotaryEncoding, RotaryEncodingConfig};
use burn::tensor::{Bool, Device, Tensor};

use crate::model::attend::attend;

/// Multi-head self-attention with rotary positions.
#[derive(Module, Debug)]
pub struct RotarySelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    rotary: RotaryEncoding,
    n_heads: usize,
}

impl RotarySelfAttention {
    /// `n_heads` heads over width `d_model`, covering sequences of up to `max_positions` tokens.
    ///
    /// # Panics
    /// When `d_model` is not a multiple of `n_heads` or the head width is odd (RoPE rotates
    /// pairs of features).
    pub fn new(
        d_model: usize,
        n_heads: usize,
        max_positions: usize,
        theta: f32,
        device: &Device,
    ) -> Self {
        assert!(
            n_heads > 0 && d_model.is_multiple_of(n_heads) && (d_model / n_heads).is_multiple_of(2),
            "d_model {d_model} must split into {n_heads} heads of an even width"
        );
        let linear = || LinearConfig::new(d_model, d_model).init(device);
        Self {
            query: linear(),
            key: linear(),
            value: linear(),
            output: linear(),
            rotary: RotaryEncodingConfig::new(max_positions, d_model / n_heads)
                .with_theta(theta)
                .init(device),
            n_heads,
        }
    }

    /// # Shapes
    ///
    /// - input: `[batch, seq_len, d_model]`
    /// - blocked: `[batch, seq_len, seq_len]`, `true` where query `i` may not attend to key `j`
    /// - output: `[batch, seq_len, d_model]`
    pub fn forward(&self, input: Tensor<3>, blocked: Tensor<3, Bool>) -> Tensor<3> {
        let [batch, seq_len, d_model] = input.dims();
        let d_head = d_model / self.n_heads;
        let split = |x: Tensor<3>| {
            x.reshape([batch, seq_len, self.n_heads, d_head])
                .swap_dims(1, 2)
        };
        let query = self
            .rotary
            .forward(split(self.query.forward(input.clone())));
        let key = self.rotary.forward(split(self.key.forward(input.clone())));
        let value = split(self.value.forward(input));

        let mixed = attend(query, key, value, blocked, (d_head as f32).sqrt().recip())
            .swap_dims(1, 2)
            .reshape([batch, seq_len, d_model]);
        self.output.forward(mixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::attention::generate_autoregressive_mask;
    use burn::tensor::{Distribution, TensorData};

    fn device() -> Device {
        Device::flex()
    }

    fn causal(batch: usize, seq_len: usize) -> Tensor<3, Bool> {
        generate_autoregressive_mask(batch, seq_len, &device())
    }

    #[test]
    fn a_blocked_key_has_no_influence() {
        let device = device();
        let attention = RotarySelfAttention::new(8, 2, 16, 10_000.0, &device);
        let input = Tensor::<3>::random([1, 5, 8], Distribution::Normal(0.0, 1.0), &device);
        let changed_last = input.clone().slice_assign(
            [0..1, 4..5, 0..8],
            Tensor::random([1, 1, 8], Distribution::Normal(0.0, 1.0), &device),
        );
        let a = attention.forward(input, causal(1, 5)).slice([0..1, 0..4]);
        let b = attention
            .forward(changed_last, causal(1, 5))
            .slice([0..1, 0..4]);
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Default::default());
    }

    #[test]
    fn scores_depend_on_offsets_not_absolute_positions() {
        // The same three tokens, placed at the start or after two others, give the same output
        // at their last position when the earlier tokens are blocked.
        let device = device();
        let attention = RotarySelfAttention::new(8, 2, 16, 10_000.0, &device);
        let tokens = Tensor::<3>::random([1, 3, 8], Distribution::Normal(0.0, 1.0), &device);
        let prefix = Tensor::<3>::random([1, 2, 8], Distribution::Normal(0.0, 1.0), &device);
        let shifted = Tensor::cat(vec![prefix, tokens.clone()], 1);
        let mut blocked = vec![false; 25];
        for query in 0..5 {
            for key in 0..5 {
                blocked[query * 5 + key] = key > query || (query >= 2 && key < 2);
            }
        }
        let blocked = Tensor::from_data(TensorData::new(blocked, [1, 5, 5]), &device);
        let at_start = attention.forward(tokens, causal(1, 3)).slice([0..1, 2..3]);
        let after_prefix = attention.forward(shifted, blocked).slice([0..1, 4..5]);
        at_start
            .into_data()
            .assert_approx_eq::<f32>(&after_prefix.into_data(), Default::default());
    }
}
