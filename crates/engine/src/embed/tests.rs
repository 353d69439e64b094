//! Tests that need no downloaded model: a tiny random BERT written here, pooling math,
//! batching, errors, the model id.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use candle_core::{Device, Tensor};

use super::*;

const HIDDEN: usize = 8;
const INTER: usize = 16;
const LAYERS: usize = 2;
const MAX_POS: usize = 16;

const TINY_VOCAB: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "price", "is", "too", "high", "we", "are", "happy", "with",
    "our", "vendor", "send", "me", "an", "email", "later", ",", ".", "!", "?", "##s", "un", "##sure",
];

fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.8
        })
        .collect()
}

pub(super) fn tiny_config() -> serde_json::Value {
    serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": HIDDEN, "intermediate_size": INTER, "num_attention_heads": 2,
        "num_hidden_layers": LAYERS, "max_position_embeddings": MAX_POS, "type_vocab_size": 2,
        "vocab_size": TINY_VOCAB.len(), "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"
    })
}

pub(super) fn tiny_tensors(prefix: &str) -> HashMap<String, Tensor> {
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![TINY_VOCAB.len(), HIDDEN]),
        ("embeddings.position_embeddings.weight".into(), vec![MAX_POS, HIDDEN]),
        ("embeddings.token_type_embeddings.weight".into(), vec![2, HIDDEN]),
        ("embeddings.LayerNorm.weight".into(), vec![HIDDEN]),
        ("embeddings.LayerNorm.bias".into(), vec![HIDDEN]),
        ("pooler.dense.weight".into(), vec![HIDDEN, HIDDEN]),
    ];
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}.");
        for (name, shape) in [
            ("attention.self.query.weight", vec![HIDDEN, HIDDEN]),
            ("attention.self.query.bias", vec![HIDDEN]),
            ("attention.self.key.weight", vec![HIDDEN, HIDDEN]),
            ("attention.self.key.bias", vec![HIDDEN]),
            ("attention.self.value.weight", vec![HIDDEN, HIDDEN]),
            ("attention.self.value.bias", vec![HIDDEN]),
            ("attention.output.dense.weight", vec![HIDDEN, HIDDEN]),
            ("attention.output.dense.bias", vec![HIDDEN]),
            ("attention.output.LayerNorm.weight", vec![HIDDEN]),
            ("attention.output.LayerNorm.bias", vec![HIDDEN]),
            ("intermediate.dense.weight", vec![INTER, HIDDEN]),
            ("intermediate.dense.bias", vec![INTER]),
            ("output.dense.weight", vec![HIDDEN, INTER]),
            ("output.dense.bias", vec![HIDDEN]),
            ("output.LayerNorm.weight", vec![HIDDEN]),
            ("output.LayerNorm.bias", vec![HIDDEN]),
        ] {
            shapes.push((format!("{p}{name}"), shape));
        }
    }
    shapes
        .into_iter()
        .enumerate()
        .map(|(i, (name, shape))| {
            let n = shape.iter().product();
            let mut values = pseudo_random(n, i as u64);
            if name.ends_with("LayerNorm.weight") {
                values.iter_mut().for_each(|v| *v += 1.0);
            }
            (format!("{prefix}{name}"), Tensor::from_vec(values, shape, &Device::Cpu).unwrap())
        })
        .collect()
}

/// A complete tiny model folder (random weights, real file formats).
pub(super) fn write_tiny_model(dir: &Path, prefix: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(CONFIG_FILE), tiny_config().to_string()).unwrap();
    fs::write(dir.join(VOCAB_FILE), TINY_VOCAB.join("\n") + "\n").unwrap();
    candle_core::safetensors::save(&tiny_tensors(prefix), dir.join(WEIGHTS_FILE)).unwrap();
}

fn tiny_model() -> (tempfile::TempDir, Embedder) {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(&dir.path().join("tiny"), "");
    let e = Embedder::load(&dir.path().join("tiny")).unwrap();
    (dir, e)
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

pub(super) fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn embedder_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Embedder>();
}

