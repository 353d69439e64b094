//! The legacy ggml whisper file format that whisper.cpp loads: constants, tensor types,
//! hyper-parameters, the list of tensors a model must hold, and a writer.

use std::io::{self, Write};

use serde::Serialize;

/// `"ggml"` as a little-endian u32.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// Quantized `ftype`s carry `version * 1000`.
pub const QNT_VERSION_FACTOR: i32 = 1000;
/// Frequency bins of whisper's 400-point FFT.
pub const N_FFT_BINS: usize = 201;

/// Tensor element types of ggml that a whisper file may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    BF16,
}

impl GgmlType {
    /// From ggml's `enum ggml_type` value.
    pub fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            6 => GgmlType::Q5_0,
            7 => GgmlType::Q5_1,
            8 => GgmlType::Q8_0,
            10 => GgmlType::Q2K,
            11 => GgmlType::Q3K,
            12 => GgmlType::Q4K,
            13 => GgmlType::Q5K,
            14 => GgmlType::Q6K,
            30 => GgmlType::BF16,
            _ => return None,
        })
    }

    /// ggml's `enum ggml_type` value.
    pub fn id(self) -> i32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q2K => 10,
            GgmlType::Q3K => 11,
            GgmlType::Q4K => 12,
            GgmlType::Q5K => 13,
            GgmlType::Q6K => 14,
            GgmlType::BF16 => 30,
        }
    }

    /// The weight type of a file's `ftype` hparam (without the quantization version),
    /// like ggml's `ggml_ftype_to_ggml_type`.
    pub fn from_ftype(ftype: i32) -> Option<Self> {
        Some(match ftype {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            7 => GgmlType::Q8_0,
            8 => GgmlType::Q5_0,
            9 => GgmlType::Q5_1,
            10 => GgmlType::Q2K,
            11 => GgmlType::Q3K,
            12 => GgmlType::Q4K,
            13 => GgmlType::Q5K,
            14 => GgmlType::Q6K,
            24 => GgmlType::BF16,
            _ => return None,
        })
    }

    /// Values per block.
    pub fn block_size(self) -> u64 {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => 32,
            GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> u64 {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q4_1 => 20,
            GgmlType::Q5_0 => 22,
            GgmlType::Q5_1 => 24,
            GgmlType::Q8_0 => 34,
            GgmlType::Q2K => 84,
            GgmlType::Q3K => 110,
            GgmlType::Q4K => 144,
            GgmlType::Q5K => 176,
            GgmlType::Q6K => 210,
        }
    }

    /// Bytes of a tensor with dims `ne` (ggml order), or `None` if rows do not split into blocks.
    pub fn tensor_bytes(self, ne: &[u64]) -> Option<u64> {
        let first = *ne.first()?;
        if first % self.block_size() != 0 {
            return None;
        }
        let n: u64 = ne.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))?;
        (n / self.block_size()).checked_mul(self.block_bytes())
    }

    /// ggml's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "f32",
            GgmlType::F16 => "f16",
            GgmlType::Q4_0 => "q4_0",
            GgmlType::Q4_1 => "q4_1",
            GgmlType::Q5_0 => "q5_0",
            GgmlType::Q5_1 => "q5_1",
            GgmlType::Q8_0 => "q8_0",
            GgmlType::Q2K => "q2_k",
            GgmlType::Q3K => "q3_k",
            GgmlType::Q4K => "q4_k",
            GgmlType::Q5K => "q5_k",
            GgmlType::Q6K => "q6_k",
            GgmlType::BF16 => "bf16",
        }
    }
}

/// The eleven i32 hyper-parameters after the magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// Weight type, plus `1000 * quantization version` for quantized types.
    pub ftype: i32,
}

impl Hparams {
    pub fn to_array(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    pub fn from_array(a: [i32; 11]) -> Self {
        Hparams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }

    /// The weight type the 2-D matrices must have.
    pub fn weight_type(&self) -> Option<GgmlType> {
        GgmlType::from_ftype(self.ftype % QNT_VERSION_FACTOR)
    }

    /// whisper.cpp's size names, by encoder depth.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 => "large",
            _ => "unknown",
        }
    }

    /// whisper.cpp treats 51865 tokens or more as a multilingual model.
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// Why whisper.cpp could not use these hyper-parameters, if so.
    pub fn check(&self) -> Result<(), String> {
        let h = self;
        if !(51864..=51866).contains(&h.n_vocab) {
            return Err(format!("n_vocab is {}, whisper models have 51864 to 51866", h.n_vocab));
        }
        for (name, v, max) in [
            ("n_audio_ctx", h.n_audio_ctx, 1 << 16),
            ("n_audio_state", h.n_audio_state, 1 << 14),
            ("n_audio_head", h.n_audio_head, 1 << 10),
            ("n_audio_layer", h.n_audio_layer, 256),
            ("n_text_ctx", h.n_text_ctx, 1 << 16),
            ("n_text_state", h.n_text_state, 1 << 14),
            ("n_text_head", h.n_text_head, 1 << 10),
            ("n_text_layer", h.n_text_layer, 256),
        ] {
            if v < 1 || v > max {
                return Err(format!("{name} is {v}, outside 1..={max}"));
            }
        }
        if h.n_audio_state != h.n_text_state {
            return Err(format!("n_audio_state {} differs from n_text_state {}", h.n_audio_state, h.n_text_state));
        }
        if h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0 {
            return Err(format!(
                "state size {} is not a multiple of the head counts {}/{}",
                h.n_audio_state, h.n_audio_head, h.n_text_head
            ));
        }
        if h.n_mels != 80 && h.n_mels != 128 {
            return Err(format!("n_mels is {}, whisper uses 80 or 128", h.n_mels));
        }
        if h.ftype < 0 || self.weight_type().is_none() {
            return Err(format!("ftype {} is not a weight type whisper.cpp supports", h.ftype));
        }
        Ok(())
    }
}

