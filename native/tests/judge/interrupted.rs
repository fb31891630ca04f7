//! `kill -9` in the middle of buying, then a resume: the same labels, or the same trained
//! model, as a run never killed, and nothing recorded bought again.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{actprm, scratch, weights};
use crate::judge_support::{
    ScriptedJudge, files_task_args, kill_then_finish_buying_nothing_twice, label_args, labelled,
    ledger_trajectories, trajectories,
};

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
