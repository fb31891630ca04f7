//! The pretrained all-MiniLM-L6-v2 encoder against outside references: its configuration and
//! weights read, its hidden states and token ids match the NumPy reference
//! (scripts/bert_golden.py), and so do the step scores of a PRM around it with the reference's
//! heads; such a PRM checkpoints, and ProcessBench's long trajectories are windowed to its 512
//! positions.
//!
//! Needs the weights from scripts/fetch-backbone.sh (`$ACTPRM_BACKBONE` overrides where they
//! are) and, for the windowing test, the data sets from scripts/fetch-data.sh, so these tests
//! are ignored unless asked for (`cargo test -- --include-ignored`).

mod support;

use std::path::Path;

use actprm_core::batch::PrmInput;
use actprm_core::checkpoint::{CheckpointConfig, CheckpointFiles};
use actprm_core::data::read_processbench;
use actprm_core::encoding::{EncodedTrajectory, EncodingConfig, encode_trajectory};
use actprm_core::model::{
    Bert, BertConfig, EnsembleHeads, EnsembleHeadsConfig, EnsemblePrm, PrmBackbone,
    PrmBackboneConfig, PrmConfig, WeightsError,
};
use actprm_core::pretrained::{
    DEFAULT_SEPARATOR_INIT, PretrainedBackbone, PretrainedError, halve_f32_tensors,
};
use actprm_core::tokenizer::{SpecialTokensConfig, StepTokenizer};
use actprm_core::trajectory::Trajectory;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use support::{backbone_dir, data_dir};

/// How far the hidden states of the encoder halved to f16 may be from the reference's: they
/// were 2.3e-3 away.
const HALVED_TOLERANCE: f32 = 5e-3;

fn config() -> BertConfig {
    let text = std::fs::read_to_string(backbone_dir().join("config.json")).unwrap();
    BertConfig::from_hf_json(&text).unwrap()
}

fn minilm(config: &BertConfig) -> Result<Bert, WeightsError> {
    minilm_on(config, &Device::flex())
}

fn minilm_on(config: &BertConfig, device: &Device) -> Result<Bert, WeightsError> {
    config
        .init(device)
        .load_hf_file(&backbone_dir().join("model.safetensors"))
}

/// The devices whose compute paths the references check: plain flex, where the `cpu-kernels`
/// host kernels (GELU, the masked softmax) run when compiled in, and flex under autodiff,
/// where burn's own ops and its fused attention run, as in fine-tuning.
fn compute_paths() -> [(&'static str, Device); 2] {
    [
        ("flex", Device::flex()),
        ("flex under autodiff", Device::flex().autodiff()),
    ]
}

struct GoldenItem {
    text: String,
    ids: Vec<u32>,
    hidden: Vec<Vec<f32>>,
}

/// The reference written by scripts/bert_golden.py (NumPy, float64).
fn golden() -> Vec<GoldenItem> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../src/model/bert/minilm_golden.json")).unwrap();
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| GoldenItem {
            text: item["text"].as_str().unwrap().to_string(),
            ids: serde_json::from_value(item["ids"].clone()).unwrap(),
            hidden: serde_json::from_value(item["hidden"].clone()).unwrap(),
        })
        .collect()
}

#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn the_config_reads_from_a_hugging_face_config_json() {
    assert_eq!(config(), BertConfig::new());
}

/// The largest difference between `bert`'s hidden states (on `device`) and the reference's,
/// over both items in one padded batch, so that the attention mask is checked too.
fn max_difference_from_the_reference(bert: &Bert, device: &Device) -> f32 {
    let items = golden();
    let seq_len = items.iter().map(|item| item.ids.len()).max().unwrap();
    let mut ids = Vec::new();
    let mut padding = Vec::new();
    for item in &items {
        for position in 0..seq_len {
            ids.push(item.ids.get(position).map_or(0, |&id| i64::from(id)));
            padding.push(position >= item.ids.len());
        }
    }
    let shape = [items.len(), seq_len];
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, shape), device);
    let padding = Tensor::<2, Bool>::from_data(TensorData::new(padding, shape), device);
    let hidden = bert
        .forward(tokens, Bert::padding_mask(padding))
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let width = config().hidden_size;
    let mut max_difference = 0.0f32;
    for (b, item) in items.iter().enumerate() {
        for (position, expected) in item.hidden.iter().enumerate() {
            let start = (b * seq_len + position) * width;
            for (got, want) in hidden[start..start + width].iter().zip(expected) {
                max_difference = max_difference.max((got - want).abs());
            }
        }
    }
    max_difference
}

