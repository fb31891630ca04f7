//! A reader of GGUF files, the single-file model format of ggml and llama.cpp, with
//! dequantisation of its common tensor types to `f32`.
//!
//! # Layout (versions 2 and 3, little-endian)
//!
//! ```text
//! "GGUF"                      4 magic bytes
//! version                     u32 (2 or 3; version 3 only added big-endian files, not read here)
//! tensor_count                u64
//! metadata_count              u64
//! metadata_count × entry:     key (string), value type (u32), value
//! tensor_count × tensor info: name (string), n_dims (u32), n_dims × u64 dimensions,
//!                             ggml type (u32), offset (u64, relative to the data section)
//! padding                     to the next multiple of the alignment
//! data section                the tensors' bytes, each at its offset
//! ```
//!
//! A string is a `u64` byte length followed by that many UTF-8 bytes. A value is one of
//! thirteen types (see [`MetadataValue`]); an array value is an element type (u32), a `u64`
//! count, then the elements. The alignment is 32 unless the metadata key `general.alignment`
//! (a `u32`) says otherwise. Dimensions are stored fastest-varying first (`ne[0]` is the length
//! of a row), the reverse of PyTorch's shape order, and a tensor's data is laid out row after
//! row, so its values in storage order are its row-major values.
//!
//! The reader takes the whole file as bytes (read or memory-mapped by the caller), and parsing
//! touches only the header: [`GgufFile::dequantize`] later decodes one tensor from the same
//! bytes. Every length and count the file gives is checked against the bytes that remain before
//! anything is allocated, so a truncated or hostile file is refused with a [`GgufError`], never
//! a panic or an outsized allocation.

mod dequant;
mod reader;
#[cfg(test)]
mod test_writer;

use std::collections::HashMap;
use std::ops::Range;

use reader::ByteReader;

/// The alignment of the data section and of each tensor's data when the metadata does not set
/// `general.alignment`.
const DEFAULT_ALIGNMENT: u64 = 32;

/// The most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;

/// How deep arrays of arrays may nest, a bound on the parser's recursion. (ggml itself reads no
/// nested arrays at all.)
const MAX_ARRAY_NESTING: u32 = 4;

/// The fewest bytes a metadata entry can take: an empty key (8), the value type (4) and a
/// one-byte value.
const MIN_METADATA_ENTRY_BYTES: u64 = 8 + 4 + 1;

/// The fewest bytes a tensor info can take: an empty name (8), `n_dims` (4), no dimensions,
/// the type (4) and the offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

/// The types [`GgufFile::dequantize`] can decode, for error messages.
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

/// One metadata value. GGUF's value type ids are, in order: `U8` 0, `I8` 1, `U16` 2, `I16` 3,
/// `U32` 4, `I32` 5, `F32` 6, `Bool` 7, `String` 8, `Array` 9, `U64` 10, `I64` 11, `F64` 12.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// An unsigned byte.
    U8(u8),
    /// A signed byte.
    I8(i8),
    /// An unsigned 16-bit integer.
    U16(u16),
    /// A signed 16-bit integer.
    I16(i16),
    /// An unsigned 32-bit integer.
    U32(u32),
    /// A signed 32-bit integer.
    I32(i32),
    /// A 32-bit float.
    F32(f32),
    /// A boolean (one byte, 0 or 1).
    Bool(bool),
    /// A string. Bytes that are not valid UTF-8 are replaced by U+FFFD, as a tokenizer's
    /// vocabulary occasionally holds such tokens and the file should still load.
    String(String),
    /// An array; the file gives all its elements one type.
    Array(Vec<MetadataValue>),
    /// An unsigned 64-bit integer.
    U64(u64),
    /// A signed 64-bit integer.
    I64(i64),
    /// A 64-bit float.
    F64(f64),
}

