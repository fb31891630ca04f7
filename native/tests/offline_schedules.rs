//! Labels on every training schedule, end to end: the random baselines' draws in the pass,
//! in the pass with rehearsal and offline, a sweep's actprm-offline experiments, and `train
//! --labels-of` on a finished run's labels.

mod common;

use std::path::Path;

use actprm_core::pool_indices::PoolIndices;
use common::{TINY_MODEL, actprm, actprm_refused, read_json, read_jsonl, scratch, sweep_results};

/// Settings under which a tiny actprm pass labels only a part of a pool of 96: a short
/// warm-up, a quick learner and loose thresholds.
const PARTIAL_SELECTION: [&str; 12] = [
    "--pool-size",
    "96",
    "--eval-size",
    "16",
    "--warmup-updates",
    "2",
    "--delta-pred",
    "0.55",
    "--delta-std",
    "0.49",
    "--learning-rate",
    "1e-2",
];

/// Mini-batches of 16: an offline pass walks its `labels` in full mini-batches as many times
/// as make a pass over the pool's 6 mini-batches, buying them once.
fn offline_updates(labels: u64) -> u64 {
    let walk = labels.div_ceil(16);
    walk * 6u64.div_ceil(walk)
}

/// In-pass random, the same with rehearsal (from every label bought or from the last ones), and
/// random-offline label the same trajectories: in-pass updates on the mini-batches that
/// labelled any, rehearsal on every mini-batch from the first that did, the offline pass on
/// full mini-batches of its draws. Rehearsing on an offline pass, which labels all it walks,
/// and a window smaller than the draw are refused.
#[test]
fn the_random_baselines_label_the_same_trajectories_on_every_schedule() {
    let dir = scratch("random-baselines");
    let train = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "--device",
            "cpu",
            "train",
            "--pool-size",
            "96",
            "--eval-size",
            "16",
            "--label-fraction",
            "0.3",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(TINY_MODEL);
        args.extend(extra);
        args.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    let ledger = |name: &str, extra: &[&str]| {
        let output = actprm(&train(name, extra));
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let offline = extra.contains(&"--offline");
        assert_eq!(
            stdout.contains("pool trajectories drawn before the pass, walked"),
            offline,
            "{stdout}"
        );
        let out = dir.join(name);
        let record = read_json(&out.join("run.json"));
        let summary = read_json(&out.join("summary.json"));
        (record, summary["ledger"].clone())
    };
    let (in_pass_record, in_pass) = ledger("in-pass", &[]);
    let (rehearsed_record, rehearsed) = ledger("rehearsed", &["--rehearse", "13"]);
    let (windowed_record, windowed) =
        ledger("windowed", &["--rehearse", "13", "--rehearse-window", "13"]);
    let (offline_record, offline) = ledger("offline", &["--offline"]);
    assert_eq!(in_pass_record["strategy"]["name"], "random");
    assert_eq!(rehearsed_record["strategy"]["name"], "random");
    assert_eq!(offline_record["strategy"]["name"], "random-offline");
    assert_eq!(in_pass_record.get("rehearse"), None, "as before rehearsal");
    assert_eq!(rehearsed_record["rehearse"], 13);
    assert_eq!(
        rehearsed_record.get("rehearse_window"),
        None,
        "as before windows"
    );
    assert_eq!(windowed_record["rehearse_window"], 13);
    let labels = in_pass["labels_consumed"].as_u64().unwrap();
    assert!(labels > 16 && labels < 48, "{in_pass}");
    for other in [&rehearsed, &windowed, &offline] {
        assert_eq!(other["labels_consumed"], in_pass["labels_consumed"]);
        assert_eq!(
            other["labelled"], in_pass["labelled"],
            "the same trajectories"
        );
        assert_eq!(other["pool_size"], 96);
    }
    // The pool's six mini-batches fall in six different tenths of the pass.
    let buying = in_pass["selected_by_tenth"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|selected| selected.as_u64() > Some(0))
        .count() as u64;
    assert_eq!(in_pass["updates"].as_u64(), Some(buying));
    assert_eq!(rehearsed["updates"].as_u64(), Some(6), "{rehearsed}");
    assert_eq!(windowed["updates"].as_u64(), Some(6), "{windowed}");
    let losses = |name: &str| -> Vec<serde_json::Value> {
        let reports = read_jsonl(&dir.join(name).join("metrics.jsonl"));
        reports
            .iter()
            .map(|report| report["update"]["loss"].clone())
            .collect()
    };
    let (plain_losses, rehearsed_losses) = (losses("in-pass"), losses("rehearsed"));
    assert_eq!(
        plain_losses[0], rehearsed_losses[0],
        "nothing to rehearse yet"
    );
    assert_ne!(
        plain_losses[1..],
        rehearsed_losses[1..],
        "earlier labels reach the model"
    );
    // Once more than 13 labels are bought, the window leaves the first ones out.
    let windowed_losses = losses("windowed");
    assert_eq!(windowed_losses[..2], rehearsed_losses[..2]);
    assert_ne!(
        windowed_losses, rehearsed_losses,
        "the window draws otherwise"
    );
    assert_eq!(offline["updates"].as_u64(), Some(offline_updates(labels)));
    assert_eq!(offline["selected_by_tenth"].as_array().unwrap().len(), 10);

    let refused = actprm_refused(&train("refused", &["--offline", "--rehearse", "4"]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("random-offline labels every trajectory it walks: drop --rehearse"),
        "{stderr}"
    );
    let refused = actprm_refused(&train(
        "refused-window",
        &["--rehearse", "4", "--rehearse-window", "3"],
    ));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--rehearse-window 3 is a window of labels to draw --rehearse 4 from"),
        "{stderr}"
    );
    let refused = actprm_refused(&train("refused-lone-window", &["--rehearse-window", "8"]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("without --rehearse nothing is rehearsed"),
        "{stderr}"
    );
}

/// actprm-offline trains fresh heads on exactly the trajectories its actprm experiment
/// labelled, paying for each once, on the offline schedule; without actprm it is refused.
#[test]
fn a_sweep_trains_actprms_own_labels_offline() {
    let out = scratch("actprm-offline");
    let sweep = |strategies| {
        let mut args = vec![
            "--device",
            "cpu",
            "sweep",
            "--strategies",
            strategies,
            "--seeds",
            "0",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(PARTIAL_SELECTION);
        args.extend(TINY_MODEL);
        args
    };
    let refused = actprm_refused(&sweep("actprm-offline"));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("add actprm or actprm-ranked to --strategies"),
        "{refused:?}"
    );
    actprm(&sweep("actprm,actprm-offline"));
    let results = sweep_results(&out);
    let named = |name: &str| {
        results
            .iter()
            .find(|result| result["spec"]["strategy"] == name)
            .unwrap_or_else(|| panic!("no {name} result in {results:?}"))
    };
    let (online, offline) = (&named("actprm")["ledger"], &named("actprm-offline"));
    let labels = online["labels_consumed"].as_u64().unwrap();
    let labelled: PoolIndices = serde_json::from_value(online["labelled"].clone()).unwrap();
    assert_eq!(labelled.len() as u64, labels, "{online}");
    assert!(
        (32..96).contains(&labels),
        "past the warm-up, a part: {online}"
    );
    assert_eq!(offline["strategy"]["labelled"], online["labelled"]);
    assert_eq!(offline["ledger"]["labelled"], online["labelled"]);
    assert_eq!(offline["ledger"]["labels_consumed"], labels);
    assert_eq!(
        offline["ledger"]["updates"].as_u64(),
        Some(offline_updates(labels)),
        "full mini-batches of actprm's labels, as many as a pass over the pool"
    );
}

/// `train --labels-of` trains on exactly what a finished run labelled, on the offline
/// schedule, and refuses a run over another pool, naming what differs.
#[test]
fn train_labels_of_trains_on_a_finished_runs_labels() {
    let dir = scratch("labels-of");
    let (run, offline) = (dir.join("run"), dir.join("offline"));
    let command = |name: &str, out: &Path, extra: &[&str]| {
        let mut args = vec!["--device", "cpu", name, "--out", out.to_str().unwrap()];
        args.extend(TINY_MODEL);
        args.extend_from_slice(extra);
        args.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    actprm(&command("run", &run, &PARTIAL_SELECTION));
    let bought = read_json(&run.join("summary.json"))["ledger"].clone();
    let labels = bought["labels_consumed"].as_u64().unwrap();
    assert!(
        (32..96).contains(&labels),
        "past the warm-up, a part: {bought}"
    );

    let labels_of = [
        "--labels-of",
        run.to_str().unwrap(),
        "--pool-size",
        "96",
        "--eval-size",
        "16",
    ];
    let refused = actprm_refused(&command(
        "train",
        &offline,
        &[&labels_of[..], &["--seed", "1"]].concat(),
    ));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("labelled another pool") && stderr.contains("seed: was 0, now 1"),
        "{stderr}"
    );

    actprm(&command("train", &offline, &labels_of));
    let record = read_json(&offline.join("run.json"));
    assert_eq!(record["strategy"]["name"], "actprm-offline");
    assert_eq!(record["strategy"]["labelled"], bought["labelled"]);
    let trained = read_json(&offline.join("summary.json"))["ledger"].clone();
    assert_eq!(
        trained["labelled"], bought["labelled"],
        "the same trajectories"
    );
    assert_eq!(trained["labels_consumed"], labels, "each bought once");
    assert_eq!(trained["updates"].as_u64(), Some(offline_updates(labels)));
}
