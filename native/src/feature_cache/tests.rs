use std::fs;

use actprm_core::NamedChoice;
use actprm_core::encoding::EncodingConfig;
use actprm_core::model::PrmConfig;
use actprm_core::scoring::encode_all;
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};
use actprm_core::tokenizer::StepTokenizer;
use burn::tensor::Device;

use super::*;

/// A tiny model, a few encoded synthetic trajectories and an empty cache directory.
fn setup(name: &str) -> (EnsemblePrm, Vec<EncodedTrajectory>, u32, PathBuf) {
    let device = Device::flex();
    let synthetic = SyntheticConfig::new();
    let tokenizer = StepTokenizer::for_synthetic(&synthetic);
    let trajectories = generate(&synthetic, 5, 6);
    let encoded = encode_all(&tokenizer, &trajectories, &EncodingConfig::new()).unwrap();
    device.seed(3);
    let model = PrmConfig::tiny(tokenizer.vocab_size()).init(&device);
    let root = std::env::temp_dir().join(format!(
        "actprm-feature-cache-{name}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&root);
    (model, encoded, tokenizer.pad_id(), root)
}

fn shards(cache: &FeatureCache) -> Vec<PathBuf> {
    let mut shards: Vec<PathBuf> = fs::read_dir(cache.dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    shards.sort();
    shards
}

#[test]
fn a_second_request_is_read_from_the_cache() {
    let (model, encoded, pad, root) = setup("hit");
    let cache = FeatureCache::new(&root, model.backbone());
    let (first, usage) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 0,
            computed: 6
        }
    );
    let later_run = FeatureCache::new(&root, model.backbone());
    let (second, usage) = later_run
        .features(&model, &encoded, pad, 4, |_| {})
        .unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 6,
            computed: 0
        }
    );
    assert_eq!(
        first, second,
        "the cache returns the features it stored, in order"
    );
    assert!(
        !Arc::ptr_eq(&first[0].values, &second[0].values),
        "another cache reads the shards"
    );
    let reversed: Vec<_> = encoded.iter().rev().cloned().collect();
    let (backwards, usage) = cache.features(&model, &reversed, pad, 4, |_| {}).unwrap();
    assert_eq!(usage.hits, 6);
    assert_eq!(backwards[0], first[5]);
    fs::remove_dir_all(root).unwrap();
}

/// Features a set still holds are handed to the next request from memory, sharing their
/// values; once no set holds them they are read from the shards again.
#[test]
fn held_features_are_shared_not_read_again() {
    let (model, encoded, pad, root) = setup("held");
    let cache = FeatureCache::new(&root, model.backbone());
    let (first, _) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    let [shard] = shards(&cache).try_into().expect("one shard");
    let bytes = fs::read(&shard).unwrap();
    fs::remove_file(&shard).unwrap();
    let (held, usage) = cache
        .clone()
        .features(&model, &encoded[1..3], pad, 4, |_| {})
        .unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 2,
            computed: 0
        },
        "served without the shard"
    );
    assert!(Arc::ptr_eq(&held[0].values, &first[1].values));
    assert_eq!(held[1], first[2]);
    let values_of_first = first[0].values.len();
    drop((first, held));
    fs::write(&shard, &bytes).unwrap();
    let (again, usage) = cache
        .features(&model, &encoded[..1], pad, 4, |_| {})
        .unwrap();
    assert_eq!(usage.hits, 1, "read from the shard again");
    assert_eq!(again[0].values.len(), values_of_first);
    assert_eq!(
        cache.held.lock().unwrap().len(),
        1,
        "what no set holds is forgotten"
    );
    fs::remove_dir_all(root).unwrap();
}

/// A read of more trajectories than a shard holds stores each shard as it finishes; the
/// features are those of one read, in the order asked.
#[test]
fn a_long_read_is_stored_a_shard_at_a_time() {
    let (model, encoded, pad, root) = setup("shards");
    let whole = FeatureCache::new(&root.join("whole"), model.backbone());
    let (expected, _) = whole.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    assert_eq!(shards(&whole).len(), 1);

    let cache = FeatureCache::new(&root, model.backbone()).with_shard_trajectories(4);
    let mut heard = Vec::new();
    let (features, usage) = cache
        .features(&model, &encoded, pad, 4, |done| heard.push(done))
        .unwrap();
    assert_eq!(usage.computed, 6);
    assert_eq!(shards(&cache).len(), 2, "6 trajectories, 4 to a shard");
    assert_eq!(heard.last(), Some(&6), "progress counts across shards");
    for (got, want) in features.iter().zip(&expected) {
        assert_eq!(got.num_steps(), want.num_steps());
        let gap = (got.values.iter().zip(want.values.iter()))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(gap < 1e-5, "features differ by {gap}");
    }
    // A later run reads both shards and computes nothing.
    let (_, usage) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 6,
            computed: 0
        }
    );
    fs::remove_dir_all(root).unwrap();
}

