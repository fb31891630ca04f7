//! Padded model inputs: built from encoded trajectories (token ids, the padding mask, where to
//! read each step's feature) or from step features a frozen backbone computed once; and, for
//! training, the step targets with their typed label mask.

use std::ops::Range;
use std::sync::Arc;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::encoding::EncodedTrajectory;
use crate::loss_steps::LossSteps;
use crate::model::{StepSpans, step_tokens};
use crate::trajectory::ProcessLabel;

/// The model's input for a batch of trajectories.
#[derive(Debug, Clone)]
pub struct PrmInput {
    /// What the model reads.
    pub source: InputSource,
    /// Number of steps of each trajectory.
    pub step_counts: Vec<usize>,
}

/// Tokens for the backbone to read, or the step features it already computed.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one is built per mini-batch; both hold tensor handles, not data"
)]
pub enum InputSource {
    /// Token ids and where the steps are.
    Tokens {
        /// Token ids, one row per window, `[windows, seq_len]`, padded with the tokenizer's pad
        /// id.
        tokens: Tensor<2, Int>,
        /// `true` at padding positions, `[windows, seq_len]`.
        padding: Tensor<2, Bool>,
        /// Flat index `row · seq_len + position` of every step separator, `[batch · max_steps]`,
        /// trajectory by trajectory; slots past a trajectory's last step point at the first
        /// token of the batch and are never read.
        step_gather: Tensor<1, Int>,
        /// Where each step's own tokens lie, for a feature that pools them.
        step_spans: StepSpans,
    },
    /// Step features, `[batch, max_steps, width]` (zero past a trajectory's last step).
    Features(Tensor<3>),
}

/// One trajectory's step features, `[num_steps, width]` row-major. The values are shared: a
/// clone, or the same trajectory in another set, holds no second copy.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFeatures {
    /// The values.
    pub values: Arc<[f32]>,
    /// Width of one step's feature.
    pub width: usize,
}

impl StepFeatures {
    /// Number of steps.
    pub fn num_steps(&self) -> usize {
        self.values.len() / self.width.max(1)
    }
}

/// The trajectories a model reads, by index: encoded (the backbone runs on them) or as
/// step features cached from a frozen backbone.
#[derive(Debug, Clone, Copy)]
pub enum Inputs<'a> {
    /// Encoded trajectories.
    Tokens {
        /// The encodings.
        encoded: &'a [EncodedTrajectory],
        /// The tokenizer's padding id.
        pad_id: u32,
    },
    /// Cached step features.
    Features(&'a [StepFeatures]),
}

impl<'a> Inputs<'a> {
    /// Number of trajectories.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Tokens { encoded, .. } => encoded.len(),
            Inputs::Features(features) => features.len(),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The trajectories in `range`.
    pub fn slice(&self, range: Range<usize>) -> Inputs<'a> {
        match *self {
            Inputs::Tokens { encoded, pad_id } => Inputs::Tokens {
                encoded: &encoded[range],
                pad_id,
            },
            Inputs::Features(features) => Inputs::Features(&features[range]),
        }
    }

    /// The trajectories in consecutive chunks of `size` (at least 1), the last maybe shorter.
    pub fn chunks(self, size: usize) -> impl Iterator<Item = Inputs<'a>> {
        let size = size.max(1);
        (0..self.len())
            .step_by(size)
            .map(move |start| self.slice(start..(start + size).min(self.len())))
    }

    /// All of them as one batch on `device`.
    pub fn batch(&self, device: &Device) -> PrmInput {
        match *self {
            Inputs::Tokens { encoded, pad_id } => PrmInput::new(encoded, pad_id, device),
            Inputs::Features(features) => {
                PrmInput::from_features(&features.iter().collect::<Vec<_>>(), device)
            }
        }
    }

    /// The trajectories at `indices`, in that order, as one batch on `device`.
    pub fn select(&self, indices: &[usize], device: &Device) -> PrmInput {
        match *self {
            Inputs::Tokens { encoded, pad_id } => {
                let chosen: Vec<EncodedTrajectory> =
                    indices.iter().map(|&i| encoded[i].clone()).collect();
                PrmInput::new(&chosen, pad_id, device)
            }
            Inputs::Features(features) => {
                let chosen: Vec<&StepFeatures> = indices.iter().map(|&i| &features[i]).collect();
                PrmInput::from_features(&chosen, device)
            }
        }
    }
}

