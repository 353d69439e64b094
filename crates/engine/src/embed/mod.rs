//! In-process sentence embeddings: sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT)
//! run on candle, CPU only.
//!
//! [`Embedder::load`] reads a model folder as `cuecard models install all-minilm-l6-v2`
//! leaves it (config.json, vocab.txt, model.safetensors). [`Embedder::embed`] turns a text
//! into a unit-length vector (384 numbers), so the dot product of two embeddings is their
//! cosine similarity. The numbers match sentence-transformers' `encode(...,
//! normalize_embeddings=True)`: WordPiece tokens (`[CLS] ... [SEP]`, at most 256), BERT,
//! mean over the tokens, L2 normalisation. On the catalog's weights it also applies the
//! built-in objection adapter (see `adapter.rs`) unless asked for the stock encoder.

mod adapter;
mod bert;
mod tokenizer;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use candle_core::safetensors::SliceSafetensors;
use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use crate::models::{ModelManager, Sidecar};
use adapter::Adapter;
use bert::{mean_pool_normalize, Bert, BertConfig, TensorSource};
use tokenizer::Tokenizer;

/// The catalog name of the model this module is built for.
pub const MODEL_NAME: &str = "all-minilm-l6-v2";

/// sentence-transformers' `max_seq_length` for this model, `[CLS]` and `[SEP]` included:
/// longer input is cut (about 200 words).
pub const MAX_SEQ_LEN: usize = 256;

/// Files of a model folder.
pub const CONFIG_FILE: &str = "config.json";
pub const VOCAB_FILE: &str = "vocab.txt";
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// At most this many texts go through the model together in `embed_batch` (measured: 8 to
/// 16 is best on a 2-core machine; larger batches only cost memory) ...
const MAX_BATCH: usize = 16;
/// ... and at most this many (padded) tokens.
const MAX_BATCH_TOKENS: usize = 2048;

/// Everything that can go wrong loading or running the embedding model. Each message names
/// the file and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The model folder or one of its files does not exist.
    #[error("{} does not exist: install the embedding model with `cuecard models install {MODEL_NAME}`", path.display())]
    Missing { path: PathBuf },

    /// A file that exists but cannot be read.
    #[error("could not read embedding model file {} ({source}): check that it is readable, or reinstall it with `cuecard models install {MODEL_NAME}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A file that is not what a BERT sentence-embedding model needs.
    #[error("embedding model file {} is not usable ({reason}): reinstall it with `cuecard models install {MODEL_NAME}`", path.display())]
    Invalid { path: PathBuf, reason: String },

    /// The forward pass failed: not expected with a model that loaded.
    #[error("computing a sentence embedding failed ({reason}): please report this as a bug")]
    Compute { reason: String },
}

fn invalid(path: &Path, reason: impl Into<String>) -> EmbedError {
    EmbedError::Invalid { path: path.to_path_buf(), reason: reason.into() }
}

fn compute(e: candle_core::Error) -> EmbedError {
    EmbedError::Compute { reason: e.to_string() }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => EmbedError::Missing { path: path.to_path_buf() },
        _ => EmbedError::Io { path: path.to_path_buf(), source: e },
    })
}

fn read_text(path: &Path) -> Result<String, EmbedError> {
    String::from_utf8(read(path)?).map_err(|_| invalid(path, "it is not UTF-8 text"))
}

/// Which encoder [`Embedder::load_with`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoder {
    /// The weights with the built-in objection adapter added when it was trained on them
    /// (the catalog's all-MiniLM-L6-v2); any other weights as they are.
    #[default]
    Adapted,
    /// The weights as they are: for comparison.
    Stock,
}

/// A sentence-embedding model, loaded and ready. Cheap to share: `Send + Sync`, and
/// `embed` takes `&self`.
pub struct Embedder {
    bert: Bert,
    tokenizer: Tokenizer,
    dim: usize,
    max_len: usize,
    model_id: String,
    adapted: bool,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("model_id", &self.model_id).field("dim", &self.dim).finish_non_exhaustive()
    }
}

/// Tensors of a safetensors file held in memory.
struct Weights<'a>(SliceSafetensors<'a>);

impl TensorSource for Weights<'_> {
    fn has(&self, name: &str) -> bool {
        self.0.get(name).is_ok()
    }

    fn tensor(&self, name: &str) -> Result<Option<Tensor>, String> {
        if !self.has(name) {
            return Ok(None);
        }
        self.0.load(name, &Device::Cpu).map(Some).map_err(|e| format!("tensor {name}: {e}"))
    }
}

impl Embedder {
    /// Load the model in `model_dir` (config.json, vocab.txt, model.safetensors), adapted
    /// for objections when the adapter fits it ([`Encoder::Adapted`]).
    pub fn load(model_dir: &Path) -> Result<Embedder, EmbedError> {
        Embedder::load_with(model_dir, Encoder::Adapted)
    }

    /// Load the model in `model_dir` as [`Encoder`] says: adapted (the default) or stock.
    pub fn load_with(model_dir: &Path, encoder: Encoder) -> Result<Embedder, EmbedError> {
        let adapter = match encoder {
            // A defect of this build, not of the user's files: said as such.
            Encoder::Adapted => Some(Adapter::builtin().map_err(|reason| EmbedError::Compute {
                reason: format!("the built-in objection adapter is unusable: {reason}"),
            })?),
            Encoder::Stock => None,
        };
        Embedder::load_adapted(model_dir, adapter)
    }

