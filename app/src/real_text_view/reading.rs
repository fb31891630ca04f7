//! What the real-text section's inspector is asked for and what it shows: a ProcessBench item
//! or the visitor's own solution, with its scores and where the reading's time went.

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;

use crate::processbench_slice::SliceItem;
use crate::protocol::real_text::ReadTiming;

/// What the inspector is asked to show.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Wanted {
    /// The slice item at this index.
    Item(usize),
    /// The visitor's pasted solution, as last parsed.
    Own(Trajectory),
}

/// What the inspector shows: a slice item or the visitor's own solution, with its scores.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reading {
    pub title: String,
    /// The slice item's index, when it is one.
    pub item: Option<usize>,
    pub trajectory: Trajectory,
    pub scores: StepScores,
    pub timing: ReadTiming,
}

impl Reading {
    /// The reading of slice item `index`.
    pub fn of_item(
        index: usize,
        entry: &SliceItem,
        (scores, timing): (StepScores, ReadTiming),
    ) -> Self {
        Self {
            title: format!("ProcessBench {}: {}", entry.split, entry.item.id),
            item: Some(index),
            trajectory: entry.item.trajectory.clone(),
            scores,
            timing,
        }
    }
}

/// Where a reading's time went, in words.
pub(super) fn describe_timing(timing: ReadTiming) -> String {
    format!(
        "Read in {:.2} s: tokenising {:.0} ms, the encoder {:.2} s, the heads {:.0} ms.",
        (timing.tokenise_ms + timing.encoder_ms + timing.heads_ms) / 1e3,
        timing.tokenise_ms,
        timing.encoder_ms / 1e3,
        timing.heads_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_says_where_its_time_went() {
        let timing = ReadTiming {
            tokenise_ms: 3.4,
            encoder_ms: 1396.0,
            heads_ms: 20.4,
        };
        assert_eq!(
            describe_timing(timing),
            "Read in 1.42 s: tokenising 3 ms, the encoder 1.40 s, the heads 20 ms."
        );
    }
}
