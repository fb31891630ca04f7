//! The gradients of one fine-tuning step against PyTorch's (scripts/finetune_golden.py): a tiny
//! random BERT with three heads reads two trajectories padded into one batch, and the gradient
//! of ActPRM's loss (classification with erroneous steps weighted, plus λ times the anchor
//! term, θ away from θ₀) with respect to every encoder and head parameter matches autograd's,
//! computed in float64. Runs on flex under autodiff, the path fine-tuning takes (with the
//! `cpu-kernels` feature, GELU and the attention's masked softmax on the host kernels, forward
//! and backward; without it, burn's ops and fused attention); the files are committed, so it
//! runs everywhere.

use std::collections::BTreeMap;
use std::path::Path;

use actprm_core::ProcessLabel;
use actprm_core::batch::{PrmInput, StepTargets};
use actprm_core::encoding::EncodedTrajectory;
use actprm_core::loss::{BootstrapMask, LossConfig};
use actprm_core::loss_steps::LossSteps;
use actprm_core::model::{Bert, BertConfig, EnsembleHeads, EnsemblePrm, PrmBackbone};
use actprm_core::rng::SeededRng;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::SafeTensors;
use serde::Deserialize;

/// The largest difference allowed between a gradient element and autograd's. The gradients are
/// of order 1e-2 (those of the key biases are 0: a softmax ignores a shift shared by every key),
/// and the measured differences at most 2.2e-8.
const TOLERANCE: f32 = 1e-6;

#[derive(Deserialize)]
struct Golden {
    pad_id: u32,
    anchor_weight: f64,
    error_weight: f64,
    trajectories: Vec<GoldenTrajectory>,
    loss: GoldenLoss,
}

#[derive(Deserialize)]
struct GoldenTrajectory {
    ids: Vec<u32>,
    separators: Vec<usize>,
    first_error: Option<usize>,
}

#[derive(Deserialize)]
struct GoldenLoss {
    total: f64,
    classification: f64,
    anchor: f64,
}

fn data_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/finetune"))
}

/// A float32 tensor of the golden file, with its shape.
fn tensor(file: &SafeTensors, name: &str) -> TensorData {
    let view = file.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().unwrap()))
        .collect();
    TensorData::new(values, view.shape().to_vec())
}

/// Every trained parameter's gradient, by its module path.
struct NamedGradients<'a> {
    gradients: &'a GradientsParams,
    path: Vec<String>,
    found: BTreeMap<String, TensorData>,
}

impl ModuleVisitor for NamedGradients<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.gradients.get::<D>(param.id) {
            self.found.insert(self.path.join("."), gradient.into_data());
        }
    }
}

/// The reference's name for a module path, and whether the module stores the tensor
/// transposed (a linear layer's `[in, out]` weight against PyTorch's `[out, in]`).
fn reference_name(path: &str) -> (String, bool) {
    if let Some(rest) = path.strip_prefix("heads.layers.") {
        return (format!("grad.heads.{rest}"), false);
    }
    let rest = path
        .strip_prefix("backbone.")
        .map(|rest| rest.strip_prefix("Bert.").unwrap_or(rest))
        .unwrap_or_else(|| panic!("an unexpected parameter {path}"));
    let name = rest
        .replace("layer_norm", "LayerNorm")
        .replace(".self_attention.", ".self.")
        .replace(".gamma", ".weight")
        .replace(".beta", ".bias");
    let linear_weight =
        name.ends_with(".weight") && !name.contains("LayerNorm") && !name.contains("embeddings.");
    (format!("grad.{name}"), linear_weight)
}

/// `values` of a `[rows, columns]` matrix, transposed.
fn transposed(values: &[f32], shape: &[usize]) -> Vec<f32> {
    let (rows, columns) = (shape[0], shape[1]);
    (0..columns)
        .flat_map(|c| (0..rows).map(move |r| values[r * columns + c]))
        .collect()
}

