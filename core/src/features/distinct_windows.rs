//! The distinct windows of a set of encodings: every window read once, however many
//! trajectories share it, and for a causal backbone only as part of the longest window it
//! begins.

use std::collections::HashMap;

use crate::batch::StepFeatures;
use crate::encoding::{EncodedTrajectory, StepPosition};

/// The distinct windows of a set of encodings, and where each step's feature is read among them.
pub(super) struct DistinctWindows {
    /// Each distinct window as a one-window encoding that scores every separator any
    /// trajectory reads in it.
    pub(super) reads: Vec<EncodedTrajectory>,
    /// For each trajectory, for each step: the read and the step of that read holding its
    /// feature.
    sources: Vec<Vec<(usize, usize)>>,
}

impl DistinctWindows {
    /// The distinct windows of `encoded`; for a `causal` backbone, only those that begin no
    /// other window. A trajectory without steps still has its window read, so that the
    /// features' width is known whatever the trajectories.
    pub(super) fn of(encoded: &[EncodedTrajectory], causal: bool) -> Self {
        let mut distinct = Self {
            reads: Vec::new(),
            sources: Vec::with_capacity(encoded.len()),
        };
        let hosts = if causal {
            longest_extensions(encoded.iter().flat_map(|trajectory| &trajectory.windows))
        } else {
            HashMap::new()
        };
        fn hosted<'a>(hosts: &HashMap<&'a [u32], &'a [u32]>, window: &'a [u32]) -> &'a [u32] {
            hosts.get(window).copied().unwrap_or(window)
        }
        let mut read_of_window: HashMap<&[u32], usize> = HashMap::new();
        let mut slot_of_position: HashMap<(usize, usize, usize), usize> = HashMap::new();
        for trajectory in encoded {
            if trajectory.step_positions.is_empty()
                && let Some(window) = trajectory.windows.first()
            {
                read_of(
                    hosted(&hosts, window),
                    &mut read_of_window,
                    &mut distinct.reads,
                );
            }
            let steps = trajectory
                .step_positions
                .iter()
                .map(|at| {
                    let window = hosted(&hosts, &trajectory.windows[at.window]);
                    let read = read_of(window, &mut read_of_window, &mut distinct.reads);
                    let positions = &mut distinct.reads[read].step_positions;
                    let slot = *slot_of_position
                        .entry((read, at.start, at.position))
                        .or_insert_with(|| {
                            positions.push(StepPosition { window: 0, ..*at });
                            positions.len() - 1
                        });
                    (read, slot)
                })
                .collect();
            distinct.sources.push(steps);
        }
        distinct
    }

    /// Every trajectory's features, gathered from the features of the reads.
    pub(super) fn assemble(&self, read: &[StepFeatures]) -> Vec<StepFeatures> {
        let width = read.first().map_or(0, |features| features.width);
        self.sources
            .iter()
            .map(|steps| StepFeatures {
                values: steps
                    .iter()
                    .flat_map(|&(read_index, slot)| {
                        read[read_index].values[slot * width..(slot + 1) * width]
                            .iter()
                            .copied()
                    })
                    .collect(),
                width,
            })
            .collect()
    }
}

/// For every window that is a proper prefix of another, the last window, in sorted order, of
/// those it begins: sorted, the windows a window begins follow it, and a window's successor
/// either extends it or begins no later window.
fn longest_extensions<'a>(
    windows: impl IntoIterator<Item = &'a Vec<u32>>,
) -> HashMap<&'a [u32], &'a [u32]> {
    let mut sorted: Vec<&[u32]> = windows.into_iter().map(Vec::as_slice).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hosts = HashMap::new();
    let mut host_of_next: Option<&[u32]> = None;
    for pair in sorted.windows(2).rev() {
        let (window, next) = (pair[0], pair[1]);
        host_of_next = if next.starts_with(window) {
            let host = host_of_next.unwrap_or(next);
            hosts.insert(window, host);
            Some(host)
        } else {
            None
        };
    }
    hosts
}

