//! The pool `actprm filter` reads: a data file streamed, or synthetic problems generated as
//! they are needed, cut to this run's shard.

use actprm_core::Trajectory;
use actprm_core::tasks::synthetic::{SyntheticConfig, items};
use anyhow::{Result, bail};
use indicatif::ProgressBar;

use crate::cli::FilterArgs;
use crate::data_files::TrajectoryFile;
use crate::progress;
use crate::shard::Shard;

/// Where the pool's trajectories come from, and which of them are this run's.
pub(super) struct Pool<'a> {
    source: Source<'a>,
    /// The shard whose trajectories are scored; all of them without one.
    shard: Option<Shard>,
    /// Trajectories of the whole pool read so far.
    read: usize,
}

enum Source<'a> {
    /// A data file, streamed.
    File(TrajectoryFile),
    /// Synthetic problems generated as they are needed.
    Synthetic {
        items: Box<dyn Iterator<Item = Trajectory> + 'a>,
        count: usize,
    },
}

impl<'a> Pool<'a> {
    pub(super) fn open(
        args: &FilterArgs,
        synthetic: &'a SyntheticConfig,
        shard: Option<Shard>,
    ) -> Result<Self> {
        let source = match &args.data {
            Some(path) => Source::File(TrajectoryFile::open(path, args.format)?),
            None => Source::Synthetic {
                items: Box::new(
                    items(synthetic, args.seed)
                        .take(args.count)
                        .map(|item| item.trajectory),
                ),
                count: args.count,
            },
        };
        Ok(Self {
            source,
            shard,
            read: 0,
        })
    }

    /// Up to `size` more of this run's trajectories with their pool indices; none when the pool
    /// is exhausted.
    pub(super) fn next_chunk(&mut self, size: usize) -> Result<(Vec<usize>, Vec<Trajectory>)> {
        let mut chunk = (Vec::new(), Vec::new());
        while chunk.1.len() < size {
            let next = match &mut self.source {
                Source::File(file) => file.next().transpose()?,
                Source::Synthetic { items, .. } => items.next(),
            };
            let Some(trajectory) = next else { break };
            let index = self.read;
            self.read += 1;
            if self.shard.is_none_or(|shard| shard.owns(&trajectory)) {
                chunk.0.push(index);
                chunk.1.push(trajectory);
            }
        }
        Ok(chunk)
    }

    /// Passes over this run's first `count` trajectories, which a previous run scored.
    pub(super) fn skip(&mut self, count: usize) -> Result<()> {
        let mut skipped = 0;
        while skipped < count {
            let (_, chunk) = self.next_chunk((count - skipped).min(4096))?;
            if chunk.is_empty() {
                bail!(
                    "the pool holds {skipped} trajectories to score but filter.json records \
                     {count} scored; the pool changed since (pass --restart to start again)"
                );
            }
            skipped += chunk.len();
        }
        Ok(())
    }

    /// A bar over the file's bytes, or over the synthetic problems.
    pub(super) fn progress_bar(&self) -> ProgressBar {
        match &self.source {
            Source::File(file) => progress::bytes_bar(file.len(), "filtering"),
            Source::Synthetic { count, .. } => progress::bar(*count, "filtering"),
        }
    }

    /// The bar's position: the file's bytes read, or the synthetic problems generated.
    pub(super) fn position(&self) -> u64 {
        match &self.source {
            Source::File(file) => file.bytes_read(),
            Source::Synthetic { .. } => self.read as u64,
        }
    }
}
