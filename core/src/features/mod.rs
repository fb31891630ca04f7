//! Step features computed once by a frozen backbone, so that training and scoring run the
//! heads alone (the cheap training mode: a pretrained encoder's features, trained heads).

use std::future::Future;

use burn::module::Module;
use burn::tensor::TensorData;

mod distinct_windows;
mod prefix_tree;
mod read_progress;

pub use crate::batch::StepFeatures;
use crate::batch::{Inputs, PrmInput};
use crate::encoding::EncodedTrajectory;
use crate::model::{EnsemblePrm, PrmBackbone};
use distinct_windows::DistinctWindows;
pub use prefix_tree::PrefixTree;
use read_progress::ReadProgress;

/// How many times fewer tokens a decoder's packed prefix tree must read than the rows hold for
/// it to be taken over batched reads of whole windows: a pack's attention spans the whole
/// pack, and the path before each cut is read again.
const TREE_SAVING: usize = 2;

/// The step features `model`'s backbone gives every trajectory of `encoded`, in their order.
///
/// Every distinct window is read once, however many trajectories share it (trajectories that
/// share a prefix share their prefix reads, and duplicated trajectories all their windows), in
/// mini-batches of at most `batch_size` windows, so that memory stays bounded however long the
/// trajectories are. A decoder reads rows that share most of their tokens (PRM800K's) as one
/// tree of prefixes packed into rows ([`PrefixTree`]), every distinct step once. A
/// causal backbone otherwise reads a window that begins another only as part of the longer
/// one: its hidden states up to any position depend on the tokens up to there alone.
/// `progress` hears how far the read has come, in trajectories' worth of the tokens read (of
/// the steps, in a prefix tree).
pub fn compute_features(
    model: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    mut progress: impl FnMut(usize),
) -> Vec<StepFeatures> {
    if let PrmBackbone::Decoder(decoder) = model.backbone() {
        // Trajectories read in one window form the tree; longer ones, whose later windows
        // repeat context, are read as windows.
        let (single, multiple): (Vec<usize>, Vec<usize>) =
            (0..encoded.len()).partition(|&i| encoded[i].windows.len() <= 1);
        let tree = PrefixTree::of(single.iter().map(|&i| &encoded[i]))
            .expect("every trajectory is one window");
        let row_tokens: usize = single
            .iter()
            .flat_map(|&i| &encoded[i].windows)
            .map(Vec::len)
            .sum();
        if tree.num_tokens() * TREE_SAVING <= row_tokens {
            let total = tree.num_steps().max(1);
            let from_tree = tree.features(decoder, &model.device(), |done| {
                progress(done * single.len() / total);
            });
            let rest: Vec<EncodedTrajectory> =
                multiple.iter().map(|&i| encoded[i].clone()).collect();
            let from_windows = read_distinct_windows(model, &rest, pad_id, batch_size, |done| {
                progress(single.len() + done);
            });
            let mut all: Vec<Option<StepFeatures>> = vec![None; encoded.len()];
            for (i, features) in single.into_iter().zip(from_tree) {
                all[i] = Some(features);
            }
            for (i, features) in multiple.into_iter().zip(from_windows) {
                all[i] = Some(features);
            }
            return all
                .into_iter()
                .map(|features| features.expect("every trajectory is read"))
                .collect();
        }
    }
    read_distinct_windows(model, encoded, pad_id, batch_size, progress)
}

/// The step features of `encoded`, every distinct window read once (see [`compute_features`]).
fn read_distinct_windows(
    model: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    mut progress: impl FnMut(usize),
) -> Vec<StepFeatures> {
    let distinct = DistinctWindows::of(encoded, model.backbone().is_causal());
    let total = distinct.reads.len().max(1);
    let read = read_windows(model, &distinct.reads, pad_id, batch_size, |done| {
        progress(done * encoded.len() / total);
    });
    distinct.assemble(&read)
}

/// The step features of every encoding of `encoded`, in their order, read in mini-batches of at
/// most `batch_size` windows (a trajectory longer than one window counts once per window);
/// `progress` hears how many encodings' worth of tokens are read ([`ReadProgress`]).
///
/// A batch is padded to its longest window, so trajectories are read shortest first: each batch
/// then holds windows of similar lengths, and little of the work is padding.
fn read_windows(
    model: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    mut progress: impl FnMut(usize),
) -> Vec<StepFeatures> {
    let device = model.device();
    let model = model.valid();
    let order = shortest_first(encoded);
    let mut read = WindowsRead::new(encoded);
    for chunk in window_batches(&order, encoded, batch_size) {
        let input: PrmInput = Inputs::Tokens { encoded, pad_id }.select(chunk, &device);
        let features = model.step_features(&input);
        let dims = features.dims();
        read.store(chunk, &input, dims, features.into_data());
        progress(read.progress.done());
    }
    read.finish()
}