/// The same trajectory twice is computed and stored once, and both get its features.
#[test]
fn duplicates_are_computed_once() {
    let (model, mut encoded, pad, root) = setup("duplicates");
    encoded.push(encoded[1].clone());
    let cache = FeatureCache::new(&root, model.backbone());
    let (features, usage) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 0,
            computed: 6
        }
    );
    assert_eq!(features.len(), 7);
    assert_eq!(features[6], features[1]);
    let (_, usage) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 7,
            computed: 0
        }
    );
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_changed_input_misses_and_only_it_is_computed() {
    let (model, mut encoded, pad, root) = setup("stale");
    let cache = FeatureCache::new(&root, model.backbone());
    let (before, _) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    // The data file changed under one trajectory: a step now reads another token.
    let window = &mut encoded[2].windows[0];
    window[1] = if window[1] == 5 { 6 } else { 5 };
    let (after, usage) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 5,
            computed: 1
        }
    );
    assert_ne!(after[2], before[2], "the stale features are not read back");
    assert_eq!(after[3], before[3]);
    // Another backbone never reads this one's features.
    let other = PrmConfig::tiny(model_vocab(&encoded)).init(&Device::flex());
    assert_ne!(
        FeatureCache::new(&root, other.backbone()).dir(),
        cache.dir()
    );
    fs::remove_dir_all(root).unwrap();
}

/// A decoder's features with the mean of each step are cached apart from its separator's
/// states, and keyed by where each step starts.
#[test]
fn a_step_feature_has_a_cache_of_its_own() {
    use actprm_core::model::DecoderConfig;
    let device = Device::flex();
    let decoder = DecoderConfig::new()
        .with_vocab_size(16)
        .with_hidden_size(8)
        .with_intermediate_size(8)
        .with_num_hidden_layers(1)
        .with_num_attention_heads(2)
        .with_num_key_value_heads(1)
        .with_head_dim(4);
    let read_with = |step_feature| {
        PrmConfig::new(decoder.clone().with_step_feature(step_feature).into()).init(&device)
    };
    let root = Path::new("features");
    for &step_feature in StepFeature::ALL {
        let model = read_with(step_feature);
        let digest = backbone_digest(model.backbone());
        let expected = match step_feature {
            StepFeature::Separator => digest,
            StepFeature::SeparatorAndMean => format!("{digest}-separator-and-mean"),
        };
        assert_eq!(
            FeatureCache::new(root, model.backbone()).dir(),
            root.join(expected)
        );
    }
    let encoded = EncodedTrajectory::single_window(vec![1, 2, 3, 4], &[3]);
    let mut later = encoded.clone();
    later.step_positions[0].start = 2;
    assert_eq!(
        trajectory_key(&encoded, false),
        trajectory_key(&later, false)
    );
    assert_ne!(trajectory_key(&encoded, true), trajectory_key(&later, true));
}

#[test]
fn a_torn_shard_is_removed_and_its_features_computed_again() {
    let (model, encoded, pad, root) = setup("torn");
    let cache = FeatureCache::new(&root, model.backbone());
    let (before, _) = cache.features(&model, &encoded, pad, 4, |_| {}).unwrap();
    let [shard] = shards(&cache).try_into().expect("one shard");
    let bytes = fs::read(&shard).unwrap();
    fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
    let later_run = FeatureCache::new(&root, model.backbone());
    let (after, usage) = later_run
        .features(&model, &encoded, pad, 4, |_| {})
        .unwrap();
    assert_eq!(
        usage,
        CacheUse {
            hits: 0,
            computed: 6
        }
    );
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a.width, b.width);
        for (x, y) in a.values.iter().zip(b.values.iter()) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
    let [rewritten] = shards(&later_run).try_into().expect("one shard again");
    assert_eq!(fs::read(rewritten).unwrap().len(), bytes.len());
    fs::remove_dir_all(root).unwrap();
}

/// A vocabulary that holds every id of `encoded`.
fn model_vocab(encoded: &[EncodedTrajectory]) -> usize {
    let max = encoded
        .iter()
        .flat_map(|e| e.windows.iter().flatten())
        .max();
    *max.unwrap() as usize + 1
}
