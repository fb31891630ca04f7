//! `EnsembleHeads`: E small MLP heads on one shared feature, stored batched as `[E, in, out]`
//! and evaluated in one batched matmul, plus the frozen copy θ₀ of their initial weights that
//! anchors the ensemble regulariser.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use super::feature_norm::{FeatureNorm, InputNorm};
use crate::ordered_sum::ordered_sum;
use crate::rng::SeededRng;

/// Configuration of [`EnsembleHeads`].
#[derive(Config, Debug)]
pub struct EnsembleHeadsConfig {
    /// Number of heads E (the paper uses 32; 1 disables the ensemble).
    #[config(default = 32)]
    pub num_heads: usize,
    /// Width of both hidden layers of every head.
    #[config(default = 128)]
    pub hidden: usize,
    /// Seed of the head initialisation.
    #[config(default = 0)]
    pub seed: u64,
    /// How features are normalised before the heads (see [`EnsembleHeads::with_input_norm`]);
    /// `None`, the default, gives them to the heads as the backbone does.
    pub input_norm: Option<InputNorm>,
}

/// One layer of all E heads at once: `y_e = x_e · W_e + b_e`.
#[derive(Module, Debug)]
pub struct BatchedLinear {
    /// Weights, `[E, in, out]`.
    weight: Param<Tensor<3>>,
    /// Biases, `[E, 1, out]`.
    bias: Param<Tensor<3>>,
}

impl BatchedLinear {
    /// Weights ~ N(0, (1 / (2·sqrt(fan_in)))²) and zero biases, drawn from `rng`.
    fn init(
        heads: usize,
        fan_in: usize,
        fan_out: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        let std = 1.0 / (2.0 * (fan_in as f64).sqrt());
        let weights: Vec<f32> = (0..heads * fan_in * fan_out)
            .map(|_| rng.normal(0.0, std) as f32)
            .collect();
        Self {
            weight: Param::from_data(TensorData::new(weights, [heads, fan_in, fan_out]), device),
            bias: Param::from_data(TensorData::zeros::<f32, _>([heads, 1, fan_out]), device),
        }
    }

    /// # Shapes
    ///
    /// - input: `[E, rows, in]`
    /// - output: `[E, rows, out]`
    fn forward(&self, input: Tensor<3>) -> Tensor<3> {
        input.matmul(self.weight.val()) + self.bias.val()
    }

    /// A copy of this layer that receives no gradient.
    fn frozen_copy(&self) -> Self {
        Self {
            weight: Param::from_tensor(self.weight.val().detach()).set_require_grad(false),
            bias: Param::from_tensor(self.bias.val().detach()).set_require_grad(false),
        }
    }

    /// Sum of squared differences to `anchor`, and the number of elements compared.
    fn squared_distance(&self, anchor: &Self) -> (Tensor<1>, usize) {
        let weight = ordered_sum((self.weight.val() - anchor.weight.val()).square());
        let bias = ordered_sum((self.bias.val() - anchor.bias.val()).square());
        let count =
            self.weight.val().shape().num_elements() + self.bias.val().shape().num_elements();
        (weight + bias, count)
    }
}

/// E heads, each an MLP `d → hidden → ReLU → hidden → ReLU → 1`, with the anchor θ₀.
#[derive(Module, Debug)]
pub struct EnsembleHeads {
    /// The fixed standardisation of the features, when the configuration asks for one.
    input_norm: Option<FeatureNorm>,
    layers: Vec<BatchedLinear>,
    anchor: Vec<BatchedLinear>,
}

impl EnsembleHeadsConfig {
    /// Initialises E heads reading features of width `d_input`, and freezes a copy as θ₀.
    pub fn init(&self, d_input: usize, device: &Device) -> EnsembleHeads {
        let mut rng = SeededRng::derive(self.seed, 0x4845_4144);
        let widths = [d_input, self.hidden, self.hidden, 1];
        let layers: Vec<BatchedLinear> = widths
            .windows(2)
            .map(|w| BatchedLinear::init(self.num_heads, w[0], w[1], &mut rng, device))
            .collect();
        let anchor = layers.iter().map(BatchedLinear::frozen_copy).collect();
        let input_norm = self
            .input_norm
            .map(|InputNorm::Standardised| FeatureNorm::identity(d_input, device));
        EnsembleHeads {
            input_norm,
            layers,
            anchor,
        }
    }
}

impl EnsembleHeads {
    /// Heads with the given weights, layer by layer: `(weight [E, in, out], bias [E, 1, out])`;
    /// the anchor is a frozen copy of them. For heads trained elsewhere, such as a reference
    /// implementation's.
    pub fn from_weights(layers: Vec<(TensorData, TensorData)>, device: &Device) -> Self {
        let layers = Self::layers_from(layers, device);
        let anchor = layers.iter().map(BatchedLinear::frozen_copy).collect();
        Self {
            input_norm: None,
            layers,
            anchor,
        }
    }

