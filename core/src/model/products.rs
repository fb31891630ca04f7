//! The matrix products of the model's layers: position-wise projections, computed as one
//! product over every position, and attention's batched products.
//!
//! burn's `linear` keeps a `[batch, seq_len, d]` input batched when `seq_len` is a multiple of
//! 32: the product then runs as `batch` products of `seq_len` rows each. On the flex backend
//! those are shared among the threads an item at a time, each packing the whole weight for its
//! few rows: MiniLM's projections at 32×128 took 8–24% longer than one `[batch · seq_len, d]`
//! product on a 2-core Intel Xeon (docs/performance.md). A projection treats every position
//! alike, so folding the positions into rows changes nothing but the shape of the work; for a
//! contiguous input the fold is a view. With the `cpu-kernels` feature, on the plain flex
//! device, the folded product is computed on the host (`host_products.rs`).

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::module::linear;

/// `input · weight + bias` at every position, through `projection`'s parameters.
///
/// # Shapes
///
/// - input: `[batch, seq_len, d_input]`
/// - output: `[batch, seq_len, d_output]`
pub fn project(projection: &Linear, input: Tensor<3>) -> Tensor<3> {
    project_with(
        input,
        projection.weight.val(),
        projection.bias.as_ref().map(Param::val),
    )
}

/// `input · weight + bias` at every position.
///
/// # Shapes
///
/// - input: `[batch, seq_len, d_input]`
/// - weight: `[d_input, d_output]`
/// - bias: `[d_output]`
/// - output: `[batch, seq_len, d_output]`
pub fn project_with(input: Tensor<3>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<3> {
    let [batch, seq_len, d_input] = input.dims();
    let d_output = weight.dims()[1];
    let rows = input.reshape([batch * seq_len, d_input]);
    #[cfg(feature = "cpu-kernels")]
    if crate::model::host::is_plain_flex(&rows.device()) {
        return crate::model::host_products::linear(rows, weight, bias)
            .reshape([batch, seq_len, d_output]);
    }
    linear(rows, weight, bias).reshape([batch, seq_len, d_output])
}

/// `lhs · rhs` for every pair of matrices of a batch.
///
/// # Shapes
///
/// - lhs: `[batch, heads, m, k]`
/// - rhs: `[batch, heads, k, n]`
/// - output: `[batch, heads, m, n]`
pub fn batched_matmul(lhs: Tensor<4>, rhs: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "cpu-kernels")]
    if crate::model::host::is_plain_flex(&lhs.device()) {
        return crate::model::host_products::batched(lhs, rhs);
    }
    lhs.matmul(rhs)
}

#[cfg(test)]
mod tests {
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution, Tolerance};

    use super::*;

    /// Every position's projection is the one `Linear` gives, with and without a bias, at a
    /// sequence length burn keeps batched (32) and at one it folds itself (5).
    #[test]
    fn projects_every_position_as_linear_does() {
        let device = Device::flex();
        for bias in [true, false] {
            let projection = LinearConfig::new(6, 4).with_bias(bias).init(&device);
            for seq_len in [32, 5] {
                let input = Tensor::<3>::random([3, seq_len, 6], Distribution::Default, &device);
                let expected = projection.forward(input.clone());
                let projected = project(&projection, input);
                assert_eq!(projected.dims(), [3, seq_len, 4]);
                projected
                    .into_data()
                    .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
            }
        }
    }

    /// Gradients reach the input and the parameters through the fold, as through `Linear`.
    #[test]
    fn gradients_flow_through_the_fold() {
        let device = Device::flex().autodiff();
        let projection = LinearConfig::new(3, 2).init(&device);
        let input = Tensor::<3>::random([2, 4, 3], Distribution::Default, &device).require_grad();
        let folded = project(&projection, input.clone()).sum().backward();
        let reference = projection.forward(input.clone()).sum().backward();
        let gradient = |grads| input.grad(grads).expect("the input has a gradient");
        gradient(&folded)
            .into_data()
            .assert_approx_eq::<f32>(&gradient(&reference).into_data(), Tolerance::default());
        let weight = |grads| {
            projection
                .weight
                .grad(grads)
                .expect("the weight has a gradient")
        };
        weight(&folded)
            .into_data()
            .assert_approx_eq::<f32>(&weight(&reference).into_data(), Tolerance::default());
    }
}
