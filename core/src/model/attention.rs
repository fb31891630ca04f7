//! Multi-head self-attention with rotary position encoding (RoPE) on queries and keys, so that
//! attention scores depend on the offset between two tokens rather than their absolute places:
//! "the number two tokens before this separator" is one pattern, wherever the step sits.
//!
//! A head's features are rotated in adjacent pairs `(2i, 2i + 1)`, by the angle
//! `position · θ^(−2i/d)` (burn's `RotaryEncoding`, which the checkpoints were trained with).
//! Rotating those pairs in place takes strided copies that cost as much as the projections
//! themselves on the CPU (docs/performance.md). So the query and key projections emit each
//! head's features reordered, the pairs' first members then their second ones, and the pairs
//! are rotated as halves (`rope.rs`, the Llama layout). Queries and keys are reordered alike, so
//! their dot products, and hence the attention weights, are those of the pair layout.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::model::attend::attend;
use crate::model::products::{project, project_with};
use crate::model::rope::RotaryTables;

/// Multi-head self-attention with rotary positions.
#[derive(Module, Debug)]
pub struct RotarySelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
}

/// How a batch's tokens are placed, shared by every layer of one forward pass: the feature
/// order that turns each head's adjacent pairs into halves, and the rotation tables of the
/// positions `0..seq_len`.
#[derive(Debug, Clone)]
pub struct PairRotation {
    order: Tensor<1, Int>,
    tables: RotaryTables,
    head_width: usize,
}

impl PairRotation {
    /// The rotation of `seq_len` tokens starting at position 0, for heads of width
    /// `head_width` (even) across `d_model` features, with rotary base `theta`.
    pub fn from_start(
        seq_len: usize,
        d_model: usize,
        head_width: usize,
        theta: f64,
        device: &Device,
    ) -> Self {
        Self {
            order: halves_order(d_model, head_width, device),
            tables: RotaryTables::from_start(seq_len, head_width, theta, device),
            head_width,
        }
    }
}

impl RotarySelfAttention {
    /// Attention of width `d_model`; the head width comes with the [`PairRotation`] each
    /// forward pass is given.
    pub fn new(d_model: usize, device: &Device) -> Self {
        let linear = || LinearConfig::new(d_model, d_model).init(device);
        Self {
            query: linear(),
            key: linear(),
            value: linear(),
            output: linear(),
        }
    }

    /// # Shapes
    ///
    /// - input: `[batch, seq_len, d_model]`
    /// - blocked: `[batch, seq_len, seq_len]`, `true` where query `i` may not attend to key `j`
    /// - rotation: built for `seq_len` tokens and width `d_model`
    /// - output: `[batch, seq_len, d_model]`
    pub fn forward(
        &self,
        input: Tensor<3>,
        blocked: Tensor<3, Bool>,
        rotation: &PairRotation,
    ) -> Tensor<3> {
        let [batch, seq_len, d_model] = input.dims();
        let d_head = rotation.head_width;
        let n_heads = d_model / d_head;
        let split = |x: Tensor<3>| x.reshape([batch, seq_len, n_heads, d_head]).swap_dims(1, 2);
        let rotated = |projection: &Linear| {
            rotation.tables.rotate(split(project_in_order(
                projection,
                input.clone(),
                rotation.order.clone(),
            )))
        };
        let query = rotated(&self.query);
        let key = rotated(&self.key);
        let value = split(project(&self.value, input));

        let mixed = attend(query, key, value, blocked, (d_head as f32).sqrt().recip())
            .swap_dims(1, 2)
            .reshape([batch, seq_len, d_model]);
        project(&self.output, mixed)
    }
}

/// The feature order that turns every head's adjacent pairs into halves: within each head of
/// width `d_head`, the even features, then the odd ones.
fn halves_order(d_model: usize, d_head: usize, device: &Device) -> Tensor<1, Int> {
    let order: Vec<i64> = (0..d_model)
        .step_by(d_head)
        .flat_map(|head| {
            let evens = (0..d_head).step_by(2);
            let odds = (1..d_head).step_by(2);
            evens.chain(odds).map(move |i| (head + i) as i64)
        })
        .collect();
    Tensor::from_data(TensorData::new(order, [d_model]), device)
}

