//! The documents' view of the command line: docs/cli.md's reference is every command's
//! `--help`, every `actprm` command the README and docs/ show parses as written, and the
//! README's Rust snippet is the example CI builds. Tests keep all three true;
//! `ACTPRM_WRITE_DOCS=1 cargo test --workspace -- cli::reference` regenerates the reference.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::Cli;
use super::documented_commands::documented_commands;

/// The line of docs/cli.md after which everything is generated.
const GENERATED_MARKER: &str = "<!-- Generated from every command's --help: \
     ACTPRM_WRITE_DOCS=1 cargo test --workspace -- cli::reference -->";

/// Every command's long help, as Markdown sections, depth first.
fn reference() -> String {
    let mut command = Cli::command();
    command.build();
    let mut out = String::new();
    append_sections(&mut command, &mut out);
    out
}

fn append_sections(command: &mut clap::Command, out: &mut String) {
    let name = command
        .get_bin_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned();
    let help = command.render_long_help().to_string();
    out.push_str(&format!(
        "\n### `{name}`\n\n```text\n{}\n```\n",
        help.trim_end()
    ));
    for sub in command.get_subcommands_mut() {
        if sub.get_name() != "help" {
            append_sections(sub, out);
        }
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;
    use clap::error::ErrorKind;

    use super::*;

    #[test]
    fn docs_cli_md_is_every_commands_help() {
        let path = repository().join("docs/cli.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, generated) = text
            .split_once(GENERATED_MARKER)
            .unwrap_or_else(|| panic!("{} lacks the line {GENERATED_MARKER}", path.display()));
        let current = reference();
        if generated != current {
            if std::env::var_os("ACTPRM_WRITE_DOCS").is_some() {
                std::fs::write(&path, format!("{head}{GENERATED_MARKER}{current}")).unwrap();
            } else {
                panic!(
                    "{} is not the commands' current --help: regenerate it with \
                     ACTPRM_WRITE_DOCS=1 cargo test --workspace -- cli::reference",
                    path.display()
                );
            }
        }
    }

    /// Every command of README.md and docs/*.md parses as written (but those that read a
    /// shell variable), and those of README.md and docs/cli.md that write somewhere each write
    /// to a directory of their own.
    #[test]
    fn every_documented_command_parses() {
        let root = repository();
        let mut documents = vec![root.join("README.md")];
        let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        documents.extend(docs);
        let mut outputs: BTreeMap<String, String> = BTreeMap::new();
        let mut checked = 0;
        for document in &documents {
            let text = std::fs::read_to_string(document).unwrap();
            let name = document.strip_prefix(&root).unwrap().display().to_string();
            for (line, command) in documented_commands(&text) {
                // A shell variable's value comes from the loop around the command.
                if command.contains('$') {
                    continue;
                }
                let words = shlex::split(&command)
                    .unwrap_or_else(|| panic!("{name}:{line}: unbalanced quotes in {command}"));
                if let Err(error) = Cli::try_parse_from(&words)
                    && !matches!(
                        error.kind(),
                        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                    )
                {
                    panic!("{name}:{line}: `{command}` does not parse:\n{error}");
                }
                checked += 1;
                let Some(at) = words.iter().position(|word| word == "--out") else {
                    continue;
                };
                if name != "README.md" && name != "docs/cli.md" {
                    continue;
                }
                let out = words[at + 1].clone();
                let place = format!("{name}:{line}");
                if let Some(first) = outputs.insert(out.clone(), place.clone()) {
                    panic!("{place} and {first} both write to {out}");
                }
            }
        }
        assert!(checked > 20, "only {checked} documented commands found");
    }

    /// The README's Rust snippet is the example CI builds, so it compiles.
    #[test]
    fn the_readme_shows_the_score_example() {
        let root = repository();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let example = std::fs::read_to_string(root.join("core/examples/score.rs")).unwrap();
        assert!(
            readme.contains(&format!("```rust\n{example}```\n")),
            "README.md's Rust block is not core/examples/score.rs"
        );
    }
}
