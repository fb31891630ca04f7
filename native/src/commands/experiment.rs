//! `actprm run` and `actprm train`: one pass over a synthetic pool, with a selection strategy
//! or with every trajectory labelled, then evaluation on held-out problems.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use actprm_core::active::PassProgress;
use actprm_core::checkpoint::CheckpointConfig;
use actprm_core::eval::Evaluation;
use actprm_core::eval::baselines::TrivialBaselines;
use actprm_core::judge::{Judge, StoredLabelJudge};
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use actprm_core::trainer::{PrmTrainer, TrainingConfig};
use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::backend::Backend;
use crate::checkpoint_dir::load_checkpoint_files;
use crate::cli::{ExperimentArgs, RunArgs, TrainArgs};
use crate::judge::buyer::JudgeSettings;
use crate::judge::tally::Tally;
use crate::judge::{ServedJudge, open_buyer};
use crate::labelled_run::{LabelledRun, PoolRecord};
use crate::pass_plan::{PassPlan, PassWalk, ResumedPass};
use crate::pool_experiment::{ExperimentData, load_pretrained, training_config};
use crate::progress;
use crate::resume_state::{PassState, ResumeState};
use crate::run_checkpoint::RunCheckpoints;
use crate::run_dir::RunDir;
use crate::run_summary::RunSummary;
use crate::stdout::outln;
use crate::tasks;

/// Everything a run was made with, saved as run.json.
#[derive(Debug, Serialize)]
struct RunRecord<'a> {
    strategy: &'a Strategy,
    pool_size: usize,
    eval_size: usize,
    seed: u64,
    /// Updates made on every trajectory before the strategy may trust any.
    warmup_updates: usize,
    /// Earlier labels each update rehearses (absent: none).
    #[serde(skip_serializing_if = "is_zero")]
    rehearse: usize,
    /// The labels bought last that they are drawn from (absent: every label bought).
    #[serde(skip_serializing_if = "is_zero")]
    rehearse_window: usize,
    /// The label budget that ends the pass, if any.
    max_labels: Option<usize>,
    backend: &'a str,
    task: &'a serde_json::Value,
    training: &'a TrainingConfig,
    checkpoint: &'a CheckpointConfig,
    /// The served judge, when one labels the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    judge: Option<JudgeSettings<'a>>,
}

/// Whether `count` is 0, so that a run record without the setting reads as before it existed.
fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// `actprm run`: a score-based strategy (the ActPRM rule by default) decides what is labelled.
pub fn run(args: &RunArgs, backend: &Backend) -> Result<()> {
    if args.experiment.heads == 1 && args.strategy.needs_several_heads() {
        bail!(
            "--strategy {} selects by how much the heads disagree, and one head never does: \
             with --heads 1 it would select nothing after the warm-up; use --heads 2 or more",
            args.strategy.name()
        );
    }
    let selection = SelectionConfig::new()
        .with_delta_pred(args.selection.delta_pred)
        .with_delta_std(args.selection.delta_std)
        .with_tau(args.selection.tau);
    let strategy = args
        .strategy
        .score_based(selection.clone(), args.threshold, args.per_batch)
        .context("`actprm run` takes a score-based strategy; random and full are `actprm train` baselines (random with --label-fraction)")?;
    execute(
        &args.experiment,
        strategy,
        selection,
        args.warmup_updates,
        backend,
    )
}

/// `actprm train`: every trajectory is labelled (the full-data baseline), a random fraction of
/// them (the random baselines), or those an earlier `actprm run` labelled.
pub fn train(args: &TrainArgs, backend: &Backend) -> Result<()> {
    let selection = SelectionConfig::new().with_tau(args.tau);
    let fraction = args.label_fraction;
    if !(0.0..=1.0).contains(&fraction) {
        bail!("--label-fraction must be in [0, 1], got {fraction}");
    }
    let pool_size = args.experiment.pool.pool_size;
    let expected = fraction * pool_size as f64;
    if expected < 1.0 {
        bail!(
            "--label-fraction {fraction:e} of a pool of {pool_size} expects {expected:.3e} \
             labels, fewer than one, so nothing would be trained; give at least {:.3e}",
            1.0 / pool_size as f64
        );
    }
    let seed = args.experiment.seed;
    if let Some(run) = &args.labels_of {
        let pool = PoolRecord {
            task: tasks::task_settings(&args.experiment.pool)?,
            pool_size,
            eval_size: args.experiment.pool.eval_size,
            seed,
        };
        let labelled = LabelledRun::read(run)?.labelled_in(&pool)?;
        let strategy = Strategy::ActprmOffline { labelled };
        return execute(&args.experiment, strategy, selection, 0, backend);
    }
    let strategy = match (fraction < 1.0, args.offline) {
        (true, false) => Strategy::Random { fraction, seed },
        (true, true) if args.experiment.max_labels.is_some() => bail!(
            "--offline draws the trajectories it labels before the pass, at --label-fraction: \
             drop --max-labels"
        ),
        (true, true) => Strategy::RandomOffline { fraction, seed },
        (false, false) => Strategy::Full,
        (false, true) => bail!(
            "--offline trains on a random fraction of the pool drawn before the pass: give \
             --label-fraction below 1"
        ),
    };
    execute(&args.experiment, strategy, selection, 0, backend)
}

