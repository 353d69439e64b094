//! CTranslate2 (faster-whisper) model directory -> whisper.cpp ggml file.
//!
//! Hyper-parameters come from the model itself (variable shapes, `num_heads`, layer
//! count); the vocabulary from `tokenizer.json` (or `vocabulary.txt`); the mel filters are
//! computed. Every one of the tensors whisper.cpp expects is written: q/k/v split out of the
//! fused projections (dropping the all-zero key bias), f32 for biases, norms and positional
//! embeddings, f16 for convolution kernels, f16 or q8_0 for the 2-D matrices.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use regex::Regex;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use super::checksum::HashWriter;
use super::ct2::Ct2Model;
use super::error::ModelError;
use super::ggml::{expected_tensors, GgmlType, GgmlWriter, Hparams, N_FFT_BINS};
use super::manager::InstallProgress;
use super::mel::whisper_mel_filters;
use super::quantize::{encode_f16, encode_f32, quantize_q8_0, Quantization};
use super::validate::{validate_ggml, GgmlInfo};
use super::vocab::{vocab_from_tokenizer_json, vocab_from_vocabulary_txt};

/// Convert the CTranslate2 model in `ct2_dir` to a ggml file at `out` (written to a
/// temporary file next to it, checked with [`validate_ggml`], then renamed into place).
pub fn convert_ct2_to_ggml(ct2_dir: &Path, out: &Path, quant: Quantization) -> Result<GgmlInfo, ModelError> {
    let dir = parent_dir(out);
    let staged = convert_staged(ct2_dir, &dir, quant, &mut |_| {})?;
    staged.persist(out)
}

/// A converted model in a temporary file, not yet at its final name.
pub(crate) struct Staged {
    tmp: NamedTempFile,
    pub info: GgmlInfo,
    pub sha256: String,
    pub size: u64,
}

impl Staged {
    /// Atomically rename into place.
    pub fn persist(self, out: &Path) -> Result<GgmlInfo, ModelError> {
        let info = self.info;
        self.tmp.persist(out).map_err(|e| ModelError::io("move the converted model to", out, e.error))?;
        Ok(info)
    }
}

