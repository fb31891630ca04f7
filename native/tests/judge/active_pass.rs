//! `actprm run --judge-url`: the active pass buys what it selects from the served judge, once,
//! and never writes the API key.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{actprm_refused, scratch};
use crate::judge_support::{ScriptedJudge, files_task_args, labelled, trajectories};

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
