//! The readers on the real data sets: every file reads whole, with the sizes and label counts
//! their sources publish.
//!
//! Needs the data sets from scripts/fetch-data.sh (`$ACTPRM_DATA` overrides where they are), so
//! every test here is ignored unless asked for (`cargo test -- --include-ignored`).

mod support;

use std::fs::File;
use std::io::BufReader;

use actprm_core::ProcessLabel;
use actprm_core::data::{
    CORRECT_CLASSIFICATION, PROCESSBENCH_SPLITS, read_gsm8k, read_prm800k_stepwise, read_prmbench,
    read_processbench,
};
use actprm_core::tasks::gsm8k::Calculation;
use flate2::read::GzDecoder;
use support::data_dir;

/// Reads split `name` and checks its erroneous/correct counts against ProcessBench's Table 1.
fn check_split(name: &str, erroneous: usize, correct: usize) {
    let path = data_dir().join(format!("processbench/{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let items = read_processbench(&path.display().to_string(), &text)
        .unwrap_or_else(|error| panic!("{error}"));
    let with_error = items
        .iter()
        .filter(|item| item.trajectory.label != Some(ProcessLabel::AllCorrect))
        .count();
    assert_eq!(
        (with_error, items.len() - with_error),
        (erroneous, correct),
        "{name}: erroneous/correct items"
    );
}

#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_processbench_gsm8k_split_has_400_items() {
    check_split(PROCESSBENCH_SPLITS[0], 207, 193);
}

#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_processbench_math_split_has_1000_items() {
    check_split(PROCESSBENCH_SPLITS[1], 594, 406);
}

#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_processbench_olympiadbench_split_has_1000_items() {
    check_split(PROCESSBENCH_SPLITS[2], 661, 339);
}

#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_processbench_omnimath_split_has_1000_items() {
    check_split(PROCESSBENCH_SPLITS[3], 759, 241);
}

/// The PRMBench sample: 50 rows, two per file of the benchmark, plus one correct item per
/// `redundency` row, every error step inside its solution.
#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_prmbench_sample_reads() {
    let path = data_dir().join("prmbench_sample/sample.jsonl");
    let file = BufReader::new(File::open(&path).unwrap());
    let items = read_prmbench(&path.display().to_string(), file)
        .unwrap()
        .items;
    let correct = items
        .iter()
        .filter(|item| item.classification == CORRECT_CLASSIFICATION)
        .count();
    assert!(correct > 0);
    assert!(items.len() <= 50 + correct);
    assert!(items.iter().all(|item| {
        item.error_steps
            .iter()
            .all(|&step| step < item.trajectory.num_steps())
    }));
}

/// PRM800K's phase-1 test split: every rated row (hint rows carry no rating), 1,970 of them
/// ending in an error.
#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_prm800k_phase1_test_split_has_5082_rated_rows() {
    let path = data_dir().join("prm800k_stepwise/phase1_test.stepwise-critic.jsonl.gz");
    let file =
        File::open(&path).unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    let reader = BufReader::new(GzDecoder::new(file));
    let trajectories = read_prm800k_stepwise(&path.display().to_string(), reader)
        .unwrap_or_else(|error| panic!("{error}"));
    let erroneous = trajectories
        .iter()
        .filter(|t| matches!(t.label, Some(ProcessLabel::FirstErrorAt(_))))
        .count();
    assert_eq!(trajectories.len(), 5449 - 367);
    assert_eq!(erroneous, 1970);
}

/// Every problem of GSM8K's training split reads, and nearly all carry calculations whose
/// written results can be corrupted.
#[test]
#[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
fn the_gsm8k_training_split_reads_whole() {
    let path = data_dir().join("gsm8k/train.jsonl");
    let file = File::open(&path).unwrap();
    let problems = read_gsm8k(&path.display().to_string(), BufReader::new(file)).unwrap();
    assert_eq!(problems.len(), 7473);
    let corruptible = problems
        .iter()
        .filter(|problem| {
            problem
                .solution
                .steps
                .iter()
                .any(|step| step.calculations.iter().any(Calculation::is_checkable))
        })
        .count();
    assert!(
        corruptible as f64 > 0.9 * problems.len() as f64,
        "{corruptible} of {} problems have a checkable calculation",
        problems.len()
    );
}
