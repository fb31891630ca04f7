//! The subcommands.

mod bench;
mod eval;
mod experiment;
mod export_heads;
mod filter;
mod halve_backbone;
mod label;
mod merge;
mod score;
mod sweep;

use anyhow::Result;

use crate::backend::Backend;
use crate::cli::{Cli, Command, EvalCommand};
use crate::compute_pool;

/// Runs the command `cli` names; those that compute run on a thread of the compute pool
/// (`compute_pool.rs`).
pub fn dispatch(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Label(args) => return label::label(args),
        Command::HalveBackbone(args) => return halve_backbone::halve_backbone(args),
        Command::Merge(args) => return merge::merge(args),
        _ => {}
    }
    let backend = Backend::select(cli.device)?;
    eprintln!("backend: {}", backend.description);
    let threads = match &cli.command {
        Command::Bench(args) => args.threads,
        _ => None,
    };
    compute_pool::run_on_pool(threads, move || match cli.command {
        Command::Run(args) => experiment::run(&args, &backend),
        Command::Train(args) => experiment::train(&args, &backend),
        Command::Score(args) => score::score(&args, &backend),
        Command::Filter(args) => filter::filter(&args, &backend),
        Command::ExportHeads(args) => export_heads::export_heads(&args, &backend),
        Command::Eval(EvalCommand::Processbench(args)) => eval::processbench(&args, &backend),
        Command::Eval(EvalCommand::Synthetic(args)) => eval::synthetic(&args, &backend),
        Command::Eval(EvalCommand::Prmbench(args)) => eval::prmbench(&args, &backend),
        Command::Sweep(args) => sweep::sweep(&args, &backend),
        Command::Bench(args) => bench::bench(&args, &backend),
        Command::Label(_) | Command::HalveBackbone(_) | Command::Merge(_) => {
            unreachable!("labelling, halving and merging need no backend and returned above")
        }
    })?
}
