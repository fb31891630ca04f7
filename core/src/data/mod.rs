//! Readers for the data sets ActPRM trains and evaluates on.
//! Each takes text or a [`std::io::BufRead`] (file I/O stays in the binaries) and reports
//! problems as a [`DataError`] naming the source, the line or record, and the field.

mod error;
mod gsm8k;
mod jsonl;
mod prm800k;
mod prmbench;
mod processbench;
mod record;
mod stepwise;
mod training_rows;
mod unlabelled_rows;

pub use error::{DataError, Position, Problem};
pub use gsm8k::{Gsm8kProblem, Gsm8kRows, read_gsm8k};
pub use prm800k::{Prm800kRows, read_prm800k_stepwise};
pub use prmbench::{CORRECT_CLASSIFICATION, PrmBench, PrmBenchItem, read_prmbench};
pub use processbench::{
    PROCESSBENCH_SPLITS, ProcessBenchItem, read_processbench, read_processbench_bytes,
};
pub use record::MAX_STEP_CHARS;
pub use stepwise::{StepwiseRow, StepwiseRows, read_stepwise_rows, stepwise_row_json};
pub use training_rows::{TrainingRows, read_training_rows, training_row_json};
pub use unlabelled_rows::UnlabelledRows;

/// `text` without the UTF-8 byte-order mark some editors put at the start of a file, which is
/// not part of its JSON.
pub fn without_byte_order_mark(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Where scripts/fetch-data.sh puts the public data sets by default: `~/.cache/actprm/data`.
pub fn default_data_dir() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    std::path::PathBuf::from(home).join(".cache/actprm/data")
}

/// Trajectories for the readers' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::trajectory::{ProcessLabel, Trajectory};

    /// A trajectory of question "Q" and `steps`, labelled `label`.
    pub(crate) fn trajectory(steps: &[&str], label: ProcessLabel) -> Trajectory {
        Trajectory {
            question: "Q".to_owned(),
            steps: steps.iter().map(|step| (*step).to_owned()).collect(),
            label: Some(label),
        }
    }
}
