//! Structural check of a whisper ggml file before whisper.cpp ever opens it: header,
//! hyper-parameters, mel filters, vocabulary and every tensor record, down to the exact
//! file size. A corrupt, partial or foreign file becomes a clear [`ModelError`] instead of
//! an assertion or an out-of-bounds read inside whisper.cpp.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use super::catalog::remedy_for_path;
use super::error::ModelError;
use super::ggml::{expected_tensors, tensor_header_bytes, GgmlType, Hparams, TensorSpec, GGML_MAGIC, N_FFT_BINS};

/// Magic plus the eleven hyper-parameters.
const HEADER_BYTES: u64 = 4 + 11 * 4;
/// Longest vocabulary entry we accept (real ones are under 130 bytes).
const MAX_TOKEN_BYTES: u32 = 1024;
/// Longest tensor name we accept (real ones are under 45 bytes).
const MAX_NAME_BYTES: i32 = 256;

/// What a valid file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GgmlInfo {
    pub hparams: Hparams,
    /// Type of the 2-D weight matrices.
    pub weight_type: GgmlType,
    /// whisper.cpp's size name ("tiny", "base", ...).
    pub size_name: &'static str,
    pub multilingual: bool,
    /// Vocabulary entries stored in the file (whisper.cpp adds the special tokens).
    pub n_vocab_stored: u32,
    pub n_tensors: usize,
    pub file_size: u64,
}

/// Check that `path` is a complete whisper ggml model whisper.cpp can load.
pub fn validate_ggml(path: &Path) -> Result<GgmlInfo, ModelError> {
    let file = File::open(path).map_err(|e| ModelError::io("open model file", path, e))?;
    let size = file.metadata().map_err(|e| ModelError::io("read the size of model file", path, e))?.len();
    let mut r = Reader { inner: BufReader::with_capacity(1 << 16, file), pos: 0, size };
    walk(&mut r).map_err(|p| match p {
        Problem::Truncated { expected } => {
            ModelError::Truncated { path: path.to_path_buf(), expected, found: size, remedy: remedy_for_path(path) }
        }
        Problem::Invalid(reason) => {
            ModelError::InvalidModel { path: path.to_path_buf(), reason, remedy: remedy_for_path(path) }
        }
        Problem::Io(e) => ModelError::io("read model file", path, e),
    })
}

enum Problem {
    /// The file ends early; `expected` is the size it should have (a lower bound when the
    /// cut falls before the tensors).
    Truncated {
        expected: u64,
    },
    Invalid(String),
    Io(io::Error),
}

fn invalid<T>(reason: impl Into<String>) -> Result<T, Problem> {
    Err(Problem::Invalid(reason.into()))
}

struct Reader {
    inner: BufReader<File>,
    pos: u64,
    size: u64,
}

impl Reader {
    fn remaining(&self) -> u64 {
        self.size.saturating_sub(self.pos)
    }

