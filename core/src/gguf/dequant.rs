//! Dequantisation of ggml's tensor types to `f32`, following ggml's reference formulas
//! (`dequantize_row_*` in ggml-quants.c) operation for operation, so the results are bit-exact.
//!
//! Quantised types store a tensor as consecutive blocks, each holding its own scale(s) and the
//! packed integers of a fixed number of elements: 32 for Q4_0, Q4_1 and Q8_0, and "super-blocks"
//! of 256 for the K-quants (Q4_K, Q6_K), whose sub-blocks carry their own quantised scales.
//! All multi-byte fields are little-endian.

use burn::tensor::f16;

use super::GgmlType;

/// Elements per block of the 32-element types.
const QK: usize = 32;
/// Elements per K-quant super-block.
const QK_K: usize = 256;

/// Bytes per Q4_0 block: f16 scale, 16 bytes of 4-bit values.
pub(crate) const Q4_0_BYTES: usize = 2 + QK / 2;
/// Bytes per Q4_1 block: f16 scale, f16 minimum, 16 bytes of 4-bit values.
pub(crate) const Q4_1_BYTES: usize = 4 + QK / 2;
/// Bytes per Q8_0 block: f16 scale, 32 signed bytes.
pub(crate) const Q8_0_BYTES: usize = 2 + QK;
/// Bytes per Q4_K super-block: f16 scale, f16 minimum scale, 12 bytes of packed 6-bit sub-block
/// scales and minimums, 128 bytes of 4-bit values.
pub(crate) const Q4_K_BYTES: usize = 4 + 12 + QK_K / 2;
/// Bytes per Q6_K super-block: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 signed
/// sub-block scales, f16 scale.
pub(crate) const Q6_K_BYTES: usize = QK_K / 2 + QK_K / 4 + QK_K / 16 + 2;

/// The f32 value of the little-endian f16 at `bytes[index..index + 2]`.
fn f16_at(bytes: &[u8], index: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[index], bytes[index + 1]])).to_f32()
}

/// Writes the `f32` values of `data`, the raw bytes of a tensor of type `kind`, into `out`.
///
/// The caller guarantees the sizes agree: `data` holds exactly `out.len()` elements' worth of
/// whole blocks. For a type without a known block layout ([`GgmlType::Other`], which callers
/// refuse first) it writes nothing.
pub(crate) fn dequantize_into(kind: GgmlType, data: &[u8], out: &mut [f32]) {
    match kind {
        GgmlType::F32 => {
            for (value, bytes) in out.iter_mut().zip(data.as_chunks::<4>().0) {
                *value = f32::from_le_bytes(*bytes);
            }
        }
        GgmlType::F16 => {
            for (value, bytes) in out.iter_mut().zip(data.as_chunks::<2>().0) {
                *value = f16::from_bits(u16::from_le_bytes(*bytes)).to_f32();
            }
        }
        GgmlType::BF16 => {
            // bf16 is the top half of an f32.
            for (value, bytes) in out.iter_mut().zip(data.as_chunks::<2>().0) {
                *value = f32::from_bits(u32::from(u16::from_le_bytes(*bytes)) << 16);
            }
        }
        GgmlType::Q4_0 => blocks::<Q4_0_BYTES, QK>(data, out, q4_0_block),
        GgmlType::Q4_1 => blocks::<Q4_1_BYTES, QK>(data, out, q4_1_block),
        GgmlType::Q8_0 => blocks::<Q8_0_BYTES, QK>(data, out, q8_0_block),
        GgmlType::Q4K => blocks::<Q4_K_BYTES, QK_K>(data, out, q4_k_block),
        GgmlType::Q6K => blocks::<Q6_K_BYTES, QK_K>(data, out, q6_k_block),
        GgmlType::Other(_) => {}
    }
}

/// Applies `block` to each `BYTES`-byte block of `data` and its `ELEMENTS` outputs.
fn blocks<const BYTES: usize, const ELEMENTS: usize>(
    data: &[u8],
    out: &mut [f32],
    block: impl Fn(&[u8; BYTES], &mut [f32; ELEMENTS]),
) {
    for (bytes, values) in data
        .as_chunks::<BYTES>()
        .0
        .iter()
        .zip(out.as_chunks_mut::<ELEMENTS>().0)
    {
        block(bytes, values);
    }
}

/// Q4_0: `d * (q - 8)`; the low nibbles of the 16 bytes are elements 0..16, the high ones
/// 16..32.
fn q4_0_block(block: &[u8; Q4_0_BYTES], out: &mut [f32; QK]) {
    let d = f16_at(block, 0);
    let (low, high) = out.split_at_mut(QK / 2);
    for ((&packed, low), high) in block[2..].iter().zip(low).zip(high) {
        *low = d * f32::from(i16::from(packed & 0x0f) - 8);
        *high = d * f32::from(i16::from(packed >> 4) - 8);
    }
}

