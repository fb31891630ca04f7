//! [`TensorInfo`], a tensor's description from the file's header, and its parsing: name,
//! dimensions, ggml type and data offset.

use super::reader::ByteReader;
use super::{GgmlType, GgufError, read_name};

/// The most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;

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
    /// [`GgufFile::parse`](super::GgufFile::parse) rules out for the tensors it returns).
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
    pub(super) fn byte_len(
        &self,
        (block_elements, block_bytes): (u64, u64),
    ) -> Result<u64, GgufError> {
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
    pub(super) fn problem(&self, problem: String) -> GgufError {
        GgufError::BadTensor {
            tensor: self.name.clone(),
            problem,
        }
    }
}

/// Tensor info number `index`: name, dimensions, type and offset, with the element count
/// checked not to overflow.
pub(super) fn read_tensor_info(
    reader: &mut ByteReader<'_>,
    index: u64,
) -> Result<TensorInfo, GgufError> {
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
