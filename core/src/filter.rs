//! One-shot filtering (docs/method.md §4, the second stage): a trained ensemble scores a large
//! unlabelled pool once and keeps only the trajectories its strategy selects, for the judge to
//! label. The pool goes through in chunks, so it never has to be held in memory.

use serde::{Deserialize, Serialize};

use crate::batch::Inputs;
use crate::model::EnsemblePrm;
use crate::strategy::{Choice, Strategy};
use crate::trajectory::Trajectory;

/// A trajectory the filter keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kept<'a> {
    /// Its 0-based position in the pool.
    pub index: usize,
    /// The trajectory.
    pub trajectory: &'a Trajectory,
    /// Why it was kept.
    pub choice: Choice,
}

/// Running totals of a filtering pass.
///
/// When the pool carries stored labels they are never used to choose; they are only counted,
/// to show how much more often the kept trajectories hold an error than the pool does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterTally {
    /// Trajectories scored.
    pub scored: usize,
    /// Trajectories kept for labelling.
    pub kept: usize,
    /// Kept trajectories with an aleatoric reason.
    pub aleatoric: usize,
    /// Kept trajectories with an epistemic reason.
    pub epistemic: usize,
    /// Scored trajectories that carry a stored label.
    pub labelled: usize,
    /// Of those, the ones whose label has an erroneous step.
    pub labelled_erroneous: usize,
    /// Kept trajectories that carry a stored label.
    pub kept_labelled: usize,
    /// Of those, the ones whose label has an erroneous step.
    pub kept_erroneous: usize,
}

impl FilterTally {
    /// Counts one scored trajectory and the strategy's choice on it.
    pub fn record(&mut self, trajectory: &Trajectory, choice: &Choice) {
        let kept = choice.is_labelled();
        self.scored += 1;
        self.kept += usize::from(kept);
        if let Choice::Selected(selection) = choice {
            self.aleatoric += usize::from(selection.aleatoric);
            self.epistemic += usize::from(selection.epistemic);
        }
        if let Some(label) = trajectory.label {
            let erroneous = label.first_error().is_some();
            self.labelled += 1;
            self.labelled_erroneous += usize::from(erroneous);
            self.kept_labelled += usize::from(kept);
            self.kept_erroneous += usize::from(kept && erroneous);
        }
    }

    /// Adds the totals of another part of the same pool, such as another shard's.
    pub fn add(&mut self, other: &FilterTally) {
        let FilterTally {
            scored,
            kept,
            aleatoric,
            epistemic,
            labelled,
            labelled_erroneous,
            kept_labelled,
            kept_erroneous,
        } = other;
        self.scored += scored;
        self.kept += kept;
        self.aleatoric += aleatoric;
        self.epistemic += epistemic;
        self.labelled += labelled;
        self.labelled_erroneous += labelled_erroneous;
        self.kept_labelled += kept_labelled;
        self.kept_erroneous += kept_erroneous;
    }

    /// Fraction of the scored trajectories kept.
    pub fn retained_fraction(&self) -> f64 {
        ratio(self.kept, self.scored)
    }

    /// Fraction of the labelled pool that holds an error, when any of it is labelled.
    pub fn pool_error_rate(&self) -> Option<f64> {
        (self.labelled > 0).then(|| ratio(self.labelled_erroneous, self.labelled))
    }

    /// Fraction of the labelled kept trajectories that hold an error, when any were kept.
    pub fn kept_error_rate(&self) -> Option<f64> {
        (self.kept_labelled > 0).then(|| ratio(self.kept_erroneous, self.kept_labelled))
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

/// The model scored a trajectory NaN or infinite, so nothing can be decided about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "pool trajectory {index}: the model's scores are NaN or infinite, so the filter cannot \
     decide on it"
)]
pub struct NonFiniteScores {
    /// Its 0-based position in the pool.
    pub index: usize,
}