#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn minilm_hidden_states_match_the_numpy_reference() {
    // No dropout: under autodiff it would be drawn.
    let config = config().with_hidden_dropout_prob(0.0);
    for (path, device) in compute_paths() {
        let bert = minilm_on(&config, &device).unwrap();
        let max_difference = max_difference_from_the_reference(&bert, &device);
        eprintln!("{path}: max |rust - numpy| over the hidden states: {max_difference:e}");
        assert!(
            max_difference <= 1e-4,
            "{path}: max abs difference {max_difference}"
        );
    }
}

/// The encoder halved to f16 (as the web app serves it) loads, and its hidden states stay near
/// the reference's, rounded (more than 1e-4 away) but within [`HALVED_TOLERANCE`].
#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn minilm_halved_to_f16_stays_near_the_numpy_reference() {
    let weights = std::fs::read(backbone_dir().join("model.safetensors")).unwrap();
    let halved = halve_f32_tensors(&weights, "model.safetensors").unwrap();
    let bert = config()
        .init(&Device::flex())
        .load_hf_bytes(halved)
        .unwrap();
    let max_difference = max_difference_from_the_reference(&bert, &Device::flex());
    eprintln!("max |rust f16 - numpy| over the hidden states: {max_difference:e}");
    assert!(
        (1e-4..=HALVED_TOLERANCE).contains(&max_difference),
        "max abs difference {max_difference}"
    );
}

#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn the_tokenizer_gives_the_reference_ids() {
    let text = std::fs::read_to_string(backbone_dir().join("tokenizer.json")).unwrap();
    let tokenizer = StepTokenizer::from_json(&text, &SpecialTokensConfig::new()).unwrap();
    for item in golden() {
        let ids = tokenizer.encode_text(&item.text).unwrap();
        // The reference adds [CLS] and [SEP] around the text.
        assert_eq!(ids, item.ids[1..item.ids.len() - 1], "{}", item.text);
    }
    assert_eq!(tokenizer.cls_id(), 101);
    assert_eq!(
        tokenizer.vocab_size(),
        30523,
        "the step separator is a new token"
    );
}

#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn a_checkpoint_that_does_not_fit_names_its_tensors() {
    let wider = config().with_intermediate_size(1000);
    let error = minilm(&wider).unwrap_err().to_string();
    assert!(
        error.contains(
            "encoder.layer.0.intermediate.dense.weight has shape [1536, 384], the \
             configuration needs [1000, 384]"
        ),
        "{error}"
    );
    let deeper = config().with_num_hidden_layers(7);
    let error = minilm(&deeper).unwrap_err().to_string();
    assert!(
        error.contains("encoder.layer.6.attention.self.query.weight")
            && error.contains("encoder.layer.6.output.LayerNorm.bias"),
        "{error}"
    );
    let missing = config()
        .init(&Device::flex())
        .load_hf_file(std::path::Path::new("/nonexistent/model.safetensors"))
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("/nonexistent/model.safetensors")
    );
}

