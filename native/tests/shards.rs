//! Sharded scoring, filtering and labelling end to end: four shards run as four processes at
//! once (one of them killed with SIGKILL and rerun), joined by `actprm merge`, give the bytes the
//! unsharded command gives; and the merge refuses missing, repeated, unfinished and mismatched
//! shards, naming which.

mod common;
mod judge_support;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Instant;

use common::{
    actprm, actprm_refused, entropy_filter_args, kill_when, scratch, spawn_quietly, tiny_checkpoint,
};
use judge_support::{ScriptedJudge, label_args, trajectories};
use serde_json::{Value, json};

const SHARDS: usize = 4;

/// Runs `shard_args(i)` for every shard at once, as a job array would; shard 1 is killed with
/// SIGKILL once `killed_when` holds of the file `progress(1)` and is then run again to its end.
/// Returns the wall time.
fn run_shards(
    shard_args: impl Fn(usize) -> Vec<String>,
    progress: impl Fn(usize) -> PathBuf,
    killed_when: impl Fn(&str) -> bool,
) -> std::time::Duration {
    let started = Instant::now();
    let others: Vec<Child> = (0..SHARDS)
        .filter(|&shard| shard != 1)
        .map(|shard| spawn_quietly(&shard_args(shard)))
        .collect();
    let killed = kill_when(&shard_args(1), &progress(1), killed_when);
    actprm(&shard_args(1));
    for mut child in others {
        assert!(child.wait().unwrap().success(), "a shard failed");
    }
    assert!(
        killed,
        "shard 1 finished before it could be killed: give it more work"
    );
    started.elapsed()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(ToString::to_string).collect()
}