impl MetadataValue {
    /// The value of an integer of any width and signedness, when it is not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(u64::from(v)),
            Self::U16(v) => Some(u64::from(v)),
            Self::U32(v) => Some(u64::from(v)),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value of any number, integer or float (64-bit integers beyond 2^53 rounded).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::U8(v) => Some(f64::from(v)),
            Self::I8(v) => Some(f64::from(v)),
            Self::U16(v) => Some(f64::from(v)),
            Self::I16(v) => Some(f64::from(v)),
            Self::U32(v) => Some(f64::from(v)),
            Self::I32(v) => Some(f64::from(v)),
            Self::U64(v) => Some(v as f64),
            Self::I64(v) => Some(v as f64),
            Self::F32(v) => Some(f64::from(v)),
            Self::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[MetadataValue]> {
        match self {
            Self::Array(elements) => Some(elements),
            _ => None,
        }
    }
}

/// The name of GGUF metadata value type `id`, if it is one.
fn value_type_name(id: u32) -> Option<&'static str> {
    const NAMES: [&str; 13] = [
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64",
        "f64",
    ];
    NAMES.get(usize::try_from(id).ok()?).copied()
}

/// The fewest bytes one value of type `id` takes in the file (a string its length, an array
/// its element type and count), or `None` for an unknown type.
fn min_value_bytes(id: u32) -> Option<u64> {
    Some(match id {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 4 + 8,
        _ => return None,
    })
}

/// A tensor's element type, by its ggml type id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float (id 0).
    F32,
    /// IEEE half-precision float (id 1).
    F16,
    /// Blocks of 32 four-bit values with an f16 scale (id 2).
    Q4_0,
    /// Blocks of 32 four-bit values with an f16 scale and minimum (id 3).
    Q4_1,
    /// Blocks of 32 signed bytes with an f16 scale (id 8).
    Q8_0,
    /// Super-blocks of 256 four-bit values in eight sub-blocks with 6-bit scales and minimums
    /// (id 12).
    Q4K,
    /// Super-blocks of 256 six-bit values in sixteen sub-blocks with 8-bit scales (id 14).
    Q6K,
    /// Brain float: the top 16 bits of an f32 (id 30).
    BF16,
    /// Any other ggml type, by id: the file can be parsed, but such a tensor not dequantised.
    Other(u32),
}

impl GgmlType {
    /// The type with ggml type id `id`.
    pub fn from_id(id: u32) -> Self {
        match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            14 => Self::Q6K,
            30 => Self::BF16,
            other => Self::Other(other),
        }
    }

    /// The ggml type id.
    pub fn id(&self) -> u32 {
        match *self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::Q4K => 12,
            Self::Q6K => 14,
            Self::BF16 => 30,
            Self::Other(id) => id,
        }
    }

    /// The type's name as ggml spells it (`"Q4_K"`), or `"type 7"` for [`GgmlType::Other`].
    pub fn name(&self) -> String {
        match self {
            Self::F32 => "F32".to_string(),
            Self::F16 => "F16".to_string(),
            Self::Q4_0 => "Q4_0".to_string(),
            Self::Q4_1 => "Q4_1".to_string(),
            Self::Q8_0 => "Q8_0".to_string(),
            Self::Q4K => "Q4_K".to_string(),
            Self::Q6K => "Q6_K".to_string(),
            Self::BF16 => "BF16".to_string(),
            Self::Other(id) => format!("type {id}"),
        }
    }

    /// The name, and for a type this reader cannot decode also ggml's name for it where there
    /// is one (`"type 7 (Q5_1)"`), for error messages.
    fn describe(&self) -> String {
        const GGML_NAMES: [&str; 42] = [
            "F32",
            "F16",
            "Q4_0",
            "Q4_1",
            "Q4_2",
            "Q4_3",
            "Q5_0",
            "Q5_1",
            "Q8_0",
            "Q8_1",
            "Q2_K",
            "Q3_K",
            "Q4_K",
            "Q5_K",
            "Q6_K",
            "Q8_K",
            "IQ2_XXS",
            "IQ2_XS",
            "IQ3_XXS",
            "IQ1_S",
            "IQ4_NL",
            "IQ3_S",
            "IQ2_S",
            "IQ4_XS",
            "I8",
            "I16",
            "I32",
            "I64",
            "F64",
            "IQ1_M",
            "BF16",
            "Q4_0_4_4",
            "Q4_0_4_8",
            "Q4_0_8_8",
            "TQ1_0",
            "TQ2_0",
            "IQ4_NL_4_4",
            "IQ4_NL_4_8",
            "IQ4_NL_8_8",
            "MXFP4",
            "NVFP4",
            "Q1_0",
        ];
        match *self {
            Self::Other(id) => match usize::try_from(id).ok().and_then(|i| GGML_NAMES.get(i)) {
                Some(ggml_name) => format!("type {id} ({ggml_name})"),
                None => self.name(),
            },
            _ => self.name(),
        }
    }

    /// Elements per block and bytes per block, or `None` for a type this reader cannot decode.
    fn block_layout(&self) -> Option<(u64, u64)> {
        let (elements, bytes) = match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::BF16 => (1, 2),
            Self::Q4_0 => (32, dequant::Q4_0_BYTES),
            Self::Q4_1 => (32, dequant::Q4_1_BYTES),
            Self::Q8_0 => (32, dequant::Q8_0_BYTES),
            Self::Q4K => (256, dequant::Q4_K_BYTES),
            Self::Q6K => (256, dequant::Q6_K_BYTES),
            Self::Other(_) => return None,
        };
        Some((elements, bytes as u64))
    }
}

