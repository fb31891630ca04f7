//! Seeded inputs of chosen shapes for the benchmark: token windows with a step separator at
//! evenly spaced positions, cached step features, and first-error labels.

use std::ops::Range;

use actprm_core::encoding::EncodedTrajectory;
use actprm_core::features::StepFeatures;
use actprm_core::rng::SeededRng;
use actprm_core::trajectory::ProcessLabel;

/// `batch` single-window trajectories of exactly `seq_len` tokens drawn from `ids`, each cut
/// into `steps` steps of near-equal length: a separator closes every step, the last one at the
/// window's end, and position 0 holds `cls`.
///
/// # Panics
/// When `seq_len` is below `steps + 1`.
pub fn token_windows(
    batch: usize,
    seq_len: usize,
    steps: usize,
    ids: Range<u32>,
    (cls, separator): (u32, u32),
    rng: &mut SeededRng,
) -> Vec<EncodedTrajectory> {
    assert!(
        seq_len > steps,
        "{seq_len} tokens cannot hold {steps} steps"
    );
    (0..batch)
        .map(|_| {
            let mut tokens: Vec<u32> = (0..seq_len)
                .map(|_| ids.start + rng.below(u64::from(ids.end - ids.start)) as u32)
                .collect();
            tokens[0] = cls;
            let positions: Vec<usize> = (1..=steps).map(|j| j * (seq_len - 1) / steps).collect();
            for &position in &positions {
                tokens[position] = separator;
            }
            EncodedTrajectory::single_window(tokens, &positions)
        })
        .collect()
}

/// `count` trajectories of `steps` step features of `width`, standard normal.
pub fn step_features(
    count: usize,
    steps: usize,
    width: usize,
    rng: &mut SeededRng,
) -> Vec<StepFeatures> {
    (0..count)
        .map(|_| StepFeatures {
            values: (0..steps * width)
                .map(|_| rng.normal(0.0, 1.0) as f32)
                .collect(),
            width,
        })
        .collect()
}

/// `count` labels of `steps`-step trajectories: half all correct, half with a first error at
/// a uniformly drawn step.
pub fn labels(count: usize, steps: usize, rng: &mut SeededRng) -> Vec<ProcessLabel> {
    (0..count)
        .map(|_| {
            if rng.chance(0.5) {
                ProcessLabel::AllCorrect
            } else {
                ProcessLabel::FirstErrorAt(rng.below(steps as u64) as usize)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_have_their_shape_and_separators() {
        let mut rng = SeededRng::new(1);
        let windows = token_windows(3, 17, 4, 10..20, (1, 2), &mut rng);
        assert_eq!(windows.len(), 3);
        for window in &windows {
            let tokens = &window.windows[0];
            assert_eq!(tokens.len(), 17);
            assert_eq!(tokens[0], 1);
            let positions: Vec<usize> =
                window.step_positions.iter().map(|at| at.position).collect();
            assert_eq!(positions, vec![4, 8, 12, 16]);
            for (position, &id) in tokens.iter().enumerate().skip(1) {
                assert_eq!(id == 2, positions.contains(&position), "at {position}");
                assert!(id == 2 || (10..20).contains(&id));
            }
        }
    }

    #[test]
    fn features_and_labels_have_their_counts() {
        let mut rng = SeededRng::new(2);
        let features = step_features(5, 3, 4, &mut rng);
        assert!(features.iter().all(|f| f.num_steps() == 3 && f.width == 4));
        let labels = labels(200, 3, &mut rng);
        let correct = labels
            .iter()
            .filter(|l| **l == ProcessLabel::AllCorrect)
            .count();
        assert!((60..140).contains(&correct), "{correct} of 200 all correct");
        assert!(labels.iter().all(|l| match l {
            ProcessLabel::FirstErrorAt(step) => *step < 3,
            ProcessLabel::AllCorrect => true,
        }));
    }
}