/// Which type a tensor must have, relative to the file's weight type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// Biases, layer norms, positional embeddings: always f32.
    F32,
    /// 2-D matrices: the file's weight type.
    Weight,
    /// Convolution kernels: f16 (f32 in an all-f32 file).
    Conv,
}

impl TensorKind {
    pub fn ggml_type(self, weight: GgmlType) -> GgmlType {
        match self {
            TensorKind::F32 => GgmlType::F32,
            TensorKind::Weight => weight,
            TensorKind::Conv if weight == GgmlType::F32 => GgmlType::F32,
            TensorKind::Conv => GgmlType::F16,
        }
    }
}

/// One tensor whisper.cpp expects: name, dims in ggml order (fastest first), kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub ne: Vec<u64>,
    pub kind: TensorKind,
}

/// Every tensor a whisper model with these hyper-parameters must contain (167 for tiny).
pub fn expected_tensors(h: &Hparams) -> Vec<TensorSpec> {
    let a = h.n_audio_state.max(0) as u64;
    let t = h.n_text_state.max(0) as u64;
    let mels = h.n_mels.max(0) as u64;
    let mut v = Vec::new();
    let mut push = |name: String, ne: Vec<u64>, kind: TensorKind| v.push(TensorSpec { name, ne, kind });
    use TensorKind::{Conv, Weight, F32};

    push("encoder.positional_embedding".into(), vec![a, h.n_audio_ctx.max(0) as u64], F32);
    push("encoder.conv1.weight".into(), vec![3, mels, a], Conv);
    push("encoder.conv1.bias".into(), vec![1, a], F32);
    push("encoder.conv2.weight".into(), vec![3, a, a], Conv);
    push("encoder.conv2.bias".into(), vec![1, a], F32);
    push("encoder.ln_post.weight".into(), vec![a], F32);
    push("encoder.ln_post.bias".into(), vec![a], F32);
    for i in 0..h.n_audio_layer.max(0) {
        let p = format!("encoder.blocks.{i}");
        push_block(&mut push, &p, a, false);
    }
    push("decoder.positional_embedding".into(), vec![t, h.n_text_ctx.max(0) as u64], F32);
    push("decoder.token_embedding.weight".into(), vec![t, h.n_vocab.max(0) as u64], Weight);
    push("decoder.ln.weight".into(), vec![t], F32);
    push("decoder.ln.bias".into(), vec![t], F32);
    for i in 0..h.n_text_layer.max(0) {
        let p = format!("decoder.blocks.{i}");
        push_block(&mut push, &p, t, true);
    }
    v
}

fn push_block(push: &mut impl FnMut(String, Vec<u64>, TensorKind), p: &str, n: u64, cross: bool) {
    use TensorKind::{Weight, F32};
    push(format!("{p}.mlp_ln.weight"), vec![n], F32);
    push(format!("{p}.mlp_ln.bias"), vec![n], F32);
    push(format!("{p}.mlp.0.weight"), vec![n, 4 * n], Weight);
    push(format!("{p}.mlp.0.bias"), vec![4 * n], F32);
    push(format!("{p}.mlp.2.weight"), vec![4 * n, n], Weight);
    push(format!("{p}.mlp.2.bias"), vec![n], F32);
    let attn = if cross { vec!["attn", "cross_attn"] } else { vec!["attn"] };
    for a in attn {
        push(format!("{p}.{a}_ln.weight"), vec![n], F32);
        push(format!("{p}.{a}_ln.bias"), vec![n], F32);
        push(format!("{p}.{a}.query.weight"), vec![n, n], Weight);
        push(format!("{p}.{a}.query.bias"), vec![n], F32);
        push(format!("{p}.{a}.key.weight"), vec![n, n], Weight);
        push(format!("{p}.{a}.value.weight"), vec![n, n], Weight);
        push(format!("{p}.{a}.value.bias"), vec![n], F32);
        push(format!("{p}.{a}.out.weight"), vec![n, n], Weight);
        push(format!("{p}.{a}.out.bias"), vec![n], F32);
    }
}

