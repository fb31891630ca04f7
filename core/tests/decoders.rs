//! The Llama-family decoder against `transformers`: tiny randomly initialised Llama and Qwen2
//! models, written with their hidden states and tokenizers by scripts/decoder_golden.py (files
//! under tests/data/decoders), read back from safetensors (one file or shards) and from GGUF,
//! compared hidden state by hidden state; then the decoder as a PRM backbone, reading every
//! step with its prefix in one pass.

use std::path::{Path, PathBuf};

use actprm_core::batch::PrmInput;
use actprm_core::encoding::{EncodedTrajectory, EncodingConfig, StepReading, encode_trajectory};
use actprm_core::features::{PrefixTree, compute_features};
use actprm_core::model::{
    Decoder, DecoderConfig, EnsemblePrm, PrmBackbone, PrmBackboneConfig, PrmConfig, StepFeature,
};
use actprm_core::pretrained::{DecoderOptions, PretrainedBackbone, SafetensorsFiles};
use actprm_core::{NamedChoice, Trajectory};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::Deserialize;

/// Largest difference allowed from `transformers`' hidden states.
const TOLERANCE: f32 = 1e-4;

#[derive(Deserialize)]
struct Golden {
    prompts: Vec<Prompt>,
}

#[derive(Deserialize)]
struct Prompt {
    input_ids: Vec<i64>,
    /// `[layer][position][width]`, as `transformers`' `output_hidden_states`.
    hidden_states: Vec<Vec<Vec<f32>>>,
}

fn data_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/decoders")
        .join(name)
}

