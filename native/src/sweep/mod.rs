//! `actprm sweep`'s parts: the grid of experiments, the settings they share, what is left to run,
//! their results file, the benchmarks beside the test set, the averages over seeds, the chart and
//! the tables.

pub mod benchmarks;
pub mod chart;
pub mod groups;
pub mod plan;
pub mod results;
pub mod settings;
pub mod spec;
pub mod table;

use std::fs;
use std::path::Path;

use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result};

/// Writes `bytes` to `path` whole (see [`write_whole_file`]), creating its directory.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(write_whole_file(path, bytes)?)
}
