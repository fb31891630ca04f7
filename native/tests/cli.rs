//! The `actprm` binary end to end on tiny settings: run, score, both evaluations and filter.

mod common;

use std::path::Path;
use std::process::Command;

use common::{TINY_MODEL, actprm, actprm_refused, shared_data};

#[test]
fn run_then_score_and_evaluate() {
    let out = std::env::temp_dir().join(format!("actprm-cli-{}", std::process::id()));
    let out_str = out.to_str().unwrap();
    let run = actprm(
        &[
            "--device",
            "cpu",
            "run",
            "--pool-size",
            "48",
            "--eval-size",
            "16",
            "--checkpoint-every",
            "2",
            "--out",
            out_str,
        ]
        .into_iter()
        .chain(TINY_MODEL)
        .collect::<Vec<_>>(),
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("labels used:"), "{stdout}");
    assert!(stdout.contains("chosen on validation"), "{stdout}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "one line per mini-batch");
    let read_json = |path: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    // The τ chosen on validation is saved in the checkpoint and reported beside τ = 0.5.
    let config = read_json(&out.join("checkpoint/config.json"));
    let summary = read_json(&out.join("summary.json"));
    let record = read_json(&out.join("run.json"));
    assert_eq!(record["strategy"]["name"], "actprm", "{record}");
    assert_eq!(record["strategy"]["tau"], 0.5, "{record}");
    let chosen_tau = config["threshold"]["tau"].as_f64().unwrap();
    assert!(chosen_tau > 0.0 && chosen_tau < 1.0, "{config}");
    assert_eq!(summary["threshold"], config["threshold"]);
    assert_eq!(summary["held_out"]["tau"].as_f64(), Some(0.5));
    assert_eq!(
        summary["held_out_at_threshold"]["tau"].as_f64(),
        Some(chosen_tau)
    );
    assert!(summary["baselines"]["random_step"]["f1"].as_f64().unwrap() > 0.0);

    let again = actprm_refused(&["--device", "cpu", "run", "--out", out_str]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("holds a finished run") && stderr.contains("--force"),
        "{stderr}"
    );

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
    let raw = String::from_utf8_lossy(&scored.stdout);
    for line in raw.lines() {
        assert!(
            line.matches("\"reason\"").count() <= 1,
            "a key twice: {line}"
        );
    }
    let lines: Vec<serde_json::Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let first = &lines[0];
    let steps = first["num_steps"].as_u64().unwrap() as usize;
    assert_eq!(first["scores"]["mean"].as_array().unwrap().len(), steps);
    assert_eq!(first["scores"]["heads"].as_array().unwrap().len(), 3);
    let explanation = first["explanation"].as_str().unwrap();
    match first["verdict"].as_str().unwrap() {
        "selected" => {
            assert!(explanation.starts_with("selected"), "{explanation}");
            assert!(first["reason"]["step"].is_u64(), "{first}");
        }
        "trusted" => assert!(explanation.starts_with("trusted"), "{explanation}"),
        other => panic!("verdict {other}"),
    }

    // A full disk names the file it could not write.
    if Path::new("/dev/full").exists() {
        let full = actprm_refused(&[
            "--device",
            "cpu",
            "score",
            "--checkpoint",
            checkpoint,
            "--count",
            "3",
            "--out",
            "/dev/full",
        ]);
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert!(stderr.contains("writing /dev/full"), "{stderr}");
    }

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

    let cache = out.join("features");
    let cache_str = cache.to_str().unwrap();
    let data = shared_data().join("processbench");
    let results = out.join("processbench.json");
    // `eval processbench` on 6 items per split, written to `results`, with `extra` arguments.
    let processbench = |extra: &[&str]| {
        let mut args = vec![
            "--device",
            "cpu",
            "eval",
            "processbench",
            "--data",
            data.to_str().unwrap(),
            "--limit",
            "6",
            "--out",
            results.to_str().unwrap(),
            "--feature-cache",
            cache_str,
        ];
        args.extend_from_slice(extra);
        actprm(&args)
    };
    let bench = processbench(&["--checkpoint", checkpoint, "--splits", "gsm8k,math"]);
    let table = String::from_utf8_lossy(&bench.stdout);
    assert!(
        table.contains("gsm8k") && table.contains("math") && table.contains("average"),
        "{table}"
    );
    let json = read_json(&results);
    let splits = json["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 2);
    // By default at the checkpoint's validation τ, with τ = 0.5 beside it.
    assert_eq!(json["tau_source"]["from"], "validation");
    assert_eq!(json["tau_source"]["tau"].as_f64(), Some(chosen_tau));
    assert_eq!(splits[0]["tau"].as_f64(), Some(chosen_tau));
    assert_eq!(splits[0]["at_half"]["tau"].as_f64(), Some(0.5));
    assert!(splits[0]["baselines"]["random_step"]["f1"].is_f64());
    let split_f1 = |split: &serde_json::Value| split["first_error"]["f1"].as_f64().unwrap();
    let average = (split_f1(&splits[0]) + split_f1(&splits[1])) / 2.0;
    assert!((json["average_f1"].as_f64().unwrap() - average).abs() < 1e-12);
    assert!(
        table.contains("step AUC") && table.contains("chance"),
        "{table}"
    );

    // --tau overrides the checkpoint's.
    processbench(&[
        "--checkpoint",
        checkpoint,
        "--splits",
        "gsm8k",
        "--tau",
        "0.5",
    ]);
    let at_half = read_json(&results);
    assert_eq!(at_half["tau_source"]["from"], "argument");
    assert_eq!(at_half["splits"][0]["tau"].as_f64(), Some(0.5));
    assert!(at_half["splits"][0]["at_half"].is_null());

    // The same checkpoint twice: one backbone reading, two identical reports.
    let twice = processbench(&[
        "--checkpoint",
        checkpoint,
        "--checkpoint",
        checkpoint,
        "--splits",
        "gsm8k",
    ]);
    assert!(String::from_utf8_lossy(&twice.stdout).contains(checkpoint));
    let reports = read_json(&results);
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["splits"][0], json["splits"][0]);
    assert_eq!(reports[0], reports[1]);
    // Both evaluations read gsm8k through one backbone: the second from the first's cached
    // features, with the same results.
    let backbones: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(backbones.len(), 1, "one backbone's features in {cache_str}");

    let sample = shared_data().join("prmbench_sample");
    let results = out.join("prmbench.json");
    let prmbench = actprm(&[
        "--device",
        "cpu",
        "eval",
        "prmbench",
        "--data",
        sample.to_str().unwrap(),
        "--checkpoint",
        checkpoint,
        "--out",
        results.to_str().unwrap(),
        "--feature-cache",
        cache_str,
    ]);
    let table = String::from_utf8_lossy(&prmbench.stdout);
    for row in [
        "circular",
        "correct",
        "simplicity",
        "soundness",
        "sensitivity",
        "overall",
    ] {
        assert!(table.contains(row), "{row} in\n{table}");
    }
    let json = read_json(&results);
    assert_eq!(
        json["classes"].as_array().unwrap().len(),
        10,
        "nine error classes and correct"
    );
    let score = json["overall"]["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));

    filter_resumes_after_an_interruption(&out, checkpoint);
    std::fs::remove_dir_all(&out).ok();
}

/// Filters 40 synthetic problems in chunks of 16, then fakes an interruption after the second
/// chunk (with half a row torn off the end of kept.jsonl) and checks that the rerun ends with
/// the same kept rows and totals.
fn filter_resumes_after_an_interruption(out: &Path, checkpoint: &str) {
    let dir = out.join("filter");
    let arguments = |checkpoint: &str| {
        [
            "--device",
            "cpu",
            "filter",
            "--checkpoint",
            checkpoint,
            "--count",
            "40",
            "--chunk-size",
            "16",
            // The barely trained tiny model is unsure of every step (about 0.9 bits each), so
            // this keeps the problems with more steps and skips the others.
            "--strategy",
            "entropy",
            "--threshold",
            "4.5",
            "--out",
            dir.to_str().unwrap(),
        ]
        .map(str::to_owned)
    };
    let filter = |checkpoint: &str| {
        let arguments = arguments(checkpoint);
        actprm(&arguments.each_ref().map(String::as_str))
    };
    let first = filter(checkpoint);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("of 40 trajectories"), "{stderr}");
    let kept = std::fs::read_to_string(dir.join("kept.jsonl")).unwrap();
    let state_path = dir.join("filter.json");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(state["complete"], true);
    assert_eq!(state["tally"]["scored"], 40);
    assert_eq!(state["tally"]["kept"], kept.lines().count());
    assert!(
        (1..40).contains(&kept.lines().count()),
        "the threshold should keep some and skip some:\n{kept}"
    );
    let rows: Vec<serde_json::Value> = kept
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for row in &rows {
        assert!(row["index"].as_u64().unwrap() < 40);
        assert!(row["hard_labels"].as_array().is_some(), "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .starts_with("predictive entropy"),
            "{row}"
        );
    }

    // Rows are in pool order: the first two chunks' rows start the file.
    let before_third_chunk: usize = kept
        .lines()
        .zip(&rows)
        .take_while(|(_, row)| row["index"].as_u64().unwrap() < 32)
        .map(|(line, _)| line.len() + 1)
        .sum();
    let mut interrupted = state.clone();
    interrupted["complete"] = false.into();
    interrupted["kept_bytes"] = before_third_chunk.into();
    interrupted["tally"]["scored"] = 32.into();
    interrupted["tally"]["kept"] = rows
        .iter()
        .filter(|row| row["index"].as_u64().unwrap() < 32)
        .count()
        .into();
    std::fs::write(&state_path, interrupted.to_string()).unwrap();
    std::fs::write(
        dir.join("kept.jsonl"),
        format!("{}{{\"index\": 3", &kept[..before_third_chunk]),
    )
    .unwrap();

    // The same checkpoint named by another path resumes: inputs are compared by content.
    let same_checkpoint = format!("{}/../checkpoint", dir.display());
    let resumed = filter(&same_checkpoint);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(stderr.contains("resuming after 32 scored"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("kept.jsonl")).unwrap(),
        kept
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(state["tally"]["scored"], 40);
    assert_eq!(state["tally"]["kept"], rows.len());

    // A checkpoint changed at the same path is refused, naming what changed.
    std::fs::write(&state_path, interrupted.to_string()).unwrap();
    let config = Path::new(checkpoint).join("config.json");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{original}\n")).unwrap();
    let refused = actprm_refused(&arguments(checkpoint).each_ref().map(String::as_str));
    std::fs::write(&config, original).unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("checkpoint_sha256") && stderr.contains("--restart"),
        "{stderr}"
    );
}

#[test]
fn a_missing_checkpoint_is_a_readable_error() {
    let output = actprm_refused(&[
        "--device",
        "cpu",
        "score",
        "--checkpoint",
        "/nonexistent/checkpoint",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/checkpoint") && stderr.contains("actprm run"),
        "{stderr}"
    );
}

/// A bad argument stops the command before any work, naming the flag and its range.
#[test]
fn an_out_of_range_argument_is_refused_before_any_work() {
    let output = actprm_refused(&["--device", "cpu", "run", "--learning-rate", "nan"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--learning-rate") && stderr.contains("finite number above 0"),
        "{stderr}"
    );
}

/// A diverging run stops naming the mini-batch, and keeps its last good checkpoint, which
/// still loads.
#[test]
fn a_diverging_run_stops_and_keeps_its_last_good_checkpoint() {
    let out = std::env::temp_dir().join(format!("actprm-diverge-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let output = actprm_refused(&[
        "--device",
        "cpu",
        "run",
        "--pool-size",
        "96",
        "--eval-size",
        "8",
        "--heads",
        "2",
        "--d-model",
        "16",
        "--layers",
        "1",
        "--batch-size",
        "16",
        "--checkpoint-every",
        "1",
        "--learning-rate",
        "1e30",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("training diverged at mini-batch") && stderr.contains("last good"),
        "{stderr}"
    );
    assert!(!out.join("summary.json").exists());
    // The kept checkpoint loads: its weights are finite. At this learning rate they are huge,
    // so its scores may still overflow, which `score` then refuses to report.
    let scored = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(["--device", "cpu", "score", "--checkpoint"])
        .arg(out.join("checkpoint"))
        .args(["--count", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&scored.stderr);
    assert!(
        scored.status.success() || stderr.contains("scores are NaN or infinite"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_sweep_with_other_settings_is_refused_unless_forced() {
    let out = std::env::temp_dir().join(format!("actprm-cli-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let sweep = |pool_size: &'static str, extra: &[&'static str]| {
        let mut args = vec![
            "--device",
            "cpu",
            "sweep",
            "--strategies",
            "full",
            "--seeds",
            "0",
            "--pool-size",
            pool_size,
            "--eval-size",
            "8",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(TINY_MODEL);
        args.extend_from_slice(extra);
        args
    };
    actprm(&sweep("32", &[]));
    let refused = actprm_refused(&sweep("48", &[]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("pool_size: was 32, now 48") && stderr.contains("--force"),
        "{stderr}"
    );
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(
        results.lines().count(),
        1,
        "the refused sweep kept its results"
    );

    actprm(&sweep("48", &["--force"]));
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(
        results.lines().count(),
        1,
        "only the new sweep's experiment"
    );
    let result: serde_json::Value = serde_json::from_str(results.trim()).unwrap();
    assert_eq!(
        result["strategy"],
        serde_json::json!({"name": "full"}),
        "the strategy run, typed"
    );
    let settings = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    assert!(settings.contains("\"pool_size\": 48"), "{settings}");
    std::fs::remove_dir_all(&out).unwrap();
}
