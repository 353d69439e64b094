//! Building what a session needs from the user's choices: the objection library and the
//! matcher over it. Both shells (the CLI and the desktop app) call this one copy.

use crate::embed::{EmbedError, Embedder, Encoder};
use crate::library::{Library, LibraryError};
use crate::matcher::{Fusion, LexicalMatcher, MatchError, Matcher, SemanticMatcher};
use crate::models::{ModelError, ModelManager};
use crate::store::{Store, StoreError};
use crate::transcribe::TranscriberConfig;
use std::path::Path;

/// The embedding model every semantic matcher uses.
pub const EMBEDDING_MODEL: &str = "all-minilm-l6-v2";

/// Which objection matcher to use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatcherKind {
    /// Lexical: FTS5 bm25 retrieval + IDF cosine over stems and rules.
    Bm25,
    /// Sentence embeddings (all-MiniLM-L6-v2) against every phrasing.
    Semantic,
    /// Embeddings fused with the lexical score (default when the model is installed).
    Hybrid,
}

impl MatcherKind {
    pub const ALL: [MatcherKind; 3] = [MatcherKind::Bm25, MatcherKind::Semantic, MatcherKind::Hybrid];

    pub fn name(self) -> &'static str {
        match self {
            MatcherKind::Bm25 => "bm25",
            MatcherKind::Semantic => "semantic",
            MatcherKind::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for MatcherKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        MatcherKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown matcher {s:?} (bm25, semantic or hybrid)"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("loading the objection library: {0}")]
    LoadLibrary(#[source] Box<crate::Error>),
    #[error(transparent)]
    Match(#[from] MatchError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// A matcher ready for a session, with the library it matches against.
pub struct BuiltMatcher {
    pub matcher: Box<dyn Matcher>,
    pub library: Library,
    pub kind: MatcherKind,
    /// Set when no kind was asked for and the default fell back to bm25 (tell the user).
    pub note: Option<String>,
}

/// Builds the matcher `kind` (default: hybrid if its model is installed in `models`, else
/// bm25 with a note) over the library `open_library` gives, with an optional threshold.
pub fn build_matcher(
    kind: Option<MatcherKind>,
    db: &Path,
    dir: Option<&Path>,
    threshold: Option<f32>,
    models: &ModelManager,
) -> Result<BuiltMatcher, SetupError> {
    build_matcher_with(kind, db, dir, threshold, Encoder::default(), models)
}

/// [`build_matcher`] with a choice of sentence encoder for the semantic and hybrid
/// matchers (`eval --encoder stock` compares them).
pub fn build_matcher_with(
    kind: Option<MatcherKind>,
    db: &Path,
    dir: Option<&Path>,
    threshold: Option<f32>,
    encoder: Encoder,
    models: &ModelManager,
) -> Result<BuiltMatcher, SetupError> {
    let (store, library) = open_library(db, dir)?;
    let mut note = None;
    let kind = match kind {
        Some(k) => k,
        None => match models.resolve(EMBEDDING_MODEL) {
            Ok(_) => MatcherKind::Hybrid,
            Err(e) => {
                tracing::warn!("{e}");
                note = Some(format!(
                    "using the lexical matcher; for meaning-based matching run `cuecard models install {EMBEDDING_MODEL}`"
                ));
                MatcherKind::Bm25
            }
        },
    };
    let matcher: Box<dyn Matcher> = match kind {
        MatcherKind::Bm25 => {
            let m = LexicalMatcher::new(store)?;
            Box::new(match threshold {
                Some(t) => m.with_threshold(t),
                None => m,
            })
        }
        MatcherKind::Semantic | MatcherKind::Hybrid => {
            let embedder = Embedder::load_with(&models.resolve(EMBEDDING_MODEL)?, encoder)?;
            let fusion = if kind == MatcherKind::Semantic { Fusion::Semantic } else { Fusion::Hybrid };
            // A read-only models folder only costs speed: the library's database caches instead.
            let cache = matcher_cache(models).map_err(|e| tracing::warn!("matcher cache unavailable: {e}")).ok();
            let m = SemanticMatcher::with_cache(store, cache, embedder, fusion)?;
            Box::new(match threshold {
                Some(t) => m.with_threshold(t),
                None => m,
            })
        }
    };
    Ok(BuiltMatcher { matcher, library, kind, note })
}

/// Speech-recognition settings for a session over `library`: with `vocabulary_prompt`,
/// whisper is primed with the library's proper nouns (see [`Library::asr_prompt`]).
pub fn transcriber_config(library: &Library, vocabulary_prompt: bool) -> TranscriberConfig {
    TranscriberConfig {
        initial_prompt: if vocabulary_prompt { library.asr_prompt() } else { None },
        ..TranscriberConfig::default()
    }
}

/// Where embeddings of library phrasings and trained classifiers are cached: beside the
/// models, shared by every database and library folder on the machine (keyed by model
/// and text, and by everything a classifier learned from), so each is computed once.
pub fn matcher_cache(models: &ModelManager) -> Result<Store, SetupError> {
    Ok(Store::open(&models.dir().join(MATCHER_CACHE_FILE))?)
}

pub const MATCHER_CACHE_FILE: &str = "matcher-cache.db";

/// The store and library a matcher works with: an explicit YAML folder (indexed into a
/// throwaway in-memory database), or the library imported into the user's database
/// (the built-in library is imported on first use).
pub fn open_library(db: &Path, dir: Option<&Path>) -> Result<(Store, Library), SetupError> {
    match dir {
        Some(dir) => {
            let lib = crate::library::load_dir(dir)?;
            let mut store = Store::open_in_memory()?;
            store.replace_library(&lib, &dir.display().to_string())?;
            Ok((store, lib))
        }
        None => {
            let mut store = Store::open(db)?;
            store.ensure_library().map_err(|e| SetupError::LoadLibrary(Box::new(e)))?;
            let lib = store.library()?;
            Ok((store, lib))
        }
    }
}
