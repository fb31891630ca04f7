//! Step features of a frozen backbone, cached on disk, so that every seed, strategy and
//! evaluation that reads the same trajectories with the same backbone computes them once.
//!
//! The cache is content-addressed. A trajectory's features are filed under the SHA-256 of its
//! encoding (windows of token ids and separator positions, and where each step starts when
//! its feature pools the step's tokens), in a directory named by the SHA-256 of the backbone's
//! weights (followed by the step feature's name when it is not the separator's state): a
//! changed data file, tokenizer, encoding setting, step feature or backbone misses and is
//! computed afresh, and nothing stale is read back. Each computation adds a shard per
//! [`SHARD_TRAJECTORIES`] trajectories, a safetensors file written under a temporary name and
//! renamed into place, holding one `[steps, width]` f32 tensor per trajectory, named by its key:
//! a read stopped part of the way keeps the shards it finished. A shard that does not read back
//! (a torn write, a damaged disk) is reported, removed, and its trajectories computed again.
//! Shards are memory-mapped, so a request reads every shard's header but only the pages of the
//! features it names; features that some set still holds are handed out again from memory,
//! shared, so that sets drawing the same trajectories (a sweep's seeds) hold one copy.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use actprm_core::encoding::EncodedTrajectory;
use actprm_core::features::{StepFeatures, compute_features};
use actprm_core::model::{EnsemblePrm, PrmBackbone, StepFeature};
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result, bail};
use burn::store::ModuleSnapshot;
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

/// Extension of a shard.
const SHARD_EXTENSION: &str = "safetensors";

/// Trajectories computed and stored together, at most: a shard of all of PRM800K's phase-1 rows
/// would take the better part of an hour to read on two CPU cores, all lost if the run stopped
/// before its end; shards of this size each take minutes, and hold a few hundred megabytes.
pub const SHARD_TRAJECTORIES: usize = 4_096;

/// The cached features of one backbone. Clones share what is held in memory.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
    step_feature: StepFeature,
    shard_trajectories: usize,
    held: Arc<Mutex<Held>>,
}

/// Features the cache has handed out and some set still holds, by key: every set that reads
/// the same trajectory (each seed's draw of the same rows, a benchmark read for every seed)
/// shares one copy in memory, and reads none of them from disk again.
type Held = HashMap<String, (Weak<[f32]>, usize)>;

/// How a request was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheUse {
    /// Trajectories whose features were read from the cache.
    pub hits: usize,
    /// Distinct trajectories whose features the backbone computed (and the cache now holds).
    pub computed: usize,
}

impl FeatureCache {
    /// The cache of `backbone`'s features under `root`.
    pub fn new(root: &Path, backbone: &PrmBackbone) -> Self {
        let digest = backbone_digest(backbone);
        let step_feature = backbone.step_feature();
        let name = match step_feature {
            StepFeature::Separator => digest,
            other => format!("{digest}-{other}"),
        };
        Self {
            dir: root.join(name),
            step_feature,
            shard_trajectories: SHARD_TRAJECTORIES,
            held: Arc::default(),
        }
    }

    /// The same cache, storing at most `trajectories` per shard (at least one).
    #[cfg(test)]
    fn with_shard_trajectories(mut self, trajectories: usize) -> Self {
        self.shard_trajectories = trajectories.max(1);
        self
    }