    /// Heads with the given weights and, apart from them, the given anchor θ₀ (both layer by
    /// layer, as [`EnsembleHeads::from_weights`] takes them): heads some way into training, as
    /// a reference implementation's gradients are taken at.
    ///
    /// # Panics
    /// When the anchor's layers are not the heads' shapes.
    pub fn from_weights_and_anchor(
        layers: Vec<(TensorData, TensorData)>,
        anchor: Vec<(TensorData, TensorData)>,
        device: &Device,
    ) -> Self {
        let layers = Self::layers_from(layers, device);
        let anchor: Vec<BatchedLinear> = Self::layers_from(anchor, device)
            .iter()
            .map(BatchedLinear::frozen_copy)
            .collect();
        let shapes = |layers: &[BatchedLinear]| -> Vec<_> {
            layers
                .iter()
                .map(|layer| (layer.weight.val().dims(), layer.bias.val().dims()))
                .collect()
        };
        assert_eq!(
            shapes(&layers),
            shapes(&anchor),
            "the anchor is not the heads' shape"
        );
        Self {
            input_norm: None,
            layers,
            anchor,
        }
    }

    /// These heads reading their features through `norm`.
    ///
    /// # Panics
    /// When `norm` reads features of another width than the heads.
    pub fn with_input_norm(self, norm: FeatureNorm) -> Self {
        assert_eq!(
            norm.width(),
            self.input_width(),
            "a feature norm of another width"
        );
        Self {
            input_norm: Some(norm),
            ..self
        }
    }

    /// Width of the features the heads read.
    pub fn input_width(&self) -> usize {
        self.layers[0].weight.val().dims()[1]
    }

    /// Whether the features are standardised before the heads.
    #[cfg(test)]
    pub(crate) fn standardises_input(&self) -> bool {
        self.input_norm.is_some()
    }

    fn layers_from(layers: Vec<(TensorData, TensorData)>, device: &Device) -> Vec<BatchedLinear> {
        layers
            .into_iter()
            .map(|(weight, bias)| BatchedLinear {
                weight: Param::from_data(weight, device),
                bias: Param::from_data(bias, device),
            })
            .collect()
    }

    /// Per-head logits for every feature vector.
    ///
    /// # Shapes
    ///
    /// - features: `[batch, steps, d_input]`
    /// - output: `[E, batch, steps]`
    pub fn forward(&self, features: Tensor<3>) -> Tensor<3> {
        let features = match &self.input_norm {
            Some(norm) => norm.forward(features),
            None => features,
        };
        let [batch, steps, d_input] = features.dims();
        let heads = self.num_heads();
        let mut hidden =
            features
                .reshape([1, batch * steps, d_input])
                .expand([heads, batch * steps, d_input]);
        let last = self.layers.len() - 1;
        for (index, layer) in self.layers.iter().enumerate() {
            hidden = layer.forward(hidden);
            if index < last {
                hidden = relu(hidden);
            }
        }
        hidden.reshape([heads, batch, steps])
    }

    /// mean((θ − θ₀)²) over every head parameter: the anchored-ensemble regulariser.
    pub fn anchor_penalty(&self) -> Tensor<1> {
        let (sum, count) = self
            .layers
            .iter()
            .zip(&self.anchor)
            .map(|(layer, anchor)| layer.squared_distance(anchor))
            .reduce(|(a, n), (b, m)| (a + b, n + m))
            .expect("an ensemble has at least one layer");
        sum / count as f64
    }

    /// Number of heads E.
    pub fn num_heads(&self) -> usize {
        self.layers[0].weight.val().dims()[0]
    }

    /// Every trained parameter's values, layer by layer (weight, then bias).
    #[cfg(test)]
    pub(crate) fn trained_values(&self) -> Vec<TensorData> {
        Self::values(&self.layers)
    }

    /// Every anchor parameter's values (θ₀), in the order of [`Self::trained_values`].
    #[cfg(test)]
    pub(crate) fn anchor_values(&self) -> Vec<TensorData> {
        Self::values(&self.anchor)
    }

