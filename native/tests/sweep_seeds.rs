//! A sweep's seeds: each reads its own draw of the data, whatever other seeds it is swept with.

mod common;

use common::{TINY_MODEL, actprm, scratch, sweep_results};

/// `n` stepwise rows whose words depend on `salt` and the row, so that pools drawn with
/// different seeds hold different vocabularies; every fourth row has an erroneous step.
fn stepwise_rows(n: usize, salt: usize) -> String {
    // Letters alone: the corpus tokenizer splits digits off a word.
    let word = |n: usize| -> String {
        [n / 26 % 26, n % 26]
            .map(|i| char::from(b'a' + i as u8))
            .iter()
            .collect()
    };
    (0..n)
        .map(|row| {
            let of_row = |step: usize| word((row * 5 + step + salt * 211) % 676);
            let steps: Vec<String> = (0..3)
                .map(|s| format!("{} {}", of_row(s), of_row(s + 1)))
                .collect();
            let labels = [true, row % 4 != 0, true];
            serde_json::json!({"prompt": of_row(7), "completions": steps, "labels": labels})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each seed of a sweep reads its own draw as a sweep of that seed alone does, with the
/// vocabulary of its own pool when the task builds one from the pool.
#[test]
fn a_seed_swept_with_others_scores_as_swept_alone() {
    let dir = scratch("seeds-alone");
    for (name, rows, salt) in [("pool", 64, 0), ("validation", 16, 1), ("test", 16, 2)] {
        std::fs::write(dir.join(format!("{name}.jsonl")), stepwise_rows(rows, salt)).unwrap();
    }
    let sweep = |seeds: &str, out: &str| {
        let path = |name: &str| dir.join(name).display().to_string();
        let mut args: Vec<String> = [
            "--device",
            "cpu",
            "sweep",
            "--task",
            "files",
            "--strategies",
            "full",
            "--seeds",
            seeds,
            "--pool-size",
            "24",
            "--eval-size",
            "8",
        ]
        .map(String::from)
        .to_vec();
        for (flag, file) in [
            ("--pool", "pool.jsonl"),
            ("--validation", "validation.jsonl"),
            ("--test", "test.jsonl"),
            ("--out", out),
        ] {
            args.extend([flag.to_string(), path(file)]);
        }
        args.extend(TINY_MODEL.map(String::from));
        actprm(&args);
        sweep_results(&dir.join(out))
    };
    let together = sweep("0,1", "together");
    let alone = sweep("1", "alone");
    let seed_one = together
        .iter()
        .find(|result| result["spec"]["seed"] == 1)
        .expect("seed 1 swept");
    for key in ["validation", "test", "threshold"] {
        assert_eq!(seed_one[key], alone[0][key], "{key}");
    }
}
