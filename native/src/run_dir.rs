//! A run directory: the configuration, per-mini-batch metrics flushed line by line, the
//! checkpoint and the final summary, so an interrupted run keeps everything up to its last
//! mini-batch and its last checkpoint.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use actprm_core::checkpoint::CheckpointFiles;
use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::dir_lock::DirLock;

/// An open run directory, locked against other processes while it is open.
pub struct RunDir {
    root: PathBuf,
    metrics: BufWriter<File>,
    _lock: DirLock,
}

impl RunDir {
    /// An error when `root` already holds a run (its run.json) and `overwrite` is not set;
    /// touches nothing, so that a command can check before its long preparations.
    pub fn ensure_free(root: &Path, overwrite: bool) -> Result<()> {
        let record = root.join("run.json");
        if record.exists() && !overwrite {
            let state = if root.join("summary.json").exists() {
                "a finished run"
            } else {
                "an interrupted run"
            };
            bail!(
                "{} holds {state} already ({}); pass --force to overwrite it, or choose \
                 another --out",
                root.display(),
                record.display()
            );
        }
        Ok(())
    }

    /// Creates and locks `root` and starts a fresh metrics.jsonl in it. A directory that
    /// already holds a run is refused unless `overwrite` (see [`RunDir::ensure_free`]), which
    /// first removes the old run's summary so that nothing of it passes for the new run's.
    pub fn create(root: &Path, overwrite: bool) -> Result<Self> {
        let lock = DirLock::acquire(root)?;
        Self::ensure_free(root, overwrite)?;
        let summary = root.join("summary.json");
        if summary.exists() {
            fs::remove_file(&summary).with_context(|| format!("removing {}", summary.display()))?;
        }
        fs::create_dir_all(root)
            .with_context(|| format!("creating the run directory {}", root.display()))?;
        let path = root.join("metrics.jsonl");
        let metrics =
            File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            root: root.to_path_buf(),
            metrics: BufWriter::new(metrics),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `value` as pretty JSON to `name` inside the run directory.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> Result<()> {
        write_json_atomically(&self.root.join(name), value)
    }

    /// Appends one line to metrics.jsonl and flushes it.
    pub fn log(&mut self, record: &impl Serialize) -> Result<()> {
        let metrics = &mut self.metrics;
        let mut write = || -> std::io::Result<()> {
            serde_json::to_writer(&mut *metrics, record)?;
            metrics.write_all(b"\n")?;
            metrics.flush()
        };
        write().with_context(|| format!("writing {}", self.root.join("metrics.jsonl").display()))
    }

    /// Saves the checkpoint atomically into `checkpoint/`.
    pub fn save_checkpoint(&self, files: &CheckpointFiles) -> Result<PathBuf> {
        let dir = self.root.join("checkpoint");
        files
            .write_dir(&dir)
            .with_context(|| format!("saving the checkpoint to {}", dir.display()))?;
        Ok(dir)
    }
}

/// Writes `value` as pretty JSON to `path` atomically (see [`write_atomically`]).
pub fn write_json_atomically(path: &Path, value: &impl Serialize) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// Writes `bytes` to `path` by writing a staging file beside it and renaming it, so `path`
/// always holds a whole document, the old one or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let staging = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    fs::write(&staging, bytes).with_context(|| format!("writing {}", staging.display()))?;
    fs::rename(&staging, path).with_context(|| format!("writing {}", path.display()))
}