fn execute(
    args: &ExperimentArgs,
    strategy: Strategy,
    selection: SelectionConfig,
    warmup_updates: usize,
    backend: &Backend,
) -> Result<()> {
    args.model.refuse_runaway_decay()?;
    args.rehearsal.refuse_unusable()?;
    if args.rehearsal.rehearse > 0 && strategy.labels_all_it_walks() {
        bail!(
            "--rehearse adds earlier labels to mini-batches of which a part is labelled, and {} \
             labels every trajectory it walks: drop --rehearse",
            strategy.name()
        );
    }
    let started = Instant::now();
    let name = strategy.name();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(name));
    RunDir::ensure_free(&out, args.force)?;
    let device = &backend.device;
    let pretrained = load_pretrained(&args.model, device)?;
    let data = ExperimentData::new(
        &args.pool,
        &args.model,
        pretrained.as_ref(),
        args.seed,
        device,
    )?;
    let checkpoint_config =
        data.checkpoint_config(&args.model, args.heads, args.seed, selection.clone());
    let checkpoints = RunCheckpoints::for_run(&args.model, pretrained.as_ref())?;
    let training = training_config(&args.model, args.seed);
    let opened = RunDir::open(&out, args.force)?;
    let mut served = match args.judge.served() {
        Some(_) => Some(ServedJudge::new(open_buyer(
            &args.judge,
            &out,
            args.max_labels,
        )?)),
        None => {
            data.require_labelled_pool()?;
            None
        }
    };
    let (mut run_dir, resume) = opened.begin(&RunRecord {
        strategy: &strategy,
        pool_size: args.pool.pool_size,
        eval_size: args.pool.eval_size,
        seed: args.seed,
        warmup_updates,
        rehearse: args.rehearsal.rehearse,
        rehearse_window: args.rehearsal.rehearse_window,
        max_labels: args.max_labels,
        backend: &backend.description,
        task: &data.task,
        training: &training,
        checkpoint: &checkpoint_config,
        judge: served.as_ref().map(|served| served.buyer().settings()),
    })?;

    let walk = PassWalk::of(&strategy, data.pool.len(), &training);
    let num_batches = walk.batches;
    outln!(
        "{name}: {}",
        walk.describe(data.pool.len(), training.batch_size, args.heads)
    )?;
    let tally = served.as_ref().map(ServedJudge::tally);
    let Resumed {
        start,
        mut last_saved,
        worked_before,
    } = Resumed::from(resume, &run_dir, tally.as_ref(), backend)?;
    let worked = || worked_before + started.elapsed().as_secs_f64();
    let bar = progress::bar(num_batches, "pool");
    bar.set_position(last_saved.unwrap_or(0) as u64);
    let mut stored = StoredLabelJudge;
    let judge: &mut dyn Judge = match served.as_mut() {
        Some(served) => served,
        None => &mut stored,
    };
    let trained = data.train(
        &checkpoint_config,
        &training,
        PassPlan {
            strategy,
            label_budget: args.max_labels,
            warmup_updates,
            rehearsal: args.rehearsal.with_seed(training.seed),
        },
        judge,
        start,
        device,
        |report, trainer: &PrmTrainer, progress: &PassProgress| {
            // A pass whose judge has answered nothing stops before the mini-batch is logged or
            // saved, so that the run is not finished and a rerun asks for its labels again.
            if let Some(tally) = &tally {
                tally.borrow().ensure_answered()?;
            }
            run_dir.log(report)?;
            bar.inc(1);
            let judged = tally.as_ref().map_or(String::new(), |tally| {
                format!(" | judge: {}", tally.borrow().progress_message())
            });
            bar.set_message(format!(
                "selected {:>3.0}% | labels {} | loss {}{judged}",
                100.0 * report.selection_rate(),
                report.labels_consumed,
                report
                    .update
                    .map_or("skipped".into(), |u| format!("{:.3}", u.loss)),
            ));
            if args.checkpoint_every > 0 && (report.batch + 1) % args.checkpoint_every == 0 {
                let checkpoint =
                    checkpoints.files(trainer.model(), &checkpoint_config, &data.tokenizer)?;
                run_dir.save_checkpoint(&checkpoint)?;
                run_dir.save_resume_state(&ResumeState {
                    checkpoint,
                    trainer: trainer.state()?,
                    pass: PassState {
                        progress: progress.clone(),
                        judge: tally.as_ref().map(|tally| tally.borrow().clone()),
                        elapsed_seconds: worked(),
                    },
                })?;
                last_saved = Some(report.batch + 1);
            }
            Ok(())
        },
    );
    bar.finish_and_clear();
    let (model, ledger) = trained.map_err(|error| match last_saved {
        Some(batch) => error.context(format!(
            "training stopped; the last good checkpoint, of mini-batch {batch}, is kept in {}",
            run_dir.root().join("checkpoint").display()
        )),
        None => error.context("training stopped before its first checkpoint"),
    })?;
    if let Some(budget) = args.max_labels.filter(|&b| ledger.labels_consumed >= b) {
        let seen: usize = ledger.seen_by_tenth.iter().sum();
        outln!(
            "the label budget of {budget} ended the pass after {seen} of {} pool trajectories",
            data.pool.len()
        )?;
    }

    let threshold = data.choose_threshold(&model);
    let checkpoint_config = checkpoint_config.with_threshold(threshold);
    let checkpoint_dir = run_dir.save_checkpoint(&checkpoints.files(
        &model,
        &checkpoint_config,
        &data.tokenizer,
    )?)?;
    let eval_bar = progress::bar(data.test.len(), "held-out");
    let scores = data.score(&model, &data.test, |done| {
        eval_bar.set_position(done as u64);
    });
    eval_bar.finish_and_clear();
    let evaluate = |tau| Evaluation::from_scores(&data.test.trajectories, &scores, tau);

    let result = RunSummary {
        strategy: name.to_string(),
        judge: tally.as_ref().map(|tally| tally.borrow().totals()),
        budget_fraction: ledger.budget_fraction(),
        selection_rate_by_tenth: ledger.selection_rate_by_tenth(),
        ledger,
        held_out: evaluate(selection.tau),
        threshold,
        held_out_at_threshold: threshold.map(|chosen| evaluate(chosen.tau)),
        baselines: TrivialBaselines::of(&data.test.trajectories),
        wall_seconds: worked(),
        backend: backend.description.clone(),
    };
    run_dir.finish(&result)?;
    result.print(&data.test_name, &checkpoint_dir, run_dir.root())?;
    if let Some(warning) = tally
        .as_ref()
        .and_then(|tally| tally.borrow().failure_warning())
    {
        eprintln!("warning: {warning}");
    }
    if let Some(reason) = served
        .as_ref()
        .and_then(|served| served.buyer().stop_reason())
    {
        bail!(
            "the judge stopped the pass: {reason}. The model trained until then is saved, and \
             every answer bought is in the ledger"
        );
    }
    Ok(())
}