pub(crate) fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Convert into a temporary file in `dest_dir`, reporting steps through `progress`.
pub(crate) fn convert_staged(
    ct2_dir: &Path,
    dest_dir: &Path,
    quant: Quantization,
    progress: &mut dyn FnMut(InstallProgress),
) -> Result<Staged, ModelError> {
    let bad = |reason: String| ModelError::Ct2 { path: ct2_dir.to_path_buf(), reason };
    let step = |progress: &mut dyn FnMut(InstallProgress), s: String| progress(InstallProgress::Converting { step: s });

    step(progress, "reading the CTranslate2 model".into());
    let mut model = Ct2Model::open(&ct2_dir.join("model.bin")).map_err(&bad)?;
    if !model.spec_name.contains("Whisper") {
        return Err(bad(format!("model.bin holds a {} model, not Whisper", model.spec_name)));
    }
    let hp = derive_hparams(&mut model, quant).map_err(&bad)?;
    let weight = hp.weight_type().ok_or_else(|| bad("unsupported output type".into()))?;
    check_zero_key_biases(&mut model, &hp).map_err(&bad)?;
    tracing::debug!(spec = %model.spec_name, revision = model.spec_revision, ?hp, "converting CTranslate2 model");
    if model.var("decoder/projection/weight").is_some() && !model.is_alias("decoder/projection/weight") {
        tracing::warn!("decoder/projection/weight is not tied to the embeddings; whisper.cpp will use the embeddings");
    }

    step(progress, "reading the vocabulary".into());
    let vocab = read_vocab(ct2_dir).map_err(&bad)?;
    if vocab.len() > hp.n_vocab as usize {
        return Err(bad(format!("the tokenizer has {} tokens, the model only {}", vocab.len(), hp.n_vocab)));
    }

    fs::create_dir_all(dest_dir).map_err(|e| ModelError::io("create directory", dest_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".cuecard-convert-")
        .suffix(".tmp")
        .tempfile_in(dest_dir)
        .map_err(|e| ModelError::io("create a temporary file in", dest_dir, e))?;
    let tmp_path = tmp.path().to_path_buf();
    let io_err = |e: std::io::Error| ModelError::io("write", &tmp_path, e);

    let mut hasher = Sha256::new();
    let file = tmp.as_file().try_clone().map_err(io_err)?;
    let mut w = GgmlWriter::new(HashWriter { inner: BufWriter::with_capacity(1 << 20, file), hasher: &mut hasher });
    w.header(&hp).map_err(io_err)?;
    step(progress, "computing the mel filters".into());
    let n_mels = hp.n_mels as usize;
    w.mel_filters(n_mels, N_FFT_BINS, &whisper_mel_filters(n_mels)).map_err(io_err)?;
    w.vocab(&vocab).map_err(io_err)?;

    let specs = expected_tensors(&hp);
    let mut cache: Option<(String, Vec<u64>, Vec<f32>)> = None;
    for (i, spec) in specs.iter().enumerate() {
        let ttype = spec.kind.ggml_type(weight);
        step(progress, format!("tensor {}/{}: {} ({})", i + 1, specs.len(), spec.name, ttype.name()));
        let src = source_of(&spec.name).ok_or_else(|| bad(format!("no source for tensor {}", spec.name)))?;
        let (dims, values) = read_source(&mut model, &src, &mut cache).map_err(&bad)?;
        if squeeze_reversed(&dims) != squeeze(&spec.ne) {
            return Err(bad(format!(
                "{} has shape {dims:?}, whisper.cpp expects {:?} for {}",
                src.var, spec.ne, spec.name
            )));
        }
        let data = match ttype {
            GgmlType::F32 => encode_f32(&values),
            GgmlType::F16 => encode_f16(&values),
            GgmlType::Q8_0 => quantize_q8_0(&values),
            other => return Err(bad(format!("cannot write {} tensors", other.name()))),
        };
        w.tensor(&spec.name, &spec.ne, ttype, &data).map_err(io_err)?;
    }
    let size = w.written();
    let mut inner = w.into_inner();
    inner.flush().map_err(io_err)?;
    let buffered = inner.inner;
    let file = buffered.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    let sha256 = hex::encode(hasher.finalize());

    step(progress, "checking the converted file".into());
    let info = validate_ggml(&tmp_path)?;
    Ok(Staged { tmp, info, sha256, size })
}

fn derive_hparams(m: &mut Ct2Model, quant: Quantization) -> Result<Hparams, String> {
    let dims = |m: &Ct2Model, name: &str, n: usize| -> Result<Vec<i32>, String> {
        let v = m.var(name).ok_or_else(|| format!("variable {name} is missing"))?;
        if v.dims.len() != n {
            return Err(format!("variable {name} has {} dimensions, expected {n}", v.dims.len()));
        }
        v.dims.iter().map(|&d| i32::try_from(d).map_err(|_| format!("variable {name} is too large"))).collect()
    };
    let emb = dims(m, "decoder/embeddings/weight", 2)?;
    let enc_pos = dims(m, "encoder/position_encodings/encodings", 2)?;
    let dec_pos = dims(m, "decoder/position_encodings/encodings", 2)?;
    let conv1 = dims(m, "encoder/conv1/weight", 3)?;

    let layer_re = Regex::new(r"^(encoder|decoder)/layer_(\d+)/").map_err(|e| e.to_string())?;
    let mut enc_layers = BTreeSet::new();
    let mut dec_layers = BTreeSet::new();
    for name in m.var_names() {
        if let Some(c) = layer_re.captures(name) {
            let idx: u32 = c[2].parse().map_err(|_| format!("bad layer index in {name}"))?;
            if &c[1] == "encoder" {
                enc_layers.insert(idx)
            } else {
                dec_layers.insert(idx)
            };
        }
    }
    let count = |set: &BTreeSet<u32>, side: &str| -> Result<i32, String> {
        let n = set.len();
        if n == 0 || set.iter().copied().ne(0..n as u32) {
            return Err(format!("{side} layers are not numbered 0..{n}"));
        }
        Ok(n as i32)
    };
    let n_audio_layer = count(&enc_layers, "encoder")?;
    let n_text_layer = count(&dec_layers, "decoder")?;

    let heads = |m: &mut Ct2Model, name: &str, state: i32| -> Result<i32, String> {
        if m.var(name).is_some() {
            let h = m.read_int(name)?;
            i32::try_from(h).map_err(|_| format!("{name} is {h}"))
        } else {
            // Every whisper size uses 64-wide heads.
            Ok(state / 64)
        }
    };
    let n_audio_head = heads(m, "encoder/num_heads", enc_pos[1])?;
    let n_text_head = heads(m, "decoder/num_heads", dec_pos[1])?;

    let hp = Hparams {
        n_vocab: emb[0],
        n_audio_ctx: enc_pos[0],
        n_audio_state: enc_pos[1],
        n_audio_head,
        n_audio_layer,
        n_text_ctx: dec_pos[0],
        n_text_state: dec_pos[1],
        n_text_head,
        n_text_layer,
        n_mels: conv1[1],
        ftype: quant.ftype(),
    };
    hp.check()?;
    if emb[1] != hp.n_text_state || conv1[0] != hp.n_audio_state {
        return Err(format!(
            "embedding width {} / conv width {} do not match the state size {}",
            emb[1], conv1[0], hp.n_text_state
        ));
    }
    Ok(hp)
}

/// whisper.cpp has no key bias: CTranslate2 stores zeros there; anything else cannot be converted.
fn check_zero_key_biases(m: &mut Ct2Model, hp: &Hparams) -> Result<(), String> {
    let n = hp.n_text_state as usize;
    let mut checks = Vec::new();
    for i in 0..hp.n_audio_layer {
        checks.push((format!("encoder/layer_{i}/self_attention/linear_0/bias"), 1, 3));
    }
    for i in 0..hp.n_text_layer {
        checks.push((format!("decoder/layer_{i}/self_attention/linear_0/bias"), 1, 3));
        checks.push((format!("decoder/layer_{i}/attention/linear_1/bias"), 0, 2));
    }
    for (name, part, parts) in checks {
        let (dims, v) = m.read_f32(&name)?;
        if dims != [(parts * n) as u64] {
            return Err(format!("{name} has shape {dims:?}, expected [{}]", parts * n));
        }
        if v[part * n..(part + 1) * n].iter().any(|x| *x != 0.0) {
            return Err(format!("{name} has a non-zero key bias, which whisper.cpp cannot represent"));
        }
    }
    Ok(())
}

fn read_vocab(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let tok = dir.join("tokenizer.json");
    if tok.exists() {
        let text = fs::read_to_string(&tok).map_err(|e| format!("cannot read tokenizer.json: {e}"))?;
        return vocab_from_tokenizer_json(&text);
    }
    let txt = dir.join("vocabulary.txt");
    if txt.exists() {
        let text = fs::read_to_string(&txt).map_err(|e| format!("cannot read vocabulary.txt: {e}"))?;
        return vocab_from_vocabulary_txt(&text);
    }
    Err("neither tokenizer.json nor vocabulary.txt is there".into())
}

/// Where a ggml tensor comes from: a CTranslate2 variable, or one of `parts` equal row
/// blocks of a fused one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    var: String,
    part: usize,
    parts: usize,
}

