//! Progress bars for long work, drawn on standard error so standard output stays parseable.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` items with a label and a free-form message.
pub fn bar(total: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}
