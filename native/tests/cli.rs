//! The `actprm` binary end to end on tiny settings: what a run records, and the errors a user
//! meets (a missing checkpoint, an argument out of range, a diverging run, a sweep directory
//! of other settings, a checkpoint whose tokenizer goes unchecked), and the ranked rule's
//! fixed budget.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    TINY_MODEL, actprm, actprm_refused, read_json, score_args, scratch, tiny_checkpoint, tiny_run,
    weights,
};

#[test]
fn a_run_records_its_settings_and_the_threshold_it_chose() {
    let out = std::env::temp_dir().join(format!("actprm-cli-{}", std::process::id()));
    let out_str = out.to_str().unwrap();
    let run = tiny_run(&out, &["--checkpoint-every", "2", "--loss-steps", "last"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("labels used:"), "{stdout}");
    assert!(stdout.contains("chosen on validation"), "{stdout}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "one line per mini-batch");
    // The τ chosen on validation is saved in the checkpoint and reported beside τ = 0.5.
    let config = read_json(&out.join("checkpoint/config.json"));
    let summary = read_json(&out.join("summary.json"));
    let record = read_json(&out.join("run.json"));
    assert_eq!(record["strategy"]["name"], "actprm", "{record}");
    assert_eq!(record["strategy"]["tau"], 0.5, "{record}");
    assert_eq!(record["training"]["loss"]["steps"], "last", "{record}");
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

    std::fs::remove_dir_all(&out).ok();
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
/// A checkpoint whose configuration records no tokenizer digest (as older ones did) still
/// loads, with a warning that its tokenizer goes unchecked; one that records it, without.
#[test]
fn a_checkpoint_without_a_tokenizer_digest_is_read_with_a_warning() {
    let root = scratch("no-tokenizer-digest");
    let checkpoint = tiny_checkpoint(&root);
    let score = || {
        let output = actprm(&score_args(&checkpoint, 2));
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    let warning = "records no tokenizer_sha256";
    assert!(!score().contains(warning));
    let config_path = checkpoint.join("config.json");
    let mut config = read_json(&config_path);
    config.as_object_mut().unwrap().remove("tokenizer_sha256");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let stderr = score();
    assert!(stderr.contains(warning), "{stderr}");
}

#[test]
fn an_out_of_range_argument_is_refused_before_any_work() {
    let output = actprm_refused(&["--device", "cpu", "run", "--learning-rate", "nan"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--learning-rate") && stderr.contains("finite number above 0"),
        "{stderr}"
    );
    for (command, flag) in [("run", "--seed"), ("score", "--seed"), ("sweep", "--seeds")] {
        let output = actprm_refused(&["--device", "cpu", command, flag, "-1"]);
        assert_eq!(output.status.code(), Some(2), "{command} {flag} -1");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains("a seed must be a whole number from 0"),
            "{command}: {stderr}"
        );
    }
}

/// Sizes past their bound are refused at parse time, where they used to overflow, allocate
/// without end or hang; so is a sweep that would run one experiment twice and call it two,
/// and an evaluation that would count a split twice in its average.
#[test]
fn sizes_are_bounded_and_sweeps_refuse_repeats() {
    for (command, flag, value) in [
        ("score", "--count", "18446744073709551615"),
        ("run", "--pool-size", "18446744073709551615"),
        ("run", "--judge-tokens", "18446744073709551615"),
        ("run", "--heads", "4294967296"),
        ("run", "--heads", "100000"),
        ("run", "--d-model", "1048576"),
        ("label", "--judge-max-tokens", "18446744073709551615"),
    ] {
        let output = actprm_refused(&["--device", "cpu", command, flag, value]);
        assert_eq!(output.status.code(), Some(2), "{command} {flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{stderr}");
    }
    let out = std::env::temp_dir().join(format!("actprm-cli-repeats-{}", std::process::id()));
    for (flag, values) in [
        ("--seeds", "0,0"),
        ("--heads", "2,2"),
        ("--strategies", "full,full"),
    ] {
        let output = actprm_refused(&[
            "--device",
            "cpu",
            "sweep",
            flag,
            values,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains("twice"),
            "{flag}: {stderr}"
        );
    }
    assert!(!out.exists(), "nothing is written before the refusal");
    let output = actprm_refused(&[
        "--device",
        "cpu",
        "eval",
        "processbench",
        "--checkpoint",
        "/nonexistent/checkpoint",
        "--data",
        "/nonexistent/processbench",
        "--splits",
        "gsm8k,math,gsm8k",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--splits lists gsm8k twice"),
        "a split counted twice in the average: {stderr}"
    );
}

/// `command` (`run` or `train`) of the tiny model on 96 synthetic problems into `out`, with
/// `extra` arguments, which must fail.
fn refused_tiny_pass(command: &str, extra: &[&str], out: &Path) -> std::process::Output {
    let out = out.to_str().unwrap();
    let pass = [
        "--device",
        "cpu",
        command,
        "--pool-size",
        "96",
        "--eval-size",
        "8",
    ];
    let args: Vec<&str> = pass
        .into_iter()
        .chain(TINY_MODEL)
        .chain(extra.iter().copied())
        .chain(["--out", out])
        .collect();
    actprm_refused(&args)
}

/// A diverging run stops naming the mini-batch, and keeps its last good checkpoint, which
/// still loads.
#[test]
fn a_diverging_run_stops_and_keeps_its_last_good_checkpoint() {
    let out = std::env::temp_dir().join(format!("actprm-diverge-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let output = refused_tiny_pass(
        "run",
        &["--checkpoint-every", "1", "--learning-rate", "1e30"],
        &out,
    );
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

/// Settings under which a run would train nothing, or wreck its model at once, are refused
/// before anything is read.
#[test]
fn runs_that_would_train_nothing_or_wreck_the_model_are_refused() {
    for (args, expected) in [
        (
            vec!["run", "--heads", "1", "--strategy", "epistemic-only"],
            "one head never does",
        ),
        (
            vec!["run", "--heads", "1", "--strategy", "bald"],
            "one head never does",
        ),
        (
            vec!["train", "--pool-size", "1000", "--label-fraction", "1e-300"],
            "--label-fraction 1e-300 of a pool of 1000 expects 1.000e-297 labels, fewer than \
             one, so nothing would be trained; give at least 1.000e-3",
        ),
        // AdamW's decoupled decay would take every weight past zero at each update, and the
        // first update alone can wreck the model before any loss is seen to grow.
        (
            vec![
                "train",
                "--label-fraction",
                "0.5",
                "--offline",
                "--max-labels",
                "10",
            ],
            "--offline draws the trajectories it labels before the pass, at --label-fraction: \
             drop --max-labels",
        ),
        (
            vec!["train", "--offline"],
            "--offline trains on a random fraction of the pool drawn before the pass: give \
             --label-fraction below 1",
        ),
        (
            vec!["train", "--weight-decay", "1e9"],
            "learning rate × weight decay must stay below 1",
        ),
        (
            vec![
                "sweep",
                "--weight-decay",
                "10",
                "--learning-rate",
                "0.01",
                "--backbone-learning-rate",
                "0.1",
            ],
            "--weight-decay 10 at a learning rate of 0.1",
        ),
    ] {
        let mut command = vec!["--device", "cpu"];
        command.extend(args.iter().copied());
        let output = actprm_refused(&command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// A loss that stays finite but grows a hundredfold is divergence too: a learning rate of 100
/// blows the weights up long before they overflow.
#[test]
fn a_loss_that_grows_a_hundredfold_is_divergence() {
    let out = std::env::temp_dir().join(format!("actprm-grow-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let output = refused_tiny_pass("train", &["--learning-rate", "1e2"], &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("training diverged at mini-batch")
            && stderr.contains("more than 100 times the first update's"),
        "{stderr}"
    );
    assert!(!out.join("summary.json").exists());
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

/// The two random baselines label the same trajectories: the one in the pass updates on the
/// few drawn in each mini-batch, the offline one on full mini-batches of them alone, walked
/// as many times as make a pass over the pool.
/// Standardised features: the statistics are measured on the pool, stored with the heads, and
/// read back by a later command.
#[test]
fn standardised_features_travel_with_the_checkpoint() {
    let out = scratch("standardised");
    let run = out.join("run");
    tiny_run(&run, &["--standardise-features"]);
    let config = read_json(&run.join("checkpoint/config.json"));
    assert_eq!(
        config["model"]["heads"]["input_norm"], "standardised",
        "{config}"
    );
    let tensors = weights(&run);
    let inverse_std = &tensors["heads.input_norm.inverse_std"];
    let values: Vec<f32> = inverse_std
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().unwrap()))
        .collect();
    assert_eq!(
        values.len(),
        16,
        "one per feature dimension of the tiny backbone"
    );
    assert!(
        values.iter().all(|&v| v.is_finite() && v > 0.0) && values.iter().any(|&v| v != 1.0),
        "{values:?}"
    );
    let scored = actprm(&score_args(&run.join("checkpoint"), 3));
    assert_eq!(String::from_utf8_lossy(&scored.stdout).lines().count(), 3);
}

/// actprm-ranked labels exactly --per-batch trajectories of each mini-batch and updates on
/// them; filtering, which keeps trajectory by trajectory, refuses it.
#[test]
fn the_ranked_rule_labels_a_fixed_number_of_each_mini_batch() {
    let dir = scratch("ranked");
    let out = dir.join("run");
    tiny_run(&out, &["--strategy", "actprm-ranked", "--per-batch", "3"]);
    let strategy = read_json(&out.join("run.json"))["strategy"].clone();
    assert_eq!(strategy["name"], "actprm-ranked", "{strategy}");
    assert_eq!(strategy["per_batch"], 3, "{strategy}");
    let ledger = read_json(&out.join("summary.json"))["ledger"].clone();
    assert_eq!(
        ledger["labels_consumed"], 9,
        "3 of each of 3 mini-batches: {ledger}"
    );
    assert_eq!(ledger["updates"], 3, "{ledger}");
    let refused = actprm_refused(&[
        "--device",
        "cpu",
        "filter",
        "--checkpoint",
        out.join("checkpoint").to_str().unwrap(),
        "--strategy",
        "actprm-ranked",
        "--out",
        dir.join("filter").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("ranks the trajectories of each training mini-batch"),
        "{stderr}"
    );
}
