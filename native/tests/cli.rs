//! The `actprm` binary end to end on tiny settings: run, score, and both evaluations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn actprm(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(args)
        .output()
        .expect("the actprm binary runs");
    assert!(
        output.status.success(),
        "actprm {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn shared_data() -> PathBuf {
    let dir = std::env::var_os("ACTPRM_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    assert!(
        dir.is_dir(),
        "the shared data directory {} is missing (set ACTPRM_SHARED_DATA)",
        dir.display()
    );
    dir
}

#[test]
fn run_then_score_and_evaluate() {
    let out = std::env::temp_dir().join(format!("actprm-cli-{}", std::process::id()));
    let out_str = out.to_str().unwrap();
    let run = actprm(&[
        "--device",
        "cpu",
        "run",
        "--pool-size",
        "48",
        "--eval-size",
        "16",
        "--heads",
        "3",
        "--d-model",
        "16",
        "--layers",
        "1",
        "--batch-size",
        "16",
        "--checkpoint-every",
        "2",
        "--out",
        out_str,
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("labels used:"), "{stdout}");
    assert!(stdout.contains("held-out F1"), "{stdout}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "one line per mini-batch");
    assert!(out.join("checkpoint/config.json").is_file());
    assert!(out.join("summary.json").is_file());

    let checkpoint = out.join("checkpoint");
    let checkpoint = checkpoint.to_str().unwrap();
    let scored = actprm(&[
        "--device",
        "cpu",
        "score",
        "--checkpoint",
        checkpoint,
        "--count",
        "3",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&scored.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let first = &lines[0];
    let steps = first["num_steps"].as_u64().unwrap() as usize;
    assert_eq!(first["scores"]["mean"].as_array().unwrap().len(), steps);
    assert_eq!(first["scores"]["heads"].as_array().unwrap().len(), 3);
    assert!(
        first["reason"].as_str().unwrap().starts_with("selected")
            || first["reason"].as_str().unwrap().starts_with("trusted")
    );

    let synthetic = actprm(&[
        "--device",
        "cpu",
        "eval",
        "synthetic",
        "--checkpoint",
        checkpoint,
        "--count",
        "8",
    ]);
    assert!(String::from_utf8_lossy(&synthetic.stdout).contains("F1"));

    let data = shared_data().join("processbench");
    let results = out.join("processbench.json");
    let bench = actprm(&[
        "--device",
        "cpu",
        "eval",
        "processbench",
        "--data",
        data.to_str().unwrap(),
        "--checkpoint",
        checkpoint,
        "--splits",
        "gsm8k,math",
        "--limit",
        "6",
        "--out",
        results.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&bench.stdout);
    assert!(
        table.contains("gsm8k") && table.contains("math") && table.contains("average"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    assert_eq!(json["splits"].as_array().unwrap().len(), 2);
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_missing_checkpoint_is_a_readable_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args([
            "--device",
            "cpu",
            "score",
            "--checkpoint",
            "/nonexistent/checkpoint",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/checkpoint") && stderr.contains("actprm run"),
        "{stderr}"
    );
}
