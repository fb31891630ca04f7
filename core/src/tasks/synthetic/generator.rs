//! The seeded generator: draws a story, solves it, and with probability `error_rate` injects one
//! slip whose effect carries through the later steps, as a real slip would. Item `i` of a seed
//! depends only on `(seed, i)`, so the data are identical on every platform and for any count.

use super::config::{ErrorKind, SyntheticConfig};
use super::event::EventKind;
use super::slip::{draw_slip, solve};
use super::story::{Event, Story};
use super::vocabulary::{CHARACTERS, GROWTH_WORDS, ITEMS};
use crate::rng::SeededRng;
use crate::trajectory::{ProcessLabel, Trajectory};

/// Where and how a generated trajectory goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedError {
    /// The 0-based index of the erroneous step (the final-answer step included).
    pub step: usize,
    /// The kind of slip made there.
    pub kind: ErrorKind,
}

/// A generated trajectory with its generation metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticItem {
    /// The labelled trajectory.
    pub trajectory: Trajectory,
    /// The injected error, or `None` for a correct trajectory.
    pub error: Option<InjectedError>,
}

/// `count` labelled trajectories of the synthetic task for `seed`.
///
/// # Panics
/// When `config` is invalid (see [`SyntheticConfig::validate`]).
pub fn generate(config: &SyntheticConfig, seed: u64, count: usize) -> Vec<Trajectory> {
    generate_items(config, seed, count)
        .into_iter()
        .map(|item| item.trajectory)
        .collect()
}

/// Like [`generate`], keeping which error was injected where.
///
/// # Panics
/// When `config` is invalid (see [`SyntheticConfig::validate`]).
pub fn generate_items(config: &SyntheticConfig, seed: u64, count: usize) -> Vec<SyntheticItem> {
    items(config, seed).take(count).collect()
}

/// The endless sequence of items for `seed`, generated as they are asked for: its first `count`
/// are [`generate_items`]`(config, seed, count)`.
///
/// # Panics
/// When `config` is invalid (see [`SyntheticConfig::validate`]).
pub fn items(config: &SyntheticConfig, seed: u64) -> impl Iterator<Item = SyntheticItem> + '_ {
    if let Err(error) = config.validate() {
        panic!("{error}");
    }
    (0..).map(move |index| generate_item(config, &mut SeededRng::derive(seed, index)))
}

fn generate_item(config: &SyntheticConfig, rng: &mut SeededRng) -> SyntheticItem {
    let story = draw_story(config, rng);
    let slip = if rng.chance(config.error_rate) {
        draw_slip(&story, config, rng)
    } else {
        None
    };
    let solution = solve(&story, slip, config.max_value)
        .expect("stories and slips are drawn so that every value stays in range");
    let error = slip.map(|slip| InjectedError {
        step: slip.step,
        kind: slip.kind,
    });
    let label = ProcessLabel::from_first_error(error.map(|error| error.step));
    SyntheticItem {
        trajectory: story.trajectory(&solution, label),
        error,
    }
}

/// A uniform integer in `low..=high`.
fn uniform(rng: &mut SeededRng, low: u32, high: u32) -> u32 {
    rng.range_inclusive(low.into(), high.into()) as u32
}

fn draw_story(config: &SyntheticConfig, rng: &mut SeededRng) -> Story {
    let character = *rng.choose(&CHARACTERS);
    let item = *rng.choose(&ITEMS);
    let start = uniform(rng, 1, config.max_start);
    let num_events = rng.range_inclusive(config.min_steps as i64, config.max_steps as i64);
    let mut value = start;
    let mut events = Vec::new();
    for _ in 0..num_events {
        let event = draw_event(value, config, rng);
        value = event
            .kind
            .apply(value, event.amount, config.max_value)
            .expect("events are drawn among those that keep the value in range");
        events.push(event);
    }
    Story {
        character,
        item,
        start,
        events,
    }
}