/// Bytes of a tensor record header: n_dims, name length, type, dims, name.
pub fn tensor_header_bytes(n_dims: usize, name_len: usize) -> u64 {
    12 + 4 * n_dims as u64 + name_len as u64
}

/// Writes a whisper ggml file section by section, in the order whisper.cpp reads it.
pub struct GgmlWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> GgmlWriter<W> {
    pub fn new(out: W) -> Self {
        GgmlWriter { out, written: 0 }
    }

    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    fn i32(&mut self, v: i32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    fn len_i32(&mut self, n: usize) -> io::Result<()> {
        let v = i32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length over i32"))?;
        self.i32(v)
    }

    /// Magic and hyper-parameters.
    pub fn header(&mut self, h: &Hparams) -> io::Result<()> {
        self.bytes(&GGML_MAGIC.to_le_bytes())?;
        for v in h.to_array() {
            self.i32(v)?;
        }
        Ok(())
    }

    /// Mel filter bank: rows, columns, then f32 weights row-major.
    pub fn mel_filters(&mut self, n_mel: usize, n_fft: usize, data: &[f32]) -> io::Result<()> {
        if data.len() != n_mel * n_fft {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "mel filter size mismatch"));
        }
        self.len_i32(n_mel)?;
        self.len_i32(n_fft)?;
        for v in data {
            self.bytes(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Vocabulary: count, then each token as length + raw bytes.
    pub fn vocab(&mut self, tokens: &[Vec<u8>]) -> io::Result<()> {
        self.len_i32(tokens.len())?;
        for t in tokens {
            self.len_i32(t.len())?;
            self.bytes(t)?;
        }
        Ok(())
    }

    /// One tensor record; `ne` in ggml order, `data` already encoded as `ttype`.
    pub fn tensor(&mut self, name: &str, ne: &[u64], ttype: GgmlType, data: &[u8]) -> io::Result<()> {
        let expected = ttype.tensor_bytes(ne);
        if expected != Some(data.len() as u64) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tensor {name}: {} bytes of data for {ne:?} as {}", data.len(), ttype.name()),
            ));
        }
        self.len_i32(ne.len())?;
        self.len_i32(name.len())?;
        self.i32(ttype.id())?;
        for &d in ne {
            let d = i32::try_from(d).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "dim over i32"))?;
            self.i32(d)?;
        }
        self.bytes(name.as_bytes())?;
        self.bytes(data)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testutil::tiny_en;

    #[test]
    fn tiny_has_167_tensors() {
        let specs = expected_tensors(&tiny_en());
        assert_eq!(specs.len(), 167);
        let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 167);
        assert!(names.contains(&"decoder.blocks.3.cross_attn.value.bias"));
    }

    #[test]
    fn block_sizes() {
        assert_eq!(GgmlType::Q8_0.tensor_bytes(&[384, 384]), Some(384 * 12 * 34));
        assert_eq!(GgmlType::Q5_1.tensor_bytes(&[64]), Some(48));
        assert_eq!(GgmlType::Q4_0.tensor_bytes(&[32, 2]), Some(36));
        assert_eq!(GgmlType::Q4_1.tensor_bytes(&[32]), Some(20));
        assert_eq!(GgmlType::Q5_0.tensor_bytes(&[32]), Some(22));
        assert_eq!(GgmlType::F16.tensor_bytes(&[3, 80, 384]), Some(3 * 80 * 384 * 2));
        assert_eq!(GgmlType::Q8_0.tensor_bytes(&[33]), None);
        for id in 0..40 {
            if let Some(t) = GgmlType::from_id(id) {
                assert_eq!(t.id(), id);
            }
        }
    }

    /// The tiny.en layout adds up to the published sizes (f16 77,704,715 and q5_1
    /// 32,166,155 bytes), given the real 50,257-token vocabulary section of 521,859 bytes.
    #[test]
    fn layout_sizes_match_published_files() {
        let size = |ftype: i32| {
            let h = Hparams { ftype, ..tiny_en() };
            let wt = h.weight_type().unwrap();
            let tensors: u64 = expected_tensors(&h)
                .iter()
                .map(|s| {
                    tensor_header_bytes(s.ne.len(), s.name.len()) + s.kind.ggml_type(wt).tensor_bytes(&s.ne).unwrap()
                })
                .sum();
            48 + (8 + 80 * 201 * 4) + 521_859 + tensors
        };
        assert_eq!(size(1), 77_704_715);
        assert_eq!(size(2009), 32_166_155);
        assert_eq!(size(2007), 43_550_795);
    }
}
