//! Argument parsing and dispatch; each sub-command lives in its own file.

mod bench;
mod coach;
mod eval;
mod history;
mod library;
mod listen;
mod models;
mod output;
mod replay;
mod slow_notice;

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
    /// Speed benchmarks (the matcher at the built-in and at a 10 000-objection library).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
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
        Command::Bench(c) => bench::run(c),
    }
}

pub use cuecard_engine::setup::{MatcherKind, EMBEDDING_MODEL};

/// `--matcher` values: the engine's matcher kinds by name.
pub fn matcher_arg() -> impl clap::builder::TypedValueParser<Value = MatcherKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(MatcherKind::ALL.map(MatcherKind::name))
        .map(|s| s.parse::<MatcherKind>().expect("a listed matcher name"))
}

/// `--encoder` values: the engine's sentence encoders.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum EncoderArg {
    Adapted,
    Stock,
}

impl From<EncoderArg> for cuecard_engine::embed::Encoder {
    fn from(e: EncoderArg) -> Self {
        match e {
            EncoderArg::Adapted => Self::Adapted,
            EncoderArg::Stock => Self::Stock,
        }
    }
}

/// The engine's `setup::build_matcher` over the user's models, with its fallback note
/// on stderr.
pub fn build_matcher(
    kind: Option<MatcherKind>,
    db: &std::path::Path,
    dir: Option<&std::path::Path>,
    threshold: Option<f32>,
    encoder: cuecard_engine::embed::Encoder,
) -> anyhow::Result<(Box<dyn cuecard_engine::matcher::Matcher>, cuecard_engine::library::Library)> {
    use cuecard_engine::models::ModelManager;
    let built = slow_notice::with_slow_notice(|| {
        cuecard_engine::setup::build_matcher_with(
            kind,
            db,
            dir,
            threshold,
            encoder,
            &ModelManager::new(ModelManager::default_dir()),
        )
    })?;
    if let Some(note) = &built.note {
        eprintln!("note: {note}");
    }
    Ok((built.matcher, built.library))
}
