//! A pretrained decoder as the backbone, end to end: `run` with `--backbone PATH` on the tiny
//! random Llama of core's tests (as a Hugging Face directory and as a GGUF file), and `score`
//! with the checkpoint it writes, whose tokenizer keeps the decoder's `"\n\n"` separator.

mod common;

use std::path::PathBuf;

use common::{actprm, actprm_refused, scratch};

fn tiny_decoder(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data/decoders")
        .join(name)
        .display()
        .to_string()
}

fn run_with(backbone: &str, out: &std::path::Path, extra: &[&str]) {
    let mut args = vec![
        "--device",
        "cpu",
        "run",
        "--backbone",
        backbone,
        "--freeze-backbone",
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
    actprm(&args);
}

#[test]
fn a_decoder_directory_trains_heads_and_its_checkpoint_scores() {
    let dir = scratch("decoder-dir");
    let out = dir.join("run");
    run_with(&tiny_decoder("tiny-llama"), &out, &[]);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["special_tokens"]["separator"], "\n\n", "{config}");
    assert_eq!(config["special_tokens"]["separator_token"], "existing");
    assert_eq!(config["encoding"]["question_end"], "separated");
    assert_eq!(config["model"]["backbone"]["Decoder"]["family"], "llama");

    let scored = actprm(&[
        "--device",
        "cpu",
        "score",
        "--checkpoint",
        out.join("checkpoint").to_str().unwrap(),
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
    std::fs::remove_dir_all(&dir).ok();
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
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/config.json")).unwrap())
            .unwrap();
    let decoder = &config["model"]["backbone"]["Decoder"];
    assert_eq!(
        (
            decoder["family"].as_str(),
            decoder["feature_layer"].as_u64()
        ),
        (Some("qwen2"), Some(1))
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn decoder_settings_are_refused_where_they_do_not_apply() {
    let refused = actprm_refused(&["--device", "cpu", "run", "--feature-layer", "2"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--feature-layer picks a decoder's layer"),
        "{stderr}"
    );
    let refused = actprm_refused(&[
        "--device",
        "cpu",
        "run",
        "--backbone",
        "/nonexistent/model.gguf",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("/nonexistent/model.gguf") && stderr.contains("No such file"),
        "{stderr}"
    );
    let too_deep = actprm_refused(&[
        "--device",
        "cpu",
        "run",
        "--backbone",
        &tiny_decoder("tiny-llama"),
        "--feature-layer",
        "3",
    ]);
    let stderr = String::from_utf8_lossy(&too_deep.stderr);
    assert!(
        stderr.contains("feature_layer") && stderr.contains("1 to 2"),
        "{stderr}"
    );
}
