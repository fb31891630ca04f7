//! `actprm label` buying answers: each distinct trajectory once, a rerun from the ledger, the
//! caps on labels and tokens under concurrency, stepwise-supervision rows in and out.

use actprm_core::ProcessLabel;
use actprm_core::data::read_stepwise_rows;
use serde_json::{Value, json};

use crate::common::{actprm, scratch};
use crate::judge_support::{
    ScriptedJudge, files_task_args, label_args, labelled, rows, totals, trajectories,
};

#[test]
fn every_trajectory_is_bought_once_and_a_rerun_buys_nothing() {
    let dir = scratch("judge-once");
    let judge = ScriptedJudge::start(
        &dir,
        json!({"verdicts": {"t0": 0, "t1": 1, "t2": 2, "t3": 3, "t4": 0}}),
    );
    let data = trajectories(&dir, 5);
    // A sixth row repeats t1: identical trajectories are bought once.
    let mut text = std::fs::read_to_string(&data).unwrap();
    let repeated = text.lines().nth(1).unwrap().to_string();
    text.push_str(&repeated);
    text.push('\n');
    std::fs::write(&data, text).unwrap();
    let out = dir.join("labels");
    let args = label_args(&judge.url, &data, &out, &["--judge-concurrency", "3"]);
    actprm(&args);

    assert_eq!(judge.requests().len(), 5, "{:?}", judge.requests());
    let rows = rows(&out);
    let hard_labels: Vec<Value> = rows.iter().map(|row| row["hard_labels"].clone()).collect();
    assert_eq!(
        hard_labels,
        [
            json!([1, 1, 1]),
            json!([0]),
            json!([1, 0]),
            json!([1, 1, 0]),
            json!([1, 1, 1]),
            json!([0])
        ]
    );
    assert_eq!(
        rows[2]["steps"].as_array().unwrap().len(),
        2,
        "steps after the error are cut"
    );
    let first = totals(&out);
    assert_eq!(first["bought"], 5);
    assert_eq!(first["labelled"], 6);
    assert_eq!(first["generated_tokens"], 250);

    let labels_before = std::fs::read(out.join("labels.jsonl")).unwrap();
    actprm(&args);
    assert_eq!(
        judge.requests().len(),
        5,
        "a rerun asks the ledger, not the judge"
    );
    assert_eq!(totals(&out)["from_ledger"], 6);
    assert_eq!(
        std::fs::read(out.join("labels.jsonl")).unwrap(),
        labels_before
    );

    // The rows are a pool that `train` reads back.
    let evaluation = labelled(&dir, "v", 8);
    let rows_path = out.join("labels.jsonl");
    let run = dir.join("train");
    let mut train = vec!["train"];
    train.extend(files_task_args(&rows_path, "48", &evaluation, &run));
    let output = actprm(&train);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("labels used: 6 of 6"), "{stdout}");
}

/// A file of stepwise-supervision rows is read as such (every completion judged, its stored
/// labels ignored), and `--out-format stepwise` writes rows our stepwise reader reads back as
/// the judge's labels, each trajectory cut after its first error.
#[test]
fn stepwise_rows_are_labelled_and_written_as_stepwise_rows() {
    let dir = scratch("judge-stepwise");
    let judge = ScriptedJudge::start(
        &dir,
        json!({"verdicts": {"t0": 0, "t1": 1, "t2": 2, "t3": 3}}),
    );
    let steps = [
        "We add 1.",
        "Adding gives the sum.",
        "So that is the answer.",
    ];
    let data = dir.join("stepwise.jsonl");
    let rows: String = (0..4)
        .map(|index| {
            json!({
                "prompt": format!("[t{index}] What is {index} + 1?"),
                "completions": steps,
                "labels": [false, true, false],
                "source": "elsewhere",
            })
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&data, rows).unwrap();
    let out = dir.join("labels");
    let output = actprm(&label_args(
        &judge.url,
        &data,
        &out,
        &["--out-format", "stepwise"],
    ));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("labels.jsonl: 4 stepwise-supervision rows"),
        "{stdout}"
    );
    assert_eq!(judge.requests().len(), 4);

    let path = out.join("labels.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text.lines().nth(2).unwrap()).unwrap(),
        json!({
            "prompt": "[t2] What is 2 + 1?",
            "completions": &steps[..2],
            "labels": [true, false],
        })
    );
    let read = read_stepwise_rows(&path.display().to_string(), text.as_bytes()).unwrap();
    let read: Vec<(usize, Option<ProcessLabel>)> = read
        .iter()
        .map(|trajectory| (trajectory.num_steps(), trajectory.label))
        .collect();
    assert_eq!(
        read,
        [
            (3, Some(ProcessLabel::AllCorrect)),
            (1, Some(ProcessLabel::FirstErrorAt(0))),
            (2, Some(ProcessLabel::FirstErrorAt(1))),
            (3, Some(ProcessLabel::FirstErrorAt(2))),
        ]
    );
}

#[test]
fn caps_hold_under_concurrency_eight() {
    let dir = scratch("judge-caps");
    let judge = ScriptedJudge::start(&dir, json!({"delay": 0.1, "completion_tokens": 50}));
    let data = trajectories(&dir, 30);
    let out = dir.join("answers");
    let args = label_args(
        &judge.url,
        &data,
        &out,
        &["--judge-concurrency", "8", "--max-labels", "10"],
    );
    actprm(&args);
    assert_eq!(judge.requests().len(), 10);
    let capped = totals(&out);
    assert_eq!(
        (capped["bought"].clone(), capped["over_budget"].clone()),
        (json!(10), json!(20))
    );
    actprm(&args);
    assert_eq!(
        judge.requests().len(),
        10,
        "answers in the ledger count against the cap"
    );

    // Each request holds 60 tokens until its answer's 50 are known: five fit under 300.
    let tokens_out = dir.join("tokens");
    let args = label_args(
        &judge.url,
        &data,
        &tokens_out,
        &[
            "--judge-concurrency",
            "8",
            "--judge-max-tokens",
            "60",
            "--max-judge-tokens",
            "300",
        ],
    );
    actprm(&args);
    assert_eq!(judge.requests().len(), 15);
    assert_eq!(totals(&tokens_out)["generated_tokens"], 250);
}
