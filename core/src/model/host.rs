//! What the host kernels share: which tensors they may compute on, how they split work, how
//! they reach the CPU's widest vector instructions, and a vectorisable exponential.
//!
//! With the `cpu-kernels` feature, a few operations whose burn-flex kernels are slow (GELU in
//! `gelu.rs`, the masked softmax of attention in `masked_softmax.rs`, the whole attention of
//! narrow heads in `attend.rs`, the matrix products of linear layers and attention in
//! `host_products.rs`, the rotary embedding in `rope.rs`) are computed on the tensors' host
//! buffers. Tensors on the plain flex device qualify: those convert to and from host data
//! without a copy and record no autodiff graph. Under autodiff on the flex device, GELU and the masked softmax run their
//! host kernels through burn's backend extensions, which join them to the graph with a
//! backward pass of their own (`gelu_autodiff.rs`, `masked_softmax_autodiff.rs`).

use burn::backend::flex::FlexTensor;
use burn::tensor::{Device, TensorData};

/// Whether `device` is the flex CPU device without autodiff.
pub fn is_plain_flex(device: &Device) -> bool {
    !device.is_autodiff() && *device == Device::flex()
}

/// Whether `device` is the flex CPU device with autodiff.
pub fn is_flex_autodiff(device: &Device) -> bool {
    device.is_autodiff() && *device == Device::flex()
}

/// The tensor itself when its f32 values lie in order at the start of its buffer, else a
/// copy that does.
pub fn contiguous(tensor: FlexTensor) -> FlexTensor {
    if tensor.as_slice::<f32>().is_some() {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

/// The values of host data the kernel's caller checked to be f32.
pub fn f32s(data: &TensorData) -> &[f32] {
    data.as_slice::<f32>()
        .expect("the caller checked the data is f32")
}

/// Values per parallel task: large enough that a task outweighs its scheduling.
pub const CHUNK: usize = 1 << 14;

/// A loop over host memory, to be compiled for several instruction sets. Implementations
/// mark [`Kernel::run`] `#[inline(always)]`, so that its body is compiled anew inside each
/// of [`Simd::run`]'s variants (a closure's body would stay compiled for the baseline).
pub trait Kernel {
    /// Does the work.
    fn run(self);
}

/// The instruction sets a [`Kernel`] is compiled for. The kernels run in the widest one this
/// CPU has ([`Simd::widest`], chosen at run time), so that their loops vectorise beyond the
/// build's baseline; tests run them in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    /// AVX-512 (x86-64).
    Avx512,
    /// AVX2 (x86-64).
    Avx2,
    /// What the build targets.
    Baseline,
}

impl Simd {
    /// Every variant, widest first.
    pub const ALL: [Simd; 3] = [Simd::Avx512, Simd::Avx2, Simd::Baseline];

    /// Whether this CPU runs the variant.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Simd::Avx512 | Simd::Avx2 => false,
            Simd::Baseline => true,
        }
    }

    /// The widest variant this CPU runs.
    pub fn widest() -> Simd {
        Simd::ALL
            .into_iter()
            .find(|simd| simd.is_available())
            .unwrap_or(Simd::Baseline)
    }

    /// Runs `kernel` compiled for this variant.
    ///
    /// # Panics
    /// When the CPU lacks the variant.
    #[inline(always)]
    pub fn run(self, kernel: impl Kernel) {
        assert!(self.is_available(), "this CPU does not run {self:?}");
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512(kernel: impl Kernel) {
                kernel.run();
            }
            #[target_feature(enable = "avx2")]
            fn avx2(kernel: impl Kernel) {
                kernel.run();
            }
            match self {
                // SAFETY: the CPU has the feature the function is compiled for (asserted above).
                Simd::Avx512 => return unsafe { avx512(kernel) },
                // SAFETY: as above.
                Simd::Avx2 => return unsafe { avx2(kernel) },
                Simd::Baseline => {}
            }
        }
        kernel.run();
    }
}

