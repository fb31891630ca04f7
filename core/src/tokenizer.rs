//! The step tokenizer: a `tokenizers` tokenizer plus the special tokens ActPRM needs (padding,
//! classification, and the step separator). Separators are never produced by tokenising text:
//! special tokens written in user text are tokenised as plain text.

use burn::config::Config;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::normalizers::Lowercase;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{AddedToken, Tokenizer};

use crate::synthetic::{SyntheticConfig, vocabulary};

/// Names of the special tokens of a [`StepTokenizer`].
#[derive(Config, Debug, PartialEq)]
pub struct SpecialTokensConfig {
    /// Padding token; id 0 in the synthetic tokenizer.
    #[config(default = "String::from(\"[PAD]\")")]
    pub pad: String,
    /// Unknown-word token of the synthetic word-level model.
    #[config(default = "String::from(\"[UNK]\")")]
    pub unk: String,
    /// Token at the start of every sequence.
    #[config(default = "String::from(\"[CLS]\")")]
    pub cls: String,
    /// Step separator placed after every step; the model scores the step at this position.
    #[config(default = "String::from(\"[STEP]\")")]
    pub separator: String,
}

/// Why a tokenizer could not be built or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The tokenizer JSON could not be parsed.
    #[error("cannot read the tokenizer JSON: {0}")]
    Parse(String),
    /// A required special token is not in the vocabulary.
    #[error("the tokenizer has no {role} token {token:?}")]
    MissingSpecialToken {
        /// What the token is for ("padding", "classification").
        role: &'static str,
        /// The token's text.
        token: String,
    },
    /// The inner tokenizer failed.
    #[error("tokenizer failure: {0}")]
    Tokenizers(String),
}

impl From<tokenizers::Error> for TokenizerError {
    fn from(error: tokenizers::Error) -> Self {
        TokenizerError::Tokenizers(error.to_string())
    }
}

/// A tokenizer that knows the ids of its padding, classification and step-separator tokens.
#[derive(Debug, Clone)]
pub struct StepTokenizer {
    inner: Tokenizer,
    pad_id: u32,
    cls_id: u32,
    separator_id: u32,
    vocab_size: usize,
}

impl StepTokenizer {
    /// The word-level tokenizer of the synthetic task: the special tokens (padding first, so its
    /// id is 0), then [`vocabulary`]; lower-cases, and splits on whitespace and punctuation, so
    /// every whole number is one token.
    pub fn for_synthetic(config: &SyntheticConfig) -> Self {
        let special = SpecialTokensConfig::new();
        let tokens = [&special.pad, &special.unk, &special.cls, &special.separator]
            .map(String::clone)
            .into_iter()
            .chain(vocabulary(config));
        let model = WordLevel::builder()
            .vocab(tokens.zip(0..).collect())
            .unk_token(special.unk.clone())
            .build()
            .expect("the synthetic vocabulary contains its unknown token");
        let mut inner = Tokenizer::new(model);
        inner
            .with_normalizer(Some(Lowercase))
            .expect("setting a normalizer on an empty added vocabulary cannot fail");
        inner.with_pre_tokenizer(Some(BertPreTokenizer));
        Self::from_tokenizer(inner, &special)
            .expect("the synthetic vocabulary contains every special token")
    }

    /// Reads a `tokenizer.json`. The padding and classification tokens named in `special` must
    /// exist; the separator is added as a special token when the vocabulary lacks it.
    pub fn from_json(json: &str, special: &SpecialTokensConfig) -> Result<Self, TokenizerError> {
        let inner: Tokenizer = json
            .parse()
            .map_err(|error: tokenizers::Error| TokenizerError::Parse(error.to_string()))?;
        Self::from_tokenizer(inner, special)
    }

    /// The tokenizer as `tokenizer.json` text, readable by [`StepTokenizer::from_json`].
    pub fn to_json(&self) -> String {
        self.inner
            .to_string(false)
            .expect("a tokenizer always serialises to JSON")
    }

