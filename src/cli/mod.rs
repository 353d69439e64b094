//! Argument parsing and dispatch; each sub-command lives in its own file.

mod coach;
mod eval;
mod history;
mod library;
mod listen;
mod models;
mod output;
mod replay;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cuecard", version, about = "Live objection coaching for sales calls, on your own machine")]
pub struct Cli {
    /// More log detail on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Database file (default: $CUECARD_HOME/cuecard.db or ~/.local/share/cuecard/cuecard.db).
    #[arg(long, global = true, env = "CUECARD_DB")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Replay a recording through the live pipeline: transcript and cards as it plays.
    Replay(replay::ReplayArgs),
    /// Coach a live call: microphone = rep, the system output's loopback = prospect.
    Listen(listen::ListenArgs),
    /// List audio inputs and outputs with the ids `listen` takes.
    Devices(listen::DevicesArgs),
    /// Score the objection matcher on a labelled set (utterances or scripted calls).
    Eval(eval::EvalArgs),
    /// Validate, import, export or search the objection library.
    #[command(subcommand)]
    Library(library::LibraryCommand),
    /// List, install or convert speech models.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Past calls: list them, or show one call's transcript and cards.
    History(history::HistoryArgs),
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,whisper_rs=warn",
        _ => "debug,whisper_rs=info",
    };
    // Decoder and audio libraries log what cuecard already reports as one clear event.
    let quiet = "symphonia_core=off,symphonia_bundle_mp3=off,symphonia_format_isomp4=off,\
                 symphonia_codec_aac=off,symphonia_format_ogg=off,symphonia_format_riff=off,\
                 symphonia_codec_vorbis=off,symphonia_bundle_flac=off,pulseaudio=off";
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},{quiet}")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let db = cli.db.unwrap_or_else(cuecard_engine::store::Store::default_path);
    match cli.command {
        Command::Replay(a) => replay::run(a, &db),
        Command::Listen(a) => listen::run(a, &db),
        Command::Devices(a) => listen::devices(a),
        Command::Eval(a) => eval::run(a, &db),
        Command::Library(c) => library::run(c, &db),
        Command::Models(c) => models::run(c),
        Command::History(a) => history::run(a, &db),
    }
}

/// Which objection matcher to use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum MatcherKind {
    /// Lexical: FTS5 bm25 retrieval + IDF cosine over stems and rules.
    Bm25,
    /// Sentence embeddings (all-MiniLM-L6-v2) against every phrasing.
    Semantic,
    /// Embeddings fused with the lexical score (default when the model is installed).
    Hybrid,
}

/// The embedding model every semantic matcher uses.
pub const EMBEDDING_MODEL: &str = "all-minilm-l6-v2";

/// Builds the matcher `kind` (default: hybrid if its model is installed, else bm25 with
/// a warning) over the given library, with an optional threshold override.
pub fn build_matcher(
    kind: Option<MatcherKind>,
    db: &std::path::Path,
    dir: Option<&std::path::Path>,
    threshold: Option<f32>,
) -> anyhow::Result<(Box<dyn cuecard_engine::matcher::Matcher>, cuecard_engine::library::Library)> {
    use cuecard_engine::embed::Embedder;
    use cuecard_engine::matcher::{Fusion, LexicalMatcher, Matcher, SemanticMatcher};
    use cuecard_engine::models::ModelManager;
    let (store, library) = open_library(db, dir)?;
    let manager = ModelManager::new(ModelManager::default_dir());
    let kind = match kind {
        Some(k) => k,
        None => match manager.resolve(EMBEDDING_MODEL) {
            Ok(_) => MatcherKind::Hybrid,
            Err(e) => {
                tracing::warn!("{e}");
                eprintln!("note: using the lexical matcher; for meaning-based matching run `cuecard models install {EMBEDDING_MODEL}`");
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
            let embedder = Embedder::load(&manager.resolve(EMBEDDING_MODEL)?)?;
            let fusion = if kind == MatcherKind::Semantic { Fusion::Semantic } else { Fusion::Hybrid };
            let m = SemanticMatcher::new(store, embedder, fusion)?;
            Box::new(match threshold {
                Some(t) => m.with_threshold(t),
                None => m,
            })
        }
    };
    Ok((matcher, library))
}

/// The matcher and library a command works with: an explicit YAML folder (indexed into
/// a throwaway in-memory database), or the library imported into the user's database.
pub fn open_library(
    db: &std::path::Path,
    dir: Option<&std::path::Path>,
) -> anyhow::Result<(cuecard_engine::store::Store, cuecard_engine::library::Library)> {
    use anyhow::Context;
    use cuecard_engine::store::Store;
    match dir {
        Some(dir) => {
            let lib = cuecard_engine::library::load_dir(dir)?;
            let mut store = Store::open_in_memory()?;
            store.replace_library(&lib, &dir.display().to_string())?;
            Ok((store, lib))
        }
        None => {
            let mut store = Store::open(db)?;
            store.ensure_library().context("loading the objection library")?;
            let lib = store.library()?;
            Ok((store, lib))
        }
    }
}
