//! `actprm sweep`: a grid of pool experiments run in parallel, each appended to results.jsonl
//! as it finishes, then the chart and the table redrawn from every result.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actprm_core::active::{self, Rehearsal};
use actprm_core::eval::Evaluation;
use actprm_core::eval::threshold::choose_threshold;
use actprm_core::judge::StoredLabelJudge;
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use anyhow::{Result, bail};
use burn::tensor::Device;

use crate::backend::Backend;
use crate::cli::{ModelArgs, StrategyArg, SweepArgs, refuse_repeats};
use crate::compute_pool;
use crate::dir_lock::DirLock;
use crate::pass_plan::PassPlan;
use crate::pool_experiment::{ExperimentData, load_pretrained, training_config};
use crate::progress;
use crate::report_text::human;
use crate::stdout::outln;
use crate::sweep::benchmarks::{BenchmarkSets, Benchmarks};
use crate::sweep::plan::Planned;
use crate::sweep::results::{ExperimentResult, ResultsFile};
use crate::sweep::settings::check_settings;
use crate::sweep::spec::{Spec, feature_layers, independent_grid};
use crate::sweep::{chart, groups, plan, table, write};

/// `actprm sweep`.
pub fn sweep(args: &SweepArgs, backend: &Backend) -> Result<()> {
    let started = Instant::now();
    validate(args)?;
    let _lock = DirLock::acquire(&args.out)?;
    check_settings(args)?;
    let file = ResultsFile::in_dir(&args.out);
    let mut results = file.load()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    // The data are loaded only when an experiment is pending, so that a finished sweep
    // rewrites its table and chart at once.
    let mut data: Option<BTreeMap<DataKey, SeedData>> = None;
    let grid = independent_grid(args);
    let todo = plan::independent(args, &grid, &results);
    if !todo.is_empty() {
        let data = loaded(&mut data, args, backend)?;
        run_all(args, data, todo, jobs, backend, &file, &mut results)?;
    }
    let todo = plan::matched(args, &grid, &results)?;
    if !todo.is_empty() {
        let data = loaded(&mut data, args, backend)?;
        run_all(args, data, todo, jobs, backend, &file, &mut results)?;
    }

    let groups = groups::group(&results);
    let svg = chart::svg(&groups, &args.title)?;
    write(&args.out.join("chart.svg"), svg.as_bytes())?;
    write(&args.out.join("chart.png"), &chart::png(&svg)?)?;
    let mut table = table::markdown(&groups);
    if let Some(benchmarks) = table::benchmarks_markdown(&groups) {
        table = format!("{table}\n{benchmarks}");
    }
    write(&args.out.join("table.md"), table.as_bytes())?;
    outln!("{table}")?;
    outln!(
        "{} experiments in {}; wall time {}",
        results.len(),
        args.out.display(),
        human(started.elapsed())
    )?;
    Ok(())
}

fn validate(args: &SweepArgs) -> Result<()> {
    if args.seeds.is_empty() || args.heads.is_empty() || args.strategies.is_empty() {
        bail!("--seeds, --heads and --strategies each need at least one value");
    }
    args.model.refuse_runaway_decay()?;
    args.rehearsal.refuse_unusable()?;
    refuse_repeats("--seeds", &args.seeds)?;
    refuse_repeats("--heads", &args.heads)?;
    let strategies: Vec<String> = args.strategies.iter().map(|s| s.name()).collect();
    refuse_repeats("--strategies", &strategies)?;
    refuse_repeats("--delta-pred", &args.delta_pred)?;
    refuse_repeats("--delta-std", &args.delta_std)?;
    refuse_repeats("--entropy-thresholds", &args.entropy_thresholds)?;
    refuse_repeats("--bald-thresholds", &args.bald_thresholds)?;
    refuse_repeats("--random-fractions", &args.random_fractions)?;
    refuse_repeats("--per-batch", &args.per_batch)?;
    refuse_repeats("--feature-layers", &args.feature_layers)?;
    let followed = args.strategies.iter().any(|s| s.is_matched_against());
    if args.strategies.contains(&StrategyArg::ActprmOffline) && !followed {
        bail!(
            "actprm-offline trains on what each actprm or actprm-ranked experiment labelled: \
             add actprm or actprm-ranked to --strategies"
        );
    }
    Ok(())
}

/// Which data an experiment reads: its seed's, read at its feature layer ([`Spec::data_key`]).
type DataKey = (u64, Option<usize>);

/// What the experiments of one seed and feature layer read.
struct SeedData {
    data: ExperimentData,
    benchmarks: BenchmarkSets,
}

