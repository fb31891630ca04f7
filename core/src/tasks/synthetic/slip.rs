//! Injecting one slip into a story's solution: solving a story with an optional slip (later
//! steps continue from what was written), and drawing a slip that keeps every value in range.

use super::config::{ErrorKind, SyntheticConfig};
use super::event::EventKind;
use super::story::{Computation, Solution, Story};
use super::vocabulary::GROWTH_WORDS;
use crate::rng::SeededRng;

/// One slip: at `step`, write `wrong` where the `kind` of quantity belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slip {
    /// Which quantity is wrong.
    pub kind: ErrorKind,
    /// The 0-based step where it is wrong.
    pub step: usize,
    /// What is written instead of the right quantity.
    pub wrong: Wrong,
}

/// The wrong quantity a slip writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wrong {
    /// A wrong number (a result, a carried value or an operand).
    Number(u32),
    /// A wrong operation, applied correctly.
    Operation(EventKind),
}

/// The written solution of `story` with an optional slip; `None` when a value leaves
/// `0..=max_value`. After a slip, later steps continue correctly from what was written.
pub(super) fn solve(story: &Story, slip: Option<Slip>, max_value: u32) -> Option<Solution> {
    let slipped = |kind: ErrorKind, step: usize| {
        slip.filter(|slip| slip.kind == kind && slip.step == step)
            .map(|slip| slip.wrong)
    };
    let number = |kind: ErrorKind, step: usize| match slipped(kind, step) {
        Some(Wrong::Number(wrong)) => Some(wrong),
        _ => None,
    };
    let mut value = story.start;
    let mut computations = Vec::with_capacity(story.events.len());
    for (step, event) in story.events.iter().enumerate() {
        let before = number(ErrorKind::WrongCarry, step).unwrap_or(value);
        let amount = number(ErrorKind::WrongOperand, step).unwrap_or(event.amount);
        let operation = match slipped(ErrorKind::WrongOperation, step) {
            Some(Wrong::Operation(operation)) => operation,
            _ => event.kind,
        };
        let after = match number(ErrorKind::WrongResult, step) {
            Some(wrong) => wrong,
            None => operation.apply(before, amount, max_value)?,
        };
        computations.push(Computation {
            kind: event.kind,
            operation,
            before,
            amount,
            after,
        });
        value = after;
    }
    let answer = number(ErrorKind::WrongCarry, story.events.len()).unwrap_or(value);
    Some(Solution {
        computations,
        answer,
    })
}

