//! A little-endian byte cursor over a GGUF file whose every read is bounds-checked, so that a
//! truncated or hostile file ends in [`GgufError::Truncated`] rather than a panic.

use super::GgufError;

/// Reads fixed-size little-endian values and length-prefixed strings from a byte slice, tracking
/// the position. Every read names what it was reading (built only when the read fails), for the
/// error message.
pub(crate) struct ByteReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> ByteReader<'a> {
    /// A cursor at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// The offset of the next byte to be read.
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    /// How many bytes are left after the position.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// The error for a read of `what` that would run past the end of the file.
    fn truncated(&self, what: impl FnOnce() -> String) -> GgufError {
        GgufError::Truncated {
            what: what(),
            offset: self.bytes.len() as u64,
        }
    }

    /// The next `length` bytes, or an error naming `what` when fewer remain.
    pub(crate) fn take(
        &mut self,
        length: usize,
        what: impl FnOnce() -> String,
    ) -> Result<&'a [u8], GgufError> {
        if length > self.remaining() {
            return Err(self.truncated(what));
        }
        let start = self.position;
        self.position += length;
        Ok(&self.bytes[start..self.position])
    }

    /// The next `N` bytes as an array.
    fn take_array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], GgufError> {
        let slice = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    /// A `u8`.
    pub(crate) fn u8(&mut self, what: impl FnOnce() -> String) -> Result<u8, GgufError> {
        Ok(self.take_array::<1>(what)?[0])
    }

    /// A little-endian `u16`.
    pub(crate) fn u16(&mut self, what: impl FnOnce() -> String) -> Result<u16, GgufError> {
        self.take_array(what).map(u16::from_le_bytes)
    }

    /// A little-endian `u32`.
    pub(crate) fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32, GgufError> {
        self.take_array(what).map(u32::from_le_bytes)
    }

    /// A little-endian `u64`.
    pub(crate) fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64, GgufError> {
        self.take_array(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: a `u64` byte length, then that many bytes (UTF-8 by the specification,
    /// not checked here). The length is checked against the bytes left before anything is read.
    pub(crate) fn string_bytes(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<&'a [u8], GgufError> {
        let start = self.position;
        let Ok(length) = self.u64(String::new) else {
            return Err(self.truncated(what));
        };
        match usize::try_from(length) {
            Ok(length) if length <= self.remaining() => self.take(length, what),
            _ => {
                self.position = start;
                Err(self.truncated(what))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_reader_reads_little_endian_values_in_order() {
        let bytes = [1u8, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0];
        let mut reader = ByteReader::new(&bytes);
        assert_eq!(reader.u8(String::new).unwrap(), 1);
        assert_eq!(reader.u16(String::new).unwrap(), 2);
        assert_eq!(reader.u32(String::new).unwrap(), 3);
        assert_eq!(reader.u64(String::new).unwrap(), 4);
        assert_eq!(reader.remaining(), 0);
    }

    #[test]
    fn gguf_reader_refuses_reads_past_the_end_naming_what_and_where() {
        let bytes = [7u8, 0, 0];
        let mut reader = ByteReader::new(&bytes);
        let error = reader.u32(|| "the widget count".to_string()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the file ends at byte 3 while reading the widget count"
        );
        // A failed read leaves the position where it was.
        assert_eq!(reader.position(), 0);
        assert_eq!(reader.u16(String::new).unwrap(), 7);
    }

    #[test]
    fn gguf_reader_refuses_a_string_longer_than_the_bytes_left() {
        let mut bytes = u64::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let mut reader = ByteReader::new(&bytes);
        let error = reader.string_bytes(|| "the name".to_string()).unwrap_err();
        assert!(
            matches!(error, GgufError::Truncated { offset: 11, .. }),
            "{error}"
        );

        let mut bytes = 3u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let mut reader = ByteReader::new(&bytes);
        assert_eq!(reader.string_bytes(String::new).unwrap(), b"abc");
    }
}
