//! A sweep's results.jsonl: one line per finished experiment, appended and flushed as each
//! finishes, and read back so a rerun skips what is already there.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use actprm_core::budget::BudgetLedger;
use actprm_core::eval::Evaluation;
use actprm_core::eval::threshold::ChosenThreshold;
use actprm_core::strategy::Strategy;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::benchmarks::BenchmarkResults;
use super::spec::Spec;

/// The outcome of one experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResult {
    pub spec: Spec,
    /// The strategy the spec stood for, with every setting it read (absent from results
    /// written before strategies were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Labels consumed over the pool size.
    pub budget_fraction: f64,
    pub ledger: BudgetLedger,
    /// On the validation set: what thresholds may be chosen by.
    pub validation: Evaluation,
    /// On the test set: what is reported.
    pub test: Evaluation,
    /// The τ with the best first-error F1 on the validation set (absent from results written
    /// before thresholds were chosen).
    #[serde(default)]
    pub threshold: Option<ChosenThreshold>,
    /// On the test set at that τ.
    #[serde(default)]
    pub test_at_threshold: Option<Evaluation>,
    /// On the benchmarks the sweep was given (`--processbench`, `--prmbench`).
    #[serde(default, skip_serializing_if = "BenchmarkResults::is_empty")]
    pub benchmarks: BenchmarkResults,
    pub wall_seconds: f64,
}

/// The results file of a sweep directory.
pub struct ResultsFile {
    path: PathBuf,
}

impl ResultsFile {
    /// The results.jsonl inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join("results.jsonl"),
        }
    }

    /// Every result written so far (none when the file does not exist yet). A last line cut
    /// short by an interruption is removed from the file; any other bad line is an error
    /// naming it.
    pub fn load(&self) -> Result<Vec<ExperimentResult>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        let mut results = Vec::new();
        let mut offset = 0;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (index, line) in lines.iter().enumerate() {
            let number = index + 1;
            if !line.trim().is_empty() {
                match serde_json::from_str(line) {
                    Ok(result) => results.push(result),
                    Err(_) if number == lines.len() => {
                        eprintln!(
                            "{}:{number}: removing an incomplete last line (an interrupted write)",
                            self.path.display()
                        );
                        OpenOptions::new()
                            .write(true)
                            .open(&self.path)
                            .and_then(|file| file.set_len(offset as u64))
                            .with_context(|| format!("truncating {}", self.path.display()))?;
                    }
                    Err(e) => {
                        return Err(e).with_context(|| format!("{}:{number}", self.path.display()));
                    }
                }
            }
            offset += line.len();
        }
        Ok(results)
    }

    /// Deletes every result (the file); nothing to do when there is none.
    pub fn delete(&self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("deleting {}", self.path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Appends one result as a line and flushes it to disk.
    pub fn append(&self, result: &ExperimentResult) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        let mut line = serde_json::to_string(result)?;
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))
    }
}

#[cfg(test)]
pub mod tests {
    use actprm_core::eval::metrics::FirstErrorF1;
    use actprm_core::judge::JudgeCost;

    use super::*;
    use crate::cli::StrategyArg;

    /// A result with the given strategy, seed, budget and test F1 (other fields plausible).
    pub fn result(strategy: StrategyArg, seed: u64, budget: f64, f1: f64) -> ExperimentResult {
        let evaluation = Evaluation {
            tau: 0.5,
            first_error: FirstErrorF1 {
                erroneous_accuracy: f1,
                correct_accuracy: f1,
                f1,
                num_erroneous: 50,
                num_correct: 50,
            },
            step_accuracy: 0.9,
            step_auc: Some(0.8),
        };
        let mut ledger = BudgetLedger::new(100, &JudgeCost::new());
        ledger.labels_consumed = (budget * 100.0).round() as usize;
        ledger.judge_tokens = ledger.labels_consumed as u64 * ledger.tokens_per_trajectory;
        ExperimentResult {
            spec: Spec {
                strategy,
                seed,
                heads: 4,
                delta_pred: Some(0.95),
                delta_std: Some(0.005),
                threshold: None,
                fraction: None,
                per_batch: None,
                feature_layer: None,
            },
            strategy: None,
            budget_fraction: budget,
            ledger,
            validation: evaluation,
            test: evaluation,
            threshold: None,
            test_at_threshold: None,
            benchmarks: BenchmarkResults::default(),
            wall_seconds: 1.0,
        }
    }

    /// The results the documentation shows, written before thresholds were chosen and step
    /// AUC recorded, still load, so their sweeps can be resumed and redrawn.
    #[test]
    fn results_written_before_thresholds_load() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results/heads");
        let results = ResultsFile::in_dir(&docs).load().unwrap();
        assert!(!results.is_empty());
        assert_eq!(results[0].test.tau, 0.5);
        assert_eq!(results[0].threshold, None);
        assert_eq!(results[0].strategy, None);
    }

    #[test]
    fn appended_results_load_back_and_a_torn_last_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("actprm-results-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let file = ResultsFile::in_dir(&dir);
        assert!(file.load().unwrap().is_empty());
        let first = result(StrategyArg::Actprm, 0, 0.5, 0.8);
        let second = result(StrategyArg::Full, 0, 1.0, 0.82);
        file.append(&first).unwrap();
        file.append(&second).unwrap();
        assert_eq!(file.load().unwrap(), vec![first.clone(), second]);

        // An interrupted write leaves half a line at the end: it is removed, and the next
        // append starts a clean line.
        let path = dir.join("results.jsonl");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("{text}{{\"spec\": {{\"strat")).unwrap();
        assert_eq!(file.load().unwrap().len(), 2);
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        file.append(&first).unwrap();
        assert_eq!(file.load().unwrap().len(), 3);
        // ...but a bad line in the middle is an error that names the file and line.
        let broken = text.replacen("{\"spec\"", "{\"spek\"", 1)
            + "\n"
            + &serde_json::to_string(&first).unwrap();
        fs::write(&path, broken).unwrap();
        let error = format!("{:#}", file.load().unwrap_err());
        assert!(error.contains("results.jsonl:1"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
