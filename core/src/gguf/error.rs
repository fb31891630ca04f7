//! [`GgufError`], why a GGUF file or one of its tensors could not be read.

/// The types [`GgufFile::dequantize`](super::GgufFile::dequantize) can decode, for error messages.
const SUPPORTED_TYPES: &str = "F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K, Q6_K";

/// Why a GGUF file, or one of its tensors, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The bytes do not begin with the GGUF magic.
    #[error("not a GGUF file: it does not begin with the magic bytes \"GGUF\"")]
    NotGguf,
    /// A GGUF version other than 2 or 3 (a big-endian file also lands here: its version reads
    /// as a large number).
    #[error(
        "GGUF version {0} is not supported (this reader reads versions 2 and 3, little-endian)"
    )]
    UnsupportedVersion(u32),
    /// The file ended in the middle of something.
    #[error("the file ends at byte {offset} while reading {what}")]
    Truncated {
        /// What was being read, and where it began.
        what: String,
        /// The length of the file: the byte at which it ended.
        offset: u64,
    },
    /// The header's counts cannot be right.
    #[error("bad GGUF header: {0}")]
    BadHeader(String),
    /// No tensor has the name asked for.
    #[error("the GGUF file has no tensor named `{0}`")]
    UnknownTensor(String),
    /// The tensor's type cannot be dequantised by this reader.
    #[error(
        "tensor `{tensor}` has type {kind}, which cannot be dequantised \
         (supported types: {supported})",
        supported = SUPPORTED_TYPES
    )]
    UnsupportedType {
        /// The tensor's name.
        tensor: String,
        /// The tensor's type, by name where ggml has one.
        kind: String,
    },
    /// A tensor's description is inconsistent or its data lies outside the file.
    #[error("tensor `{tensor}`: {problem}")]
    BadTensor {
        /// The tensor's name (or `#index` where the name itself could not be read).
        tensor: String,
        /// What is wrong.
        problem: String,
    },
    /// A metadata entry cannot be read.
    #[error("metadata key `{key}`: {problem}")]
    BadMetadata {
        /// The key (or `#index` where the key itself could not be read).
        key: String,
        /// What is wrong.
        problem: String,
    },
}

impl GgufError {
    /// The metadata entry `key` is unusable: `problem`.
    pub fn bad_metadata(key: &str, problem: impl Into<String>) -> Self {
        GgufError::BadMetadata {
            key: key.to_string(),
            problem: problem.into(),
        }
    }
}
