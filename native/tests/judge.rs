//! `actprm label` against a real HTTP server that answers as a scripted judge
//! (tests/support/scripted_judge.py): answers are bought once, faults are retried or recorded
//! as designed, a judge that answers nothing fails the command with the reason, the caps hold
//! under concurrency, and a `kill -9` followed by a resume buys no recorded answer again;
//! stepwise-supervision rows go in and come out. The server counts every request it receives.

mod common;
mod judge_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use actprm_core::ProcessLabel;
use actprm_core::data::read_stepwise_rows;
use common::{actprm, actprm_refused, scratch, weights};
use judge_support::{
    ScriptedJudge, files_task_args, kill_then_finish_buying_nothing_twice, label_args, labelled,
    ledger_trajectories, requests_named, rows, totals, trajectories, unreachable_url,
};
use serde_json::{Value, json};

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
fn run_with_a_served_judge_buys_what_it_selects_and_never_writes_the_key() {
    let dir = scratch("judge-run");
    let verdicts: serde_json::Map<String, Value> = (0..48)
        .map(|index| (format!("t{index}"), json!(index % 4)))
        .collect();
    let judge = ScriptedJudge::start(&dir, json!({ "verdicts": verdicts }));
    let pool = trajectories(&dir, 48);
    let evaluation = labelled(&dir, "v", 16);
    let out = dir.join("run");
    let mut args = vec!["run"];
    args.extend(files_task_args(&pool, "48", &evaluation, &out));

    let refused = actprm_refused(&args);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("48 unlabelled trajectories") && stderr.contains("--judge-url"),
        "{stderr}"
    );

    args.extend([
        "--judge-url",
        judge.url.as_str(),
        "--judge-model",
        "scripted",
        "--judge-concurrency",
        "8",
    ]);
    let secret = "sk-test-never-written";
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
            .args(args)
            .env("OPENAI_API_KEY", secret)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    let output = run(&args);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let consumed = summary["ledger"]["labels_consumed"].as_u64().unwrap() as usize;
    assert!(consumed > 0);
    assert_eq!(
        judge.requests().len(),
        consumed,
        "one request per selected trajectory"
    );
    assert_eq!(summary["judge"]["bought"], consumed);
    assert_eq!(summary["judge"]["labelled"], consumed);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["judge"]["sampling"]["model"], "scripted");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("served judge:"), "{stdout}");
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string();
            assert!(
                !text.contains(secret),
                "{} holds the API key",
                path.display()
            );
        }
    }
    assert!(!String::from_utf8_lossy(&output.stderr).contains(secret));
    assert!(!stdout.contains(secret));

    let bearer = json!(format!("Bearer {secret}"));
    assert!(judge.authorizations().iter().all(|sent| *sent == bearer));

    // The same run again selects the same trajectories and finds them all in the ledger.
    run(&args);
    assert_eq!(judge.requests().len(), consumed, "nothing is bought twice");
}

#[test]
fn faults_are_retried_or_recorded_as_designed() {
    let dir = scratch("judge-faults");
    let judge = ScriptedJudge::start(
        &dir,
        json!({
            "verdicts": {"t0": 2, "t1": 1, "t2": 0, "t3": 3, "t4": 2},
            "faults": {
                "t0": ["http500"],
                "t1": ["rate_limited"],
                "t2": ["hang"],
                "t3": ["reset"],
                "t4": ["bad_json"],
                "t5": ["no_conclusion"],
                "t6": ["truncated"],
                "t7": ["http500", "http500", "http500", "http500", "http500"],
            }
        }),
    );
    let data = trajectories(&dir, 8);
    let out = dir.join("labels");
    let args = label_args(
        &judge.url,
        &data,
        &out,
        &[
            // Long enough that a loaded machine's slow answer is never taken for the hang, whose
            // request the server logs only once it reads it.
            "--judge-timeout",
            "5s",
            "--judge-tries",
            "3",
            "--judge-concurrency",
            "8",
        ],
    );
    let started = std::time::Instant::now();
    let output = actprm(&args);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 429's Retry-After of 1 s is waited"
    );

    let counts = judge.requests_per_trajectory();
    for retried in ["t0", "t1", "t2", "t3", "t4"] {
        assert_eq!(counts[retried], 2, "{retried} is retried once: {counts:?}");
    }
    for recorded in ["t5", "t6"] {
        assert_eq!(
            counts[recorded], 1,
            "{recorded} is recorded, not retried: {counts:?}"
        );
    }
    assert_eq!(counts["t7"], 3, "t7 gets every try: {counts:?}");
    let first = totals(&out);
    assert_eq!(first["labelled"], 5);
    assert_eq!(
        first["unusable"],
        json!({"no_conclusion": 1, "truncated": 1})
    );
    assert_eq!(first["failed"], 1);
    assert_eq!(first["failed_by_reason"], json!({"http_500": 1}));
    assert_eq!(
        first["requests"],
        judge.requests().len(),
        "every request is counted, retries and failures included"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: 1 of 8 trajectories got no answer from the judge (http_500 1)"),
        "{stderr}"
    );
    assert_eq!(
        ledger_trajectories(&out).len(),
        7,
        "the failed one is not in the ledger"
    );
    let ledger = std::fs::read_to_string(out.join("ledger.jsonl")).unwrap();
    assert!(
        ledger.contains("t6 step 1 ho"),
        "an unusable answer keeps its text"
    );

    // The rerun asks only for the trajectory that got no answer.
    actprm(&args);
    let after = judge.requests_per_trajectory();
    for (id, count) in &counts {
        if id != "t7" {
            assert_eq!(after[id], *count, "{id} is not asked again");
        }
    }
    assert_eq!(after["t7"], 6, "two more 500s, then an answer");
    assert_eq!(totals(&out)["labelled"], 6);
}

