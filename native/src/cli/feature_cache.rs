//! Where a frozen backbone's step features are cached: shared by the commands that read them.

use std::path::PathBuf;

use clap::Args;

/// `--feature-cache` and `--no-feature-cache`.
#[derive(Debug, Clone, Args)]
pub struct FeatureCacheArgs {
    /// Where a frozen backbone's step features are cached, by content, so that every later
    /// run, seed, strategy, sweep and evaluation reading the same trajectories with the same
    /// backbone weights reuses them. A long read is stored 4,096 trajectories at a time: a run
    /// stopped part of the way keeps what it read [default: ~/.cache/actprm/features].
    #[arg(long)]
    pub feature_cache: Option<PathBuf>,
    /// Compute step features afresh and do not cache them.
    #[arg(long, conflicts_with = "feature_cache")]
    pub no_feature_cache: bool,
}

impl FeatureCacheArgs {
    /// Where step features are cached, or `None` with `--no-feature-cache`.
    pub fn root(&self) -> Option<PathBuf> {
        (!self.no_feature_cache).then(|| {
            self.feature_cache
                .clone()
                .unwrap_or_else(crate::feature_cache::default_root)
        })
    }
}
