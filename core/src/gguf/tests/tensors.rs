//! Tests of tensor descriptions and data: shapes, ggml type names, unknown types, and the
//! refusal of impossible dimensions and of data that does not fit in the file.

use super::golden_file;
use crate::gguf::test_writer::GgufWriter;
use crate::gguf::{GgmlType, GgufError, GgufFile};

#[test]
fn gguf_tensor_info_reverses_dims_into_a_row_major_shape() {
    let data = vec![0u8; 2 * 3 * 4 * 4];
    let bytes = GgufWriter::new()
        .tensor("t", &[4, 3, 2], 0, &data)
        .tensor("scalar", &[], 0, &1.5f32.to_le_bytes())
        .write()
        .bytes;
    let file = GgufFile::parse(&bytes).unwrap();
    let tensor = file.tensor("t").unwrap();
    assert_eq!(tensor.dims, [4, 3, 2]);
    assert_eq!(tensor.shape(), [2, 3, 4]);
    assert_eq!(tensor.num_elements(), 24);
    assert_eq!(tensor.kind, GgmlType::F32);
    let scalar = file.tensor("scalar").unwrap();
    assert_eq!(scalar.shape(), Vec::<usize>::new());
    assert_eq!(scalar.num_elements(), 1);
    assert_eq!(file.dequantize(&bytes, "scalar").unwrap(), [1.5]);
    assert!(file.tensor("absent").is_none());
    let error = file.dequantize(&bytes, "absent").unwrap_err();
    assert!(matches!(error, GgufError::UnknownTensor(ref name) if name == "absent"));
    assert!(error.to_string().contains("`absent`"), "{error}");
}

#[test]
fn gguf_type_names_follow_ggml() {
    let names: Vec<String> = [0, 1, 2, 3, 8, 12, 14, 30, 7]
        .map(|id| GgmlType::from_id(id).name())
        .to_vec();
    assert_eq!(
        names,
        [
            "F32", "F16", "Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q6_K", "BF16", "type 7"
        ]
    );
    for id in 0..64 {
        assert_eq!(GgmlType::from_id(id).id(), id);
    }
}

#[test]
fn gguf_lists_an_unknown_type_and_refuses_it_only_when_dequantised() {
    let bytes = GgufWriter::new()
        .tensor("blk.0.weird", &[32, 2], 7, &[0u8; 44])
        .tensor("ok", &[2], 0, &[0u8; 8])
        .write()
        .bytes;
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.tensor("blk.0.weird").unwrap().kind, GgmlType::Other(7));
    assert_eq!(file.dequantize(&bytes, "ok").unwrap(), [0.0, 0.0]);
    let error = file.dequantize(&bytes, "blk.0.weird").unwrap_err();
    assert!(
        matches!(&error, GgufError::UnsupportedType { tensor, kind }
            if tensor == "blk.0.weird" && kind == "type 7 (Q5_1)"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("`blk.0.weird`") && message.contains("type 7") && message.contains("Q4_K"),
        "{message}"
    );
}

#[test]
fn gguf_refuses_tensor_data_past_the_end_of_the_file() {
    // Dimensions claim 64 f32 values, the data holds 8.
    let bytes = GgufWriter::new()
        .tensor("too.big", &[64], 0, &[0u8; 32])
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "too.big"),
        "{error:?}"
    );
    assert!(error.to_string().contains("past the end"), "{error}");

    // An offset near u64::MAX must not overflow.
    let mut bytes = GgufWriter::new()
        .tensor("far", &[1], 0, &[0u8; 4])
        .write()
        .bytes;
    // Header (24), name (8 + 3), n_dims (4), one dimension (8), type (4), then the offset.
    let offset_field = 24 + 8 + 3 + 4 + 8 + 4;
    assert_eq!(bytes[offset_field..offset_field + 8], [0; 8]);
    bytes[offset_field..offset_field + 8].copy_from_slice(&(u64::MAX - 2).to_le_bytes());
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "far"),
        "{error:?}"
    );
}

#[test]
fn gguf_dequantize_checks_the_bytes_it_is_given() {
    let (bytes, _) = golden_file(3, None);
    let file = GgufFile::parse(&bytes).unwrap();
    let error = file
        .dequantize(&bytes[..bytes.len() / 2], "golden.Q6_K")
        .unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "golden.Q6_K"),
        "{error:?}"
    );
}

#[test]
fn gguf_refuses_rows_that_are_not_whole_blocks() {
    // 48 elements per row is not a multiple of Q8_0's 32, though 2 rows are 96 = 3 blocks.
    let bytes = GgufWriter::new()
        .tensor("odd.rows", &[48, 2], 8, &[0u8; 3 * 34])
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "odd.rows"),
        "{error:?}"
    );
    assert!(error.to_string().contains("Q8_0 block size 32"), "{error}");
}

#[test]
fn gguf_refuses_impossible_dimensions() {
    let bytes = GgufWriter::new()
        .tensor("five.dims", &[1, 1, 1, 1, 1], 0, &[0u8; 4])
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "five.dims"),
        "{error:?}"
    );

    let bytes = GgufWriter::new()
        .tensor("overflow", &[1 << 40, 1 << 40], 0, &[0u8; 4])
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "overflow"),
        "{error:?}"
    );

    // The element count fits in a u64, but not the byte count.
    let bytes = GgufWriter::new()
        .tensor("huge", &[1 << 62], 0, &[0u8; 4])
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "huge"),
        "{error:?}"
    );
}
