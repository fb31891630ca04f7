//! The tasks a pool experiment runs on: where the pool, the validation set and the test set
//! come from, and the vocabulary a backbone trained from scratch reads them with.

use actprm_core::Trajectory;
use actprm_core::data::{read_gsm8k, read_prm800k_stepwise};
use actprm_core::rng::SeededRng;
use actprm_core::tasks::gsm8k::{Gsm8kPoolConfig, derive_trajectories};
use actprm_core::tasks::synthetic::generate;
use actprm_core::tokenizer::{CorpusVocabularyConfig, StepTokenizer};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::{DataFormat, PoolArgs, TaskArg};
use crate::data_files::{open_reader, read_processbench_split, read_trajectories};
use crate::identity::file_digest;

/// What to do when a data set is not where `--data-dir` says.
const MISSING_DATA: &str = "get the data sets with scripts/fetch-data.sh, or set --data-dir";

/// Seed offset of the test set, so it never shares a stream with the pool.
const TEST_SEED_OFFSET: u64 = 1_000_003;
/// Seed offset of the validation set.
const VALIDATION_SEED_OFFSET: u64 = 2_000_003;
/// Seed offset of the order in which `--task mixed` samples its pooled sources.
const MIXED_SEED_OFFSET: u64 = 3_000_017;

/// A task's labelled sets, with the vocabulary a backbone trained from scratch would use.
pub struct TaskSets {
    /// What the test set is, for reports.
    pub test_name: String,
    /// The vocabulary of a backbone trained from scratch.
    pub tokenizer: StepTokenizer,
    pub pool: Vec<Trajectory>,
    /// For choosing thresholds.
    pub validation: Vec<Trajectory>,
    /// For reporting.
    pub test: Vec<Trajectory>,
}

/// The synthetic task's sets: each generated from its own seed.
pub fn synthetic_sets(args: &PoolArgs, seed: u64) -> TaskSets {
    let synthetic = args.synthetic.config();
    let tokenizer = StepTokenizer::for_synthetic(&synthetic);
    let generated =
        |offset: u64, size: usize| generate(&synthetic, seed.wrapping_add(offset), size);
    TaskSets {
        test_name: format!("{} synthetic trajectories", args.eval_size),
        tokenizer,
        pool: generated(0, args.pool_size),
        validation: generated(VALIDATION_SEED_OFFSET, args.eval_size),
        test: generated(TEST_SEED_OFFSET, args.eval_size),
    }
}

/// The GSM8K-derived pool and validation set, and ProcessBench gsm8k as the test set.
pub fn gsm8k_sets(args: &PoolArgs, seed: u64) -> Result<TaskSets> {
    let pool = gsm8k_derived(&args.data_dir(), "train", seed, Some(args.pool_size))?;
    let validation = gsm8k_derived(
        &args.data_dir(),
        "test",
        seed.wrapping_add(VALIDATION_SEED_OFFSET),
        Some(args.eval_size),
    )?;
    with_processbench_test(&args.data_dir(), "gsm8k", pool, validation)
}

/// PRM800K phase 1 stepwise rows: a seeded sample of the training rows as the pool, one of
/// the test rows as the validation set, and ProcessBench math (problems of the same
/// competition) as the test set.
pub fn prm800k_sets(args: &PoolArgs, seed: u64) -> Result<TaskSets> {
    let pool = prm800k_rows(
        &args.data_dir(),
        PRM800K_TRAIN,
        (seed, 0),
        Some(args.pool_size),
    )?;
    let validation = prm800k_rows(
        &args.data_dir(),
        PRM800K_TEST,
        (seed, VALIDATION_SEED_OFFSET),
        Some(args.eval_size),
    )?;
    with_processbench_test(&args.data_dir(), "math", pool, validation)
}