/// Where a pass starts: afresh, or where an interrupted run saved its state.
struct Resumed {
    /// The model, trainer and pass progress saved, if any.
    start: Option<ResumedPass>,
    /// The mini-batches the saved state had made.
    last_saved: Option<usize>,
    /// Seconds the interrupted run had worked.
    worked_before: f64,
}

impl Resumed {
    /// The start that `state`, saved in `run_dir`, gives a pass, with the judge's `tally`
    /// restored to what it had counted.
    fn from(
        state: Option<ResumeState>,
        run_dir: &RunDir,
        tally: Option<&Rc<RefCell<Tally>>>,
        backend: &Backend,
    ) -> Result<Self> {
        let Some(state) = state else {
            return Ok(Self {
                start: None,
                last_saved: None,
                worked_before: 0.0,
            });
        };
        let next = state.pass.progress.next_batch;
        outln!(
            "going on from mini-batch {next}, where the interrupted run in {} saved its state \
             (--force starts over)",
            run_dir.root().display()
        )?;
        if let (Some(tally), Some(saved)) = (tally, state.pass.judge) {
            *tally.borrow_mut() = saved;
        }
        let resume_dir = run_dir.root().join("resume");
        let model = load_checkpoint_files(&state.checkpoint, &resume_dir, backend)?.model;
        Ok(Self {
            start: Some(ResumedPass {
                model,
                trainer: state.trainer,
                progress: state.pass.progress,
            }),
            last_saved: Some(next),
            worked_before: state.pass.elapsed_seconds,
        })
    }
}