/// MiniLM with the separator added scores every step of a trajectory, and a checkpoint of
/// it scores the same after a save and a load.
#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn minilm_becomes_an_ensemble_prm_that_checkpoints() {
    let device = Device::flex();
    let special = SpecialTokensConfig::new();
    let pretrained =
        PretrainedBackbone::bert(&backbone_dir(), &special, DEFAULT_SEPARATOR_INIT, &device)
            .unwrap();
    let (PrmBackboneConfig::Bert(bert_config), PrmBackbone::Bert(bert)) =
        (&pretrained.config, &pretrained.backbone)
    else {
        panic!("MiniLM is a BERT encoder");
    };
    assert_eq!(bert_config.vocab_size, 30523);
    assert_eq!(bert.vocab_size(), 30523);
    assert_eq!(pretrained.tokenizer.separator_id(), 30522);

    let config = PrmConfig::new(bert_config.clone().with_hidden_dropout_prob(0.0).into())
        .with_heads(EnsembleHeadsConfig::new().with_num_heads(4));
    let model = config.init_around(pretrained.backbone.clone(), &device);
    let trajectory = Trajectory {
        question: "Natalia sold 48 clips in April and half as many in May.".into(),
        steps: vec![
            "In May she sold 48 / 2 = 24 clips.".into(),
            "In all, 48 + 24 = 72.".into(),
        ],
        label: None,
    };
    let encoding = EncodingConfig::new();
    let encoded = encode_trajectory(&pretrained.tokenizer, &trajectory, &encoding).unwrap();
    let input = PrmInput::new(
        std::slice::from_ref(&encoded),
        pretrained.tokenizer.pad_id(),
        &device,
    );
    let scores = model.score(&input);
    assert_eq!(scores[0].num_steps(), 2);
    assert_eq!(scores[0].heads.len(), 4);

    // The same encoder built from its files' contents, as a browser fetches them.
    let read = |name: &str| std::fs::read(backbone_dir().join(name)).unwrap();
    let text = |name: &str| String::from_utf8(read(name)).unwrap();
    let from_bytes = PretrainedBackbone::bert_from_bytes(
        text("config.json"),
        text("tokenizer.json"),
        read("model.safetensors"),
        &special,
        DEFAULT_SEPARATOR_INIT,
        &device,
    )
    .unwrap();
    assert_eq!(
        from_bytes.tokenizer.vocab_size(),
        pretrained.tokenizer.vocab_size()
    );
    let model_from_bytes = config.init_around(from_bytes.backbone, &device);
    assert_eq!(model_from_bytes.score(&input), scores);

    let checkpoint = CheckpointConfig::new(config, encoding);
    let files = CheckpointFiles::from_model(&model, &checkpoint, &pretrained.tokenizer).unwrap();
    let reloaded = files.load(&device).unwrap();
    let input = PrmInput::new(
        std::slice::from_ref(&encoded),
        reloaded.tokenizer.pad_id(),
        &device,
    );
    assert_eq!(reloaded.model.score(&input), scores);
}

/// Within MiniLM's 512 positions, every step of every ProcessBench olympiadbench
/// trajectory gets a place to be scored, and the long ones are read in several windows.
#[test]
#[ignore = "needs all-MiniLM-L6-v2 and the data sets: run scripts/fetch-backbone.sh and scripts/fetch-data.sh"]
fn processbench_olympiad_traces_are_windowed_to_the_encoder() {
    let tokenizer_json = std::fs::read_to_string(backbone_dir().join("tokenizer.json")).unwrap();
    let tokenizer = StepTokenizer::from_json(&tokenizer_json, &SpecialTokensConfig::new()).unwrap();
    let path = data_dir().join("processbench/olympiadbench.json");
    let items = read_processbench(
        &path.display().to_string(),
        &std::fs::read_to_string(&path).unwrap(),
    )
    .unwrap();
    let config = EncodingConfig::for_encoder(512);
    let mut windowed = 0;
    for item in &items {
        let encoded = encode_trajectory(&tokenizer, &item.trajectory, &config).unwrap();
        assert_eq!(encoded.num_steps(), item.trajectory.num_steps());
        assert!(encoded.windows.iter().all(|window| window.len() <= 512));
        for at in &encoded.step_positions {
            assert_eq!(
                encoded.windows[at.window][at.position],
                tokenizer.separator_id()
            );
        }
        windowed += usize::from(encoded.windows.len() > 1);
    }
    println!("{windowed} of {} trajectories windowed", items.len());
    assert!(windowed > items.len() / 10, "{windowed} of {}", items.len());
}

#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn a_missing_directory_says_how_to_get_the_backbone() {
    let error = PretrainedBackbone::bert(
        Path::new("/nonexistent"),
        &SpecialTokensConfig::new(),
        DEFAULT_SEPARATOR_INIT,
        &Device::flex(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("/nonexistent/config.json") && error.contains("fetch-backbone"),
        "{error}"
    );
    let unknown = PretrainedBackbone::bert(
        &backbone_dir(),
        &SpecialTokensConfig::new(),
        "[NO-SUCH-TOKEN]",
        &Device::flex(),
    )
    .unwrap_err();
    assert!(matches!(unknown, PretrainedError::UnknownInitToken(_)));
}