/// Every labelled real text: all PRM800K phase 1 training rows and one GSM8K-derived
/// trajectory per GSM8K training problem, pooled, a seeded sample of them as the pool; a
/// validation set half PRM800K test rows, half derived from GSM8K's test split; ProcessBench
/// gsm8k as the test set.
pub fn mixed_sets(args: &PoolArgs, seed: u64) -> Result<TaskSets> {
    let pool = sample(
        [
            prm800k_rows(&args.data_dir(), PRM800K_TRAIN, (seed, 0), None)?,
            gsm8k_derived(&args.data_dir(), "train", seed, None)?,
        ]
        .concat(),
        args.pool_size,
        seed,
    );
    let gsm8k_share = args.eval_size / 2;
    let validation = [
        prm800k_rows(
            &args.data_dir(),
            PRM800K_TEST,
            (seed, VALIDATION_SEED_OFFSET),
            Some(args.eval_size - gsm8k_share),
        )?,
        gsm8k_derived(
            &args.data_dir(),
            "test",
            seed.wrapping_add(VALIDATION_SEED_OFFSET),
            Some(gsm8k_share),
        )?,
    ]
    .concat();
    with_processbench_test(&args.data_dir(), "gsm8k", pool, validation)
}

/// PRM800K phase 1's training rows.
const PRM800K_TRAIN: &str = "phase1_train_plus.stepwise-critic.jsonl.gz";
/// PRM800K phase 1's test rows.
const PRM800K_TEST: &str = "phase1_test.stepwise-critic.jsonl.gz";

/// The rows of a PRM800K stepwise `file` in an order drawn from the stream `(seed, offset)`,
/// the first `size` of them when given.
fn prm800k_rows(
    data_dir: &Path,
    file: &str,
    (seed, offset): (u64, u64),
    size: Option<usize>,
) -> Result<Vec<Trajectory>> {
    let path = data_dir.join("prm800k_stepwise").join(file);
    let mut rows = read_prm800k_stepwise(
        &path.display().to_string(),
        open_reader(&path).context(MISSING_DATA)?,
    )?;
    SeededRng::derive(seed, offset).shuffle(&mut rows);
    rows.truncate(size.unwrap_or(rows.len()));
    Ok(rows)
}

/// `count` trajectories derived from the problems of GSM8K's `split` (train or test) with
/// `seed`, one per problem when not given.
fn gsm8k_derived(
    data_dir: &Path,
    split: &str,
    seed: u64,
    count: Option<usize>,
) -> Result<Vec<Trajectory>> {
    let path = data_dir.join("gsm8k").join(format!("{split}.jsonl"));
    let problems = read_gsm8k(
        &path.display().to_string(),
        open_reader(&path).context(MISSING_DATA)?,
    )?;
    let count = count.unwrap_or(problems.len());
    Ok(derive_trajectories(
        &problems,
        &Gsm8kPoolConfig::new(),
        seed,
        count,
    ))
}

/// A seeded sample of `size` of the `pooled` trajectories.
fn sample(mut pooled: Vec<Trajectory>, size: usize, seed: u64) -> Vec<Trajectory> {
    SeededRng::derive(seed, MIXED_SEED_OFFSET).shuffle(&mut pooled);
    pooled.truncate(size);
    pooled
}

/// The sets of a task tested on ProcessBench's `split`, with a vocabulary learnt from `pool`.
fn with_processbench_test(
    data_dir: &Path,
    split: &str,
    pool: Vec<Trajectory>,
    validation: Vec<Trajectory>,
) -> Result<TaskSets> {
    let test =
        read_processbench_split(&data_dir.join("processbench"), split).context(MISSING_DATA)?;
    Ok(TaskSets {
        test_name: format!("{} ProcessBench {split} items", test.len()),
        tokenizer: corpus_tokenizer(&pool),
        pool,
        validation,
        test,
    })
}

