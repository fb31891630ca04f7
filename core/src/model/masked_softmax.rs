//! Attention weights: a softmax over each query's keys in which blocked keys get no weight.
//!
//! burn's softmax after a mask fill spends most of a small model's forward pass in libm's
//! `expf`, half of it on the slow path for the masked scores' underflow, and burn-flex's fused
//! attention runs its scale, mask and softmax in a scalar loop (docs/performance.md). With the
//! `cpu-kernels` feature, scores on the flex device are turned into weights here instead: in
//! place, blocked keys skipped, with a branch-free exponential the compiler vectorises, rows
//! spread over rayon's threads; under autodiff the gradient through them is computed on the
//! host too (`masked_softmax_autodiff.rs`). Everywhere else burn's ops run.

use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Tensor};

/// Score given to blocked (query, key) pairs before burn's softmax: far below any real score,
/// yet finite, so that a row with every key blocked turns uniform rather than NaN.
const BLOCKED_SCORE: f32 = -1.0e4;

/// `softmax(scale · scores)` over the last axis, with blocked pairs given no weight. A query
/// whose keys are all blocked weighs every key equally.
///
/// # Shapes
///
/// - scores: `[batch, heads, queries, keys]`
/// - blocked: `[batch, queries, keys]`, `true` where a query may not attend to a key
/// - output: `[batch, heads, queries, keys]`
pub fn masked_softmax(scores: Tensor<4>, blocked: Tensor<3, Bool>, scale: f32) -> Tensor<4> {
    #[cfg(feature = "cpu-kernels")]
    if computes_on_host(&scores) {
        return cpu::masked_softmax(scores, blocked, scale);
    }
    #[cfg(feature = "cpu-kernels")]
    if runs_host_kernel(&scores) {
        return crate::model::masked_softmax_autodiff::masked_softmax(scores, blocked, scale);
    }
    let [batch, heads, queries, keys] = scores.dims();
    let blocked = blocked
        .unsqueeze_dim::<4>(1)
        .expand([batch, heads, queries, keys]);
    softmax((scores * scale).mask_fill(blocked, BLOCKED_SCORE), 3)
}

/// Whether [`masked_softmax`] of `scores` runs this module's host kernel on the plain flex
/// device, where no autodiff graph is recorded, rather than burn's ops.
#[cfg(feature = "cpu-kernels")]
pub fn computes_on_host(scores: &Tensor<4>) -> bool {
    crate::model::host::is_plain_flex(&scores.device())
        && scores.dtype() == burn::tensor::DType::F32
}

/// Whether [`masked_softmax`] of `scores` runs the host kernel, with or without autodiff (its
/// backward then too), rather than burn's ops.
pub fn runs_host_kernel(scores: &Tensor<4>) -> bool {
    #[cfg(feature = "cpu-kernels")]
    return scores.device() == burn::tensor::Device::flex()
        && scores.dtype() == burn::tensor::DType::F32;
    #[cfg(not(feature = "cpu-kernels"))]
    {
        let _ = scores;
        false
    }
}

#[cfg(feature = "cpu-kernels")]
pub(crate) use cpu::{mask_values, softmax_backward_in_place, softmax_in_place, softmax_row};

#[cfg(feature = "cpu-kernels")]
mod cpu {
    use std::borrow::Cow;

    use burn::tensor::{Bool, Tensor, TensorData};

    use crate::model::host::{Kernel, Simd, exp_nonpositive, for_each_row_block};

    /// The weights of one row of scores, in place.
    #[inline(always)]
    pub(crate) fn softmax_row(row: &mut [f32], blocked: &[bool], scale: f32) {
        let largest = largest_unblocked(row, blocked);
        if largest == f32::NEG_INFINITY {
            row.fill(1.0 / row.len() as f32);
            return;
        }
        for (score, &off) in row.iter_mut().zip(blocked) {
            let weight = exp_nonpositive((*score - largest) * scale);
            *score = if off { 0.0 } else { weight };
        }
        let total = lane_sum(row);
        let inverse = 1.0 / total;
        row.iter_mut().for_each(|weight| *weight *= inverse);
    }

