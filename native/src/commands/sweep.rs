//! `actprm sweep`: a grid of pool experiments run in parallel, each appended to results.jsonl
//! as it finishes, then the chart and the table redrawn from every result.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actprm_core::NamedChoice;
use actprm_core::active;
use actprm_core::clipping::Clipping;
use actprm_core::encoding::StepReading;
use actprm_core::eval::Evaluation;
use actprm_core::eval::threshold::choose_threshold;
use actprm_core::judge::StoredLabelJudge;
use actprm_core::loss_steps::LossSteps;
use actprm_core::model::StepFeature;
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::Strategy;
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use serde_json::json;

use crate::backend::Backend;
use crate::cli::{ModelArgs, StrategyArg, SweepArgs, refuse_repeats};
use crate::dir_lock::DirLock;
use crate::identity::differences;
use crate::pass_plan::PassPlan;
use crate::pool_experiment::{ExperimentData, load_pretrained, training_config};
use crate::progress;
use crate::report_text::human;
use crate::stdout::outln;
use crate::sweep::benchmarks::{BenchmarkSets, Benchmarks};
use crate::sweep::plan::Planned;
use crate::sweep::results::{ExperimentResult, ResultsFile};
use crate::sweep::spec::{Spec, feature_layers, independent_grid};
use crate::sweep::{chart, groups, plan, table};
use crate::tasks::task_settings;

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
    refuse_repeats("--seeds", &args.seeds)?;
    refuse_repeats("--heads", &args.heads)?;
    let strategies: Vec<String> = args.strategies.iter().map(|s| s.name()).collect();
    refuse_repeats("--strategies", &strategies)?;
    refuse_repeats("--delta-pred", &args.delta_pred)?;
    refuse_repeats("--delta-std", &args.delta_std)?;
    refuse_repeats("--entropy-thresholds", &args.entropy_thresholds)?;
    refuse_repeats("--bald-thresholds", &args.bald_thresholds)?;
    refuse_repeats("--random-fractions", &args.random_fractions)?;
    refuse_repeats("--feature-layers", &args.feature_layers)?;
    let asked = |strategy| args.strategies.contains(&strategy);
    if asked(StrategyArg::ActprmOffline) && !asked(StrategyArg::Actprm) {
        bail!(
            "actprm-offline trains on what each actprm experiment labelled: add actprm to \
             --strategies"
        );
    }
    Ok(())
}

