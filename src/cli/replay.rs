//! `cuecard replay CALL`: a recording through the same pipeline a live call uses.

use super::output::Printer;
use anyhow::Context;
use clap::{Args, ValueEnum};
use cuecard_engine::audio::{FileSource, Pace, Paced, RepChannel};
use cuecard_engine::session::{self, SessionConfig, SessionParts};
use cuecard_engine::store::Store;
use cuecard_engine::transcribe::{Transcriber, TranscriberConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ReplayArgs {
    /// The recording: wav, mp3, m4a/aac, flac or ogg. Stereo = rep and prospect; mono = mixed.
    pub call: PathBuf,
    /// Which stereo channel is the rep (the other is the prospect).
    #[arg(long, value_enum, default_value = "left")]
    pub rep_channel: Side,
    /// `realtime` plays at call speed, like a live call; `fast` as fast as possible.
    #[arg(long, value_enum, default_value = "realtime")]
    pub pace: PaceArg,
    /// Print JSON Lines events instead of the human view.
    #[arg(long)]
    pub json: bool,
    /// Speech model: a catalog name (see `cuecard models list`) or a ggml .bin file.
    #[arg(long)]
    pub model: Option<String>,
    /// Use this objection-library folder instead of the imported library.
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Objection matcher (default: hybrid when its model is installed, else bm25).
    #[arg(long, value_enum)]
    pub matcher: Option<super::MatcherKind>,
    /// Card threshold (default: the matcher's calibrated value).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Whisper threads (default: up to 4, by core count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Do not save the call to the history database.
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Side {
    Left,
    Right,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PaceArg {
    Realtime,
    Fast,
}

pub fn run(a: ReplayArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let rep = match a.rep_channel {
        Side::Left => RepChannel::Left,
        Side::Right => RepChannel::Right,
    };
    let pace = match a.pace {
        PaceArg::Realtime => Pace::Realtime,
        PaceArg::Fast => Pace::Fast,
    };
    let source = FileSource::open(&a.call, rep)?;
    let model = super::models::resolve(a.model.as_deref())?;
    let (matcher, library) = super::build_matcher(a.matcher, db, a.library.as_deref(), a.threshold)?;
    let mut tcfg = TranscriberConfig::default();
    if let Some(t) = a.threads {
        tcfg.threads = t.max(1);
    }
    let transcriber = Transcriber::load(&model, tcfg)?;
    let store = if a.no_record {
        None
    } else {
        Some(Store::open(db).with_context(|| format!("opening call history {}", db.display()))?)
    };
    let parts = SessionParts { source: Box::new(Paced::new(source, pace)), transcriber, matcher, library, store };
    let cfg = SessionConfig { kind: "replay".into(), lockstep: pace == Pace::Fast, ..SessionConfig::default() };
    let handle = session::start(parts, cfg)?;
    let stop = handle.stop_flag();
    // Ctrl-C ends the replay cleanly: queued speech is finished and the call is saved.
    let _ = ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::SeqCst));
    let mut printer = Printer::new(a.json);
    for event in handle.events.iter() {
        printer.print(&event)?;
    }
    handle.join()?;
    Ok(ExitCode::SUCCESS)
}
