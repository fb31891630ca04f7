//! Reading and loading a checkpoint directory, with errors that name it.

use std::path::Path;

use actprm_core::checkpoint::{Checkpoint, CheckpointFiles};
use anyhow::{Context, Result};

use crate::backend::Backend;

/// Reads and loads a checkpoint directory onto the backend's device.
pub fn load_checkpoint(dir: &Path, backend: &Backend) -> Result<Checkpoint> {
    load_checkpoint_files(&read_checkpoint_files(dir)?, dir, backend)
}

/// Reads a checkpoint directory's files.
pub fn read_checkpoint_files(dir: &Path) -> Result<CheckpointFiles> {
    CheckpointFiles::read_dir(dir).with_context(|| {
        format!(
            "reading the checkpoint {} (train one with `actprm run`)",
            dir.display()
        )
    })
}

/// Loads the files read from checkpoint directory `dir` onto the backend's device.
pub fn load_checkpoint_files(
    files: &CheckpointFiles,
    dir: &Path,
    backend: &Backend,
) -> Result<Checkpoint> {
    files
        .load(&backend.device)
        .with_context(|| format!("loading the checkpoint {}", dir.display()))
}
