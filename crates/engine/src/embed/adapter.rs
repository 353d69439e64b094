//! The objection adapter: low-rank updates to every linear layer of the sentence encoder,
//! trained for objection matching (supervised contrastive loss on the built-in library's
//! phrasings plus topical non-objections; `research/encoder-finetune/finetune.py --lora`).
//!
//! It is a small safetensors file compiled into the engine: for each adapted layer `L`,
//! `L.lora_a` [rank, in] and `L.lora_b` [out, rank] (the scale already folded in). Loading
//! adds `lora_b · lora_a` to `L.weight` once, so embedding costs exactly what it did.
//! It applies only to the weights it was trained on: its metadata names their SHA-256.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use candle_core::safetensors::SliceSafetensors;
use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};

use super::bert::TensorSource;

/// The adapter built into the engine, for the catalog's all-MiniLM-L6-v2 weights.
static BUILTIN: &[u8] = include_bytes!("../../../../models/objection-adapter.safetensors");

/// Its name in model ids: `all-minilm-l6-v2@53aa51172d14+objection-adapter@<sha12>`.
pub(crate) const BUILTIN_NAME: &str = "objection-adapter";

#[derive(Debug)]
pub(crate) struct Adapter {
    /// `encoder.layer.N.....weight` -> (A, B): B·A [out, in] is added to it. Kept as the
    /// factors (1.3 MB in all) and multiplied out one weight at a time while loading.
    deltas: HashMap<String, (Tensor, Tensor)>,
    /// SHA-256 (hex, lower case) of the model.safetensors it was trained on.
    base_sha256: String,
    /// `<name>@<first 12 hex digits of the adapter file's SHA-256>`.
    id: String,
}

impl Adapter {
    pub(crate) fn builtin() -> Result<Adapter, String> {
        Adapter::parse(BUILTIN_NAME, BUILTIN)
    }

    /// Read an adapter file: every `X.lora_a` needs its `X.lora_b` and matching ranks, and
    /// the metadata must name the base weights (`base_sha256`).
    pub(crate) fn parse(name: &str, bytes: &[u8]) -> Result<Adapter, String> {
        let base_sha256 = metadata(bytes)?
            .remove("base_sha256")
            .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or("its metadata has no base_sha256")?
            .to_ascii_lowercase();
        let st = SliceSafetensors::new(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
        let load = |n: &str| {
            st.load(n, &Device::Cpu).and_then(|t| t.to_dtype(DType::F32)).map_err(|e| format!("tensor {n}: {e}"))
        };
        let mut deltas = HashMap::new();
        for (tensor_name, _) in st.tensors() {
            let Some(layer) = tensor_name.strip_suffix(".lora_a") else {
                if !tensor_name.ends_with(".lora_b") {
                    return Err(format!("unexpected tensor {tensor_name}"));
                }
                continue;
            };
            let (a, b) = (load(&tensor_name)?, load(&format!("{layer}.lora_b"))?);
            let (rank, _) = a.dims2().map_err(|_| format!("{tensor_name} is not a matrix"))?;
            let (_, b_rank) = b.dims2().map_err(|_| format!("{layer}.lora_b is not a matrix"))?;
            if rank != b_rank {
                return Err(format!("{layer}: lora_a has rank {rank}, lora_b {b_rank}"));
            }
            deltas.insert(format!("{layer}.weight"), (a, b));
        }
        if deltas.is_empty() {
            return Err("it holds no lora_a tensors".into());
        }
        let sha = hex::encode(Sha256::digest(bytes));
        Ok(Adapter { deltas, base_sha256, id: format!("{name}@{}", &sha[..12]) })
    }

    pub(crate) fn fits(&self, weights_sha256: &str) -> bool {
        self.base_sha256.eq_ignore_ascii_case(weights_sha256)
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// `base` with the updates added, as [`Bert::load`](super::bert::Bert::load) reads it.
    /// An update whose weight has another shape fails that read; one whose weight the
    /// model never asks for is reported by [`Adapted::unused`] afterwards.
    pub(crate) fn over<'a>(&'a self, base: &'a dyn TensorSource) -> Adapted<'a> {
        Adapted { base, adapter: self, applied: RefCell::new(HashSet::new()) }
    }
}

/// A model's tensors with an adapter's updates added.
pub(crate) struct Adapted<'a> {
    base: &'a dyn TensorSource,
    adapter: &'a Adapter,
    /// Updates added so far (names without the `bert.` prefix).
    applied: RefCell<HashSet<String>>,
}

impl Adapted<'_> {
    /// After the model is built: an error naming an update no weight received.
    pub(crate) fn unused(&self) -> Result<(), String> {
        let applied = self.applied.borrow();
        match self.adapter.deltas.keys().filter(|n| !applied.contains(*n)).min() {
            Some(name) => Err(format!("the adapter updates {name}, which the model lacks")),
            None => Ok(()),
        }
    }
}

impl TensorSource for Adapted<'_> {
    fn has(&self, name: &str) -> bool {
        self.base.has(name)
    }

    fn tensor(&self, name: &str) -> Result<Option<Tensor>, String> {
        let Some(t) = self.base.tensor(name)? else { return Ok(None) };
        let key = name.strip_prefix("bert.").unwrap_or(name);
        let Some((a, b)) = self.adapter.deltas.get(key) else { return Ok(Some(t)) };
        let update = [b.dims()[0], a.dims()[1]];
        if t.dims() != update {
            return Err(format!("the adapter's update of {key} is {update:?}, the weight {:?}", t.dims()));
        }
        self.applied.borrow_mut().insert(key.to_owned());
        b.matmul(a)
            .and_then(|delta| t.to_dtype(DType::F32)? + delta)
            .map(Some)
            .map_err(|e| format!("tensor {name}: {e}"))
    }
}

/// The `__metadata__` object of a safetensors header (string values only, as the format says).
fn metadata(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let n = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())).ok_or("it is too short")?;
    let header = usize::try_from(n)
        .ok()
        .and_then(|n| bytes.get(8..8usize.checked_add(n)?))
        .ok_or("its header runs past the end")?;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| format!("its header is not JSON: {e}"))?;
    match header.remove("__metadata__") {
        Some(m) => serde_json::from_value(m).map_err(|e| format!("its metadata is not text: {e}")),
        None => Ok(HashMap::new()),
    }
}

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