    /// The directory holding this backbone's shards.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The step features `reader`'s backbone gives every trajectory of `encoded`, in order:
    /// read from the cache where it holds them, otherwise computed in mini-batches of
    /// `batch_size` and stored a shard at a time. `progress` hears how many of the missing ones
    /// are computed.
    pub fn features(
        &self,
        reader: &EnsemblePrm,
        encoded: &[EncodedTrajectory],
        pad_id: u32,
        batch_size: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<(Vec<StepFeatures>, CacheUse)> {
        let with_starts = self.step_feature.pools_step_tokens();
        let keys: Vec<String> = encoded
            .iter()
            .map(|encoded| trajectory_key(encoded, with_starts))
            .collect();
        let mut found = self.held(&keys);
        let unheld: HashSet<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|key| !found.contains_key(*key))
            .collect();
        if !unheld.is_empty() {
            self.read(&unheld, &mut found)?;
        }
        let is_cached = |i: usize| {
            found
                .get(&keys[i])
                .is_some_and(|f| f.num_steps() == encoded[i].num_steps())
        };
        let hits = (0..encoded.len()).filter(|&i| is_cached(i)).count();
        // A trajectory given twice (the same row twice in a data file) is computed once.
        let mut first_seen = HashSet::new();
        let mut missing: Vec<usize> = (0..encoded.len())
            .filter(|&i| !is_cached(i) && first_seen.insert(keys[i].as_str()))
            .collect();
        let usage = CacheUse {
            hits,
            computed: missing.len(),
        };
        // Trajectories that share a prefix sit side by side, so that each shard's read shares
        // their prefixes (a decoder's tree of steps, an encoder's distinct windows).
        missing.sort_by(|&a, &b| encoded[a].windows.cmp(&encoded[b].windows));
        let mut done = 0;
        for shard in missing.chunks(self.shard_trajectories) {
            let to_compute: Vec<EncodedTrajectory> =
                shard.iter().map(|&i| encoded[i].clone()).collect();
            let computed = compute_features(reader, &to_compute, pad_id, batch_size, |n| {
                progress(done + n);
            });
            let stored: Vec<(&str, &StepFeatures)> = shard
                .iter()
                .map(|&i| keys[i].as_str())
                .zip(&computed)
                .collect();
            self.write_shard(&stored)?;
            for (&i, features) in shard.iter().zip(computed) {
                found.insert(keys[i].clone(), features);
            }
            done += shard.len();
        }
        self.hold(&found);
        let features = keys
            .iter()
            .map(|key| {
                found
                    .get(key)
                    .cloned()
                    .expect("every key was found or computed")
            })
            .collect();
        Ok((features, usage))
    }

    /// The features of every key in `keys` that some set still holds.
    fn held(&self, keys: &[String]) -> HashMap<String, StepFeatures> {
        let held = self.held.lock().expect("held features lock");
        keys.iter()
            .filter_map(|key| {
                let (values, width) = held.get(key)?;
                let values = values.upgrade()?;
                Some((
                    key.clone(),
                    StepFeatures {
                        values,
                        width: *width,
                    },
                ))
            })
            .collect()
    }

    /// Remembers `found` as held, and forgets what no set holds any more.
    fn hold(&self, found: &HashMap<String, StepFeatures>) {
        let mut held = self.held.lock().expect("held features lock");
        held.retain(|_, (values, _)| values.strong_count() > 0);
        for (key, features) in found {
            held.insert(
                key.clone(),
                (Arc::downgrade(&features.values), features.width),
            );
        }
    }

    /// Adds to `found` the features of every key in `wanted` that some readable shard holds.
    fn read(
        &self,
        wanted: &HashSet<&str>,
        found: &mut HashMap<String, StepFeatures>,
    ) -> Result<()> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(());
        };
        let mut shards: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|e| e == SHARD_EXTENSION))
            .collect();
        shards.sort();
        for shard in shards {
            let file =
                fs::File::open(&shard).with_context(|| format!("opening {}", shard.display()))?;
            // SAFETY: a shard is written under a staging name and renamed into place, and never
            // written again; the cache only ever removes one, which leaves the mapping valid.
            let bytes = unsafe { memmap2::Mmap::map(&file) }
                .with_context(|| format!("reading {}", shard.display()))?;
            match read_shard(&bytes, wanted, found) {
                Ok(()) => {}
                Err(problem) => {
                    eprintln!(
                        "warning: feature cache shard {} does not read back ({problem}); \
                         removing it, its features will be computed again",
                        shard.display()
                    );
                    fs::remove_file(&shard)
                        .with_context(|| format!("removing {}", shard.display()))?;
                }
            }
        }
        Ok(())
    }

    /// Writes one shard holding `features` under their keys.
    fn write_shard(&self, features: &[(&str, &StepFeatures)]) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating the feature cache {}", self.dir.display()))?;
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = features
            .iter()
            .map(|(key, f)| {
                let data = f.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (key.to_string(), data, vec![f.num_steps(), f.width])
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(key, data, shape)| {
                safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), data)
                    .map(|view| (key.as_str(), view))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let serialised = safetensors::serialize(views, None)?;
        let mut name = Sha256::new();
        for (key, _) in features {
            name.update(key.as_bytes());
        }
        let path = self.dir.join(format!(
            "{}.{SHARD_EXTENSION}",
            &format!("{:x}", name.finalize())[..32]
        ));
        Ok(write_whole_file(&path, &serialised)?)
    }
}

