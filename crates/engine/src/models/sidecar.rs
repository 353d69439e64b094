//! `<model file>.json` written next to each installed model: where it came from, its
//! checksum and size. `resolve` checks size + structure against it instead of hashing the
//! whole file every time.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ModelError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Model name (catalog or imported).
    pub model: String,
    /// File name of the model in the models directory.
    pub file: String,
    /// Where it came from (URL, `pypi:package==version`, or a CTranslate2 directory).
    pub source: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    pub size: u64,
    /// Type of the weight matrices (f16, q8_0, ...).
    pub weight_type: String,
    /// Version of cuecard that wrote it.
    pub cuecard: String,
}

/// `/dir/ggml-tiny.en.bin` -> `/dir/ggml-tiny.en.bin.json`.
pub fn sidecar_path(model_file: &Path) -> PathBuf {
    let mut name = model_file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".json");
    model_file.with_file_name(name)
}

impl Sidecar {
    /// The sidecar of `model_file`, if there is a readable one.
    pub fn read(model_file: &Path) -> Option<Sidecar> {
        let path = sidecar_path(model_file);
        let text = fs::read_to_string(&path).ok()?;
        match serde_json::from_str(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable model sidecar");
                None
            }
        }
    }

    /// Write atomically next to `model_file`.
    pub fn write(&self, model_file: &Path) -> Result<(), ModelError> {
        let path = sidecar_path(model_file);
        let dir = super::convert::parent_dir(&path);
        let text = serde_json::to_string_pretty(self).map_err(|e| ModelError::io("encode", &path, e.into()))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".cuecard-sidecar-")
            .tempfile_in(&dir)
            .map_err(|e| ModelError::io("create a temporary file in", &dir, e))?;
        use std::io::Write;
        tmp.write_all(text.as_bytes()).map_err(|e| ModelError::io("write", tmp.path().to_path_buf(), e))?;
        tmp.persist(&path).map_err(|e| ModelError::io("write", &path, e.error))?;
        Ok(())
    }

    /// Delete the sidecar of `model_file`, if any.
    pub fn remove(model_file: &Path) {
        let _ = fs::remove_file(sidecar_path(model_file));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("ggml-x.bin");
        let s = Sidecar {
            model: "x".into(),
            file: "ggml-x.bin".into(),
            source: "test".into(),
            sha256: "00".into(),
            sha1: None,
            size: 5,
            weight_type: "f16".into(),
            cuecard: "0".into(),
        };
        assert_eq!(Sidecar::read(&model), None);
        s.write(&model).unwrap();
        assert!(dir.path().join("ggml-x.bin.json").exists());
        assert_eq!(Sidecar::read(&model), Some(s));
        fs::write(sidecar_path(&model), "{not json").unwrap();
        assert_eq!(Sidecar::read(&model), None);
        Sidecar::remove(&model);
        assert!(!sidecar_path(&model).exists());
    }
}
