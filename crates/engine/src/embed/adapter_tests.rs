//! The adapter on a tiny random BERT: it changes exactly the weights it names, by exactly
//! B·A, only for the weights it was trained on; malformed adapters are refused.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use super::super::tests::{max_diff, tiny_tensors, write_tiny_model};
use super::super::{EmbedError, Embedder, WEIGHTS_FILE};
use super::*;

/// A safetensors file (f32 tensors) with a `__metadata__` header, which candle cannot write.
fn adapter_bytes(tensors: &[(&str, Vec<usize>, Vec<f32>)], metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let meta: serde_json::Map<_, _> = metadata.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
    header.insert("__metadata__".into(), meta.into());
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    out
}

fn ramp(n: usize, step: f32) -> Vec<f32> {
    (0..n).map(|i| ((i % 7) as f32 - 3.0) * step).collect()
}

/// Rank-2 updates of layer 0's query and layer 1's FFN output (8 -> 8 and 16 -> 8).
fn tiny_adapter_tensors() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    vec![
        ("encoder.layer.0.attention.self.query.lora_a", vec![2, 8], ramp(16, 0.1)),
        ("encoder.layer.0.attention.self.query.lora_b", vec![8, 2], ramp(16, 0.2)),
        ("encoder.layer.1.output.dense.lora_a", vec![2, 16], ramp(32, 0.1)),
        ("encoder.layer.1.output.dense.lora_b", vec![8, 2], ramp(16, -0.2)),
    ]
}

fn weights_sha256(model: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(model.join(WEIGHTS_FILE)).unwrap()))
}

fn matrix(values: &[f32], rows: usize, cols: usize) -> Tensor {
    Tensor::from_vec(values.to_vec(), (rows, cols), &Device::Cpu).unwrap()
}

#[test]
fn the_adapter_adds_b_times_a_to_the_weights_it_names_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (model, merged) = (dir.path().join("tiny"), dir.path().join("merged"));
    write_tiny_model(&model, "");
    let sha = weights_sha256(&model);
    let bytes = adapter_bytes(&tiny_adapter_tensors(), &[("base_sha256", &sha)]);
    let adapted = Embedder::load_adapted(&model, Some(Adapter::parse("tiny-adapter", &bytes).unwrap())).unwrap();
    let stock = Embedder::load_adapted(&model, None).unwrap();

    // The same model with the updates merged by hand, loaded as a plain model.
    write_tiny_model(&merged, "");
    let mut tensors: HashMap<String, Tensor> = tiny_tensors("");
    let t = tiny_adapter_tensors();
    for (layer, a, b) in [(0, &t[0], &t[1]), (1, &t[2], &t[3])] {
        let name = a.0.replace(".lora_a", ".weight");
        let delta = matrix(&b.2, b.1[0], b.1[1]).matmul(&matrix(&a.2, a.1[0], a.1[1])).unwrap();
        let w = tensors.remove(&name).unwrap_or_else(|| panic!("layer {layer}: no {name}"));
        tensors.insert(name, (w + delta).unwrap());
    }
    candle_core::safetensors::save(&tensors, merged.join(WEIGHTS_FILE)).unwrap();
    let by_hand = Embedder::load_adapted(&merged, None).unwrap();

    assert!(adapted.is_adapted() && !stock.is_adapted() && !by_hand.is_adapted());
    assert_eq!(
        adapted.model_id(),
        format!("tiny@{}+tiny-adapter@{}", &sha[..12], &hex::encode(Sha256::digest(&bytes))[..12])
    );
    assert_eq!(stock.model_id(), format!("tiny@{}", &sha[..12]));
    for text in ["the price is too high!", "we are happy with our vendor", ""] {
        let (a, s, h) = (adapted.embed(text).unwrap(), stock.embed(text).unwrap(), by_hand.embed(text).unwrap());
        assert!(max_diff(&a, &h) < 1e-5, "{text}: adapted {a:?} vs merged by hand {h:?}");
        assert!(max_diff(&a, &s) > 1e-3, "{text}: the adapter changed nothing");
    }
}

#[test]
fn an_adapter_for_other_weights_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    write_tiny_model(&model, "");
    let bytes = adapter_bytes(&tiny_adapter_tensors(), &[("base_sha256", &"0".repeat(64))]);
    let e = Embedder::load_adapted(&model, Some(Adapter::parse("tiny-adapter", &bytes).unwrap())).unwrap();
    assert!(!e.is_adapted());
    assert!(!e.model_id().contains('+'), "{}", e.model_id());
}

