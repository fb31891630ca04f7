//! Learning-rate schedule: linear warm-up to the peak rate, then linear decay to zero.

/// Linear warm-up over `warmup_steps`, then linear decay reaching 0 after `total_steps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmupLinearDecay {
    /// The rate reached at the end of warm-up.
    pub peak: f64,
    /// Steps spent ramping up.
    pub warmup_steps: usize,
    /// Steps of the whole schedule.
    pub total_steps: usize,
}

impl WarmupLinearDecay {
    /// The learning rate of 0-based step `step`.
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let remaining = self.total_steps.saturating_sub(step) as f64;
        self.peak * (remaining / decay_steps as f64).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_zero() {
        let schedule = WarmupLinearDecay {
            peak: 1.0,
            warmup_steps: 4,
            total_steps: 12,
        };
        assert_eq!(schedule.at(0), 0.25);
        assert_eq!(schedule.at(3), 1.0);
        assert_eq!(schedule.at(4), 1.0);
        assert_eq!(schedule.at(8), 0.5);
        assert_eq!(schedule.at(12), 0.0);
        assert_eq!(schedule.at(50), 0.0);
    }

    #[test]
    fn no_warmup_starts_at_the_peak() {
        let schedule = WarmupLinearDecay {
            peak: 2.0,
            warmup_steps: 0,
            total_steps: 2,
        };
        assert_eq!(schedule.at(0), 2.0);
        assert_eq!(schedule.at(1), 1.0);
    }
}