    /// Read `n` bytes, or report truncation with `expected` as the least size the file needs.
    fn take(&mut self, buf: &mut [u8], expected_if_short: u64) -> Result<(), Problem> {
        if self.remaining() < buf.len() as u64 {
            return Err(Problem::Truncated { expected: expected_if_short });
        }
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => Problem::Truncated { expected: expected_if_short },
            _ => Problem::Io(e),
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn i32(&mut self, expected_if_short: u64) -> Result<i32, Problem> {
        let mut b = [0u8; 4];
        self.take(&mut b, expected_if_short)?;
        Ok(i32::from_le_bytes(b))
    }

    fn skip(&mut self, n: u64, expected_if_short: u64) -> Result<(), Problem> {
        if self.remaining() < n {
            return Err(Problem::Truncated { expected: expected_if_short });
        }
        let step = i64::try_from(n).map_err(|_| Problem::Invalid("a section is larger than 2^63 bytes".into()))?;
        self.inner.seek_relative(step).map_err(Problem::Io)?;
        self.pos += n;
        Ok(())
    }
}

fn describe_magic(b: [u8; 4]) -> String {
    match &b {
        b"GGUF" => "a GGUF file; whisper.cpp needs the legacy ggml format".into(),
        [b'P', b'K', 3, 4] => "a zip archive, not a model".into(),
        b"<!DO" | b"<htm" | b"<HTM" | b"<!do" => {
            "an HTML page, probably an error page saved instead of the model".into()
        }
        [6, 0, 0, 0] => "probably a CTranslate2 model.bin; convert it with `cuecard models import`".into(),
        _ => format!("bad magic bytes {:02x} {:02x} {:02x} {:02x}", b[0], b[1], b[2], b[3]),
    }
}

fn walk(r: &mut Reader) -> Result<GgmlInfo, Problem> {
    // Magic.
    let mut magic = [0u8; 4];
    if r.size < 4 {
        return invalid(if r.size == 0 {
            "the file is empty".to_string()
        } else {
            format!("the file is only {} bytes", r.size)
        });
    }
    r.take(&mut magic, 4)?;
    if u32::from_le_bytes(magic) != GGML_MAGIC {
        return invalid(format!("it is {}", describe_magic(magic)));
    }
    if r.size < HEADER_BYTES {
        return invalid(format!("the file is only {} bytes, too short for the model header", r.size));
    }

    // Hyper-parameters.
    let mut a = [0i32; 11];
    for v in a.iter_mut() {
        *v = r.i32(HEADER_BYTES)?;
    }
    let hp = Hparams::from_array(a);
    hp.check().or_else(|reason| invalid(format!("bad hyper-parameters: {reason}")))?;
    let weight_type = hp.weight_type().ok_or_else(|| Problem::Invalid(format!("unknown ftype {}", hp.ftype)))?;
    let specs = expected_tensors(&hp);
    let tensors_total: u64 = specs.iter().map(|s| record_bytes(s, weight_type)).sum();

    // Mel filters.
    let mel_end_min = r.pos + 8 + (hp.n_mels as u64) * N_FFT_BINS as u64 * 4;
    let lower_bound = |after: u64| after + tensors_total;
    let n_mel = r.i32(lower_bound(mel_end_min + 4))?;
    let n_fft = r.i32(lower_bound(mel_end_min + 4))?;
    if n_mel != hp.n_mels || n_fft != N_FFT_BINS as i32 {
        return invalid(format!("mel filter bank is {n_mel}x{n_fft}, expected {}x{N_FFT_BINS}", hp.n_mels));
    }
    r.skip(n_mel as u64 * n_fft as u64 * 4, lower_bound(mel_end_min + 4))?;

    // Vocabulary.
    let n_vocab_stored = r.i32(lower_bound(r.pos + 4))?;
    if n_vocab_stored < 0 || n_vocab_stored > hp.n_vocab {
        return invalid(format!("vocabulary has {n_vocab_stored} entries, n_vocab is {}", hp.n_vocab));
    }
    for i in 0..n_vocab_stored {
        let left = (n_vocab_stored - i) as u64;
        let len = r.i32(lower_bound(r.pos + 4 * left))? as u32;
        if len > MAX_TOKEN_BYTES {
            return invalid(format!("vocabulary entry {i} claims {len} bytes"));
        }
        r.skip(u64::from(len), lower_bound(r.pos + u64::from(len) + 4 * (left - 1)))?;
    }

    // Tensors, in any order, each exactly once.
    let by_name: HashMap<&str, &TensorSpec> = specs.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut seen: HashMap<&str, ()> = HashMap::with_capacity(specs.len());
    let mut unseen_total = tensors_total;
    while r.remaining() > 0 {
        let start = r.pos;
        let short = start + unseen_total.max(12);
        let n_dims = r.i32(short)?;
        let name_len = r.i32(short)?;
        let ttype = r.i32(short)?;
        if !(1..=4).contains(&n_dims) {
            return invalid(format!("tensor record at byte {start} has {n_dims} dimensions"));
        }
        if !(1..=MAX_NAME_BYTES).contains(&name_len) {
            return invalid(format!("tensor record at byte {start} has a name of {name_len} bytes"));
        }
        let mut ne = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            let d = r.i32(short)?;
            if d < 1 {
                return invalid(format!("tensor record at byte {start} has dimension {d}"));
            }
            ne.push(d as u64);
        }
        let mut name_buf = vec![0u8; name_len as usize];
        r.take(&mut name_buf, short)?;
        let name = String::from_utf8_lossy(&name_buf).into_owned();
        let Some(spec) = by_name.get(name.as_str()).copied() else {
            return invalid(format!("unknown tensor `{name}`"));
        };
        if seen.insert(spec.name.as_str(), ()).is_some() {
            return invalid(format!("tensor `{name}` appears twice"));
        }
        // whisper.cpp pads missing trailing dims with 1.
        let mut padded = ne.clone();
        padded.resize(spec.ne.len().max(ne.len()), 1);
        let mut want = spec.ne.clone();
        want.resize(padded.len(), 1);
        if padded != want {
            return invalid(format!("tensor `{name}` has shape {ne:?}, expected {:?}", spec.ne));
        }
        let want_type = spec.kind.ggml_type(weight_type);
        let Some(t) = GgmlType::from_id(ttype) else {
            return invalid(format!("tensor `{name}` has unknown type {ttype}"));
        };
        if t != want_type {
            return invalid(format!(
                "tensor `{name}` is {}, whisper.cpp needs {} in a file of this ftype",
                t.name(),
                want_type.name()
            ));
        }
        let bytes = t
            .tensor_bytes(&ne)
            .ok_or_else(|| Problem::Invalid(format!("tensor `{name}` rows do not split into {} blocks", t.name())))?;
        unseen_total -= record_bytes(spec, weight_type);
        r.skip(bytes, r.pos + bytes + unseen_total)?;
    }

