//! Rotary position embeddings in the rotate-half layout of Llama-family checkpoints: feature
//! `i` of a head's first half is rotated with feature `i` of its second half, by the angle
//! `position · θ^(−2i/d)`. (burn's `RotaryEncoding` rotates adjacent pairs instead, the
//! layout GGUF stores Llama's query and key weights in; see `hub::gguf_names`.) The small
//! backbone's attention reorders its projections' outputs so that these tables turn its pairs
//! (`attention.rs`).

use burn::tensor::{Device, Tensor, TensorData};

/// The cosines and sines of every token's rotation angles, `[rows, 1, seq_len, head_dim / 2]`
/// each: one row shared by a whole batch, or one per batch row.
#[derive(Debug, Clone)]
pub struct RotaryTables {
    cos: Tensor<4>,
    sin: Tensor<4>,
}

impl RotaryTables {
    /// The tables for tokens at `positions` (`rows` rows of equal length, row-major) of heads of
    /// width `head_dim` (even). The angles are computed in `f32` as `transformers` computes
    /// them, so that long inputs round the same way.
    pub fn new(
        positions: &[usize],
        rows: usize,
        head_dim: usize,
        theta: f64,
        device: &Device,
    ) -> Self {
        let half = head_dim / 2;
        let seq_len = positions.len() / rows.max(1);
        let inverse_frequencies: Vec<f32> = (0..half)
            .map(|i| ((theta as f32).powf((2 * i) as f32 / head_dim as f32)).recip())
            .collect();
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &position in positions {
            for &frequency in &inverse_frequencies {
                let angle = f64::from(position as f32 * frequency);
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        let shape = [rows, 1, seq_len, half];
        let table = |values| Tensor::from_data(TensorData::new(values, shape), device);
        Self {
            cos: table(cos),
            sin: table(sin),
        }
    }

    /// The tables for positions `0..seq_len`, shared by every row.
    pub fn from_start(seq_len: usize, head_dim: usize, theta: f64, device: &Device) -> Self {
        let positions: Vec<usize> = (0..seq_len).collect();
        Self::new(&positions, 1, head_dim, theta, device)
    }

    /// `x` with every position's heads rotated.
    ///
    /// # Shapes
    ///
    /// - x: `[batch, heads, seq_len, head_dim]`
    /// - output: the same
    pub fn rotate(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, heads, seq_len, head_dim] = x.dims();
        let half = head_dim / 2;
        let first = x.clone().slice([0..batch, 0..heads, 0..seq_len, 0..half]);
        let second = x.slice([0..batch, 0..heads, 0..seq_len, half..head_dim]);
        let (cos, sin) = (self.cos.clone(), self.sin.clone());
        Tensor::cat(
            vec![
                first.clone() * cos.clone() - second.clone() * sin.clone(),
                second * cos + first * sin,
            ],
            3,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// A rotation keeps every half-pair's length, and position 0 is not rotated.
    #[test]
    fn rotations_keep_lengths_and_start_at_zero() {
        let device = Device::flex();
        let tables = RotaryTables::from_start(5, 8, 10_000.0, &device);
        let x = Tensor::<4>::random([2, 3, 5, 8], Distribution::Normal(0.0, 1.0), &device);
        let rotated = tables.rotate(x.clone());
        let pair_lengths = |t: Tensor<4>| {
            let first = t.clone().slice([0..2, 0..3, 0..5, 0..4]);
            let second = t.slice([0..2, 0..3, 0..5, 4..8]);
            (first.powi_scalar(2) + second.powi_scalar(2)).into_data()
        };
        pair_lengths(rotated.clone())
            .assert_approx_eq::<f32>(&pair_lengths(x.clone()), Default::default());
        rotated
            .slice([0..2, 0..3, 0..1, 0..8])
            .into_data()
            .assert_approx_eq::<f32>(
                &x.slice([0..2, 0..3, 0..1, 0..8]).into_data(),
                Default::default(),
            );
    }

    /// Feature 0 and feature `d/2` of position 1 turn by exactly one radian at frequency 1.
    #[test]
    fn the_first_pair_turns_by_the_position() {
        let device = Device::flex();
        let tables = RotaryTables::from_start(2, 4, 10_000.0, &device);
        let x = Tensor::<4>::from_data(
            TensorData::new(
                vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                [1, 1, 2, 4],
            ),
            &device,
        );
        let rotated: Vec<f32> = tables.rotate(x).into_data().try_to_vec::<f32>().unwrap();
        assert!((rotated[4] - 1f32.cos()).abs() < 1e-6, "{rotated:?}");
        assert!((rotated[6] - 1f32.sin()).abs() < 1e-6, "{rotated:?}");
    }
}
