//! The labels a finished `actprm run` bought, for `actprm train --labels-of`: the pool
//! trajectories its ledger lists, given only to a run over the same pool.

use std::path::{Path, PathBuf};

use actprm_core::budget::BudgetLedger;
use actprm_core::pool_indices::PoolIndices;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::differences;
use crate::run_dir::read_finished;

/// What of a run's record (run.json) decides its pool: the task with its data, the sizes the
/// pool and the held-out set are drawn at, and the seed that draws them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolRecord {
    pub task: Value,
    pub pool_size: usize,
    pub eval_size: usize,
    pub seed: u64,
}

/// The part of a run's summary (summary.json) read back.
#[derive(Debug, Deserialize)]
struct LedgerSummary {
    ledger: BudgetLedger,
}

/// A finished run's labelled trajectories and the pool they index.
#[derive(Debug)]
pub struct LabelledRun {
    dir: PathBuf,
    pool: PoolRecord,
    labelled: PoolIndices,
}

impl LabelledRun {
    /// The labels the finished run in `dir` bought. Refused when the run has not finished, or
    /// when its ledger does not list every trajectory it bought (a run recorded before ledgers
    /// listed them).
    pub fn read(dir: &Path) -> Result<Self> {
        let (pool, summary): (PoolRecord, LedgerSummary) = read_finished(dir)?;
        let ledger = summary.ledger;
        let Some(labelled) = ledger.labelled_in_full() else {
            bail!(
                "{} lists {} trajectories labelled where its run bought {}: it was recorded \
                 before runs listed what they labelled, so there is nothing to train on",
                dir.display(),
                ledger.labelled.len(),
                ledger.judged()
            );
        };
        if labelled.is_empty() {
            bail!(
                "{} labelled no trajectory, so there is nothing to train on",
                dir.display()
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            pool,
            labelled: labelled.clone(),
        })
    }

    /// The labelled trajectories, for a run over the pool `now` describes; refused, naming
    /// each setting that differs, when it is another pool.
    pub fn labelled_in(self, now: &PoolRecord) -> Result<PoolIndices> {
        if &self.pool != now {
            bail!(
                "{} labelled another pool than this run's:\n{}\ntrain with the settings it \
                 was run with",
                self.dir.display(),
                differences(
                    &serde_json::to_value(&self.pool)?,
                    &serde_json::to_value(now)?
                )
            );
        }
        Ok(self.labelled)
    }
}

#[cfg(test)]
mod tests {
    use actprm_core::judge::JudgeCost;
    use serde_json::json;

    use super::*;

    fn pool(seed: u64) -> PoolRecord {
        PoolRecord {
            task: json!({"synthetic": {"steps": 4}}),
            pool_size: 12,
            eval_size: 4,
            seed,
        }
    }

    /// A run directory holding a finished run over `pool(0)` whose ledger bought `bought`
    /// trajectories and lists `listed`.
    fn finished_run(name: &str, bought: usize, listed: &[usize]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("actprm-labelled-run-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut record = serde_json::to_value(pool(0)).unwrap();
        record["strategy"] = json!({"name": "actprm"});
        std::fs::write(dir.join("run.json"), record.to_string()).unwrap();
        let mut ledger = BudgetLedger::new(12, &JudgeCost::new());
        ledger.labels_consumed = bought;
        ledger.labelled = listed.iter().copied().collect();
        let summary = json!({"strategy": "actprm", "ledger": ledger});
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
        dir
    }

    #[test]
    fn a_finished_run_gives_its_labels_to_a_run_over_the_same_pool() {
        let dir = finished_run("same", 3, &[1, 5, 6]);
        let labelled = LabelledRun::read(&dir).unwrap().labelled_in(&pool(0));
        assert_eq!(labelled.unwrap().to_string(), "1,5-6");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn another_pool_is_refused_naming_what_differs() {
        let dir = finished_run("other", 3, &[1, 5, 6]);
        let error = LabelledRun::read(&dir)
            .unwrap()
            .labelled_in(&pool(1))
            .unwrap_err()
            .to_string();
        assert!(error.contains("seed: was 0, now 1"), "{error}");
        assert!(!error.contains("pool_size"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_unfinished_or_unlisted_run_is_refused() {
        let dir = finished_run("unlisted", 3, &[]);
        let error = LabelledRun::read(&dir).unwrap_err().to_string();
        assert!(
            error.contains("lists 0 trajectories labelled where its run bought 3"),
            "{error}"
        );
        std::fs::remove_file(dir.join("summary.json")).unwrap();
        let error = LabelledRun::read(&dir).unwrap_err().to_string();
        assert!(error.contains("holds no finished run"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
        let error = LabelledRun::read(&dir).unwrap_err().to_string();
        assert!(error.contains("it does not exist"), "{error}");
    }
}
