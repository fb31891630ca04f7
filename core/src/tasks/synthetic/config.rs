//! Configuration of the synthetic task: story length, number ranges, error rate and the kinds of
//! error that may be injected. Every difficulty knob of the task lives here.

use burn::config::Config;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A kind of slip the generator can inject into one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The computation's result is off: `12 + 5 = 18`.
    WrongResult,
    /// The step starts from a value other than the previous step's result (or, for the first
    /// step, the starting quantity), with correct arithmetic afterwards. On the final step: the
    /// stated answer differs from the last result.
    WrongCarry,
    /// The step uses a quantity other than the one the question states for that event.
    WrongOperand,
    /// The step names its event but applies another operation, correctly:
    /// `after finding 5 more she has 12 - 5 = 7`.
    WrongOperation,
}

impl ErrorKind {
    /// Every error kind, in declaration order.
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::WrongResult,
        ErrorKind::WrongCarry,
        ErrorKind::WrongOperand,
        ErrorKind::WrongOperation,
    ];
}

/// Configuration of the synthetic arithmetic word problems.
#[derive(Config, Debug)]
pub struct SyntheticConfig {
    /// Fewest arithmetic events (computation steps) in a story.
    #[config(default = 3)]
    pub min_steps: usize,
    /// Most arithmetic events (computation steps) in a story.
    #[config(default = 5)]
    pub max_steps: usize,
    /// Largest starting quantity of a story (the smallest is 1).
    #[config(default = 20)]
    pub max_start: u32,
    /// Every quantity, true or wrong, stays in `0..=max_value`.
    #[config(default = 60)]
    pub max_value: u32,
    /// Largest amount gained or lost in one event (the smallest is 1).
    #[config(default = 9)]
    pub max_operand: u32,
    /// Probability that a trajectory contains an error (a story that admits no enabled slip stays
    /// correct; with `WrongCarry` or `WrongResult` enabled every story admits one).
    #[config(default = 0.5)]
    pub error_rate: f64,
    /// A wrong number differs from the right one by `1..=max_error_offset`.
    #[config(default = 5)]
    pub max_error_offset: u32,
    /// The kinds of error that may be injected, each equally likely. The default,
    /// `WrongOperation`, is one a small model learns within a single pass of a few thousand
    /// trajectories; the arithmetic kinds need many times more updates.
    #[config(default = "vec![ErrorKind::WrongOperation]")]
    pub error_kinds: Vec<ErrorKind>,
}

/// Why a [`SyntheticConfig`] cannot generate data.
#[derive(Debug, Error, PartialEq)]
pub enum SyntheticConfigError {
    /// The step range is empty or starts at zero.
    #[error(
        "synthetic config: expected 1 <= min_steps <= max_steps, got {min_steps}..={max_steps}"
    )]
    StepRange {
        /// The configured `min_steps`.
        min_steps: usize,
        /// The configured `max_steps`.
        max_steps: usize,
    },
    /// A number bound is zero or exceeds `max_value`.
    #[error(
        "synthetic config: expected 1 <= max_start, max_operand <= max_value, got \
         max_start {max_start}, max_operand {max_operand}, max_value {max_value}"
    )]
    ValueRange {
        /// The configured `max_start`.
        max_start: u32,
        /// The configured `max_operand`.
        max_operand: u32,
        /// The configured `max_value`.
        max_value: u32,
    },
    /// The error rate is not a probability.
    #[error("synthetic config: expected error_rate in [0, 1], got {0}")]
    ErrorRate(f64),
    /// Errors are requested but cannot be made.
    #[error(
        "synthetic config: error_rate > 0 needs max_error_offset >= 1 and at least one error kind"
    )]
    NoErrorPossible,
}

impl SyntheticConfig {
    /// Checks that the configuration can generate data.
    pub fn validate(&self) -> Result<(), SyntheticConfigError> {
        if self.min_steps == 0 || self.min_steps > self.max_steps {
            return Err(SyntheticConfigError::StepRange {
                min_steps: self.min_steps,
                max_steps: self.max_steps,
            });
        }
        let in_range = |bound: u32| (1..=self.max_value).contains(&bound);
        if !in_range(self.max_start) || !in_range(self.max_operand) {
            return Err(SyntheticConfigError::ValueRange {
                max_start: self.max_start,
                max_operand: self.max_operand,
                max_value: self.max_value,
            });
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(SyntheticConfigError::ErrorRate(self.error_rate));
        }
        if self.error_rate > 0.0 && (self.max_error_offset == 0 || self.error_kinds.is_empty()) {
            return Err(SyntheticConfigError::NoErrorPossible);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(SyntheticConfig::new().validate(), Ok(()));
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let config = SyntheticConfig::new;
        assert!(matches!(
            config().with_min_steps(6).validate(),
            Err(SyntheticConfigError::StepRange { .. })
        ));
        assert!(matches!(
            config().with_max_operand(61).validate(),
            Err(SyntheticConfigError::ValueRange { .. })
        ));
        assert_eq!(
            config().with_error_rate(1.5).validate(),
            Err(SyntheticConfigError::ErrorRate(1.5))
        );
        assert_eq!(
            config().with_error_kinds(Vec::new()).validate(),
            Err(SyntheticConfigError::NoErrorPossible)
        );
        assert_eq!(
            config()
                .with_error_kinds(Vec::new())
                .with_error_rate(0.0)
                .validate(),
            Ok(())
        );
    }
}
