//! Checks of list flags (`--seeds 0,1,2`, `--splits gsm8k,math`) that a value parser, which
//! sees one value at a time, cannot make.

use anyhow::{Result, bail};

/// Refuses a value listed twice in `flag`'s list: it would be run twice and counted as two
/// results (two replicates of one experiment, or one split twice in an average).
pub fn refuse_repeats<T: PartialEq + std::fmt::Display>(flag: &str, values: &[T]) -> Result<()> {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            bail!("{flag} lists {value} twice; each value is used once");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_value_is_refused_naming_the_flag_and_the_value() {
        assert!(refuse_repeats("--seeds", &[0, 1, 2]).is_ok());
        assert!(refuse_repeats::<u64>("--seeds", &[]).is_ok());
        let error = refuse_repeats("--splits", &["gsm8k", "math", "gsm8k"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--splits lists gsm8k twice; each value is used once"
        );
    }
}
