//! Value parsers that hold every numeric argument to its meaningful range, so that a bad value
//! stops the command at parse time with a sentence naming the range (clap adds the flag), and
//! never runs to a silent wrong result or a panic.

use actprm_core::model::BackboneConfig;
use actprm_core::selection::{is_valid_delta_pred, is_valid_delta_std, is_valid_tau};

/// A number that parses, is finite and satisfies `accept`; otherwise `requirement` explains.
fn finite<T>(text: &str, accept: impl Fn(f64) -> bool, requirement: &str) -> Result<T, String>
where
    T: std::str::FromStr + Copy + Into<f64>,
{
    let value: T = text
        .trim()
        .parse()
        .map_err(|_| format!("not a number; {requirement}"))?;
    let wide: f64 = value.into();
    if wide.is_finite() && accept(wide) {
        Ok(value)
    } else {
        Err(requirement.to_string())
    }
}

/// A seed: any whole number from 0 to 2⁶⁴ − 1.
pub fn seed(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("a seed must be a whole number from 0 to {}", u64::MAX))
}

/// A whole number in `1..=max`: every size flag has an upper bound, so that no product of
/// flags overflows and no allocation is asked for that no machine holds.
fn whole(text: &str, max: u64) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(value) if (1..=max).contains(&value) => Ok(value),
        _ => Err(format!("must be a whole number from 1 to {max}")),
    }
}

/// A count of trajectories, rows, items or updates: at most a billion.
pub fn count(text: &str) -> Result<usize, String> {
    whole(text, 1_000_000_000).map(|value| value as usize)
}

/// A count of ensemble heads, layers, threads, concurrent jobs or tries: at most 1,024.
pub fn small_count(text: &str) -> Result<usize, String> {
    whole(text, 1024).map(|value| value as usize)
}

/// A count of tokens in one answer: at most a million.
pub fn answer_tokens<T: TryFrom<u64>>(text: &str) -> Result<T, String> {
    within_type(whole(text, 1_000_000)?)
}

/// A budget of tokens over a whole run: at most a trillion.
pub fn token_budget<T: TryFrom<u64>>(text: &str) -> Result<T, String> {
    within_type(whole(text, 1_000_000_000_000)?)
}

fn within_type<T: TryFrom<u64>>(value: u64) -> Result<T, String> {
    T::try_from(value).map_err(|_| format!("{value} is too large for this machine"))
}

/// δ_pred, the confidence a step's mean must reach: in (0.5, 1].
pub fn delta_pred(text: &str) -> Result<f32, String> {
    finite(
        text,
        is_valid_delta_pred,
        "δ_pred must be a finite number in (0.5, 1]: a step counts as confidently judged when \
         its mean is at least δ_pred or at most 1 − δ_pred",
    )
}

/// δ_std, the spread under which the heads agree: at least 0.
pub fn delta_std(text: &str) -> Result<f32, String> {
    finite(
        text,
        is_valid_delta_std,
        "δ_std must be a finite number of at least 0 (a standard deviation of probabilities)",
    )
}

/// τ, the mean below which a step is predicted erroneous: in (0, 1).
pub fn tau(text: &str) -> Result<f32, String> {
    finite(
        text,
        is_valid_tau,
        "τ must be a finite number in (0, 1): at 0 no step, at 1 every step would be an error",
    )
}

/// A threshold on an entropy or a mutual information in bits, summed over a trajectory's
/// counted steps: at least 0.
pub fn bits(text: &str) -> Result<f32, String> {
    finite(
        text,
        |x| x >= 0.0,
        "a threshold in bits must be a finite number of at least 0",
    )
}

/// A learning rate: finite and above 0.
pub fn learning_rate(text: &str) -> Result<f64, String> {
    finite(
        text,
        |x| x > 0.0,
        "a learning rate must be a finite number above 0",
    )
}

/// A regulariser's weight: finite and at least 0.
pub fn weight(text: &str) -> Result<f64, String> {
    finite(
        text,
        |x| x >= 0.0,
        "a weight must be a finite number of at least 0",
    )
}

/// A regulariser's weight in single precision: finite and at least 0.
pub fn weight_f32(text: &str) -> Result<f32, String> {
    finite(
        text,
        |x| x >= 0.0,
        "a weight must be a finite number of at least 0",
    )
}

/// A norm or scale: finite and above 0.
pub fn positive_f32(text: &str) -> Result<f32, String> {
    finite(text, |x| x > 0.0, "must be a finite number above 0")
}

/// LoRA's α, the adapters' output scale times their rank: finite and above 0.
pub fn lora_alpha(text: &str) -> Result<f64, String> {
    finite(text, |x| x > 0.0, "α must be a finite number above 0")
}

/// A loss term's relative weight: finite and above 0.
pub fn relative_weight(text: &str) -> Result<f64, String> {
    finite(
        text,
        |x| x > 0.0,
        "a relative weight must be a finite number above 0",
    )
}

/// A fraction of the pool to label: in (0, 1].
pub fn fraction(text: &str) -> Result<f64, String> {
    finite(
        text,
        |x| x > 0.0 && x <= 1.0,
        "a fraction must be a finite number in (0, 1]",
    )
}

