//! When training has diverged: a loss that is NaN or infinite, or that has grown far past the
//! first update's. A loss can grow a little when a hard mini-batch comes; a hundredfold growth
//! is a run the optimiser has lost (a learning rate or a weight decay far too large), whose
//! checkpoint would only mislead.

/// How many times the first update's loss a later loss may reach before training counts as
/// diverged.
pub const DIVERGENCE_GROWTH: f32 = 100.0;

/// Why training counts as diverged.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Divergence {
    /// The loss is NaN or infinite.
    #[error("the loss is {loss}")]
    NonFinite {
        /// The loss.
        loss: f32,
    },
    /// The loss has grown more than [`DIVERGENCE_GROWTH`] times past the first update's.
    #[error(
        "the loss is {loss:.4e}, more than {DIVERGENCE_GROWTH} times the first update's {first:.4e}"
    )]
    Grew {
        /// The loss.
        loss: f32,
        /// The first update's loss.
        first: f32,
    },
}

impl Divergence {
    /// Whether an update whose loss is `loss` diverged, when the pass's first update had the
    /// loss `first` (`None` before it).
    pub fn of(loss: f32, first: Option<f32>) -> Option<Self> {
        if !loss.is_finite() {
            return Some(Divergence::NonFinite { loss });
        }
        match first {
            Some(first) if loss > DIVERGENCE_GROWTH * first => {
                Some(Divergence::Grew { loss, first })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_or_hundredfold_loss_is_divergence() {
        assert_eq!(
            Divergence::of(f32::NAN, Some(0.7)).map(|d| d.to_string()),
            Some("the loss is NaN".to_string())
        );
        assert!(matches!(
            Divergence::of(f32::INFINITY, None),
            Some(Divergence::NonFinite { .. })
        ));
        assert_eq!(
            Divergence::of(0.7, None),
            None,
            "the first update sets the scale"
        );
        assert_eq!(Divergence::of(69.0, Some(0.7)), None, "98 times is not yet");
        assert_eq!(
            Divergence::of(71.0, Some(0.7)),
            Some(Divergence::Grew {
                loss: 71.0,
                first: 0.7
            })
        );
        assert_eq!(
            Divergence::of(9e18, Some(0.7)).unwrap().to_string(),
            "the loss is 9.0000e18, more than 100 times the first update's 7.0000e-1"
        );
    }
}