/// Q4_1: `d * q + m`, nibbles laid out as in Q4_0.
fn q4_1_block(block: &[u8; Q4_1_BYTES], out: &mut [f32; QK]) {
    let d = f16_at(block, 0);
    let m = f16_at(block, 2);
    let (low, high) = out.split_at_mut(QK / 2);
    for ((&packed, low), high) in block[4..].iter().zip(low).zip(high) {
        *low = d * f32::from(packed & 0x0f) + m;
        *high = d * f32::from(packed >> 4) + m;
    }
}

/// Q8_0: `d * q` with `q` a signed byte.
fn q8_0_block(block: &[u8; Q8_0_BYTES], out: &mut [f32; QK]) {
    let d = f16_at(block, 0);
    for (value, &q) in out.iter_mut().zip(&block[2..]) {
        *value = f32::from(q as i8) * d;
    }
}

/// The 6-bit scale and minimum of sub-block `j` (0..8) of a Q4_K super-block, from its 12 packed
/// bytes: sub-blocks 0..4 keep theirs in the low 6 bits of bytes `j` and `j + 4`; sub-blocks 4..8
/// in the nibbles of byte `j + 4` with the top two bits of bytes `j - 4` and `j`
/// (ggml's `get_scale_min_k4`).
fn scale_min_k4(j: usize, packed: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        (
            (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4),
            (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4),
        )
    }
}

/// Q4_K: eight sub-blocks of 32, each `d * scale * q - dmin * min`. Each 32 bytes of values
/// hold two sub-blocks: the low nibbles the first, the high nibbles the second.
fn q4_k_block(block: &[u8; Q4_K_BYTES], out: &mut [f32; QK_K]) {
    let d = f16_at(block, 0);
    let dmin = f16_at(block, 2);
    let mut packed_scales = [0u8; 12];
    packed_scales.copy_from_slice(&block[4..16]);
    let quants = &block[16..];
    for (pair, (values, out)) in quants
        .chunks_exact(32)
        .zip(out.chunks_exact_mut(64))
        .enumerate()
    {
        let (scale_low, min_low) = scale_min_k4(2 * pair, &packed_scales);
        let (scale_high, min_high) = scale_min_k4(2 * pair + 1, &packed_scales);
        let (d_low, m_low) = (d * f32::from(scale_low), dmin * f32::from(min_low));
        let (d_high, m_high) = (d * f32::from(scale_high), dmin * f32::from(min_high));
        let (low, high) = out.split_at_mut(32);
        for ((&packed, low), high) in values.iter().zip(low).zip(high) {
            *low = d_low * f32::from(packed & 0x0f) - m_low;
            *high = d_high * f32::from(packed >> 4) - m_high;
        }
    }
}

