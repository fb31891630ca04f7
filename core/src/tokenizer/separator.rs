//! How a tokenizer gets its step separator: as a new special token, or as a token its
//! vocabulary already has.

use crate::named_choice::serde_by_name;

/// Where the step separator's id comes from. Written by name (`"added"`, `"existing"`); a
/// configuration saved before this choice existed has none and reads
/// [`SeparatorToken::Added`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeparatorToken {
    /// The separator (`[STEP]`) joins the vocabulary as a new special token, unless the
    /// vocabulary has it; the backbone's embedding table grows a row for it.
    #[default]
    Added,
    /// The separator is text the vocabulary reads as one token it already has (a decoder's
    /// `"\n\n"`, or a reserved token such as Qwen's `<extra_0>`): nothing is added, so a
    /// pretrained decoder reads steps as it read paragraphs in pretraining.
    Existing,
}

impl SeparatorToken {
    /// Every choice, in the order errors list them.
    pub const ALL: [SeparatorToken; 2] = [SeparatorToken::Added, SeparatorToken::Existing];

    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            SeparatorToken::Added => "added",
            SeparatorToken::Existing => "existing",
        }
    }

    /// The choice called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|choice| choice.name() == name)
    }
}

serde_by_name!(SeparatorToken, "separator token");