/// A tensor's description from the file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name, such as `blk.0.attn_q.weight`.
    pub name: String,
    /// The dimensions as GGUF stores them: `ne[0]`, the fastest-varying (a row's length), first.
    pub dims: Vec<u64>,
    /// The element type.
    pub kind: GgmlType,
    /// Where the tensor's data begins, relative to the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// The shape in row-major (PyTorch) order: the dimensions reversed. A dimension too large
    /// for `usize` (possible only on a 32-bit target) saturates.
    pub fn shape(&self) -> Vec<usize> {
        self.dims
            .iter()
            .rev()
            .map(|&dim| usize::try_from(dim).unwrap_or(usize::MAX))
            .collect()
    }

    /// The number of elements: the product of the dimensions (saturating at `u64::MAX`, which
    /// [`GgufFile::parse`] rules out for the tensors it returns).
    pub fn num_elements(&self) -> u64 {
        if self.dims.contains(&0) {
            return 0;
        }
        self.dims
            .iter()
            .try_fold(1u64, |product, &dim| product.checked_mul(dim))
            .unwrap_or(u64::MAX)
    }

    /// The size of the tensor's data in bytes, for a type with a known block layout.
    fn byte_len(&self, (block_elements, block_bytes): (u64, u64)) -> Result<u64, GgufError> {
        let row_length = self.dims.first().copied().unwrap_or(1);
        if !row_length.is_multiple_of(block_elements) {
            return Err(self.problem(format!(
                "its rows have {row_length} elements, not a multiple of the {} block size \
                 {block_elements}",
                self.kind.name()
            )));
        }
        (self.num_elements() / block_elements)
            .checked_mul(block_bytes)
            .ok_or_else(|| self.problem("its size in bytes overflows a u64".to_string()))
    }

    /// A [`GgufError::BadTensor`] about this tensor.
    fn problem(&self, problem: String) -> GgufError {
        GgufError::BadTensor {
            tensor: self.name.clone(),
            problem,
        }
    }
}

/// A parsed GGUF header: metadata and tensor descriptions. The tensors' data stays in the
/// caller's bytes, which [`GgufFile::dequantize`] is given again.
#[derive(Debug, Clone)]
pub struct GgufFile {
    version: u32,
    metadata: Vec<(String, MetadataValue)>,
    metadata_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    data_offset: u64,
    alignment: u64,
}

