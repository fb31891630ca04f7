//! Reading trajectory files in any of the supported formats, with the format guessed from the
//! contents when not given.

use std::fs::File;
use std::io::{BufRead, Read};
use std::path::Path;

use actprm_core::Trajectory;
use actprm_core::data::{read_prm800k_stepwise, read_processbench, read_training_rows};
use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;

use crate::cli::DataFormat;

/// Reads every trajectory of `path`.
pub fn read_trajectories(path: &Path, format: DataFormat) -> Result<Vec<Trajectory>> {
    let source = path.display().to_string();
    let text = read_text(path)?;
    let format = match format {
        DataFormat::Auto => detect(&text)
            .with_context(|| format!("{source}: cannot tell its format; pass --format"))?,
        given => given,
    };
    let trajectories = match format {
        DataFormat::Processbench => read_processbench(&source, &text)?
            .into_iter()
            .map(|item| item.trajectory)
            .collect(),
        DataFormat::Jsonl => read_training_rows(&source, text.as_bytes())?,
        DataFormat::Prm800k => read_prm800k_stepwise(&source, text.as_bytes())?,
        DataFormat::Auto => unreachable!("resolved above"),
    };
    Ok(trajectories)
}

/// The whole file as text, gunzipped when it ends in `.gz`.
pub fn read_text(path: &Path) -> Result<String> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(text)
}

/// The format of a file from its first record.
fn detect(text: &str) -> Result<DataFormat> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return Ok(DataFormat::Processbench);
    }
    let Some(first) = trimmed.as_bytes().lines().next().transpose()? else {
        bail!("the file is empty");
    };
    let record: serde_json::Value =
        serde_json::from_str(&first).context("its first line is not JSON")?;
    match (record.get("hard_labels"), record.get("next_response")) {
        (Some(_), _) => Ok(DataFormat::Jsonl),
        (None, Some(_)) => Ok(DataFormat::Prm800k),
        (None, None) => bail!(
            "its first record has neither `hard_labels` (training rows) nor `next_response` (PRM800K)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format_from_its_first_record() {
        assert_eq!(detect("  [{\"id\": 1}]").unwrap(), DataFormat::Processbench);
        assert_eq!(
            detect("{\"question\":\"q\",\"steps\":[],\"hard_labels\":[]}\n").unwrap(),
            DataFormat::Jsonl
        );
        assert_eq!(
            detect("{\"instruction\":\"q\",\"next_response\":\"s\"}").unwrap(),
            DataFormat::Prm800k
        );
        assert!(
            detect("{\"other\": 1}")
                .unwrap_err()
                .to_string()
                .contains("hard_labels")
        );
        assert!(detect("").is_err());
    }
}
