//! A pretrained decoder as the backbone, end to end: `run` with `--backbone PATH` on the tiny
//! random Llama of core's tests (as a Hugging Face directory and as a GGUF file), and `score`
//! with the checkpoint it writes, whose tokenizer keeps the decoder's `"\n\n"` separator; and
//! the same decoder fine-tuned through low-rank adapters.

mod common;

use std::path::PathBuf;

use common::{
    ONE_SEED_SWEEP, actprm, actprm_refused, kill_when, read_json, scratch, sweep_results, weights,
};

fn tiny_decoder(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data/decoders")
        .join(name)
        .display()
        .to_string()
}

/// `run` on the synthetic task with `backbone`, its heads trained on frozen features unless
/// `extra` says otherwise.
fn run_with(backbone: &str, out: &std::path::Path, extra: &[&str]) {
    let mut args = vec![
        "--device",
        "cpu",
        "run",
        "--backbone",
        backbone,
        "--pool-size",
        "32",
        "--eval-size",
        "16",
        "--heads",
        "2",
        "--batch-size",
        "16",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--lora-rank") {
        args.push("--freeze-backbone");
    }
    actprm(&args);
}

fn checkpoint_config(run: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("checkpoint/config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `score --count 3` with the checkpoint of `run`: one line of scores per problem.
fn score_lines(run: &std::path::Path) -> Vec<serde_json::Value> {
    let scored = actprm(&[
        "--device",
        "cpu",
        "score",
        "--checkpoint",
        run.join("checkpoint").to_str().unwrap(),
        "--count",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&scored.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines
            .iter()
            .all(|line| !line["scores"]["mean"].as_array().unwrap().is_empty()),
        "{stdout}"
    );
    lines
}

#[test]
fn a_decoder_directory_trains_heads_and_its_checkpoint_scores() {
    let dir = scratch("decoder-dir");
    let out = dir.join("run");
    run_with(&tiny_decoder("tiny-llama"), &out, &[]);
    let config = checkpoint_config(&out);
    assert_eq!(config["special_tokens"]["separator"], "\n\n", "{config}");
    assert_eq!(config["special_tokens"]["separator_token"], "existing");
    assert_eq!(config["encoding"]["question_end"], "separated");
    assert_eq!(config["model"]["backbone"]["Decoder"]["family"], "llama");
    assert!(config["model"]["backbone"]["Decoder"]["lora"].is_null());
    assert_holds_heads_alone(&out, "tiny-llama");
    score_lines(&out);
}

/// The checkpoint of `run` holds the heads alone, and names the decoder `name` by its absolute
/// path.
fn assert_holds_heads_alone(run: &std::path::Path, name: &str) {
    let config = checkpoint_config(run);
    let decoder = std::fs::canonicalize(tiny_decoder(name)).unwrap();
    let reference = &config["pretrained_backbone"];
    assert_eq!(reference["file"], decoder.display().to_string(), "{config}");
    assert_eq!(reference["sha256"].as_str().unwrap().len(), 64, "{config}");
    let tensors = weights(run);
    assert!(
        tensors.keys().all(|name| name.starts_with("heads.")),
        "{:?}",
        tensors.keys()
    );
}

/// Heads alone whose decoder is gone, or was replaced by other weights, are refused, naming
/// the decoder's path.
#[test]
fn heads_alone_without_their_decoder_are_refused() {
    let dir = scratch("decoder-moved");
    let decoder = dir.join("decoder.gguf");
    std::fs::copy(tiny_decoder("tiny-qwen2.gguf"), &decoder).unwrap();
    let out = dir.join("run");
    run_with(decoder.to_str().unwrap(), &out, &[]);
    let score = |what: &str| {
        let refused = actprm_refused(&[
            "--device",
            "cpu",
            "score",
            "--checkpoint",
            out.join("checkpoint").to_str().unwrap(),
            "--count",
            "1",
        ]);
        let stderr = String::from_utf8_lossy(&refused.stderr).to_string();
        assert!(stderr.contains("decoder.gguf"), "{what}: {stderr}");
        stderr
    };
    std::fs::copy(tiny_decoder("tiny-llama.gguf"), &decoder).unwrap();
    let other = score("other weights");
    assert!(
        other.contains("the heads were trained on a backbone whose"),
        "{other}"
    );
    std::fs::remove_file(&decoder).unwrap();
    let gone = score("gone");
    assert!(gone.contains("they read the decoder"), "{gone}");
}

/// A run on a frozen decoder saves its heads alone at every save, resumes from them, and ends
/// where a run never killed ends.
#[test]
fn a_killed_run_on_a_frozen_decoder_resumes_from_its_heads() {
    let dir = scratch("decoder-resume");
    let tiny = tiny_decoder("tiny-qwen2.gguf");
    let args = |out: &std::path::Path| -> Vec<String> {
        [
            "--device",
            "cpu",
            "run",
            "--backbone",
            &tiny,
            "--freeze-backbone",
            "--pool-size",
            "480",
            "--eval-size",
            "16",
            "--heads",
            "2",
            "--checkpoint-every",
            "5",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(str::to_string)
        .to_vec()
    };
    let reference = dir.join("reference");
    actprm(&args(&reference));
    let out = dir.join("killed");
    let state = out.join("resume/pass.json");
    let landed = kill_when(&args(&out), &state, |text| {
        text.contains("\"next_batch\": 10")
    });
    assert!(landed, "the run ended before its save at mini-batch 10");
    let resume = read_json(&out.join("resume/config.json"));
    assert!(resume["pretrained_backbone"].is_object(), "{resume}");
    let resumed = actprm(&args(&out));
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(stdout.contains("going on from mini-batch 10"), "{stdout}");
    assert_eq!(weights(&out), weights(&reference));
    assert_holds_heads_alone(&out, "tiny-qwen2.gguf");
}

/// Adapters trained with the heads are part of the checkpoint: its configuration names them,
/// and `score` rebuilds them to read its weights.
#[test]
fn a_decoder_fine_tuned_through_adapters_scores_from_its_checkpoint() {
    let dir = scratch("decoder-lora");
    let out = dir.join("run");
    run_with(
        &tiny_decoder("tiny-llama"),
        &out,
        &[
            "--lora-rank",
            "2",
            "--lora-targets",
            "q_proj,v_proj",
            "--lora-layers",
            "1",
        ],
    );
    let lora = &checkpoint_config(&out)["model"]["backbone"]["Decoder"]["lora"];
    assert_eq!(lora["rank"], 2, "{lora}");
    assert_eq!(lora["alpha"], 16.0, "{lora}");
    assert_eq!(lora["targets"], serde_json::json!(["q_proj", "v_proj"]));
    assert_eq!(lora["layers"], 1, "{lora}");
    score_lines(&out);
}

#[test]
fn a_gguf_decoder_reads_an_inner_layer() {
    let dir = scratch("decoder-gguf");
    let out = dir.join("run");
    run_with(
        &tiny_decoder("tiny-qwen2.gguf"),
        &out,
        &["--feature-layer", "1"],
    );
    let config = checkpoint_config(&out);
    let decoder = &config["model"]["backbone"]["Decoder"];
    assert_eq!(
        (
            decoder["family"].as_str(),
            decoder["feature_layer"].as_u64()
        ),
        (Some("qwen2"), Some(1))
    );
}

/// Heads on the separator's state and the mean of each step's token states: twice the
/// decoder's width, recorded with the heads, and read again by `score`.
#[test]
fn a_decoder_step_feature_adds_the_mean_of_the_step() {
    let dir = scratch("decoder-mean");
    let out = dir.join("run");
    run_with(
        &tiny_decoder("tiny-llama"),
        &out,
        &["--step-feature", "separator-and-mean"],
    );
    let config = checkpoint_config(&out);
    let decoder = &config["model"]["backbone"]["Decoder"];
    assert_eq!(decoder["step_feature"], "separator-and-mean", "{config}");
    let width = decoder["hidden_size"].as_u64().unwrap() as usize;
    let bytes = std::fs::read(out.join("checkpoint/model.safetensors")).unwrap();
    let shapes: Vec<Vec<usize>> = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(_, view)| view.shape().to_vec())
        .collect();
    assert!(
        shapes.iter().any(|shape| shape.contains(&(2 * width)))
            && !shapes.iter().any(|shape| shape.contains(&width)),
        "heads read {width}-wide states twice: {shapes:?}"
    );
    score_lines(&out);
}

#[test]
fn decoder_settings_are_refused_where_they_do_not_apply() {
    let tiny = tiny_decoder("tiny-llama");
    let on_tiny = |extra: &[&'static str]| {
        let mut args = vec!["--backbone", tiny.as_str()];
        args.extend_from_slice(extra);
        args
    };
    for (extra, expected) in [
        (
            vec!["--feature-layer", "2"],
            vec!["--feature-layer picks a decoder's layer"],
        ),
        (
            vec!["--backbone", "/nonexistent/model.gguf"],
            vec!["/nonexistent/model.gguf", "No such file"],
        ),
        (
            on_tiny(&["--feature-layer", "3"]),
            vec!["feature_layer", "1 to 2"],
        ),
        (
            vec!["--step-feature", "separator-and-mean"],
            vec!["--step-feature separator-and-mean reads a decoder's states"],
        ),
        (
            on_tiny(&["--step-feature", "mean"]),
            vec!["possible values: separator, separator-and-mean"],
        ),
        (
            vec!["--lora-rank", "2"],
            vec!["--lora-rank adapts a decoder's attention"],
        ),
        (
            on_tiny(&["--lora-rank", "2", "--freeze-backbone"]),
            vec!["which --freeze-backbone keeps fixed"],
        ),
        (vec!["--lora-alpha", "4"], vec!["--lora-rank <LORA_RANK>"]),
        (
            vec!["--lora-rank", "2", "--lora-targets", "gate_proj"],
            vec!["possible values: q_proj, k_proj, v_proj, o_proj"],
        ),
        (
            vec!["--lora-rank", "2", "--lora-alpha", "0"],
            vec!["α must be"],
        ),
        (on_tiny(&["--lora-rank", "1000"]), vec!["lora.rank"]),
        (
            on_tiny(&["--lora-rank", "2", "--lora-layers", "3"]),
            vec!["lora.layers", "1 to 2"],
        ),
    ] {
        let mut args = vec!["--device", "cpu", "run"];
        args.extend(extra.iter().copied());
        let refused = actprm_refused(&args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            expected.iter().all(|part| stderr.contains(part)),
            "{extra:?}: {stderr}"
        );
    }
}

/// A sweep reads the step features of each layer --feature-layers names, and the table
/// chooses among them on validation.
#[test]
fn a_sweep_chooses_the_feature_layer_on_validation() {
    let dir = scratch("decoder-layers");
    let out = dir.join("sweep");
    let tiny = tiny_decoder("tiny-llama");
    let mut args = vec![
        "--device",
        "cpu",
        "sweep",
        "--backbone",
        &tiny,
        "--freeze-backbone",
        "--feature-layers",
        "1,2",
        "--strategies",
        "full",
        "--jobs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(ONE_SEED_SWEEP);
    actprm(&args);
    let layers: Vec<u64> = sweep_results(&out)
        .iter()
        .map(|result| result["spec"]["feature_layer"].as_u64().unwrap())
        .collect();
    assert_eq!(layers, [1, 2]);
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| full")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].contains("layer 1 · every trajectory"), "{table}");
    assert!(rows[1].contains("layer 2 · every trajectory"), "{table}");
    assert_eq!(
        rows.iter().filter(|row| row.contains('✓')).count(),
        1,
        "{table}"
    );
}