impl PrmInput {
    /// Pads `encoded` into one batch on `device`: every window is a row of the token tensor,
    /// and each step is gathered from the row and position it is scored at.
    pub fn new(encoded: &[EncodedTrajectory], pad_id: u32, device: &Device) -> Self {
        let windows: Vec<&Vec<u32>> = encoded.iter().flat_map(|e| &e.windows).collect();
        let rows = windows.len().max(1);
        let seq_len = windows.iter().map(|w| w.len()).max().unwrap_or(0).max(1);
        let max_steps = encoded
            .iter()
            .map(super::encoding::EncodedTrajectory::num_steps)
            .max()
            .unwrap_or(0)
            .max(1);

        let mut tokens = vec![i64::from(pad_id); rows * seq_len];
        let mut padding = vec![true; rows * seq_len];
        for (row, window) in windows.iter().enumerate() {
            for (t, &id) in window.iter().enumerate() {
                tokens[row * seq_len + t] = i64::from(id);
                padding[row * seq_len + t] = false;
            }
        }
        let mut step_gather = vec![0i64; encoded.len() * max_steps];
        let mut step_spans = StepSpans {
            rows: vec![Vec::new(); rows],
            slots: vec![None; encoded.len() * max_steps],
        };
        let mut first_row = 0;
        for (b, item) in encoded.iter().enumerate() {
            for (s, at) in item.step_positions.iter().enumerate() {
                let row = first_row + at.window;
                step_gather[b * max_steps + s] = (row * seq_len + at.position) as i64;
                let spans = &mut step_spans.rows[row];
                step_spans.slots[b * max_steps + s] = Some((row, spans.len()));
                spans.push(step_tokens(at.start, at.position));
            }
            first_row += item.windows.len();
        }
        Self {
            source: InputSource::Tokens {
                tokens: Tensor::from_data(TensorData::new(tokens, [rows, seq_len]), device),
                padding: Tensor::from_data(TensorData::new(padding, [rows, seq_len]), device),
                step_gather: Tensor::from_data(
                    TensorData::new(step_gather, [encoded.len() * max_steps]),
                    device,
                ),
                step_spans,
            },
            step_counts: encoded.iter().map(EncodedTrajectory::num_steps).collect(),
        }
    }

    /// Pads cached step features into one batch on `device`.
    ///
    /// # Panics
    /// When the features have different widths.
    pub fn from_features(features: &[&StepFeatures], device: &Device) -> Self {
        let batch = features.len();
        let width = features.first().map_or(1, |f| f.width);
        let max_steps = features
            .iter()
            .map(|f| f.num_steps())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut values = vec![0f32; batch * max_steps * width];
        for (b, item) in features.iter().enumerate() {
            assert_eq!(item.width, width, "every feature has the same width");
            let start = b * max_steps * width;
            values[start..start + item.values.len()].copy_from_slice(&item.values);
        }
        Self {
            source: InputSource::Features(Tensor::from_data(
                TensorData::new(values, [batch, max_steps, width]),
                device,
            )),
            step_counts: features.iter().map(|f| f.num_steps()).collect(),
        }
    }

    /// Number of trajectories in the batch.
    pub fn batch_size(&self) -> usize {
        self.step_counts.len()
    }

    /// The padded number of steps (the longest trajectory's, at least 1).
    pub fn max_steps(&self) -> usize {
        self.step_counts.iter().copied().max().unwrap_or(0).max(1)
    }
}

/// Training targets of a batch, laid out over the steps the loss counts alone: trajectory `b`'s
/// counted steps fill its first slots in order, and the heads run on those steps only (with
/// `--loss-steps last`, one step of a trajectory's dozens).
#[derive(Debug, Clone)]
pub struct StepTargets {
    /// The step each slot holds, as a flat index `b · max_steps + s` into the batch's steps,
    /// `[batch · slots]`; a slot past a trajectory's counted steps holds its first step and is
    /// never labelled.
    pub steps: Tensor<1, Int>,
    /// Targets, `[batch, slots]` (0 where unlabelled; never read there).
    pub targets: Tensor<2>,
    /// `true` where the slot holds a counted step, `[batch, slots]`.
    pub labelled: Tensor<2, Bool>,
    /// Number of labelled steps of each trajectory.
    pub labelled_counts: Vec<usize>,
}

