//! `FeatureNorm`: a fixed standardisation of every feature dimension, `(x − mean) / std`, in
//! front of the heads. A decoder's inner layers are not normalised: SmolLM2-135M's layer 22
//! carries a few dimensions with offsets of 60–140 against a typical spread of 4, which would
//! otherwise dominate the heads' first layer (docs/method.md §1). The statistics are measured
//! once on the pool's features, which needs no label, and stored with the heads.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// How the heads' input features are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputNorm {
    /// Each dimension shifted by its mean and divided by its standard deviation, as measured
    /// on the pool ([`FeatureNorm`]).
    Standardised,
}

/// Standard deviations below this are taken as this, so that a constant dimension is not
/// blown up.
const MIN_STD: f64 = 1e-6;

/// `(x − mean) · inverse_std`, per feature dimension; its parameters never train.
#[derive(Module, Debug)]
pub struct FeatureNorm {
    /// `[d]`.
    mean: Param<Tensor<1>>,
    /// `[d]`: 1 / max(std, 1e-6).
    inverse_std: Param<Tensor<1>>,
}

impl FeatureNorm {
    /// The norm that leaves features of width `width` as they are (mean 0, std 1): the
    /// skeleton a checkpoint's statistics are loaded into.
    pub fn identity(width: usize, device: &Device) -> Self {
        Self::from_values(vec![0.0; width], vec![1.0; width], device)
    }

    /// The norm standardising by `moments`.
    pub fn fitted(moments: &FeatureMoments, device: &Device) -> Self {
        let inverse_std = moments
            .std()
            .into_iter()
            .map(|std| (1.0 / std.max(MIN_STD)) as f32)
            .collect();
        let mean = moments.mean().into_iter().map(|mean| mean as f32).collect();
        Self::from_values(mean, inverse_std, device)
    }

    fn from_values(mean: Vec<f32>, inverse_std: Vec<f32>, device: &Device) -> Self {
        let fixed = |values: Vec<f32>| {
            let width = values.len();
            Param::from_data(TensorData::new(values, [width]), device).set_require_grad(false)
        };
        Self {
            mean: fixed(mean),
            inverse_std: fixed(inverse_std),
        }
    }

    /// Width of the features it reads.
    pub fn width(&self) -> usize {
        self.mean.val().dims()[0]
    }

    /// # Shapes
    ///
    /// - features: `[batch, steps, d]`
    /// - output: `[batch, steps, d]`
    pub fn forward(&self, features: Tensor<3>) -> Tensor<3> {
        let width = self.width();
        let mean = self.mean.val().reshape([1, 1, width]);
        let inverse_std = self.inverse_std.val().reshape([1, 1, width]);
        (features - mean) * inverse_std
    }
}

/// Per-dimension count, sum and sum of squares of feature rows, in f64, to standardise by.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMoments {
    count: usize,
    sum: Vec<f64>,
    sum_of_squares: Vec<f64>,
}

impl FeatureMoments {
    /// No rows yet, of width `width`.
    pub fn new(width: usize) -> Self {
        Self {
            count: 0,
            sum: vec![0.0; width],
            sum_of_squares: vec![0.0; width],
        }
    }

    /// Adds one feature row.
    ///
    /// # Panics
    /// When the row is not of the moments' width.
    pub fn add(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.sum.len(), "a feature row of another width");
        self.count += 1;
        for ((sum, square), &x) in self.sum.iter_mut().zip(&mut self.sum_of_squares).zip(row) {
            let x = f64::from(x);
            *sum += x;
            *square += x * x;
        }
    }

    /// Rows added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Per-dimension mean (0 before any row).
    pub fn mean(&self) -> Vec<f64> {
        let count = self.count.max(1) as f64;
        self.sum.iter().map(|sum| sum / count).collect()
    }

    /// Per-dimension population standard deviation (0 before any row).
    pub fn std(&self) -> Vec<f64> {
        let count = self.count.max(1) as f64;
        self.sum
            .iter()
            .zip(&self.sum_of_squares)
            .map(|(sum, square)| {
                let mean = sum / count;
                (square / count - mean * mean).max(0.0).sqrt()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(tensor: Tensor<3>) -> Vec<f32> {
        tensor.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn moments_are_the_mean_and_population_std() {
        let mut moments = FeatureMoments::new(2);
        for row in [[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]] {
            moments.add(&row);
        }
        assert_eq!(moments.count(), 3);
        assert_eq!(moments.mean(), vec![3.0, 10.0]);
        let std = moments.std();
        assert!((std[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(std[1], 0.0);
    }

    #[test]
    fn a_fitted_norm_standardises_and_leaves_constant_dimensions_finite() {
        let device = Device::default();
        let rows = [[1.0f32, 7.0], [3.0, 7.0], [5.0, 7.0]];
        let mut moments = FeatureMoments::new(2);
        rows.iter().for_each(|row| moments.add(row));
        let norm = FeatureNorm::fitted(&moments, &device);
        let features = Tensor::<3>::from_data(TensorData::new(rows.concat(), [1, 3, 2]), &device);
        let out = values(norm.forward(features));
        let spread = (8.0f32 / 3.0).sqrt();
        let expected = [-2.0 / spread, 0.0, 0.0, 0.0, 2.0 / spread, 0.0];
        for (got, want) in out.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn the_identity_changes_nothing() {
        let device = Device::default();
        let data = vec![0.5f32, -120.0, 3.25, 9.0];
        let features = Tensor::<3>::from_data(TensorData::new(data.clone(), [2, 1, 2]), &device);
        assert_eq!(
            values(FeatureNorm::identity(2, &device).forward(features)),
            data
        );
    }
}