/// The user's files: a seeded sample of the pool and of the validation set, and the whole test
/// set. The validation and test sets must be labelled; the pool may not be.
pub fn file_sets(args: &PoolArgs, seed: u64) -> Result<TaskSets> {
    let (pool_path, validation_path, test_path) = file_paths(args)?;
    let sample = |path: &Path, size: usize, offset: u64| -> Result<Vec<Trajectory>> {
        let mut rows = read_trajectories(path, DataFormat::Auto)?;
        SeededRng::derive(seed, offset).shuffle(&mut rows);
        rows.truncate(size);
        Ok(rows)
    };
    let pool = sample(pool_path, args.pool_size, 0)?;
    let validation = sample(validation_path, args.eval_size, VALIDATION_SEED_OFFSET)?;
    let test = read_trajectories(test_path, DataFormat::Auto)?;
    for (set, path, what) in [
        (&validation, validation_path, "validation"),
        (&test, test_path, "test"),
    ] {
        if set.is_empty() {
            bail!(
                "{} holds no trajectories for the {what} set",
                path.display()
            );
        }
        if let Some(index) = set.iter().position(|t| t.label.is_none()) {
            bail!(
                "{}: the {what} set must be labelled, but a trajectory (\"{}\") has no label; \
                 label it first with actprm label",
                path.display(),
                set[index].question.chars().take(60).collect::<String>()
            );
        }
    }
    Ok(TaskSets {
        test_name: format!("{} trajectories of {}", test.len(), test_path.display()),
        tokenizer: corpus_tokenizer(&pool),
        pool,
        validation,
        test,
    })
}

/// `--pool`, `--validation` and `--test`, which `--task files` requires.
fn file_paths(args: &PoolArgs) -> Result<(&PathBuf, &PathBuf, &PathBuf)> {
    match (&args.pool, &args.validation, &args.test) {
        (Some(pool), Some(validation), Some(test)) => Ok((pool, validation, test)),
        _ => bail!("--task files reads --pool, --validation and --test: give all three"),
    }
}

/// A vocabulary learnt from the pool's questions and steps.
fn corpus_tokenizer(pool: &[Trajectory]) -> StepTokenizer {
    StepTokenizer::for_corpus(
        pool.iter()
            .flat_map(|t| std::iter::once(&t.question).chain(&t.steps))
            .map(String::as_str),
        &CorpusVocabularyConfig::new(),
    )
}

/// The task's settings, keyed by its name: what decides the data of every seed (for files,
/// their paths and the SHA-256 of their content).
pub fn task_settings(args: &PoolArgs) -> Result<Value> {
    Ok(match args.task {
        TaskArg::Synthetic => json!({ "synthetic": args.synthetic.config() }),
        TaskArg::Gsm8k => json!({ "gsm8k": {
            "data_dir": args.data_dir().display().to_string(),
            "pool": Gsm8kPoolConfig::new(),
        } }),
        TaskArg::Prm800k => json!({ "prm800k": {
            "data_dir": args.data_dir().display().to_string(),
        } }),
        TaskArg::Mixed => json!({ "mixed": {
            "data_dir": args.data_dir().display().to_string(),
            "gsm8k_pool": Gsm8kPoolConfig::new(),
        } }),
        TaskArg::Files => {
            let (pool, validation, test) = file_paths(args)?;
            let file = |path: &PathBuf| -> Result<Value> {
                Ok(json!({
                    "path": path.display().to_string(),
                    "sha256": file_digest(path)?,
                }))
            };
            json!({ "files": {
                "pool": file(pool)?,
                "validation": file(validation)?,
                "test": file(test)?,
            } })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trajectories(question: &str, count: usize) -> Vec<Trajectory> {
        (0..count)
            .map(|i| Trajectory::new(question, [format!("step {i}")]))
            .collect()
    }

    #[test]
    fn a_sample_of_pooled_sources_draws_from_each_as_the_seed_says() {
        let sources = || [trajectories("a", 60), trajectories("b", 40)].concat();
        let drawn = sample(sources(), 50, 7);
        assert_eq!(drawn.len(), 50);
        let from_a = drawn.iter().filter(|t| t.question == "a").count();
        assert!((15..=45).contains(&from_a), "{from_a} of 50 from a");
        assert_eq!(
            drawn,
            sample(sources(), 50, 7),
            "the same seed, the same sample"
        );
        assert_ne!(drawn, sample(sources(), 50, 8));
        assert_eq!(
            sample(sources(), 500, 7).len(),
            100,
            "at most every trajectory"
        );
    }
}
