//! Timing one piece of work: untimed warm-up runs, then timed repetitions, summarised as the
//! median and the best throughput.

use std::time::Instant;

/// Throughput of repeated runs of the same work, in units of work per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Of the median run.
    pub median: f64,
    /// Of the fastest run.
    pub best: f64,
}

impl Throughput {
    /// The throughput of runs that each did `work` units in `seconds[i]`.
    ///
    /// # Panics
    /// When `seconds` is empty.
    pub fn from_seconds(work: f64, seconds: &[f64]) -> Self {
        assert!(!seconds.is_empty(), "at least one timed run");
        let mut sorted = seconds.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        } else {
            sorted[middle]
        };
        Self {
            median: work / median,
            best: work / sorted[0],
        }
    }
}

/// Runs `run` `warmup` times untimed, then `repeats` times timed; each run does `work` units.
/// `run` must not return before its work is done (read results back or sync the device).
pub fn measure(warmup: usize, repeats: usize, work: f64, mut run: impl FnMut()) -> Throughput {
    for _ in 0..warmup {
        run();
    }
    let seconds: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .collect();
    Throughput::from_seconds(work, &seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_best_come_from_the_run_times() {
        let odd = Throughput::from_seconds(100.0, &[4.0, 1.0, 2.0]);
        assert_eq!(
            odd,
            Throughput {
                median: 50.0,
                best: 100.0
            }
        );
        let even = Throughput::from_seconds(100.0, &[5.0, 2.0, 3.0, 4.0]);
        assert_eq!(even.median, 100.0 / 3.5);
        assert_eq!(even.best, 50.0);
    }

    /// Warm-up runs that take far longer than the timed ones (as a first run's compilation
    /// does) leave the throughput untouched.
    #[test]
    fn warm_up_runs_are_not_timed() {
        let mut calls = 0;
        let throughput = measure(2, 3, 1.0, || {
            calls += 1;
            if calls <= 2 {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        assert_eq!(calls, 5);
        // A timed run that had slept would give at most 5 per second.
        assert!(throughput.best > 1000.0, "{throughput:?}");
        assert!(throughput.median > 1000.0, "{throughput:?}");
    }
}