    /// The gradient reaching one row of scores, in place of the gradient `grad` reaching its
    /// weights: `scale · w · (grad − Σ grad · w)`, and none for a blocked key.
    #[inline(always)]
    pub(crate) fn softmax_backward_row(
        grad: &mut [f32],
        weights: &[f32],
        blocked: &[bool],
        scale: f32,
    ) {
        let through_weights = lane_dot(grad, weights);
        for ((g, &weight), &off) in grad.iter_mut().zip(weights).zip(blocked) {
            *g = if off {
                0.0
            } else {
                scale * weight * (*g - through_weights)
            };
        }
    }

    /// The largest score of a key not blocked (−∞ when all are), in sixteen interleaved lanes
    /// so that it vectorises: a fold with `f32::max`, whose rule for NaN needs a comparison of
    /// its own, stays one scalar at a time. NaN scores are passed over, as `f32::max` does.
    #[inline(always)]
    pub(super) fn largest_unblocked(row: &[f32], blocked: &[bool]) -> f32 {
        const LANES: usize = 16;
        let larger = |largest: f32, (&score, &off): (&f32, &bool)| {
            if !off && score > largest {
                score
            } else {
                largest
            }
        };
        let mut lanes = [f32::NEG_INFINITY; LANES];
        let (mut rows, mut masks) = (row.chunks_exact(LANES), blocked.chunks_exact(LANES));
        for (scores, offs) in (&mut rows).zip(&mut masks) {
            for (lane, pair) in lanes.iter_mut().zip(scores.iter().zip(offs)) {
                *lane = larger(*lane, pair);
            }
        }
        let rest = (rows.remainder().iter())
            .zip(masks.remainder())
            .fold(f32::NEG_INFINITY, larger);
        lanes.into_iter().fold(rest, f32::max)
    }

    /// A sum in eight interleaved lanes, so that it vectorises.
    #[inline(always)]
    fn lane_sum(values: &[f32]) -> f32 {
        let mut lanes = [0.0f32; 8];
        let mut chunks = values.chunks_exact(8);
        for chunk in &mut chunks {
            lanes
                .iter_mut()
                .zip(chunk)
                .for_each(|(lane, &v)| *lane += v);
        }
        lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
    }

    /// `Σ a · b` in eight interleaved lanes, so that it vectorises.
    #[inline(always)]
    fn lane_dot(a: &[f32], b: &[f32]) -> f32 {
        let mut lanes = [0.0f32; 8];
        let (mut a_chunks, mut b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
        for (a, b) in (&mut a_chunks).zip(&mut b_chunks) {
            for ((lane, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
                *lane += a * b;
            }
        }
        let rest: f32 = (a_chunks.remainder().iter())
            .zip(b_chunks.remainder())
            .map(|(&a, &b)| a * b)
            .sum();
        lanes.iter().sum::<f32>() + rest
    }

    /// A `[batch, queries, keys]` mask read row by row of `[batch, heads, queries, keys]`
    /// scores.
    #[derive(Clone, Copy)]
    struct RowMasks<'a> {
        mask: &'a [bool],
        heads: usize,
        queries: usize,
        keys: usize,
    }

    impl<'a> RowMasks<'a> {
        fn new(mask: &'a [bool], [heads, queries, keys]: [usize; 3]) -> Self {
            Self {
                mask,
                heads,
                queries,
                keys,
            }
        }

        /// The mask of row `index`, counting rows by item, then head, then query.
        #[inline(always)]
        fn row(&self, index: usize) -> &'a [bool] {
            let batch = index / (self.heads * self.queries);
            let query = index % self.queries;
            let start = (batch * self.queries + query) * self.keys;
            &self.mask[start..start + self.keys]
        }
    }

