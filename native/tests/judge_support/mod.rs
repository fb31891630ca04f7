//! The scripted judge server (tests/support/scripted_judge.py) and the files and arguments the
//! judge tests give `actprm`. Each test binary uses some of them.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TINY_MODEL, actprm, kill_after};

/// The scripted judge, stopped when dropped.
pub struct ScriptedJudge {
    child: Child,
    /// Where it listens, for `--judge-url`.
    pub url: String,
    log: PathBuf,
}

impl ScriptedJudge {
    pub fn start(dir: &Path, plan: Value) -> Self {
        let plan_path = dir.join("plan.json");
        std::fs::write(&plan_path, plan.to_string()).unwrap();
        let log = dir.join("requests.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/scripted_judge.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&plan_path)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the scripted judge");
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let url = format!("http://127.0.0.1:{}/v1", port.trim());
        Self { child, url, log }
    }

    /// Every request received so far: (trajectory, fault).
    pub fn requests(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                (
                    record["id"].as_str().unwrap().to_string(),
                    record["fault"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The Authorization header of every request received (null when absent).
    pub fn authorizations(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["authorization"].clone())
            .collect()
    }

    /// Requests received per trajectory.
    pub fn requests_per_trajectory(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (id, _) in self.requests() {
            *counts.entry(id).or_default() += 1;
        }
        counts
    }
}

impl Drop for ScriptedJudge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `--judge-url` nothing listens at: a port bound and let go again.
pub fn unreachable_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

/// The request count an error message names, from its words "N requests".
pub fn requests_named(message: &str) -> Option<u64> {
    let words: Vec<&str> = message.split_whitespace().collect();
    words
        .windows(2)
        .find(|pair| pair[1] == "requests")
        .and_then(|pair| pair[0].parse().ok())
}

/// `count` unlabelled three-step trajectories `t0`, `t1`, … in a JSONL file.
pub fn trajectories(dir: &Path, count: usize) -> PathBuf {
    let path = dir.join("pool.jsonl");
    let rows: String = (0..count)
        .map(|index| {
            json!({
                "question": format!("[t{index}] What is {index} + 1?"),
                "steps": [format!("We add 1 to {index}."), "Adding gives the sum.", "So that is the answer."],
            })
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&path, rows).unwrap();
    path
}

/// `count` labelled three-step trajectories `{prefix}0`, … as training rows, their first errors
/// cycling through none, step 1, 2 and 3.
pub fn labelled(dir: &Path, prefix: &str, count: usize) -> PathBuf {
    let path = dir.join(format!("{prefix}.jsonl"));
    let rows: String = (0..count)
        .map(|index| {
            let hard_labels = match index % 4 {
                0 => json!([1, 1, 1]),
                1 => json!([0]),
                2 => json!([1, 0]),
                _ => json!([1, 1, 0]),
            };
            json!({
                "question": format!("[{prefix}{index}] What is {index} + 1?"),
                "steps": [format!("We add 1 to {index}."), "Adding gives the sum.", "So that is the answer."],
                "hard_labels": hard_labels,
            })
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&path, rows).unwrap();
    path
}

/// A pool experiment of a tiny model on `--task files` with a pool of `pool_size`.
pub fn files_task_args<'a>(
    pool: &'a Path,
    pool_size: &'a str,
    evaluation: &'a Path,
    out: &'a Path,
) -> Vec<&'a str> {
    vec![
        "--device",
        "cpu",
        "--task",
        "files",
        "--pool",
        pool.to_str().unwrap(),
        "--validation",
        evaluation.to_str().unwrap(),
        "--test",
        evaluation.to_str().unwrap(),
        "--pool-size",
        pool_size,
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]
    .into_iter()
    .chain(TINY_MODEL)
    .collect()
}

/// `actprm label` arguments for `data` into `out` against the judge at `url`, then `extra`.
pub fn label_args(url: &str, data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "label",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--judge-url",
        url,
        "--judge-model",
        "scripted",
        "--judge-backoff",
        "10ms",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    args.extend(extra.iter().map(ToString::to_string));
    args
}

pub fn totals(out: &Path) -> Value {
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("label.json")).unwrap()).unwrap();
    summary["totals"].clone()
}

pub fn rows(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The trajectories whose answers the ledger holds, read from the scripted answers' text.
pub fn ledger_trajectories(out: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(out.join("ledger.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|record| {
            let answer = record["answer"].as_str().unwrap();
            let start = answer.find('t').unwrap();
            answer[start..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Starts `actprm args` once per delay and kills it with SIGKILL after that many milliseconds,
/// then once more to its end, each start resuming from the ledger in `out`; fails when any start
/// requests a trajectory the ledger already held. Returns the trajectories the ledger held at
/// the last kill.
pub fn kill_then_finish_buying_nothing_twice(
    judge: &ScriptedJudge,
    args: &[String],
    out: &Path,
    delays_ms: &[u64],
) -> BTreeSet<String> {
    let mut recorded = BTreeSet::new();
    let mut seen = 0;
    let bought_nothing_recorded = |recorded: &BTreeSet<String>, seen: usize| {
        let requests = judge.requests();
        for (id, _) in &requests[seen..] {
            assert!(
                !recorded.contains(id),
                "{id} was in the ledger and was bought again"
            );
        }
        requests.len()
    };
    for &delay in delays_ms {
        kill_after(args, Duration::from_millis(delay));
        std::thread::sleep(Duration::from_millis(200));
        seen = bought_nothing_recorded(&recorded, seen);
        recorded = ledger_trajectories(out);
    }
    actprm(args);
    bought_nothing_recorded(&recorded, seen);
    recorded
}