fn whole(var: impl Into<String>) -> Source {
    Source { var: var.into(), part: 0, parts: 1 }
}

/// The name map, ggml -> CTranslate2.
fn source_of(ggml: &str) -> Option<Source> {
    let fixed = match ggml {
        "encoder.positional_embedding" => Some("encoder/position_encodings/encodings"),
        "encoder.conv1.weight" => Some("encoder/conv1/weight"),
        "encoder.conv1.bias" => Some("encoder/conv1/bias"),
        "encoder.conv2.weight" => Some("encoder/conv2/weight"),
        "encoder.conv2.bias" => Some("encoder/conv2/bias"),
        "encoder.ln_post.weight" => Some("encoder/layer_norm/gamma"),
        "encoder.ln_post.bias" => Some("encoder/layer_norm/beta"),
        "decoder.positional_embedding" => Some("decoder/position_encodings/encodings"),
        "decoder.token_embedding.weight" => Some("decoder/embeddings/weight"),
        "decoder.ln.weight" => Some("decoder/layer_norm/gamma"),
        "decoder.ln.bias" => Some("decoder/layer_norm/beta"),
        _ => None,
    };
    if let Some(v) = fixed {
        return Some(whole(v));
    }
    let (side, rest) = ggml.split_once(".blocks.")?;
    let (layer, rest) = rest.split_once('.')?;
    layer.parse::<u32>().ok()?;
    let (module, param) = rest.rsplit_once('.')?;
    let norm_param = match param {
        "weight" => "gamma",
        "bias" => "beta",
        _ => return None,
    };
    let p = format!("{side}/layer_{layer}");
    Some(match module {
        "mlp_ln" => whole(format!("{p}/ffn/layer_norm/{norm_param}")),
        "mlp.0" => whole(format!("{p}/ffn/linear_0/{param}")),
        "mlp.2" => whole(format!("{p}/ffn/linear_1/{param}")),
        "attn_ln" => whole(format!("{p}/self_attention/layer_norm/{norm_param}")),
        "attn.query" => Source { var: format!("{p}/self_attention/linear_0/{param}"), part: 0, parts: 3 },
        "attn.key" => Source { var: format!("{p}/self_attention/linear_0/{param}"), part: 1, parts: 3 },
        "attn.value" => Source { var: format!("{p}/self_attention/linear_0/{param}"), part: 2, parts: 3 },
        "attn.out" => whole(format!("{p}/self_attention/linear_1/{param}")),
        "cross_attn_ln" => whole(format!("{p}/attention/layer_norm/{norm_param}")),
        "cross_attn.query" => whole(format!("{p}/attention/linear_0/{param}")),
        "cross_attn.key" => Source { var: format!("{p}/attention/linear_1/{param}"), part: 0, parts: 2 },
        "cross_attn.value" => Source { var: format!("{p}/attention/linear_1/{param}"), part: 1, parts: 2 },
        "cross_attn.out" => whole(format!("{p}/attention/linear_2/{param}")),
        _ => return None,
    })
}

