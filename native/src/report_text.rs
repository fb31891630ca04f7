//! How numbers read in reports: durations and step AUCs.

use std::time::Duration;

/// A step AUC for a report: three decimals, or "n/a" for a set lacking a class of step.
pub fn auc(auc: Option<f64>) -> String {
    auc.map_or_else(|| "n/a".to_string(), |auc| format!("{auc:.3}"))
}

/// A duration as minutes and seconds, `12m 05s`.
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}m {:02}s", seconds / 60, seconds % 60)
}