/// Filters one chunk of the pool: `trajectories[i]`, read by the model as `inputs` item `i`,
/// is pool trajectory `indices[i]` (a chunk of a shard's trajectories is not contiguous in
/// the pool). Every trajectory is counted in `tally`; the kept ones are
/// returned in pool order. A chunk with a non-finite score is refused whole, before anything
/// of it is counted.
pub fn filter_chunk<'a>(
    model: &EnsemblePrm,
    strategy: &Strategy,
    indices: &[usize],
    trajectories: &'a [Trajectory],
    inputs: Inputs,
    tally: &mut FilterTally,
) -> Result<Vec<Kept<'a>>, NonFiniteScores> {
    assert_eq!(trajectories.len(), inputs.len(), "one input per trajectory");
    assert_eq!(
        trajectories.len(),
        indices.len(),
        "one index per trajectory"
    );
    let scores = strategy.scores_read(model, inputs);
    if let Some(offset) = scores
        .as_ref()
        .and_then(|scores| scores.iter().position(|scores| !scores.is_finite()))
    {
        return Err(NonFiniteScores {
            index: indices[offset],
        });
    }
    let choices = strategy.choices(indices.iter().copied(), scores.as_deref());
    Ok(trajectories
        .iter()
        .zip(choices)
        .zip(indices)
        .filter_map(|((trajectory, choice), &index)| {
            tally.record(trajectory, &choice);
            choice.is_labelled().then_some(Kept {
                index,
                trajectory,
                choice,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::encoding::EncodingConfig;
    use crate::model::test_support::{Poison, tiny_prm_config};
    use crate::scoring::encode_all;
    use crate::selection::{Selection, SelectionConfig, SelectionReason, Tests, UncertaintyTest};
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;
    use crate::trajectory::ProcessLabel;

    fn trajectory(label: Option<ProcessLabel>) -> Trajectory {
        Trajectory {
            question: "Q".into(),
            steps: vec!["a".into(), "b".into()],
            label,
        }
    }

    fn selected(aleatoric: bool, epistemic: bool) -> Choice {
        Choice::Selected(Selection {
            reason: SelectionReason {
                step: 0,
                test: UncertaintyTest::Aleatoric,
                value: 0.5,
                threshold: 0.95,
            },
            aleatoric,
            epistemic,
        })
    }

    #[test]
    fn the_tally_counts_reasons_and_the_error_rates_of_pool_and_kept() {
        let mut tally = FilterTally::default();
        let erroneous = Some(ProcessLabel::FirstErrorAt(1));
        let correct = Some(ProcessLabel::AllCorrect);
        tally.record(&trajectory(erroneous), &selected(true, true));
        tally.record(&trajectory(correct), &selected(false, true));
        tally.record(&trajectory(correct), &Choice::Skip);
        tally.record(&trajectory(correct), &Choice::Skip);
        tally.record(&trajectory(None), &Choice::Unconditional);
        assert_eq!(
            tally,
            FilterTally {
                scored: 5,
                kept: 3,
                aleatoric: 1,
                epistemic: 2,
                labelled: 4,
                labelled_erroneous: 1,
                kept_labelled: 2,
                kept_erroneous: 1,
            }
        );
        assert_eq!(tally.retained_fraction(), 0.6);
        assert_eq!(tally.pool_error_rate(), Some(0.25));
        assert_eq!(tally.kept_error_rate(), Some(0.5));
        assert_eq!(FilterTally::default().kept_error_rate(), None);
    }

    /// Chunks report pool positions, and filtering in chunks keeps exactly what filtering the
    /// whole pool at once keeps.
    #[test]
    fn chunked_filtering_keeps_what_one_pass_keeps() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let pool = generate(&synthetic, 7, 40);
        let encoded = encode_all(&tokenizer, &pool, &EncodingConfig::new()).unwrap();
        device.seed(0);
        let model = tiny_prm_config(tokenizer.vocab_size(), 4, 16).init(&device);
        // An untrained model doubts every mean, so split the pool on the heads' spread: with
        // every step counted (τ = 0), δ_std at the median of the trajectories' largest spread.
        let pad = tokenizer.pad_id();
        let mut largest_spread: Vec<f32> = model
            .score(&crate::batch::PrmInput::new(&encoded, pad, &device))
            .iter()
            .map(|scores| scores.std.iter().copied().fold(0.0, f32::max))
            .collect();
        largest_spread.sort_by(f32::total_cmp);
        let strategy = Strategy::Rule {
            config: SelectionConfig::new()
                .with_tau(0.0)
                .with_delta_std(largest_spread[20]),
            tests: Tests::EpistemicOnly,
        };

        let mut whole = FilterTally::default();
        let indices: Vec<usize> = (0..pool.len()).collect();
        let at_once: Vec<usize> = filter_chunk(
            &model,
            &strategy,
            &indices,
            &pool,
            Inputs::Tokens {
                encoded: &encoded,
                pad_id: pad,
            },
            &mut whole,
        )
        .unwrap()
        .iter()
        .map(|kept| kept.index)
        .collect();
        let mut chunked = FilterTally::default();
        let mut in_chunks = Vec::new();
        for ((trajectories, encoded), indices) in pool
            .chunks(16)
            .zip(encoded.chunks(16))
            .zip(indices.chunks(16))
        {
            // Each chunk counts on its own and is added, as shards' totals are merged.
            let mut part = FilterTally::default();
            let kept = filter_chunk(
                &model,
                &strategy,
                indices,
                trajectories,
                Inputs::Tokens {
                    encoded,
                    pad_id: pad,
                },
                &mut part,
            )
            .unwrap();
            chunked.add(&part);
            for kept in kept {
                assert_eq!(kept.trajectory, &pool[kept.index]);
                in_chunks.push(kept.index);
            }
        }
        assert_eq!(in_chunks, at_once);
        assert_eq!(chunked, whole);
        assert_eq!(whole.scored, 40);
        assert!(
            0 < whole.kept && whole.kept < 40,
            "the thresholds should split the pool, kept {}",
            whole.kept
        );
    }

    /// A diverged model's chunk is refused whole, naming the first trajectory it cannot score,
    /// and nothing of it is counted.
    #[test]
    fn a_chunk_with_non_finite_scores_is_refused() {
        use burn::module::Module;

        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let pool = generate(&synthetic, 7, 4);
        let encoded = encode_all(&tokenizer, &pool, &EncodingConfig::new()).unwrap();
        let model = tiny_prm_config(tokenizer.vocab_size(), 2, 8)
            .init(&device)
            .map(&mut Poison);
        let mut tally = FilterTally::default();
        let inputs = Inputs::Tokens {
            encoded: &encoded,
            pad_id: tokenizer.pad_id(),
        };
        let strategy = Strategy::actprm(SelectionConfig::new());
        let error = filter_chunk(
            &model,
            &strategy,
            &[100, 104, 108, 112],
            &pool,
            inputs,
            &mut tally,
        )
        .unwrap_err();
        assert_eq!(error, NonFiniteScores { index: 100 });
        assert_eq!(tally, FilterTally::default());
    }
}
