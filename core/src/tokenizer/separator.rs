//! How a tokenizer gets its step separator: as a new special token, or as a token its
//! vocabulary already has.

use crate::named_choice::{NamedChoice, serde_by_name};

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

impl NamedChoice for SeparatorToken {
    const ALL: &'static [Self] = &[SeparatorToken::Added, SeparatorToken::Existing];

    /// The name used in files.
    fn name(self) -> &'static str {
        match self {
            SeparatorToken::Added => "added",
            SeparatorToken::Existing => "existing",
        }
    }
}

serde_by_name!(SeparatorToken, "separator token");