/// [`compute_features`] reading back asynchronously, as a browser's WebGPU device requires:
/// every distinct window read once, shortest first, in mini-batches of at most `batch_size`
/// windows. `after_batch` hears how many trajectories' worth of tokens are read and is awaited
/// before the next mini-batch. A decoder reads its windows as an encoder does, without the
/// prefix tree.
pub async fn compute_features_async<F: Future<Output = ()>>(
    model: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    mut after_batch: impl FnMut(usize) -> F,
) -> Vec<StepFeatures> {
    let distinct = DistinctWindows::of(encoded, model.backbone().is_causal());
    let reads = &distinct.reads;
    let total = reads.len().max(1);
    let device = model.device();
    let model = model.valid();
    let order = shortest_first(reads);
    let mut read = WindowsRead::new(reads);
    for chunk in window_batches(&order, reads, batch_size) {
        let input = Inputs::Tokens {
            encoded: reads,
            pad_id,
        }
        .select(chunk, &device);
        let features = model.step_features(&input);
        let dims = features.dims();
        let data = features
            .into_data_async()
            .await
            .expect("read-back of the step features");
        read.store(chunk, &input, dims, data);
        after_batch(read.progress.done() * encoded.len() / total).await;
    }
    distinct.assemble(&read.finish())
}

/// The order to read `encoded` in: shortest longest window first, then fewest windows.
fn shortest_first(encoded: &[EncodedTrajectory]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&index| {
        let windows = &encoded[index].windows;
        (
            windows.iter().map(Vec::len).max().unwrap_or(0),
            windows.len(),
        )
    });
    order
}

/// The features of encodings read batch by batch in any order, put back in theirs.
struct WindowsRead {
    features: Vec<Option<StepFeatures>>,
    /// How far the read has come.
    progress: ReadProgress,
}

impl WindowsRead {
    /// Nothing of `encoded` read yet.
    fn new(encoded: &[EncodedTrajectory]) -> Self {
        Self {
            features: vec![None; encoded.len()],
            progress: ReadProgress::new(encoded),
        }
    }

    /// Keeps the features of the batch `input` that holds the encodings `chunk`: `data`, of
    /// shape `dims` (trajectories × steps × width), read back from the backbone.
    fn store(
        &mut self,
        chunk: &[usize],
        input: &PrmInput,
        [_, max_steps, width]: [usize; 3],
        data: TensorData,
    ) {
        let flat = data.try_into_vec::<f32>().expect("features are f32");
        for (b, (&index, &steps)) in chunk.iter().zip(&input.step_counts).enumerate() {
            let start = b * max_steps * width;
            self.features[index] = Some(StepFeatures {
                values: flat[start..start + steps * width].into(),
                width,
            });
        }
        self.progress.add(chunk);
    }

    /// Every encoding's features, in order.
    fn finish(self) -> Vec<StepFeatures> {
        self.features
            .into_iter()
            .map(|features| features.expect("every trajectory is read once"))
            .collect()
    }
}

/// Most padded tokens in one batch of windows (rows × the longest window): 16 windows of 512,
/// so that a decoder's windows of thousands of tokens come a few at a time and attention's
/// scores, which grow with the square of a window, stay within memory.
const BATCH_TOKENS: usize = 16 * 512;

