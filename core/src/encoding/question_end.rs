//! Whether a separator also ends the question.

use crate::named_choice::{NamedChoice, serde_by_name};

/// What lies between the question and the first step. Written by name (`"joined"`,
/// `"separated"`); a configuration saved before this choice existed reads
/// [`QuestionEnd::Joined`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuestionEnd {
    /// Nothing: the first step's tokens follow the question's.
    #[default]
    Joined,
    /// A separator, never scored: a pretrained decoder then reads the question and each step
    /// as the paragraphs they are.
    Separated,
}

serde_by_name!(QuestionEnd, "question end");

impl NamedChoice for QuestionEnd {
    const ALL: &'static [Self] = &[QuestionEnd::Joined, QuestionEnd::Separated];

    /// The name used in files.
    fn name(self) -> &'static str {
        match self {
            QuestionEnd::Joined => "joined",
            QuestionEnd::Separated => "separated",
        }
    }
}

impl QuestionEnd {
    /// Tokens the question's end takes: 1 for a separator.
    pub fn tokens(self) -> usize {
        match self {
            QuestionEnd::Joined => 0,
            QuestionEnd::Separated => 1,
        }
    }
}
