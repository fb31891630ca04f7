//! `actprm run` and `actprm train`: one pass over a synthetic pool, with active selection or
//! with every trajectory labelled, then evaluation on held-out problems.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use actprm_core::active::{BatchReport, PassSummary, PoolPass, Strategy};
use actprm_core::checkpoint::{CheckpointConfig, CheckpointFiles};
use actprm_core::encoding::EncodingConfig;
use actprm_core::evaluation::{Evaluation, encode_all, score_encoded};
use actprm_core::judge::StoredLabelJudge;
use actprm_core::loss::LossConfig;
use actprm_core::model::{BackboneConfig, EnsembleHeadsConfig, PrmConfig};
use actprm_core::selection::SelectionConfig;
use actprm_core::synthetic::{SyntheticConfig, generate};
use actprm_core::tokenizer::StepTokenizer;
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use crate::backend::Backend;
use crate::cli::{ExperimentArgs, RunArgs, TrainArgs};
use crate::progress;
use crate::run_dir::RunDir;

/// Seed offset of the held-out set, so it never shares a stream with the pool.
const HELD_OUT_SEED_OFFSET: u64 = 1_000_003;

/// Everything a run was made with, saved as run.json.
#[derive(Debug, Serialize)]
struct RunRecord<'a> {
    strategy: &'a str,
    pool_size: usize,
    eval_size: usize,
    seed: u64,
    backend: &'a str,
    synthetic: &'a SyntheticConfig,
    training: &'a TrainingConfig,
    checkpoint: &'a CheckpointConfig,
}

/// The final numbers, saved as summary.json and printed.
#[derive(Debug, Serialize)]
struct RunSummary {
    strategy: String,
    pass: PassSummary,
    budget_fraction: f64,
    selection_rate_by_tenth: Vec<f64>,
    held_out: Evaluation,
    wall_seconds: f64,
    backend: String,
}

/// `actprm run`: the ActPRM selection rule decides what is labelled.
pub fn run(args: &RunArgs, backend: &Backend) -> Result<()> {
    let selection = SelectionConfig::new()
        .with_delta_pred(args.selection.delta_pred)
        .with_delta_std(args.selection.delta_std)
        .with_tau(args.selection.tau);
    let strategy = Strategy::ActPrm(selection.clone());
    execute(&args.experiment, "actprm", strategy, selection, backend)
}

/// `actprm train`: every trajectory is labelled (the full-data baseline), or a random fraction
/// of them (the random baseline).
pub fn train(args: &TrainArgs, backend: &Backend) -> Result<()> {
    let selection = SelectionConfig::new().with_tau(args.tau);
    let fraction = args.label_fraction;
    if !(0.0..=1.0).contains(&fraction) {
        bail!("--label-fraction must be in [0, 1], got {fraction}");
    }
    let (name, strategy) = if fraction < 1.0 {
        let seed = args.experiment.seed;
        ("random", Strategy::Random { fraction, seed })
    } else {
        ("full", Strategy::LabelAll)
    };
    execute(&args.experiment, name, strategy, selection, backend)
}

