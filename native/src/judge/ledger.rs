//! The ledger of answers bought from the judge: append-only JSONL, one record per answer,
//! written and synced to disk before the answer is used. Records are keyed by a content hash of
//! what decides the answer (the trajectory, the prompt's version, the judge model and its
//! sampling), so a rerun or resume looks a trajectory up before buying it.
//!
//! A kill in the middle of a write leaves a last line without its newline. Opening the ledger
//! ignores that line with a warning and cuts it off, so that the next record starts a line of
//! its own; every complete record before it is kept.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use actprm_core::judge::{PROMPT_VERSION, Unusable};
use actprm_core::{ProcessLabel, Trajectory};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::client::Sampling;
use crate::identity::bytes_digest;

/// One answer bought from the judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// [`answer_key`] of the trajectory and settings the answer was bought for.
    pub key: String,
    /// The prompt's version.
    pub prompt_version: String,
    /// The judge model and its sampling settings.
    pub sampling: Sampling,
    /// The label read from the answer, or why none could be.
    pub verdict: Verdict,
    /// The answer's whole text.
    pub answer: String,
    /// Prompt tokens, from the server's `usage` (absent when the server gave none).
    pub prompt_tokens: Option<u64>,
    /// Generated tokens, from the server's `usage` (absent when the server gave none).
    pub completion_tokens: Option<u64>,
    /// Milliseconds from sending the answering request to reading its reply.
    pub latency_ms: u64,
    /// Requests sent for this answer, the answering one included.
    pub attempts: u32,
}

impl AnswerRecord {
    /// The label the answer gives, if it gives one.
    pub fn label(&self) -> Option<ProcessLabel> {
        match &self.verdict {
            Verdict::Labelled { first_error } => Some(ProcessLabel::from_first_error(*first_error)),
            Verdict::Unusable(_) => None,
        }
    }

    /// Generated tokens charged to the budget: the server's count, or the most the request
    /// allowed when the server gave none.
    pub fn charged_tokens(&self) -> u64 {
        self.completion_tokens
            .unwrap_or(self.sampling.max_tokens as u64)
    }
}

/// What an answer says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A label: the 0-based first erroneous step, or `null` when every step is correct.
    Labelled {
        /// The first erroneous step.
        first_error: Option<usize>,
    },
    /// No label could be read.
    Unusable(Unusable),
}

impl Verdict {
    /// The verdict of a parsed answer.
    pub fn from_parse(parsed: Result<ProcessLabel, Unusable>) -> Self {
        match parsed {
            Ok(label) => Verdict::Labelled {
                first_error: label.first_error(),
            },
            Err(reason) => Verdict::Unusable(reason),
        }
    }
}

/// The key of the answer to `trajectory` (its question and steps; a label it carries is not
/// part of it) under the current prompt and `sampling`.
pub fn answer_key(trajectory: &Trajectory, sampling: &Sampling) -> String {
    #[derive(Serialize)]
    struct Keyed<'a> {
        prompt_version: &'a str,
        sampling: &'a Sampling,
        question: &'a str,
        steps: &'a [String],
    }
    let keyed = Keyed {
        prompt_version: PROMPT_VERSION,
        sampling,
        question: &trajectory.question,
        steps: &trajectory.steps,
    };
    let bytes = serde_json::to_vec(&keyed).expect("strings and numbers always serialise");
    bytes_digest(&bytes)
}

/// The ledger file of an output directory, unless `--judge-ledger` names another.
pub const LEDGER_FILE: &str = "ledger.jsonl";

/// Every complete record of the ledger at `path`, in the order they were appended; a torn last
/// line (see the module's documentation) is left out.
pub fn read_records(path: &Path) -> Result<Vec<AnswerRecord>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let complete = complete_lines(&bytes);
    parse_records(path, &bytes[..complete])
}

/// How many leading bytes of a ledger's `bytes` are whole lines: all but a torn last line.
fn complete_lines(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1)
}

/// The records of the complete lines `bytes` of the ledger at `path`.
fn parse_records(path: &Path, bytes: &[u8]) -> Result<Vec<AnswerRecord>> {
    let mut records = Vec::new();
    for (index, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(record) => records.push(record),
            Err(error) => bail!(
                "{}:{}: not a ledger record ({error}); the ledger is only ever appended to by \
                 actprm, so this line was changed by hand",
                path.display(),
                index + 1
            ),
        }
    }
    Ok(records)
}

/// What the ledger's answers cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    /// Answers bought, usable or not.
    pub answers: u64,
    /// Generated tokens charged.
    pub tokens: u64,
}

/// The ledger file and the answers it holds.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: File,
    records: HashMap<String, AnswerRecord>,
    spent: Spent,
}

