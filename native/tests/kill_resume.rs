//! `kill -9` at several points of a command, then running it again, must end exactly where a
//! run never killed ends: `filter` resumes to the same kept.jsonl and filter.json, byte for
//! byte; `run` goes on from its last save and ends with the same metrics and weights, without
//! touching any device but the CPU under `--device cpu`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    TINY_MODEL, actprm, actprm_refused, entropy_filter_args, kill_when, scratch, tiny_checkpoint,
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
    let state = out.join("filter.json");
    for at_least in [150, 300, 450] {
        let landed = kill_when(&args, &state, |text| {
            json_number(text, &["tally", "scored"]).is_some_and(|scored| scored >= at_least)
        });
        assert!(
            landed,
            "the filter ended before {at_least} of 600 were scored"
        );
    }
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
            // Rehearsal draws from the labels bought so far, which the saved state keeps.
            "--rehearse",
            "8",
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
    actprm(&run_args(&reference, "0"));

    // 30 mini-batches, saved every 5: killed after the saves at 10 and at 20.
    let out = dir.join("killed");
    let args = run_args(&out, "0");
    let state = out.join("resume/pass.json");
    for at_least in [10, 20] {
        let landed = kill_when(&args, &state, |text| {
            json_number(text, &["progress", "next_batch"]).is_some_and(|batch| batch >= at_least)
        });
        assert!(
            landed,
            "the run ended before its save at mini-batch {at_least}"
        );
    }
    assert!(
        !out.join("summary.json").exists() && state.exists(),
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

/// The number at `path` in a JSON text, when the text reads and holds one there.
fn json_number(text: &str, path: &[&str]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    path.iter()
        .try_fold(&value, |value, key| value.get(key))?
        .as_u64()
}
