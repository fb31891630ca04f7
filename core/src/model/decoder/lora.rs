//! Low-rank adapters (LoRA) on a decoder's attention projections: a frozen projection `W x`
//! becomes `W x + (α / r) · B A x`, where `A` (`r × in`) starts random, `B` (`out × r`) starts
//! at zero, and only `A` and `B` are trained. The adapted decoder therefore starts exactly
//! where the pretrained one is, and a fine-tuning run trains `r · (in + out)` numbers per
//! projection instead of `in · out`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::module::linear;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::model::InvalidModelConfig;
use crate::model::validation::invalid;
use crate::named_choice::NamedChoice;
use crate::rng::SeededRng;

/// An attention projection an adapter can sit on, by its Hugging Face name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    /// The query projection.
    QProj,
    /// The key projection.
    KProj,
    /// The value projection.
    VProj,
    /// The attention's output projection.
    OProj,
}

impl NamedChoice for LoraTarget {
    const ALL: &'static [Self] = &[
        LoraTarget::QProj,
        LoraTarget::KProj,
        LoraTarget::VProj,
        LoraTarget::OProj,
    ];

    /// The projection's Hugging Face name, as the command line and files write it.
    fn name(self) -> &'static str {
        match self {
            LoraTarget::QProj => "q_proj",
            LoraTarget::KProj => "k_proj",
            LoraTarget::VProj => "v_proj",
            LoraTarget::OProj => "o_proj",
        }
    }
}

/// Configuration of the adapters of every layer a decoder computes.
#[derive(Config, Debug, PartialEq)]
pub struct LoraConfig {
    /// r, the adapters' rank.
    #[config(default = 8)]
    pub rank: usize,
    /// α: an adapter's output is scaled by α / r, so that the learning rate that suits one rank
    /// suits another.
    #[config(default = 16.0)]
    pub alpha: f64,
    /// The projections that carry an adapter, in every layer.
    #[config(default = "LoraTarget::ALL.to_vec()")]
    pub targets: Vec<LoraTarget>,
    /// How many of the layers computed carry adapters, counted from the last; `None` for all.
    /// The layers below the first adapter get no gradient, so a backward pass neither runs
    /// through them nor keeps their activations: adapting the top few layers of a deep
    /// decoder costs a fraction of adapting them all.
    #[config(default = "None")]
    pub layers: Option<usize>,
    /// Seed of the adapters' random half (`A`).
    #[config(default = 0)]
    pub seed: u64,
}

impl LoraConfig {
    /// An error naming the first setting the adapters cannot be built with. `narrowest` is the
    /// smallest width of any targeted projection's input or output, which bounds the rank;
    /// `computed` is the number of layers the decoder computes.
    pub fn validate(&self, narrowest: usize, computed: usize) -> Result<(), InvalidModelConfig> {
        if let Some(layers) = self.layers
            && !(1..=computed).contains(&layers)
        {
            return Err(invalid(
                "lora.layers",
                format!("is {layers}; the decoder computes layers 1 to {computed}"),
            ));
        }
        if !(1..=narrowest).contains(&self.rank) {
            return Err(invalid(
                "lora.rank",
                format!(
                    "is {}; it must be from 1 to {narrowest}, the narrowest adapted projection",
                    self.rank
                ),
            ));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(invalid(
                "lora.alpha",
                format!("must be finite and > 0, not {}", self.alpha),
            ));
        }
        if self.targets.is_empty() {
            return Err(invalid("lora.targets", "must name at least one projection"));
        }
        for (i, target) in self.targets.iter().enumerate() {
            if self.targets[..i].contains(target) {
                return Err(invalid(
                    "lora.targets",
                    format!("names {} twice", target.name()),
                ));
            }
        }
        Ok(())
    }

    /// The index of the first of `computed` layers that carries adapters.
    pub fn first_adapted_layer(&self, computed: usize) -> usize {
        computed - self.layers.unwrap_or(computed).min(computed)
    }

    /// Whether `target` carries an adapter.
    pub fn adapts(&self, target: LoraTarget) -> bool {
        self.targets.contains(&target)
    }

    /// The factor α / r of an adapter's output.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }
}

/// One low-rank adapter: `x ↦ scale · (x A) B`.
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// A, `[in, rank]`, drawn from N(0, 1 / in).
    down: Param<Tensor<2>>,
    /// B, `[rank, out]`, zero at first.
    up: Param<Tensor<2>>,
    scale: f64,
}

impl LoraAdapter {
    /// A fresh adapter from `d_input` to `d_output` features, whose output is zero.
    pub fn init(
        d_input: usize,
        d_output: usize,
        config: &LoraConfig,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        let std = (d_input as f64).sqrt().recip();
        let down: Vec<f32> = (0..d_input * config.rank)
            .map(|_| rng.normal(0.0, std) as f32)
            .collect();
        Self {
            down: Param::from_data(TensorData::new(down, [d_input, config.rank]), device),
            up: Param::from_data(TensorData::zeros::<f32, _>([config.rank, d_output]), device),
            scale: config.scale(),
        }
    }