fn golden(model: &str) -> Golden {
    let text = std::fs::read_to_string(data_dir(model).join("hidden_states.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hf_config(model: &str) -> DecoderConfig {
    let text = std::fs::read_to_string(data_dir(model).join("config.json")).unwrap();
    DecoderConfig::from_hf_json(&text).unwrap()
}

/// Every row's hidden states, `[row][position][width]`, reading `rows` padded at the end.
fn read(decoder: &Decoder, rows: &[&[i64]], device: &Device) -> Vec<Vec<Vec<f32>>> {
    let seq_len = rows.iter().map(|row| row.len()).max().unwrap();
    let mut ids = Vec::new();
    let mut padding = Vec::new();
    for row in rows {
        ids.extend(
            row.iter()
                .copied()
                .chain(std::iter::repeat(0))
                .take(seq_len),
        );
        padding.extend((0..seq_len).map(|i| i >= row.len()));
    }
    let shape = [rows.len(), seq_len];
    let hidden = decoder.forward(
        Tensor::<2, Int>::from_data(TensorData::new(ids, shape), device),
        Tensor::<2, Bool>::from_data(TensorData::new(padding, shape), device),
    );
    let width = hidden.dims()[2];
    let flat: Vec<f32> = hidden.into_data().try_to_vec().unwrap();
    flat.chunks(seq_len * width)
        .zip(rows)
        .map(|(row, ids)| {
            row.chunks(width)
                .take(ids.len())
                .map(<[f32]>::to_vec)
                .collect()
        })
        .collect()
}

fn max_difference(ours: &[Vec<f32>], theirs: &[Vec<f32>]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .flatten()
        .zip(theirs.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Every hidden state `transformers` reports, layer by layer, for each prompt alone and for all
/// prompts batched with padding.
fn assert_matches_transformers(weights: &str, golden_model: &str) {
    let device = Device::flex();
    let golden = golden(golden_model);
    let config = hf_config(weights);
    for layer in 1..=config.num_hidden_layers {
        let feature_layer = (layer < config.num_hidden_layers).then_some(layer);
        let decoder = config
            .clone()
            .with_feature_layer(feature_layer)
            .load(SafetensorsFiles::open(&data_dir(weights)).unwrap(), &device)
            .unwrap();
        let rows: Vec<&[i64]> = golden.prompts.iter().map(|p| &p.input_ids[..]).collect();
        let batched = read(&decoder, &rows, &device);
        for (prompt, batched) in golden.prompts.iter().zip(&batched) {
            let alone = read(&decoder, &[&prompt.input_ids], &device).remove(0);
            let expected = &prompt.hidden_states[layer];
            for (how, ours) in [("alone", &alone), ("batched", batched)] {
                let difference = max_difference(ours, expected);
                assert!(
                    difference <= TOLERANCE,
                    "{weights}, layer {layer}, {} tokens read {how}: differs by {difference}",
                    prompt.input_ids.len()
                );
            }
        }
    }
}

#[test]
fn tiny_llama_matches_transformers() {
    assert_matches_transformers("tiny-llama", "tiny-llama");
}

#[test]
fn tiny_llama_from_shards_matches_transformers() {
    assert_matches_transformers("tiny-llama-sharded", "tiny-llama");
}

#[test]
fn tiny_qwen2_with_biases_and_grouped_queries_matches_transformers() {
    assert_matches_transformers("tiny-qwen2", "tiny-qwen2");
}

fn decoder_config(backbone: &PretrainedBackbone) -> DecoderConfig {
    match &backbone.config {
        PrmBackboneConfig::Decoder(config) => config.clone(),
        other => panic!("not a decoder: {other:?}"),
    }
}

/// The backbone's last hidden state of each golden prompt, read alone.
fn assert_last_layer_matches(backbone: &PretrainedBackbone, golden_model: &str) {
    let PrmBackbone::Decoder(decoder) = &backbone.backbone else {
        panic!("not a decoder");
    };
    let device = Device::flex();
    for prompt in golden(golden_model).prompts {
        let ours = read(decoder, &[&prompt.input_ids], &device).remove(0);
        let difference = max_difference(&ours, prompt.hidden_states.last().unwrap());
        assert!(
            difference <= TOLERANCE,
            "{golden_model}: differs by {difference}"
        );
    }
}

/// A GGUF file, its configuration and tokenizer from the metadata and its query and key rows
/// put back in order, reads as the checkpoint it was converted from; its tokenizer, rebuilt
/// from the metadata, gives the ids of the one `transformers` built from the same file.
#[test]
fn tiny_gguf_files_read_as_their_checkpoints() {
    let device = Device::flex();
    for model in ["tiny-llama", "tiny-qwen2"] {
        let options = DecoderOptions::default();
        let from_gguf =
            PretrainedBackbone::decoder(&data_dir(&format!("{model}.gguf")), &options, &device)
                .unwrap();
        let from_dir = PretrainedBackbone::decoder(&data_dir(model), &options, &device).unwrap();
        let (gguf_config, dir_config) = (decoder_config(&from_gguf), decoder_config(&from_dir));
        assert!((gguf_config.rms_norm_eps - dir_config.rms_norm_eps).abs() < 1e-12);
        assert_eq!(
            gguf_config.with_rms_norm_eps(dir_config.rms_norm_eps),
            dir_config,
            "{model}: GGUF stores ε in f32"
        );
        assert_last_layer_matches(&from_gguf, model);
        assert_last_layer_matches(&from_dir, model);
        for text in [
            "the cat is 1 + 2 = 3",
            "\n\nWhat is 12 + 3?",
            " a:b,c.d",
            "Ss 1 1",
        ] {
            assert_eq!(
                from_gguf.tokenizer.encode_text(text).unwrap(),
                from_dir.tokenizer.encode_text(text).unwrap(),
                "{model}: {text:?}"
            );
        }
        let separator = from_dir.tokenizer.separator_id();
        assert_eq!(from_dir.tokenizer.encode_text("\n\n").unwrap(), [separator]);
        assert_eq!(from_gguf.tokenizer.separator_id(), separator);
        assert_eq!(from_dir.tokenizer.vocab_size(), 96, "nothing is added");
    }
}

fn tiny_prm(model: &str, device: &Device) -> (PretrainedBackbone, EnsemblePrm) {
    tiny_prm_reading(model, StepFeature::Separator, device)
}

fn tiny_prm_reading(
    model: &str,
    step_feature: StepFeature,
    device: &Device,
) -> (PretrainedBackbone, EnsemblePrm) {
    let options = DecoderOptions {
        step_feature,
        ..DecoderOptions::default()
    };
    let pretrained = PretrainedBackbone::decoder(&data_dir(model), &options, device).unwrap();
    let prm =
        PrmConfig::new(pretrained.config.clone()).init_around(pretrained.backbone.clone(), device);
    (pretrained, prm)
}

/// `[step][feature]` of one encoded trajectory.
fn step_features(
    prm: &EnsemblePrm,
    encoded: &EncodedTrajectory,
    pad: u32,
    device: &Device,
) -> Vec<Vec<f32>> {
    let input = PrmInput::new(std::slice::from_ref(encoded), pad, device);
    let features = prm.step_features(&input);
    let width = features.dims()[2];
    let flat: Vec<f32> = features.into_data().try_to_vec().unwrap();
    flat.chunks(width)
        .take(encoded.num_steps())
        .map(<[f32]>::to_vec)
        .collect()
}

fn trajectory(steps: &[&str]) -> Trajectory {
    Trajectory {
        question: "What is 12 + 3?".to_string(),
        steps: steps.iter().map(ToString::to_string).collect(),
        label: None,
    }
}

/// Read in one pass, every step's feature equals the feature of that step read with its
/// prefix alone: the decoder's hidden state at a separator has seen nothing after it.
#[test]
fn one_pass_reads_each_step_as_its_prefix_alone() {
    let device = Device::flex();
    let readings = ["tiny-llama", "tiny-qwen2"].into_iter().flat_map(|model| {
        StepFeature::ALL
            .iter()
            .map(move |&feature| (model, feature))
    });
    for (model, step_feature) in readings {
        let (pretrained, prm) = tiny_prm_reading(model, step_feature, &device);
        let whole = pretrained.encoding.clone();
        assert_eq!(whole.reading, StepReading::Whole);
        let prefix = whole.clone().with_reading(StepReading::Prefix);
        let trajectory = trajectory(&["12 + 3 = 15.", "The answer is 15.", "So it is 15, is it?"]);
        let one_pass = encode_trajectory(&pretrained.tokenizer, &trajectory, &whole).unwrap();
        let per_prefix = encode_trajectory(&pretrained.tokenizer, &trajectory, &prefix).unwrap();
        assert_eq!((one_pass.windows.len(), per_prefix.windows.len()), (1, 3));
        let pad = pretrained.tokenizer.pad_id();
        let a = step_features(&prm, &one_pass, pad, &device);
        let b = step_features(&prm, &per_prefix, pad, &device);
        assert_eq!(a.len(), 3);
        assert!(
            max_difference(&a, &b) <= 1e-5,
            "{model}, {}: {}",
            step_feature.name(),
            max_difference(&a, &b)
        );
    }
}

/// With the mean added, a step's feature is the hidden state at its separator, then the mean of
/// the hidden states of its own tokens: neither the question's nor the separator's.
#[test]
fn the_mean_is_over_the_step_own_tokens() {
    let device = Device::flex();
    let (pretrained, prm) = tiny_prm_reading("tiny-qwen2", StepFeature::SeparatorAndMean, &device);
    let steps = ["12 + 3 = 15.", "The answer is 15."];
    let encoded = encode_trajectory(
        &pretrained.tokenizer,
        &trajectory(&steps),
        &pretrained.encoding,
    )
    .unwrap();
    let pad = pretrained.tokenizer.pad_id();
    let features = step_features(&prm, &encoded, pad, &device);
    let window: Vec<i64> = encoded.windows[0].iter().map(|&id| i64::from(id)).collect();
    let states = &read(prm_decoder(&prm), &[&window], &device)[0];
    let width = states[0].len();
    for (j, at) in encoded.step_positions.iter().enumerate() {
        let own = pretrained.tokenizer.encode_text(steps[j]).unwrap();
        assert_eq!(
            encoded.windows[0][at.start..at.position],
            own[..],
            "step {j}'s tokens"
        );
        let mean: Vec<f32> = (0..width)
            .map(|d| {
                let sum: f32 = states[at.start..at.position].iter().map(|s| s[d]).sum();
                sum / (at.position - at.start) as f32
            })
            .collect();
        let expected = [states[at.position].clone(), mean].concat();
        assert_eq!(features[j].len(), 2 * width);
        let difference = max_difference(&features[j..=j], &[expected]);
        assert!(difference <= 1e-5, "step {j}: differs by {difference}");
    }
}

fn prm_decoder(prm: &EnsemblePrm) -> &Decoder {
    match prm.backbone() {
        PrmBackbone::Decoder(decoder) => decoder,
        _ => panic!("a decoder"),
    }
}

/// A trajectory longer than a window is read in windows, as an encoder's is; each step's
/// feature is that of its window cut after its separator.
#[test]
fn a_long_trajectory_is_read_in_windows_each_step_with_what_precedes_it() {
    let device = Device::flex();
    let (pretrained, prm) = tiny_prm("tiny-llama", &device);
    let steps: Vec<String> = (1..=12)
        .map(|i| format!("Step {i}: 1 + {i} = {}.", i + 1))
        .collect();
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    let config = EncodingConfig::for_decoder(48);
    let encoded = encode_trajectory(&pretrained.tokenizer, &trajectory(&steps), &config).unwrap();
    assert!(
        encoded.windows.len() > 2,
        "{} windows",
        encoded.windows.len()
    );
    let pad = pretrained.tokenizer.pad_id();
    let features = step_features(&prm, &encoded, pad, &device);
    for (j, at) in encoded.step_positions.iter().enumerate() {
        let cut = encoded.windows[at.window][..=at.position].to_vec();
        let alone = EncodedTrajectory::single_window(cut, &[at.position]);
        let feature = step_features(&prm, &alone, pad, &device);
        assert!(
            max_difference(&features[j..=j], &feature) <= 1e-5,
            "step {j} in window {}",
            at.window
        );
    }
}

/// Rows that continue each other, as PRM800K's do (each the one before and one more step, with
/// alternatives at every step), are read as a tree of prefixes with the decoder's key-value
/// cache, every distinct step once, and get the features each row has read alone.
#[test]
fn rows_sharing_prefixes_read_as_a_tree_get_their_own_features() {
    let device = Device::flex();
    let readings = ["tiny-llama", "tiny-qwen2"].into_iter().flat_map(|model| {
        StepFeature::ALL
            .iter()
            .map(move |&feature| (model, feature))
    });
    for (model, step_feature) in readings {
        let (pretrained, prm) = tiny_prm_reading(model, step_feature, &device);
        // Short steps: the tiny models read at most 64 positions.
        let chosen = ["1+2=3.", "So 3.", "It is 3.", "3.", "Thus 3.", "Is 3."];
        let mut rows = Vec::new();
        for depth in 0..chosen.len() {
            for alternative in ["1+2=4.", "2.", "Is 4?"] {
                let mut steps = chosen[..depth].to_vec();
                steps.push(alternative);
                rows.push(trajectory(&steps));
            }
            rows.push(trajectory(&chosen[..=depth]));
        }
        let mut other = trajectory(&chosen[..2]);
        other.question = "What is 1 + 2?".into();
        rows.push(other);
        let encoding = pretrained.encoding.clone();
        let encoded: Vec<EncodedTrajectory> = rows
            .iter()
            .map(|row| encode_trajectory(&pretrained.tokenizer, row, &encoding).unwrap())
            .collect();
        let tree = PrefixTree::of(&encoded).unwrap();
        let row_tokens: usize = encoded.iter().map(|e| e.windows[0].len()).sum();
        assert_eq!(
            tree.num_steps(),
            chosen.len() * 4 + 2,
            "each distinct step once"
        );
        assert!(
            tree.num_tokens() * 3 <= row_tokens,
            "{} of {row_tokens}",
            tree.num_tokens()
        );

        let pad = pretrained.tokenizer.pad_id();
        let shared = compute_features(&prm, &encoded, pad, 8, |_| {});
        for (row, features) in encoded.iter().zip(&shared) {
            let alone = compute_features(&prm, std::slice::from_ref(row), pad, 8, |_| {});
            assert_eq!(features.values.len(), alone[0].values.len());
            let difference = features
                .values
                .iter()
                .zip(alone[0].values.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                difference <= 1e-5,
                "{model}, {}: differs by {difference}",
                step_feature.name()
            );
        }
    }
}
