//! The README's quick start on the synthetic task: every `actprm` command of README.md that
//! reads no data set, in order, from an empty directory, as written, but that `run` and `train`
//! train the tiny model on a small pool (their flags appended), so that the commands reading
//! their checkpoints run in seconds.

mod common;
#[path = "../src/cli/documented_commands.rs"]
mod documented_commands;

use std::path::Path;
use std::process::Command;

use documented_commands::documented_commands;

/// What `run` and `train` get appended, beside the tiny model: 64 pool trajectories, 16 held
/// out.
const SMALL_POOL: [&str; 4] = ["--pool-size", "64", "--eval-size", "16"];

#[test]
fn the_readme_quick_start_runs() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let commands: Vec<(usize, String)> = documented_commands(&readme)
        .into_iter()
        .filter(|(_, command)| {
            !command.contains("--task") && !command.contains("~/") && !command.contains("--data")
        })
        .collect();
    assert!(
        commands.len() >= 4,
        "the quick start's commands: {commands:?}"
    );
    let dir = std::env::temp_dir().join(format!("actprm-readme-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    for (line, command) in &commands {
        let mut words = shlex::split(command).unwrap();
        if matches!(words[1].as_str(), "run" | "train") {
            for flag in SMALL_POOL.chunks(2).chain(common::TINY_MODEL.chunks(2)) {
                assert!(
                    !words.contains(&flag[0].to_owned()),
                    "README.md:{line} sets {}",
                    flag[0]
                );
                words.extend(flag.iter().map(|word| (*word).to_owned()));
            }
        }
        let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
            .args(&words[1..])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "README.md:{line}: `{command}` failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
