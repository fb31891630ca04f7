//! Test fixtures: a minimal GGUF writer, which serialises metadata and tensors' raw bytes with
//! the alignment padding of the format and checks nothing, so tests can also write files that
//! lie (dimensions that do not match the data, unknown type ids); and the golden values of
//! `dequant_golden.json` (written by scripts/gguf_golden.py with the reference implementation).

use serde::Deserialize;

use super::MetadataValue;

/// One tensor of the golden file: a type, its raw bytes and the reference's values.
#[derive(Deserialize)]
pub(crate) struct GoldenCase {
    /// ggml's name of the type, such as `Q4_K`.
    #[serde(rename = "type")]
    pub type_name: String,
    pub type_id: u32,
    /// Row-major shape.
    pub shape: Vec<u64>,
    pub raw_hex: String,
    /// Row-major values.
    pub expected: Vec<f64>,
}

impl GoldenCase {
    /// The raw bytes.
    pub fn raw(&self) -> Vec<u8> {
        let hex = self.raw_hex.as_bytes();
        assert!(
            hex.len().is_multiple_of(2),
            "odd hex length in {}",
            self.type_name
        );
        hex.chunks_exact(2)
            .map(|pair| {
                let text = std::str::from_utf8(pair).expect("ASCII hex");
                u8::from_str_radix(text, 16).expect("hex digits")
            })
            .collect()
    }

    /// The dimensions in GGUF order (the shape reversed).
    pub fn dims(&self) -> Vec<u64> {
        self.shape.iter().rev().copied().collect()
    }

    /// The expected values as f32 (exactly: each was written as the double of an f32).
    pub fn expected_f32(&self) -> Vec<f32> {
        self.expected.iter().map(|&v| v as f32).collect()
    }
}

/// Every golden case, one per supported type.
pub(crate) fn golden_cases() -> Vec<GoldenCase> {
    #[derive(Deserialize)]
    struct Golden {
        cases: Vec<GoldenCase>,
    }
    let golden: Golden =
        serde_json::from_str(include_str!("dequant_golden.json")).expect("golden JSON");
    golden.cases
}

/// Asserts `actual` equals `expected` within 1e-6 relative to each value's magnitude (at least
/// 1), naming the type and the first element that differs.
pub(crate) fn assert_close(type_name: &str, actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{type_name}: element count");
    for (index, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let tolerance = 1e-6 * e.abs().max(1.0);
        assert!(
            (a - e).abs() <= tolerance,
            "{type_name}: element {index} is {a}, the reference says {e}"
        );
    }
}

/// A tensor to write: its dimensions in GGUF order (`ne[0]` first), ggml type id and raw bytes.
pub(crate) struct TestTensor {
    pub name: String,
    pub dims: Vec<u64>,
    pub type_id: u32,
    pub data: Vec<u8>,
}

/// The contents of a GGUF file to write.
pub(crate) struct GgufWriter {
    pub version: u32,
    /// The padding written; `general.alignment` is written only if it is in `metadata`.
    pub alignment: usize,
    pub metadata: Vec<(String, MetadataValue)>,
    pub tensors: Vec<TestTensor>,
}

/// A written file, where its data section begins, and each tensor's offset in it. No padding
/// follows the last tensor, so the file ends where its data does.
pub(crate) struct Written {
    pub bytes: Vec<u8>,
    pub data_offset: usize,
    pub tensor_offsets: Vec<u64>,
}

