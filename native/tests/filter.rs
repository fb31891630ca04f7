//! `actprm filter` end to end: the kept rows, in pool order, read back as training rows; an
//! interrupted filter resumes, also from the same checkpoint named by another path, and a
//! checkpoint changed at the same path is refused; `--out-format stepwise` writes the same
//! trajectories as stepwise-supervision rows; and stored labels change nothing of what is kept.

mod common;

use std::path::Path;

use actprm_core::data::{read_stepwise_rows, read_training_rows};
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};
use actprm_core::{ProcessLabel, Trajectory};
use common::{actprm, actprm_refused, entropy_filter_args, scratch, tiny_checkpoint};

/// Filters 40 synthetic problems in chunks of 16, then fakes an interruption after the second
/// chunk (with half a row torn off the end of kept.jsonl) and checks that the rerun ends with
/// the same kept rows and totals.
#[test]
fn filter_keeps_rows_in_pool_order_and_resumes_by_content() {
    let root = scratch("filter");
    let checkpoint = tiny_checkpoint(&root);
    let checkpoint = checkpoint.to_str().unwrap();
    let dir = root.join("filter");
    let arguments = |checkpoint: &str| entropy_filter_args(checkpoint, "40", "16", &dir);
    let filter = |checkpoint: &str| actprm(&arguments(checkpoint));
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
    let same_checkpoint = format!("{}/../run/checkpoint", dir.display());
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
    let refused = actprm_refused(&arguments(checkpoint));
    std::fs::write(&config, original).unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("checkpoint_sha256") && stderr.contains("--restart"),
        "{stderr}"
    );
}

/// The same filtering written as training rows and as stepwise-supervision rows keeps the same
/// trajectories: our readers give the same labelled trajectories from both files. The format is
/// part of the settings a resumed run must match, and an unlabelled pool cannot be written as
/// stepwise rows.
#[test]
fn stepwise_rows_hold_the_same_kept_trajectories() {
    let root = scratch("filter-stepwise");
    let checkpoint = tiny_checkpoint(&root);
    let checkpoint = checkpoint.to_str().unwrap();
    let training_dir = root.join("training");
    let stepwise_dir = root.join("stepwise");
    actprm(&entropy_filter_args(checkpoint, "40", "16", &training_dir));
    let mut stepwise_args = entropy_filter_args(checkpoint, "40", "16", &stepwise_dir);
    stepwise_args.extend(["--out-format".to_string(), "stepwise".to_string()]);
    actprm(&stepwise_args);

    let read = |dir: &Path| {
        let path = dir.join("kept.jsonl");
        (
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        )
    };
    let (training_path, training) = read(&training_dir);
    let (stepwise_path, stepwise) = read(&stepwise_dir);
    // Stepwise rows stop at the first error; training-shaped kept rows hold every step.
    let expected: Vec<Trajectory> = read_training_rows(&training_path, training.as_bytes())
        .unwrap()
        .into_iter()
        .map(|mut trajectory| {
            if let Some(index) = trajectory.label.and_then(ProcessLabel::first_error) {
                trajectory.steps.truncate(index + 1);
            }
            trajectory
        })
        .collect();
    let kept = read_stepwise_rows(&stepwise_path, stepwise.as_bytes()).unwrap();
    assert!(!kept.is_empty(), "the threshold should keep some");
    assert_eq!(kept, expected);
    for (line, training_line) in stepwise.lines().zip(training.lines()) {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let training_row: serde_json::Value = serde_json::from_str(training_line).unwrap();
        assert_eq!(row["index"], training_row["index"], "{row}");
        assert_eq!(row["reason"], training_row["reason"], "{row}");
        let labels = row["labels"].as_array().unwrap();
        assert_eq!(labels.len(), row["completions"].as_array().unwrap().len());
        assert!(labels.iter().all(serde_json::Value::is_boolean), "{row}");
    }
    let settings = |dir: &Path| {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("filter.json")).unwrap())
                .unwrap();
        state["settings"].clone()
    };
    assert_eq!(settings(&stepwise_dir)["out_format"], "stepwise");
    assert!(settings(&training_dir).get("out_format").is_none());

    // A finished training-rows run is not resumed as stepwise rows.
    let mut into_training = entropy_filter_args(checkpoint, "40", "16", &training_dir);
    into_training.extend(["--out-format".to_string(), "stepwise".to_string()]);
    let refused = actprm_refused(&into_training);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("out_format"), "{stderr}");

    // Unlabelled rows have no labels to write.
    let pool = root.join("pool.jsonl");
    std::fs::write(&pool, "{\"question\": \"Q\", \"steps\": [\"a\"]}\n").unwrap();
    let pool = pool.to_str().unwrap();
    let out = root.join("unlabelled");
    let refused = actprm_refused(&[
        "--device",
        "cpu",
        "filter",
        "--checkpoint",
        checkpoint,
        "--data",
        pool,
        "--out-format",
        "stepwise",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("unlabelled rows") && stderr.contains("--out-format training"),
        "{stderr}"
    );
}

/// Stored labels change nothing of what is scored and kept: a pool of labelled rows keeps the
/// same trajectories, every step included, as the same pool without its labels.
#[test]
fn stored_labels_leave_the_selection_and_the_kept_steps_as_they_are() {
    let root = scratch("filter-labels");
    let checkpoint = tiny_checkpoint(&root);
    let trajectories = generate(&SyntheticConfig::new(), 11, 40);
    let rows = |labelled: bool| -> String {
        trajectories
            .iter()
            .map(|trajectory| {
                let mut row = serde_json::json!({
                    "question": trajectory.question,
                    "steps": trajectory.steps,
                });
                if labelled {
                    let label = trajectory.label.unwrap();
                    row["hard_labels"] = label.hard_labels(trajectory.num_steps()).into();
                }
                format!("{row}\n")
            })
            .collect()
    };
    let kept = |labelled: bool| -> Vec<serde_json::Value> {
        let name = if labelled { "labelled" } else { "unlabelled" };
        let pool = root.join(format!("{name}.jsonl"));
        std::fs::write(&pool, rows(labelled)).unwrap();
        let out = root.join(name);
        let mut args = entropy_filter_args(checkpoint.to_str().unwrap(), "40", "16", &out);
        args.extend(["--data".to_string(), pool.display().to_string()]);
        actprm(&args);
        std::fs::read_to_string(out.join("kept.jsonl"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };
    let (with_labels, without) = (kept(true), kept(false));
    assert!(
        (1..40).contains(&with_labels.len()),
        "the threshold should keep some and skip some"
    );
    assert_eq!(with_labels.len(), without.len());
    for (a, b) in with_labels.iter().zip(&without) {
        assert_eq!((&a["index"], &a["steps"]), (&b["index"], &b["steps"]));
    }
    let past_their_first_error = with_labels
        .iter()
        .filter(|row| {
            let labels = row["hard_labels"].as_array().unwrap().len();
            labels < row["steps"].as_array().unwrap().len()
        })
        .count();
    assert!(
        past_their_first_error > 0,
        "some kept rows have steps after their first error"
    );
}
