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

mod keys;
mod shard_file;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use actprm_core::encoding::EncodedTrajectory;
use actprm_core::features::{StepFeatures, compute_features};
use actprm_core::model::{EnsemblePrm, PrmBackbone, StepFeature};
use anyhow::Result;

use keys::{backbone_digest, trajectory_key};
use shard_file::{read_shards, write_shard};

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
    /// `batch_size` and stored a shard at a time. `progress` hears how far the computing has
    /// come, in missing trajectories' worth of tokens.
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
            read_shards(&self.dir, &unheld, &mut found)?;
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
            write_shard(&self.dir, &stored)?;
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

/// Where the feature cache lives by default: `~/.cache/actprm/features`.
pub fn default_root() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/actprm/features")
}

#[cfg(test)]
mod tests;