#[test]
fn embeddings_are_unit_vectors_and_batches_match_single_texts() {
    let (_dir, e) = tiny_model();
    assert_eq!(e.dim(), HIDDEN);
    let texts =
        ["the price is too high!", "send me an email later", "we", "", "unsure? we are happy with our vendors."];
    let batch = e.embed_batch(&texts).unwrap();
    assert_eq!(batch.len(), texts.len());
    for (text, from_batch) in texts.iter().zip(&batch) {
        let single = e.embed(text).unwrap();
        assert_eq!(single.len(), HIDDEN);
        assert!((norm(&single) - 1.0).abs() < 1e-5, "{text}: norm {}", norm(&single));
        // Padding in the batch must not change anything.
        assert!(max_diff(&single, from_batch) < 1e-5, "{text}: {single:?} vs {from_batch:?}");
    }
    assert!(max_diff(&batch[0], &batch[1]) > 1e-3, "different texts, different vectors");
    assert!(e.embed_batch(&[]).unwrap().is_empty());
}

#[test]
fn long_input_is_cut_to_the_position_limit() {
    let (_dir, e) = tiny_model();
    let long = "the price is too high ".repeat(20);
    assert_eq!(e.token_ids(&long).len(), MAX_POS);
    let v = e.embed(&long).unwrap();
    assert!((norm(&v) - 1.0).abs() < 1e-5);
    let w = e.embed_batch(&[&long, "we"]).unwrap();
    assert!(max_diff(&v, &w[0]) < 1e-5);
}

#[test]
fn bert_prefixed_checkpoints_load_too() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(&dir.path().join("a"), "");
    write_tiny_model(&dir.path().join("b"), "bert.");
    let a = Embedder::load(&dir.path().join("a")).unwrap();
    let b = Embedder::load(&dir.path().join("b")).unwrap();
    assert!(max_diff(&a.embed("the price").unwrap(), &b.embed("the price").unwrap()) < 1e-6);
}

#[test]
fn mean_pooling_ignores_padding_and_normalises() {
    // Two texts, three positions, two dimensions; the second text has one token.
    let hidden =
        Tensor::from_vec(vec![1f32, 2., 3., 4., 100., 100., 3., 4., 50., 50., 60., 60.], (2, 3, 2), &Device::Cpu)
            .unwrap();
    let mask = Tensor::from_vec(vec![1f32, 1., 0., 1., 0., 0.], (2, 3), &Device::Cpu).unwrap();
    let out: Vec<Vec<f32>> = bert::mean_pool_normalize(&hidden, &mask).unwrap().to_vec2().unwrap();
    // Mean of (1,2),(3,4) = (2,3) -> /sqrt(13); (3,4) -> (0.6, 0.8).
    let s = 13f32.sqrt();
    assert!(max_diff(&out[0], &[2.0 / s, 3.0 / s]) < 1e-6, "{out:?}");
    assert!(max_diff(&out[1], &[0.6, 0.8]) < 1e-6, "{out:?}");
    // All-zero vectors stay zero instead of dividing by zero.
    let zero = Tensor::zeros((1, 2, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
    let one = Tensor::ones((1, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
    let out: Vec<Vec<f32>> = bert::mean_pool_normalize(&zero, &one).unwrap().to_vec2().unwrap();
    assert_eq!(out, vec![vec![0.0, 0.0]]);
}

#[test]
fn batches_keep_to_their_limits() {
    let order: Vec<usize> = (0..200).collect();
    let sizes: Vec<usize> = batches(&order, |_| 12).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, [vec![MAX_BATCH; 200 / MAX_BATCH], vec![200 % MAX_BATCH]].concat());
    let sizes: Vec<usize> = batches(&order[..20], |_| 256).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, vec![8, 8, 4]);
    // Growing lengths: a batch stops when its padded size would pass the token budget.
    let lens: Vec<usize> = (0..100).map(|i| 10 + 3 * i).collect();
    let chunks = batches(&order[..100], |i| lens[i]);
    assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 100);
    for c in &chunks {
        let longest = lens[*c.last().unwrap()];
        assert!(c.len() == 1 || c.len() * longest <= MAX_BATCH_TOKENS);
    }
    assert!(batches(&[], |_| 1).is_empty());
}

#[test]
fn model_id_comes_from_the_install_record_or_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    write_tiny_model(&model, "");
    let weights = model.join(WEIGHTS_FILE);
    let sha = hex::encode(Sha256::digest(fs::read(&weights).unwrap()));
    let e = Embedder::load(&model).unwrap();
    assert_eq!(e.model_id(), format!("tiny@{}", &sha[..12]));

    let sidecar = Sidecar {
        model: MODEL_NAME.into(),
        file: WEIGHTS_FILE.into(),
        source: "test".into(),
        sha256: "ab".repeat(32),
        sha1: None,
        size: fs::metadata(&weights).unwrap().len(),
        weight_type: "f32".into(),
        cuecard: "test".into(),
    };
    sidecar.write(&weights).unwrap();
    assert_eq!(Embedder::load(&model).unwrap().model_id(), "all-minilm-l6-v2@abababababab");
    // A record for another file (size differs) is not trusted.
    Sidecar { size: 1, ..sidecar }.write(&weights).unwrap();
    assert_eq!(Embedder::load(&model).unwrap().model_id(), format!("tiny@{}", &sha[..12]));
}

