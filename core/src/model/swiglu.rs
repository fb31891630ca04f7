//! The gated unit of a Llama-family MLP: `silu(gate) · up`, with `silu(x) = x · σ(x)`.
//!
//! burn-flex computes the sigmoid one element at a time through libm's `expf` and multiplies
//! in a pass of its own: about a tenth of SmolLM2's forward pass on the CPU
//! (docs/performance.md). With the `cpu-kernels` feature, on the plain flex device (no
//! autodiff), both are computed here in one pass over the gate's own buffer, with an
//! exponential the compiler vectorises, spread over rayon's threads. Everywhere else burn's
//! own ops run.

use burn::tensor::Tensor;
use burn::tensor::activation::silu;

/// `silu(gate) · up`, element by element; `gate` and `up` have one shape.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "cpu-kernels")]
    if crate::model::host::is_plain_flex(&gate.device()) && gate.dims() == up.dims() {
        return cpu::swiglu_on(crate::model::host::Simd::widest(), gate, up);
    }
    silu(gate) * up
}

#[cfg(feature = "cpu-kernels")]
mod cpu {
    use burn::tensor::Tensor;
    use burn::tensor::activation::silu;

    use crate::model::host::{CHUNK, Kernel, Simd, exp_nonpositive, for_each_chunk};

    /// `x · σ(x)`, with σ(x) = 1 / (1 + e^−x) for x ≥ 0 and e^x / (1 + e^x) below, so that the
    /// exponential's argument is never positive. A NaN stays NaN.
    #[inline(always)]
    pub(super) fn silu_f32(x: f32) -> f32 {
        let e = exp_nonpositive(-x.abs());
        let reciprocal = 1.0 / (1.0 + e);
        let sigmoid = if x >= 0.0 { reciprocal } else { e * reciprocal };
        x * sigmoid
    }

    /// `gate[i] ← silu(gate[i]) · up[i]`.
    struct SwigluInPlace<'a> {
        gate: &'a mut [f32],
        up: &'a [f32],
    }

    impl Kernel for SwigluInPlace<'_> {
        #[inline(always)]
        fn run(self) {
            // A `for` loop rather than `for_each`: the latter's `fold` over a zip is not
            // always inlined, and then runs compiled for the baseline, not for `Simd`'s variant.
            for (gate, &up) in self.gate.iter_mut().zip(self.up) {
                *gate = silu_f32(*gate) * up;
            }
        }
    }

    /// [`super::swiglu`] computed on the gate's host buffer with the kernel compiled for
    /// `simd`.
    pub fn swiglu_on<const D: usize>(simd: Simd, gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
        let device = gate.device();
        let mut gates = gate.into_data();
        let ups = up.into_data();
        match (gates.as_mut_slice::<f32>(), ups.as_slice::<f32>()) {
            (Ok(gate), Ok(up)) => {
                for_each_chunk(gate, CHUNK, |index, chunk| {
                    let up = &up[index * CHUNK..][..chunk.len()];
                    simd.run(SwigluInPlace { gate: chunk, up });
                });
                Tensor::from_data(gates, &device)
            }
            // Another float type: burn's ops.
            _ => silu(Tensor::from_data(gates, &device)) * Tensor::from_data(ups, &device),
        }
    }
}

#[cfg(all(test, feature = "cpu-kernels"))]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData, Tolerance};

    use super::*;
    use crate::model::host::Simd;

    fn tensor(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
    }

    /// The kernel gives burn's `silu(gate) · up`, on the device where it computes itself
    /// (compiled for every instruction set this CPU runs) and through autodiff, where burn's
    /// ops run, over more than one chunk; a NaN stays NaN.
    #[test]
    fn swiglu_matches_burns_ops() {
        let count = 3 * 40_009;
        let gates: Vec<f32> = (0..count)
            .map(|i| (i as f32 - count as f32 / 2.0) / 3_000.0)
            .collect();
        let ups: Vec<f32> = (0..count)
            .map(|i| ((i % 97) as f32 - 48.0) / 16.0)
            .collect();
        let shape = [3, 40_009];
        let tolerance = Tolerance::rel_abs(1e-6, 1e-6);
        for device in [Device::flex(), Device::flex().autodiff()] {
            let (gate, up) = (tensor(&gates, shape, &device), tensor(&ups, shape, &device));
            let burns = (silu(gate.clone()) * up.clone()).into_data();
            swiglu(gate, up)
                .into_data()
                .assert_approx_eq::<f32>(&burns, tolerance);
        }
        let device = Device::flex();
        let (gate, up) = (tensor(&gates, shape, &device), tensor(&ups, shape, &device));
        let burns = (silu(gate.clone()) * up.clone()).into_data();
        for simd in Simd::ALL.into_iter().filter(|simd| simd.is_available()) {
            super::cpu::swiglu_on(simd, gate.clone(), up.clone())
                .into_data()
                .assert_approx_eq::<f32>(&burns, tolerance);
        }
        let nan = tensor(&[f32::NAN, -1.0], [1, 2], &device);
        let values = swiglu(nan, tensor(&[1.0, 1.0], [1, 2], &device))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        assert!(values[0].is_nan() && values[1].is_finite(), "{values:?}");
    }

    /// silu to within 1e-6 relative of its f64 value, from deep in the negative tail (where
    /// it vanishes) to where it is the identity, and below 1e-30 past that tail.
    #[test]
    fn silu_matches_its_definition() {
        let worst = (-87_000..=90_000)
            .map(|i| i as f32 / 1_000.0)
            .map(|x| {
                let want = f64::from(x) / (1.0 + (-f64::from(x)).exp());
                let error = (f64::from(super::cpu::silu_f32(x)) - want).abs();
                error / want.abs().max(1e-30)
            })
            .filter(|error| error.is_finite())
            .fold(0.0f64, f64::max);
        assert!(worst <= 1e-6, "max relative silu error {worst:e}");
        assert_eq!(super::cpu::silu_f32(0.0), 0.0);
        assert!(super::cpu::silu_f32(-1000.0).abs() < 1e-30);
    }
}