/// A judge nothing listens at: `label` fails naming the refused connection and the requests it
/// made, and label.json counts every one of them.
#[test]
fn label_fails_naming_why_when_no_request_reaches_the_judge() {
    let dir = scratch("judge-unreachable");
    let data = trajectories(&dir, 3);
    let out = dir.join("labels");
    let args = label_args(&unreachable_url(), &data, &out, &["--judge-tries", "2"]);
    let output = actprm_refused(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not connect") && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert_eq!(
        requests_named(&stderr),
        Some(6),
        "three trajectories, two tries each: {stderr}"
    );
    let totals = totals(&out);
    assert_eq!(totals["requests"], 6);
    assert_eq!(totals["failed"], 3);
    assert_eq!(totals["failed_by_reason"], json!({"unreachable": 3}));
}

/// A server that answers every request of a first `label` with a 500 and every request of a
/// rerun with an HTML page: each fails naming its last failure with the start of the reply, and
/// counts the requests the server received.
#[test]
fn label_fails_naming_why_when_the_judge_answers_only_errors_or_html() {
    let dir = scratch("judge-html");
    let faults: serde_json::Map<String, Value> = (0..3)
        .map(|index| {
            let replies = json!(["http500", "http500", "html", "html"]);
            (format!("t{index}"), replies)
        })
        .collect();
    let judge = ScriptedJudge::start(&dir, json!({ "faults": faults }));
    let data = trajectories(&dir, 3);
    let out = dir.join("labels");
    let args = label_args(&judge.url, &data, &out, &["--judge-tries", "2"]);

    let stderr =
        |output: std::process::Output| String::from_utf8_lossy(&output.stderr).into_owned();
    let errors = stderr(actprm_refused(&args));
    assert!(
        errors.contains("HTTP 500 from ") && errors.contains(r#"{"error": "internal"}"#),
        "{errors}"
    );
    assert_eq!(requests_named(&errors), Some(6), "{errors}");
    assert_eq!(judge.requests().len(), 6);
    assert_eq!(totals(&out)["requests"], 6);
    assert_eq!(totals(&out)["failed_by_reason"], json!({"http_500": 3}));

    let pages = stderr(actprm_refused(&args));
    assert!(
        pages.contains("not the API's JSON") && pages.contains("<title>Welcome</title>"),
        "{pages}"
    );
    assert_eq!(requests_named(&pages), Some(6), "{pages}");
    assert_eq!(
        judge.requests().len(),
        12,
        "the rerun asks for every trajectory again"
    );
    assert_eq!(totals(&out)["failed_by_reason"], json!({"invalid_json": 3}));
}

/// `run` with a judge nothing listens at fails at the first mini-batch it sends, naming why,
/// reports no labels as used, and leaves the run unfinished, so that the same command runs
/// again without --force.
#[test]
fn run_with_an_unreachable_judge_fails_and_stays_unfinished() {
    let dir = scratch("judge-run-unreachable");
    let pool = trajectories(&dir, 48);
    let evaluation = labelled(&dir, "v", 16);
    let out = dir.join("run");
    let url = unreachable_url();
    let mut args = vec!["run"];
    args.extend(files_task_args(&pool, "48", &evaluation, &out));
    args.extend([
        "--judge-url",
        url.as_str(),
        "--judge-model",
        "scripted",
        "--judge-tries",
        "2",
        "--judge-backoff",
        "10ms",
    ]);

    let output = actprm_refused(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Connection refused"), "{stderr}");
    let requests = requests_named(&stderr).unwrap_or_else(|| panic!("no count: {stderr}"));
    assert!(
        requests > 0 && requests.is_multiple_of(2),
        "every trajectory sent is tried twice: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("labels used") && !stdout.contains("judge cost"),
        "nothing is reported as bought: {stdout}"
    );
    assert!(
        !out.join("summary.json").exists(),
        "the run is not finished"
    );

    args.retain(|arg| *arg != "--force");
    let rerun = actprm_refused(&args);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        stderr.contains("Connection refused") && !stderr.contains("finished run"),
        "the rerun asks the judge again: {stderr}"
    );
}

#[test]
fn a_refused_request_stops_labelling_with_its_reason() {
    let dir = scratch("judge-refused");
    let faults: serde_json::Map<String, Value> = (0..10)
        .map(|index| (format!("t{index}"), json!(["http401"])))
        .collect();
    let judge = ScriptedJudge::start(&dir, json!({ "faults": faults }));
    let data = trajectories(&dir, 10);
    let out = dir.join("labels");
    let args = label_args(&judge.url, &data, &out, &["--judge-concurrency", "2"]);
    let output = actprm_refused(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(
        judge.requests().len() <= 2,
        "only the requests in flight: {:?}",
        judge.requests()
    );
    assert_eq!(totals(&out)["bought"], 0);
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

#[test]
fn kill_nine_then_resume_gives_the_same_labels_and_rebuys_nothing_recorded() {
    let dir = scratch("judge-kill");
    let count = 40;
    let verdicts: serde_json::Map<String, Value> = (0..count)
        .map(|index| (format!("t{index}"), json!(index % 4)))
        .collect();
    let plan = json!({"verdicts": verdicts, "delay": 0.1});
    let data = trajectories(&dir, count);

    let reference_dir = dir.join("reference");
    std::fs::create_dir_all(&reference_dir).unwrap();
    let reference_judge = ScriptedJudge::start(&reference_dir, plan.clone());
    let reference = reference_dir.join("labels");
    actprm(&label_args(
        &reference_judge.url,
        &data,
        &reference,
        &["--judge-concurrency", "8"],
    ));

    let judge = ScriptedJudge::start(&dir, plan);
    let out = dir.join("labels");
    let args = label_args(&judge.url, &data, &out, &["--judge-concurrency", "8"]);
    let recorded = kill_then_finish_buying_nothing_twice(&judge, &args, &out, &[250, 200, 300]);
    assert!(recorded.len() < count, "a kill landed before the end");
    assert_eq!(
        std::fs::read(out.join("labels.jsonl")).unwrap(),
        std::fs::read(reference.join("labels.jsonl")).unwrap(),
        "the same labels as a run never killed"
    );
    let requests = judge.requests().len();
    eprintln!(
        "{requests} requests for {count} trajectories over three kills and a resume: {} were in \
         flight at a kill and sent again",
        requests - count
    );
}

#[test]
fn run_killed_mid_pass_then_rerun_trains_the_same_model_and_rebuys_nothing_recorded() {
    let dir = scratch("judge-run-kill");
    let verdicts: serde_json::Map<String, Value> = (0..96)
        .map(|index| (format!("t{index}"), json!(index % 4)))
        .collect();
    let plan = json!({ "verdicts": verdicts, "delay": 0.1 });
    let pool = trajectories(&dir, 96);
    let evaluation = labelled(&dir, "v", 16);
    let pass_args = |judge: &ScriptedJudge, out: &Path| -> Vec<String> {
        let mut args = vec!["run".to_string()];
        args.extend(
            files_task_args(&pool, "96", &evaluation, out)
                .into_iter()
                .map(str::to_string),
        );
        args.extend(
            [
                "--judge-url",
                &judge.url,
                "--judge-model",
                "scripted",
                "--judge-concurrency",
                "8",
            ]
            .map(str::to_string),
        );
        args
    };

    let reference_dir = dir.join("reference");
    std::fs::create_dir_all(&reference_dir).unwrap();
    let reference_judge = ScriptedJudge::start(&reference_dir, plan.clone());
    let reference = reference_dir.join("run");
    actprm(&pass_args(&reference_judge, &reference));

    let judge = ScriptedJudge::start(&dir, plan);
    let out = dir.join("run");
    let args = pass_args(&judge, &out);
    let recorded = kill_then_finish_buying_nothing_twice(&judge, &args, &out, &[700, 500]);
    assert!(
        std::fs::read(out.join("metrics.jsonl")).unwrap()
            == std::fs::read(reference.join("metrics.jsonl")).unwrap(),
        "every mini-batch as in the run never killed"
    );
    assert!(
        weights(&out) == weights(&reference),
        "the weights of the run never killed"
    );
    let bought = ledger_trajectories(&out).len();
    eprintln!(
        "run: {} requests for {bought} answers over two kills and a rerun ({} recorded at the \
         last kill)",
        judge.requests().len(),
        recorded.len()
    );
}
