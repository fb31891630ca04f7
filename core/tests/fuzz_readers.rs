//! Property tests of every reader of outside input: arbitrary bytes, and real records mutated
//! (bytes flipped, cut, repeated, spliced), must give a value or an error, never a panic.
//!
//! The readers of the public data sets mutate real records, from scripts/fetch-data.sh
//! (`$ACTPRM_DATA` overrides where they are), so their properties are ignored unless asked for
//! (`cargo test -- --include-ignored`); the others need no outside file. Each property runs
//! `ACTPRM_FUZZ_CASES` cases (256 by default); docs/testing.md says how to run a long campaign.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::OnceLock;

use actprm_core::Trajectory;
use actprm_core::checkpoint::{CheckpointConfig, CheckpointFiles};
use actprm_core::data::{
    UnlabelledRows, read_prm800k_stepwise, read_prmbench, read_processbench_bytes,
    read_stepwise_rows, read_training_rows,
};
use actprm_core::encoding::EncodingConfig;
use actprm_core::model::PrmConfig;
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};
use actprm_core::tokenizer::{SpecialTokensConfig, StepTokenizer};
use burn::tensor::Device;
use proptest::prelude::*;
use proptest::sample::Index;
use support::data_dir;

/// Cases per property.
fn cases() -> u32 {
    std::env::var("ACTPRM_FUZZ_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The first `count` lines of a (possibly gzipped) file, each with its newline.
fn first_lines(path: PathBuf, count: usize) -> Vec<u8> {
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut out = Vec::new();
    for line in BufReader::new(reader).lines().take(count) {
        out.extend_from_slice(line.unwrap().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Valid inputs of the formats the crate defines, to be mutated.
struct Corpora {
    training_rows: Vec<u8>,
    unlabelled_rows: Vec<u8>,
    stepwise_rows: Vec<u8>,
    config: Vec<u8>,
    tokenizer: Vec<u8>,
    /// A whole checkpoint of the model `config` describes, whose config is mutated.
    checkpoint: CheckpointFiles,
    /// Trajectories for a loaded checkpoint to score.
    trajectories: Vec<Trajectory>,
}

/// Real records of the public data sets, to be mutated.
struct RealRecords {
    processbench: Vec<u8>,
    prm800k: Vec<u8>,
    prmbench: Vec<u8>,
}

fn real_records() -> &'static RealRecords {
    static RECORDS: OnceLock<RealRecords> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let data = data_dir();
        let split: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data.join("processbench/gsm8k.json")).unwrap())
                .unwrap();
        RealRecords {
            processbench: serde_json::to_vec_pretty(
                &split.as_array().unwrap().iter().take(3).collect::<Vec<_>>(),
            )
            .unwrap(),
            prm800k: first_lines(
                data.join("prm800k_stepwise/phase1_test.stepwise-critic.jsonl.gz"),
                3,
            ),
            prmbench: first_lines(data.join("prmbench_sample/sample.jsonl"), 3),
        }
    })
}