/// A sampling temperature: finite and at least 0.
pub fn temperature(text: &str) -> Result<f64, String> {
    finite(
        text,
        |x| x >= 0.0,
        "a sampling temperature must be a finite number of at least 0",
    )
}

/// Nucleus sampling's top_p: in (0, 1].
pub fn top_p(text: &str) -> Result<f64, String> {
    finite(
        text,
        |x| x > 0.0 && x <= 1.0,
        "top_p must be a finite number in (0, 1]",
    )
}

/// A time limit such as `90s` or `5m`: above zero.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err("must be a time above zero, such as 90s or 5m".to_string()),
    }
}

/// The small backbone's width: a multiple of twice its head count, so that it splits into
/// heads of an even width (rotary positions turn pairs of features), and at most 4,096.
pub fn small_width(text: &str) -> Result<usize, String> {
    const MAX: usize = 4096;
    let heads = BackboneConfig::new(1).n_heads;
    let step = 2 * heads;
    match text.trim().parse::<usize>() {
        Ok(width) if width > 0 && width <= MAX && width.is_multiple_of(step) => Ok(width),
        _ => Err(format!(
            "must be a positive multiple of {step} of at most {MAX}, so that it splits into \
             {heads} attention heads of an even width"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_start_at_one_and_are_bounded() {
        assert_eq!(count("1"), Ok(1));
        assert_eq!(count(" 16 "), Ok(16));
        assert_eq!(count("1000000000"), Ok(1_000_000_000));
        for bad in [
            "0",
            "-1",
            "1.5",
            "",
            "x",
            "1000000001",
            "18446744073709551615",
        ] {
            assert!(count(bad).is_err(), "{bad:?}");
        }
        assert_eq!(small_count("1024"), Ok(1024));
        for bad in ["0", "1025", "4294967296"] {
            let error = small_count(bad).expect_err(bad);
            assert!(error.contains("from 1 to 1024"), "{error}");
        }
        assert_eq!(answer_tokens::<u64>("4096"), Ok(4096));
        assert!(answer_tokens::<usize>("18446744073709551615").is_err());
        assert_eq!(token_budget::<u64>("93500000"), Ok(93_500_000));
        assert!(token_budget::<usize>("18446744073709551615").is_err());
    }

    #[test]
    fn sampling_settings_and_times_keep_to_their_ranges() {
        assert_eq!(temperature("0"), Ok(0.0));
        assert_eq!(top_p("1"), Ok(1.0));
        assert_eq!(duration("90s"), Ok(std::time::Duration::from_secs(90)));
        for bad in ["-0.1", "nan", "inf"] {
            assert!(temperature(bad).is_err(), "temperature {bad:?}");
        }
        for bad in ["0", "1.01", "nan"] {
            assert!(top_p(bad).is_err(), "top_p {bad:?}");
        }
        for bad in ["0s", "-5s", "soon", ""] {
            assert!(duration(bad).is_err(), "duration {bad:?}");
        }
    }

    #[test]
    fn probabilities_keep_to_their_ranges() {
        assert_eq!(delta_pred("0.95"), Ok(0.95));
        assert_eq!(delta_pred("1"), Ok(1.0));
        for bad in ["0.5", "0", "-1", "2", "nan", "inf", "-inf", "x"] {
            assert!(delta_pred(bad).is_err(), "δ_pred {bad:?}");
        }
        assert_eq!(delta_std("0"), Ok(0.0));
        for bad in ["-0.1", "nan", "inf"] {
            assert!(delta_std(bad).is_err(), "δ_std {bad:?}");
        }
        assert_eq!(tau("0.5"), Ok(0.5));
        for bad in ["0", "1", "nan", "-0.2"] {
            assert!(tau(bad).is_err(), "τ {bad:?}");
        }
        assert_eq!(bits("0.2864"), Ok(0.2864));
        assert_eq!(bits("4.5"), Ok(4.5));
        for bad in ["-1", "nan", "inf"] {
            assert!(bits(bad).is_err(), "bits {bad:?}");
        }
        assert_eq!(fraction("1"), Ok(1.0));
        for bad in ["0", "1.01", "nan"] {
            assert!(fraction(bad).is_err(), "fraction {bad:?}");
        }
    }

    #[test]
    fn rates_and_weights_are_finite() {
        assert_eq!(learning_rate("3e-3"), Ok(3e-3));
        for bad in ["0", "-1e-3", "nan", "inf"] {
            assert!(learning_rate(bad).is_err(), "learning rate {bad:?}");
        }
        assert_eq!(weight("0"), Ok(0.0));
        for bad in ["-0.5", "nan", "inf"] {
            assert!(weight(bad).is_err(), "weight {bad:?}");
        }
        assert_eq!(relative_weight("39"), Ok(39.0));
        for bad in ["0", "-1", "nan", "inf"] {
            assert!(relative_weight(bad).is_err(), "relative weight {bad:?}");
        }
    }

    #[test]
    fn the_small_width_splits_into_even_heads() {
        assert_eq!(small_width("64"), Ok(64));
        assert_eq!(small_width("8"), Ok(8));
        for bad in ["0", "65", "12", "4", "1048576"] {
            let error = small_width(bad).expect_err(bad);
            assert!(error.contains("multiple of 8"), "{error}");
        }
    }
}