    #[cfg(test)]
    fn values(layers: &[BatchedLinear]) -> Vec<TensorData> {
        layers
            .iter()
            .flat_map(|layer| [layer.weight.val().into_data(), layer.bias.val().into_data()])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    fn values(tensor: Tensor<3>) -> Vec<f32> {
        tensor.into_data().try_into_vec::<f32>().unwrap()
    }

    /// Row e of the logits is head e's, at every (trajectory, step) of the batch: heads whose
    /// only non-zero weight is their output bias, e, give e everywhere.
    #[test]
    fn logits_have_one_row_per_head() {
        let (heads, d_input, hidden) = (3, 4, 8);
        let zeros = |shape: [usize; 3]| TensorData::zeros::<f32, _>(shape);
        let biases: Vec<f32> = (0..heads).map(|e| e as f32).collect();
        let layers = vec![
            (zeros([heads, d_input, hidden]), zeros([heads, 1, hidden])),
            (zeros([heads, hidden, hidden]), zeros([heads, 1, hidden])),
            (
                zeros([heads, hidden, 1]),
                TensorData::new(biases, [heads, 1, 1]),
            ),
        ];
        let ensemble = EnsembleHeads::from_weights(layers, &device());
        let logits = ensemble.forward(Tensor::ones([2, 5, d_input], &device()));
        assert_eq!(logits.dims(), [heads, 2, 5]);
        let expected: Vec<f32> = (0..heads).flat_map(|e| [e as f32; 10]).collect();
        assert_eq!(values(logits), expected);
    }

    /// Every feature vector is scored alone: a batch's logits are those of its vectors one by
    /// one.
    #[test]
    fn each_step_is_scored_from_its_own_feature() {
        let heads = EnsembleHeadsConfig::new()
            .with_num_heads(3)
            .with_hidden(8)
            .init(4, &device());
        let features = Tensor::<3>::random([2, 3, 4], Distribution::Normal(0.0, 1.0), &device());
        let together = values(heads.forward(features.clone()));
        for trajectory in 0..2 {
            for step in 0..3 {
                let alone =
                    features
                        .clone()
                        .slice([trajectory..trajectory + 1, step..step + 1, 0..4]);
                let alone = values(heads.forward(alone));
                for (e, logit) in alone.into_iter().enumerate() {
                    let batched = together[e * 6 + trajectory * 3 + step];
                    assert!(
                        (logit - batched).abs() < 1e-6,
                        "head {e}: {logit} vs {batched}"
                    );
                }
            }
        }
    }

    #[test]
    fn heads_differ_and_init_scale_matches_the_spec() {
        let heads = EnsembleHeadsConfig::new()
            .with_num_heads(4)
            .with_hidden(128)
            .init(64, &device());
        let weights = values(heads.layers[0].weight.val());
        let n = weights.len() as f64;
        let mean = weights.iter().map(|&w| f64::from(w)).sum::<f64>() / n;
        let std = (weights
            .iter()
            .map(|&w| (f64::from(w) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let expected = 1.0 / (2.0 * 64f64.sqrt());
        assert!(
            (std - expected).abs() < 0.05 * expected,
            "std {std} vs {expected}"
        );
        let logits = heads.forward(Tensor::ones([1, 1, 64], &device()));
        let per_head = logits.into_data().try_into_vec::<f32>().unwrap();
        assert!(per_head.windows(2).any(|w| (w[0] - w[1]).abs() > 1e-4));
        let biases = values(heads.layers[1].bias.val());
        assert!(biases.iter().all(|&b| b == 0.0));
    }

    #[test]
    fn anchor_penalty_is_zero_at_init_and_grows_when_weights_move() {
        let heads = EnsembleHeadsConfig::new()
            .with_num_heads(2)
            .with_hidden(4)
            .init(3, &device());
        let at_init = heads.anchor_penalty().into_scalar::<f32>();
        assert_eq!(at_init, 0.0);
        let mut moved = heads.clone();
        moved.layers[2].bias = Param::from_tensor(moved.layers[2].bias.val() + 1.0);
        // Only the 2 output biases moved by 1: mean over all 2·(3·4+4 + 4·4+4 + 4+1) = 82 elements.
        let penalty = moved.anchor_penalty().into_scalar::<f32>();
        assert!((penalty - 2.0 / 82.0).abs() < 1e-6, "penalty {penalty}");
    }

    #[test]
    fn same_seed_same_heads() {
        let a = EnsembleHeadsConfig::new()
            .with_num_heads(2)
            .with_hidden(4)
            .init(3, &device());
        let b = EnsembleHeadsConfig::new()
            .with_num_heads(2)
            .with_hidden(4)
            .init(3, &device());
        let x = Tensor::<3>::ones([1, 2, 3], &device());
        let (la, lb) = (a.forward(x.clone()), b.forward(x));
        assert_eq!(la.into_data(), lb.into_data());
    }

    /// A configuration written before the input norm existed reads as one without it.
    #[test]
    fn a_configuration_without_an_input_norm_reads() {
        let older = r#"{"num_heads": 4, "hidden": 8, "seed": 1}"#;
        let config: EnsembleHeadsConfig = serde_json::from_str(older).unwrap();
        assert_eq!(config.input_norm, None);
        let standardised =
            EnsembleHeadsConfig::new().with_input_norm(Some(InputNorm::Standardised));
        let written = serde_json::to_value(&standardised).unwrap();
        assert_eq!(written["input_norm"], "standardised");
        let read: EnsembleHeadsConfig = serde_json::from_value(written).unwrap();
        assert_eq!(read.input_norm, Some(InputNorm::Standardised));
    }
}