/// Settings sweep.json gained after sweeps were first recorded, each with the value that the
/// sweeps recorded without it ran with.
fn settings_added_later() -> [(&'static str, serde_json::Value); 15] {
    [
        ("step_reading", json!(StepReading::Whole.name())),
        ("error_weight", json!(1.0)),
        ("warmup_updates", json!(0)),
        ("weight_decay", json!(0.01_f32)),
        ("clip_norm", json!(1.0_f32)),
        ("clipping", json!(Clipping::PerParameter.name())),
        ("backbone_learning_rate", json!(null)),
        ("processbench", json!(null)),
        ("prmbench", json!(null)),
        ("feature_layer", json!(null)),
        ("lora", json!(null)),
        ("standardise_features", json!(false)),
        ("loss_steps", json!(LossSteps::All.name())),
        ("step_feature", json!(StepFeature::Separator.name())),
        ("epochs", json!(1)),
    ]
}

/// Gives `stored` settings the value of each setting they predate; true when they lacked any.
fn fill_settings_added_later(stored: &mut serde_json::Value) -> bool {
    let Some(map) = stored.as_object_mut() else {
        return false;
    };
    let mut filled = false;
    for (key, value) in settings_added_later() {
        if !map.contains_key(key) {
            map.insert(key.to_string(), value);
            filled = true;
        }
    }
    filled
}

/// Records the settings every experiment shares in sweep.json, or checks them against the
/// ones already there: results made with other data or another model must not be mixed.
fn check_settings(args: &SweepArgs) -> Result<()> {
    let mut settings = json!({
        "pool_size": args.pool.pool_size,
        "eval_size": args.pool.eval_size,
        "judge_tokens": args.pool.judge_tokens,
        "d_model": args.model.d_model,
        "layers": args.model.layers,
        "batch_size": args.model.batch_size,
        "epochs": args.model.epochs,
        "learning_rate": args.model.learning_rate(),
        "backbone_learning_rate": args.model.backbone_learning_rate(),
        "backbone": args.model.backbone.name(),
        "freeze_backbone": args.model.freeze_backbone,
        "feature_layer": args.model.feature_layer,
        "step_feature": args.model.step_feature.name(),
        "standardise_features": args.model.standardise_features,
        "lora": args.model.lora(),
        "step_reading": args.model.step_reading.name(),
        "anchor_weight": args.model.anchor_weight,
        "error_weight": args.model.error_weight,
        "loss_steps": args.model.loss_steps.name(),
        "weight_decay": args.model.weight_decay,
        "clip_norm": args.model.clip_norm,
        "clipping": args.model.clipping.name(),
        "tau": args.tau,
        "warmup_updates": args.warmup_updates,
        "processbench": args.benchmarks.processbench,
        "prmbench": args.benchmarks.prmbench,
    });
    let task = task_settings(&args.pool)?;
    settings
        .as_object_mut()
        .expect("the settings are an object")
        .extend(
            task.as_object()
                .expect("task settings are an object")
                .clone(),
        );
    let path = args.out.join("sweep.json");
    match fs::read_to_string(&path) {
        Ok(text) => {
            let mut stored: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            let filled = fill_settings_added_later(&mut stored);
            if stored != settings && args.force {
                eprintln!(
                    "--force: deleting the results of {} made with other settings:\n{}",
                    args.out.display(),
                    differences(&stored, &settings)
                );
                ResultsFile::in_dir(&args.out).delete()?;
                return write(&path, serde_json::to_string_pretty(&settings)?.as_bytes());
            }
            if stored != settings {
                bail!(
                    "{} holds results made with other settings:\n{}\nChoose another --out, \
                     rerun with the stored settings, or pass --force to delete them and start \
                     again",
                    path.display(),
                    differences(&stored, &settings)
                );
            }
            if filled {
                write(&path, serde_json::to_string_pretty(&settings)?.as_bytes())?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write(&path, serde_json::to_string_pretty(&settings)?.as_bytes())
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
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

/// Runs `planned` on `jobs` threads, appending each result to `file` and `results` as it
/// finishes. The first error stops the other experiments at their next mini-batch.
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
    let outcomes: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.min(total))
            .map(|_| {
                let device = backend.device.clone();
                scope.spawn(|| worker(device))
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

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(write_whole_file(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_recorded_before_a_setting_existed_read_as_the_value_they_ran_with() {
        let mut stored = json!({"pool_size": 100, "tau": 0.5});
        assert!(fill_settings_added_later(&mut stored));
        assert_eq!(
            stored,
            json!({
                "pool_size": 100,
                "tau": 0.5,
                "step_reading": "whole",
                "error_weight": 1.0,
                "warmup_updates": 0,
                "weight_decay": 0.01_f32,
                "clip_norm": 1.0,
                "clipping": "per-parameter",
                "backbone_learning_rate": null,
                "processbench": null,
                "prmbench": null,
                "feature_layer": null,
                "lora": null,
                "standardise_features": false,
                "loss_steps": "all",
                "step_feature": "separator",
                "epochs": 1,
            })
        );
        let mut recorded = json!({
            "step_reading": "prefix",
            "error_weight": 10.0,
            "warmup_updates": 100,
            "weight_decay": 0.0,
            "clip_norm": 2.0,
            "clipping": "global",
            "backbone_learning_rate": 2e-5,
            "processbench": "processbench",
            "prmbench": null,
            "feature_layer": 22,
            "lora": {"rank": 8, "alpha": 16.0, "targets": ["q_proj"], "seed": 0},
            "standardise_features": true,
            "loss_steps": "last",
            "step_feature": "separator-and-mean",
            "epochs": 3,
        });
        let before = recorded.clone();
        assert!(!fill_settings_added_later(&mut recorded));
        assert_eq!(recorded, before, "recorded values are kept");
    }
}