impl GgufWriter {
    /// An empty version-3 file with the default alignment.
    pub fn new() -> Self {
        Self {
            version: 3,
            alignment: 32,
            metadata: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// Adds a metadata entry.
    pub fn meta(mut self, key: &str, value: MetadataValue) -> Self {
        self.metadata.push((key.to_string(), value));
        self
    }

    /// Adds a tensor.
    pub fn tensor(mut self, name: &str, dims: &[u64], type_id: u32, data: &[u8]) -> Self {
        self.tensors.push(TestTensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            type_id,
            data: data.to_vec(),
        });
        self
    }

    /// The file's bytes.
    pub fn write(&self) -> Written {
        let mut out = Vec::new();
        write_header(
            &mut out,
            self.version,
            self.tensors.len() as u64,
            self.metadata.len() as u64,
        );
        for (key, value) in &self.metadata {
            write_string(&mut out, key);
            write_typed_value(&mut out, value);
        }

        let mut tensor_offsets = Vec::new();
        let mut next_offset = 0usize;
        for tensor in &self.tensors {
            tensor_offsets.push(next_offset as u64);
            next_offset = (next_offset + tensor.data.len()).next_multiple_of(self.alignment);
        }
        for (tensor, &offset) in self.tensors.iter().zip(&tensor_offsets) {
            write_string(&mut out, &tensor.name);
            out.extend_from_slice(&(tensor.dims.len() as u32).to_le_bytes());
            for dim in &tensor.dims {
                out.extend_from_slice(&dim.to_le_bytes());
            }
            out.extend_from_slice(&tensor.type_id.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
        }

        pad_to(&mut out, self.alignment);
        let data_offset = out.len();
        for (index, tensor) in self.tensors.iter().enumerate() {
            assert_eq!(out.len() - data_offset, tensor_offsets[index] as usize);
            out.extend_from_slice(&tensor.data);
            if index + 1 < self.tensors.len() {
                pad_to(&mut out, self.alignment);
            }
        }
        Written {
            bytes: out,
            data_offset,
            tensor_offsets,
        }
    }
}

/// Zero bytes up to the next multiple of `alignment`.
fn pad_to(out: &mut Vec<u8>, alignment: usize) {
    out.resize(out.len().next_multiple_of(alignment), 0);
}

/// Magic, version, tensor count and metadata count.
pub(crate) fn write_header(out: &mut Vec<u8>, version: u32, tensors: u64, metadata: u64) {
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&tensors.to_le_bytes());
    out.extend_from_slice(&metadata.to_le_bytes());
}

/// A length-prefixed string.
pub(crate) fn write_string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The GGUF value type id of `value`.
pub(crate) fn type_id_of(value: &MetadataValue) -> u32 {
    match value {
        MetadataValue::U8(_) => 0,
        MetadataValue::I8(_) => 1,
        MetadataValue::U16(_) => 2,
        MetadataValue::I16(_) => 3,
        MetadataValue::U32(_) => 4,
        MetadataValue::I32(_) => 5,
        MetadataValue::F32(_) => 6,
        MetadataValue::Bool(_) => 7,
        MetadataValue::String(_) => 8,
        MetadataValue::Array(_) => 9,
        MetadataValue::U64(_) => 10,
        MetadataValue::I64(_) => 11,
        MetadataValue::F64(_) => 12,
    }
}

/// A value's type id, then the value.
pub(crate) fn write_typed_value(out: &mut Vec<u8>, value: &MetadataValue) {
    out.extend_from_slice(&type_id_of(value).to_le_bytes());
    write_value(out, value);
}

/// A value without its type id (as an array's elements are written). An empty array is written
/// as an array of `u8`.
fn write_value(out: &mut Vec<u8>, value: &MetadataValue) {
    match value {
        MetadataValue::U8(v) => out.push(*v),
        MetadataValue::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::Bool(v) => out.push(u8::from(*v)),
        MetadataValue::String(text) => write_string(out, text),
        MetadataValue::Array(elements) => {
            let element_type = elements.first().map_or(0, type_id_of);
            assert!(
                elements.iter().all(|e| type_id_of(e) == element_type),
                "a GGUF array holds one type"
            );
            out.extend_from_slice(&element_type.to_le_bytes());
            out.extend_from_slice(&(elements.len() as u64).to_le_bytes());
            for element in elements {
                write_value(out, element);
            }
        }
        MetadataValue::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetadataValue::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}
