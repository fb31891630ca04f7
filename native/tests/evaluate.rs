//! `score` and the evaluations (`eval synthetic`, `eval processbench`, `eval prmbench`) on a
//! tiny trained checkpoint: the JSON lines `score` writes, the τ an evaluation uses, the
//! average over splits, one backbone reading shared by checkpoints, and PRMBench's classes.
//! The benchmarks' test reads the public data sets, so it is ignored unless asked for.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{actprm, actprm_refused, data_dir, read_json, scratch, tiny_checkpoint};

#[test]
fn score_and_the_synthetic_evaluation_read_a_trained_checkpoint() {
    let dir = scratch("evaluate-synthetic");
    let checkpoint = tiny_checkpoint(&dir);
    let checkpoint = checkpoint.to_str().unwrap();

    let score = |extra: &[&str]| {
        let mut args = vec!["--device", "cpu", "score", "--checkpoint", checkpoint];
        args.extend_from_slice(extra);
        String::from_utf8_lossy(&actprm(&args).stdout).into_owned()
    };
    let raw = score(&["--count", "3"]);
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
    // The limit bounds what is generated, not only what is printed: a billion problems would
    // take hours.
    assert_eq!(score(&["--count", "1000000000", "--limit", "3"]), raw);
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
        assert!(
            stderr.contains("/dev/full: No space left on device"),
            "{stderr}"
        );
        assert!(Path::new("/dev/full").exists() && !Path::new("/dev/full").is_file());
    }

    let eval = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_actprm"));
        command.args([
            "--device",
            "cpu",
            "eval",
            "synthetic",
            "--checkpoint",
            checkpoint,
            "--count",
            "8",
        ]);
        command
    };
    let synthetic = eval().output().unwrap();
    assert!(synthetic.status.success());
    assert!(String::from_utf8_lossy(&synthetic.stdout).contains("F1"));

    // A reader that closes the pipe early ends the command quietly, and a full disk behind
    // standard output is an error naming it: neither panics.
    let mut reader_gone = eval()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(reader_gone.stdout.take());
    let closed = reader_gone.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(closed.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    if Path::new("/dev/full").exists() {
        let full = eval()
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert!(!full.status.success(), "{stderr}");
        assert!(
            stderr.contains("writing to standard output") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_benchmark_evaluations_read_a_trained_checkpoint() {
    let dir = scratch("evaluate-benchmarks");
    let checkpoint = tiny_checkpoint(&dir);
    let checkpoint = checkpoint.to_str().unwrap();
    let config = read_json(&Path::new(checkpoint).join("config.json"));
    let chosen_tau = config["threshold"]["tau"].as_f64().unwrap();

    let cache = dir.join("features");
    let cache_str = cache.to_str().unwrap();
    let data = data_dir().join("processbench");
    let results = dir.join("processbench.json");
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

    let sample = data_dir().join("prmbench_sample");
    let results = dir.join("prmbench.json");
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
}