/// The data of every seed at every feature layer, loaded into `data` the first time they are
/// needed.
fn loaded<'a>(
    data: &'a mut Option<BTreeMap<DataKey, SeedData>>,
    args: &SweepArgs,
    backend: &Backend,
) -> Result<&'a BTreeMap<DataKey, SeedData>> {
    if data.is_none() {
        let benchmarks = Benchmarks::read(&args.benchmarks)?;
        let mut by_key = BTreeMap::new();
        for layer in feature_layers(args) {
            let model = ModelArgs {
                feature_layer: layer.or(args.model.feature_layer),
                ..args.model.clone()
            };
            let pretrained = load_pretrained(&model, &backend.device)?;
            for &seed in &args.seeds {
                // Later seeds read through the first seed's feature cache, so that the rows
                // the seeds share are held once.
                let first = by_key
                    .get(&(args.seeds[0], layer))
                    .map(|first: &SeedData| &first.data);
                let seed_data = match first {
                    Some(first) => first.for_seed(&args.pool, seed)?,
                    None => ExperimentData::new(
                        &args.pool,
                        &model,
                        pretrained.as_ref(),
                        seed,
                        &backend.device,
                    )?,
                };
                seed_data.require_labelled_pool()?;
                let benchmarks = BenchmarkSets::encode(&benchmarks, &seed_data)?;
                let seed_data = SeedData {
                    data: seed_data,
                    benchmarks,
                };
                by_key.insert((seed, layer), seed_data);
            }
        }
        *data = Some(by_key);
    }
    Ok(data.as_ref().expect("loaded above"))
}

/// Runs `planned` on `jobs` threads, each computing on a pool of its own that gets its share of
/// the command's threads, and appends each result to `file` and `results` as it finishes. The
/// first error stops the other experiments at their next mini-batch.
fn run_all(
    args: &SweepArgs,
    data: &BTreeMap<DataKey, SeedData>,
    planned: Vec<Planned>,
    jobs: usize,
    backend: &Backend,
    file: &ResultsFile,
    results: &mut Vec<ExperimentResult>,
) -> Result<()> {
    if planned.is_empty() {
        return Ok(());
    }
    let batches_each =
        active::num_batches(args.pool.pool_size, args.model.batch_size) * args.model.epochs;
    let total = planned.len();
    let bar = progress::bar(total * batches_each, "sweep");
    bar.set_message(format!("0/{total} experiments"));
    let queue = Mutex::new(planned.into_iter().collect::<VecDeque<_>>());
    let finished = Mutex::new((0usize, results));
    let stop = AtomicBool::new(false);
    let worker = |device: Device| -> Result<()> {
        loop {
            let Some(Planned { spec, strategy }) = queue.lock().expect("queue lock").pop_front()
            else {
                return Ok(());
            };
            let seed_data = &data[&spec.data_key()];
            let outcome = experiment(args, seed_data, &spec, strategy, &device, || {
                bar.inc(1);
                if stop.load(Ordering::Relaxed) {
                    bail!("stopped: another experiment failed");
                }
                Ok(())
            });
            let result = match outcome {
                Ok(result) => result,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e.context(spec.label()));
                }
            };
            let mut finished = finished.lock().expect("results lock");
            file.append(&result)?;
            finished.0 += 1;
            progress::println(
                &bar,
                format!(
                    "{}: budget {:.1}%, test F1 {:.3}, validation F1 {:.3}, {}",
                    spec.label(),
                    100.0 * result.budget_fraction,
                    result.test.first_error.f1,
                    result.validation.first_error.f1,
                    human(Duration::from_secs_f64(result.wall_seconds))
                ),
            );
            bar.set_message(format!("{}/{total} experiments", finished.0));
            finished.1.push(result);
        }
    };
    let jobs = jobs.min(total);
    let threads_each = (rayon::current_num_threads() / jobs).max(1);
    let outcomes: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let device = backend.device.clone();
                let worker = &worker;
                scope.spawn(move || {
                    compute_pool::run_on_pool(Some(threads_each), || worker(device))?
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a sweep worker panicked"))
            .collect()
    });
    bar.finish_and_clear();
    outcomes.into_iter().collect()
}

/// Trains and evaluates one experiment, calling `after_batch` after every mini-batch.
fn experiment(
    args: &SweepArgs,
    SeedData { data, benchmarks }: &SeedData,
    spec: &Spec,
    strategy: Strategy,
    device: &Device,
    mut after_batch: impl FnMut() -> Result<()>,
) -> Result<ExperimentResult> {
    let started = Instant::now();
    let recorded = strategy.clone();
    let config = data.checkpoint_config(
        &args.model,
        spec.heads,
        spec.seed,
        SelectionConfig::new().with_tau(args.tau),
    );
    let training = training_config(&args.model, spec.seed);
    let (model, ledger) = data.train(
        &config,
        &training,
        PassPlan {
            warmup_updates: if spec.strategy.reads_scores() {
                args.warmup_updates
            } else {
                0
            },
            rehearsal: match strategy.labels_all_it_walks() {
                true => Rehearsal::NONE,
                false => args.rehearsal.with_seed(training.seed),
            },
            ..PassPlan::new(strategy)
        },
        &mut StoredLabelJudge,
        None,
        device,
        |_, _, _| after_batch(),
    )?;
    let validation = data.score(&model, &data.validation, |_| {});
    let threshold = choose_threshold(&data.validation.trajectories, &validation);
    let test = data.score(&model, &data.test, |_| {});
    let on_test = |tau| Evaluation::from_scores(&data.test.trajectories, &test, tau);
    Ok(ExperimentResult {
        spec: spec.clone(),
        strategy: Some(recorded),
        budget_fraction: ledger.budget_fraction(),
        validation: Evaluation::from_scores(&data.validation.trajectories, &validation, args.tau),
        test: on_test(args.tau),
        threshold,
        test_at_threshold: threshold.map(|chosen| on_test(chosen.tau)),
        benchmarks: benchmarks.evaluate(data, &model, threshold),
        ledger,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}
