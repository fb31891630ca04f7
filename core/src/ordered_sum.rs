//! The sum of every element of a tensor, added in an order its shape fixes.
//!
//! burn-flex sums a tensor of 4M elements or more over rayon's threads and adds their partial
//! sums in the order the work happened to be split, which depends on the number of threads and
//! on which thread took which part: the last bits of the sum then change from run to run. A
//! head's first-layer weight reaches that size (32 heads × 1,152 inputs × 128), and its
//! squared distance to the anchor and its gradient's norm steer training, so a run would not
//! repeat itself. Summing along the last axis first (each row added in turn) and then the
//! rows' sums keeps the order fixed on every backend.

use burn::tensor::Tensor;

/// The sum of every element of `tensor`, as a one-element tensor, in an order fixed by its
/// shape alone.
pub fn ordered_sum<const D: usize>(tensor: Tensor<D>) -> Tensor<1> {
    let last = tensor.dims()[D - 1].max(1);
    tensor.reshape([-1, last as i32]).sum_dim(1).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, TensorData};

    #[test]
    fn sums_every_element() {
        let small = Tensor::<3>::from_data(
            TensorData::new((0..24).map(|x| x as f32).collect::<Vec<_>>(), [2, 3, 4]),
            &Device::flex(),
        );
        assert_eq!(ordered_sum(small).into_scalar::<f32>(), 276.0);
    }

    /// A tensor past burn-flex's parallel threshold sums to the same bits on pools of any size
    /// and with other sums running beside it (burn's own sum of it, when burn-flex runs on
    /// rayon, varies in its last bits), and to burn's sum within rounding.
    #[cfg(feature = "cpu-kernels")]
    #[test]
    fn the_order_depends_on_the_shape_alone() {
        use std::collections::BTreeSet;

        use rayon::prelude::*;

        let large = Tensor::<3>::random(
            [32, 1152, 128],
            Distribution::Normal(0.0, 1.0),
            &Device::flex(),
        );
        let mut seen = BTreeSet::new();
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let sums: Vec<u32> = (0..16)
                    .into_par_iter()
                    .map(|_| ordered_sum(large.clone()).into_scalar::<f32>().to_bits())
                    .collect();
                seen.extend(sums);
            });
        }
        assert_eq!(seen.len(), 1, "{seen:x?}");
        let ours = f32::from_bits(*seen.first().unwrap());
        let burns = large.sum().into_scalar::<f32>();
        assert!(
            (burns - ours).abs() <= 1e-3 * burns.abs().max(1.0),
            "{burns} {ours}"
        );
    }
}
