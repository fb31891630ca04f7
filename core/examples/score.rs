//! Scores every step of a trajectory with a trained checkpoint and prints the selection rule's
//! verdict: `cargo run -p actprm-core --example score -- [CHECKPOINT]` (by default the
//! checkpoint of the README's quick start). README.md shows this file.

use std::path::Path;

use actprm_core::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick_start = "runs/quickstart-actprm/checkpoint".to_owned();
    let dir = std::env::args().nth(1).unwrap_or(quick_start);
    let device = Device::flex();
    let checkpoint = CheckpointFiles::read_dir(Path::new(&dir))?.load(&device)?;
    let trajectory = Trajectory::new("What is 2 + 3 * 4?", ["3 * 4 = 12", "2 + 12 = 14"]);
    let scores = checkpoint.score(&[trajectory])?; // per-step mean, std and every head
    let verdict = checkpoint.config.selection.decide(&scores[0]); // trusted, or selected and why
    let (mean, std) = (&scores[0].mean, &scores[0].std);
    println!("mean {mean:?}, std {std:?}: {verdict:?}");
    Ok(())
}
