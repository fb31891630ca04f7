//! The sentence templates of questions and solutions. A template is space-separated tokens;
//! a `{slot}` token is replaced by a value.

/// First sentence of a question: the starting quantity.
pub const OPENING: &str = "{name} has {start} {item} .";
/// Question sentence of a gain event.
pub const GAIN_EVENT: &str = "{subject} finds {amount} more .";
/// Question sentence of a loss event.
pub const LOSS_EVENT: &str = "{subject} loses {amount} .";
/// Question sentence of a multiplication event.
pub const GROWTH_EVENT: &str = "then {possessive} {item} {growth} .";
/// Last sentence of a question.
pub const CLOSING: &str = "how many {item} does {name} have ?";
/// Solution step computing a gain.
pub const GAIN_STEP: &str =
    "after finding {amount} more {subject} has {before} {operator} {amount} = {after}";
/// Solution step computing a loss.
pub const LOSS_STEP: &str =
    "after losing {amount} {subject} has {before} {operator} {amount} = {after}";
/// Solution step computing a multiplication.
pub const GROWTH_STEP: &str =
    "after the {item} {growth} {subject} has {before} {operator} {amount} = {after}";
/// The slot of a step template that holds the symbol of the operation the step applies.
pub const OPERATOR_SLOT: &str = "{operator}";
/// Final solution step.
pub const ANSWER_STEP: &str = "the answer is {after}";

/// Every template, for the vocabulary.
pub const ALL: [&str; 9] = [
    OPENING,
    GAIN_EVENT,
    LOSS_EVENT,
    GROWTH_EVENT,
    CLOSING,
    GAIN_STEP,
    LOSS_STEP,
    GROWTH_STEP,
    ANSWER_STEP,
];
