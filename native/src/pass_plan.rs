//! How one pass over the pool runs: what it labels and when it stops ([`PassPlan`]), what it
//! walks and how often ([`PassWalk`]), and where a stopped pass goes on from ([`ResumedPass`]).

use actprm_core::active::{PassProgress, Rehearsal, num_batches};
use actprm_core::model::EnsemblePrm;
use actprm_core::strategy::Strategy;
use actprm_core::trainer::{TrainerState, TrainingConfig};

/// What one pass over the pool does: which trajectories it labels, when it stops, and how long
/// it labels everything first.
pub struct PassPlan {
    /// Which trajectories to label.
    pub strategy: Strategy,
    /// The pass ends once this many trajectories are labelled; `None` places no limit.
    pub label_budget: Option<usize>,
    /// Updates made on every trajectory before the strategy may trust any (0: none).
    pub warmup_updates: usize,
    /// Labels bought earlier that each update rehearses beside its mini-batch's own
    /// ([`Rehearsal::NONE`]: the paper's loop).
    pub rehearsal: Rehearsal,
}

impl PassPlan {
    /// The whole pool with `strategy`, no budget, no warm-up and no rehearsal: the paper's loop.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            label_budget: None,
            warmup_updates: 0,
            rehearsal: Rehearsal::NONE,
        }
    }
}

/// What a pass walks: the whole pool `epochs` times, or the trajectories its strategy draws
/// beforehand as many times as make the mini-batches of `epochs` walks over the whole pool (the
/// full-data schedule).
pub struct PassWalk {
    /// The pool indices drawn before the pass, or `None` for the whole pool.
    pub drawn: Option<Vec<usize>>,
    /// Times the pass walks them.
    pub epochs: usize,
    /// Mini-batches the pass makes in all.
    pub batches: usize,
}

impl PassWalk {
    /// The walk of a pass with `strategy` over a pool of `pool_size` on `training`'s schedule
    /// (its mini-batch size and walks of the pool).
    pub fn of(strategy: &Strategy, pool_size: usize, training: &TrainingConfig) -> Self {
        let drawn = strategy.drawn_before_pass(pool_size);
        let walked = drawn.as_ref().map_or(pool_size, Vec::len);
        let per_epoch = num_batches(walked, training.batch_size);
        let epochs = (num_batches(pool_size, training.batch_size) * training.epochs.max(1))
            .div_ceil(per_epoch.max(1))
            .max(1);
        Self {
            drawn,
            epochs,
            batches: epochs * per_epoch,
        }
    }

    /// The walk in words, for a pool of `pool_size` in mini-batches of `batch_size` with
    /// `heads` heads.
    pub fn describe(&self, pool_size: usize, batch_size: usize, heads: usize) -> String {
        let batches = self.batches;
        match &self.drawn {
            None => format!(
                "{} over {pool_size} pool trajectories in {batches} mini-batches of {batch_size} \
                 (E = {heads} heads)",
                match self.epochs {
                    1 => "one pass".to_string(),
                    walks => format!("{walks} walks"),
                }
            ),
            Some(drawn) => format!(
                "{} of {pool_size} pool trajectories drawn before the pass, walked {} times in \
                 {batches} mini-batches of {batch_size} (E = {heads} heads)",
                drawn.len(),
                self.epochs
            ),
        }
    }
}

/// Where a stopped pass saved its state, to go on from.
pub struct ResumedPass {
    /// The weights the model had then.
    pub model: EnsemblePrm,
    /// The trainer's state then.
    pub trainer: TrainerState,
    /// Where the pass stood.
    pub progress: PassProgress,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_walks_the_pool_once_per_epoch_and_the_offline_ones_as_many_batches() {
        let schedule = |epochs| {
            TrainingConfig::new()
                .with_batch_size(16)
                .with_epochs(epochs)
        };
        for epochs in [1, 3] {
            let walk = PassWalk::of(&Strategy::Full, 100, &schedule(epochs));
            assert!(walk.drawn.is_none());
            assert_eq!((walk.epochs, walk.batches), (epochs, 7 * epochs));

            let offline = Strategy::RandomOffline {
                fraction: 0.3,
                seed: 5,
            };
            let walk = PassWalk::of(&offline, 100, &schedule(epochs));
            let drawn = walk.drawn.as_ref().expect("drawn before the pass").len();
            let per_walk = drawn.div_ceil(16);
            assert!(per_walk < 7, "{drawn} of 100 drawn");
            assert_eq!(walk.epochs, (7 * epochs).div_ceil(per_walk));
            assert_eq!(walk.batches, walk.epochs * per_walk);
            assert!(walk.batches >= 7 * epochs && walk.batches < 7 * epochs + per_walk);
        }
    }
}
