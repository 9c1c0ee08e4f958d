//! Weight encodings used in whisper.cpp ggml files: f32, f16 and q8_0.
//!
//! q8_0 follows ggml's reference quantizer (`quantize_row_q8_0_ref`): the values are cut into
//! blocks of 32; each block stores an f16 scale `d = max|x| / 127` followed by 32 signed bytes
//! `round(x / d)` (computed as `x * (1/d)`, rounding half away from zero, as ggml does).

use half::f16;

/// Values per q8_0 block.
pub const QK8_0: usize = 32;
/// Bytes per q8_0 block: an f16 scale and 32 `i8`.
pub const Q8_0_BLOCK_BYTES: usize = 2 + QK8_0;

/// Appends `src` as little-endian f32.
pub fn push_f32(src: &[f32], out: &mut Vec<u8>) {
    out.reserve(src.len() * 4);
    for v in src {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends `src` as little-endian IEEE half floats (round to nearest even, as ggml's
/// `GGML_FP32_TO_FP16`).
pub fn push_f16(src: &[f32], out: &mut Vec<u8>) {
    out.reserve(src.len() * 2);
    for v in src {
        out.extend_from_slice(&f16::from_f32(*v).to_bits().to_le_bytes());
    }
}

/// Appends `src` quantized to q8_0.
///
/// # Panics
/// If `src.len()` is not a multiple of 32; callers check the row length first.
pub fn push_q8_0(src: &[f32], out: &mut Vec<u8>) {
    assert!(src.len().is_multiple_of(QK8_0), "q8_0 needs a multiple of {QK8_0} values, got {}", src.len());
    out.reserve(src.len() / QK8_0 * Q8_0_BLOCK_BYTES);
    for block in src.chunks_exact(QK8_0) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_bits().to_le_bytes());
        for v in block {
            // `as i8` saturates; |v * id| <= 127 up to rounding anyway.
            out.push(((v * id).round() as i8) as u8);
        }
    }
}

/// Decodes q8_0 blocks back to f32 (scale times each signed byte).
///
/// # Panics
/// If `bytes.len()` is not a whole number of blocks.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    assert!(bytes.len().is_multiple_of(Q8_0_BLOCK_BYTES), "q8_0 data must be whole {Q8_0_BLOCK_BYTES}-byte blocks");
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * QK8_0);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
        out.extend(block[2..].iter().map(|q| f32::from(*q as i8) * d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small deterministic generator (xorshift) so the tests need no extra crate.
    fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * 0.3
            })
            .collect()
    }

    #[test]
    fn q8_0_round_trip_is_within_half_a_step() {
        let x = pseudo_random(32 * 64, 7);
        let mut q = Vec::new();
        push_q8_0(&x, &mut q);
        assert_eq!(q.len(), 64 * Q8_0_BLOCK_BYTES);
        let y = dequantize_q8_0(&q);
        assert_eq!(y.len(), x.len());
        for (bx, by) in x.chunks(32).zip(y.chunks(32)) {
            let amax = bx.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let step = amax / 127.0;
            for (a, b) in bx.iter().zip(by) {
                // Half a quantization step, plus the f16 rounding of the scale.
                assert!((a - b).abs() <= step * 0.5 + amax * 1e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn q8_0_block_layout() {
        let mut x = [0.0f32; 32];
        x[0] = 1.27;
        x[1] = -0.635;
        x[2] = 0.005;
        let mut q = Vec::new();
        push_q8_0(&x, &mut q);
        let d = f16::from_bits(u16::from_le_bytes([q[0], q[1]])).to_f32();
        assert!((d - 0.01).abs() < 1e-5);
        assert_eq!(q[2] as i8, 127);
        assert_eq!(q[3] as i8, -64); // -63.5 rounds away from zero
        assert_eq!(q[4] as i8, 1); // 0.5 rounds away from zero
        assert!(q[5..].iter().all(|b| *b == 0));
    }

    #[test]
    fn q8_0_all_zero_block() {
        let mut q = Vec::new();
        push_q8_0(&[0.0; 32], &mut q);
        assert_eq!(q, vec![0u8; 34]);
        assert_eq!(dequantize_q8_0(&q), vec![0.0; 32]);
    }

    #[test]
    fn f16_encoding_rounds_to_nearest() {
        let mut out = Vec::new();
        push_f16(&[1.0, -2.0, 65504.0, 1.0e-8], &mut out);
        assert_eq!(out, [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x00, 0x00]);
    }

    /// Our q8_0 bytes must equal ggml's own quantizer (the library whisper.cpp links).
    #[test]
    fn q8_0_matches_ggml_quantize_chunk() {
        use whisper_rs_sys as sys;
        let (rows, cols) = (7usize, 96usize);
        let x = pseudo_random(rows * cols, 42);
        let mut ours = Vec::new();
        push_q8_0(&x, &mut ours);
        let mut theirs = vec![0u8; rows * cols / QK8_0 * Q8_0_BLOCK_BYTES];
        // SAFETY: `x` holds rows*cols f32 values and `theirs` has room for rows*cols/32 q8_0
        // blocks; q8_0 takes no importance matrix (null is allowed).
        let written = unsafe {
            sys::ggml_quantize_chunk(
                sys::ggml_type_GGML_TYPE_Q8_0,
                x.as_ptr(),
                theirs.as_mut_ptr().cast(),
                0,
                rows as i64,
                cols as i64,
                std::ptr::null(),
            )
        };
        assert_eq!(written, theirs.len());
        assert_eq!(ours, theirs);
    }
}
