//! A synthetic problem as structured data (a story and a written solution) and its rendering
//! into the question and step texts of a [`Trajectory`].

use super::event::EventKind;
use super::templates;
use super::vocabulary::{Character, growth_word, slot_name};
use crate::trajectory::{ProcessLabel, Trajectory};

/// One arithmetic event of a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Event {
    /// What happens.
    pub kind: EventKind,
    /// The quantity the question states for this event.
    pub amount: u32,
}

/// A story: who, what, how many at the start, and what happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Story {
    /// The protagonist.
    pub character: Character,
    /// The (plural) item counted.
    pub item: &'static str,
    /// The starting quantity.
    pub start: u32,
    /// The events, one per computation step.
    pub events: Vec<Event>,
}

/// One computation step as written: `before (operator) amount = after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Computation {
    /// The event this step states it computes.
    pub kind: EventKind,
    /// The operation the step applies (the event's own, unless the step slipped).
    pub operation: EventKind,
    /// The value the step starts from.
    pub before: u32,
    /// The quantity the step uses.
    pub amount: u32,
    /// The result the step states.
    pub after: u32,
}

/// A written solution: one computation per event, then the stated answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Solution {
    /// The computation steps.
    pub computations: Vec<Computation>,
    /// The value the final step states as the answer.
    pub answer: u32,
}

impl Story {
    /// The story's question: one sentence per event, then the question itself.
    pub fn question(&self) -> String {
        let events = self
            .events
            .iter()
            .map(|event| self.render(event.kind.question_template(), &[("amount", event.amount)]));
        std::iter::once(self.render(templates::OPENING, &[]))
            .chain(events)
            .chain(std::iter::once(self.render(templates::CLOSING, &[])))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The trajectory of `solution` for this story, labelled with `label`.
    pub fn trajectory(&self, solution: &Solution, label: ProcessLabel) -> Trajectory {
        let computations = solution.computations.iter().map(|step| {
            let numbers = [
                ("before", step.before),
                ("amount", step.amount),
                ("after", step.after),
            ];
            let template = step
                .kind
                .step_template()
                .replace(templates::OPERATOR_SLOT, step.operation.operator());
            self.render(&template, &numbers)
        });
        let answer = self.render(templates::ANSWER_STEP, &[("after", solution.answer)]);
        Trajectory {
            question: self.question(),
            steps: computations.chain(std::iter::once(answer)).collect(),
            label: Some(label),
        }
    }

    /// Fills `template` with this story's words and the named `numbers`, capitalising the first
    /// letter of the sentence. The `{growth}` slot is the verb of the `amount` number.
    fn render(&self, template: &str, numbers: &[(&str, u32)]) -> String {
        let number = |slot: &str| {
            numbers
                .iter()
                .find(|(name, _)| *name == slot)
                .map(|(_, value)| *value)
                .unwrap_or_else(|| panic!("template slot {{{slot}}} has no value"))
        };
        let words: Vec<String> = template
            .split_whitespace()
            .map(|token| match slot_name(token) {
                None => token.to_string(),
                Some("name") => self.character.name.to_string(),
                Some("subject") => self.character.subject.to_string(),
                Some("possessive") => self.character.possessive.to_string(),
                Some("item") => self.item.to_string(),
                Some("start") => self.start.to_string(),
                Some("growth") => growth_word(number("amount"))
                    .expect("growth events only use factors from GROWTH_WORDS")
                    .to_string(),
                Some(slot) => number(slot).to_string(),
            })
            .collect();
        capitalise(&words.join(" "))
    }
}

/// `text` with its first character upper-cased.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
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
                    kind: EventKind::Loss,
                    amount: 3,
                },
                Event {
                    kind: EventKind::Growth,
                    amount: 3,
                },
            ],
        }
    }

    #[test]
    fn question_reads_as_a_story() {
        assert_eq!(
            story().question(),
            "Mia has 12 marbles . She finds 5 more . She loses 3 . \
             Then her marbles triple . How many marbles does Mia have ?"
        );
    }

    #[test]
    fn steps_follow_the_solution() {
        let computation = |kind, before, amount, after| Computation {
            kind,
            operation: kind,
            before,
            amount,
            after,
        };
        let mut solution = Solution {
            computations: vec![
                computation(EventKind::Gain, 12, 5, 18),
                computation(EventKind::Loss, 18, 3, 15),
                computation(EventKind::Growth, 15, 3, 45),
            ],
            answer: 45,
        };
        solution.computations[1].operation = EventKind::Gain;
        solution.computations[1].after = 21;
        let trajectory = story().trajectory(&solution, ProcessLabel::FirstErrorAt(1));
        assert_eq!(
            trajectory.steps,
            [
                "After finding 5 more she has 12 + 5 = 18",
                "After losing 3 she has 18 + 3 = 21",
                "After the marbles triple she has 15 * 3 = 45",
                "The answer is 45",
            ]
        );
        assert_eq!(trajectory.label, Some(ProcessLabel::FirstErrorAt(1)));
    }

    #[test]
    fn events_stay_in_range() {
        assert_eq!(EventKind::Loss.apply(3, 4, 60), None);
        assert_eq!(EventKind::Growth.apply(21, 3, 60), None);
        assert_eq!(EventKind::Gain.apply(55, 5, 60), Some(60));
    }
}