/// A slip, uniform over the enabled kinds, then over the steps where that kind fits, then over
/// its wrong values; `None` when no enabled slip keeps every value in range.
pub(super) fn draw_slip(
    story: &Story,
    config: &SyntheticConfig,
    rng: &mut SeededRng,
) -> Option<Slip> {
    let correct = solve(story, None, config.max_value)?;
    // options[kind][step]: the feasible slips of one enabled kind at one step, empties dropped.
    let options: Vec<Vec<Vec<Slip>>> = config
        .error_kinds
        .iter()
        .map(|kind| {
            let last_step = match kind {
                ErrorKind::WrongCarry => story.events.len(),
                ErrorKind::WrongResult | ErrorKind::WrongOperand | ErrorKind::WrongOperation => {
                    story.events.len() - 1
                }
            };
            (0..=last_step)
                .map(|step| {
                    wrong_values(story, &correct, *kind, step, config)
                        .into_iter()
                        .map(|wrong| Slip {
                            kind: *kind,
                            step,
                            wrong,
                        })
                        .filter(|slip| solve(story, Some(*slip), config.max_value).is_some())
                        .collect::<Vec<_>>()
                })
                .filter(|slips| !slips.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|steps| !steps.is_empty())
        .collect();
    if options.is_empty() {
        return None;
    }
    let steps = rng.choose(&options);
    let slips = rng.choose(steps);
    Some(*rng.choose(slips))
}

/// What a slip of `kind` at `step` may write: another operation, or an in-range number
/// differing by `1..=max_error_offset` from the right one (a growth step's operand only takes
/// the task's other factors). Whether later values stay in range is checked by the caller.
fn wrong_values(
    story: &Story,
    correct: &Solution,
    kind: ErrorKind,
    step: usize,
    config: &SyntheticConfig,
) -> Vec<Wrong> {
    let near = |right: u32, low: u32| -> Vec<u32> {
        (1..=config.max_error_offset)
            .flat_map(|offset| [right.checked_sub(offset), right.checked_add(offset)])
            .flatten()
            .filter(|wrong| (low..=config.max_value).contains(wrong))
            .collect()
    };
    let numbers = |values: Vec<u32>| values.into_iter().map(Wrong::Number).collect();
    match kind {
        ErrorKind::WrongResult => numbers(near(correct.computations[step].after, 0)),
        ErrorKind::WrongCarry => numbers(match correct.computations.get(step) {
            Some(computation) => near(computation.before, 0),
            None => near(correct.answer, 0),
        }),
        ErrorKind::WrongOperand => {
            let event = story.events[step];
            numbers(match event.kind {
                EventKind::Gain | EventKind::Loss => near(event.amount, 1),
                EventKind::Growth => near(event.amount, 1)
                    .into_iter()
                    .filter(|factor| GROWTH_WORDS.iter().any(|(known, _)| known == factor))
                    .collect(),
            })
        }
        ErrorKind::WrongOperation => {
            let stated = story.events[step].kind;
            EventKind::ALL
                .into_iter()
                .filter(|operation| *operation != stated)
                .map(Wrong::Operation)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::synthetic::story::Event;
    use crate::tasks::synthetic::vocabulary::CHARACTERS;

    fn story() -> Story {
        Story {
            character: CHARACTERS[0],
            item: "marbles",
            start: 12,
            events: vec![
                Event {
                    kind: EventKind::Gain,
                    amount: 5,
                },
                Event {
                    kind: EventKind::Growth,
                    amount: 2,
                },
            ],
        }
    }

    #[test]
    fn later_steps_continue_from_the_slip() {
        let slip = Slip {
            kind: ErrorKind::WrongResult,
            step: 0,
            wrong: Wrong::Number(18),
        };
        let solution = solve(&story(), Some(slip), 60).unwrap();
        assert_eq!(solution.computations[1].before, 18);
        assert_eq!(solution.computations[1].after, 36);
        assert_eq!(solution.answer, 36);
        let too_big = Slip {
            kind: ErrorKind::WrongResult,
            step: 0,
            wrong: Wrong::Number(31),
        };
        assert_eq!(solve(&story(), Some(too_big), 60), None);
    }

    #[test]
    fn wrong_values_stay_near_the_right_one() {
        let config = SyntheticConfig::new().with_max_error_offset(2);
        let correct = solve(&story(), None, config.max_value).unwrap();
        let mut carries = wrong_values(&story(), &correct, ErrorKind::WrongCarry, 2, &config);
        carries.sort_by_key(|wrong| match wrong {
            Wrong::Number(value) => *value,
            Wrong::Operation(_) => u32::MAX,
        });
        let numbers = |values: &[u32]| {
            values
                .iter()
                .copied()
                .map(Wrong::Number)
                .collect::<Vec<_>>()
        };
        assert_eq!(carries, numbers(&[32, 33, 35, 36]));
        let factors = wrong_values(&story(), &correct, ErrorKind::WrongOperand, 1, &config);
        assert_eq!(factors, numbers(&[3]));
    }

    #[test]
    fn a_wrong_operation_is_applied_correctly_and_carried_on() {
        let config = SyntheticConfig::new();
        let correct = solve(&story(), None, config.max_value).unwrap();
        let operations = wrong_values(&story(), &correct, ErrorKind::WrongOperation, 1, &config);
        assert_eq!(
            operations,
            [
                Wrong::Operation(EventKind::Gain),
                Wrong::Operation(EventKind::Loss)
            ]
        );
        let slip = Slip {
            kind: ErrorKind::WrongOperation,
            step: 1,
            wrong: Wrong::Operation(EventKind::Loss),
        };
        let solution = solve(&story(), Some(slip), config.max_value).unwrap();
        let step = solution.computations[1];
        assert_eq!(
            (step.kind, step.operation),
            (EventKind::Growth, EventKind::Loss)
        );
        assert_eq!((step.before, step.amount, step.after), (17, 2, 15));
        assert_eq!(solution.answer, 15);
    }
}