/// The index in `reads` of `window`'s read, added when it is new.
fn read_of<'a>(
    window: &'a [u32],
    read_of_window: &mut HashMap<&'a [u32], usize>,
    reads: &mut Vec<EncodedTrajectory>,
) -> usize {
    *read_of_window.entry(window).or_insert_with(|| {
        reads.push(EncodedTrajectory::single_window(window.to_vec(), &[]));
        reads.len() - 1
    })
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::encoding::EncodingConfig;
    use crate::features::compute_features;
    use crate::model::test_support::tiny_prm_config;
    use crate::scoring::encode_all;
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;

    #[test]
    fn every_window_is_hosted_by_a_window_it_begins() {
        let windows: Vec<Vec<u32>> = [
            &[1, 2][..],
            &[1, 2, 3],
            &[1, 2, 3, 4],
            &[1, 2, 5],
            &[1],
            &[2],
            &[1, 2, 3],
        ]
        .iter()
        .map(|w| w.to_vec())
        .collect();
        let hosts = longest_extensions(&windows);
        for window in &windows {
            match hosts.get(window.as_slice()) {
                Some(host) => assert!(host.starts_with(window) && host.len() > window.len()),
                None => assert!(
                    !windows
                        .iter()
                        .any(|other| other.len() > window.len() && other.starts_with(window)),
                    "{window:?} begins another window"
                ),
            }
        }
        assert_eq!(hosts.len(), 3, "[1], [1, 2] and [1, 2, 3] are hosted");
    }

    /// Read by prefix, a step's feature is the last step's feature of the trajectory cut after
    /// it, read whole; trajectories that share a prefix share its reads, and a causal backbone
    /// (this small one) reads every window only as part of the longest it begins.
    #[test]
    fn prefix_features_read_each_distinct_prefix_once() {
        use crate::encoding::{StepReading, encode_trajectory};
        use crate::trajectory::Trajectory;

        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let mut trajectories = generate(&synthetic, 5, 2);
        let mut branch = trajectories[0].clone();
        branch.steps.truncate(2);
        branch.steps.push("12 + 5 = 17".into());
        trajectories.push(branch);
        trajectories.push(Trajectory {
            steps: Vec::new(),
            ..trajectories[1].clone()
        });
        let prefix = EncodingConfig::new().with_reading(StepReading::Prefix);
        let encoded = encode_all(&tokenizer, &trajectories, &prefix).unwrap();
        let distinct = DistinctWindows::of(&encoded, false);
        let steps = |t: &Trajectory| t.num_steps();
        assert_eq!(
            distinct.reads.len(),
            steps(&trajectories[0]) + steps(&trajectories[1]) + 1 + 1,
            "the branch adds one read for its last step, the empty trajectory one for its question"
        );
        // A causal backbone reads each branch once: the first two trajectories whole, and the
        // branch; the question alone begins the second trajectory's windows.
        assert_eq!(DistinctWindows::of(&encoded, true).reads.len(), 3);

        let model = tiny_prm_config(tokenizer.vocab_size(), 2, 8).init(&device);
        let pad_id = tokenizer.pad_id();
        let features = compute_features(&model, &encoded, pad_id, 3, |_| {});
        assert_eq!(features[3].num_steps(), 0);
        assert!(features.iter().all(|f| f.width == features[0].width));
        for (trajectory, read) in trajectories.iter().zip(&features) {
            for j in 0..trajectory.num_steps() {
                let cut = Trajectory {
                    steps: trajectory.steps[..=j].to_vec(),
                    ..trajectory.clone()
                };
                let whole = encode_trajectory(&tokenizer, &cut, &EncodingConfig::new()).unwrap();
                let alone = compute_features(&model, &[whole], pad_id, 1, |_| {});
                let width = read.width;
                let expected = &alone[0].values[j * width..];
                for (x, y) in read.values[j * width..(j + 1) * width].iter().zip(expected) {
                    assert!((x - y).abs() < 1e-4, "step {j}: {x} vs {y}");
                }
            }
        }
    }
}