#[test]
fn bert_prefixed_weights_are_adapted_too() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, prefixed) = (dir.path().join("a"), dir.path().join("b"));
    write_tiny_model(&plain, "");
    write_tiny_model(&prefixed, "bert.");
    let load = |m: &Path| {
        let bytes = adapter_bytes(&tiny_adapter_tensors(), &[("base_sha256", &weights_sha256(m))]);
        Embedder::load_adapted(m, Some(Adapter::parse("x", &bytes).unwrap())).unwrap()
    };
    let (a, b) = (load(&plain), load(&prefixed));
    assert!(a.is_adapted() && b.is_adapted());
    assert!(max_diff(&a.embed("the price").unwrap(), &b.embed("the price").unwrap()) < 1e-6);
}

#[test]
fn malformed_adapters_are_refused_with_the_reason() {
    let sha = "ab".repeat(32);
    let base = [("base_sha256", sha.as_str())];
    let refuse = |tensors: &[(&str, Vec<usize>, Vec<f32>)], metadata: &[(&str, &str)], reason: &str| {
        let err = Adapter::parse("x", &adapter_bytes(tensors, metadata)).expect_err("refused");
        assert!(err.contains(reason), "{err:?} should say {reason:?}");
    };
    let t = tiny_adapter_tensors();
    refuse(&t, &[], "no base_sha256");
    refuse(&t, &[("base_sha256", "abc")], "no base_sha256");
    refuse(&t[..1], &base, "lora_b");
    refuse(
        &[t[0].clone(), ("encoder.layer.0.attention.self.query.lora_b", vec![8, 3], ramp(24, 0.1))],
        &base,
        "rank 2, lora_b 3",
    );
    refuse(
        &[("encoder.layer.0.attention.self.query.lora_a", vec![16], ramp(16, 0.1)), t[1].clone()],
        &base,
        "not a matrix",
    );
    refuse(
        &[t[0].clone(), t[1].clone(), ("something.else", vec![1], vec![0.0])],
        &base,
        "unexpected tensor something.else",
    );
    refuse(&[], &base, "no lora_a tensors");
    assert!(Adapter::parse("x", b"\x05\0\0\0\0\0\0\0{}").unwrap_err().contains("header"));
    assert!(Adapter::parse("x", b"").unwrap_err().contains("too short"));

    // Well-formed, but not for this model: the weights file is named.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny");
    write_tiny_model(&model, "");
    let sha = weights_sha256(&model);
    for (tensors, reason) in [
        (
            vec![
                ("encoder.layer.7.output.dense.lora_a", vec![2, 16], ramp(32, 0.1)),
                ("encoder.layer.7.output.dense.lora_b", vec![8, 2], ramp(16, 0.1)),
            ],
            "updates encoder.layer.7.output.dense.weight, which the model lacks",
        ),
        (
            vec![
                ("encoder.layer.0.output.dense.lora_a", vec![2, 8], ramp(16, 0.1)),
                ("encoder.layer.0.output.dense.lora_b", vec![8, 2], ramp(16, 0.1)),
            ],
            "update of encoder.layer.0.output.dense.weight is [8, 8], the weight [8, 16]",
        ),
    ] {
        let adapter = Adapter::parse("x", &adapter_bytes(&tensors, &[("base_sha256", &sha)])).unwrap();
        let e = Embedder::load_adapted(&model, Some(adapter)).unwrap_err();
        assert!(matches!(e, EmbedError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains("model.safetensors") && e.to_string().contains(reason), "{e}");
    }
}

#[test]
fn the_built_in_adapter_is_for_the_catalogs_weights() {
    let adapter = Adapter::builtin().expect("the built-in adapter parses");
    let catalog = crate::models::ModelManager::catalog();
    let model = catalog.models.iter().find(|m| m.name == super::super::MODEL_NAME).expect("in the catalog");
    assert!(adapter.fits(&model.embedding.as_ref().unwrap().weights_sha256));
    assert!(adapter.id().starts_with("objection-adapter@"));
    // Every linear layer of the six encoder layers: q, k, v, attention output, FFN in and out.
    assert_eq!(adapter.deltas.len(), 6 * 6);
}
