//! What a step's feature is: the backbone's state at the step's separator, or that state and
//! the mean of the states of the step's own tokens.
//!
//! The separator's state is what a PRM reads as a step ends. The mean over the step's tokens
//! adds what each of them held when it was read, which a causal decoder's separator state
//! summarises only through attention (docs/results.md §21 measures what it buys).

use std::ops::Range;

use burn::tensor::{Int, Tensor, TensorData};

use crate::named_choice::{NamedChoice, serde_by_name};

/// The step feature a backbone's states give. Written by name (`"separator"`,
/// `"separator-and-mean"`); a configuration saved before this choice existed reads
/// [`StepFeature::Separator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepFeature {
    /// The state at the step's separator.
    #[default]
    Separator,
    /// The state at the step's separator, then the mean of the states of the step's own tokens
    /// (the separator's state for an empty step): twice the backbone's width.
    SeparatorAndMean,
}

serde_by_name!(StepFeature, "step feature");

impl NamedChoice for StepFeature {
    const ALL: &'static [Self] = &[StepFeature::Separator, StepFeature::SeparatorAndMean];

    /// The name used in files and on the command line.
    fn name(self) -> &'static str {
        match self {
            StepFeature::Separator => "separator",
            StepFeature::SeparatorAndMean => "separator-and-mean",
        }
    }
}

impl StepFeature {
    /// Width of the feature read from states of `hidden` values.
    pub fn width(self, hidden: usize) -> usize {
        match self {
            StepFeature::Separator => hidden,
            StepFeature::SeparatorAndMean => 2 * hidden,
        }
    }

    /// Whether the feature includes the mean of the step's tokens.
    pub fn pools_step_tokens(self) -> bool {
        self == StepFeature::SeparatorAndMean
    }
}

/// The tokens a step's mean is taken over, given its first token and its separator: the step's
/// own tokens, or the separator alone when the step has none.
pub fn step_tokens(start: usize, separator: usize) -> Range<usize> {
    match start < separator {
        true => start..separator,
        false => separator..separator + 1,
    }
}

/// The means over `spans` of `states`, one row per span.
///
/// # Shapes
///
/// - states: `[seq_len, width]`
/// - output: `[spans.len(), width]`
///
/// # Panics
/// When a span is empty or reaches past `seq_len`.
pub fn span_means(states: Tensor<2>, spans: &[Range<usize>]) -> Tensor<2> {
    let [seq_len, _] = states.dims();
    let mut weights = vec![0f32; spans.len() * seq_len];
    write_mean_weights(spans, seq_len, &mut weights);
    let weights = TensorData::new(weights, [spans.len(), seq_len]);
    Tensor::<2>::from_data(weights, &states.device()).matmul(states)
}

/// Writes into `weights` (`[spans.len(), seq_len]`, zeroed) the weights whose product with
/// states gives the spans' means.
fn write_mean_weights(spans: &[Range<usize>], seq_len: usize, weights: &mut [f32]) {
    for (row, span) in spans.iter().enumerate() {
        assert!(
            !span.is_empty() && span.end <= seq_len,
            "span {span:?} of {seq_len} states"
        );
        let weight = 1.0 / span.len() as f32;
        weights[row * seq_len + span.start..row * seq_len + span.end].fill(weight);
    }
}

/// Where each step's tokens lie in a padded batch of windows, and the slot of
/// `[batch, max_steps]` each step's mean goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepSpans {
    /// Per window (row of the batch), the token ranges of the steps it scores.
    pub rows: Vec<Vec<Range<usize>>>,
    /// Per slot of `[batch · max_steps]`, trajectory by trajectory: the row and the index of
    /// its span there; `None` past a trajectory's last step.
    pub slots: Vec<Option<(usize, usize)>>,
}

impl StepSpans {
    /// The mean state over every step's tokens (slots past a trajectory's last step read the
    /// first span of the batch and are never used).
    ///
    /// # Shapes
    ///
    /// - states: `[rows, seq_len, width]`
    /// - output: `[slots, width]`
    pub fn means(&self, states: Tensor<3>) -> Tensor<2> {
        let [rows, seq_len, width] = states.dims();
        let device = states.device();
        let most = self.rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut weights = vec![0f32; rows * most * seq_len];
        for (row, spans) in self.rows.iter().enumerate() {
            let block = &mut weights[row * most * seq_len..(row + 1) * most * seq_len];
            write_mean_weights(spans, seq_len, block);
        }
        let weights = TensorData::new(weights, [rows, most, seq_len]);
        let means = Tensor::<3>::from_data(weights, &device)
            .matmul(states)
            .reshape([rows * most, width]);
        let gather: Vec<i64> = self
            .slots
            .iter()
            .map(|slot| slot.map_or(0, |(row, span)| (row * most + span) as i64))
            .collect();
        let count = gather.len();
        means.select(
            0,
            Tensor::<1, Int>::from_data(TensorData::new(gather, [count]), &device),
        )
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;

    fn values(tensor: Tensor<2>) -> Vec<f32> {
        tensor.into_data().try_into_vec::<f32>().unwrap()
    }

    /// States `[rows, seq_len, 2]` whose values name their row and position.
    fn states(rows: usize, seq_len: usize, device: &Device) -> Tensor<3> {
        let values: Vec<f32> = (0..rows * seq_len)
            .flat_map(|i| [i as f32, (i * i) as f32])
            .collect();
        Tensor::from_data(TensorData::new(values, [rows, seq_len, 2]), device)
    }

    #[test]
    fn an_empty_step_reads_its_separator() {
        assert_eq!(step_tokens(3, 7), 3..7);
        assert_eq!(step_tokens(7, 7), 7..8);
    }

    #[test]
    fn span_means_average_each_span() {
        let device = Device::flex();
        let states = states(1, 5, &device).reshape([5, 2]);
        let means = values(span_means(states, &[1..3, 4..5, 0..5]));
        assert_eq!(means, vec![1.5, 2.5, 4.0, 16.0, 2.0, 6.0]);
    }

    /// Each slot gets the mean of its own row's span, whichever row and order the steps are in.
    #[test]
    fn step_spans_gather_each_slot_from_its_row() {
        let device = Device::flex();
        let spans = StepSpans {
            rows: vec![vec![1..3], vec![0..1, 2..4]],
            slots: vec![Some((1, 1)), Some((0, 0)), None, Some((1, 0))],
        };
        let means = values(spans.means(states(2, 4, &device)));
        // Row 1 holds positions 4..8: its span 2..4 is 6 and 7, its span 0..1 is 4.
        assert_eq!(means[0..2], [6.5, 42.5]);
        assert_eq!(means[2..4], [1.5, 2.5]);
        assert_eq!(means[6..8], [4.0, 16.0]);
    }

    /// A decoder configuration saved before the choice existed reads the separator's state.
    #[test]
    fn a_configuration_without_the_choice_reads_the_separator() {
        let config =
            crate::model::DecoderConfig::new().with_step_feature(StepFeature::SeparatorAndMean);
        let mut saved = serde_json::to_value(&config).unwrap();
        assert_eq!(saved["step_feature"], "separator-and-mean");
        saved.as_object_mut().unwrap().remove("step_feature");
        let read: crate::model::DecoderConfig = serde_json::from_value(saved.clone()).unwrap();
        assert_eq!(read.step_feature, StepFeature::Separator);
        saved["step_feature"] = "mean".into();
        let unknown = serde_json::from_value::<crate::model::DecoderConfig>(saved).unwrap_err();
        assert!(
            unknown.to_string().contains("separator-and-mean"),
            "{unknown}"
        );
    }
}
