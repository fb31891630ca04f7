//! `kill -9` at several points of a command, then running it again, must end exactly where a
//! run never killed ends: `filter` resumes to the same kept.jsonl and filter.json, byte for
//! byte; `run` goes on from its last save and ends with the same metrics and weights, without
//! touching any device but the CPU under `--device cpu`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    TINY_MODEL, actprm, actprm_refused, entropy_filter_args, kill_after, scratch, tiny_checkpoint,
    weights,
};

#[test]
fn filter_killed_at_several_points_resumes_to_the_same_files() {
    let dir = scratch("kill-filter");
    let checkpoint = tiny_checkpoint(&dir);
    let checkpoint = checkpoint.to_str().unwrap();
    let filter_args = |out: &Path| entropy_filter_args(checkpoint, "600", "25", out);
    let reference = dir.join("reference");
    let args = filter_args(&reference);
    actprm(&args);

    let out = dir.join("killed");
    let args = filter_args(&out);
    let mut interrupted_states = 0;
    for kill_after_ms in [1500, 900, 1200] {
        kill_after(&args, Duration::from_millis(kill_after_ms));
        let state = std::fs::read_to_string(out.join("filter.json")).unwrap_or_default();
        interrupted_states += usize::from(!state.contains("\"complete\": true"));
        let scored = state
            .split("\"scored\": ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or("0");
        eprintln!("killed after {kill_after_ms} ms: {scored} of 600 scored");
    }
    assert!(interrupted_states > 0, "no kill landed before the end");
    actprm(&args);
    for file in ["kept.jsonl", "filter.json"] {
        let resumed = std::fs::read_to_string(out.join(file)).unwrap();
        let never_killed = std::fs::read_to_string(reference.join(file)).unwrap();
        // filter.json names its output directory nowhere, so the files compare whole.
        assert!(
            resumed == never_killed,
            "{file} differs from the run never killed"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_killed_at_several_points_goes_on_from_its_last_save_to_the_end_of_a_run_never_killed() {
    let dir = scratch("kill-run");
    let run_args = |out: &Path, seed: &str| -> Vec<String> {
        [
            "--device",
            "cpu",
            "run",
            "--pool-size",
            "480",
            "--eval-size",
            "16",
            "--checkpoint-every",
            "5",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]
        .into_iter()
        .chain(TINY_MODEL)
        .map(str::to_string)
        .collect()
    };
    let reference = dir.join("reference");
    let started = Instant::now();
    actprm(&run_args(&reference, "0"));
    let whole_run = started.elapsed();

    let out = dir.join("killed");
    let args = run_args(&out, "0");
    for fraction in [0.6, 0.3] {
        kill_after(&args, whole_run.mul_f64(fraction));
        let saved = std::fs::read_to_string(out.join("resume/pass.json")).unwrap_or_default();
        let saved: serde_json::Value = serde_json::from_str(&saved).unwrap_or_default();
        eprintln!(
            "killed after {:.0}% of a whole run; saved at mini-batch {}",
            100.0 * fraction,
            saved["progress"]["next_batch"]
        );
    }
    assert!(
        !out.join("summary.json").exists() && out.join("resume").exists(),
        "the kills landed between a save and the end"
    );

    // The same directory with other settings is refused, naming what changed.
    let refused = actprm_refused(&run_args(&out, "1"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("seed: was 0, now 1") && stderr.contains("--force"),
        "{stderr}"
    );

    // A saved state that does not read is refused with the way out, and kept.
    let pass = out.join("resume/pass.json");
    let saved = std::fs::read(&pass).unwrap();
    std::fs::write(&pass, b"{").unwrap();
    let refused = actprm_refused(&args);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("saved state does not read") && stderr.contains("--force"),
        "{stderr}"
    );
    std::fs::write(&pass, saved).unwrap();

    // burn's default device, which loading an optimiser's state uses, is the CPU under
    // --device cpu: an unknown backend named there would make any use of it panic.
    let resumed = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(&args)
        .env("BURN_DEVICE", "no-such-backend")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        resumed.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(stdout.contains("going on from mini-batch"), "{stdout}");
    assert!(
        std::fs::read(out.join("metrics.jsonl")).unwrap()
            == std::fs::read(reference.join("metrics.jsonl")).unwrap(),
        "metrics.jsonl differs from the run never killed"
    );
    assert!(
        weights(&out) == weights(&reference),
        "the weights differ from the run never killed"
    );
    assert!(
        !out.join("resume").exists(),
        "a finished run keeps no state to resume from"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
