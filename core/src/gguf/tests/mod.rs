//! Tests of the GGUF reader through whole files written by the test writer: metadata round
//! trips with golden dequantisation, and refusal of malformed and hostile headers. The tests
//! of metadata values and of tensor descriptions and data are in the submodules.

mod metadata;
mod tensors;

use super::test_writer::{GgufWriter, assert_close, golden_cases, write_header, write_string};
use super::*;

/// Metadata of every value type, including arrays of strings and of arrays.
fn sample_metadata() -> Vec<(&'static str, MetadataValue)> {
    use MetadataValue as V;
    vec![
        ("general.architecture", V::String("llama".to_string())),
        ("general.name", V::String("tiny ✓ model".to_string())),
        ("test.u8", V::U8(200)),
        ("test.i8", V::I8(-100)),
        ("test.u16", V::U16(60_000)),
        ("test.i16", V::I16(-30_000)),
        ("test.u32", V::U32(4_000_000_000)),
        ("test.i32", V::I32(-2_000_000_000)),
        ("test.f32", V::F32(-1.5e-3)),
        ("test.bool", V::Bool(true)),
        ("test.u64", V::U64(u64::MAX)),
        ("test.i64", V::I64(i64::MIN)),
        ("test.f64", V::F64(std::f64::consts::PI)),
        (
            "tokenizer.ggml.tokens",
            V::Array(
                ["<s>", "</s>", "", "héllo", "▁world"]
                    .map(|t| V::String(t.to_string()))
                    .to_vec(),
            ),
        ),
        (
            "tokenizer.ggml.scores",
            V::Array(vec![V::F32(0.0), V::F32(-1.25), V::F32(3.5)]),
        ),
        (
            "test.nested",
            V::Array(vec![
                V::Array(vec![V::I32(1), V::I32(-2)]),
                V::Array(vec![V::I32(3)]),
            ]),
        ),
        ("test.empty", V::Array(Vec::new())),
    ]
}

/// A file with the sample metadata and one tensor per golden type, named after the type.
fn golden_file(version: u32, alignment: Option<u32>) -> (Vec<u8>, GgufWriter) {
    let mut writer = GgufWriter::new();
    writer.version = version;
    for (key, value) in sample_metadata() {
        writer = writer.meta(key, value);
    }
    if let Some(alignment) = alignment {
        writer.alignment = alignment as usize;
        writer = writer.meta("general.alignment", MetadataValue::U32(alignment));
    }
    for case in golden_cases() {
        writer = writer.tensor(
            &format!("golden.{}", case.type_name),
            &case.dims(),
            case.type_id,
            &case.raw(),
        );
    }
    (writer.write().bytes, writer)
}

/// Checks that `file`, parsed from `bytes`, has the sample metadata and golden tensors.
fn check_golden_file(bytes: &[u8], file: &GgufFile) {
    for (key, expected) in sample_metadata() {
        assert_eq!(file.metadata(key), Some(&expected), "metadata key {key}");
    }
    let cases = golden_cases();
    assert_eq!(file.tensors().len(), cases.len());
    for (tensor, case) in file.tensors().iter().zip(&cases) {
        assert_eq!(tensor.name, format!("golden.{}", case.type_name));
        assert_eq!(tensor.kind.name(), case.type_name);
        let shape: Vec<usize> = case.shape.iter().map(|&d| d as usize).collect();
        assert_eq!(tensor.shape(), shape, "{}", tensor.name);
        assert_eq!(tensor.offset % file.alignment(), 0, "{}", tensor.name);
        let values = file.dequantize(bytes, &tensor.name).unwrap();
        assert_close(&case.type_name, &values, &case.expected_f32());
    }
}

#[test]
fn gguf_parses_metadata_and_dequantises_every_golden_type() {
    let (bytes, writer) = golden_file(3, None);
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.version(), 3);
    assert_eq!(file.alignment(), 32);
    assert_eq!(file.data_offset() % 32, 0);
    let written = writer.write();
    assert_eq!(file.data_offset(), written.data_offset as u64);
    let offsets: Vec<u64> = file.tensors().iter().map(|t| t.offset).collect();
    assert_eq!(offsets, written.tensor_offsets);
    check_golden_file(&bytes, &file);

    let keys: Vec<&str> = file.metadata_entries().map(|(key, _)| key).collect();
    let sample_keys: Vec<&str> = sample_metadata().iter().map(|(key, _)| *key).collect();
    assert_eq!(keys, sample_keys, "entries keep the file's order");
}

#[test]
fn gguf_reads_version_2_and_a_custom_alignment() {
    let (bytes, _) = golden_file(2, Some(64));
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.version(), 2);
    assert_eq!(file.alignment(), 64);
    assert_eq!(file.data_offset() % 64, 0);
    check_golden_file(&bytes, &file);
}