    /// Consecutive rows of scores, from row `first_row` on, turned into weights.
    struct SoftmaxRows<'a> {
        rows: &'a mut [f32],
        first_row: usize,
        masks: RowMasks<'a>,
        scale: f32,
    }

    impl Kernel for SoftmaxRows<'_> {
        #[inline(always)]
        fn run(self) {
            let rows = self.rows.chunks_exact_mut(self.masks.keys);
            for (offset, row) in rows.enumerate() {
                let blocked = self.masks.row(self.first_row + offset);
                softmax_row(row, blocked, self.scale);
            }
        }
    }

    /// Consecutive rows of the gradient reaching the weights, from row `first_row` on, turned
    /// into the gradient reaching their scores; `weights` holds the same rows.
    struct SoftmaxBackwardRows<'a> {
        grads: &'a mut [f32],
        weights: &'a [f32],
        first_row: usize,
        masks: RowMasks<'a>,
        scale: f32,
    }

    impl Kernel for SoftmaxBackwardRows<'_> {
        #[inline(always)]
        fn run(self) {
            let keys = self.masks.keys;
            let rows = self.grads.chunks_exact_mut(keys);
            for (offset, (grad, weights)) in rows.zip(self.weights.chunks_exact(keys)).enumerate() {
                let blocked = self.masks.row(self.first_row + offset);
                softmax_backward_row(grad, weights, blocked, self.scale);
            }
        }
    }

    /// The mask's values as booleans, borrowed when the backend stores them so.
    pub(crate) fn mask_values(data: &TensorData) -> Cow<'_, [bool]> {
        match data.as_slice::<bool>() {
            Ok(values) => Cow::Borrowed(values),
            Err(_) => Cow::Owned(data.iter::<bool>().collect()),
        }
    }

    /// The weights computed on the f32 scores' host buffer.
    pub fn masked_softmax(scores: Tensor<4>, blocked: Tensor<3, Bool>, scale: f32) -> Tensor<4> {
        masked_softmax_on(Simd::widest(), scores, blocked, scale)
    }

    /// [`masked_softmax`] with the kernel compiled for `simd`.
    pub fn masked_softmax_on(
        simd: Simd,
        scores: Tensor<4>,
        blocked: Tensor<3, Bool>,
        scale: f32,
    ) -> Tensor<4> {
        let device = scores.device();
        let [_, heads, queries, keys] = scores.dims();
        let mask = blocked.into_data();
        let mut data = scores.into_data();
        let values = data
            .as_mut_slice::<f32>()
            .expect("the caller checked the scores are f32");
        softmax_in_place(
            simd,
            values,
            &mask_values(&mask),
            [heads, queries, keys],
            scale,
        );
        Tensor::from_data(data, &device)
    }

    /// Turns `[batch, heads, queries, keys]` scores into weights in place, given the
    /// `[batch, queries, keys]` mask, rows spread over rayon's threads.
    pub(crate) fn softmax_in_place(
        simd: Simd,
        values: &mut [f32],
        mask: &[bool],
        [heads, queries, keys]: [usize; 3],
        scale: f32,
    ) {
        let masks = RowMasks::new(mask, [heads, queries, keys]);
        for_each_row_block(values, keys, |first_row, rows| {
            simd.run(SoftmaxRows {
                rows,
                first_row,
                masks,
                scale,
            });
        });
    }

    /// Turns the gradient reaching `[batch, heads, queries, keys]` weights into the gradient
    /// reaching the scores they came from, in place, given the weights and the
    /// `[batch, queries, keys]` mask, rows spread over rayon's threads.
    pub(crate) fn softmax_backward_in_place(
        simd: Simd,
        grads: &mut [f32],
        weights: &[f32],
        mask: &[bool],
        [heads, queries, keys]: [usize; 3],
        scale: f32,
    ) {
        let masks = RowMasks::new(mask, [heads, queries, keys]);
        for_each_row_block(grads, keys, |first_row, grads| {
            simd.run(SoftmaxBackwardRows {
                weights: &weights[first_row * keys..][..grads.len()],
                grads,
                first_row,
                masks,
                scale,
            });
        });
    }
}

#[cfg(all(test, feature = "cpu-kernels"))]
mod tests {
    use burn::tensor::{Device, Distribution, TensorData};

    use super::*;
    use crate::model::host::Simd;
    use crate::rng::SeededRng;

    /// Blocked pairs of a `[batch, queries, keys]` mask: each query sees the keys up to the one
    /// after it, and in the second item query 5 sees none.
    fn blocked(batch: usize, queries: usize, keys: usize) -> Vec<bool> {
        (0..batch * queries * keys)
            .map(|i| {
                let (query, key) = ((i / keys) % queries, i % keys);
                key > query + 1 || (i / (queries * keys) == 1 && query == 5)
            })
            .collect()
    }

