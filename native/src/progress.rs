//! Progress bars for long work, drawn on standard error so standard output stays parseable.
//! Where standard error is no terminal (a log file, a batch job), the bar is not drawn and a
//! plain line says where the work stands every [`LOG_EVERY`] instead.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::thread;
use std::time::Duration;

use indicatif::{HumanBytes, HumanDuration, ProgressBar, ProgressStyle};

/// How often a bar that is not drawn writes its line to the log.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// A bar over `total` items with a label and a free-form message.
pub fn bar(total: usize, label: &str) -> ProgressBar {
    styled(total as u64, label, "{pos}/{len}", |count| {
        count.to_string()
    })
}

/// A bar over `total` bytes of a file being streamed.
pub fn bytes_bar(total: u64, label: &str) -> ProgressBar {
    styled(total, label, "{bytes}/{total_bytes}", |count| {
        HumanBytes(count).to_string()
    })
}

/// A bar whose count is drawn with `count_template`, and written to the log by `count`.
fn styled(total: u64, label: &str, count_template: &str, count: fn(u64) -> String) -> ProgressBar {
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
    if !std::io::stderr().is_terminal() {
        log_while_running(&bar, LOG_EVERY, count, std::io::stderr());
    }
    bar
}

/// Writes `line` above `bar`; where the bar is not drawn, to standard error, since indicatif
/// drops the lines of a bar it does not draw.
pub fn println(bar: &ProgressBar, line: impl AsRef<str>) {
    println_to(bar, line.as_ref(), &mut std::io::stderr());
}

/// [`println`] writing to `out` when the bar is not drawn.
fn println_to(bar: &ProgressBar, line: &str, out: &mut impl Write) {
    if bar.is_hidden() {
        let _ = writeln!(out, "{line}");
    } else {
        bar.println(line);
    }
}

/// Writes `bar`'s line to `out` every `every`, until the bar is finished or dropped.
fn log_while_running(
    bar: &ProgressBar,
    every: Duration,
    count: fn(u64) -> String,
    mut out: impl Write + Send + 'static,
) {
    let bar = bar.downgrade();
    thread::spawn(move || {
        loop {
            thread::sleep(every);
            let Some(bar) = bar.upgrade() else { break };
            if bar.is_finished() || writeln!(out, "{}", log_line(&bar, count)).is_err() {
                break;
            }
        }
    });
}

/// Where `bar` stands, in one line: its label, count, share, time so far and left, message.
fn log_line(bar: &ProgressBar, count: fn(u64) -> String) -> String {
    let (done, total, elapsed) = (bar.position(), bar.length(), bar.elapsed());
    let mut line = format!("{}: {}", bar.prefix(), count(done));
    if let Some(total) = total {
        let share = 100.0 * done as f64 / total.max(1) as f64;
        let _ = write!(line, "/{} ({share:.1}%)", count(total));
    }
    let _ = write!(line, " after {}", HumanDuration(elapsed));
    // At the pace so far: steadier over a long run than the bar's recent rate, which a pause
    // (an evaluation between mini-batches) throws off.
    if let Some(total) = total.filter(|_| done > 0) {
        let left = elapsed.mul_f64(total.saturating_sub(done) as f64 / done as f64);
        let _ = write!(line, ", about {} left", HumanDuration(left));
    }
    let message = bar.message();
    if !message.is_empty() {
        let _ = write!(line, " | {message}");
    }
    line
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log shared with the thread that writes it.
    #[derive(Clone, Default)]
    struct SharedLog(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedLog {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl SharedLog {
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_string).collect()
        }
    }

    #[test]
    fn a_line_names_the_work_its_count_and_its_message() {
        let bar = ProgressBar::hidden();
        bar.set_length(8);
        bar.set_prefix("pool");
        assert!(log_line(&bar, |n| n.to_string()).starts_with("pool: 0/8 (0.0%) after "));
        bar.set_position(2);
        bar.set_message("loss 0.41");
        let line = log_line(&bar, |n| n.to_string());
        assert!(line.starts_with("pool: 2/8 (25.0%) after "), "{line}");
        assert!(line.contains(" left | loss 0.41"), "{line}");
        assert_eq!(
            log_line(&bar, |n| HumanBytes(n).to_string())
                .split(" after")
                .next(),
            Some("pool: 2 B/8 B (25.0%)")
        );
    }

    #[test]
    fn a_line_above_an_undrawn_bar_is_written_out() {
        let bar = ProgressBar::hidden();
        let mut out = Vec::new();
        println_to(&bar, "seed 0: budget 5.4%", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "seed 0: budget 5.4%\n");
    }

    #[test]
    fn an_undrawn_bar_is_logged_until_it_finishes() {
        let bar = ProgressBar::hidden();
        bar.set_length(4);
        bar.set_prefix("read");
        let log = SharedLog::default();
        log_while_running(
            &bar,
            Duration::from_millis(20),
            |n| n.to_string(),
            log.clone(),
        );
        bar.set_position(3);
        thread::sleep(Duration::from_millis(200));
        bar.finish();
        thread::sleep(Duration::from_millis(100));
        let lines = log.lines();
        assert!(!lines.is_empty(), "no line was logged");
        assert!(
            lines.iter().all(|line| line.starts_with("read: ")),
            "{lines:?}"
        );
        assert!(
            lines[0].starts_with("read: 3/4 (75.0%) after "),
            "{lines:?}"
        );
        let logged = lines.len();
        thread::sleep(Duration::from_millis(100));
        assert_eq!(log.lines().len(), logged, "a finished bar is not logged");
    }
}
