//! Rehearsal: each update of a pool pass also trains on labels bought earlier in the pass, so
//! that a pass labelling a few trajectories of each mini-batch still updates on full ones
//! (docs/method.md §4). Not in the paper, whose updates learn from the mini-batch's labels
//! alone.

use std::ops::Range;

use crate::rng::SeededRng;

/// Salt that keeps the rehearsal's draws apart from other streams derived from the same seed
/// (the random baselines draw trajectory `i` from stream `i`).
const STREAM_SALT: u64 = 0x5245_4845_4152_5345;

/// How many earlier labels each update rehearses, and from which seed they are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rehearsal {
    /// Labels drawn for each update, without repeats, from those bought outside its
    /// mini-batch (every one of them while fewer are bought). 0, the paper's loop, rehearses
    /// nothing.
    pub per_update: usize,
    /// Seed of the draws: mini-batch `b` draws from a stream of its own, so a resumed pass
    /// draws what the uninterrupted one would.
    pub seed: u64,
}

impl Rehearsal {
    /// No rehearsal: the paper's loop.
    pub const NONE: Self = Self {
        per_update: 0,
        seed: 0,
    };

    /// Whether updates rehearse anything.
    pub fn is_active(&self) -> bool {
        self.per_update > 0
    }

    /// The pool indices mini-batch `batch`, which spans pool indices `within`, rehearses:
    /// `per_update` of those in `bought` (increasing pool indices) that lie outside `within`,
    /// drawn uniformly without repeats, in increasing order.
    pub fn draw(&self, batch: usize, within: Range<usize>, bought: &[usize]) -> Vec<usize> {
        let start = bought.partition_point(|&index| index < within.start);
        let end = bought.partition_point(|&index| index < within.end);
        let outside = |position: usize| match position < start {
            true => bought[position],
            false => bought[position + (end - start)],
        };
        let candidates = bought.len() - (end - start);
        if self.per_update >= candidates {
            return (0..candidates).map(outside).collect();
        }
        let mut rng = SeededRng::derive(self.seed ^ STREAM_SALT, batch as u64);
        let mut positions = distinct_below(candidates, self.per_update, &mut rng);
        positions.sort_unstable();
        positions.into_iter().map(outside).collect()
    }
}

/// `count` distinct integers drawn uniformly from `[0, n)`, `count ≤ n` (Floyd's algorithm:
/// `count` draws, whatever `n`).
fn distinct_below(n: usize, count: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut chosen = Vec::with_capacity(count);
    for bound in n - count..n {
        let draw = rng.below(bound as u64 + 1) as usize;
        let pick = match chosen.contains(&draw) {
            true => bound,
            false => draw,
        };
        chosen.push(pick);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rehearsal(per_update: usize) -> Rehearsal {
        Rehearsal {
            per_update,
            seed: 7,
        }
    }

    #[test]
    fn draws_are_distinct_bought_and_outside_the_mini_batch() {
        let bought: Vec<usize> = (0..200).step_by(3).collect();
        for batch in 0..50 {
            let within = 30..60;
            let drawn = rehearsal(10).draw(batch, within.clone(), &bought);
            assert_eq!(drawn.len(), 10);
            assert!(drawn.windows(2).all(|pair| pair[0] < pair[1]), "{drawn:?}");
            assert!(drawn.iter().all(|index| bought.contains(index)));
            assert!(drawn.iter().all(|index| !within.contains(index)));
        }
    }

    #[test]
    fn every_candidate_is_drawn_while_there_are_too_few() {
        let bought = [1, 4, 16, 17, 40];
        assert_eq!(rehearsal(8).draw(0, 16..32, &bought), [1, 4, 40]);
        assert_eq!(rehearsal(3).draw(0, 16..32, &bought), [1, 4, 40]);
        assert!(rehearsal(3).draw(0, 0..64, &bought).is_empty());
        assert!(Rehearsal::NONE.draw(0, 16..32, &bought).is_empty());
    }

    #[test]
    fn the_draw_depends_on_the_seed_and_the_mini_batch_alone() {
        let bought: Vec<usize> = (0..1000).collect();
        let draw = |seed, batch| {
            Rehearsal {
                per_update: 5,
                seed,
            }
            .draw(batch, 0..16, &bought)
        };
        assert_eq!(draw(1, 3), draw(1, 3));
        assert_ne!(draw(1, 3), draw(1, 4));
        assert_ne!(draw(1, 3), draw(2, 3));
    }

    #[test]
    fn every_candidate_is_about_equally_likely() {
        let bought: Vec<usize> = (0..10).collect();
        let mut counts = [0usize; 10];
        for batch in 0..20_000 {
            for index in rehearsal(3).draw(batch, 10..20, &bought) {
                counts[index] += 1;
            }
        }
        // Each of 10 candidates is drawn with probability 3/10: 6,000 times expected, with a
        // standard deviation of about 65.
        for count in counts {
            assert!((5_700..6_300).contains(&count), "{counts:?}");
        }
    }
}