/// `order` cut into consecutive batches of at most `max_windows` windows and
/// [`BATCH_TOKENS`] padded tokens, each holding at least one trajectory.
fn window_batches<'a>(
    order: &'a [usize],
    encoded: &'a [EncodedTrajectory],
    max_windows: usize,
) -> impl Iterator<Item = &'a [usize]> {
    let mut rest = order;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (mut windows, mut longest) = (0, 0);
        let taken = rest
            .iter()
            .take_while(|&&index| {
                let trajectory = &encoded[index];
                windows += trajectory.windows.len();
                longest = trajectory
                    .windows
                    .iter()
                    .map(Vec::len)
                    .fold(longest, usize::max);
                windows <= max_windows && windows * longest <= BATCH_TOKENS
            })
            .count()
            .max(1);
        let (batch, tail) = rest.split_at(taken);
        rest = tail;
        Some(batch)
    })
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use futures_executor::block_on;

    use super::*;
    use crate::encoding::{EncodingConfig, StepReading};
    use crate::model::test_support::tiny_prm_config;
    use crate::named_choice::NamedChoice;
    use crate::scoring::encode_all;
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;

    /// Scoring from cached features gives what scoring from tokens gives, whatever the
    /// batching.
    #[test]
    fn cached_features_score_like_tokens() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let trajectories = generate(&synthetic, 3, 10);
        let encoded = encode_all(&tokenizer, &trajectories, &EncodingConfig::new()).unwrap();
        let model = tiny_prm_config(tokenizer.vocab_size(), 3, 8).init(&device);
        let pad_id = tokenizer.pad_id();
        let features = compute_features(&model, &encoded, pad_id, 4, |_| {});
        assert_eq!(features.len(), 10);
        assert_eq!(features[0].num_steps(), trajectories[0].num_steps());
        let from_tokens = model.score(
            &Inputs::Tokens {
                encoded: &encoded,
                pad_id,
            }
            .batch(&device),
        );
        let from_features = model.score(&Inputs::Features(&features).batch(&device));
        for (a, b) in from_tokens.iter().zip(&from_features) {
            for (x, y) in a.mean.iter().zip(&b.mean) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
        }
        let one_by_one = compute_features(&model, &encoded, pad_id, 1, |_| {});
        assert_features_close(&features, &one_by_one, "one by one");
        let picked = model.score(&Inputs::Features(&features).select(&[7, 2], &device));
        assert_eq!(picked[0].num_steps(), trajectories[7].num_steps());
        assert!((picked[1].mean[0] - from_tokens[2].mean[0]).abs() < 1e-5);
    }

    /// The asynchronous read gives the features the synchronous one gives, for an encoder's
    /// prefix windows (each step its own window) as for whole trajectories.
    #[test]
    fn asynchronous_features_equal_synchronous_ones() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let trajectories = generate(&synthetic, 4, 7);
        let model = tiny_prm_config(tokenizer.vocab_size(), 2, 8).init(&device);
        let pad_id = tokenizer.pad_id();
        for &reading in StepReading::ALL {
            let encoding = EncodingConfig::new().with_reading(reading);
            let encoded = encode_all(&tokenizer, &trajectories, &encoding).unwrap();
            let expected = compute_features(&model, &encoded, pad_id, 3, |_| {});
            let mut heard = Vec::new();
            let features = block_on(compute_features_async(
                &model,
                &encoded,
                pad_id,
                3,
                |done| {
                    heard.push(done);
                    async {}
                },
            ));
            assert_eq!(
                heard.last(),
                Some(&trajectories.len()),
                "{reading:?}: {heard:?}"
            );
            assert_features_close(&features, &expected, reading.name());
        }
    }

    /// Each trajectory's features in `actual` are those in `expected`, within 1e-4, in order.
    fn assert_features_close(actual: &[StepFeatures], expected: &[StepFeatures], what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: trajectories");
        for (index, (a, b)) in actual.iter().zip(expected).enumerate() {
            assert_eq!(a.values.len(), b.values.len(), "{what}: trajectory {index}");
            for (x, y) in a.values.iter().zip(b.values.iter()) {
                assert!(
                    (x - y).abs() < 1e-4,
                    "{what}: trajectory {index}: {x} vs {y}"
                );
            }
        }
    }

    /// Batches hold at most the given number of windows, and a trajectory alone when it has
    /// more.
    #[test]
    fn batches_are_bounded_in_windows() {
        let with_windows = |count: usize| EncodedTrajectory {
            windows: vec![vec![1, 2]; count],
            step_positions: Vec::new(),
        };
        let encoded: Vec<EncodedTrajectory> = [1, 2, 1, 5, 1].map(with_windows).into();
        let order = [0, 1, 2, 3, 4];
        let batches: Vec<&[usize]> = window_batches(&order, &encoded, 4).collect();
        assert_eq!(batches, vec![&[0, 1, 2][..], &[3], &[4]]);
        let all: Vec<&[usize]> = window_batches(&order, &encoded, 100).collect();
        assert_eq!(all, vec![&order[..]]);
        // Long windows come as few as keep the padded tokens within the budget.
        let long = |len: usize| EncodedTrajectory {
            windows: vec![vec![1; len]],
            step_positions: Vec::new(),
        };
        let encoded = [long(10), long(3000), long(3000), long(5000), long(5000)];
        let batches: Vec<&[usize]> = window_batches(&order, &encoded, 16).collect();
        assert_eq!(batches, vec![&[0, 1][..], &[2], &[3], &[4]]);
    }

    /// Training on cached features moves the heads and leaves the backbone as it was.
    #[test]
    fn training_on_features_leaves_the_backbone_alone() {
        use crate::trainer::{PrmTrainer, TrainingConfig};
        use crate::trajectory::ProcessLabel;

        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let trajectories = generate(&synthetic, 4, 8);
        let encoded = encode_all(&tokenizer, &trajectories, &EncodingConfig::new()).unwrap();
        let model = tiny_prm_config(tokenizer.vocab_size(), 2, 8).init(&device);
        let pad_id = tokenizer.pad_id();
        let tokens = Inputs::Tokens {
            encoded: &encoded,
            pad_id,
        };
        let features_before = compute_features(&model, &encoded, pad_id, 8, |_| {});
        let scores_before = model.score(&tokens.batch(&device));

        let training = TrainingConfig::new()
            .with_learning_rate(1e-2)
            .with_warmup_steps(0);
        let mut trainer = PrmTrainer::new(model, &training, 3, &device);
        let labels: Vec<ProcessLabel> = trajectories.iter().map(|t| t.label.unwrap()).collect();
        let all: Vec<usize> = (0..8).collect();
        for _ in 0..3 {
            trainer
                .step(Inputs::Features(&features_before), &all, &labels)
                .expect("an update");
        }
        let model = trainer.into_model();
        let features_after = compute_features(&model, &encoded, pad_id, 8, |_| {});
        assert_eq!(features_after, features_before, "the backbone did not move");
        let scores_after = model.score(&tokens.batch(&device));
        assert_ne!(scores_after, scores_before, "the heads did");
    }
}
