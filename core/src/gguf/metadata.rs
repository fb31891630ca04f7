//! Metadata values and the parsing of metadata entries: a key, a value type id and a value,
//! possibly an array of values.

use super::reader::ByteReader;
use super::{GgufError, read_name};

/// How deep arrays of arrays may nest, a bound on the parser's recursion. (ggml itself reads no
/// nested arrays at all.)
pub(super) const MAX_ARRAY_NESTING: u32 = 4;

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

/// Metadata entry number `index`: its key and value.
pub(super) fn read_metadata_entry(
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
