//! GELU on the flex device under autodiff: the host kernel of `gelu.rs` forward, and its
//! derivative computed the same way backward, joined to burn's autodiff graph through a backend
//! extension.
//!
//! burn-flex evaluates both GELU and its backward one element at a time with libm's `erff` and
//! `expf`, on one thread: about a tenth of a MiniLM fine-tuning step on the CPU
//! (docs/performance.md).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ActivationOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};

use crate::model::gelu::cpu::{GeluBackwardInto, GeluInto};
use crate::model::host::{CHUNK, Simd, contiguous, for_each_chunk};

/// GELU of a differentiable tensor on the flex device.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as HostGelu>::host_gelu(x.into_dispatch()))
}

/// GELU, computed by the host kernel.
#[backend_extension(Flex, Autodiff)]
pub trait HostGelu: Backend {
    /// GELU of every element.
    fn host_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The gradient through GELU, computed by the host kernel.
pub trait HostGeluBackward: Backend {
    /// `grad · GELU′(x)`, element by element.
    fn host_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl HostGelu for Flex {
    fn host_gelu(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return Flex::gelu(x);
        }
        let x = contiguous(x);
        let input = x.as_slice::<f32>().expect("contiguous f32");
        let mut output = vec![0.0f32; input.len()];
        let simd = Simd::widest();
        for_each_chunk(&mut output, CHUNK, |index, chunk| {
            let input = &input[index * CHUNK..][..chunk.len()];
            simd.run(GeluInto {
                input,
                output: chunk,
            });
        });
        FlexTensor::from_data(TensorData::new(output, x.layout().shape().clone()))
    }
}

impl HostGeluBackward for Flex {
    fn host_gelu_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 || grad.dtype() != DType::F32 {
            return Flex::gelu_backward(x, grad);
        }
        let (x, grad) = (contiguous(x), contiguous(grad));
        let input = x.as_slice::<f32>().expect("contiguous f32");
        let grads = grad.as_slice::<f32>().expect("contiguous f32");
        let mut output = vec![0.0f32; input.len()];
        let simd = Simd::widest();
        for_each_chunk(&mut output, CHUNK, |index, chunk| {
            let start = index * CHUNK;
            simd.run(GeluBackwardInto {
                input: &input[start..][..chunk.len()],
                grad: &grads[start..][..chunk.len()],
                output: chunk,
            });
        });
        FlexTensor::from_data(TensorData::new(output, x.layout().shape().clone()))
    }
}

impl<B, C> HostGelu for Autodiff<B, C>
where
    B: Backend + HostGelu + HostGeluBackward,
    C: CheckpointStrategy,
{
    fn host_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        /// The backward step: the input it saw is its state.
        #[derive(Debug)]
        struct GeluStep;

        impl<B: Backend + HostGeluBackward> Backward<B, 1> for GeluStep {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let input = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::host_gelu_backward(input, grad)
                });
            }
        }

        let node = x.node();
        let input = x.into_primitive();
        match GeluStep.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let output = B::host_gelu(input.clone());
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::host_gelu(input)),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData, Tolerance};

    use super::*;

    /// Inputs over the range a layer's pre-activations take and beyond, over more than one
    /// chunk, and weights that make each element's gradient differ.
    fn inputs(device: &Device) -> (Tensor<2>, Tensor<2>) {
        let count = 3 * 20_011;
        let xs: Vec<f32> = (0..count)
            .map(|i| (i as f32 - count as f32 / 2.0) / 5_000.0)
            .collect();
        let weights: Vec<f32> = (0..count).map(|i| ((i % 89) as f32 - 44.0) / 8.0).collect();
        let shape = [3, 20_011];
        (
            Tensor::from_data(TensorData::new(xs, shape), device),
            Tensor::from_data(TensorData::new(weights, shape), device),
        )
    }

    /// Forward and backward give burn's GELU and its gradient under autodiff.
    #[test]
    fn gelu_and_its_gradient_match_burns() {
        let device = Device::flex().autodiff();
        let (x, weights) = inputs(&device);
        let gradient = |ours: bool| {
            let x = x.clone().require_grad();
            let y = if ours {
                gelu(x.clone())
            } else {
                burn::tensor::activation::gelu(x.clone())
            };
            let grads = (y.clone() * weights.clone()).sum().backward();
            (
                y.into_data(),
                x.grad(&grads).expect("x's gradient").into_data(),
            )
        };
        let (ours, our_gradient) = gradient(true);
        let (burns, burns_gradient) = gradient(false);
        let tolerance = Tolerance::rel_abs(1e-5, 1e-5);
        ours.assert_approx_eq::<f32>(&burns, tolerance);
        our_gradient.assert_approx_eq::<f32>(&burns_gradient, tolerance);
    }

    /// A transposed view and a tensor that needs no gradient take the same values.
    #[test]
    fn views_and_untracked_tensors_give_burns_values() {
        let device = Device::flex().autodiff();
        let (x, _) = inputs(&device);
        let tolerance = Tolerance::rel_abs(1e-5, 1e-5);
        let transposed = x.clone().transpose();
        gelu(transposed.clone())
            .into_data()
            .assert_approx_eq::<f32>(
                &burn::tensor::activation::gelu(transposed).into_data(),
                tolerance,
            );
        gelu(x.clone())
            .into_data()
            .assert_approx_eq::<f32>(&burn::tensor::activation::gelu(x).into_data(), tolerance);
    }
}
