//! Tests of metadata values: their accessors, and the refusal of truncated, oversized, unknown
//! and too deeply nested values.

use super::file_with_raw_value;
use crate::gguf::metadata::MAX_ARRAY_NESTING;
use crate::gguf::test_writer::{GgufWriter, write_header, write_string, write_typed_value};
use crate::gguf::{GgufError, GgufFile, MetadataValue};

#[test]
fn gguf_metadata_value_accessors_convert_numbers() {
    use MetadataValue as V;
    assert_eq!(V::U8(7).as_u64(), Some(7));
    assert_eq!(V::I32(7).as_u64(), Some(7));
    assert_eq!(V::I64(-1).as_u64(), None);
    assert_eq!(V::F32(1.0).as_u64(), None);
    assert_eq!(V::U64(u64::MAX).as_u64(), Some(u64::MAX));
    assert_eq!(V::I16(-3).as_f64(), Some(-3.0));
    assert_eq!(V::F32(0.5).as_f64(), Some(0.5));
    assert_eq!(V::Bool(true).as_f64(), None);
    assert_eq!(V::String("x".into()).as_str(), Some("x"));
    assert_eq!(V::U8(1).as_str(), None);
    assert_eq!(V::Array(vec![V::U8(1)]).as_array(), Some(&[V::U8(1)][..]));
    assert_eq!(V::U8(1).as_array(), None);
}

#[test]
fn gguf_truncation_inside_metadata_names_the_key() {
    let bytes = GgufWriter::new()
        .meta(
            "general.name",
            MetadataValue::String("a long enough name".into()),
        )
        .write()
        .bytes;
    // Header (24), key (8 + 12), type (4), string (8 + 18), then padding.
    let end_of_value = 24 + 8 + 12 + 4 + 8 + 18;
    assert_eq!(&bytes[end_of_value - 4..end_of_value], b"name");
    let cut = end_of_value - 3;
    let error = GgufFile::parse(&bytes[..cut]).unwrap_err();
    let message = error.to_string();
    assert_eq!(
        message,
        format!(
            "the file ends at byte {cut} while reading the value of metadata key \
             `general.name` (at byte 44)"
        )
    );
}

#[test]
fn gguf_refuses_a_huge_array_count_before_allocating() {
    for element_type in [0u32, 8, 9, 12] {
        let mut value = 9u32.to_le_bytes().to_vec();
        value.extend_from_slice(&element_type.to_le_bytes());
        value.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
        value.extend_from_slice(&[0u8; 64]);
        let error =
            GgufFile::parse(&file_with_raw_value("tokenizer.ggml.tokens", &value)).unwrap_err();
        assert!(
            matches!(&error, GgufError::BadMetadata { key, .. } if key == "tokenizer.ggml.tokens"),
            "{error:?}"
        );
        assert!(error.to_string().contains("cannot fit"), "{error}");
    }
}

#[test]
fn gguf_refuses_unknown_value_types_and_bad_bools() {
    let mut value = 13u32.to_le_bytes().to_vec();
    value.extend_from_slice(&[0u8; 16]);
    let error = GgufFile::parse(&file_with_raw_value("mystery", &value)).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadMetadata { key, problem }
            if key == "mystery" && problem.contains("unknown value type id 13")),
        "{error:?}"
    );

    let mut value = 9u32.to_le_bytes().to_vec();
    value.extend_from_slice(&99u32.to_le_bytes());
    value.extend_from_slice(&1u64.to_le_bytes());
    value.extend_from_slice(&[0u8; 16]);
    let error = GgufFile::parse(&file_with_raw_value("mystery.array", &value)).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadMetadata { key, problem }
            if key == "mystery.array" && problem.contains("99")),
        "{error:?}"
    );

    let mut value = 7u32.to_le_bytes().to_vec();
    value.push(2);
    let error = GgufFile::parse(&file_with_raw_value("flag", &value)).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadMetadata { key, .. } if key == "flag"),
        "{error:?}"
    );
}

#[test]
fn gguf_refuses_deeply_nested_arrays() {
    let mut value = MetadataValue::U8(1);
    for _ in 0..MAX_ARRAY_NESTING {
        value = MetadataValue::Array(vec![value]);
    }
    let mut bytes = Vec::new();
    write_header(&mut bytes, 3, 0, 1);
    write_string(&mut bytes, "deep");
    write_typed_value(&mut bytes, &value);
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(
        file.metadata("deep"),
        Some(&value),
        "nesting up to the limit reads"
    );

    let deeper = MetadataValue::Array(vec![value]);
    let mut bytes = Vec::new();
    write_header(&mut bytes, 3, 0, 1);
    write_string(&mut bytes, "deep");
    write_typed_value(&mut bytes, &deeper);
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadMetadata { key, .. } if key == "deep"),
        "{error:?}"
    );
}
