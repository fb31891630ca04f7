//! `actprm`: train, score and evaluate ensemble process reward models with ActPRM's
//! uncertainty-driven active learning.

mod allocator;
mod backend;
mod bench;
mod checkpoint_dir;
mod checkpoint_set;
mod cli;
mod commands;
mod compute_pool;
mod data_files;
mod dir_lock;
mod encoded_set;
mod feature_cache;
mod identity;
mod judge;
mod labelled_run;
mod pass_plan;
mod pool_experiment;
mod progress;
mod report_text;
mod resume_state;
mod run_checkpoint;
mod run_dir;
mod run_summary;
mod shard;
mod stdout;
mod sweep;
mod tasks;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = cli::Cli::parse();
    backend::pin_default_device(cli.device);
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader took what it wanted: nothing is wrong.
        Err(error) if stdout::is_closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:?}");
            ExitCode::FAILURE
        }
    }
}