#[test]
fn load_errors_name_the_file_and_the_fix() {
    let fix = "cuecard models install all-minilm-l6-v2";
    let dir = tempfile::tempdir().unwrap();
    let e = Embedder::load(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(e, EmbedError::Missing { .. }), "{e}");
    assert!(e.to_string().contains(fix) && e.to_string().contains("nope"), "{e}");

    let model = dir.path().join("m");
    write_tiny_model(&model, "");
    fs::remove_file(model.join(VOCAB_FILE)).unwrap();
    let e = Embedder::load(&model).unwrap_err();
    assert!(matches!(e, EmbedError::Missing { ref path } if path.ends_with("vocab.txt")), "{e}");

    let check = |m: &Path, file: &str, reason: &str| {
        let e = Embedder::load(m).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, EmbedError::Invalid { .. }), "{msg}");
        assert!(msg.contains(file) && msg.contains(reason) && msg.contains(fix), "{msg}");
    };
    write_tiny_model(&model, "");
    fs::write(model.join(VOCAB_FILE), "[PAD]\n[UNK]\nthe\n").unwrap();
    check(&model, "vocab.txt", "no [CLS] token");

    write_tiny_model(&model, "");
    let mut cfg = tiny_config();
    cfg["hidden_act"] = "relu".into();
    fs::write(model.join(CONFIG_FILE), cfg.to_string()).unwrap();
    check(&model, "config.json", "hidden_act \"relu\" is not supported");
    fs::write(model.join(CONFIG_FILE), "{\"hidden_size\": 8}").unwrap();
    check(&model, "config.json", "not a BERT config.json");

    write_tiny_model(&model, "");
    let mut tensors = tiny_tensors("");
    tensors.remove("encoder.layer.1.output.dense.bias");
    candle_core::safetensors::save(&tensors, model.join(WEIGHTS_FILE)).unwrap();
    check(&model, "model.safetensors", "no tensor encoder.layer.1.output.dense.bias");

    let mut tensors = tiny_tensors("");
    tensors
        .insert("embeddings.LayerNorm.bias".into(), Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap());
    candle_core::safetensors::save(&tensors, model.join(WEIGHTS_FILE)).unwrap();
    check(&model, "model.safetensors", "shape [3], expected [8]");

    write_tiny_model(&model, "");
    let bytes = fs::read(model.join(WEIGHTS_FILE)).unwrap();
    fs::write(model.join(WEIGHTS_FILE), &bytes[..bytes.len() - 100]).unwrap();
    check(&model, "model.safetensors", "not a safetensors file");
}
