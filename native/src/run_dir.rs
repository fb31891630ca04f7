//! A run directory: the configuration, per-mini-batch metrics flushed line by line, the
//! checkpoint, the state to resume from and the final summary, so an interrupted run keeps
//! everything up to its last mini-batch and goes on from its last save when run again.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use actprm_core::checkpoint::CheckpointFiles;
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dir_lock::DirLock;
use crate::identity::differences;
use crate::resume_state::ResumeState;

const RECORD_FILE: &str = "run.json";
const METRICS_FILE: &str = "metrics.jsonl";
const SUMMARY_FILE: &str = "summary.json";
const RESUME_DIR: &str = "resume";

/// A run directory locked against other processes, before its run has begun.
pub struct OpenRunDir {
    root: PathBuf,
    overwrite: bool,
    lock: DirLock,
}

/// A run directory whose run has begun (or gone on), locked while it is open.
pub struct RunDir {
    root: PathBuf,
    metrics: BufWriter<File>,
    _lock: DirLock,
}

impl RunDir {
    /// An error when `root` holds a finished run (its summary.json) and `overwrite` is not
    /// set; touches nothing, so that a command can check before its long preparations. An
    /// interrupted run is no error: [`OpenRunDir::begin`] goes on with it.
    pub fn ensure_free(root: &Path, overwrite: bool) -> Result<()> {
        let summary = root.join(SUMMARY_FILE);
        if summary.exists() && !overwrite {
            bail!(
                "{} holds a finished run already ({}); pass --force to overwrite it, or choose \
                 another --out",
                root.display(),
                summary.display()
            );
        }
        Ok(())
    }

    /// Creates and locks `root`. A finished run there is refused unless `overwrite` (see
    /// [`RunDir::ensure_free`]).
    pub fn open(root: &Path, overwrite: bool) -> Result<OpenRunDir> {
        let lock = DirLock::acquire(root)?;
        Self::ensure_free(root, overwrite)?;
        Ok(OpenRunDir {
            root: root.to_path_buf(),
            overwrite,
            lock,
        })
    }
}

impl OpenRunDir {
    /// Begins the run `record` describes, saved as run.json, and returns the state to go on
    /// from when the directory holds that same run interrupted after a save: metrics.jsonl
    /// then keeps the mini-batches up to that save. A run started afresh (no earlier run,
    /// `--force`, or no save yet) starts a fresh metrics.jsonl and removes the old run's
    /// summary and saved state, so nothing of it passes for the new run's. An interrupted run
    /// made with other settings is refused, naming each that changed.
    pub fn begin(self, record: &impl Serialize) -> Result<(RunDir, Option<ResumeState>)> {
        let root = &self.root;
        let record_path = root.join(RECORD_FILE);
        let record_text = serde_json::to_string_pretty(record)?;
        let resume_dir = root.join(RESUME_DIR);
        let resume = match (self.overwrite, record_path.exists()) {
            (false, true) => {
                let stored = fs::read_to_string(&record_path)
                    .with_context(|| format!("reading {}", record_path.display()))?;
                if stored != record_text {
                    let changed = match serde_json::from_str(&stored) {
                        Ok(stored) => differences(&stored, &serde_json::from_str(&record_text)?),
                        Err(_) => format!("  {} does not read as JSON", record_path.display()),
                    };
                    bail!(
                        "{} holds an interrupted run made with other settings:\n{changed}\npass \
                         --force to start over with these, or choose another --out",
                        root.display()
                    );
                }
                ResumeState::read(&resume_dir).with_context(|| {
                    format!(
                        "{} holds an interrupted run whose saved state does not read; pass \
                         --force to start it over",
                        root.display()
                    )
                })?
            }
            _ => None,
        };
        let metrics_path = root.join(METRICS_FILE);
        let metrics = match &resume {
            Some(state) => keep_lines(&metrics_path, state.pass.progress.next_batch)?,
            None => {
                let summary = root.join(SUMMARY_FILE);
                if summary.exists() {
                    fs::remove_file(&summary)
                        .with_context(|| format!("removing {}", summary.display()))?;
                }
                ResumeState::remove(&resume_dir)?;
                write_atomically(&record_path, record_text.as_bytes())?;
                File::create(&metrics_path)
                    .with_context(|| format!("creating {}", metrics_path.display()))?
            }
        };
        let run_dir = RunDir {
            root: self.root,
            metrics: BufWriter::new(metrics),
            _lock: self.lock,
        };
        Ok((run_dir, resume))
    }
}

