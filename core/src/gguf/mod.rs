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
mod error;
mod ggml_type;
mod metadata;
mod reader;
mod tensor_info;
#[cfg(test)]
mod test_writer;

use std::collections::HashMap;
use std::ops::Range;

pub use error::GgufError;
pub use ggml_type::GgmlType;
pub use metadata::MetadataValue;
pub use tensor_info::TensorInfo;

use metadata::read_metadata_entry;
use reader::ByteReader;
use tensor_info::read_tensor_info;

/// The alignment of the data section and of each tensor's data when the metadata does not set
/// `general.alignment`.
const DEFAULT_ALIGNMENT: u64 = 32;

/// The fewest bytes a metadata entry can take: an empty key (8), the value type (4) and a
/// one-byte value.
const MIN_METADATA_ENTRY_BYTES: u64 = 8 + 4 + 1;

/// The fewest bytes a tensor info can take: an empty name (8), `n_dims` (4), no dimensions,
/// the type (4) and the offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

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

#[cfg(test)]
mod tests;