impl GgufFile {
    /// Parses the header, metadata and tensor descriptions of the GGUF file `bytes`, and checks
    /// that the data of every tensor of a known type lies inside `bytes`. A tensor of another
    /// type is listed, and refused only when dequantised.
    pub fn parse(bytes: &[u8]) -> Result<GgufFile, GgufError> {
        let mut reader = ByteReader::new(bytes);
        if reader.take(4, || "the magic bytes".to_string())? != b"GGUF" {
            return Err(GgufError::NotGguf);
        }
        let version = reader.u32(|| "the version (at byte 4)".to_string())?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = reader.u64(|| "the tensor count (at byte 8)".to_string())?;
        let metadata_count = reader.u64(|| "the metadata count (at byte 16)".to_string())?;

        let metadata_capacity = capacity_for(
            metadata_count,
            MIN_METADATA_ENTRY_BYTES,
            reader.remaining(),
            "metadata entries",
        )?;
        let mut metadata = Vec::with_capacity(metadata_capacity);
        let mut metadata_index = HashMap::with_capacity(metadata_capacity);
        for index in 0..metadata_count {
            let (key, value) = read_metadata_entry(&mut reader, index)?;
            if metadata_index.insert(key.clone(), metadata.len()).is_some() {
                return Err(GgufError::BadMetadata {
                    key,
                    problem: "the key appears more than once".to_string(),
                });
            }
            metadata.push((key, value));
        }
        let alignment = alignment_of(&metadata, &metadata_index)?;

        let tensor_capacity = capacity_for(
            tensor_count,
            MIN_TENSOR_INFO_BYTES,
            reader.remaining(),
            "tensor infos",
        )?;
        let mut tensors = Vec::with_capacity(tensor_capacity);
        let mut tensor_index = HashMap::with_capacity(tensor_capacity);
        for index in 0..tensor_count {
            let tensor = read_tensor_info(&mut reader, index)?;
            if tensor_index
                .insert(tensor.name.clone(), tensors.len())
                .is_some()
            {
                return Err(tensor.problem("the name appears more than once".to_string()));
            }
            tensors.push(tensor);
        }

        let data_offset = (reader.position() as u64)
            .checked_next_multiple_of(alignment)
            .ok_or_else(|| {
                GgufError::BadHeader("the data section's offset overflows a u64".to_string())
            })?;
        let file = GgufFile {
            version,
            metadata,
            metadata_index,
            tensors,
            tensor_index,
            data_offset,
            alignment,
        };
        for tensor in &file.tensors {
            if let Some(layout) = tensor.kind.block_layout() {
                file.byte_range(tensor, layout, bytes.len())?;
            }
        }
        Ok(file)
    }

    /// The GGUF version, 2 or 3.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The alignment of the data section and of the tensors' offsets in it.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Where the data section begins, from the start of the file.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The value of metadata key `key`, such as `general.architecture`.
    pub fn metadata(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata_index
            .get(key)
            .map(|&index| &self.metadata[index].1)
    }

    /// Every metadata entry, in the file's order.
    pub fn metadata_entries(&self) -> impl Iterator<Item = (&str, &MetadataValue)> {
        self.metadata
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Every tensor's description, in the file's order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The description of the tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index
            .get(name)
            .map(|&index| &self.tensors[index])
    }

    /// The values of tensor `name` as `f32`, in row-major order (see [`TensorInfo::shape`]),
    /// decoded from `bytes`, the file this header was parsed from.
    pub fn dequantize(&self, bytes: &[u8], name: &str) -> Result<Vec<f32>, GgufError> {
        let tensor = self
            .tensor(name)
            .ok_or_else(|| GgufError::UnknownTensor(name.to_string()))?;
        let layout = tensor
            .kind
            .block_layout()
            .ok_or_else(|| GgufError::UnsupportedType {
                tensor: tensor.name.clone(),
                kind: tensor.kind.describe(),
            })?;
        let data = &bytes[self.byte_range(tensor, layout, bytes.len())?];
        let element_count = usize::try_from(tensor.num_elements()).map_err(|_| {
            tensor.problem("it has more elements than this machine can address".to_string())
        })?;
        let mut values = vec![0.0f32; element_count];
        dequant::dequantize_into(tensor.kind, data, &mut values);
        Ok(values)
    }

