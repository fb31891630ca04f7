//! A judge that fails: faults retried or recorded as designed, and a judge that answers nothing
//! usable fails the command naming why and counting its requests.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{actprm, actprm_refused, scratch};
use crate::judge_support::{
    ScriptedJudge, files_task_args, label_args, labelled, ledger_trajectories, requests_named,
    totals, trajectories, unreachable_url,
};

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
