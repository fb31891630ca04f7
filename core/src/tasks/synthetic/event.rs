//! The kinds of event a story's sentences state, with the operation each applies and the
//! templates that write it.

use super::templates;

/// What happens to the quantity in one sentence of the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventKind {
    /// The protagonist gets `amount` more.
    Gain,
    /// The protagonist loses `amount`.
    Loss,
    /// The quantity is multiplied by `amount`.
    Growth,
}

impl EventKind {
    /// Every event kind, in declaration order.
    pub const ALL: [EventKind; 3] = [EventKind::Gain, EventKind::Loss, EventKind::Growth];

    /// `value` after this event with `amount`, or `None` if it leaves `0..=max_value`.
    pub fn apply(self, value: u32, amount: u32, max_value: u32) -> Option<u32> {
        match self {
            EventKind::Gain => value.checked_add(amount),
            EventKind::Loss => value.checked_sub(amount),
            EventKind::Growth => value.checked_mul(amount),
        }
        .filter(|result| *result <= max_value)
    }

    /// The template of the question sentence stating this event.
    pub fn question_template(self) -> &'static str {
        match self {
            EventKind::Gain => templates::GAIN_EVENT,
            EventKind::Loss => templates::LOSS_EVENT,
            EventKind::Growth => templates::GROWTH_EVENT,
        }
    }

    /// The symbol of this event's operation in a written computation.
    pub fn operator(self) -> &'static str {
        match self {
            EventKind::Gain => "+",
            EventKind::Loss => "-",
            EventKind::Growth => "*",
        }
    }

    /// The template of the solution step computing this event.
    pub fn step_template(self) -> &'static str {
        match self {
            EventKind::Gain => templates::GAIN_STEP,
            EventKind::Loss => templates::LOSS_STEP,
            EventKind::Growth => templates::GROWTH_STEP,
        }
    }
}
