//! Padded model inputs built from encoded trajectories: token ids, the padding mask, where to
//! read each step's feature, and (for training) the step targets with their typed label mask.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::encoding::EncodedTrajectory;
use crate::trajectory::ProcessLabel;

/// The model's input for a batch of trajectories.
#[derive(Debug, Clone)]
pub struct PrmInput {
    /// Token ids, `[batch, seq_len]`, padded with the tokenizer's pad id.
    pub tokens: Tensor<2, Int>,
    /// `true` at padding positions, `[batch, seq_len]`.
    pub padding: Tensor<2, Bool>,
    /// Flat index `b · seq_len + position` of every step separator, `[batch · max_steps]`;
    /// slots past a trajectory's last step point at its first token and are never read.
    pub step_gather: Tensor<1, Int>,
    /// Number of steps of each trajectory.
    pub step_counts: Vec<usize>,
}

impl PrmInput {
    /// Pads `encoded` into one batch on `device`.
    pub fn new(encoded: &[EncodedTrajectory], pad_id: u32, device: &Device) -> Self {
        let batch = encoded.len();
        let seq_len = padded_length(encoded, |e| e.token_ids.len());
        let max_steps = padded_length(encoded, |e| e.step_positions.len());

        let mut tokens = vec![pad_id as i64; batch * seq_len];
        let mut padding = vec![true; batch * seq_len];
        let mut step_gather = vec![0i64; batch * max_steps];
        for (b, item) in encoded.iter().enumerate() {
            let row = b * seq_len;
            for (t, &id) in item.token_ids.iter().enumerate() {
                tokens[row + t] = id as i64;
                padding[row + t] = false;
            }
            for (s, slot) in step_gather[b * max_steps..(b + 1) * max_steps]
                .iter_mut()
                .enumerate()
            {
                *slot = (row + item.step_positions.get(s).copied().unwrap_or(0)) as i64;
            }
        }
        Self {
            tokens: Tensor::from_data(TensorData::new(tokens, [batch, seq_len]), device),
            padding: Tensor::from_data(TensorData::new(padding, [batch, seq_len]), device),
            step_gather: Tensor::from_data(
                TensorData::new(step_gather, [batch * max_steps]),
                device,
            ),
            step_counts: encoded.iter().map(|e| e.step_positions.len()).collect(),
        }
    }

    /// Number of trajectories in the batch.
    pub fn batch_size(&self) -> usize {
        self.step_counts.len()
    }

    /// The padded number of steps (the longest trajectory's).
    pub fn max_steps(&self) -> usize {
        self.step_gather.dims()[0] / self.batch_size().max(1)
    }
}

/// The longest `length` over `encoded`, at least 1 so that an empty batch still has a shape.
fn padded_length(
    encoded: &[EncodedTrajectory],
    length: impl Fn(&EncodedTrajectory) -> usize,
) -> usize {
    encoded.iter().map(length).max().unwrap_or(0).max(1)
}

/// Training targets of a batch: 1 for a correct step, 0 for an error, and which steps carry a
/// label at all.
#[derive(Debug, Clone)]
pub struct StepTargets {
    /// Targets, `[batch, max_steps]` (0 where unlabelled; never read there).
    pub targets: Tensor<2>,
    /// `true` where the step has a label, `[batch, max_steps]`.
    pub labelled: Tensor<2, Bool>,
    /// Number of labelled steps of each trajectory.
    pub labelled_counts: Vec<usize>,
}

impl StepTargets {
    /// Targets for `labels[b]` over trajectories of `step_counts[b]` steps, padded to
    /// `max_steps`.
    pub fn new(
        labels: &[ProcessLabel],
        step_counts: &[usize],
        max_steps: usize,
        device: &Device,
    ) -> Self {
        let batch = labels.len();
        let mut targets = vec![0f32; batch * max_steps];
        let mut labelled = vec![false; batch * max_steps];
        let mut labelled_counts = vec![0; batch];
        for (b, (label, &count)) in labels.iter().zip(step_counts).enumerate() {
            for (s, step) in label.step_labels(count).into_iter().enumerate() {
                if let Some(step) = step {
                    targets[b * max_steps + s] = step.target();
                    labelled[b * max_steps + s] = true;
                    labelled_counts[b] += 1;
                }
            }
        }
        Self {
            targets: Tensor::from_data(TensorData::new(targets, [batch, max_steps]), device),
            labelled: Tensor::from_data(TensorData::new(labelled, [batch, max_steps]), device),
            labelled_counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(tokens: usize, positions: &[usize]) -> EncodedTrajectory {
        EncodedTrajectory {
            token_ids: (1..=tokens as u32).collect(),
            step_positions: positions.to_vec(),
        }
    }

    #[test]
    fn pads_tokens_and_flattens_step_positions() {
        let device = Device::flex();
        let input = PrmInput::new(&[encoded(3, &[1, 2]), encoded(5, &[4])], 0, &device);
        assert_eq!(input.tokens.dims(), [2, 5]);
        assert_eq!(input.max_steps(), 2);
        let gather = input
            .step_gather
            .into_data()
            .try_into_vec_as::<i64>()
            .unwrap();
        assert_eq!(gather, vec![1, 2, 5 + 4, 5]);
        let padding = input.padding.into_data().try_into_vec::<bool>().unwrap();
        assert_eq!(
            padding,
            vec![
                false, false, false, true, true, false, false, false, false, false
            ]
        );
    }

    #[test]
    fn label_mask_covers_steps_up_to_the_first_error_only() {
        let device = Device::flex();
        let targets = StepTargets::new(
            &[ProcessLabel::FirstErrorAt(1), ProcessLabel::AllCorrect],
            &[3, 2],
            3,
            &device,
        );
        let mask = targets.labelled.into_data().try_into_vec::<bool>().unwrap();
        assert_eq!(mask, vec![true, true, false, true, true, false]);
        let values = targets.targets.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(values, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        assert_eq!(targets.labelled_counts, vec![2, 2]);
    }
}
