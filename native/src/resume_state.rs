//! What `run` and `train` save beside each checkpoint, so that a run stopped mid-pass (killed,
//! or the machine lost) goes on from its last save when it is run again, and ends where a run
//! never stopped ends: the weights, the trainer's state (schedule, bootstrap generator,
//! AdamW's moments), where the pass stands, and what the served judge has answered so far.
//!
//! The files live in one directory written whole (see `whole_dir`): the checkpoint's three
//! files, `optimizer.bpk` (burn's burnpack), `trainer.json` and `pass.json`.

use std::fs;
use std::path::Path;

use actprm_core::active::PassProgress;
use actprm_core::checkpoint::CheckpointFiles;
use actprm_core::trainer::{TrainerPosition, TrainerState};
use actprm_core::whole_dir::{remove_whole_dir, settled_dir, write_whole_dir};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::judge::tally::Tally;
use crate::run_dir::read_json;

const OPTIMIZER_FILE: &str = "optimizer.bpk";
const TRAINER_FILE: &str = "trainer.json";
const PASS_FILE: &str = "pass.json";

/// A run's state between two mini-batches.
pub struct ResumeState {
    /// The model's weights, with the run's configuration and tokenizer.
    pub checkpoint: CheckpointFiles,
    /// The trainer's state beyond the weights.
    pub trainer: TrainerState,
    /// The pass's state.
    pub pass: PassState,
}

/// Where a pass stands, as `pass.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassState {
    /// The next mini-batch, and the ledger of the labels consumed so far.
    pub progress: PassProgress,
    /// What became of the trajectories sent to the served judge, when one labels the pool.
    pub judge: Option<Tally>,
    /// Seconds the run has worked until the save, over all its attempts.
    pub elapsed_seconds: f64,
}

impl ResumeState {
    /// Writes the state into `dir`, replacing the state there only once all of it is written.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let trainer = serde_json::to_vec_pretty(&self.trainer.position)?;
        let pass = serde_json::to_vec_pretty(&self.pass)?;
        let mut files = self.checkpoint.named_files().to_vec();
        files.extend([
            (OPTIMIZER_FILE, self.trainer.optimizer.as_slice()),
            (TRAINER_FILE, trainer.as_slice()),
            (PASS_FILE, pass.as_slice()),
        ]);
        write_whole_dir(dir, &files)
            .with_context(|| format!("saving the state to resume from in {}", dir.display()))
    }

    /// The state saved in `dir`, or `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let settled = settled_dir(dir);
        if !settled.exists() {
            return Ok(None);
        }
        let optimizer = settled.join(OPTIMIZER_FILE);
        let state = Self {
            checkpoint: CheckpointFiles::read_dir(&settled)?,
            trainer: TrainerState {
                position: read_json::<TrainerPosition>(&settled.join(TRAINER_FILE))?,
                optimizer: fs::read(&optimizer)
                    .with_context(|| format!("reading {}", optimizer.display()))?,
            },
            pass: read_json(&settled.join(PASS_FILE))?,
        };
        Ok(Some(state))
    }

    /// Removes the state saved in `dir`, if any.
    pub fn remove(dir: &Path) -> Result<()> {
        remove_whole_dir(dir).with_context(|| format!("removing {}", dir.display()))
    }
}
