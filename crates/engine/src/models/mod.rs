//! Model manager (catalog, download, CTranslate2 -> ggml conversion, verification) for the
//! whisper speech models and the sentence-embedding model (`crate::embed`).
//!
//! * [`ModelManager`] lists, installs, imports and resolves models in one directory; an
//!   embedding model is a folder (`<models dir>/all-minilm-l6-v2/`) rather than one file.
//! * [`validate_ggml`] walks a whisper ggml file completely before whisper.cpp sees it.
//! * [`convert_ct2_to_ggml`] turns a faster-whisper (CTranslate2) model into a ggml file.

mod catalog;
mod checksum;
mod convert;
mod ct2;
mod download;
mod error;
mod ggml;
mod manager;
mod mel;
mod quantize;
mod sidecar;
mod validate;
mod vocab;
mod wheel;

#[cfg(test)]
mod testutil;

pub use catalog::{Catalog, CatalogModel, EmbeddingSource, FilesWheel, ModelFile, ModelKind, WheelSource};
pub use convert::convert_ct2_to_ggml;
pub use error::ModelError;
pub use ggml::{GgmlType, Hparams};
pub use manager::{InstallProgress, ModelManager, ModelStatus};
pub use mel::whisper_mel_filters;
pub use quantize::Quantization;
pub use sidecar::Sidecar;
pub use validate::{validate_ggml, GgmlInfo};