    /// The model with `adapter` added when it was trained on these weights.
    fn load_adapted(model_dir: &Path, adapter: Option<Adapter>) -> Result<Embedder, EmbedError> {
        if !model_dir.is_dir() {
            return Err(EmbedError::Missing { path: model_dir.to_path_buf() });
        }
        let config_path = model_dir.join(CONFIG_FILE);
        let cfg: BertConfig = serde_json::from_str(&read_text(&config_path)?)
            .map_err(|e| invalid(&config_path, format!("not a BERT config.json: {e}")))?;
        cfg.check().map_err(|r| invalid(&config_path, r))?;

        let vocab_path = model_dir.join(VOCAB_FILE);
        let tokenizer = Tokenizer::from_vocab(&read_text(&vocab_path)?).map_err(|r| invalid(&vocab_path, r))?;
        if tokenizer.len() > cfg.vocab_size {
            return Err(invalid(
                &vocab_path,
                format!("it has {} tokens but config.json says vocab_size {}", tokenizer.len(), cfg.vocab_size),
            ));
        }

        let weights_path = model_dir.join(WEIGHTS_FILE);
        let bytes = read(&weights_path)?;
        let (name, sha256) = identify(model_dir, &weights_path, &bytes);
        let mut model_id = format!("{name}@{}", &sha256[..12]);
        let st = SliceSafetensors::new(&bytes)
            .map_err(|e| invalid(&weights_path, format!("not a safetensors file: {e}")))?;
        let weights = Weights(st);
        let adapter = adapter.filter(|a| a.fits(&sha256));
        let bert = match &adapter {
            Some(a) => {
                let adapted = a.over(&weights);
                model_id = format!("{model_id}+{}", a.id());
                Bert::load(&cfg, &adapted).and_then(|bert| adapted.unused().map(|()| bert))
            }
            None => Bert::load(&cfg, &weights),
        }
        .map_err(|r| invalid(&weights_path, r))?;
        tracing::debug!(dir = %model_dir.display(), %model_id, "sentence-embedding model loaded");
        Ok(Embedder {
            bert,
            tokenizer,
            dim: cfg.hidden_size,
            max_len: MAX_SEQ_LEN.min(cfg.max_position_embeddings),
            model_id,
            adapted: adapter.is_some(),
        })
    }

    /// The embedding of one text: `dim()` numbers, L2 norm 1.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = self.embed_batch(&[text])?;
        v.pop().ok_or_else(|| EmbedError::Compute { reason: "no output".into() })
    }

    /// The embeddings of many texts, in their order. Texts of similar length are run
    /// together (sorted by token count, padded per batch), so this is much faster per
    /// text than `embed` in a loop; each result equals what `embed` gives (to ~1e-6).
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encoded: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenizer.encode(t, self.max_len)).collect();
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| encoded[i].len());
        let mut out = vec![Vec::new(); encoded.len()];
        for chunk in batches(&order, |i| encoded[i].len()) {
            let seqs: Vec<&[u32]> = chunk.iter().map(|&i| encoded[i].as_slice()).collect();
            for (&i, v) in chunk.iter().zip(self.run(&seqs)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Number of dimensions of an embedding (384).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `all-minilm-l6-v2@<first 12 hex digits of the weights' SHA-256>`, followed by
    /// `+objection-adapter@<its 12>` when adapted: changes whenever the encoder does, so
    /// stored embeddings can be matched to the model that made them.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Whether the built-in objection adapter is applied.
    pub fn is_adapted(&self) -> bool {
        self.adapted
    }

    /// Token ids as the model sees them (`[CLS] ... [SEP]`, cut to 256).
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.max_len)
    }

    /// Run sequences of token ids (sorted by length or not) through the model together.
    fn run(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let b = seqs.len();
        let t = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(b * t);
        let mut mask = Vec::with_capacity(b * t);
        for s in seqs {
            ids.extend_from_slice(s);
            ids.resize(ids.len() + t - s.len(), self.tokenizer.pad_id());
            mask.resize(mask.len() + s.len(), 1f32);
            mask.resize(mask.len() + t - s.len(), 0f32);
        }
        let padded = seqs.iter().any(|s| s.len() < t);
        let ids = Tensor::from_vec(ids, (b, t), &Device::Cpu).map_err(compute)?;
        let mask = Tensor::from_vec(mask, (b, t), &Device::Cpu).map_err(compute)?;
        let hidden = self.bert.forward(&ids, padded.then_some(&mask)).map_err(compute)?;
        mean_pool_normalize(&hidden, &mask).and_then(|e| e.to_vec2()).map_err(compute)
    }
}

/// Split `order` (sorted by length) into runs of at most MAX_BATCH texts and
/// MAX_BATCH_TOKENS padded tokens (a single over-long text still gets its own batch).
fn batches(order: &[usize], len: impl Fn(usize) -> usize) -> Vec<&[usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && end - start < MAX_BATCH && (end - start + 1) * len(order[end]) <= MAX_BATCH_TOKENS {
            end += 1;
        }
        out.push(&order[start..end]);
        start = end;
    }
    out
}

/// The model's name and its weights' SHA-256, from the install record when it matches the
/// file (no hashing), otherwise by hashing the weights once (a folder not installed by cuecard).
fn identify(dir: &Path, weights_path: &Path, bytes: &[u8]) -> (String, String) {
    if let Some(sc) = Sidecar::read(weights_path) {
        if sc.size == bytes.len() as u64 && sc.sha256.len() == 64 && sc.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return (sc.model, sc.sha256.to_ascii_lowercase());
        }
    }
    let sha = hex::encode(Sha256::digest(bytes));
    let name = ModelManager::catalog()
        .models
        .iter()
        .find(|m| m.embedding.as_ref().is_some_and(|e| e.weights_sha256.eq_ignore_ascii_case(&sha)))
        .map(|m| m.name.clone())
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "embedding".into());
    tracing::debug!(path = %weights_path.display(), "no install record: hashed the weights for the model id");
    (name, sha)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod reference_tests;