fn execute(
    args: &ExperimentArgs,
    name: &str,
    strategy: Strategy,
    selection: SelectionConfig,
    backend: &Backend,
) -> Result<()> {
    let started = Instant::now();
    let device = &backend.device;
    let synthetic = args.synthetic.config();
    let tokenizer = StepTokenizer::for_synthetic(&synthetic);
    let encoding = EncodingConfig::new();
    let pool = generate(&synthetic, args.seed, args.pool_size);
    let held_out = generate(
        &synthetic,
        args.seed.wrapping_add(HELD_OUT_SEED_OFFSET),
        args.eval_size,
    );
    let encode = |set: &[actprm_core::Trajectory], what: &str| {
        encode_all(&tokenizer, set, &encoding)
            .map_err(|(index, e)| anyhow!("{what} trajectory {index}: {e}"))
    };
    let (pool_encoded, held_out_encoded) = (encode(&pool, "pool")?, encode(&held_out, "held-out")?);

    let checkpoint_config = CheckpointConfig::new(
        PrmConfig::new(
            BackboneConfig::new(tokenizer.vocab_size())
                .with_d_model(args.d_model)
                .with_n_layers(args.layers)
                .with_max_positions(encoding.max_positions),
        )
        .with_heads(
            EnsembleHeadsConfig::new()
                .with_num_heads(args.heads)
                .with_seed(args.seed),
        ),
        encoding.clone(),
    )
    .with_selection(selection.clone());
    let training = TrainingConfig::new()
        .with_batch_size(args.batch_size)
        .with_learning_rate(args.learning_rate)
        .with_loss(LossConfig::new().with_anchor_weight(args.anchor_weight))
        .with_seed(args.seed);

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(name));
    let mut run_dir = RunDir::create(&out)?;
    run_dir.write_json(
        "run.json",
        &RunRecord {
            strategy: name,
            pool_size: args.pool_size,
            eval_size: args.eval_size,
            seed: args.seed,
            backend: &backend.description,
            synthetic: &synthetic,
            training: &training,
            checkpoint: &checkpoint_config,
        },
    )?;

    device.seed(args.seed);
    let model = checkpoint_config.model.init(device);
    let pass = PoolPass {
        pool: &pool,
        encoded: &pool_encoded,
        strategy,
        judge: StoredLabelJudge,
        batch_size: args.batch_size,
        pad_id: tokenizer.pad_id(),
    };
    let num_batches = pass.num_batches();
    let mut trainer = PrmTrainer::new(model, &training, num_batches, device);
    println!(
        "{name}: one pass over {} synthetic trajectories in {num_batches} mini-batches of {} (E = {} heads)",
        pool.len(),
        args.batch_size,
        args.heads
    );

    let bar = progress::bar(num_batches, "pool");
    let mut rates = Vec::with_capacity(num_batches);
    let summary = pass.run(
        &mut trainer,
        |report: &BatchReport, trainer: &PrmTrainer| -> Result<()> {
            run_dir.log(report)?;
            rates.push(report.selection_rate());
            bar.inc(1);
            bar.set_message(format!(
                "selected {:>3.0}% | labels {} | loss {}",
                100.0 * report.selection_rate(),
                report.labels_consumed,
                report
                    .update
                    .map_or("skipped".into(), |u| format!("{:.3}", u.loss)),
            ));
            if args.checkpoint_every > 0 && (report.batch + 1) % args.checkpoint_every == 0 {
                let files =
                    CheckpointFiles::from_model(trainer.model(), &checkpoint_config, &tokenizer)?;
                run_dir.save_checkpoint(&files)?;
            }
            Ok(())
        },
    )?;
    bar.finish_and_clear();

    let model = trainer.into_model();
    let checkpoint_dir = run_dir.save_checkpoint(&CheckpointFiles::from_model(
        &model,
        &checkpoint_config,
        &tokenizer,
    )?)?;
    let eval_bar = progress::bar(held_out.len(), "held-out");
    let scores = score_encoded(&model, &held_out_encoded, tokenizer.pad_id(), 64, |done| {
        eval_bar.set_position(done as u64)
    });
    eval_bar.finish_and_clear();
    let evaluation = Evaluation::from_scores(&held_out, &scores, selection.tau);

    let result = RunSummary {
        strategy: name.to_string(),
        pass: summary,
        budget_fraction: summary.budget_fraction(),
        selection_rate_by_tenth: by_tenth(&rates),
        held_out: evaluation,
        wall_seconds: started.elapsed().as_secs_f64(),
        backend: backend.description.clone(),
    };
    run_dir.write_json("summary.json", &result)?;
    print_summary(&result, held_out.len(), &checkpoint_dir, run_dir.root());
    Ok(())
}

/// Mean selection rate over each tenth of the pass.
fn by_tenth(rates: &[f64]) -> Vec<f64> {
    let parts = rates.len().min(10);
    (0..parts)
        .map(|i| {
            let part = &rates[i * rates.len() / parts..(i + 1) * rates.len() / parts];
            part.iter().sum::<f64>() / part.len() as f64
        })
        .collect()
}

fn print_summary(
    result: &RunSummary,
    held_out: usize,
    checkpoint: &std::path::Path,
    root: &std::path::Path,
) {
    let pass = &result.pass;
    let f1 = &result.held_out.first_error;
    let tenths: Vec<String> = result
        .selection_rate_by_tenth
        .iter()
        .map(|r| format!("{:.0}%", 100.0 * r))
        .collect();
    println!(
        "labels used: {} of {} pool trajectories ({:.1}%), {} labelled steps, {} updates",
        pass.labels_consumed,
        pass.pool_size,
        100.0 * result.budget_fraction,
        pass.steps_labelled,
        pass.updates
    );
    println!("selection rate by tenth of the pass: {}", tenths.join(" "));
    println!(
        "held-out F1 on {held_out} synthetic trajectories: {:.3} (erroneous {:.3} of {}, correct {:.3} of {}); step accuracy {:.3}",
        f1.f1,
        f1.erroneous_accuracy,
        f1.num_erroneous,
        f1.correct_accuracy,
        f1.num_correct,
        result.held_out.step_accuracy
    );
    println!(
        "wall time: {}",
        human(Duration::from_secs_f64(result.wall_seconds))
    );
    println!(
        "checkpoint: {}\nrun directory: {}",
        checkpoint.display(),
        root.display()
    );
}

fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}m {:02}s", seconds / 60, seconds % 60)
}
