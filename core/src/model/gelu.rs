//! GELU, `x · Φ(x)` with the exact normal CDF, as BERT was pretrained with.
//!
//! burn-flex evaluates it one element at a time with libm's `erff`, on one thread: after the
//! matrix products, the largest cost of a MiniLM forward pass on the CPU (docs/performance.md).
//! With the `cpu-kernels` feature, a tensor on the flex device is computed here instead, with a
//! closed-form approximation of erf (within 1e-6) that the compiler vectorises, spread over
//! rayon's threads: without autodiff in place on its own buffer, under autodiff with its
//! derivative computed the same way in the backward pass (`gelu_autodiff.rs`). Everywhere else
//! burn's own op runs.

use burn::tensor::Tensor;

/// GELU of every element.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "cpu-kernels")]
    {
        use crate::model::host::{is_flex_autodiff, is_plain_flex};
        if is_plain_flex(&x.device()) {
            return cpu::gelu(x);
        }
        if is_flex_autodiff(&x.device()) {
            return crate::model::gelu_autodiff::gelu(x);
        }
    }
    burn::tensor::activation::gelu(x)
}

#[cfg(feature = "cpu-kernels")]
pub(crate) mod cpu {
    use burn::tensor::Tensor;

    use crate::model::host::{CHUNK, Kernel, Simd, exp_nonpositive, for_each_chunk};

    /// 1 / √(2π), the standard normal density at 0.
    const INV_SQRT_2PI: f32 = 0.398_942_3;

    /// erf(x) to within 1e-6 absolute: Abramowitz and Stegun's formula 7.1.26,
    /// `1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(−x²)` with `t = 1 / (1 + p·x)` for x ≥ 0 (an error
    /// of at most 1.5e-7 in exact arithmetic), and erf(−x) = −erf(x). Without branches or libm
    /// calls, so that a loop of it vectorises.
    #[inline(always)]
    pub(super) fn erf_f32(x: f32) -> f32 {
        const P: f32 = 0.327_591_1;
        const A: [f32; 5] = [
            1.061_405_4,
            -1.453_152_1,
            1.421_413_8,
            -0.284_496_74,
            0.254_829_6,
        ];
        let magnitude = x.abs();
        let t = 1.0 / (1.0 + P * magnitude);
        let polynomial = A.iter().fold(0.0, |acc, &a| acc * t + a) * t;
        let value = 1.0 - polynomial * exp_nonpositive(-magnitude * magnitude);
        value.copysign(x)
    }

    /// GELU of one value through [`erf_f32`].
    #[inline(always)]
    fn gelu_f32(x: f32) -> f32 {
        0.5 * x * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2))
    }

    /// GELU's derivative, `Φ(x) + x·φ(x)`, through [`erf_f32`] and the vectorisable
    /// exponential.
    #[inline(always)]
    pub(super) fn gelu_derivative_f32(x: f32) -> f32 {
        let cdf = 0.5 * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2));
        let density = INV_SQRT_2PI * exp_nonpositive(-0.5 * x * x);
        cdf + x * density
    }

    /// GELU of every value, in place.
    struct GeluInPlace<'a>(&'a mut [f32]);

    impl Kernel for GeluInPlace<'_> {
        #[inline(always)]
        fn run(self) {
            self.0.iter_mut().for_each(|v| *v = gelu_f32(*v));
        }
    }

    /// `output[i] ← GELU(input[i])`.
    pub(crate) struct GeluInto<'a> {
        pub input: &'a [f32],
        pub output: &'a mut [f32],
    }

    impl Kernel for GeluInto<'_> {
        #[inline(always)]
        fn run(self) {
            // A `for` loop rather than `for_each`: the latter's `fold` over a zip is not
            // always inlined, and then runs compiled for the baseline, not for `Simd`'s variant.
            for (out, &x) in self.output.iter_mut().zip(self.input) {
                *out = gelu_f32(x);
            }
        }
    }

    /// `output[i] ← grad[i] · GELU′(input[i])`: the gradient reaching GELU's input.
    pub(crate) struct GeluBackwardInto<'a> {
        pub input: &'a [f32],
        pub grad: &'a [f32],
        pub output: &'a mut [f32],
    }

    impl Kernel for GeluBackwardInto<'_> {
        #[inline(always)]
        fn run(self) {
            for ((out, &x), &grad) in self.output.iter_mut().zip(self.input).zip(self.grad) {
                *out = grad * gelu_derivative_f32(x);
            }
        }
    }

    /// GELU computed on the tensor's host buffer.
    pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
        gelu_on(Simd::widest(), x)
    }

    /// [`gelu`] with the kernel compiled for `simd`.
    pub fn gelu_on<const D: usize>(simd: Simd, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        let mut data = x.into_data();
        match data.as_mut_slice::<f32>() {
            Ok(values) => {
                for_each_chunk(values, CHUNK, |_, chunk| simd.run(GeluInPlace(chunk)));
                Tensor::from_data(data, &device)
            }
            // Another float type: burn's op.
            Err(_) => burn::tensor::activation::gelu(Tensor::from_data(data, &device)),
        }
    }
}

#[cfg(all(test, feature = "cpu-kernels"))]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::model::host::Simd;

    /// erf to within 1e-6 over the range a layer's pre-activations take, and beyond.
    #[test]
    fn erf_matches_libm() {
        use super::cpu::erf_f32;

        let device = Device::flex();
        let xs: Vec<f32> = (-8000..=8000).map(|i| i as f32 / 1000.0).collect();
        let reference = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device)
            .erf()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let worst = xs
            .iter()
            .zip(&reference)
            .map(|(&x, &want)| (erf_f32(x) - want).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "max |erf error| {worst:e}");
        assert!(erf_f32(0.0).abs() < 1e-6);
        assert_eq!(erf_f32(-1.5), -erf_f32(1.5), "odd");
    }

    /// The tensor function gives burn's GELU, on the device where it computes itself (compiled
    /// for every instruction set this CPU runs) and through autodiff, where burn's op runs; a
    /// NaN stays NaN.
    #[test]
    fn gelu_matches_burns_op() {
        let xs: Vec<f32> = (0..70_007)
            .map(|i| (i as f32 - 35_000.0) / 5_000.0)
            .collect();
        for device in [Device::flex(), Device::flex().autodiff()] {
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [7, 10_001]), &device);
            let ours = gelu(x.clone()).into_data();
            let burns = burn::tensor::activation::gelu(x).into_data();
            ours.assert_approx_eq::<f32>(&burns, burn::tensor::Tolerance::absolute(1e-6));
        }
        // The kernel compiled for every instruction set this CPU runs.
        let device = Device::flex();
        let x = Tensor::<2>::from_data(TensorData::new(xs, [7, 10_001]), &device);
        let burns = burn::tensor::activation::gelu(x.clone()).into_data();
        for simd in Simd::ALL.into_iter().filter(|simd| simd.is_available()) {
            let ours = super::cpu::gelu_on(simd, x.clone()).into_data();
            ours.assert_approx_eq::<f32>(&burns, burn::tensor::Tolerance::absolute(1e-6));
        }
        let device = Device::flex();
        assert!(crate::model::host::is_plain_flex(&device));
        let nan = Tensor::<1>::from_data(TensorData::new(vec![f32::NAN, 1.0], [2]), &device);
        let values = gelu(nan).into_data().try_into_vec::<f32>().unwrap();
        assert!(values[0].is_nan() && values[1].is_finite(), "{values:?}");
    }
}