    if seen.len() != specs.len() {
        // The file ends on a record boundary with tensors still missing: it was cut there.
        let missing: Vec<&str> =
            specs.iter().map(|s| s.name.as_str()).filter(|n| !seen.contains_key(n)).take(3).collect();
        tracing::debug!(?missing, "ggml file ends before some tensors");
        return Err(Problem::Truncated { expected: r.pos + unseen_total });
    }

    Ok(GgmlInfo {
        hparams: hp,
        weight_type,
        size_name: hp.size_name(),
        multilingual: hp.is_multilingual(),
        n_vocab_stored: n_vocab_stored as u32,
        n_tensors: seen.len(),
        file_size: r.size,
    })
}

fn record_bytes(s: &TensorSpec, weight: GgmlType) -> u64 {
    tensor_header_bytes(s.ne.len(), s.name.len()) + s.kind.ggml_type(weight).tensor_bytes(&s.ne).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testutil::{small_hparams, write_synthetic_model};

    fn model(dir: &Path, name: &str, ftype: i32) -> (std::path::PathBuf, Vec<u8>) {
        let path = dir.join(name);
        write_synthetic_model(&path, &small_hparams(ftype)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes)
    }

    #[test]
    fn accepts_a_complete_model() {
        let dir = tempfile::tempdir().unwrap();
        for ftype in [0, 1, 2007] {
            let (path, bytes) = model(dir.path(), &format!("m{ftype}.bin"), ftype);
            let info = validate_ggml(&path).unwrap();
            assert_eq!(info.file_size, bytes.len() as u64);
            assert_eq!(info.n_tensors, 1 + 4 + 2 + 15 + 4 + 24);
            assert_eq!(info.hparams.ftype, ftype);
            assert!(!info.multilingual);
        }
    }

    #[test]
    fn truncation_anywhere_is_reported_with_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = model(dir.path(), "full.bin", 2007);
        let cut_path = dir.path().join("ggml-tiny.en.bin");
        // Cuts inside the header, mel filters, vocabulary, a tensor header and tensor data,
        // and at the very last byte.
        let n = bytes.len();
        for (cut, why) in [(0usize, "empty"), (3, "only 3 bytes"), (30, "too short for the model header")] {
            std::fs::write(&cut_path, &bytes[..cut]).unwrap();
            let err = validate_ggml(&cut_path).unwrap_err();
            assert!(matches!(err, ModelError::InvalidModel { .. }), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        for cut in [1000, 70_000, n / 2, n - 40, n - 1] {
            std::fs::write(&cut_path, &bytes[..cut]).unwrap();
            let err = validate_ggml(&cut_path).unwrap_err();
            match &err {
                ModelError::Truncated { expected, found, .. } => {
                    assert_eq!(*found, cut as u64);
                    assert!(*expected > cut as u64, "cut {cut}: expected {expected}");
                    if cut > 200_000 {
                        assert_eq!(*expected, n as u64, "cut {cut} inside the tensors knows the exact size");
                    }
                }
                other => panic!("cut at {cut}: {other}"),
            }
            let msg = err.to_string();
            assert!(msg.contains("is truncated"), "{msg}");
            assert!(msg.contains("cuecard models install tiny.en"), "{msg}");
        }
    }

    #[test]
    fn trailing_bytes_and_garbage_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes) = model(dir.path(), "m.bin", 1);
        bytes.extend_from_slice(&[0u8; 20]);
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(validate_ggml(&path), Err(ModelError::InvalidModel { .. } | ModelError::Truncated { .. })));

        let garbage: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
        std::fs::write(&path, &garbage).unwrap();
        let e = validate_ggml(&path).unwrap_err();
        assert!(e.to_string().contains("bad magic"), "{e}");

        std::fs::write(&path, b"<!DOCTYPE html><html>Not found</html>").unwrap();
        let e = validate_ggml(&path).unwrap_err();
        assert!(e.to_string().contains("HTML page"), "{e}");

        std::fs::write(&path, b"GGUF\x03\0\0\0rest").unwrap();
        assert!(validate_ggml(&path).unwrap_err().to_string().contains("GGUF"));

        assert!(matches!(validate_ggml(&dir.path().join("missing.bin")), Err(ModelError::Io { .. })));
    }

    #[test]
    fn corrupted_fields_are_invalid_not_crashes() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = model(dir.path(), "m.bin", 2007);
        let patch = |offset: usize, value: i32| {
            let mut b = bytes.clone();
            b[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
            std::fs::write(&path, &b).unwrap();
            validate_ggml(&path).unwrap_err().to_string()
        };
        assert!(patch(4, 51865 + 10).contains("n_vocab"));
        assert!(patch(4 + 6 * 4, 99).contains("differs")); // n_text_state != n_audio_state
        assert!(patch(4 + 10 * 4, 2004).contains("ftype"));
        assert!(patch(4 + 9 * 4, 81).contains("n_mels"));
        assert!(patch(48, 79).contains("mel filter bank"));
        let vocab_at = 48 + 8 + 80 * 201 * 4;
        assert!(patch(vocab_at, -5).contains("vocabulary"));
        assert!(patch(vocab_at + 4, 1 << 30).contains("vocabulary entry 0"));
        // First tensor record header: n_dims, then type.
        let first_tensor = find_first_tensor(&bytes);
        assert!(patch(first_tensor, 9).contains("dimensions"));
        assert!(patch(first_tensor + 8, 8).contains("needs")); // f32 tensor stored as q8_0
        assert!(patch(first_tensor + 8, 77).contains("unknown type"));
        assert!(patch(first_tensor + 12, 1 << 20).contains("shape"));
    }

    fn find_first_tensor(bytes: &[u8]) -> usize {
        let needle = b"encoder.positional_embedding";
        let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
        at - 12 - 4 * 2
    }
}
