//! The masked softmax of attention on the flex device under autodiff: the host kernel of
//! `masked_softmax.rs` forward, and the gradient through it computed on the host backward,
//! joined to burn's autodiff graph through a backend extension.
//!
//! Through burn's ops, the weights take a scale, a mask fill and a softmax, each a pass of its
//! own with libm's `expf` one element at a time, and as many again backward: about a twentieth
//! of a MiniLM fine-tuning step on the CPU (docs/performance.md).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::{BoolTensor, FloatTensor};
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{Bool, Tensor};

use crate::model::host::{Simd, contiguous};
use crate::model::masked_softmax::{mask_values, softmax_backward_in_place, softmax_in_place};

/// `softmax(scale · scores)` over the last axis with blocked pairs given no weight, for
/// differentiable f32 scores on the flex device (shapes as `masked_softmax`'s).
pub fn masked_softmax(scores: Tensor<4>, blocked: Tensor<3, Bool>, scale: f32) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as HostMaskedSoftmax>::host_masked_softmax(
        scores.into_dispatch(),
        blocked.into_dispatch(),
        scale,
    ))
}

/// The masked softmax of attention, computed by the host kernel.
#[backend_extension(Flex, Autodiff)]
pub trait HostMaskedSoftmax: Backend {
    /// The weights of `[batch, heads, queries, keys]` scores under a `[batch, queries, keys]`
    /// mask.
    fn host_masked_softmax(
        scores: FloatTensor<Self>,
        blocked: BoolTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// The gradient through the masked softmax, computed by the host kernel.
pub trait HostMaskedSoftmaxBackward: Backend {
    /// The gradient reaching the scores, from the gradient `grad` reaching their `weights`.
    fn host_masked_softmax_backward(
        weights: FloatTensor<Self>,
        blocked: BoolTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// `[heads, queries, keys]` of `[batch, heads, queries, keys]` values.
fn heads_queries_keys(tensor: &FlexTensor) -> [usize; 3] {
    let shape = tensor.shape();
    let [_, heads, queries, keys] = shape[..] else {
        panic!("attention scores have 4 dimensions, not {}", shape.len())
    };
    [heads, queries, keys]
}

impl HostMaskedSoftmax for Flex {
    fn host_masked_softmax(scores: FlexTensor, blocked: FlexTensor, scale: f32) -> FlexTensor {
        let layout = heads_queries_keys(&scores);
        let mask = blocked.into_data();
        let mut data = scores.into_data();
        let values = data
            .as_mut_slice::<f32>()
            .expect("the caller checked the scores are f32");
        softmax_in_place(Simd::widest(), values, &mask_values(&mask), layout, scale);
        FlexTensor::from_data(data)
    }
}

impl HostMaskedSoftmaxBackward for Flex {
    fn host_masked_softmax_backward(
        weights: FlexTensor,
        blocked: FlexTensor,
        grad: FlexTensor,
        scale: f32,
    ) -> FlexTensor {
        let layout = heads_queries_keys(&weights);
        let mask = blocked.into_data();
        // Read in place: the graph's matrix product with the values holds them too.
        let weights = contiguous(weights);
        let weights = weights.as_slice::<f32>().expect("the weights are f32");
        let mut data = grad.into_data();
        let grads = data
            .as_mut_slice::<f32>()
            .expect("the gradient of f32 weights is f32");
        softmax_backward_in_place(
            Simd::widest(),
            grads,
            weights,
            &mask_values(&mask),
            layout,
            scale,
        );
        FlexTensor::from_data(data)
    }
}

impl<B, C> HostMaskedSoftmax for Autodiff<B, C>
where
    B: Backend + HostMaskedSoftmax + HostMaskedSoftmaxBackward,
    C: CheckpointStrategy,
{
    fn host_masked_softmax(
        scores: FloatTensor<Self>,
        blocked: BoolTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        /// The backward step: the weights it gave, the mask and the scale are its state.
        #[derive(Debug)]
        struct MaskedSoftmaxStep;

        impl<B: Backend + HostMaskedSoftmaxBackward> Backward<B, 1> for MaskedSoftmaxStep {
            type State = (FloatTensor<B>, BoolTensor<B>, f32);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (weights, blocked, scale) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::host_masked_softmax_backward(weights, blocked, grad, scale)
                });
            }
        }

        let node = scores.node();
        let weights = B::host_masked_softmax(scores.into_primitive(), blocked.clone(), scale);
        match MaskedSoftmaxStep
            .prepare::<C>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((weights.clone(), blocked, scale), weights),
            OpsKind::UnTracked(prep) => prep.finish(weights),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::activation::softmax;
    use burn::tensor::{Device, Distribution, Tensor, TensorData, Tolerance};

    use super::*;

    /// Forward and backward give what burn's scale, mask fill and softmax give, rows with
    /// every key blocked included, over more rows than one parallel task takes.
    #[test]
    fn weights_and_their_gradient_match_burns() {
        let [batch, heads, queries, keys] = [3, 4, 40, 37];
        let device = Device::flex().autodiff();
        let blocked: Vec<bool> = (0..batch * queries * keys)
            .map(|i| {
                let (query, key) = ((i / keys) % queries, i % keys);
                key > query + 2 || (i / (queries * keys) == 1 && query == 5)
            })
            .collect();
        let blocked =
            Tensor::<3, Bool>::from_data(TensorData::new(blocked, [batch, queries, keys]), &device);
        let shape = [batch, heads, queries, keys];
        let scores = Tensor::<4>::random(shape, Distribution::Normal(0.0, 4.0), &device);
        let upstream = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let gradient = |ours: bool| {
            let scores = scores.clone().require_grad();
            let weights = if ours {
                masked_softmax(scores.clone(), blocked.clone(), 0.3)
            } else {
                let mask = blocked.clone().unsqueeze_dim::<4>(1).expand(shape);
                softmax((scores.clone() * 0.3).mask_fill(mask, -1.0e4), 3)
            };
            let grads = (weights.clone() * upstream.clone()).sum().backward();
            let grad = scores.grad(&grads).expect("the scores' gradient");
            (weights.into_data(), grad.into_data())
        };
        let (ours, our_gradient) = gradient(true);
        let (burns, burns_gradient) = gradient(false);
        ours.assert_approx_eq::<f32>(&burns, Tolerance::absolute(1e-6));
        our_gradient.assert_approx_eq::<f32>(&burns_gradient, Tolerance::absolute(1e-5));
    }
}