    /// The same weights as burn's softmax after a mask fill, on the plain device (the kernel
    /// compiled for every instruction set this CPU runs) and through autodiff; rows with every
    /// key blocked included, and more rows than one of the kernel's parallel tasks takes.
    #[test]
    fn matches_burns_softmax() {
        let [batch, heads, queries, keys] = [3, 12, 50, 21];
        assert!(
            batch * heads * queries > 2 * CHUNK_ROWS,
            "rows span several tasks"
        );
        let blocked = blocked(batch, queries, keys);
        for device in [Device::flex(), Device::flex().autodiff()] {
            let scores = Tensor::<4>::random(
                [batch, heads, queries, keys],
                Distribution::Normal(0.0, 8.0),
                &device,
            );
            assert_eq!(computes_on_host(&scores), !device.is_autodiff());
            assert!(runs_host_kernel(&scores));
            let mask = Tensor::<3, Bool>::from_data(
                TensorData::new(blocked.clone(), [batch, queries, keys]),
                &device,
            );
            let ours = masked_softmax(scores.clone(), mask.clone(), 0.25).into_data();
            let variants: Vec<_> = Simd::ALL
                .into_iter()
                .filter(|simd| simd.is_available() && !device.is_autodiff())
                .map(|simd| {
                    let weights = cpu::masked_softmax_on(simd, scores.clone(), mask.clone(), 0.25);
                    (simd, weights.into_data())
                })
                .collect();
            let mask = mask
                .unsqueeze_dim::<4>(1)
                .expand([batch, heads, queries, keys]);
            let burns = softmax((scores * 0.25).mask_fill(mask, -1.0e4), 3).into_data();
            ours.assert_approx_eq::<f32>(&burns, burn::tensor::Tolerance::absolute(1e-6));
            for (_, weights) in variants {
                weights.assert_approx_eq::<f32>(&burns, burn::tensor::Tolerance::absolute(1e-6));
            }
        }
    }

    /// Rows of 21 keys one task of the kernel takes.
    const CHUNK_ROWS: usize = crate::model::host::CHUNK / 21;

    /// A NaN score makes its row's weights NaN, as burn's softmax does, and no other row's.
    #[test]
    fn a_nan_score_stays_nan() {
        let [batch, heads, queries, keys] = [2, 2, 7, 21];
        let device = Device::flex();
        let mut values = vec![0.5f32; batch * heads * queries * keys];
        // Row 3 (item 0, head 0, query 3), key 2: a key that query sees.
        values[3 * keys + 2] = f32::NAN;
        let scores = Tensor::<4>::from_data(
            TensorData::new(values, [batch, heads, queries, keys]),
            &device,
        );
        let mask = Tensor::<3, Bool>::from_data(
            TensorData::new(blocked(batch, queries, keys), [batch, queries, keys]),
            &device,
        );
        let weights = masked_softmax(scores, mask, 1.0)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        for (row, weights) in weights.chunks(keys).enumerate() {
            if row == 3 {
                assert!(weights.iter().all(|w| w.is_nan()), "{weights:?}");
            } else {
                assert!(
                    weights.iter().all(|w| w.is_finite()),
                    "row {row}: {weights:?}"
                );
            }
        }
    }

    /// Rows shorter and longer than the lanes, with and without a remainder after them,
    /// none to all of their keys blocked: the lanes find what a plain fold finds.
    #[test]
    fn largest_unblocked_matches_a_plain_fold() {
        let mut rng = SeededRng::new(5);
        for length in 0..50 {
            for blocked_share in [0.0, 0.5, 0.9, 1.0] {
                let scores: Vec<f32> = (0..length).map(|_| rng.normal(0.0, 10.0) as f32).collect();
                let blocked: Vec<bool> = (0..length).map(|_| rng.chance(blocked_share)).collect();
                let expected = (scores.iter().zip(&blocked))
                    .filter(|&(_, &off)| !off)
                    .fold(f32::NEG_INFINITY, |largest, (&score, _)| largest.max(score));
                assert_eq!(
                    cpu::largest_unblocked(&scores, &blocked),
                    expected,
                    "{length} keys, {blocked_share} of them blocked"
                );
            }
        }
    }
}
