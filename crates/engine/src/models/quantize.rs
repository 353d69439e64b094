//! Weight encodings written by the converter: f32, f16 and ggml's q8_0 blocks.

use std::fmt;
use std::str::FromStr;

use half::f16;
use serde::{Deserialize, Serialize};

/// Values per q8_0 block.
pub const Q8_0_BLOCK: usize = 32;
/// Bytes per q8_0 block: an f16 scale then 32 signed bytes.
pub const Q8_0_BLOCK_BYTES: usize = 34;

/// How the 2-D weight matrices of a converted model are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Quantization {
    /// Half precision: lossless from a float16 CTranslate2 model.
    #[serde(rename = "f16")]
    F16,
    /// 8-bit blocks of 32 values with an f16 scale (about half the size, faster on CPUs).
    #[serde(rename = "q8_0")]
    Q8_0,
}

impl Quantization {
    /// The `ftype` hparam whisper.cpp reads (quantized types carry the ggml quantization version).
    pub fn ftype(self) -> i32 {
        match self {
            Quantization::F16 => 1,
            Quantization::Q8_0 => 2 * 1000 + 7,
        }
    }

    /// Lower-case name, also used in file names (`ggml-tiny.en-q8_0.bin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Quantization::F16 => "f16",
            Quantization::Q8_0 => "q8_0",
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Quantization {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f16" | "fp16" | "float16" => Ok(Quantization::F16),
            "q8_0" | "q8" | "int8" => Ok(Quantization::Q8_0),
            other => Err(format!("unknown quantization `{other}`: use f16 or q8_0")),
        }
    }
}

/// Little-endian f32 bytes.
pub fn encode_f32(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Little-endian f16 bytes (round to nearest even, as ggml does).
pub fn encode_f16(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 2);
    for v in values {
        out.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
    }
    out
}

/// q8_0 blocks, the same way as ggml's reference quantizer (`quantize_row_q8_0_ref`):
/// per block of 32, `d = amax / 127`, `q = round(x * (1/d))` (half away from zero),
/// the scale stored as f16. `values.len()` must be a multiple of 32 (rows of whisper
/// matrices always are); a short tail is padded with zeros.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    let blocks = values.len().div_ceil(Q8_0_BLOCK);
    let mut out = Vec::with_capacity(blocks * Q8_0_BLOCK_BYTES);
    let mut block = [0f32; Q8_0_BLOCK];
    for chunk in values.chunks(Q8_0_BLOCK) {
        block.fill(0.0);
        block[..chunk.len()].copy_from_slice(chunk);
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for v in block {
            let q = (v * id).round().clamp(-127.0, 127.0) as i8;
            out.push(q as u8);
        }
    }
    out
}

/// Inverse of [`quantize_q8_0`] (for tests): `x = d * q`.
#[cfg(test)]
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * Q8_0_BLOCK);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|&q| d * f32::from(q as i8)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
            })
            .collect()
    }

    #[test]
    fn q8_0_round_trip_error_is_within_half_a_step() {
        let x = pseudo_random(32 * 64, 7);
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), 64 * Q8_0_BLOCK_BYTES);
        let y = dequantize_q8_0(&q);
        assert_eq!(y.len(), x.len());
        for (bx, by) in x.chunks(32).zip(y.chunks(32)) {
            let amax = bx.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            // Half a quantization step plus the f16 rounding of the scale (rel. 2^-11 of 127 d).
            let bound = 0.5 * d + 127.0 * d * (1.0 / 2048.0) + 1e-7;
            for (a, b) in bx.iter().zip(by) {
                assert!((a - b).abs() <= bound, "{a} vs {b} (bound {bound})");
            }
        }
    }

    #[test]
    fn q8_0_block_layout() {
        let mut x = [0f32; 32];
        x[0] = 1.27;
        x[1] = -1.27;
        x[2] = 0.005; // exactly half a step (d = 0.01): rounds away from zero to 1... or below it
        x[3] = 0.63;
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), 34);
        let d = f16::from_le_bytes([q[0], q[1]]).to_f32();
        assert!((d - 0.01).abs() < 1e-5);
        assert_eq!(q[2] as i8, 127);
        assert_eq!(q[3] as i8, -127);
        assert!(matches!(q[4] as i8, 0 | 1));
        assert_eq!(q[5] as i8, 63);
        assert!(q[6..].iter().all(|&b| b == 0));
    }

    #[test]
    fn q8_0_of_zeros_is_zero_scale() {
        let q = quantize_q8_0(&[0.0; 64]);
        assert!(q.iter().all(|&b| b == 0));
        assert_eq!(dequantize_q8_0(&q), vec![0.0; 64]);
    }

    #[test]
    fn f16_encoding_is_little_endian() {
        assert_eq!(encode_f16(&[1.0, -2.0]), vec![0x00, 0x3c, 0x00, 0xc0]);
        assert_eq!(encode_f32(&[1.0]), vec![0, 0, 0x80, 0x3f]);
    }

    #[test]
    fn quantization_names() {
        assert_eq!("q8_0".parse::<Quantization>(), Ok(Quantization::Q8_0));
        assert_eq!("F16".parse::<Quantization>(), Ok(Quantization::F16));
        assert!("q4".parse::<Quantization>().is_err());
        assert_eq!(Quantization::Q8_0.ftype(), 2007);
        assert_eq!(Quantization::F16.to_string(), "f16");
    }
}
