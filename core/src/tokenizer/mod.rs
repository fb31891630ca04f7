//! The step tokenizer: a `tokenizers` tokenizer plus the special tokens ActPRM needs (padding,
//! classification, and the step separator). Separators are never produced by tokenising text:
//! special tokens written in user text are tokenised as plain text.

mod separator;

use burn::config::Config;
use std::collections::HashMap;

use tokenizers::models::wordlevel::WordLevel;
use tokenizers::normalizers::Lowercase;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{
    AddedToken, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer,
    PreTokenizerWrapper, Tokenizer,
};

pub use separator::SeparatorToken;

use crate::tasks::synthetic::{SyntheticConfig, vocabulary};

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
    /// Whether the separator is added to the vocabulary or is a token it already has.
    #[config(default = "SeparatorToken::Added")]
    pub separator_token: SeparatorToken,
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
    /// A separator meant to be an existing token reads as several tokens, or none.
    #[error(
        "the step separator {separator:?} reads as {count} tokens; it must be one token the \
         vocabulary has"
    )]
    SeparatorNotOneToken {
        /// The separator's text.
        separator: String,
        /// How many tokens it reads as.
        count: usize,
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
        word_level(vocabulary(config), BertPreTokenizer.into())
    }

    /// A word-level tokenizer for real text, its vocabulary learnt from `texts`: lower-cases,
    /// splits on whitespace and punctuation and numbers into single digits (so any number can
    /// be written with the ten digit tokens), and keeps the `config.max_words` most frequent
    /// words seen at least `config.min_count` times (ties in alphabetical order); other words
    /// read as the unknown token.
    pub fn for_corpus<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        config: &CorpusVocabularyConfig,
    ) -> Self {
        let pre_tokenizer: PreTokenizerWrapper =
            Sequence::new(vec![BertPreTokenizer.into(), Digits::new(true).into()]).into();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for text in texts {
            let mut pieces = PreTokenizedString::from(text.to_lowercase().as_str());
            pre_tokenizer
                .pre_tokenize(&mut pieces)
                .expect("splitting on whitespace, punctuation and digits cannot fail");
            for (piece, _, _) in pieces.get_splits(OffsetReferential::Original, OffsetType::Byte) {
                *counts.entry(piece.to_string()).or_default() += 1;
            }
        }
        let digits = (0..10).map(|digit| digit.to_string());
        let mut words: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(word, count)| {
                *count >= config.min_count
                    && !(word.len() == 1 && word.as_bytes()[0].is_ascii_digit())
            })
            .collect();
        words.sort_by(|(a, count_a), (b, count_b)| count_b.cmp(count_a).then_with(|| a.cmp(b)));
        let words = words
            .into_iter()
            .take(config.max_words)
            .map(|(word, _)| word);
        word_level(digits.chain(words), pre_tokenizer)
    }

    /// Reads a `tokenizer.json`. The padding and classification tokens named in `special` must
    /// exist; the separator is added as a special token when the vocabulary lacks it.
    pub fn from_json(json: &str, special: &SpecialTokensConfig) -> Result<Self, TokenizerError> {
        Self::from_tokenizer(Self::parse_json(json)?, special)
    }

    /// A `tokenizer.json` as the `tokenizers` crate reads it, before
    /// [`StepTokenizer::from_tokenizer`] wraps it.
    pub fn parse_json(json: &str) -> Result<Tokenizer, TokenizerError> {
        // The tokenizers crate panics on some malformed JSON (in its decoder section) instead
        // of returning an error: the text is checked to be JSON first.
        serde_json::from_str::<serde::de::IgnoredAny>(json)
            .map_err(|error| TokenizerError::Parse(error.to_string()))?;
        json.parse()
            .map_err(|error: tokenizers::Error| TokenizerError::Parse(error.to_string()))
    }

    /// The tokenizer as `tokenizer.json` text, readable by [`StepTokenizer::from_json`].
    pub fn to_json(&self) -> String {
        self.inner
            .to_string(false)
            .expect("a tokenizer always serialises to JSON")
    }

    /// Wraps `inner`: checks the required special tokens, registers the special tokens (adding
    /// the separator if absent), and turns off padding, truncation and special-token matching.
    pub fn from_tokenizer(
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
        let separator_id = match special.separator_token {
            SeparatorToken::Added => {
                inner.add_special_tokens([AddedToken::from(special.separator.clone(), true)])?;
                inner
                    .token_to_id(&special.separator)
                    .expect("the separator was just added")
            }
            SeparatorToken::Existing => existing_token(&inner, &special.separator)?,
        };
        let specials =
            [&special.pad, &special.cls].map(|token| AddedToken::from(token.clone(), true));
        inner.add_special_tokens(specials)?;
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

    /// The id of `token`, when the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
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

/// The id of the one existing token `text` reads as: a token by that name (a reserved special
/// token such as `<extra_0>`), else the single token `text` encodes to (`"\n\n"`).
fn existing_token(inner: &Tokenizer, text: &str) -> Result<u32, TokenizerError> {
    if let Some(id) = inner.token_to_id(text) {
        return Ok(id);
    }
    let ids = inner.encode_fast(text, false)?.get_ids().to_vec();
    match ids[..] {
        [id] => Ok(id),
        _ => Err(TokenizerError::SeparatorNotOneToken {
            separator: text.to_string(),
            count: ids.len(),
        }),
    }
}

/// A lower-casing word-level tokenizer over the special tokens (padding first, so its id is 0)
/// and then `words`, splitting text with `pre_tokenizer`.
fn word_level(
    words: impl IntoIterator<Item = String>,
    pre_tokenizer: PreTokenizerWrapper,
) -> StepTokenizer {
    let special = SpecialTokensConfig::new();
    let tokens = [&special.pad, &special.unk, &special.cls, &special.separator]
        .map(String::clone)
        .into_iter()
        .chain(words);
    let model = WordLevel::builder()
        .vocab(tokens.zip(0..).collect())
        .unk_token(special.unk.clone())
        .build()
        .expect("the vocabulary contains its unknown token");
    let mut inner = Tokenizer::new(model);
    inner
        .with_normalizer(Some(Lowercase))
        .expect("setting a normalizer on an empty added vocabulary cannot fail");
    inner.with_pre_tokenizer(Some(pre_tokenizer));
    StepTokenizer::from_tokenizer(inner, &special)
        .expect("the vocabulary contains every special token")
}

/// How [`StepTokenizer::for_corpus`] chooses its vocabulary.
#[derive(Config, Debug, PartialEq)]
pub struct CorpusVocabularyConfig {
    /// Most words kept, besides the special tokens and the ten digits.
    #[config(default = 8000)]
    pub max_words: usize,
    /// Fewest occurrences for a word to be kept.
    #[config(default = 2)]
    pub min_count: usize,
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
    fn a_corpus_vocabulary_keeps_frequent_words_and_spells_numbers_in_digits() {
        let corpus = [
            "Mia has 120 apples.",
            "Mia sells 45 apples.",
            "Leo waves once.",
        ];
        let config = CorpusVocabularyConfig::new().with_max_words(3);
        let tokenizer = StepTokenizer::for_corpus(corpus, &config);
        // Specials, ten digits, then "." (3 times), "apples" and "mia" (2 each).
        assert_eq!(tokenizer.vocab_size(), 4 + 10 + 3);
        let ids = tokenizer.encode_text("MIA has 907 apples.").unwrap();
        let tokens: Vec<String> = ids
            .iter()
            .map(|id| tokenizer.inner.id_to_token(*id).unwrap())
            .collect();
        assert_eq!(tokens, ["mia", "[UNK]", "9", "0", "7", "apples", "."]);
        let reloaded =
            StepTokenizer::from_json(&tokenizer.to_json(), &SpecialTokensConfig::new()).unwrap();
        assert_eq!(reloaded.encode_text("MIA has 907 apples.").unwrap(), ids);
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
            .vocab(words.iter().map(ToString::to_string).zip(0..).collect())
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

    /// An existing separator is found by name, and the vocabulary does not grow; text that
    /// reads as no token is refused (a byte-level BPE decoder's `"\n\n"`, one token, is in
    /// the decoder tests).
    #[test]
    fn an_existing_separator_is_never_added() {
        let json = word_level_json(&["[PAD]", "[UNK]", "[CLS]", "<sep>", "then"]);
        let existing = |separator: &str| {
            let special = SpecialTokensConfig::new()
                .with_separator(separator.to_string())
                .with_separator_token(SeparatorToken::Existing);
            StepTokenizer::from_json(&json, &special)
        };
        let by_name = existing("<sep>").unwrap();
        assert_eq!((by_name.separator_id(), by_name.vocab_size()), (3, 5));
        let error = existing("").unwrap_err();
        assert!(
            matches!(error, TokenizerError::SeparatorNotOneToken { count: 0, .. }),
            "{error}"
        );
    }

    /// Special tokens saved before the separator's origin was recorded read as added.
    #[test]
    fn special_tokens_without_a_separator_origin_read_as_added() {
        let json = r#"{"pad":"[PAD]","unk":"[UNK]","cls":"[CLS]","separator":"[STEP]"}"#;
        let special: SpecialTokensConfig = serde_json::from_str(json).unwrap();
        assert_eq!(special.separator_token, SeparatorToken::Added);
        let existing = SpecialTokensConfig::new().with_separator_token(SeparatorToken::Existing);
        let json = serde_json::to_string(&existing).unwrap();
        assert!(json.contains(r#""separator_token":"existing""#), "{json}");
        let read: SpecialTokensConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(read, existing);
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
