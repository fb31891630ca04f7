//! What is done to a step's gradients before the optimiser: clipping, by the global norm of every
//! gradient together (the default) or by each parameter's own norm, and taking one
//! module's gradients apart so that it can be stepped at a learning rate of its own. The global
//! scale is computed on the device and never read back, so a browser's WebGPU device can clip
//! without waiting.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::named_choice::{NamedChoice, serde_by_name};
use crate::ordered_sum::ordered_sum;

/// How gradients are held to a norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clipping {
    /// All gradients are scaled together by min(1, max_norm / ‖g‖), ‖g‖ the L2 norm of them
    /// all: the direction of the update is kept.
    #[default]
    Global,
    /// Each parameter's gradient is scaled to at most max_norm on its own.
    PerParameter,
}

serde_by_name!(Clipping, "clipping");

impl NamedChoice for Clipping {
    const ALL: &'static [Self] = &[Clipping::Global, Clipping::PerParameter];

    /// The name: `global` or `per-parameter`.
    fn name(self) -> &'static str {
        match self {
            Clipping::Global => "global",
            Clipping::PerParameter => "per-parameter",
        }
    }
}

/// `gradients` of `module`'s parameters scaled together so that their global L2 norm is at
/// most `max_norm`.
pub fn clip_global_norm<M: Module>(
    module: &M,
    mut gradients: GradientsParams,
    max_norm: f32,
) -> GradientsParams {
    let mut squares = SumOfSquares {
        gradients: &gradients,
        sum: None,
    };
    module.visit(&mut squares);
    let Some(sum) = squares.sum else {
        return gradients;
    };
    let scale = (sum.sqrt() + 1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    module.visit(&mut Scale {
        gradients: &mut gradients,
        scale,
    });
    gradients
}

/// The gradients of `module`'s parameters, moved out of `gradients`: an optimiser step on them
/// alone updates `module` and leaves every other parameter as it is (AdamW keeps its moments
/// per parameter, so one optimiser can step the two sets at two learning rates).
pub fn take_gradients<M: Module>(module: &M, gradients: &mut GradientsParams) -> GradientsParams {
    let mut take = Take {
        from: gradients,
        taken: GradientsParams::new(),
    };
    module.visit(&mut take);
    take.taken
}

/// Moves the gradients of the visited parameters from one set into another.
struct Take<'a> {
    from: &'a mut GradientsParams,
    taken: GradientsParams,
}

impl ModuleVisitor for Take<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.from.remove::<D>(param.id) {
            self.taken.register(param.id, gradient);
        }
    }
}

/// Sums the squares of every gradient of the visited parameters.
struct SumOfSquares<'a> {
    gradients: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SumOfSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.gradients.get::<D>(param.id) {
            let squares = ordered_sum(gradient.square());
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squares,
                None => squares,
            });
        }
    }
}

/// Multiplies every gradient of the visited parameters by `scale` (one element).
struct Scale<'a> {
    gradients: &'a mut GradientsParams,
    scale: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.gradients.remove::<D>(param.id) {
            let scale = self.scale.clone().reshape([1; D]);
            self.gradients.register(param.id, gradient * scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Distribution};

    use super::*;

    /// The global L2 norm of `gradients` of `module`.
    fn norm(module: &Linear, gradients: &GradientsParams) -> f32 {
        let mut squares = SumOfSquares {
            gradients,
            sum: None,
        };
        module.visit(&mut squares);
        squares.sum.unwrap().sqrt().into_scalar::<f32>()
    }

    fn gradients_of(module: &Linear, device: &Device, size: f32) -> GradientsParams {
        let input = Tensor::<2>::random([8, 4], Distribution::Default, device);
        let loss = module.forward(input).sum().mul_scalar(size);
        GradientsParams::from_grads(loss.backward(), module)
    }

    #[test]
    fn large_gradients_are_scaled_together_to_the_norm_and_small_ones_kept() {
        let device = Device::flex().autodiff();
        let module = LinearConfig::new(4, 3).init(&device);
        let large = gradients_of(&module, &device, 100.0);
        let weight_before = large.get::<2>(module.weight.id).unwrap();
        let bias_before = large.get::<1>(module.bias.as_ref().unwrap().id).unwrap();
        let before = norm(&module, &large);
        assert!(before > 1.0);
        let clipped = clip_global_norm(&module, large, 1.0);
        assert!((norm(&module, &clipped) - 1.0).abs() < 1e-4);
        // One factor for every parameter: the direction is kept.
        let factor = 1.0 / before;
        let weight_after = clipped.get::<2>(module.weight.id).unwrap();
        let bias_after = clipped.get::<1>(module.bias.as_ref().unwrap().id).unwrap();
        weight_after.into_data().assert_approx_eq::<f32>(
            &weight_before.mul_scalar(factor).into_data(),
            Default::default(),
        );
        bias_after.into_data().assert_approx_eq::<f32>(
            &bias_before.mul_scalar(factor).into_data(),
            Default::default(),
        );

        let small = gradients_of(&module, &device, 1e-3);
        let small_norm = norm(&module, &small);
        assert!(small_norm < 1.0);
        let kept = clip_global_norm(&module, small, 1.0);
        assert!((norm(&module, &kept) - small_norm).abs() < 1e-7);
    }
}
