//! The range of each threshold in the app: its slider spans it, and a value read from a shared
//! link is clamped to it, so that every rule a link can carry is one the sliders can show.

/// A threshold's range and its slider's step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdRange {
    /// The smallest value.
    pub min: f32,
    /// The largest value.
    pub max: f32,
    /// The slider's step.
    pub step: f32,
}

impl ThresholdRange {
    /// `value` within the range; NaN becomes the minimum.
    pub fn clamp(self, value: f32) -> f32 {
        if value.is_nan() {
            self.min
        } else {
            value.clamp(self.min, self.max)
        }
    }
}

/// δ_pred: confident means at least δ_pred or at most 1 − δ_pred, so from 0.5 to 1.
pub const DELTA_PRED: ThresholdRange = ThresholdRange {
    min: 0.5,
    max: 1.0,
    step: 0.001,
};

/// δ_std: the heads' spread, which for anchored heads stays within a few hundredths.
pub const DELTA_STD: ThresholdRange = ThresholdRange {
    min: 0.0,
    max: 0.05,
    step: 0.0005,
};

/// τ: the mean below which a step is predicted erroneous.
pub const TAU: ThresholdRange = ThresholdRange {
    min: 0.0,
    max: 1.0,
    step: 0.01,
};
