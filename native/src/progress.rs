//! Progress bars for long work, drawn on standard error so standard output stays parseable.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` items with a label and a free-form message.
pub fn bar(total: usize, label: &str) -> ProgressBar {
    styled(total as u64, label, "{pos}/{len}")
}

/// A bar over `total` bytes of a file being streamed.
pub fn bytes_bar(total: u64, label: &str) -> ProgressBar {
    styled(total, label, "{bytes}/{total_bytes}")
}

/// A bar whose count is drawn with `count_template`.
fn styled(total: u64, label: &str, count_template: &str) -> ProgressBar {
    let template = format!(
        "{{prefix:>10}} [{{bar:30}}] {count_template} {{elapsed_precise}} eta {{eta}} {{msg}}"
    );
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&template)
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}
