//! Helpers shared by the end-to-end tests of the `actprm` binary. Each test binary uses some
//! of them.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A model small enough to train in a second or two: 3 heads on a one-layer backbone of width
/// 16, in mini-batches of 16.
pub const TINY_MODEL: [&str; 8] = [
    "--heads",
    "3",
    "--d-model",
    "16",
    "--layers",
    "1",
    "--batch-size",
    "16",
];

/// A sweep's smallest grid: one seed, 2 heads, 32 pool trajectories and 16 held out.
pub const ONE_SEED_SWEEP: [&str; 8] = [
    "--seeds",
    "0",
    "--heads",
    "2",
    "--pool-size",
    "32",
    "--eval-size",
    "16",
];

/// The results a sweep in `out` recorded, one per experiment.
pub fn sweep_results(out: &Path) -> Vec<serde_json::Value> {
    read_jsonl(&out.join("results.jsonl"))
}

/// Every line of a JSON-lines file, parsed.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Runs `actprm` with `args`, failing the test with its output when it fails.
pub fn actprm<S: AsRef<OsStr> + Debug>(args: &[S]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(args)
        .output()
        .expect("the actprm binary runs");
    assert!(
        output.status.success(),
        "actprm {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `actprm` with `args`, failing the test when it succeeds; its output holds the error.
pub fn actprm_refused<S: AsRef<OsStr> + Debug>(args: &[S]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(args)
        .output()
        .expect("the actprm binary runs");
    assert!(
        !output.status.success(),
        "actprm {args:?} succeeded where it should have refused:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

/// Where scripts/fetch-data.sh puts the public data sets: `$ACTPRM_DATA`, else
/// `~/.cache/actprm/data`. The tests that read it are ignored unless asked for.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("ACTPRM_DATA")
        .map_or_else(actprm_core::data::default_data_dir, PathBuf::from);
    assert!(
        dir.is_dir(),
        "the data directory {} does not exist: run scripts/fetch-data.sh (or set ACTPRM_DATA)",
        dir.display()
    );
    dir
}

/// `score` arguments reading `count` synthetic problems with `checkpoint` on the CPU.
pub fn score_args(checkpoint: &Path, count: usize) -> Vec<String> {
    [
        "--device",
        "cpu",
        "score",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--count",
        &count.to_string(),
    ]
    .map(str::to_string)
    .to_vec()
}

/// The JSON document at `path`.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A fresh, empty directory for test `name` of this process, deleted when the test passes and
/// kept, for a look, when it fails.
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("actprm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// A test's scratch directory (see [`scratch`]); used as the path it is.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Trains the tiny model into `out` on 48 synthetic pool trajectories (16 held out), with
/// `extra` arguments; its output.
pub fn tiny_run(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--device",
        "cpu",
        "run",
        "--pool-size",
        "48",
        "--eval-size",
        "16",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY_MODEL);
    args.extend_from_slice(extra);
    actprm(&args)
}

/// A tiny model trained in `dir/run` (see [`tiny_run`]); its checkpoint directory.
pub fn tiny_checkpoint(dir: &Path) -> PathBuf {
    let out = dir.join("run");
    tiny_run(&out, &[]);
    out.join("checkpoint")
}

/// `filter` arguments keeping, of `count` synthetic problems scored in chunks of `chunk_size`
/// with `checkpoint`, those whose predictive entropy exceeds 4.5 bits, into `out`. A barely
/// trained tiny model is unsure of every step (about 0.9 bits each), so this keeps the
/// problems with more steps and skips the others.
pub fn entropy_filter_args(
    checkpoint: &str,
    count: &str,
    chunk_size: &str,
    out: &Path,
) -> Vec<String> {
    [
        "--device",
        "cpu",
        "filter",
        "--checkpoint",
        checkpoint,
        "--count",
        count,
        "--chunk-size",
        chunk_size,
        "--strategy",
        "entropy",
        "--threshold",
        "4.5",
        "--out",
        out.to_str().unwrap(),
    ]
    .map(str::to_string)
    .to_vec()
}

/// The checkpoint's tensors by name (the file's metadata may list its keys in any order).
pub fn weights(run: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(run.join("checkpoint/model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect()
}

/// Starts `actprm` with `args`, its output discarded.
pub fn spawn_quietly<S: AsRef<OsStr>>(args: &[S]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the actprm binary runs")
}

/// Kills `child` with SIGKILL and reaps it.
fn kill(mut child: Child) {
    child.kill().expect("the process can be killed");
    child.wait().expect("the killed process is reaped");
}

/// Starts `actprm` with `args` and kills it with SIGKILL after `after`.
pub fn kill_after<S: AsRef<OsStr>>(args: &[S], after: Duration) {
    let child = spawn_quietly(args);
    std::thread::sleep(after);
    kill(child);
}

/// Starts `actprm` with `args` and kills it with SIGKILL as soon as the state file at `state`
/// reads as `reached`: the kill then lands after that save, whatever the machine's speed.
/// Returns false when the command ended first.
pub fn kill_when<S: AsRef<OsStr>>(
    args: &[S],
    state: &Path,
    reached: impl Fn(&str) -> bool,
) -> bool {
    const GIVE_UP: Duration = Duration::from_secs(300);
    let mut child = spawn_quietly(args);
    let started = std::time::Instant::now();
    loop {
        if child
            .try_wait()
            .expect("the process can be polled")
            .is_some()
        {
            return false;
        }
        if std::fs::read_to_string(state).is_ok_and(|text| reached(&text)) {
            kill(child);
            return true;
        }
        assert!(
            started.elapsed() < GIVE_UP,
            "{} never reached the awaited state",
            state.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}