impl Ledger {
    /// Opens the ledger at `path`, creating it when missing, and reads every record.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        let complete = complete_lines(&bytes);
        if complete < bytes.len() {
            eprintln!(
                "warning: {}: the last line (from byte {complete}) is incomplete, left by an \
                 interrupted write; it is ignored and cut off",
                path.display()
            );
            file.set_len(complete as u64)
                .and_then(|()| file.sync_data())
                .with_context(|| format!("cutting the torn line off {}", path.display()))?;
        }
        let mut ledger = Self {
            path: path.to_path_buf(),
            file,
            records: HashMap::new(),
            spent: Spent::default(),
        };
        for record in parse_records(path, &bytes[..complete])? {
            ledger.count(record);
        }
        Ok(ledger)
    }

    /// The answer recorded under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&AnswerRecord> {
        self.records.get(key)
    }

    /// What every recorded answer cost together.
    pub fn spent(&self) -> Spent {
        self.spent
    }

    /// Appends `record` as one line and syncs it to disk before returning.
    pub fn append(&mut self, record: AnswerRecord) -> Result<()> {
        let mut line = serde_json::to_vec(&record).expect("a record always serialises");
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))?;
        self.count(record);
        Ok(())
    }

    fn count(&mut self, record: AnswerRecord) {
        self.spent.answers += 1;
        self.spent.tokens += record.charged_tokens();
        self.records.insert(record.key.clone(), record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling() -> Sampling {
        Sampling {
            model: "judge".into(),
            temperature: 0.5,
            top_p: 0.95,
            max_tokens: 100,
        }
    }

    fn trajectory(question: &str) -> Trajectory {
        Trajectory {
            question: question.into(),
            steps: vec!["a".into(), "b".into()],
            label: None,
        }
    }

    fn record(key: &str, verdict: Verdict, tokens: Option<u64>) -> AnswerRecord {
        AnswerRecord {
            key: key.into(),
            prompt_version: PROMPT_VERSION.into(),
            sampling: sampling(),
            verdict,
            answer: "<conclusion>Correct</conclusion>".into(),
            prompt_tokens: Some(10),
            completion_tokens: tokens,
            latency_ms: 5,
            attempts: 1,
        }
    }

    #[test]
    fn the_key_names_the_trajectory_and_every_setting_but_not_its_label() {
        let base = answer_key(&trajectory("q"), &sampling());
        let mut labelled = trajectory("q");
        labelled.label = Some(ProcessLabel::AllCorrect);
        assert_eq!(answer_key(&labelled, &sampling()), base);
        assert_ne!(answer_key(&trajectory("q2"), &sampling()), base);
        let mut other_steps = trajectory("q");
        other_steps.steps.push("c".into());
        assert_ne!(answer_key(&other_steps, &sampling()), base);
        let changes: [fn(&mut Sampling); 4] = [
            |s| s.model = "other".into(),
            |s| s.temperature = 0.6,
            |s| s.top_p = 0.9,
            |s| s.max_tokens = 200,
        ];
        for change in changes {
            let mut changed = sampling();
            change(&mut changed);
            assert_ne!(answer_key(&trajectory("q"), &changed), base);
        }
    }

    #[test]
    fn records_survive_reopening_and_count_what_they_cost() {
        let dir = tempdir("reopen");
        let path = dir.join("ledger.jsonl");
        let mut ledger = Ledger::open(&path).unwrap();
        ledger
            .append(record(
                "k1",
                Verdict::Labelled {
                    first_error: Some(1),
                },
                Some(40),
            ))
            .unwrap();
        ledger
            .append(record(
                "k2",
                Verdict::Unusable(Unusable::NoConclusion),
                None,
            ))
            .unwrap();
        drop(ledger);
        let ledger = Ledger::open(&path).unwrap();
        assert_eq!(ledger.spent().answers, 2);
        assert_eq!(
            ledger.get("k1").unwrap().label(),
            Some(ProcessLabel::FirstErrorAt(1))
        );
        assert_eq!(ledger.get("k2").unwrap().label(), None);
        assert_eq!(
            ledger.spent(),
            Spent {
                answers: 2,
                tokens: 140
            }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_nothing_before_it_is_lost() {
        let dir = tempdir("torn");
        let path = dir.join("ledger.jsonl");
        let mut ledger = Ledger::open(&path).unwrap();
        ledger
            .append(record(
                "k1",
                Verdict::Labelled { first_error: None },
                Some(3),
            ))
            .unwrap();
        drop(ledger);
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(br#"{"key":"k2","prompt_ver"#);
        std::fs::write(&path, &torn).unwrap();
        let mut ledger = Ledger::open(&path).unwrap();
        assert_eq!(ledger.spent().answers, 1);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        ledger
            .append(record(
                "k3",
                Verdict::Labelled { first_error: None },
                Some(3),
            ))
            .unwrap();
        drop(ledger);
        let ledger = Ledger::open(&path).unwrap();
        assert!(ledger.get("k1").is_some() && ledger.get("k3").is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_complete_line_is_an_error_naming_it() {
        let dir = tempdir("damaged");
        let path = dir.join("ledger.jsonl");
        std::fs::write(&path, "{\"key\":1}\n").unwrap();
        let error = Ledger::open(&path).unwrap_err().to_string();
        assert!(
            error.contains("ledger.jsonl:1: not a ledger record"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("actprm-ledger-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