    /// Wraps `inner`: checks the required special tokens, registers the special tokens (adding
    /// the separator if absent), and turns off padding, truncation and special-token matching.
    fn from_tokenizer(
        mut inner: Tokenizer,
        special: &SpecialTokensConfig,
    ) -> Result<Self, TokenizerError> {
        let required = |role: &'static str, token: &String| {
            inner
                .token_to_id(token)
                .ok_or_else(|| TokenizerError::MissingSpecialToken {
                    role,
                    token: token.clone(),
                })
        };
        let pad_id = required("padding", &special.pad)?;
        let cls_id = required("classification", &special.cls)?;
        let specials = [&special.pad, &special.cls, &special.separator]
            .map(|token| AddedToken::from(token.clone(), true));
        inner.add_special_tokens(specials)?;
        let separator_id = inner
            .token_to_id(&special.separator)
            .expect("the separator was just added");
        inner.set_encode_special_tokens(true);
        inner.with_padding(None).with_truncation(None)?;
        let vocab_size = inner
            .get_vocab(true)
            .into_values()
            .max()
            .map_or(0, |max_id| max_id as usize + 1);
        Ok(Self {
            inner,
            pad_id,
            cls_id,
            separator_id,
            vocab_size,
        })
    }

    /// Id of the padding token.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Id of the token that starts every sequence.
    pub fn cls_id(&self) -> u32 {
        self.cls_id
    }

    /// Id of the step separator.
    pub fn separator_id(&self) -> u32 {
        self.separator_id
    }

    /// Size of an embedding table covering every id (one more than the largest id).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The ids of `text`, with no special tokens added, no padding and no truncation. Special
    /// tokens written in `text` (a literal `[STEP]`) are tokenised as plain text.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self.inner.encode_fast(text, false)?;
        Ok(encoding.get_ids().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic() -> StepTokenizer {
        StepTokenizer::for_synthetic(&SyntheticConfig::new())
    }

    #[test]
    fn synthetic_tokenizer_has_fixed_special_ids() {
        let tokenizer = synthetic();
        assert_eq!(tokenizer.pad_id(), 0);
        assert_eq!(tokenizer.cls_id(), 2);
        assert_eq!(tokenizer.separator_id(), 3);
        let expected = 4 + vocabulary(&SyntheticConfig::new()).len();
        assert_eq!(tokenizer.vocab_size(), expected);
    }

    #[test]
    fn words_numbers_and_punctuation_are_single_tokens() {
        let tokenizer = synthetic();
        let ids = tokenizer.encode_text("Mia has 12+5=17 marbles.").unwrap();
        let tokens: Vec<String> = ids
            .iter()
            .map(|id| tokenizer.inner.id_to_token(*id).unwrap())
            .collect();
        assert_eq!(
            tokens,
            ["mia", "has", "12", "+", "5", "=", "17", "marbles", "."]
        );
        let unknown = tokenizer.encode_text("zebra 61").unwrap();
        assert_eq!(unknown, [1, 1]);
    }

    #[test]
    fn literal_separator_text_is_not_a_separator() {
        let tokenizer = synthetic();
        let ids = tokenizer.encode_text("so [STEP] 5").unwrap();
        assert!(!ids.contains(&tokenizer.separator_id()), "{ids:?}");
    }

    #[test]
    fn json_round_trip_keeps_ids() {
        let tokenizer = synthetic();
        let reloaded =
            StepTokenizer::from_json(&tokenizer.to_json(), &SpecialTokensConfig::new()).unwrap();
        let text = "Leo has 7 coins . He loses 3 .";
        assert_eq!(
            reloaded.encode_text(text).unwrap(),
            tokenizer.encode_text(text).unwrap()
        );
        assert_eq!(reloaded.separator_id(), tokenizer.separator_id());
        assert_eq!(reloaded.vocab_size(), tokenizer.vocab_size());
    }

    fn word_level_json(words: &[&str]) -> String {
        let model = WordLevel::builder()
            .vocab(words.iter().map(|word| word.to_string()).zip(0..).collect())
            .unk_token(String::from("[UNK]"))
            .build()
            .unwrap();
        Tokenizer::new(model).to_string(false).unwrap()
    }

    #[test]
    fn missing_separator_is_added_as_special() {
        let json = word_level_json(&["[PAD]", "[UNK]", "[CLS]", "<sep>"]);
        let special = SpecialTokensConfig::new().with_separator(String::from("<extra_0>"));
        let tokenizer = StepTokenizer::from_json(&json, &special).unwrap();
        assert_eq!(tokenizer.separator_id(), 4);
        assert_eq!(tokenizer.vocab_size(), 5);
        let ids = tokenizer.encode_text("a <extra_0> b").unwrap();
        assert!(!ids.contains(&tokenizer.separator_id()), "{ids:?}");
    }

    #[test]
    fn missing_required_token_is_an_error() {
        let json = word_level_json(&["[UNK]", "[CLS]"]);
        let error = StepTokenizer::from_json(&json, &SpecialTokensConfig::new()).unwrap_err();
        assert!(matches!(
            error,
            TokenizerError::MissingSpecialToken {
                role: "padding",
                ..
            }
        ));
        assert!(matches!(
            StepTokenizer::from_json("{", &SpecialTokensConfig::new()),
            Err(TokenizerError::Parse(_))
        ));
    }
}