/// One trajectory of the step-score reference: its text, and what the reference built and
/// scored.
#[derive(serde::Deserialize)]
struct GoldenTrajectory {
    question: String,
    steps: Vec<String>,
    ids: Vec<u32>,
    separator_positions: Vec<usize>,
    /// `probabilities[e][j]`.
    probabilities: Vec<Vec<f32>>,
}

/// The step scores' reference: how the separator's embedding starts, the heads' weights, and
/// the trajectories with their scores.
#[derive(serde::Deserialize)]
struct StepScoresGolden {
    separator_init: String,
    heads: Vec<GoldenLayer>,
    trajectories: Vec<GoldenTrajectory>,
}

/// One head layer of the reference: `weight[e][in][out]`, `bias[e][out]`.
#[derive(serde::Deserialize)]
struct GoldenLayer {
    weight: Vec<Vec<Vec<f32>>>,
    bias: Vec<Vec<f32>>,
}

/// Separator, encoding, encoder, step gathering and heads together give the step scores
/// that scripts/bert_golden.py computes independently with NumPy, both trajectories in one
/// padded batch.
#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn minilm_step_scores_match_the_numpy_reference() {
    let golden: StepScoresGolden =
        serde_json::from_str(include_str!("../src/minilm_step_scores_golden.json")).unwrap();
    for (path, device) in compute_paths() {
        let max_difference = max_step_score_difference(&golden, &device);
        eprintln!("{path}: max |rust - numpy| over the step probabilities: {max_difference:e}");
        assert!(
            max_difference <= 1e-4,
            "{path}: max abs difference {max_difference}"
        );
    }
}

/// The largest difference between the step probabilities of the reference's model, built on
/// `device`, and the reference's.
fn max_step_score_difference(golden: &StepScoresGolden, device: &Device) -> f32 {
    let pretrained = PretrainedBackbone::bert(
        &backbone_dir(),
        &SpecialTokensConfig::new(),
        &golden.separator_init,
        device,
    )
    .unwrap();
    let layers = golden
        .heads
        .iter()
        .map(|layer| {
            let heads = layer.weight.len();
            let (fan_in, fan_out) = (layer.weight[0].len(), layer.bias[0].len());
            let weight: Vec<f32> = layer.weight.iter().flatten().flatten().copied().collect();
            let bias: Vec<f32> = layer.bias.iter().flatten().copied().collect();
            (
                TensorData::new(weight, [heads, fan_in, fan_out]),
                TensorData::new(bias, [heads, 1, fan_out]),
            )
        })
        .collect();
    let model = EnsemblePrm::from_parts(
        pretrained.backbone,
        EnsembleHeads::from_weights(layers, device),
    );

    let encoding = EncodingConfig::for_encoder(512);
    let encoded: Vec<EncodedTrajectory> = golden
        .trajectories
        .iter()
        .map(|item| {
            let trajectory = Trajectory {
                question: item.question.clone(),
                steps: item.steps.clone(),
                label: None,
            };
            let encoded = encode_trajectory(&pretrained.tokenizer, &trajectory, &encoding).unwrap();
            assert_eq!(encoded.windows, std::slice::from_ref(&item.ids));
            let positions: Vec<usize> = encoded
                .step_positions
                .iter()
                .map(|at| at.position)
                .collect();
            assert_eq!(positions, item.separator_positions);
            encoded
        })
        .collect();
    let scores = model.score(&PrmInput::new(
        &encoded,
        pretrained.tokenizer.pad_id(),
        device,
    ));
    let mut max_difference = 0.0f32;
    for (got, item) in scores.iter().zip(&golden.trajectories) {
        assert_eq!(got.heads.len(), item.probabilities.len());
        for (got, want) in got
            .heads
            .iter()
            .flatten()
            .zip(item.probabilities.iter().flatten())
        {
            max_difference = max_difference.max((got - want).abs());
        }
    }
    max_difference
}
