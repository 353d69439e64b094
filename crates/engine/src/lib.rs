//! Cuecard engine: the whole coaching pipeline, free of any UI framework.
//!
//! `audio` (sources, pacing, resampling) → `vad` (utterances per channel) →
//! `transcribe` (whisper) → `matcher` (objections) → `coach` (cards), run by `session`,
//! recorded by `store`, fed by `library` and `models`. Data flows one way.

mod asr_queue;
pub mod audio;
pub mod coach;
mod echo;
pub mod embed;
pub mod events;
pub mod library;
pub mod matcher;
pub mod models;
pub mod session;
pub mod setup;
pub mod store;
pub mod transcribe;
pub mod vad;

use std::path::PathBuf;

/// Everything that can go wrong in the engine, one variant per module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Audio(#[from] audio::AudioError),
    #[error(transparent)]
    Library(#[from] library::LibraryError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Match(#[from] matcher::MatchError),
    #[error(transparent)]
    Transcribe(#[from] transcribe::TranscribeError),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Where cuecard keeps its data: `$CUECARD_HOME`, else the platform data folder.
pub fn data_home() -> PathBuf {
    match std::env::var_os("CUECARD_HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => dirs::data_dir()
            .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("cuecard"),
    }
}