fn merge(shards: &[PathBuf], out: &Path) -> std::process::Output {
    let mut args = vec![
        "merge".to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(shards.iter().map(|path| path.display().to_string()));
    actprm(&args)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn sharded_filtering_and_scoring_merge_to_the_unsharded_bytes() {
    let root = scratch("shards");
    let checkpoint = tiny_checkpoint(&root);
    let checkpoint = checkpoint.to_str().unwrap();

    // filter: 2,400 synthetic problems in chunks of 16.
    let filter_args = |out: &Path, shard: Option<usize>| {
        let mut args = entropy_filter_args(checkpoint, "2400", "16", out);
        if let Some(shard) = shard {
            args.extend(strings(&["--shard", &format!("{shard}/{SHARDS}")]));
        }
        args
    };
    let whole = root.join("filter-whole");
    let started = Instant::now();
    actprm(&filter_args(&whole, None));
    let unsharded = started.elapsed();
    let shard_dir = |shard: usize| root.join(format!("filter-{shard}"));
    let sharded = run_shards(
        |shard| filter_args(&shard_dir(shard), Some(shard)),
        |shard| shard_dir(shard).join("filter.json"),
        |state| state.contains("\"scored\": ") && state.contains("\"complete\": false"),
    );
    let merged = root.join("filter-merged");
    let shards: Vec<PathBuf> = (0..SHARDS).rev().map(shard_dir).collect();
    let started = Instant::now();
    merge(&shards, &merged);
    eprintln!(
        "filter of 2,400: unsharded {unsharded:?}; {SHARDS} shards at once, one killed and \
         rerun, {sharded:?}; merge {:?}",
        started.elapsed()
    );
    for name in ["kept.jsonl", "filter.json"] {
        assert!(
            read(&whole.join(name)) == read(&merged.join(name)),
            "{name} differs from the unsharded one"
        );
    }
    let state: Value = serde_json::from_slice(&read(&merged.join("filter.json"))).unwrap();
    let kept = state["tally"]["kept"].as_u64().unwrap();
    assert!(0 < kept && kept < 2400, "kept {kept}");
    // Each shard scored about a quarter.
    for shard in 0..SHARDS {
        let state: Value =
            serde_json::from_slice(&read(&shard_dir(shard).join("filter.json"))).unwrap();
        let scored = state["tally"]["scored"].as_u64().unwrap();
        assert!(
            (450..750).contains(&scored),
            "shard {shard} scored {scored}"
        );
        assert_eq!(
            state["settings"]["shard"],
            json!({"index": shard, "count": SHARDS})
        );
    }

    // score: 120 synthetic problems.
    let score_args = |out: &Path, shard: Option<usize>| {
        let mut args = common::score_args(Path::new(checkpoint), 120);
        args.extend(strings(&["--out", out.to_str().unwrap()]));
        if let Some(shard) = shard {
            args.extend(strings(&["--shard", &format!("{shard}/{SHARDS}")]));
        }
        args
    };
    let whole = root.join("scores.jsonl");
    actprm(&score_args(&whole, None));
    let shard_file = |shard: usize| root.join(format!("scores-{shard}.jsonl"));
    for shard in 0..SHARDS {
        actprm(&score_args(&shard_file(shard), Some(shard)));
    }
    let merged = root.join("scores-merged.jsonl");
    let shards: Vec<PathBuf> = (0..SHARDS).map(shard_file).collect();
    merge(&shards, &merged);
    assert!(
        read(&whole) == read(&merged),
        "the merged score lines differ from the unsharded ones"
    );
    assert!(!root.join("scores-merged.jsonl.shard.json").exists());

    // Refusals, each naming what is wrong.
    let refused = |shards: &[PathBuf], words: &str| {
        let mut args = vec![
            "merge".to_string(),
            "--out".into(),
            root.join("refused.jsonl").display().to_string(),
        ];
        args.extend(shards.iter().map(|path| path.display().to_string()));
        let stderr = String::from_utf8_lossy(&actprm_refused(&args).stderr).to_string();
        assert!(stderr.contains(words), "expected «{words}»:\n{stderr}");
    };
    refused(&shards[..3], "shard 3 of 4 is missing");
    refused(&shards[1..2], "shards 0, 2, 3 of 4 are missing");
    refused(
        &[shards[0].clone(), shards[1].clone(), shards[1].clone()],
        "are both shard 1 of 4",
    );
    refused(
        std::slice::from_ref(&whole),
        "is not the output of `score --shard`",
    );
    let other_pool = root.join("scores-other-pool.jsonl");
    let mut args = score_args(&other_pool, Some(3));
    args.extend(strings(&["--seed", "7"]));
    actprm(&args);
    let mut mixed = shards[..3].to_vec();
    mixed.push(other_pool);
    refused(&mixed, "pool: was");
    let other_count = root.join("scores-of-2.jsonl");
    let mut args = score_args(&other_count, None);
    args.extend(strings(&["--shard", "1/2"]));
    actprm(&args);
    refused(
        &[shards[0].clone(), other_count],
        "merge the shards of one split",
    );
    let other_checkpoint = root.join("other");
    std::fs::create_dir_all(&other_checkpoint).unwrap();
    let other_checkpoint = tiny_checkpoint_with_seed(&other_checkpoint);
    let changed = root.join("scores-other-checkpoint.jsonl");
    let mut args = score_args(&changed, Some(0));
    let at = args.iter().position(|arg| arg == checkpoint).unwrap();
    args[at] = other_checkpoint.display().to_string();
    actprm(&args);
    let mut mixed = vec![changed];
    mixed.extend_from_slice(&shards[1..]);
    refused(&mixed, "checkpoint_sha256: was");
    let stderr = String::from_utf8_lossy(
        &actprm_refused(&[
            "merge",
            "--out",
            shards[0].to_str().unwrap(),
            shards[0].to_str().unwrap(),
        ])
        .stderr,
    )
    .to_string();
    assert!(stderr.contains("is one of the shards"), "{stderr}");
    let stderr = String::from_utf8_lossy(
        &actprm_refused(&["--device", "cpu", "score", "--shard", "0/2"]).stderr,
    )
    .to_string();
    assert!(stderr.contains("need --out"), "{stderr}");

    // An unfinished filter shard is refused.
    let unfinished = shard_dir(2).join("filter.json");
    let mut state: Value = serde_json::from_slice(&read(&unfinished)).unwrap();
    state["complete"] = false.into();
    std::fs::write(&unfinished, state.to_string()).unwrap();
    let shards: Vec<PathBuf> = (0..SHARDS).map(shard_dir).collect();
    refused(&shards, "is unfinished");
}

/// A tiny model trained with another seed in `dir/run`; its checkpoint directory.
fn tiny_checkpoint_with_seed(dir: &Path) -> PathBuf {
    common::tiny_run(&dir.join("run"), &["--seed", "3"]);
    dir.join("run/checkpoint")
}

#[test]
fn sharded_labelling_merges_to_the_unsharded_rows_and_pays_once() {
    let root = scratch("shards-label");
    let verdicts: serde_json::Map<String, Value> = (0..60)
        .map(|index| (format!("t{index}"), json!(index % 4)))
        .collect();
    let judge = ScriptedJudge::start(&root, json!({ "verdicts": verdicts, "delay": 0.02 }));
    let pool = trajectories(&root, 60);
    let whole = root.join("whole");
    actprm(&label_args(&judge.url, &pool, &whole, &[]));
    let unsharded_requests = judge.requests().len();
    assert_eq!(unsharded_requests, 60);

    let shard_dir = |shard: usize| root.join(format!("label-{shard}"));
    let shard_args = |shard: usize| {
        let shard_flag = format!("{shard}/{SHARDS}");
        label_args(
            &judge.url,
            &pool,
            &shard_dir(shard),
            &["--shard", &shard_flag, "--judge-concurrency", "1"],
        )
    };
    run_shards(
        shard_args,
        |shard| shard_dir(shard).join("ledger.jsonl"),
        |ledger| ledger.lines().count() >= 2,
    );
    let merged = root.join("merged");
    let shards: Vec<PathBuf> = (0..SHARDS).map(shard_dir).collect();
    merge(&shards, &merged);
    assert!(
        read(&whole.join("labels.jsonl")) == read(&merged.join("labels.jsonl")),
        "the merged labels.jsonl differs from the unsharded one"
    );
    // The shards together bought every trajectory once: the killed shard's rerun bought
    // nothing its ledger held, and only the one request in flight at the kill (one at a time)
    // can have been sent again.
    let requests = judge.requests();
    let mut per_trajectory = std::collections::BTreeMap::<&str, usize>::new();
    for (id, _) in &requests[unsharded_requests..] {
        *per_trajectory.entry(id).or_default() += 1;
    }
    assert_eq!(per_trajectory.len(), 60);
    let repeated = per_trajectory.values().filter(|&&count| count > 1).count();
    assert!(repeated <= 1, "bought more than once: {per_trajectory:?}");
    let summary =
        |dir: &Path| -> Value { serde_json::from_slice(&read(&dir.join("label.json"))).unwrap() };
    let (whole_summary, merged_summary) = (summary(&whole), summary(&merged));
    for key in ["data_sha256", "format", "out_format", "ledger_answers"] {
        assert_eq!(whole_summary[key], merged_summary[key], "{key}");
    }
    for key in [
        "trajectories",
        "labelled",
        "bought",
        "from_ledger",
        "requests",
        "unusable",
    ] {
        assert_eq!(
            whole_summary["totals"][key], merged_summary["totals"][key],
            "{key}"
        );
    }
    assert!(merged_summary.get("shard").is_none());
    assert_eq!(
        summary(&shard_dir(2))["shard"],
        json!({"index": 2, "count": SHARDS})
    );
}
