//! `actprm filter` end to end: the kept rows, in pool order, read back as training rows; an
//! interrupted filter resumes, also from the same checkpoint named by another path, and a
//! checkpoint changed at the same path is refused.

mod common;

use std::path::Path;

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
    std::fs::remove_dir_all(&root).ok();
}
