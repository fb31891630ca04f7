//! The `actprm` binary end to end on the real-text tasks and the pretrained backbone: a sweep
//! on the GSM8K-derived task, a PRM800K run and MiniLM runs.

mod common;

use common::{ONE_SEED_SWEEP, actprm, actprm_refused, data_dir, sweep_results};

/// A ProcessBench directory in `dir` holding, of each split, the first `count` erroneous items
/// and the first `count` correct ones.
fn processbench_slice(dir: &std::path::Path, count: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for split in ["gsm8k", "math", "olympiadbench", "omnimath"] {
        let file = format!("{split}.json");
        let text = std::fs::read_to_string(data_dir().join("processbench").join(&file)).unwrap();
        let items: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let correct = |item: &&serde_json::Value| item["label"] == -1;
        let slice: Vec<&serde_json::Value> = (items.iter().filter(|i| !correct(i)).take(count))
            .chain(items.iter().filter(correct).take(count))
            .collect();
        let slice = serde_json::to_string(&slice).unwrap();
        std::fs::write(dir.join(file), slice).unwrap();
    }
}

/// A sweep on the GSM8K-derived task: one experiment per strategy, random matched to actprm's
/// budget, every model also scored on ProcessBench and PRMBench, the chart and tables drawn; a
/// rerun skips what is done.
#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn a_tiny_sweep_on_the_gsm8k_task_runs_resumes_and_draws() {
    let out = std::env::temp_dir().join(format!("actprm-sweep-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let data = data_dir();
    let processbench = out.join("processbench");
    processbench_slice(&processbench, 3);
    let prmbench = data.join("prmbench_sample/sample.jsonl");
    let sweep = || {
        let mut args = vec![
            "--device",
            "cpu",
            "sweep",
            "--task",
            "gsm8k",
            "--data-dir",
            data.to_str().unwrap(),
            "--strategies",
            "actprm,random,full",
            "--d-model",
            "16",
            "--layers",
            "1",
            "--processbench",
            processbench.to_str().unwrap(),
            "--prmbench",
            prmbench.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(ONE_SEED_SWEEP);
        actprm(&args)
    };
    let first = sweep();
    let table = String::from_utf8_lossy(&first.stdout);
    for strategy in ["| actprm", "| random", "| full"] {
        assert!(table.contains(strategy), "{table}");
    }
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 3, "{results}");
    let full = sweep_results(&out)
        .into_iter()
        .find(|result| result["spec"]["strategy"] == "full")
        .unwrap();
    assert_eq!(full["ledger"]["labels_consumed"], 32);
    assert_eq!(
        full["test"]["first_error"]["num_erroneous"]
            .as_u64()
            .unwrap()
            + full["test"]["first_error"]["num_correct"].as_u64().unwrap(),
        400,
        "the test set is ProcessBench gsm8k"
    );
    let splits = full["benchmarks"]["processbench"].as_array().unwrap();
    let names: Vec<&str> = splits
        .iter()
        .map(|s| s["split"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gsm8k", "math", "olympiadbench", "omnimath"]);
    for split in splits {
        assert_eq!(split["items"], 6, "{split}");
        assert_eq!(split["at_half"]["tau"], 0.5, "{split}");
        assert!(split["chance_f1"].as_f64().unwrap() > 0.0, "{split}");
    }
    assert_eq!(
        full["benchmarks"]["prmbench"]["items"], 56,
        "the 50 records and, as PRMBench's loader adds, the original solution of each of the 6 \
         redundancy records"
    );
    for file in ["chart.svg", "chart.png", "table.md", "sweep.json"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let tables = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(
        tables.contains("| ProcessBench average | PRMBench PRMScore | PRMBench negF1 |"),
        "{tables}"
    );
    assert!(
        tables.contains("| chance (a uniformly random step) |"),
        "{tables}"
    );
    let settings = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    assert!(settings.contains("gsm8k"), "{settings}");
    assert!(settings.contains("sample.jsonl"), "{settings}");

    let rerun = sweep();
    assert!(String::from_utf8_lossy(&rerun.stdout).contains("3 experiments"));
    assert_eq!(
        std::fs::read_to_string(out.join("results.jsonl")).unwrap(),
        results,
        "a rerun runs nothing again"
    );
    std::fs::remove_dir_all(&out).ok();
}

/// Trains a tiny model with `command` (`run` or `train`) on `task`'s real data (32 pool
/// trajectories, 8 held out); its standard output and run.json.
fn tiny_real_task_run(command: &str, task: &str) -> (String, String) {
    let out = std::env::temp_dir().join(format!("actprm-{task}-{}", std::process::id()));
    let data = data_dir();
    let run = actprm(&[
        "--device",
        "cpu",
        command,
        "--task",
        task,
        "--data-dir",
        data.to_str().unwrap(),
        "--pool-size",
        "32",
        "--eval-size",
        "8",
        "--heads",
        "2",
        "--d-model",
        "16",
        "--layers",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let record = std::fs::read_to_string(out.join("run.json")).unwrap();
    std::fs::remove_dir_all(&out).ok();
    (String::from_utf8_lossy(&run.stdout).into_owned(), record)
}

/// The PRM800K task samples its pool from the stepwise rows and tests on ProcessBench math.
#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn a_prm800k_run_tests_on_processbench_math() {
    let (stdout, record) = tiny_real_task_run("run", "prm800k");
    assert!(
        stdout.contains("held-out on 1000 ProcessBench math items"),
        "{stdout}"
    );
    assert!(record.contains("prm800k"), "{record}");
}

/// The mixed task pools PRM800K rows with GSM8K-derived trajectories and tests on ProcessBench
/// gsm8k.
#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn a_mixed_run_tests_on_processbench_gsm8k() {
    let (stdout, record) = tiny_real_task_run("train", "mixed");
    assert!(
        stdout.contains("held-out on 400 ProcessBench gsm8k items"),
        "{stdout}"
    );
    assert!(record.contains("\"mixed\""), "{record}");
}

/// `--backbone minilm` fine-tunes the pretrained encoder (scripts/fetch-backbone.sh fetches it)
/// and saves it in the checkpoint with its grown vocabulary.
#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn a_run_on_the_pretrained_backbone() {
    let out = std::env::temp_dir().join(format!("actprm-minilm-{}", std::process::id()));
    // A run on MiniLM over 16 pool trajectories into `out`, with `extra` arguments.
    let minilm_run = |extra: &[&str]| {
        let mut args = vec![
            "--device",
            "cpu",
            "run",
            "--backbone",
            "minilm",
            "--pool-size",
            "16",
            "--eval-size",
            "8",
            "--heads",
            "2",
            "--batch-size",
            "8",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        actprm(&args)
    };
    let run = minilm_run(&[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("held-out on 8 synthetic trajectories"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(out.join("checkpoint/config.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(
        config["model"]["backbone"]["Bert"]["vocab_size"], 30523,
        "{config}"
    );
    let record = std::fs::read_to_string(out.join("run.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(
        record["training"]["learning_rate"], 2e-5,
        "the fine-tuning learning rate"
    );
    // A fine-tuned encoder would be lost with the heads alone.
    let heads = out.with_extension("heads");
    let export = |checkpoint: &std::path::Path| {
        vec![
            "--device".to_string(),
            "cpu".to_string(),
            "export-heads".to_string(),
            "--checkpoint".to_string(),
            checkpoint.display().to_string(),
            "--out".to_string(),
            heads.display().to_string(),
        ]
    };
    let refused = actprm_refused(&export(&out.join("checkpoint")));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("changed in training"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // The frozen mode trains the heads on features computed once; a second run reads them all
    // from the feature cache and ends where the first did.
    let cache = out.with_extension("features");
    let frozen = || {
        minilm_run(&[
            "--freeze-backbone",
            "--feature-cache",
            cache.to_str().unwrap(),
            "--force",
        ])
    };
    let first = String::from_utf8_lossy(&frozen().stdout).into_owned();
    assert!(
        first.contains("held-out on 8 synthetic trajectories") && !first.contains("from the cache"),
        "{first}"
    );
    let second = String::from_utf8_lossy(&frozen().stdout).into_owned();
    for set in [
        "pool features: 16 of 16",
        "validation features: 8 of 8",
        "test features: 8 of 8",
    ] {
        assert!(
            second.contains(set),
            "{set} read from the cache in\n{second}"
        );
    }
    let held_out = |stdout: &str| {
        stdout
            .lines()
            .find(|line| line.contains("at τ = 0.500"))
            .map(str::to_string)
    };
    assert_eq!(
        held_out(&second),
        held_out(&first),
        "the same run from cached features"
    );
    std::fs::remove_dir_all(&cache).ok();

    // The frozen run's heads alone, read with the same encoder, score as the whole checkpoint.
    actprm(&export(&out.join("checkpoint")));
    let size = |dir: &std::path::Path| {
        std::fs::metadata(dir.join("model.safetensors"))
            .unwrap()
            .len()
    };
    assert!(
        size(&heads) * 50 < size(&out.join("checkpoint")),
        "{} bytes of heads",
        size(&heads)
    );
    let score = |checkpoint: &std::path::Path| {
        let run = actprm(&common::score_args(checkpoint, 4));
        String::from_utf8(run.stdout).unwrap()
    };
    assert_eq!(score(&heads), score(&out.join("checkpoint")));
    // The encoder halved to f16, with the SHA-256 the heads recorded for it, is read in the
    // original's place, and scores within 1e-3 of it.
    let halved = out.with_extension("halved");
    let printed = actprm(&["halve-backbone", "--out", halved.to_str().unwrap()]).stdout;
    let heads_config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(heads.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        heads_config["pretrained_backbone"]["f16_sha256"].as_str(),
        Some(String::from_utf8(printed).unwrap().trim())
    );
    let halved_scores = std::process::Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(["--device", "cpu", "score", "--checkpoint"])
        .arg(&heads)
        .args(["--count", "4"])
        .env("ACTPRM_BACKBONE", &halved)
        .output()
        .unwrap();
    assert!(halved_scores.status.success(), "{halved_scores:?}");
    let means = |stdout: &str| -> Vec<f64> {
        stdout
            .lines()
            .flat_map(|line| {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                let mean = row["scores"]["mean"].as_array().unwrap().clone();
                mean.into_iter().map(|m| m.as_f64().unwrap())
            })
            .collect()
    };
    let (full, half) = (
        means(&score(&heads)),
        means(&String::from_utf8(halved_scores.stdout).unwrap()),
    );
    assert_eq!(full.len(), half.len());
    for (f, h) in full.iter().zip(&half) {
        assert!((f - h).abs() < 1e-3, "{f} against {h} halved");
    }
    std::fs::remove_dir_all(&halved).ok();
    // Another encoder (here: none where ACTPRM_BACKBONE points) is refused, naming it.
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args([
            "--device",
            "cpu",
            "score",
            "--checkpoint",
            heads.to_str().unwrap(),
        ])
        .env("ACTPRM_BACKBONE", out.join("nowhere"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("ACTPRM_BACKBONE") || stderr.contains("nowhere"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&heads).ok();

    let refused = actprm_refused(&[
        "--device",
        "cpu",
        "run",
        "--freeze-backbone",
        "--pool-size",
        "16",
    ]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--backbone minilm"));
    std::fs::remove_dir_all(&out).ok();
}
