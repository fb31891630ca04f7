//! How a step is read: with the whole trajectory, or with its prefix alone.

use serde::{Deserialize, Serialize};

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

impl Serialize for StepReading {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for StepReading {
    /// Reads the name, or the default when the field is absent: serde reads an absent field
    /// as an `Option`'s `None`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(StepReading::default()),
            Some(name) => Self::from_name(&name).ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.map(Self::name).into();
                serde::de::Error::custom(format!(
                    "unknown step reading `{name}`, expected one of: {}",
                    known.join(", ")
                ))
            }),
        }
    }
}

impl StepReading {
    /// Every reading, in the order the command line lists them.
    pub const ALL: [StepReading; 2] = [StepReading::Whole, StepReading::Prefix];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            StepReading::Whole => "whole",
            StepReading::Prefix => "prefix",
        }
    }

    /// The reading called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reading| reading.name() == name)
    }
}
