//! `actprm`: train, score and evaluate ensemble process reward models with ActPRM's
//! uncertainty-driven active learning.

mod backend;
mod bench;
mod checkpoint_set;
mod cli;
mod commands;
mod data_files;
mod pool_experiment;
mod progress;
mod run_dir;
mod sweep;
mod tasks;

use clap::Parser;

/// The CPU backend allocates a fresh buffer for nearly every tensor operation; mimalloc reuses
/// freed pages where the system allocator maps and unmaps large blocks, paying a page fault per
/// page each time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    commands::dispatch(cli)
}