/// Runs `task` on each of the consecutive `chunk_len`-long chunks of `values` (the last may be
/// shorter), given with its index: over rayon's threads, or in turn where there are none
/// (wasm).
pub fn for_each_chunk<T: Send>(
    values: &mut [T],
    chunk_len: usize,
    task: impl Fn(usize, &mut [T]) + Send + Sync,
) {
    let chunk_len = chunk_len.max(1);
    #[cfg(not(target_family = "wasm"))]
    {
        use rayon::prelude::*;
        values
            .par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(index, chunk)| task(index, chunk));
    }
    #[cfg(target_family = "wasm")]
    values
        .chunks_mut(chunk_len)
        .enumerate()
        .for_each(|(index, chunk)| task(index, chunk));
}

/// Runs `task` on consecutive blocks of whole `row_len`-long rows of `values`, given with the
/// index of the block's first row: about [`CHUNK`] values a block (at least one row), over
/// rayon's threads, or in turn where there are none (wasm).
pub fn for_each_row_block<T: Send>(
    values: &mut [T],
    row_len: usize,
    task: impl Fn(usize, &mut [T]) + Send + Sync,
) {
    let rows_per_block = (CHUNK / row_len.max(1)).max(1);
    for_each_chunk(values, rows_per_block * row_len, |index, rows| {
        task(index * rows_per_block, rows);
    });
}

/// e^x for x ≤ 0 to within 2e-7 relative, without branches, so that a loop of it vectorises:
/// x = n·ln 2 + g with n an integer and |g| ≤ ½ ln 2 (ln 2 split in two parts so that n·ln 2
/// loses no digits), e^g from its Taylor series to the seventh power, and 2^n written into the
/// exponent bits. Below −87 (where e^x < 2⁻¹²⁵) it returns about 2⁻¹²⁶ instead of a
/// subnormal: nothing next to the values it is summed with or subtracted from. NaN stays NaN.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    /// Adding 1.5·2²³ to an f32 of magnitude below 2²² rounds it to an integer, which the
    /// sum's low mantissa bits then hold in two's complement.
    const ROUND: f32 = 12_582_912.0;
    /// ln 2 to 16 bits, so that n · LN_2_HIGH is exact for |n| < 2⁸.
    const LN_2_HIGH: f32 = 0.693_145_75;
    /// The rest of ln 2.
    const LN_2_LOW: f32 = 1.428_606_8e-6;
    const TAYLOR: [f32; 8] = [
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    // Not `x.max(-87.0)`, which would turn a NaN into −87 and the NaN's e^x into a number.
    let x = if x < -87.0 { -87.0 } else { x };
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let g = (x - n * LN_2_HIGH) - n * LN_2_LOW;
    let series = TAYLOR.iter().fold(0.0, |acc, &c| acc * g + c);
    // n from the bits rather than `n as i32`, whose saturating conversion does not vectorise.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_to_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    series * two_to_n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exp to within 2e-7 relative from 0 down to −87, and nothing above 2⁻¹²⁵ below that.
    #[test]
    fn exponential_matches_libm() {
        let worst = (0..=870_000)
            .map(|i| -(i as f32) / 10_000.0)
            .map(|x| (f64::from(exp_nonpositive(x)) / f64::from(x).exp() - 1.0).abs())
            .fold(0.0f64, f64::max);
        assert!(worst <= 2e-7, "max relative error {worst:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1000.0) < 1e-37);
        assert!(exp_nonpositive(f32::NAN).is_nan());
    }

    /// Every variant this CPU runs computes the exponential the baseline does, and the
    /// widest is among them.
    #[test]
    fn every_variant_computes_what_the_baseline_does() {
        struct Exponentials<'a>(&'a mut [f32]);
        impl Kernel for Exponentials<'_> {
            #[inline(always)]
            fn run(self) {
                self.0.iter_mut().for_each(|x| *x = exp_nonpositive(*x));
            }
        }
        let inputs: Vec<f32> = (0..1000).map(|i| -(i as f32) / 100.0).collect();
        let mut baseline = inputs.clone();
        Exponentials(&mut baseline).run();
        let available: Vec<Simd> = Simd::ALL.into_iter().filter(|s| s.is_available()).collect();
        assert!(available.contains(&Simd::widest()) && available.contains(&Simd::Baseline));
        eprintln!("SIMD variants this CPU runs: {available:?}");
        for simd in available {
            let mut values = inputs.clone();
            simd.run(Exponentials(&mut values));
            for (a, b) in values.iter().zip(&baseline) {
                assert!((a - b).abs() <= 1e-6 * b.abs(), "{simd:?}: {a} against {b}");
            }
        }
    }
}
