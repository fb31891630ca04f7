//! Several checkpoints evaluated on the same items. Checkpoints with the same tokenizer,
//! encoding and backbone weights (heads trained on one frozen encoder) form a group whose
//! backbone reads each item once; each checkpoint's heads then score the shared features.

use std::path::{Path, PathBuf};

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::scores::StepScores;
use actprm_core::scoring::{check_finite, encode_all, score_features};
use anyhow::{Result, anyhow, bail};

use crate::backend::Backend;
use crate::checkpoint_dir::load_checkpoint;
use crate::feature_cache::{FeatureCache, step_features};
use crate::progress;

/// Loaded checkpoints, grouped by the backbone they share.
pub struct CheckpointSet {
    /// Each checkpoint with the directory it was read from, in the order given.
    pub checkpoints: Vec<(PathBuf, Checkpoint)>,
    /// Indices into `checkpoints`, one group per distinct backbone.
    groups: Vec<Vec<usize>>,
    /// The feature cache of each group's backbone, when features are cached.
    caches: Vec<Option<FeatureCache>>,
}

impl CheckpointSet {
    /// Loads every checkpoint in `dirs` and groups those that share a backbone; with a
    /// `cache_root`, each group's step features are read from and stored in the feature cache
    /// there.
    pub fn load(dirs: &[PathBuf], backend: &Backend, cache_root: Option<&Path>) -> Result<Self> {
        if dirs.is_empty() {
            bail!("no checkpoint to evaluate");
        }
        let checkpoints = dirs
            .iter()
            .map(|dir| Ok((dir.clone(), load_checkpoint(dir, backend)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (index, (_, checkpoint)) in checkpoints.iter().enumerate() {
            let group = groups
                .iter_mut()
                .find(|group| reads_like(&checkpoints[group[0]].1, checkpoint));
            match group {
                Some(group) => group.push(index),
                None => groups.push(vec![index]),
            }
        }
        let caches = groups
            .iter()
            .map(|group| {
                cache_root
                    .map(|root| FeatureCache::new(root, checkpoints[group[0]].1.model.backbone()))
            })
            .collect();
        Ok(Self {
            checkpoints,
            groups,
            caches,
        })
    }

    /// Number of checkpoints.
    pub fn len(&self) -> usize {
        self.checkpoints.len()
    }

    /// Every checkpoint's step scores of `items`, checkpoint by checkpoint, with a progress bar
    /// per backbone read; `label` names the items in the bar and in errors.
    pub fn score(
        &self,
        items: &[Trajectory],
        batch_size: usize,
        label: &str,
    ) -> Result<Vec<Vec<StepScores>>> {
        let mut scores = vec![Vec::new(); self.len()];
        for (group, cache) in self.groups.iter().zip(&self.caches) {
            let (_, first) = &self.checkpoints[group[0]];
            let encoded = encode_all(&first.tokenizer, items, &first.config.encoding)
                .map_err(|e| anyhow!("{label} {e}"))?;
            let models: Vec<_> = group
                .iter()
                .map(|&i| &self.checkpoints[i].1.model)
                .collect();
            let bar = progress::bar(encoded.len(), label);
            let pad_id = first.tokenizer.pad_id();
            let progress = |done: usize| bar.set_position(done as u64);
            let (features, _) = step_features(
                cache.as_ref(),
                &first.model,
                &encoded,
                pad_id,
                batch_size,
                progress,
            )?;
            let group_scores = score_features(&models, &features, batch_size);
            bar.finish_and_clear();
            for (&index, model_scores) in group.iter().zip(group_scores) {
                check_finite(&model_scores).map_err(|e| anyhow!("{label} {e}"))?;
                scores[index] = model_scores;
            }
        }
        Ok(scores)
    }

    /// The directory of checkpoint `index`.
    pub fn dir(&self, index: usize) -> &Path {
        &self.checkpoints[index].0
    }
}

/// Whether `b` encodes items and reads them exactly as `a` does.
fn reads_like(a: &Checkpoint, b: &Checkpoint) -> bool {
    let encoding = |c: &Checkpoint| serde_json::to_value(&c.config.encoding).ok();
    encoding(a) == encoding(b)
        && a.tokenizer.to_json() == b.tokenizer.to_json()
        && a.model.shares_backbone_with(&b.model)
}