    /// What the adapter adds to its projection's output.
    ///
    /// # Shapes
    ///
    /// - input: `[batch, seq_len, in]`
    /// - output: `[batch, seq_len, out]`
    pub fn forward(&self, input: Tensor<3>) -> Tensor<3> {
        let reduced = linear(input, self.down.val(), None);
        linear(reduced, self.up.val(), None).mul_scalar(self.scale)
    }
}

/// The adapters of one attention layer, each on the projection of its name.
#[derive(Module, Debug)]
pub struct AttentionAdapters {
    /// On the query projection.
    pub q_proj: Option<LoraAdapter>,
    /// On the key projection.
    pub k_proj: Option<LoraAdapter>,
    /// On the value projection.
    pub v_proj: Option<LoraAdapter>,
    /// On the output projection.
    pub o_proj: Option<LoraAdapter>,
}

impl AttentionAdapters {
    /// Fresh adapters on the projections `config` targets; `widths(target)` is a projection's
    /// `(in, out)`.
    pub fn init(
        config: &LoraConfig,
        widths: impl Fn(LoraTarget) -> (usize, usize),
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        let mut adapter = |target: LoraTarget| {
            config.adapts(target).then(|| {
                let (d_input, d_output) = widths(target);
                LoraAdapter::init(d_input, d_output, config, rng, device)
            })
        };
        Self {
            q_proj: adapter(LoraTarget::QProj),
            k_proj: adapter(LoraTarget::KProj),
            v_proj: adapter(LoraTarget::VProj),
            o_proj: adapter(LoraTarget::OProj),
        }
    }

    /// The adapter on `target`, if it has one.
    pub fn on(&self, target: LoraTarget) -> Option<&LoraAdapter> {
        match target {
            LoraTarget::QProj => self.q_proj.as_ref(),
            LoraTarget::KProj => self.k_proj.as_ref(),
            LoraTarget::VProj => self.v_proj.as_ref(),
            LoraTarget::OProj => self.o_proj.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_adapter_adds_nothing() {
        let device = Device::flex();
        let config = LoraConfig::new().with_rank(2);
        let adapter = LoraAdapter::init(6, 5, &config, &mut SeededRng::new(1), &device);
        let input = Tensor::<3>::ones([2, 3, 6], &device);
        let out = adapter
            .forward(input)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(out.len(), 2 * 3 * 5);
        assert!(out.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn an_adapter_computes_scaled_x_a_b() {
        let device = Device::flex();
        let config = LoraConfig::new().with_rank(1).with_alpha(3.0);
        let adapter = LoraAdapter {
            down: Param::from_data(TensorData::new(vec![1.0f32, 2.0], [2, 1]), &device),
            up: Param::from_data(TensorData::new(vec![1.0f32, -1.0, 0.5], [1, 3]), &device),
            scale: config.scale(),
        };
        let input = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 1.0], [1, 1, 2]), &device);
        let out = adapter
            .forward(input)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // x A = 3, times B = [3, -3, 1.5], times α / r = 3.
        assert_eq!(out, vec![9.0, -9.0, 4.5]);
    }

    #[test]
    fn settings_that_cannot_be_built_are_refused_naming_them() {
        let field = |config: LoraConfig| config.validate(16, 4).unwrap_err().field;
        assert_eq!(field(LoraConfig::new().with_rank(0)), "lora.rank");
        assert_eq!(field(LoraConfig::new().with_rank(17)), "lora.rank");
        assert_eq!(field(LoraConfig::new().with_alpha(0.0)), "lora.alpha");
        assert_eq!(field(LoraConfig::new().with_alpha(f64::NAN)), "lora.alpha");
        assert_eq!(
            field(LoraConfig::new().with_targets(vec![])),
            "lora.targets"
        );
        assert_eq!(
            field(LoraConfig::new().with_targets(vec![LoraTarget::VProj, LoraTarget::VProj])),
            "lora.targets"
        );
        assert_eq!(field(LoraConfig::new().with_layers(Some(0))), "lora.layers");
        assert_eq!(field(LoraConfig::new().with_layers(Some(5))), "lora.layers");
        assert!(LoraConfig::new().with_rank(16).validate(16, 4).is_ok());
        let top = LoraConfig::new().with_layers(Some(1));
        assert_eq!(top.first_adapted_layer(4), 3);
        assert_eq!(LoraConfig::new().first_adapted_layer(4), 0);
    }

    #[test]
    fn targets_read_and_write_their_hugging_face_names() {
        for &target in LoraTarget::ALL {
            assert_eq!(LoraTarget::from_name(target.name()), Some(target));
            let json = serde_json::to_string(&target).unwrap();
            assert_eq!(json, format!("\"{}\"", target.name()));
        }
        assert_eq!(LoraTarget::from_name("gate_proj"), None);
    }
}
