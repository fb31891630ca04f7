//! Attention's weighted mix of values: `softmax(scale · q·kᵀ, blocked keys given no weight) · v`.
//!
//! burn computes it as two batched matrix products around a `[batch, heads, queries, keys]`
//! tensor of weights. For the small backbone's heads of width 16, those products have too
//! little inner dimension to fill burn-flex's matrix kernels, and the layout copies between
//! the operations cost as much again (docs/performance.md). With the `cpu-kernels` feature, on
//! the plain flex device, each query's scores are computed, weighed and mixed here in one go
//! instead, on the host, keeping one row of weights at a time and skipping the keys after the
//! last one the query sees (half of them under a causal mask). Everywhere else, for head widths
//! the kernel is not built for and for fewer keys than it pays on, burn's ops run.

use burn::tensor::{Bool, Tensor};

use crate::model::masked_softmax::masked_softmax;
use crate::model::products::batched_matmul;

/// The mix of `value` by each query's attention weights over the keys.
///
/// # Shapes
///
/// - query: `[batch, heads, queries, width]`
/// - key, value: `[batch, heads, keys, width]`
/// - blocked: `[batch, queries, keys]`, `true` where a query may not attend to a key
/// - output: `[batch, heads, queries, width]`
pub fn attend(
    query: Tensor<4>,
    key: Tensor<4>,
    value: Tensor<4>,
    blocked: Tensor<3, Bool>,
    scale: f32,
) -> Tensor<4> {
    #[cfg(feature = "cpu-kernels")]
    if crate::model::masked_softmax::computes_on_host(&query)
        && cpu::WIDTHS.contains(&query.dims()[3])
        && key.dims()[2] >= cpu::MIN_KEYS
    {
        return cpu::attend_on(
            crate::model::host::Simd::widest(),
            query,
            key,
            value,
            blocked,
            scale,
        );
    }
    with_burns_ops(query, key, value, blocked, scale)
}

/// [`attend`] as two matrix products around the weights.
fn with_burns_ops(
    query: Tensor<4>,
    key: Tensor<4>,
    value: Tensor<4>,
    blocked: Tensor<3, Bool>,
    scale: f32,
) -> Tensor<4> {
    let scores = batched_matmul(query, key.swap_dims(2, 3));
    batched_matmul(masked_softmax(scores, blocked, scale), value)
}

#[cfg(feature = "cpu-kernels")]
mod cpu {
    use burn::tensor::{Bool, Tensor, TensorData};

    use crate::model::host::{Kernel, Simd, f32s, for_each_chunk};
    use crate::model::masked_softmax::{mask_values, softmax_row};

    /// Head widths the kernel is built for: narrow ones. At SmolLM2's 64 it made the decoder's
    /// forward pass 4–9% slower than burn's products (docs/performance.md).
    pub const WIDTHS: [usize; 2] = [8, 16];

    /// Keys from which the kernel runs: below, burn's products were faster, since the kernel
    /// copies queries, keys and values into its own layout first (docs/performance.md: the
    /// small encoder at 32×128 ran at 176k tokens/s through the kernel, 245k without).
    pub const MIN_KEYS: usize = 256;

    /// Multiply-adds per parallel task, about (a row takes 2 · keys · width): enough to
    /// outweigh its scheduling and its row of weights.
    const WORK_PER_TASK: usize = 1 << 18;

    /// Keys scored at once: four AVX-512 registers of f32 (eight of AVX2). Each register's
    /// sums grow by one addition per feature, so four give the additions of four independent
    /// chains to overlap instead of one waiting on the last.
    const KEY_BLOCK: usize = 64;

    /// Keys scored at once after the last whole [`KEY_BLOCK`]: one AVX-512 register.
    const NARROW_KEY_BLOCK: usize = 16;

    /// The sizes of one attention.
    #[derive(Clone, Copy)]
    struct Sizes {
        heads: usize,
        queries: usize,
        keys: usize,
    }