/// `projection` of `input` with its output features in `order`: the weights' columns are
/// reordered (a few thousand numbers), not the output.
fn project_in_order(projection: &Linear, input: Tensor<3>, order: Tensor<1, Int>) -> Tensor<3> {
    let weight = projection.weight.val().select(1, order.clone());
    let bias = projection
        .bias
        .as_ref()
        .map(|bias| bias.val().select(0, order));
    project_with(input, weight, bias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::RotaryEncodingConfig;
    use burn::nn::attention::generate_autoregressive_mask;
    use burn::tensor::{Distribution, Tolerance};

    fn device() -> Device {
        Device::flex()
    }

    fn causal(batch: usize, seq_len: usize) -> Tensor<3, Bool> {
        generate_autoregressive_mask(batch, seq_len, &device())
    }

    const THETA: f64 = 10_000.0;

    /// The rotation of `seq_len` tokens over `n_heads` heads of width 4.
    fn rotation(seq_len: usize, n_heads: usize) -> PairRotation {
        PairRotation::from_start(seq_len, 4 * n_heads, 4, THETA, &device())
    }

    #[test]
    fn a_blocked_key_has_no_influence() {
        let device = device();
        let attention = RotarySelfAttention::new(8, &device);
        let input = Tensor::<3>::random([1, 5, 8], Distribution::Normal(0.0, 1.0), &device);
        let changed_last = input.clone().slice_assign(
            [0..1, 4..5, 0..8],
            Tensor::random([1, 1, 8], Distribution::Normal(0.0, 1.0), &device),
        );
        let a = attention
            .forward(input, causal(1, 5), &rotation(5, 2))
            .slice([0..1, 0..4]);
        let b = attention
            .forward(changed_last, causal(1, 5), &rotation(5, 2))
            .slice([0..1, 0..4]);
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Default::default());
    }

    #[test]
    fn scores_depend_on_offsets_not_absolute_positions() {
        // The same three tokens, placed at the start or after two others, give the same output
        // at their last position when the earlier tokens are blocked.
        let device = device();
        let attention = RotarySelfAttention::new(8, &device);
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
        let at_start = attention
            .forward(tokens, causal(1, 3), &rotation(3, 2))
            .slice([0..1, 2..3]);
        let after_prefix = attention
            .forward(shifted, blocked, &rotation(5, 2))
            .slice([0..1, 4..5]);
        at_start
            .into_data()
            .assert_approx_eq::<f32>(&after_prefix.into_data(), Default::default());
    }

    /// The attention that rotates each head's adjacent pairs in place with burn's
    /// `RotaryEncoding`, as the checkpoints were trained: the reordered projections and the
    /// rotation of halves must give its outputs.
    fn with_pairs_rotated_in_place(
        attention: &RotarySelfAttention,
        n_heads: usize,
        input: Tensor<3>,
        blocked: Tensor<3, Bool>,
    ) -> Tensor<3> {
        let [batch, seq_len, d_model] = input.dims();
        let d_head = d_model / n_heads;
        let rotary = RotaryEncodingConfig::new(seq_len, d_head)
            .with_theta(THETA as f32)
            .init(&input.device());
        let split = |x: Tensor<3>| x.reshape([batch, seq_len, n_heads, d_head]).swap_dims(1, 2);
        let query = rotary.forward(split(attention.query.forward(input.clone())));
        let key = rotary.forward(split(attention.key.forward(input.clone())));
        let value = split(attention.value.forward(input));
        let mixed = attend(query, key, value, blocked, (d_head as f32).sqrt().recip())
            .swap_dims(1, 2)
            .reshape([batch, seq_len, d_model]);
        attention.output.forward(mixed)
    }

    #[test]
    fn rotating_reordered_halves_is_rotating_adjacent_pairs() {
        let device = device();
        for (d_model, n_heads) in [(16, 2), (64, 4)] {
            let attention = RotarySelfAttention::new(d_model, &device);
            let input =
                Tensor::<3>::random([2, 29, d_model], Distribution::Normal(0.0, 1.0), &device);
            let expected =
                with_pairs_rotated_in_place(&attention, n_heads, input.clone(), causal(2, 29));
            let rotation = PairRotation::from_start(29, d_model, d_model / n_heads, THETA, &device);
            attention
                .forward(input, causal(2, 29), &rotation)
                .into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(1e-5));
        }
    }
}
