//! How a step is read: with the whole trajectory, or with its prefix alone.

use crate::named_choice::{NamedChoice, serde_by_name};

/// What a step's separator sees when it is read. Written by name (`"whole"`, `"prefix"`); a
/// configuration saved before readings existed has none and reads [`StepReading::Whole`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepReading {
    /// The whole trajectory in one read (in windows when it is long): every separator sees the
    /// steps after its own too.
    #[default]
    Whole,
    /// Each step in a read of its own, after as much of its prefix as fits: a separator sees the
    /// question, the steps before it and its step, as in a causal decoder.
    Prefix,
}

serde_by_name!(StepReading, "step reading");

impl NamedChoice for StepReading {
    const ALL: &'static [Self] = &[StepReading::Whole, StepReading::Prefix];

    /// The name used on the command line and in files.
    fn name(self) -> &'static str {
        match self {
            StepReading::Whole => "whole",
            StepReading::Prefix => "prefix",
        }
    }
}