/// Opens `path` for appending after its first `lines` lines, dropping what follows them: the
/// mini-batches logged after the last save, which a resumed run makes again.
fn keep_lines(path: &Path, lines: usize) -> Result<File> {
    let text = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let ends = text
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .map(|(at, _)| at + 1);
    let length = match lines {
        0 => 0,
        _ => match ends.clone().nth(lines - 1) {
            Some(end) => end,
            None => bail!(
                "{} logs {} mini-batches, fewer than the {lines} of the saved state to resume \
                 from; pass --force to start the run over",
                path.display(),
                ends.count()
            ),
        },
    };
    let file = OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.set_len(length as u64)
        .with_context(|| format!("truncating {}", path.display()))?;
    Ok(file)
}

impl RunDir {
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
        write().with_context(|| format!("writing {}", self.root.join(METRICS_FILE).display()))
    }

    /// Saves the checkpoint atomically into `checkpoint/`.
    pub fn save_checkpoint(&self, files: &CheckpointFiles) -> Result<PathBuf> {
        let dir = self.root.join("checkpoint");
        files
            .write_dir(&dir)
            .with_context(|| format!("saving the checkpoint to {}", dir.display()))?;
        Ok(dir)
    }

    /// Saves the state to resume from into `resume/`, replacing the last one.
    pub fn save_resume_state(&self, state: &ResumeState) -> Result<()> {
        state.write(&self.root.join(RESUME_DIR))
    }

    /// Writes the summary, which marks the run finished, and removes the state to resume
    /// from, which a finished run no longer needs.
    pub fn finish(&self, summary: &impl Serialize) -> Result<()> {
        self.write_json(SUMMARY_FILE, summary)?;
        ResumeState::remove(&self.root.join(RESUME_DIR))
    }
}

/// A finished run in `root`, its record (run.json) and its summary (summary.json) read back as
/// `R` and `S`; an error naming the directory when the run there has not finished.
pub fn read_finished<R: DeserializeOwned, S: DeserializeOwned>(root: &Path) -> Result<(R, S)> {
    if !root.is_dir() {
        bail!("{} is no run directory: it does not exist", root.display());
    }
    let summary = root.join(SUMMARY_FILE);
    if !summary.exists() {
        bail!(
            "{} holds no finished run: it has no {SUMMARY_FILE} (an interrupted run goes on when \
             run again)",
            root.display()
        );
    }
    Ok((read_json(&root.join(RECORD_FILE))?, read_json(&summary)?))
}

/// `path` read as the JSON of a `T`, with errors naming it.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} does not read", path.display()))
}

/// Writes `value` as pretty JSON to `path` atomically (see [`write_atomically`]).
pub fn write_json_atomically(path: &Path, value: &impl Serialize) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// Writes `bytes` to `path` whole and durably (see [`write_whole_file`]), so `path` always
/// holds a whole document, the old one or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(write_whole_file(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn metrics_keep_the_lines_of_the_saved_mini_batches_and_append_after_them() {
        let dir = std::env::temp_dir().join(format!("actprm-keep-lines-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(METRICS_FILE);
        let contents = |path: &Path| {
            let mut text = String::new();
            File::open(path).unwrap().read_to_string(&mut text).unwrap();
            text
        };
        for (kept, expected) in [(2, "a\nb\nz\n"), (0, "z\n"), (3, "a\nb\nc\nz\n")] {
            fs::write(&path, "a\nb\nc\n{\"torn").unwrap();
            let mut file = keep_lines(&path, kept).unwrap();
            file.write_all(b"z\n").unwrap();
            assert_eq!(contents(&path), expected);
        }
        fs::write(&path, "a\nb\n").unwrap();
        let error = keep_lines(&path, 3).unwrap_err().to_string();
        assert!(
            error.contains("logs 2 mini-batches, fewer than the 3"),
            "{error}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