#[test]
fn a_fine_tuning_steps_gradients_match_pytorch_autograd() {
    let golden: Golden =
        serde_json::from_str(&std::fs::read_to_string(data_dir().join("golden.json")).unwrap())
            .unwrap();
    let reference_bytes = std::fs::read(data_dir().join("golden.safetensors")).unwrap();
    let reference = SafeTensors::deserialize(&reference_bytes).unwrap();
    let device = Device::flex().autodiff();

    let config =
        BertConfig::from_hf_json(&std::fs::read_to_string(data_dir().join("config.json")).unwrap())
            .unwrap();
    let bert: Bert = config
        .init(&device)
        .load_hf_file(&data_dir().join("model.safetensors"))
        .unwrap();
    let layers_of = |prefix: &str| -> Vec<(TensorData, TensorData)> {
        (0..3)
            .map(|i| {
                (
                    tensor(&reference, &format!("{prefix}.{i}.weight")),
                    tensor(&reference, &format!("{prefix}.{i}.bias")),
                )
            })
            .collect()
    };
    let heads =
        EnsembleHeads::from_weights_and_anchor(layers_of("heads"), layers_of("anchor"), &device);
    let model = EnsemblePrm::from_parts(PrmBackbone::Bert(bert), heads);

    let encoded: Vec<EncodedTrajectory> = golden
        .trajectories
        .iter()
        .map(|t| EncodedTrajectory::single_window(t.ids.clone(), &t.separators))
        .collect();
    let input = PrmInput::new(&encoded, golden.pad_id, &device);
    let labels: Vec<ProcessLabel> = golden
        .trajectories
        .iter()
        .map(|t| ProcessLabel::from_first_error(t.first_error))
        .collect();
    let targets = StepTargets::new(
        &labels,
        &input.step_counts,
        input.max_steps(),
        LossSteps::All,
        &device,
    );
    let bootstrap =
        BootstrapMask::sample(model.num_heads(), labels.len(), 1.0, &mut SeededRng::new(0));
    let loss = LossConfig::new()
        .with_anchor_weight(golden.anchor_weight)
        .with_error_weight(golden.error_weight)
        .loss(
            model.forward_counted(&input, &targets),
            &targets,
            &bootstrap,
            model.anchor_penalty(),
        )
        .unwrap();
    let scalar = |t: &Tensor<1>| f64::from(t.clone().into_data().try_to_vec::<f32>().unwrap()[0]);
    for (part, got, want) in [
        ("total", scalar(&loss.total), golden.loss.total),
        (
            "classification",
            scalar(&loss.classification),
            golden.loss.classification,
        ),
        ("anchor", scalar(&loss.anchor), golden.loss.anchor),
    ] {
        assert!(
            (got - want).abs() < 1e-6,
            "{part} loss {got}, autograd's {want}"
        );
    }

    let gradients = GradientsParams::from_grads(loss.total.backward(), &model);
    let mut named = NamedGradients {
        gradients: &gradients,
        path: Vec::new(),
        found: BTreeMap::new(),
    };
    model.visit(&mut named);
    let expected: Vec<String> = reference
        .names()
        .into_iter()
        .filter(|name| name.starts_with("grad."))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        named.found.len(),
        expected.len(),
        "gradients found: {:?}",
        named.found.keys().collect::<Vec<_>>()
    );
    let mut worst = (0.0f32, String::new());
    for (path, gradient) in &named.found {
        let (name, transpose) = reference_name(path);
        let want = tensor(&reference, &name).try_to_vec::<f32>().unwrap();
        let mut got = gradient.try_to_vec::<f32>().unwrap();
        if transpose {
            got = transposed(&got, &gradient.shape().to_vec());
        }
        assert_eq!(got.len(), want.len(), "{path} against {name}");
        let difference = got
            .iter()
            .zip(&want)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            difference <= TOLERANCE,
            "{path}: max |burn − autograd| {difference:e}"
        );
        if difference > worst.0 {
            worst = (difference, name);
        }
    }
    eprintln!(
        "{} gradients match autograd's; the largest difference is {:e} ({})",
        named.found.len(),
        worst.0,
        worst.1
    );
}
