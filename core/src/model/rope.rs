//! Rotary position embeddings in the rotate-half layout of Llama-family checkpoints: feature
//! `i` of a head's first half is rotated with feature `i` of its second half, by the angle
//! `position · θ^(−2i/d)`. (burn's `RotaryEncoding` rotates adjacent pairs instead, the
//! layout GGUF stores Llama's query and key weights in; see `hub::gguf_names`.) The small
//! backbone's attention reorders its projections' outputs so that these tables turn its pairs
//! (`attention.rs`).
//!
//! burn's ops rotate in seven passes over the features (four products with the tables, two
//! sums, a concatenation). With the `cpu-kernels` feature, on the plain flex device, the
//! rotation is one pass on the host instead, with the same numbers bit for bit; under autodiff
//! and elsewhere burn's ops run (docs/performance.md).

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
        #[cfg(feature = "cpu-kernels")]
        if crate::model::host::is_plain_flex(&x.device()) && x.dtype() == burn::tensor::DType::F32 {
            return cpu::rotate(crate::model::host::Simd::widest(), x, &self.cos, &self.sin);
        }
        self.with_burns_ops(x)
    }

    /// [`rotate`](Self::rotate) through burn's tensor ops.
    fn with_burns_ops(&self, x: Tensor<4>) -> Tensor<4> {
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

/// The rotation on the host.
#[cfg(feature = "cpu-kernels")]
mod cpu {
    use burn::tensor::Tensor;

    use crate::model::host::{Kernel, Simd, f32s, for_each_row_block};

    /// Rows of features (one per item, head and position), from row `first_row` on, rotated in
    /// place.
    struct RotateRows<'a> {
        rows: &'a mut [f32],
        first_row: usize,
        /// `[table rows, seq_len, half]`; one table row for every item, or one for all.
        cos: &'a [f32],
        sin: &'a [f32],
        table_rows: usize,
        heads: usize,
        seq_len: usize,
    }

    impl Kernel for RotateRows<'_> {
        #[inline(always)]
        fn run(self) {
            let half = self.cos.len() / (self.table_rows * self.seq_len);
            for (offset, row) in self.rows.chunks_exact_mut(2 * half).enumerate() {
                let index = self.first_row + offset;
                let item = index / (self.heads * self.seq_len);
                let table_row = if self.table_rows == 1 { 0 } else { item };
                let start = (table_row * self.seq_len + index % self.seq_len) * half;
                let (cos, sin) = (
                    &self.cos[start..start + half],
                    &self.sin[start..start + half],
                );
                let (first, second) = row.split_at_mut(half);
                for (((a, b), &c), &s) in first.iter_mut().zip(second).zip(cos).zip(sin) {
                    // As burn's ops compute it: `a·c − b·s` and `b·c + a·s`.
                    (*a, *b) = (*a * c - *b * s, *b * c + *a * s);
                }
            }
        }
    }

    /// `x` rotated by the tables, computed on its host buffer (a copy in order when `x` is a
    /// view).
    pub fn rotate(simd: Simd, x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let [batch, heads, seq_len, head_dim] = x.dims();
        let [table_rows, _, table_len, half] = cos.dims();
        assert!(
            (table_rows == 1 || table_rows == batch)
                && table_len == seq_len
                && 2 * half == head_dim,
            "tables {:?} do not match features {:?}",
            cos.dims(),
            x.dims()
        );
        let (cos, sin) = (cos.clone().into_data(), sin.clone().into_data());
        let (cos, sin) = (f32s(&cos), f32s(&sin));
        let mut data = x.into_data();
        let values = data
            .as_mut_slice::<f32>()
            .expect("the caller checked x is f32");
        for_each_row_block(values, head_dim, |first_row, rows| {
            simd.run(RotateRows {
                rows,
                first_row,
                cos,
                sin,
                table_rows,
                heads,
                seq_len,
            });
        });
        Tensor::from_data(data, &device)
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

    /// The host's rotation gives burn's ops' numbers bit for bit: on a view of another
    /// layout, and with one table row per item as with one for all.
    #[cfg(feature = "cpu-kernels")]
    #[test]
    fn the_hosts_rotation_is_burns() {
        use crate::model::host::Simd;
        let device = Device::flex();
        let [batch, heads, seq_len, head_dim] = [3, 2, 7, 8];
        let positions: Vec<usize> = (0..batch * seq_len).map(|i| (i * 5) % 11).collect();
        let x = Tensor::<4>::random(
            [batch, seq_len, heads, head_dim],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
        .swap_dims(1, 2);
        for tables in [
            RotaryTables::from_start(seq_len, head_dim, 10_000.0, &device),
            RotaryTables::new(&positions, batch, head_dim, 10_000.0, &device),
        ] {
            let burns = tables.with_burns_ops(x.clone()).into_data();
            for simd in Simd::ALL.into_iter().filter(|simd| simd.is_available()) {
                let ours = cpu::rotate(simd, x.clone(), &tables.cos, &tables.sin).into_data();
                assert_eq!(ours.shape(), burns.shape());
                let bits = |data: &TensorData| -> Vec<u32> {
                    data.iter::<f32>().map(f32::to_bits).collect()
                };
                assert_eq!(bits(&ours), bits(&burns), "{simd:?}");
            }
        }
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