    /// What every task reads, for heads `W` wide.
    struct Inputs<'a> {
        /// `[batch, heads, queries, W]`.
        query: &'a [f32],
        /// `[batch, heads, W, keys]`: each head's keys transposed, so that a block of keys'
        /// scores grows by one multiply-add per feature.
        key_t: &'a [f32],
        /// `[batch, heads, keys, W]`.
        value: &'a [f32],
        /// `[batch, queries, keys]`.
        mask: &'a [bool],
        sizes: Sizes,
        /// What the scores are multiplied by before the softmax.
        scale: f32,
    }

    /// Consecutive output rows (one per (item, head, query)) of heads `W` wide, from row
    /// `first_row` on.
    struct MixRows<'a, const W: usize> {
        output: &'a mut [f32],
        first_row: usize,
        inputs: &'a Inputs<'a>,
    }

    impl<const W: usize> Kernel for MixRows<'_, W> {
        #[inline(always)]
        fn run(self) {
            let inputs = self.inputs;
            let Sizes {
                heads,
                queries,
                keys,
            } = inputs.sizes;
            let mut weights = vec![0.0f32; keys];
            for (offset, out) in self.output.chunks_exact_mut(W).enumerate() {
                let row = self.first_row + offset;
                let (item_head, query) = (row / queries, row % queries);
                let item = item_head / heads;
                let q: &[f32; W] = inputs.query[row * W..(row + 1) * W]
                    .try_into()
                    .expect("a query row is W wide");
                let mask_start = (item * queries + query) * keys;
                let mask = &inputs.mask[mask_start..mask_start + keys];
                // Keys after the last one the query sees take no part (a causal mask's half);
                // a query that sees none weighs every key equally, as the softmax has it.
                let seen = keys_seen(mask);
                let weights = &mut weights[..seen];
                let key_t = &inputs.key_t[item_head * W * keys..(item_head + 1) * W * keys];
                scores::<W>(q, key_t, keys, weights);
                softmax_row(weights, &mask[..seen], inputs.scale);
                let value = &inputs.value[item_head * keys * W..][..seen * W];
                let out: &mut [f32; W] = out.try_into().expect("an output row is W wide");
                *out = mix::<W>(weights, value);
            }
        }
    }

    /// Keys up to the last one `blocked` leaves open (a causal row's first `query + 1`), or all
    /// of them when it blocks every one. The keys past it are passed over a chunk at a time: a
    /// chunk's test has no early exit, so it vectorises, where a scan key by key would take about
    /// as long as the row's scores on a causal mask.
    #[inline(always)]
    pub(super) fn keys_seen(blocked: &[bool]) -> usize {
        const CHUNK: usize = 32;
        let last_open = |keys: &[bool]| keys.iter().rposition(|&off| !off);
        let chunks = blocked.chunks_exact(CHUNK);
        let whole = blocked.len() - chunks.remainder().len();
        if let Some(last) = last_open(chunks.remainder()) {
            return whole + last + 1;
        }
        for (index, chunk) in chunks.enumerate().rev() {
            if chunk.iter().fold(false, |open, &off| open | !off) {
                let last = last_open(chunk).expect("the chunk's test found an open key");
                return index * CHUNK + last + 1;
            }
        }
        blocked.len()
    }

    /// `q · k` for the first `scores.len()` keys, from the keys transposed (`[W, keys]`), a
    /// block of keys at a time so that the block's scores stay in registers.
    #[inline(always)]
    fn scores<const W: usize>(q: &[f32; W], key_t: &[f32], keys: usize, scores: &mut [f32]) {
        let narrow = score_blocks::<W, KEY_BLOCK>(q, key_t, keys, scores, 0);
        let tail = score_blocks::<W, NARROW_KEY_BLOCK>(q, key_t, keys, scores, narrow);
        for key in tail..scores.len() {
            scores[key] = q
                .iter()
                .enumerate()
                .map(|(feature, &q)| q * key_t[feature * keys + key])
                .sum();
        }
    }

    /// Fills `scores` from key `from` on in whole blocks of `N` keys; returns where the last
    /// whole block ends.
    #[inline(always)]
    fn score_blocks<const W: usize, const N: usize>(
        q: &[f32; W],
        key_t: &[f32],
        keys: usize,
        scores: &mut [f32],
        from: usize,
    ) -> usize {
        let end = from + (scores.len() - from) / N * N;
        for start in (from..end).step_by(N) {
            let block: &mut [f32; N] = (&mut scores[start..start + N])
                .try_into()
                .expect("a whole block");
            score_block(q, key_t, keys, start, block);
        }
        end
    }

    /// `q · k` for the `N` keys from `start` on, one multiply-add per feature and key.
    #[inline(always)]
    fn score_block<const W: usize, const N: usize>(
        q: &[f32; W],
        key_t: &[f32],
        keys: usize,
        start: usize,
        block: &mut [f32; N],
    ) {
        let mut sums = [0.0f32; N];
        for (feature, &q) in q.iter().enumerate() {
            let k: &[f32; N] = key_t[feature * keys + start..][..N]
                .try_into()
                .expect("a whole block");
            for (sum, &k) in sums.iter_mut().zip(k) {
                *sum += q * k;
            }
        }
        *block = sums;
    }

    /// `Σ weight · value` over the keys (`value` is `[keys, W]`), in four interleaved sums so
    /// that consecutive multiply-adds do not wait on each other. The four are named, not
    /// indexed by a loop's counter, so that they stay in registers.
    #[inline(always)]
    fn mix<const W: usize>(weights: &[f32], value: &[f32]) -> [f32; W] {
        let mut sums = [[0.0f32; W]; 4];
        let mut rows = value.chunks_exact(4 * W);
        let mut quads = weights.chunks_exact(4);
        for (quad, rows) in (&mut quads).zip(&mut rows) {
            let [s0, s1, s2, s3] = &mut sums;
            add_scaled(s0, quad[0], &rows[..W]);
            add_scaled(s1, quad[1], &rows[W..2 * W]);
            add_scaled(s2, quad[2], &rows[2 * W..3 * W]);
            add_scaled(s3, quad[3], &rows[3 * W..]);
        }
        for (&weight, row) in quads
            .remainder()
            .iter()
            .zip(rows.remainder().chunks_exact(W))
        {
            add_scaled(&mut sums[0], weight, row);
        }
        let mut total = [0.0f32; W];
        for (index, total) in total.iter_mut().enumerate() {
            *total = (sums[0][index] + sums[1][index]) + (sums[2][index] + sums[3][index]);
        }
        total
    }

    /// `sum += weight · row`, for a row `W` long.
    #[inline(always)]
    fn add_scaled<const W: usize>(sum: &mut [f32; W], weight: f32, row: &[f32]) {
        let row: &[f32; W] = row.try_into().expect("a row is W wide");
        for (sum, &v) in sum.iter_mut().zip(row) {
            *sum += weight * v;
        }
    }

    /// Fills `output` (`[batch, heads, queries, W]`) from `inputs`, in parallel tasks of rows.
    fn mix_rows<const W: usize>(simd: Simd, output: &mut [f32], inputs: &Inputs) {
        let rows_per_task = (WORK_PER_TASK / (inputs.sizes.keys * W).max(1)).max(1);
        for_each_chunk(output, rows_per_task * W, |index, rows| {
            simd.run(MixRows::<W> {
                output: rows,
                first_row: index * rows_per_task,
                inputs,
            });
        });
    }

    /// [`super::attend`] on the host, with the kernel compiled for `simd`.
    pub fn attend_on(
        simd: Simd,
        query: Tensor<4>,
        key: Tensor<4>,
        value: Tensor<4>,
        blocked: Tensor<3, Bool>,
        scale: f32,
    ) -> Tensor<4> {
        let device = query.device();
        let [batch, heads, queries, width] = query.dims();
        let keys = key.dims()[2];
        let sizes = Sizes {
            heads,
            queries,
            keys,
        };
        let query = query.into_data();
        let key_t = key.swap_dims(2, 3).into_data();
        let value = value.into_data();
        let mask = blocked.into_data();
        let mask = mask_values(&mask);
        let (query, key_t, value) = (f32s(&query), f32s(&key_t), f32s(&value));
        let mut output = vec![0.0f32; batch * heads * queries * width];
        let inputs = Inputs {
            query,
            key_t,
            value,
            mask: &mask,
            sizes,
            scale,
        };
        match width {
            8 => mix_rows::<8>(simd, &mut output, &inputs),
            16 => mix_rows::<16>(simd, &mut output, &inputs),
            _ => unreachable!("the caller checked the width is one the kernel is built for"),
        }
        Tensor::from_data(
            TensorData::new(output, [batch, heads, queries, width]),
            &device,
        )
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, TensorData, Tolerance};

    use super::*;

    /// A `[batch, queries, keys]` mask where each query sees the keys up to the one after it
    /// but key 3 (from query 5 on), and in the second item query 2 sees none.
    fn blocked(batch: usize, queries: usize, keys: usize, device: &Device) -> Tensor<3, Bool> {
        let values = (0..batch * queries * keys)
            .map(|i| {
                let (query, key) = ((i / keys) % queries, i % keys);
                key > query + 1
                    || (query >= 5 && key == 3)
                    || (i / (queries * keys) == 1 && query == 2)
            })
            .collect();
        Tensor::from_data(TensorData::new(values, [batch, queries, keys]), device)
    }

    /// The host kernel, compiled for every instruction set this CPU runs, mixes what burn's
    /// matrix products do, at both head widths, on keys that do not fill whole blocks, below and
    /// above the count from which `attend` runs it, fully blocked rows included; through
    /// autodiff burn's ops run.
    #[test]
    fn mixes_what_burns_ops_do() {
        let [batch, heads, queries] = [2, 4, 40];
        let devices = [Device::flex(), Device::flex().autodiff()];
        let cases = devices.into_iter().flat_map(|device| {
            [(8, 37), (16, 37), (8, 301), (16, 301)]
                .map(move |(width, keys)| (device.clone(), width, keys))
        });
        for (device, width, keys) in cases {
            let random = |rows| {
                Tensor::<4>::random(
                    [batch, heads, rows, width],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )
            };
            let (query, key, value) = (random(queries), random(keys), random(keys));
            let mask = blocked(batch, queries, keys, &device);
            let expected = with_burns_ops(
                query.clone(),
                key.clone(),
                value.clone(),
                mask.clone(),
                0.25,
            )
            .into_data();
            let ours = attend(
                query.clone(),
                key.clone(),
                value.clone(),
                mask.clone(),
                0.25,
            );
            ours.into_data()
                .assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-5));
            #[cfg(feature = "cpu-kernels")]
            if !device.is_autodiff() {
                use crate::model::host::Simd;
                for simd in Simd::ALL.into_iter().filter(|simd| simd.is_available()) {
                    let mixed = cpu::attend_on(
                        simd,
                        query.clone(),
                        key.clone(),
                        value.clone(),
                        mask.clone(),
                        0.25,
                    );
                    mixed
                        .into_data()
                        .assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-5));
                }
            }
        }
    }

    /// The keys a row sees, passed over a chunk at a time, are those up to the last open one
    /// found key by key: wherever it lies (in a whole chunk, in the rest after them, at a
    /// chunk's edge), and when none is open.
    #[cfg(feature = "cpu-kernels")]
    #[test]
    fn keys_seen_ends_at_the_last_open_key() {
        let key_by_key = |row: &[bool]| {
            row.iter()
                .rposition(|&off| !off)
                .map_or(row.len(), |last| last + 1)
        };
        for keys in [0, 1, 31, 32, 33, 64, 95, 301] {
            let mut rows = vec![vec![true; keys], vec![false; keys]];
            for open in 0..keys {
                let mut row = vec![true; keys];
                row[open] = false;
                rows.push(row.clone());
                row.iter_mut().take(open).for_each(|off| *off = false);
                rows.push(row);
            }
            for row in rows {
                assert_eq!(
                    cpu::keys_seen(&row),
                    key_by_key(&row),
                    "{keys} keys: {row:?}"
                );
            }
        }
    }
}