/// Q6_K: sixteen sub-blocks of 16, each `d * scale * (q - 32)` with a 6-bit `q` split into low
/// 4 bits (`ql`) and high 2 bits (`qh`). Each half of 128 elements takes 64 bytes of `ql`, 32 of
/// `qh` and 8 scales; element `l + 32 * k` (`l` in 0..32, `k` in 0..4) takes the low or high
/// nibble of `ql[l]` or `ql[l + 32]` and bits `2k..2k + 2` of `qh[l]`.
fn q6_k_block(block: &[u8; Q6_K_BYTES], out: &mut [f32; QK_K]) {
    let (ql, rest) = block.split_at(QK_K / 2);
    let (qh, rest) = rest.split_at(QK_K / 4);
    let (scales, d) = rest.split_at(QK_K / 16);
    let d = f16_at(d, 0);
    for (((ql, qh), scales), out) in ql
        .chunks_exact(64)
        .zip(qh.chunks_exact(32))
        .zip(scales.chunks_exact(8))
        .zip(out.chunks_exact_mut(128))
    {
        let scale: [f32; 8] = std::array::from_fn(|index| d * f32::from(scales[index] as i8));
        // The 6-bit value with its high bits from `shift` in `qh`, centred on zero.
        let centred = |nibble: u8, high: u8, shift: u32| {
            f32::from(i16::from(nibble | (((high >> shift) & 3) << 4)) - 32)
        };
        for l in 0..32 {
            let sub_block = l / 16;
            let (low, next, high) = (ql[l], ql[l + 32], qh[l]);
            out[l] = scale[sub_block] * centred(low & 0x0f, high, 0);
            out[l + 32] = scale[sub_block + 2] * centred(next & 0x0f, high, 2);
            out[l + 64] = scale[sub_block + 4] * centred(low >> 4, high, 4);
            out[l + 96] = scale[sub_block + 6] * centred(next >> 4, high, 6);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::test_writer::{assert_close, golden_cases};

    /// The bytes of `value` as a little-endian f16.
    fn f16_bytes(value: f32) -> [u8; 2] {
        f16::from_f32(value).to_bits().to_le_bytes()
    }

    #[test]
    fn gguf_dequant_matches_the_reference_for_every_golden_type() {
        let cases = golden_cases();
        let names: Vec<&str> = cases.iter().map(|case| case.type_name.as_str()).collect();
        assert_eq!(
            names,
            ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q6_K"]
        );
        for case in &cases {
            let kind = GgmlType::from_id(case.type_id);
            assert_eq!(kind.name(), case.type_name);
            let expected = case.expected_f32();
            let mut actual = vec![f32::NAN; expected.len()];
            dequantize_into(kind, &case.raw(), &mut actual);
            assert_close(&case.type_name, &actual, &expected);
        }
    }

    #[test]
    fn gguf_dequant_q4_0_puts_low_nibbles_first_and_centres_on_eight() {
        let mut block = [0u8; Q4_0_BYTES];
        block[..2].copy_from_slice(&f16_bytes(0.5));
        for i in 0..16 {
            block[2 + i] = i as u8 | ((15 - i as u8) << 4);
        }
        let mut out = [0.0; 32];
        dequantize_into(GgmlType::Q4_0, &block, &mut out);
        for i in 0..16 {
            assert_eq!(out[i], 0.5 * (i as f32 - 8.0), "element {i}");
            assert_eq!(out[16 + i], 0.5 * (7.0 - i as f32), "element {}", 16 + i);
        }
    }

    #[test]
    fn gguf_dequant_q8_0_reads_signed_bytes() {
        let mut block = [0u8; Q8_0_BYTES];
        block[..2].copy_from_slice(&f16_bytes(0.25));
        block[2] = 0x80; // -128
        block[3] = 0x7f; // 127
        block[4] = 0xff; // -1
        let mut out = [0.0; 32];
        dequantize_into(GgmlType::Q8_0, &block, &mut out);
        assert_eq!(&out[..4], &[-32.0, 31.75, -0.25, 0.0]);
    }

    #[test]
    fn gguf_dequant_q4_k_unpacks_the_six_bit_scales_and_minimums() {
        // Pack eight (scale, min) pairs as ggml's quantize_row_q4_K does, then unpack them.
        let scales: [u8; 8] = [1, 17, 33, 63, 5, 40, 62, 23];
        let mins: [u8; 8] = [60, 2, 31, 0, 47, 16, 9, 63];
        let mut packed = [0u8; 12];
        for j in 0..4 {
            packed[j] = scales[j] | ((scales[j + 4] >> 4) << 6);
            packed[j + 4] = mins[j] | ((mins[j + 4] >> 4) << 6);
            packed[j + 8] = (scales[j + 4] & 0x0f) | ((mins[j + 4] & 0x0f) << 4);
        }
        for j in 0..8 {
            assert_eq!(
                scale_min_k4(j, &packed),
                (scales[j], mins[j]),
                "sub-block {j}"
            );
        }
    }

    #[test]
    fn gguf_dequant_q6_k_takes_two_high_bits_per_quarter() {
        let mut block = [0u8; Q6_K_BYTES];
        // Every sub-block scale 1, d = 1.
        block[192..208].fill(1);
        block[208..].copy_from_slice(&f16_bytes(1.0));
        // qh[0] gives elements 0, 32, 64, 96 the high bits 0, 1, 2, 3.
        block[128] = 0b11_10_01_00;
        // ql[0] low nibble to element 0, high nibble to 64; ql[32] to 32 and 96.
        block[0] = 0x21;
        block[32] = 0x43;
        let mut out = [0.0; 256];
        dequantize_into(GgmlType::Q6K, &block, &mut out);
        assert_eq!(out[0], 1.0 - 32.0);
        assert_eq!(out[32], 16.0 + 3.0 - 32.0);
        assert_eq!(out[64], 32.0 + 2.0 - 32.0);
        assert_eq!(out[96], 48.0 + 4.0 - 32.0);
        assert_eq!(out[1], -32.0);
    }

    #[test]
    fn gguf_dequant_bf16_and_f16_decode_special_values() {
        let bf16_bytes: Vec<u8> = [0x3f80u16, 0xbf80, 0x7f80, 0x0000]
            .iter()
            .flat_map(|bits| bits.to_le_bytes())
            .collect();
        let mut out = [0.0; 4];
        dequantize_into(GgmlType::BF16, &bf16_bytes, &mut out);
        assert_eq!(out, [1.0, -1.0, f32::INFINITY, 0.0]);

        let f16_bytes: Vec<u8> = [0x3c00u16, 0xc000, 0x0001, 0x7bff]
            .iter()
            .flat_map(|bits| bits.to_le_bytes())
            .collect();
        dequantize_into(GgmlType::F16, &f16_bytes, &mut out);
        assert_eq!(out, [1.0, -2.0, 2f32.powi(-24), 65504.0]);
    }
}
