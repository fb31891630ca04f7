//! A byte-level BPE tokenizer rebuilt from a GGUF file's metadata (`tokenizer.ggml.*`), as
//! llama.cpp stores GPT-2-style vocabularies: the tokens in id order, the merges as `"a b"`
//! strings, each token's type, and a name for how text is split before merging
//! (`tokenizer.ggml.pre`).

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

use crate::gguf::{GgufError, GgufFile, MetadataValue};

/// Token types of `tokenizer.ggml.token_type` that are never merged from text.
const CONTROL: u64 = 3;
const USER_DEFINED: u64 = 4;

/// How Qwen2 splits text before merging: digits one by one, letters with one leading
/// non-letter, punctuation runs, and line breaks apart.
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's: as Qwen2's, but numbers in runs of up to three digits.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The ways of splitting text that are rebuilt, by their `tokenizer.ggml.pre` names.
const SUPPORTED_PRE: &str = "default, gpt2, smollm, qwen2, llama-bpe";

fn strings<'a>(file: &'a GgufFile, key: &str) -> Result<Vec<&'a str>, GgufError> {
    file.metadata(key)
        .and_then(MetadataValue::as_array)
        .ok_or_else(|| GgufError::bad_metadata(key, "is missing or not an array"))?
        .iter()
        .map(|value| {
            value
                .as_str()
                .ok_or_else(|| GgufError::bad_metadata(key, "holds a value that is not a string"))
        })
        .collect()
}

/// The pre-tokenizer `tokenizer.ggml.pre` names.
fn pre_tokenizer(name: &str) -> Result<PreTokenizerWrapper, GgufError> {
    let byte_level = |use_regex| PreTokenizerWrapper::from(ByteLevel::new(false, true, use_regex));
    let split = |pattern: &str| -> Result<PreTokenizerWrapper, GgufError> {
        let split = Split::new(
            SplitPattern::Regex(pattern.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|error| GgufError::bad_metadata("tokenizer.ggml.pre", error.to_string()))?;
        Ok(Sequence::new(vec![split.into(), byte_level(false)]).into())
    };
    match name {
        "default" | "gpt2" => Ok(byte_level(true)),
        "smollm" => Ok(Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into()),
        "qwen2" => split(QWEN2_PATTERN),
        "llama-bpe" => split(LLAMA3_PATTERN),
        other => Err(GgufError::bad_metadata(
            "tokenizer.ggml.pre",
            format!("is `{other}`; the splits rebuilt are {SUPPORTED_PRE}"),
        )),
    }
}

/// The tokenizer a GGUF file describes, as `tokenizer.json` text. Only byte-level BPE
/// (`tokenizer.ggml.model` = `gpt2`) is rebuilt; a SentencePiece vocabulary (`llama`) is
/// refused, to be read from the original checkpoint's `tokenizer.json` instead.
pub fn tokenizer_json(file: &GgufFile) -> Result<String, GgufError> {
    let model = file
        .metadata("tokenizer.ggml.model")
        .and_then(MetadataValue::as_str)
        .ok_or_else(|| GgufError::bad_metadata("tokenizer.ggml.model", "is missing"))?;
    if model != "gpt2" {
        return Err(GgufError::bad_metadata(
            "tokenizer.ggml.model",
            format!(
                "is `{model}`; only byte-level BPE (`gpt2`) vocabularies are rebuilt: load the \
                 checkpoint's directory with its tokenizer.json instead"
            ),
        ));
    }
    let tokens = strings(file, "tokenizer.ggml.tokens")?;
    let merges = strings(file, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    GgufError::bad_metadata(
                        "tokenizer.ggml.merges",
                        format!("holds {merge:?}, not two tokens"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut vocab = Vocab::with_capacity(tokens.len());
    for (id, token) in tokens.iter().enumerate() {
        let id = u32::try_from(id)
            .map_err(|_| GgufError::bad_metadata("tokenizer.ggml.tokens", "is too long"))?;
        vocab.entry(token.to_string()).or_insert(id);
    }
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|error| GgufError::bad_metadata("tokenizer.ggml.merges", error.to_string()))?;
    let pre = file
        .metadata("tokenizer.ggml.pre")
        .and_then(MetadataValue::as_str)
        .unwrap_or("default");
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let types = file
        .metadata("tokenizer.ggml.token_type")
        .and_then(MetadataValue::as_array)
        .unwrap_or_default();
    let special: Vec<AddedToken> = types
        .iter()
        .zip(&tokens)
        .filter_map(|(kind, token)| match kind.as_u64() {
            Some(CONTROL) => Some(AddedToken::from(token.to_string(), true)),
            Some(USER_DEFINED) => Some(AddedToken::from(token.to_string(), false)),
            _ => None,
        })
        .collect();
    tokenizer
        .add_tokens(special)
        .map_err(|error| GgufError::bad_metadata("tokenizer.ggml.tokens", error.to_string()))?;
    tokenizer
        .to_string(false)
        .map_err(|error| GgufError::bad_metadata("tokenizer.ggml.tokens", error.to_string()))
}

/// The token text of the id stored under `key` (`tokenizer.ggml.bos_token_id`), if any.
pub fn token_named_by(file: &GgufFile, key: &str) -> Option<String> {
    let id = usize::try_from(file.metadata(key)?.as_u64()?).ok()?;
    let tokens = file.metadata("tokenizer.ggml.tokens")?.as_array()?;
    tokens.get(id)?.as_str().map(str::to_string)
}
