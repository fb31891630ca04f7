//! [`GgmlType`], a tensor's element type by its ggml type id, with its name and the block
//! layout of the types this reader can dequantise.

use super::dequant;

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
    pub(super) fn describe(&self) -> String {
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
    pub(super) fn block_layout(&self) -> Option<(u64, u64)> {
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
