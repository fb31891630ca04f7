//! `actprm bench --smoke`: every case runs and writes a well-formed record. Timings are never
//! asserted, only that they are finite and positive.

mod common;

use std::collections::BTreeSet;

use common::{actprm, actprm_refused, data_dir};

#[test]
#[ignore = "needs all-MiniLM-L6-v2, SmolLM2 and the data sets: run scripts/fetch-backbone.sh, scripts/fetch-decoder.sh and scripts/fetch-data.sh"]
fn every_case_writes_a_finite_positive_record() {
    let out = std::env::temp_dir().join(format!("actprm-bench-{}.jsonl", std::process::id()));
    let processbench = data_dir().join("processbench");
    let run = actprm(&[
        "--device",
        "cpu",
        "bench",
        "--smoke",
        "--threads",
        "2",
        "--commit",
        "test",
        "--processbench",
        processbench.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(table.starts_with("case"), "{table}");

    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let cases: BTreeSet<&str> = records
        .iter()
        .map(|r| r["case"].as_str().unwrap())
        .collect();
    assert_eq!(
        cases,
        BTreeSet::from([
            "encoder_forward",
            "ensemble_scoring",
            "heads_scoring",
            "heads_training_step",
            "finetune_step",
            "decoder_forward",
            "eval_processbench",
        ])
    );
    // Two encoders at one shape, scoring with 1 and 2 heads, two heads-only cases, one
    // fine-tuning step, the decoder at one shape, one evaluation.
    assert_eq!(records.len(), 9, "{text}");
    for record in &records {
        for key in ["median", "best"] {
            let value = record[key].as_f64().unwrap();
            assert!(value.is_finite() && value > 0.0, "{key} in {record}");
        }
        assert!(
            record["best"].as_f64() >= record["median"].as_f64(),
            "{record}"
        );
        assert_eq!(record["implementation"], "actprm");
        assert_eq!(record["backend"], "flex");
        assert_eq!(record["threads"], 2);
        assert_eq!(record["commit"], "test");
        assert!(record["date"].as_str().unwrap().ends_with('Z'));
        let unit = record["unit"].as_str().unwrap();
        assert!(unit == "tokens/s" || unit == "trajectories/s", "{unit}");
    }
    assert!(
        table.lines().count() > records.len(),
        "a row per record under the header"
    );
}

#[test]
fn the_eval_case_asks_for_processbench() {
    let output = actprm_refused(&["--device", "cpu", "bench", "--smoke", "--cases", "eval"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--processbench"), "{stderr}");
}

#[test]
#[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
fn a_shape_longer_than_the_backbone_reads_is_refused() {
    let output = actprm_refused(&[
        "--device", "cpu", "bench", "--cases", "encoder", "--shapes", "1x513",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--shapes: 1x513") && stderr.contains("512 positions"),
        "{stderr}"
    );
}