    /// The byte range of `tensor`'s data in a file of `file_len` bytes, checked to lie inside it.
    fn byte_range(
        &self,
        tensor: &TensorInfo,
        layout: (u64, u64),
        file_len: usize,
    ) -> Result<Range<usize>, GgufError> {
        let byte_len = tensor.byte_len(layout)?;
        let start = self.data_offset.checked_add(tensor.offset);
        let end = start.and_then(|start| start.checked_add(byte_len));
        match (start, end) {
            (Some(start), Some(end)) if end <= file_len as u64 => {
                // Both fit in usize, as they are at most the length of a slice.
                Ok(start as usize..end as usize)
            }
            _ => Err(tensor.problem(format!(
                "its {byte_len} bytes of data at offset {} in the data section (which begins at \
                 byte {}) run past the end of the file at byte {file_len}",
                tensor.offset, self.data_offset
            ))),
        }
    }
}

/// How many items of a count read from the file to reserve room for, after checking that
/// `count` items of at least `min_bytes` each fit in the `remaining` bytes.
fn capacity_for(
    count: u64,
    min_bytes: u64,
    remaining: usize,
    what: &str,
) -> Result<usize, GgufError> {
    match count.checked_mul(min_bytes) {
        Some(needed) if needed <= remaining as u64 => Ok(count as usize),
        _ => Err(GgufError::BadHeader(format!(
            "it counts {count} {what}, which cannot fit in the {remaining} bytes that remain \
             (is the file truncated?)"
        ))),
    }
}

/// The `general.alignment` of the metadata, or the default; it must be a power of two.
fn alignment_of(
    metadata: &[(String, MetadataValue)],
    index: &HashMap<String, usize>,
) -> Result<u64, GgufError> {
    const KEY: &str = "general.alignment";
    let Some(&position) = index.get(KEY) else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    let problem = |problem: String| GgufError::BadMetadata {
        key: KEY.to_string(),
        problem,
    };
    match metadata[position].1 {
        MetadataValue::U32(alignment) if alignment.is_power_of_two() => Ok(u64::from(alignment)),
        MetadataValue::U32(alignment) => Err(problem(format!(
            "the alignment {alignment} is not a power of two"
        ))),
        ref other => Err(problem(format!("expected a u32, found {other:?}"))),
    }
}

/// A string that must be UTF-8: a key or a tensor name.
fn read_name(
    reader: &mut ByteReader<'_>,
    what: impl FnOnce() -> String,
) -> Result<Result<String, std::str::Utf8Error>, GgufError> {
    let bytes = reader.string_bytes(what)?;
    Ok(std::str::from_utf8(bytes).map(str::to_string))
}

/// Metadata entry number `index`: its key and value.
fn read_metadata_entry(
    reader: &mut ByteReader<'_>,
    index: u64,
) -> Result<(String, MetadataValue), GgufError> {
    let start = reader.position();
    let key = read_name(reader, || {
        format!("the key of metadata entry #{index} (at byte {start})")
    })?
    .map_err(|_| GgufError::BadMetadata {
        key: format!("#{index}"),
        problem: format!("the key (at byte {start}) is not valid UTF-8"),
    })?;
    let value_start = reader.position();
    let type_id = reader.u32(|| format!("the value type of metadata key `{key}`"))?;
    let value = read_value(reader, type_id, &key, value_start, 0)?;
    Ok((key, value))
}