impl StepTargets {
    /// Targets for the steps `counted` of `labels[b]` over trajectories of `step_counts[b]`
    /// steps, in a batch padded to `max_steps`.
    pub fn new(
        labels: &[ProcessLabel],
        step_counts: &[usize],
        max_steps: usize,
        counted: LossSteps,
        device: &Device,
    ) -> Self {
        let counted: Vec<_> = labels
            .iter()
            .zip(step_counts)
            .map(|(&label, &count)| counted.counted(label, count))
            .collect();
        let batch = labels.len();
        let slots = counted.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut steps = vec![0i64; batch * slots];
        let mut targets = vec![0f32; batch * slots];
        let mut labelled = vec![false; batch * slots];
        for (b, counted) in counted.iter().enumerate() {
            let row = &mut steps[b * slots..(b + 1) * slots];
            row.fill((b * max_steps) as i64);
            for (slot, &(s, step)) in counted.iter().enumerate() {
                row[slot] = (b * max_steps + s) as i64;
                targets[b * slots + slot] = step.target();
                labelled[b * slots + slot] = true;
            }
        }
        Self {
            steps: Tensor::from_data(TensorData::new(steps, [batch * slots]), device),
            targets: Tensor::from_data(TensorData::new(targets, [batch, slots]), device),
            labelled: Tensor::from_data(TensorData::new(labelled, [batch, slots]), device),
            labelled_counts: counted.iter().map(Vec::len).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(tokens: usize, positions: &[usize]) -> EncodedTrajectory {
        EncodedTrajectory::single_window((1..=tokens as u32).collect(), positions)
    }

    #[test]
    fn chunks_cover_every_trajectory_once_in_order() {
        let all: Vec<EncodedTrajectory> = (1..=7).map(|n| encoded(n, &[0])).collect();
        let inputs = Inputs::Tokens {
            encoded: &all,
            pad_id: 0,
        };
        let lengths: Vec<usize> = inputs.chunks(3).map(|chunk| chunk.len()).collect();
        assert_eq!(lengths, [3, 3, 1]);
        let firsts: Vec<u32> = inputs
            .chunks(3)
            .map(|chunk| match chunk {
                Inputs::Tokens { encoded, .. } => encoded[0].windows[0].len() as u32,
                Inputs::Features(_) => unreachable!(),
            })
            .collect();
        assert_eq!(firsts, [1, 4, 7]);
        assert_eq!(inputs.chunks(0).count(), 7, "a size of 0 reads as 1");
        assert_eq!(inputs.slice(0..0).chunks(4).count(), 0);
    }

    #[test]
    fn pads_tokens_and_flattens_step_positions() {
        let device = Device::flex();
        let input = PrmInput::new(&[encoded(3, &[1, 2]), encoded(5, &[4])], 0, &device);
        assert_eq!(input.max_steps(), 2);
        let InputSource::Tokens {
            tokens,
            padding,
            step_gather,
            ..
        } = input.source
        else {
            panic!("an input of tokens");
        };
        assert_eq!(tokens.dims(), [2, 5]);
        let gather = step_gather.into_data().try_into_vec_as::<i64>().unwrap();
        assert_eq!(gather, vec![1, 2, 5 + 4, 0]);
        let padding = padding.into_data().try_into_vec::<bool>().unwrap();
        assert_eq!(
            padding,
            vec![
                false, false, false, true, true, false, false, false, false, false
            ]
        );
    }

    #[test]
    fn every_window_is_a_row_and_steps_are_gathered_from_theirs() {
        use crate::encoding::StepPosition;
        let at = |window, position| StepPosition {
            window,
            start: position - 1,
            position,
        };
        let windowed = EncodedTrajectory {
            windows: vec![vec![1, 2, 3], vec![1, 4, 5, 6]],
            step_positions: vec![at(0, 1), at(0, 2), at(1, 3)],
        };
        let device = Device::flex();
        let input = PrmInput::new(&[encoded(2, &[1]), windowed], 0, &device);
        assert_eq!(input.step_counts, vec![1, 3]);
        let InputSource::Tokens {
            tokens,
            step_gather,
            step_spans,
            ..
        } = input.source
        else {
            panic!("an input of tokens");
        };
        let tokens = tokens.into_data().try_into_vec_as::<i64>().unwrap();
        assert_eq!(tokens, vec![1, 2, 0, 0, 1, 2, 3, 0, 1, 4, 5, 6]);
        let gather = step_gather.into_data().try_into_vec_as::<i64>().unwrap();
        assert_eq!(gather, vec![1, 0, 0, 4 + 1, 4 + 2, 8 + 3]);
        assert_eq!(
            step_spans.rows,
            vec![vec![1..2], vec![0..1, 1..2], vec![2..3]]
        );
        assert_eq!(
            step_spans.slots,
            vec![
                Some((0, 0)),
                None,
                None,
                Some((1, 0)),
                Some((1, 1)),
                Some((2, 0))
            ]
        );
    }

    #[test]
    fn slots_hold_the_counted_steps_alone() {
        let device = Device::flex();
        let labels = [ProcessLabel::FirstErrorAt(1), ProcessLabel::AllCorrect];
        let values = |targets: StepTargets| {
            (
                targets.steps.into_data().iter::<i64>().collect::<Vec<_>>(),
                targets.labelled.into_data().try_into_vec::<bool>().unwrap(),
                targets.targets.into_data().try_into_vec::<f32>().unwrap(),
                targets.labelled_counts,
            )
        };
        let all = StepTargets::new(&labels, &[3, 3], 3, LossSteps::All, &device);
        let (steps, mask, targets, counts) = values(all);
        assert_eq!(
            steps,
            [0, 1, 0, 3, 4, 5],
            "a padding slot holds its first step"
        );
        assert_eq!(mask, [true, true, false, true, true, true]);
        assert_eq!(targets, [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        assert_eq!(counts, [2, 3]);
        let last = StepTargets::new(&labels, &[3, 2], 3, LossSteps::Last, &device);
        let (steps, mask, targets, counts) = values(last);
        assert_eq!(
            steps,
            [1, 4],
            "trajectory 1's last step is its second, at 3 + 1"
        );
        assert_eq!(mask, [true, true]);
        assert_eq!(targets, [0.0, 1.0]);
        assert_eq!(counts, [1, 1]);
        let unlabelled = StepTargets::new(
            &[ProcessLabel::AllCorrect],
            &[0],
            1,
            LossSteps::All,
            &device,
        );
        let (steps, mask, _, counts) = values(unlabelled);
        assert_eq!((steps, mask, counts), (vec![0], vec![false], vec![0]));
    }
}