fn corpora() -> &'static Corpora {
    static CORPORA: OnceLock<Corpora> = OnceLock::new();
    CORPORA.get_or_init(|| {
        let training_rows = concat!(
            r#"{"question": "Q", "steps": ["a = 1", "b = 2"], "hard_labels": [1, 0]}"#,
            "\n",
            r#"{"question": "R", "steps": ["c"], "hard_labels": [1]}"#,
            "\n"
        )
        .as_bytes()
        .to_vec();
        let unlabelled_rows = concat!(
            r#"{"question": "Q", "steps": ["a = 1", "b = 2"]}"#,
            "\n",
            r#"{"question": "R", "steps": ["c"]}"#,
            "\n"
        )
        .as_bytes()
        .to_vec();
        let stepwise_rows = concat!(
            r#"{"prompt": "Q", "completions": ["a = 1", "b = 2"], "labels": [true, false]}"#,
            "\n",
            r#"{"prompt": "R", "completions": ["c"], "labels": [true]}"#,
            "\n"
        )
        .as_bytes()
        .to_vec();
        let tokenizer = StepTokenizer::for_synthetic(&SyntheticConfig::new());
        let model = PrmConfig::tiny(tokenizer.vocab_size());
        let config = CheckpointConfig::new(model.clone(), EncodingConfig::new());
        let checkpoint =
            CheckpointFiles::from_model(&model.init(&Device::flex()), &config, &tokenizer).unwrap();
        Corpora {
            training_rows,
            unlabelled_rows,
            stepwise_rows,
            config: serde_json::to_vec_pretty(&config).unwrap(),
            tokenizer: tokenizer.to_json().into_bytes(),
            checkpoint,
            trajectories: generate(&SyntheticConfig::new(), 0, 2),
        }
    })
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at a place.
    Set(Index, u8),
    /// Remove a span.
    Cut(Index, Index),
    /// Insert bytes at a place.
    Insert(Index, Vec<u8>),
    /// Repeat a span in place.
    Repeat(Index, Index),
    /// Swap two bytes.
    Swap(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Cut(a, b)),
        (
            any::<Index>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    prop::sample::select(b"{}[]\",:0123456789-.eE\\ntrufalsn ".to_vec()),
                ],
                1..8
            )
        )
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Repeat(a, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        if len == 0 {
            bytes.push(b'{');
            continue;
        }
        let span = |a: &Index, b: &Index| {
            let (a, b) = (a.index(len), b.index(len));
            (a.min(b), a.max(b) + 1)
        };
        match mutation {
            Mutation::Set(at, byte) => bytes[at.index(len)] = *byte,
            Mutation::Cut(a, b) => {
                let (start, end) = span(a, b);
                bytes.drain(start..end);
            }
            Mutation::Insert(at, inserted) => {
                let at = at.index(len + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Repeat(a, b) => {
                let (start, end) = span(a, b);
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Mutation::Swap(a, b) => bytes.swap(a.index(len), b.index(len)),
        }
    }
    bytes
}

/// Arbitrary bytes, or a format's valid input under a few mutations.
fn input(valid: fn() -> &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(mutation(), 1..6)
            .prop_map(move |mutations| apply(valid().to_vec(), &mutations)),
    ]
}

/// A valid JSON document with some of its numbers replaced by values a reader must refuse or
/// survive (zero, one, odd sizes, negatives, fractions, huge values): mutations that keep the
/// syntax, so the reader gets past parsing to what it builds from the values.
fn json_with_numbers_replaced(valid: fn() -> &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    let replacement = prop::sample::select(vec![
        "0",
        "1",
        "2",
        "3",
        "7",
        "65",
        "-1",
        "0.5",
        "1e-30",
        "1e9",
        "4294967296",
        "18446744073709551615",
        "1e308",
    ]);
    prop::collection::vec((any::<Index>(), replacement), 1..4).prop_map(move |edits| {
        let mut document: serde_json::Value = serde_json::from_slice(valid()).unwrap();
        let mut numbers = Vec::new();
        collect_numbers(&mut document, &mut numbers);
        let count = numbers.len();
        let mut chosen = vec![None; count];
        for (at, value) in edits {
            chosen[at.index(count)] = Some(value);
        }
        for (number, value) in numbers.into_iter().zip(chosen) {
            if let Some(value) = value {
                *number = serde_json::from_str(value).unwrap();
            }
        }
        serde_json::to_vec(&document).unwrap()
    })
}

/// Every number in `value`, depth first.
fn collect_numbers<'a>(value: &'a mut serde_json::Value, out: &mut Vec<&'a mut serde_json::Value>) {
    match value {
        serde_json::Value::Number(_) => out.push(value),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_numbers(item, out);
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                collect_numbers(item, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    #[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
    fn processbench_never_panics(bytes in input(|| &real_records().processbench)) {
        drop(read_processbench_bytes("fuzz.json", &bytes[..]));
    }

    #[test]
    fn training_rows_never_panic(bytes in input(|| &corpora().training_rows)) {
        drop(read_training_rows("fuzz.jsonl", &bytes[..]));
    }

    #[test]
    fn unlabelled_rows_never_panic(bytes in input(|| &corpora().unlabelled_rows)) {
        UnlabelledRows::new("fuzz.jsonl", &bytes[..]).for_each(drop);
    }

    #[test]
    fn stepwise_rows_never_panic(bytes in input(|| &corpora().stepwise_rows)) {
        drop(read_stepwise_rows("fuzz.jsonl", &bytes[..]));
    }

    #[test]
    #[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
    fn prm800k_rows_never_panic(bytes in input(|| &real_records().prm800k)) {
        drop(read_prm800k_stepwise("fuzz.jsonl", &bytes[..]));
    }

    #[test]
    #[ignore = "needs the public data sets: run scripts/fetch-data.sh"]
    fn prmbench_rows_never_panic(bytes in input(|| &real_records().prmbench)) {
        drop(read_prmbench("fuzz.jsonl", &bytes[..]));
    }

    #[test]
    fn checkpoint_config_never_panics(
        bytes in prop_oneof![input(|| &corpora().config), json_with_numbers_replaced(|| &corpora().config)]
    ) {
        let checkpoint = CheckpointFiles {
            config: String::from_utf8_lossy(&bytes).into_owned(),
            ..corpora().checkpoint.clone()
        };
        // What loads must also score: the encoding settings are read then.
        if let Ok(checkpoint) = checkpoint.load(&Device::flex()) {
            drop(checkpoint.score(&corpora().trajectories));
        }
    }

    #[test]
    fn tokenizer_loader_never_panics(bytes in input(|| &corpora().tokenizer)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(tokenizer) = StepTokenizer::from_json(&text, &SpecialTokensConfig::new()) {
            drop(tokenizer.encode_text("Tom has 12 apples and buys 5 more: 12 + 5 = 17."));
        }
    }
}
