//! One measured case as a JSON line, and the facts about the machine and build recorded with
//! every line. `scripts/bench_torch.py` writes the same keys, so both implementations' lines
//! can be read side by side.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::timing::Throughput;

/// What a case measured and with which shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseShape {
    /// The case: `encoder_forward`, `ensemble_scoring`, `heads_scoring`, `heads_training_step`,
    /// `finetune_step` or `eval_processbench`.
    pub case: String,
    /// The encoder, `minilm` or `small`; `None` for the heads-only cases.
    pub model: Option<String>,
    /// Rows of the batch (trajectories, or windows for the encoder).
    pub batch: usize,
    /// Tokens per row, where the case reads tokens.
    pub seq_len: Option<usize>,
    /// Ensemble heads E, where the case runs heads.
    pub heads: Option<usize>,
    /// Steps per trajectory, where the case scores steps.
    pub steps: Option<usize>,
    /// Unit of the throughput: `tokens/s` or `trajectories/s`.
    pub unit: String,
}

/// Where and from what the numbers came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchEnvironment {
    /// `actprm` or `pytorch`.
    pub implementation: String,
    /// `flex`, `wgpu`, `cpu` (PyTorch) or `cuda`.
    pub backend: String,
    /// The CPU's or the GPU adapter's name.
    pub device: String,
    /// Threads of the CPU backend.
    pub threads: usize,
    /// The commit of the code measured.
    pub commit: String,
    /// When, in UTC, RFC 3339.
    pub date: String,
}

/// One JSON line of `bench.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRecord {
    #[serde(flatten)]
    pub shape: CaseShape,
    /// Throughput of the median run.
    pub median: f64,
    /// Throughput of the fastest run.
    pub best: f64,
    /// Untimed runs before the timed ones.
    pub warmup: usize,
    /// Timed runs.
    pub repeats: usize,
    #[serde(flatten)]
    pub environment: BenchEnvironment,
}

impl BenchRecord {
    /// The record of `shape` measured at `throughput`.
    pub fn new(
        shape: CaseShape,
        throughput: Throughput,
        warmup: usize,
        repeats: usize,
        environment: &BenchEnvironment,
    ) -> Self {
        Self {
            shape,
            median: throughput.median,
            best: throughput.best,
            warmup,
            repeats,
            environment: environment.clone(),
        }
    }
}

/// The CPU's model name from `/proc/cpuinfo`, with its family and model numbers where the file
/// gives them, or the architecture where it is not readable.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| cpu_name_in(&info))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The first processor's model name in a `/proc/cpuinfo` text, followed by its family and model
/// numbers where the text has them: a virtual machine's generic name ("AMD EPYC") covers
/// generations whose vector units differ, and only the numbers tell them apart.
fn cpu_name_in(info: &str) -> Option<String> {
    let first_processor = info.split("\n\n").next().unwrap_or_default();
    let field = |key: &str| {
        first_processor.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == key).then(|| value.trim().to_string())
        })
    };
    let name = field("model name")?;
    Some(match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!("{name} (family {family}, model {model})"),
        _ => name,
    })
}

/// The short hash of the checkout at `dir`, or "unknown" outside a git checkout.
pub fn current_commit(dir: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Now, in UTC, as RFC 3339 to the second.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_is_named_with_its_family_and_model_where_known() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
                   model name\t: AMD EPYC\nstepping\t: 0\n\nprocessor\t: 1\ncpu family\t: 26\n";
        assert_eq!(
            cpu_name_in(x86).as_deref(),
            Some("AMD EPYC (family 25, model 17)")
        );
        let unnumbered = "processor\t: 0\nmodel name\t: Some CPU\n";
        assert_eq!(cpu_name_in(unnumbered).as_deref(), Some("Some CPU"));
        assert_eq!(cpu_name_in("processor\t: 0\nBogoMIPS\t: 50.00\n"), None);
    }

    #[test]
    fn a_record_is_one_flat_json_object() {
        let record = BenchRecord::new(
            CaseShape {
                case: "encoder_forward".into(),
                model: Some("minilm".into()),
                batch: 32,
                seq_len: Some(256),
                heads: None,
                steps: None,
                unit: "tokens/s".into(),
            },
            Throughput {
                median: 10.0,
                best: 12.0,
            },
            1,
            5,
            &BenchEnvironment {
                implementation: "actprm".into(),
                backend: "flex".into(),
                device: "a CPU".into(),
                threads: 2,
                commit: "abc1234".into(),
                date: utc_now(),
            },
        );
        let json: serde_json::Value = serde_json::to_value(&record).unwrap();
        for key in [
            "case",
            "model",
            "batch",
            "seq_len",
            "heads",
            "steps",
            "unit",
            "median",
            "best",
            "warmup",
            "repeats",
            "implementation",
            "backend",
            "device",
            "threads",
            "commit",
            "date",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["heads"], serde_json::Value::Null);
        let back: BenchRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }
}
