//! Splitting a pool across machines (docs/scale.md): `score`, `filter` and `label` with
//! `--shard I/N` work on shard `I` of `N` alone, and `actprm merge` joins the shards' outputs
//! into what one unsharded command would have written.
//!
//! A trajectory's shard is decided by its content, the SHA-256 of its question and steps (a
//! label it carries is not part of it). The partition is therefore the same on every machine
//! and on every resume, whatever the file's format or order, and identical trajectories fall in
//! one shard, so the judge is never paid twice for one answer.

use std::fmt;

use actprm_core::Trajectory;
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most shards a pool is split into.
pub const MAX_SHARDS: usize = 65_536;

/// Shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many shards the pool is split into.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if !(1..=MAX_SHARDS).contains(&count) {
            return Err(format!(
                "the shard count must be 1 to {MAX_SHARDS}, not {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index} of {count}: shards are numbered from 0 to {}",
                count - 1
            ));
        }
        Ok(Self { index, count })
    }

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((index, count)) = text.split_once('/') else {
            return Err(format!(
                "`{text}` is not a shard: write I/N, shard I (from 0) of N"
            ));
        };
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}`: the {what} `{part}` is not a whole number"))
        };
        Self::new(number(index, "shard")?, number(count, "count")?)
    }

    /// Shard `I` of `count`, with `I` read from the job array's environment: Kubernetes'
    /// `JOB_COMPLETION_INDEX`, else Slurm's `SLURM_ARRAY_TASK_ID` counted from
    /// `SLURM_ARRAY_TASK_MIN`. `variable` reads one variable.
    pub fn from_job_array(count: usize, variable: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let number = |name: &str| -> Result<Option<usize>> {
            match variable(name) {
                None => Ok(None),
                Some(text) => match text.trim().parse() {
                    Ok(value) => Ok(Some(value)),
                    Err(_) => bail!("{name}={text} is not a whole number"),
                },
            }
        };
        let index = if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            index
        } else if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            if let Some(step) = number("SLURM_ARRAY_TASK_STEP")?
                && step != 1
            {
                bail!(
                    "SLURM_ARRAY_TASK_STEP={step}: an array with gaps cannot number shards; \
                     submit --array=0-{} (or pass --shard I/N)",
                    count - 1
                );
            }
            if let Some(tasks) = number("SLURM_ARRAY_TASK_COUNT")?
                && tasks != count
            {
                bail!(
                    "--shards {count}, but the Slurm array has {tasks} tasks \
                     (SLURM_ARRAY_TASK_COUNT): give --shards {tasks}"
                );
            }
            let first = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            match id.checked_sub(first) {
                Some(index) => index,
                None => bail!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={first}"),
            }
        } else {
            bail!(
                "--shards {count} takes the shard from a job array, but neither \
                 JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (a \
                 Slurm job array) is set: pass --shard I/N instead"
            );
        };
        Self::new(index, count).map_err(anyhow::Error::msg)
    }

    /// Whether `trajectory` belongs to this shard.
    pub fn owns(&self, trajectory: &Trajectory) -> bool {
        shard_of(trajectory, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {} of {}", self.index, self.count)
    }
}

/// The shard of `count` that `trajectory` falls in: its content's digest modulo `count`.
fn shard_of(trajectory: &Trajectory, count: usize) -> usize {
    let mut hasher = Sha256::new();
    hasher.update((trajectory.question.len() as u64).to_le_bytes());
    hasher.update(trajectory.question.as_bytes());
    for step in &trajectory.steps {
        hasher.update((step.len() as u64).to_le_bytes());
        hasher.update(step.as_bytes());
    }
    let digest = hasher.finalize();
    let leading = u64::from_be_bytes(digest[..8].try_into().expect("a digest has 32 bytes"));
    (leading % count as u64) as usize
}

/// The pool positions and trajectories of `trajectories` that `shard` owns (all of them
/// without a shard), in pool order.
pub fn owned(trajectories: Vec<Trajectory>, shard: Option<Shard>) -> (Vec<usize>, Vec<Trajectory>) {
    trajectories
        .into_iter()
        .enumerate()
        .filter(|(_, trajectory)| shard.is_none_or(|shard| shard.owns(trajectory)))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trajectory(question: &str, steps: &[&str]) -> Trajectory {
        Trajectory {
            question: question.into(),
            steps: steps.iter().map(ToString::to_string).collect(),
            label: None,
        }
    }

    #[test]
    fn parses_i_of_n_and_refuses_what_is_not_one() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 0 / 1 "), Ok(Shard { index: 0, count: 1 }));
        for (text, words) in [
            ("4/4", "numbered from 0 to 3"),
            ("1/0", "must be 1 to"),
            ("3", "write I/N"),
            ("-1/4", "`-1` is not a whole number"),
            ("1/x", "`x` is not a whole number"),
            ("0/65537", "must be 1 to 65536"),
        ] {
            let error = Shard::parse(text).unwrap_err();
            assert!(error.contains(words), "{text}: {error}");
        }
    }

    #[test]
    fn every_trajectory_falls_in_exactly_one_shard_and_the_shards_are_even() {
        let pool: Vec<Trajectory> = (0..4000)
            .map(|i| trajectory(&format!("question {i}"), &["a step", "another"]))
            .collect();
        let shards: Vec<Shard> = (0..4).map(|i| Shard::new(i, 4).unwrap()).collect();
        let mut sizes = [0usize; 4];
        for trajectory in &pool {
            let owners: Vec<usize> = shards
                .iter()
                .filter(|shard| shard.owns(trajectory))
                .map(|shard| shard.index)
                .collect();
            assert_eq!(owners.len(), 1, "{trajectory:?}");
            sizes[owners[0]] += 1;
        }
        for size in sizes {
            assert!((900..1100).contains(&size), "uneven shards: {sizes:?}");
        }
    }

    #[test]
    fn the_shard_follows_the_content_not_the_label_or_the_position() {
        let shard = Shard::new(1, 3).unwrap();
        let mut labelled = trajectory("q", &["s1", "s2"]);
        let plain = labelled.clone();
        labelled.label = Some(actprm_core::ProcessLabel::FirstErrorAt(1));
        assert_eq!(shard.owns(&labelled), shard.owns(&plain));
        // Steps and question are told apart: moving text across a boundary moves the digest.
        let digests: Vec<usize> = [
            trajectory("ab", &["c"]),
            trajectory("a", &["bc"]),
            trajectory("a", &["b", "c"]),
        ]
        .iter()
        .map(|t| shard_of(t, 1 << 16))
        .collect();
        assert!(
            digests[0] != digests[1] && digests[1] != digests[2],
            "{digests:?}"
        );
        let pool: Vec<Trajectory> = (0..50)
            .map(|i| trajectory(&i.to_string(), &["s"]))
            .collect();
        let (indices, kept) = owned(pool.clone(), Some(shard));
        assert!(indices.windows(2).all(|pair| pair[0] < pair[1]));
        for (index, trajectory) in indices.iter().zip(&kept) {
            assert_eq!(&pool[*index], trajectory);
        }
        assert_eq!(owned(pool.clone(), None).0, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn the_job_array_names_the_shard() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        let kubernetes = Shard::from_job_array(4, env(&[("JOB_COMPLETION_INDEX", "3")]));
        assert_eq!(kubernetes.unwrap(), Shard { index: 3, count: 4 });
        let slurm = Shard::from_job_array(
            4,
            env(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ]),
        );
        assert_eq!(slurm.unwrap(), Shard { index: 1, count: 4 });
        for (pairs, words) in [
            (&[][..], "neither JOB_COMPLETION_INDEX"),
            (
                &[
                    ("SLURM_ARRAY_TASK_ID", "1"),
                    ("SLURM_ARRAY_TASK_COUNT", "8"),
                ][..],
                "has 8 tasks",
            ),
            (
                &[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_STEP", "2")][..],
                "with gaps",
            ),
            (&[("JOB_COMPLETION_INDEX", "4")][..], "numbered from 0 to 3"),
            (&[("JOB_COMPLETION_INDEX", "x")][..], "not a whole number"),
        ] {
            let error = Shard::from_job_array(4, env(pairs))
                .unwrap_err()
                .to_string();
            assert!(error.contains(words), "{pairs:?}: {error}");
        }
    }
}
