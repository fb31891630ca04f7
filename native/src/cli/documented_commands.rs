//! The `actprm` commands a Markdown document shows, as a reader would copy them. Shared with
//! the end-to-end test that runs the README's (`native/tests/readme.rs`).

/// The `actprm` commands of a Markdown document's `bash` blocks, continuation lines joined,
/// each with the line it starts on.
pub fn documented_commands(markdown: &str) -> Vec<(usize, String)> {
    let mut commands = Vec::new();
    let mut in_bash = false;
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_bash = trimmed == "```bash";
            continue;
        }
        if !in_bash {
            continue;
        }
        let code = trimmed.split(" # ").next().unwrap_or(trimmed).trim_end();
        let (code, continues) = match code.strip_suffix('\\') {
            Some(head) => (head.trim_end(), true),
            None => (code, false),
        };
        let command = match pending.take() {
            Some((start, text)) => Some((start, format!("{text} {code}"))),
            None if code.starts_with("actprm ") => Some((index + 1, code.to_owned())),
            None => None,
        };
        if let Some(command) = command {
            if continues {
                pending = Some(command);
            } else {
                commands.push(command);
            }
        }
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::documented_commands;

    #[test]
    fn commands_are_read_across_continuation_lines() {
        let markdown = "text\n```bash\n# a comment\nactprm run \\\n  --seed 1   # why\n\
                        cargo build\nactprm train\n```\n```text\nactprm not-a-command\n```\n";
        assert_eq!(
            documented_commands(markdown),
            vec![
                (4, "actprm run --seed 1".to_owned()),
                (7, "actprm train".to_owned())
            ]
        );
    }
}