/// Read a source as (dims, values), slicing fused variables; the last fused variable is cached.
fn read_source(
    m: &mut Ct2Model,
    src: &Source,
    cache: &mut Option<(String, Vec<u64>, Vec<f32>)>,
) -> Result<(Vec<u64>, Vec<f32>), String> {
    if src.parts == 1 {
        return m.read_f32(&src.var);
    }
    if cache.as_ref().map(|c| c.0.as_str()) != Some(src.var.as_str()) {
        let (dims, values) = m.read_f32(&src.var)?;
        *cache = Some((src.var.clone(), dims, values));
    }
    let (_, dims, values) = cache.as_ref().ok_or("cache")?;
    let rows = *dims.first().ok_or_else(|| format!("{} is a scalar", src.var))?;
    if rows % src.parts as u64 != 0 {
        return Err(format!("{} has {rows} rows, not {} equal parts", src.var, src.parts));
    }
    let part_rows = rows / src.parts as u64;
    let cols: u64 = dims[1..].iter().product();
    let len = (part_rows * cols) as usize;
    let start = src.part * len;
    let mut out_dims = dims.clone();
    out_dims[0] = part_rows;
    Ok((out_dims, values[start..start + len].to_vec()))
}

/// CTranslate2 dims (slowest first) reversed into ggml order, without size-1 dims.
fn squeeze_reversed(dims: &[u64]) -> Vec<u64> {
    dims.iter().rev().copied().filter(|&d| d != 1).collect()
}

