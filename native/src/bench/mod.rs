//! `actprm bench`: throughput of the encoder, the ensemble heads, a training step and an
//! evaluation, each timed after warm-up runs, printed as a table and appended to a JSON-lines
//! file whose keys `scripts/bench_torch.py` shares.

pub mod cases;
pub mod record;
pub mod timing;
pub mod workloads;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;

use crate::stdout::outln;
use record::{BenchEnvironment, BenchRecord, CaseShape};
use timing::{Throughput, measure};

/// Runs cases on one device and records each as it finishes.
pub struct BenchRun {
    /// Where the cases compute.
    pub device: Device,
    warmup: usize,
    repeats: usize,
    environment: BenchEnvironment,
    out: File,
    out_path: std::path::PathBuf,
}

impl BenchRun {
    /// A run appending its records to `out`, and printing the table's header.
    pub fn new(
        device: Device,
        warmup: usize,
        repeats: usize,
        environment: BenchEnvironment,
        out: &Path,
    ) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .with_context(|| format!("opening {} to append the results", out.display()))?;
        outln!(
            "{:<20} {:<7} {:>8} {:>5} {:>14} {:>14}  unit",
            "case",
            "model",
            "shape",
            "E",
            "median",
            "best"
        )?;
        Ok(Self {
            device,
            warmup,
            repeats,
            environment,
            out: file,
            out_path: out.to_path_buf(),
        })
    }

    /// Times `work` units of `run` and records them under `shape`. `run` must return only once
    /// its work is done on the device.
    pub fn time(&mut self, shape: CaseShape, work: f64, run: impl FnMut()) -> Result<()> {
        eprintln!("measuring {} {}", shape.case, describe(&shape));
        let throughput = measure(self.warmup, self.repeats, work, run);
        self.record(shape, throughput)
    }

    fn record(&mut self, shape: CaseShape, throughput: Throughput) -> Result<()> {
        let record = BenchRecord::new(
            shape,
            throughput,
            self.warmup,
            self.repeats,
            &self.environment,
        );
        let s = &record.shape;
        outln!(
            "{:<20} {:<7} {:>8} {:>5} {:>14.1} {:>14.1}  {}",
            s.case,
            s.model.as_deref().unwrap_or("-"),
            shape_text(s),
            s.heads.map_or("-".to_string(), |e| e.to_string()),
            record.median,
            record.best,
            s.unit
        )?;
        writeln!(self.out, "{}", serde_json::to_string(&record)?)
            .and_then(|()| self.out.flush())
            .with_context(|| format!("writing {}", self.out_path.display()))
    }
}

/// `BATCHxSEQ_LEN`, or the trajectory count and steps where no tokens are read.
fn shape_text(shape: &CaseShape) -> String {
    match (shape.seq_len, shape.steps) {
        (Some(seq_len), _) => format!("{}x{seq_len}", shape.batch),
        (None, Some(steps)) => format!("{}x{steps}st", shape.batch),
        (None, None) => shape.batch.to_string(),
    }
}

fn describe(shape: &CaseShape) -> String {
    let heads = shape.heads.map_or(String::new(), |e| format!(" E={e}"));
    format!(
        "{} {}{heads}",
        shape.model.as_deref().unwrap_or("heads"),
        shape_text(shape)
    )
}