/// A metadata value of type `type_id` for `key`, whose value begins at byte `start`; `depth`
/// counts the arrays it is nested in.
fn read_value(
    reader: &mut ByteReader<'_>,
    type_id: u32,
    key: &str,
    start: usize,
    depth: u32,
) -> Result<MetadataValue, GgufError> {
    let what = || format!("the value of metadata key `{key}` (at byte {start})");
    let bad = |problem: String| GgufError::BadMetadata {
        key: key.to_string(),
        problem,
    };
    Ok(match type_id {
        0 => MetadataValue::U8(reader.u8(what)?),
        1 => MetadataValue::I8(reader.u8(what)? as i8),
        2 => MetadataValue::U16(reader.u16(what)?),
        3 => MetadataValue::I16(reader.u16(what)? as i16),
        4 => MetadataValue::U32(reader.u32(what)?),
        5 => MetadataValue::I32(reader.u32(what)? as i32),
        6 => MetadataValue::F32(f32::from_bits(reader.u32(what)?)),
        7 => match reader.u8(what)? {
            0 => MetadataValue::Bool(false),
            1 => MetadataValue::Bool(true),
            other => {
                return Err(bad(format!(
                    "the bool at byte {start} is {other}, not 0 or 1"
                )));
            }
        },
        8 => {
            MetadataValue::String(String::from_utf8_lossy(reader.string_bytes(what)?).into_owned())
        }
        9 => {
            let element_type = reader.u32(what)?;
            let count = reader.u64(what)?;
            let Some(min_bytes) = min_value_bytes(element_type) else {
                return Err(bad(format!(
                    "its array (at byte {start}) has unknown element type id {element_type}"
                )));
            };
            if element_type == 9 && depth + 1 >= MAX_ARRAY_NESTING {
                return Err(bad(format!(
                    "its arrays (at byte {start}) nest more than {MAX_ARRAY_NESTING} deep"
                )));
            }
            let remaining = reader.remaining();
            let capacity = match count.checked_mul(min_bytes) {
                Some(needed) if needed <= remaining as u64 => count as usize,
                _ => {
                    return Err(bad(format!(
                        "its array (at byte {start}) of {count} {} elements cannot fit in the \
                         {remaining} bytes that remain",
                        value_type_name(element_type).unwrap_or("?")
                    )));
                }
            };
            let mut elements = Vec::with_capacity(capacity);
            for _ in 0..count {
                elements.push(read_value(reader, element_type, key, start, depth + 1)?);
            }
            MetadataValue::Array(elements)
        }
        10 => MetadataValue::U64(reader.u64(what)?),
        11 => MetadataValue::I64(reader.u64(what)? as i64),
        12 => MetadataValue::F64(f64::from_bits(reader.u64(what)?)),
        unknown => {
            return Err(bad(format!(
                "unknown value type id {unknown} (at byte {start}; known ids are 0 to 12)"
            )));
        }
    })
}

/// Tensor info number `index`: name, dimensions, type and offset, with the element count
/// checked not to overflow.
fn read_tensor_info(reader: &mut ByteReader<'_>, index: u64) -> Result<TensorInfo, GgufError> {
    let start = reader.position();
    let name = read_name(reader, || {
        format!("the name of tensor #{index} (at byte {start})")
    })?
    .map_err(|_| GgufError::BadTensor {
        tensor: format!("#{index}"),
        problem: format!("its name (at byte {start}) is not valid UTF-8"),
    })?;
    let what = || format!("the description of tensor `{name}` (at byte {start})");
    let n_dims = reader.u32(what)?;
    if n_dims > MAX_DIMS {
        return Err(GgufError::BadTensor {
            tensor: name,
            problem: format!("it has {n_dims} dimensions, more than the {MAX_DIMS} ggml allows"),
        });
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(reader.u64(what)?);
    }
    let kind = GgmlType::from_id(reader.u32(what)?);
    let offset = reader.u64(what)?;
    let tensor = TensorInfo {
        name,
        dims,
        kind,
        offset,
    };
    let overflows = !tensor.dims.contains(&0)
        && tensor
            .dims
            .iter()
            .try_fold(1u64, |product, &dim| product.checked_mul(dim))
            .is_none();
    if overflows {
        return Err(tensor.problem(format!(
            "its dimensions {:?} have more elements than a u64 can count",
            tensor.dims
        )));
    }
    Ok(tensor)
}

#[cfg(test)]
mod tests;