fn squeeze(ne: &[u64]) -> Vec<u64> {
    ne.iter().copied().filter(|&d| d != 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ggml::TensorKind;
    use crate::models::testutil::{small_hparams, write_fake_ct2};
    use half::f16;

    #[test]
    fn every_expected_tensor_has_a_source() {
        let specs = expected_tensors(&crate::models::testutil::tiny_en());
        for s in &specs {
            assert!(source_of(&s.name).is_some(), "{}", s.name);
        }
        assert_eq!(
            source_of("decoder.blocks.2.cross_attn.value.bias"),
            Some(Source { var: "decoder/layer_2/attention/linear_1/bias".into(), part: 1, parts: 2 })
        );
        assert_eq!(
            source_of("encoder.blocks.0.attn_ln.weight"),
            Some(whole("encoder/layer_0/self_attention/layer_norm/gamma"))
        );
        assert_eq!(source_of("encoder.blocks.x.attn_ln.weight"), None);
    }

    #[test]
    fn converts_a_small_model_in_both_formats() {
        let src = tempfile::tempdir().unwrap();
        write_fake_ct2(src.path(), 0.0);
        let out_dir = tempfile::tempdir().unwrap();
        for quant in [Quantization::F16, Quantization::Q8_0] {
            let out = out_dir.path().join(format!("m-{quant}.bin"));
            let info = convert_ct2_to_ggml(src.path(), &out, quant).unwrap();
            assert_eq!(info.hparams, small_hparams(quant.ftype()));
            assert_eq!(info.n_vocab_stored, 3);
            assert_eq!(info.weight_type, if quant == Quantization::F16 { GgmlType::F16 } else { GgmlType::Q8_0 });
            assert_eq!(validate_ggml(&out).unwrap(), info);
            // No temporary file left behind.
            let left: Vec<_> = fs::read_dir(out_dir.path()).unwrap().filter_map(|e| e.ok()).collect();
            assert!(left.iter().all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")));
            // Deterministic.
            let again = out_dir.path().join("again.bin");
            convert_ct2_to_ggml(src.path(), &again, quant).unwrap();
            assert_eq!(fs::read(&out).unwrap(), fs::read(&again).unwrap());
        }
    }

    #[test]
    fn fused_projections_are_split_in_order() {
        let src = tempfile::tempdir().unwrap();
        write_fake_ct2(src.path(), 0.0);
        let out = src.path().join("m.bin");
        convert_ct2_to_ggml(src.path(), &out, Quantization::F16).unwrap();
        let bytes = fs::read(&out).unwrap();
        // Each tensor's data follows its name; check the first f16/f32 value.
        let first_after = |name: &str, kind: TensorKind| -> f32 {
            let at = bytes
                .windows(name.len() + 1)
                .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] != b'.');
            let at = at.unwrap_or_else(|| panic!("{name} missing")) + name.len();
            match kind {
                TensorKind::F32 => f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]),
                _ => f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32(),
            }
        };
        assert_eq!(first_after("decoder.blocks.0.attn.query.weight", TensorKind::Weight), 1.0);
        assert_eq!(first_after("decoder.blocks.0.attn.key.weight", TensorKind::Weight), 2.0);
        assert_eq!(first_after("decoder.blocks.0.attn.value.weight", TensorKind::Weight), 3.0);
        assert_eq!(first_after("encoder.blocks.0.attn.value.bias", TensorKind::F32), 3.0);
        assert_eq!(first_after("decoder.blocks.0.cross_attn.key.weight", TensorKind::Weight), 5.0);
        assert_eq!(first_after("decoder.blocks.0.cross_attn.value.weight", TensorKind::Weight), 6.0);
        assert_eq!(first_after("decoder.blocks.0.cross_attn.value.bias", TensorKind::F32), 6.0);
        assert!(!String::from_utf8_lossy(&bytes).contains("key.bias"));
    }

    #[test]
    fn non_zero_key_bias_and_missing_files_are_errors() {
        let src = tempfile::tempdir().unwrap();
        write_fake_ct2(src.path(), 0.25);
        let out = src.path().join("m.bin");
        let e = convert_ct2_to_ggml(src.path(), &out, Quantization::F16).unwrap_err();
        assert!(e.to_string().contains("non-zero key bias"), "{e}");
        assert!(!out.exists());

        let empty = tempfile::tempdir().unwrap();
        let e = convert_ct2_to_ggml(empty.path(), &out, Quantization::F16).unwrap_err();
        assert!(matches!(e, ModelError::Ct2 { .. }), "{e}");
        assert!(e.to_string().contains("model.bin"), "{e}");
    }
}