#[test]
fn gguf_reads_a_file_from_disk() {
    let (bytes, _) = golden_file(3, None);
    let path = std::env::temp_dir().join(format!(
        "actprm-gguf-test-{}-{:?}.gguf",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, &bytes).unwrap();
    let read_back = std::fs::read(&path);
    std::fs::remove_file(&path).unwrap();
    let read_back = read_back.unwrap();
    let file = GgufFile::parse(&read_back).unwrap();
    check_golden_file(&read_back, &file);
}

#[test]
fn gguf_refuses_bad_magic() {
    let mut bytes = golden_file(3, None).0;
    bytes[0] = b'X';
    assert!(matches!(GgufFile::parse(&bytes), Err(GgufError::NotGguf)));
    assert!(matches!(
        GgufFile::parse(b"PK\x03\x04 not gguf at all"),
        Err(GgufError::NotGguf)
    ));
}

#[test]
fn gguf_refuses_versions_other_than_2_and_3() {
    for version in [0, 1, 4, 3 << 24] {
        let mut writer = GgufWriter::new().meta("a", MetadataValue::U8(1));
        writer.version = version;
        let error = GgufFile::parse(&writer.write().bytes).unwrap_err();
        assert!(
            matches!(error, GgufError::UnsupportedVersion(v) if v == version),
            "{error}"
        );
        assert!(error.to_string().contains(&version.to_string()), "{error}");
    }
}

#[test]
fn gguf_refuses_every_truncation_without_panicking() {
    let (bytes, _) = golden_file(3, None);
    // The file ends with the last tensor's data, so every proper prefix lacks something.
    for length in 0..bytes.len() {
        let result = GgufFile::parse(&bytes[..length]);
        assert!(result.is_err(), "a prefix of {length} bytes parsed");
    }
    // A cut in the last tensor info names the tensor and the file's end.
    let name_at = bytes
        .windows(11)
        .position(|window| window == b"golden.Q6_K")
        .unwrap();
    let cut = name_at + 11 + 6;
    let error = GgufFile::parse(&bytes[..cut]).unwrap_err();
    assert!(
        matches!(error, GgufError::Truncated { offset, .. } if offset == cut as u64),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("the file ends at byte {cut} while reading"))
            && message.contains("`golden.Q6_K`"),
        "{message}"
    );
    // A cut early in the metadata leaves too few bytes for the entries the header counts.
    let error = GgufFile::parse(&bytes[..30]).unwrap_err();
    assert!(matches!(error, GgufError::BadHeader(_)), "{error}");
    let cut = bytes.len() - 1;
    let error = GgufFile::parse(&bytes[..cut]).unwrap_err();
    assert!(
        error.to_string().contains("golden.Q6_K") && error.to_string().contains("past the end"),
        "{error}"
    );
}

#[test]
fn gguf_refuses_duplicate_names() {
    let bytes = GgufWriter::new()
        .tensor("twice", &[1], 0, &[0u8; 4])
        .tensor("twice", &[1], 0, &[0u8; 4])
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadTensor { tensor, .. } if tensor == "twice"),
        "{error:?}"
    );

    let bytes = GgufWriter::new()
        .meta("k", MetadataValue::U8(1))
        .meta("k", MetadataValue::U8(2))
        .write()
        .bytes;
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(
        matches!(&error, GgufError::BadMetadata { key, .. } if key == "k"),
        "{error:?}"
    );
}

/// A file with one metadata entry, `key`, whose type id and value are the raw `value` bytes.
fn file_with_raw_value(key: &str, value: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_header(&mut bytes, 3, 0, 1);
    write_string(&mut bytes, key);
    bytes.extend_from_slice(value);
    bytes
}

#[test]
fn gguf_refuses_huge_counts_and_string_lengths() {
    let mut bytes = Vec::new();
    write_header(&mut bytes, 3, u64::MAX, 0);
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(matches!(error, GgufError::BadHeader(_)), "{error:?}");

    let mut bytes = Vec::new();
    write_header(&mut bytes, 3, 0, 1 << 40);
    let error = GgufFile::parse(&bytes).unwrap_err();
    assert!(matches!(error, GgufError::BadHeader(_)), "{error:?}");

    let mut value = 8u32.to_le_bytes().to_vec();
    value.extend_from_slice(&(u64::MAX - 1).to_le_bytes());
    value.extend_from_slice(b"short");
    let error = GgufFile::parse(&file_with_raw_value("general.name", &value)).unwrap_err();
    assert!(
        matches!(error, GgufError::Truncated { .. }) && error.to_string().contains("general.name"),
        "{error:?}"
    );
}

#[test]
fn gguf_refuses_a_bad_alignment() {
    for (alignment, needle) in [
        (MetadataValue::U32(0), "power of two"),
        (MetadataValue::U32(48), "power of two"),
        (MetadataValue::U64(32), "expected a u32"),
    ] {
        let bytes = GgufWriter::new()
            .meta("general.alignment", alignment)
            .write()
            .bytes;
        let error = GgufFile::parse(&bytes).unwrap_err();
        assert!(
            matches!(&error, GgufError::BadMetadata { key, problem }
                if key == "general.alignment" && problem.contains(needle)),
            "{error:?}"
        );
    }
}

#[test]
fn gguf_survives_random_corruption() {
    let (original, _) = golden_file(3, None);
    // A fixed-seed xorshift, so a failure reproduces.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut parsed = 0;
    for _ in 0..3000 {
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 4 {
            let position = (next() % bytes.len() as u64) as usize;
            bytes[position] = match next() % 3 {
                0 => next() as u8,
                1 => 0xff,
                _ => 0,
            };
        }
        if next() % 4 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        }
        if let Ok(file) = GgufFile::parse(&bytes) {
            parsed += 1;
            for tensor in file.tensors() {
                if let Ok(values) = file.dequantize(&bytes, &tensor.name) {
                    assert_eq!(values.len() as u64, tensor.num_elements());
                }
            }
        }
    }
    // Most corruptions land in tensor data, which still parses.
    assert!(parsed > 100, "only {parsed} corrupted files parsed");
}
