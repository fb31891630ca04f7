//! Rehearsal: each update of a pool pass also trains on labels bought earlier in the pass, so
//! that a pass labelling a few trajectories of each mini-batch still updates on full ones
//! (docs/method.md §4). Not in the paper, whose updates learn from the mini-batch's labels
//! alone.

use std::ops::Range;

use crate::rng::SeededRng;

/// Salt that keeps the rehearsal's draws apart from other streams derived from the same seed
/// (the random baselines draw trajectory `i` from stream `i`).
const STREAM_SALT: u64 = 0x5245_4845_4152_5345;

/// How many earlier labels each update rehearses, from which of them, and from which seed they
/// are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rehearsal {
    /// Labels drawn for each update, without repeats, from those bought outside its
    /// mini-batch (every one of them while fewer are bought). 0, the paper's loop, rehearses
    /// nothing.
    pub per_update: usize,
    /// The draws come from the `window` labels bought last before the mini-batch, in the
    /// walk's order (0: from every label bought). Drawing from all of them trains a label
    /// bought early far more often than one bought late; a window of W labels, filled at k
    /// labels a mini-batch, trains each about `per_update / k` times, wherever the pass
    /// bought it.
    pub window: usize,
    /// Seed of the draws: mini-batch `b` draws from a stream of its own, so a resumed pass
    /// draws what the uninterrupted one would.
    pub seed: u64,
}

impl Rehearsal {
    /// No rehearsal: the paper's loop.
    pub const NONE: Self = Self {
        per_update: 0,
        window: 0,
        seed: 0,
    };

    /// Whether updates rehearse anything.
    pub fn is_active(&self) -> bool {
        self.per_update > 0
    }

    /// The pool indices mini-batch `batch`, which spans pool indices `within`, rehearses:
    /// `per_update` of those in `bought` (increasing pool indices) that lie outside `within`
    /// and in the window, drawn uniformly without repeats, in increasing order.
    ///
    /// The window counts back from `within` in the order the pass walks the pool: first the
    /// labels before it, then, in a later walk, those after it, bought by the walk before.
    pub fn draw(&self, batch: usize, within: Range<usize>, bought: &[usize]) -> Vec<usize> {
        let start = bought.partition_point(|&index| index < within.start);
        let end = bought.partition_point(|&index| index < within.end);
        let outside_within = bought.len() - (end - start);
        // The window is the labels bought[first..start] and bought[last..].
        let (first, last) = match self.window {
            window if window == 0 || window >= outside_within => (0, end),
            window if window <= start => (start - window, bought.len()),
            window => (0, bought.len() - (window - start)),
        };
        let outside = |position: usize| match position < start - first {
            true => bought[first + position],
            false => bought[last + position - (start - first)],
        };
        let candidates = (start - first) + (bought.len() - last);
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
            window: 0,
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
                window: 0,
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

    #[test]
    fn a_window_draws_from_the_labels_bought_last_before_the_mini_batch() {
        let bought: Vec<usize> = (0..100).step_by(2).collect();
        let windowed = |window| Rehearsal {
            window,
            ..rehearsal(4)
        };
        for batch in 0..200 {
            let drawn = windowed(6).draw(batch, 40..56, &bought);
            assert_eq!(drawn.len(), 4);
            assert!(
                drawn.iter().all(|index| (28..40).contains(index)),
                "{drawn:?}"
            );
        }
        // Fewer before the mini-batch than the window: the rest comes from the end of the
        // earlier walk, the labels bought last before those.
        assert_eq!(windowed(5).draw(0, 4..96, &bought), [0, 2, 96, 98]);
        assert_eq!(windowed(3).draw(0, 4..96, &bought), [0, 2, 98]);
        // A window as large as what lies outside the mini-batch draws as no window does.
        for batch in 0..50 {
            assert_eq!(
                windowed(34).draw(batch, 30..62, &bought),
                rehearsal(4).draw(batch, 30..62, &bought)
            );
        }
    }

    #[test]
    fn a_window_trains_early_and_late_labels_alike() {
        // A pass buying 2 labels in each mini-batch of 16, rehearsing 8 a mini-batch.
        let exposure = |window| {
            let mut bought = Vec::new();
            let mut drawn = vec![0usize; 2 * 400];
            for batch in 0..400 {
                let within = batch * 16..(batch + 1) * 16;
                for index in (Rehearsal {
                    window,
                    ..rehearsal(8)
                })
                .draw(batch, within, &bought)
                {
                    drawn[index / 8] += 1;
                }
                bought.extend([batch * 16, batch * 16 + 8]);
            }
            let early: usize = drawn[20..120].iter().sum();
            let late: usize = drawn[600..700].iter().sum();
            (early as f64 / 100.0, late as f64 / 100.0)
        };
        let (early, late) = exposure(0);
        assert!(
            early > 5.0 * late,
            "every label: {early} early, {late} late"
        );
        let (early, late) = exposure(32);
        for times in [early, late] {
            assert!(
                (3.6..4.4).contains(&times),
                "window 32: {early} early, {late} late"
            );
        }
    }
}