/// An event, uniform over the kinds that keep `value` in `0..=max_value` (nothing grows from 0).
fn draw_event(value: u32, config: &SyntheticConfig, rng: &mut SeededRng) -> Event {
    let factors: Vec<u32> = GROWTH_WORDS
        .iter()
        .map(|(factor, _)| *factor)
        .filter(|factor| {
            value > 0
                && EventKind::Growth
                    .apply(value, *factor, config.max_value)
                    .is_some()
        })
        .collect();
    let mut kinds = Vec::new();
    if value < config.max_value {
        kinds.push(EventKind::Gain);
    }
    if value > 0 {
        kinds.push(EventKind::Loss);
    }
    if !factors.is_empty() {
        kinds.push(EventKind::Growth);
    }
    let kind = *rng.choose(&kinds);
    let amount = match kind {
        EventKind::Gain => uniform(rng, 1, config.max_operand.min(config.max_value - value)),
        EventKind::Loss => uniform(rng, 1, config.max_operand.min(value)),
        EventKind::Growth => *rng.choose(&factors),
    };
    Event { kind, amount }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::synthetic::vocabulary;

    const SEED: u64 = 17;
    const COUNT: usize = 2000;

    fn number(token: &str) -> u32 {
        token
            .parse()
            .unwrap_or_else(|_| panic!("expected a number, got {token:?}"))
    }

    /// Reads `(start, [(operator, amount)])` back from a question's text.
    fn parse_question(question: &str) -> (u32, Vec<(&str, u32)>) {
        let tokens: Vec<&str> = question.split_whitespace().collect();
        let sentences: Vec<&[&str]> = tokens.split(|token| *token == ".").collect();
        let start = sentences[0]
            .iter()
            .find_map(|token| token.parse().ok())
            .unwrap();
        let events = sentences[1..sentences.len() - 1]
            .iter()
            .map(|sentence| {
                let amount = sentence.iter().find_map(|token| token.parse().ok());
                match (sentence.contains(&"finds"), sentence.contains(&"loses")) {
                    (true, _) => ("+", amount.unwrap()),
                    (_, true) => ("-", amount.unwrap()),
                    _ if sentence.contains(&"double") => ("*", 2),
                    _ if sentence.contains(&"triple") => ("*", 3),
                    _ => panic!("unknown event sentence {sentence:?}"),
                }
            })
            .collect();
        (start, events)
    }

    /// Re-checks every step against the question from the text alone; returns the first step
    /// that is arithmetically or referentially wrong.
    fn first_wrong_step(trajectory: &Trajectory) -> Option<usize> {
        let (start, events) = parse_question(&trajectory.question);
        assert_eq!(trajectory.num_steps(), events.len() + 1);
        let mut previous = start;
        let mut first_wrong = None;
        for (step, text) in trajectory.steps.iter().enumerate() {
            let tokens: Vec<&str> = text.split_whitespace().collect();
            let correct = match events.get(step) {
                Some(&(operator, amount)) => {
                    let equals = tokens.iter().position(|token| *token == "=").unwrap();
                    let written = tokens[equals - 2];
                    let [before, used, after] =
                        [equals - 3, equals - 1, equals + 1].map(|index| number(tokens[index]));
                    let result = match written {
                        "+" => before.checked_add(used),
                        "-" => before.checked_sub(used),
                        _ => before.checked_mul(used),
                    };
                    let correct = before == previous
                        && used == amount
                        && written == operator
                        && Some(after) == result;
                    previous = after;
                    correct
                }
                None => number(tokens[tokens.len() - 1]) == previous,
            };
            if !correct && first_wrong.is_none() {
                first_wrong = Some(step);
            }
        }
        first_wrong
    }

    #[test]
    fn same_seed_gives_same_data() {
        let config = SyntheticConfig::new();
        let data = generate(&config, SEED, 50);
        assert_eq!(data, generate(&config, SEED, 50));
        assert_eq!(data[..10], generate(&config, SEED, 10)[..]);
        assert_ne!(data, generate(&config, SEED + 1, 50));
    }

    /// The task with every kind of error enabled.
    fn every_kind() -> SyntheticConfig {
        SyntheticConfig::new().with_error_kinds(ErrorKind::ALL.to_vec())
    }

    #[test]
    fn labels_match_a_recheck_of_the_text() {
        for item in generate_items(&every_kind(), SEED, COUNT) {
            let label = item.trajectory.label.unwrap();
            assert_eq!(
                first_wrong_step(&item.trajectory),
                label.first_error(),
                "{item:?}"
            );
            assert_eq!(item.error.map(|error| error.step), label.first_error());
        }
    }

    #[test]
    fn error_rate_and_kinds_follow_the_config() {
        let items = generate_items(&every_kind().with_error_rate(0.3), SEED, COUNT);
        let errors: Vec<InjectedError> = items.iter().filter_map(|item| item.error).collect();
        let rate = errors.len() as f64 / COUNT as f64;
        assert!((rate - 0.3).abs() < 0.04, "error rate {rate}");
        for kind in ErrorKind::ALL {
            assert!(
                errors.iter().any(|error| error.kind == kind),
                "{kind:?} never drawn"
            );
        }
        assert!(items.iter().any(|item| {
            item.error
                .is_some_and(|error| error.step == item.trajectory.num_steps() - 1)
        }));

        let carry_only = SyntheticConfig::new()
            .with_error_rate(1.0)
            .with_error_kinds(vec![ErrorKind::WrongCarry]);
        for item in generate_items(&carry_only, SEED, 200) {
            assert_eq!(
                item.error.map(|error| error.kind),
                Some(ErrorKind::WrongCarry)
            );
        }
    }

    #[test]
    fn every_value_and_step_count_is_in_range() {
        let config = every_kind().with_max_value(30).with_max_steps(7);
        for trajectory in generate(&config, SEED, COUNT) {
            assert!((4..=8).contains(&trajectory.num_steps()));
            let text = std::iter::once(&trajectory.question).chain(&trajectory.steps);
            for token in text.flat_map(|text| text.split_whitespace()) {
                if let Ok(value) = token.parse::<u32>() {
                    assert!(value <= 30, "{value} out of range in {trajectory:?}");
                }
            }
        }
    }

    #[test]
    fn every_token_is_in_the_vocabulary() {
        let config = every_kind();
        let vocabulary = vocabulary::vocabulary(&config);
        for trajectory in generate(&config, SEED, COUNT) {
            let text = std::iter::once(&trajectory.question).chain(&trajectory.steps);
            for token in text.flat_map(|text| text.split_whitespace()) {
                assert!(
                    vocabulary.contains(&token.to_lowercase()),
                    "{token} not in vocabulary"
                );
            }
        }
    }
}