/// The step features `reader`'s backbone gives every trajectory of `encoded`: through `cache`
/// when there is one (see [`FeatureCache::features`]), otherwise computed afresh.
pub fn step_features(
    cache: Option<&FeatureCache>,
    reader: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    progress: impl FnMut(usize),
) -> Result<(Vec<StepFeatures>, CacheUse)> {
    match cache {
        Some(cache) => cache.features(reader, encoded, pad_id, batch_size, progress),
        None => {
            let features = compute_features(reader, encoded, pad_id, batch_size, progress);
            let usage = CacheUse {
                hits: 0,
                computed: encoded.len(),
            };
            Ok((features, usage))
        }
    }
}

/// Copies into `found` the tensors of one shard that `wanted` names, or says why the shard is
/// unusable.
fn read_shard(
    bytes: &[u8],
    wanted: &HashSet<&str>,
    found: &mut HashMap<String, StepFeatures>,
) -> Result<()> {
    let shard = SafeTensors::deserialize(bytes)?;
    for (name, view) in shard.iter() {
        if !wanted.contains(name) || found.contains_key(name) {
            continue;
        }
        let &[steps, width] = view.shape() else {
            bail!(
                "tensor {name} has shape {:?}, not [steps, width]",
                view.shape()
            );
        };
        if view.dtype() != Dtype::F32 || view.data().len() != steps * width * 4 {
            bail!("tensor {name} is not {steps}×{width} f32 values");
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        found.insert(name.to_string(), StepFeatures { values, width });
    }
    Ok(())
}

/// The SHA-256 of a trajectory's encoding: its windows' token ids, where each step is read,
/// and, `with_starts`, where each step begins.
pub fn trajectory_key(encoded: &EncodedTrajectory, with_starts: bool) -> String {
    let mut hasher = Sha256::new();
    hasher.update((encoded.windows.len() as u64).to_le_bytes());
    for window in &encoded.windows {
        hasher.update((window.len() as u64).to_le_bytes());
        for id in window {
            hasher.update(id.to_le_bytes());
        }
    }
    for step in &encoded.step_positions {
        hasher.update((step.window as u64).to_le_bytes());
        hasher.update((step.position as u64).to_le_bytes());
        if with_starts {
            hasher.update((step.start as u64).to_le_bytes());
        }
    }
    format!("{:x}", hasher.finalize())
}

/// The SHA-256 of a backbone's configuration-free identity: every tensor's name, shape, type
/// and bytes.
pub fn backbone_digest(backbone: &PrmBackbone) -> String {
    let mut hasher = Sha256::new();
    for tensor in backbone.collect(None, None, false) {
        hasher.update(format!("{} {:?} {:?}", tensor.name, tensor.shape, tensor.dtype).as_bytes());
        if let Ok(bytes) = tensor.to_bytes() {
            hasher.update(&bytes[..]);
        }
    }
    format!("{:x}", hasher.finalize())
}

/// Where the feature cache lives by default: `~/.cache/actprm/features`.
pub fn default_root() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/actprm/features")
}

#[cfg(test)]
mod tests {
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
}
