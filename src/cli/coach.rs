//! What `replay` and `listen` share: the pipeline options and running one session to
//! its end with the events printed. The two commands differ only in the audio source.

use super::output::Printer;
use anyhow::Context;
use clap::Args;
use cuecard_engine::audio::AudioSource;
use cuecard_engine::session::{self, SessionConfig, SessionParts};
use cuecard_engine::store::Store;
use cuecard_engine::transcribe::Transcriber;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Args)]
pub struct PipelineArgs {
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
    #[arg(long, value_parser = super::matcher_arg())]
    pub matcher: Option<super::MatcherKind>,
    /// Card threshold (default: the matcher's calibrated value).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Sentence encoder of the semantic and hybrid matchers (`stock`: without the
    /// objection adapter, for comparison).
    #[arg(long, value_enum, default_value_t = super::EncoderArg::Adapted)]
    pub encoder: super::EncoderArg,
    /// Whisper threads (default: up to 4, by core count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Prime speech recognition with the library's names and acronyms (Gong, SOC 2, CISO…).
    /// Off by default: on the dev calls it caught nothing more and made recognition slower.
    #[arg(long, value_name = "on|off", default_value = "off", action = clap::ArgAction::Set, hide_possible_values = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub asr_prompt: bool,
    /// Do not save the call to the history database.
    #[arg(long)]
    pub no_record: bool,
}

pub struct Run {
    pub kind: &'static str,
    pub lockstep: bool,
    pub record: Option<PathBuf>,
    /// Stop by itself after this long (otherwise at the end of the audio or on Ctrl-C).
    pub duration: Option<Duration>,
}

/// Loads model and matcher, runs the session over `source`, prints every event.
pub fn run(source: Box<dyn AudioSource>, a: &PipelineArgs, db: &Path, how: Run) -> anyhow::Result<ExitCode> {
    let model = super::models::resolve(a.model.as_deref())?;
    let (matcher, library) = super::build_matcher(a.matcher, db, a.library.as_deref(), a.threshold, a.encoder.into())?;
    let mut tcfg = cuecard_engine::setup::transcriber_config(&library, a.asr_prompt);
    if let Some(t) = a.threads {
        tcfg.threads = t.max(1);
    }
    let transcriber = Transcriber::load(&model, tcfg)?;
    let store = if a.no_record {
        None
    } else {
        Some(Store::open(db).with_context(|| format!("opening call history {}", db.display()))?)
    };
    let parts = SessionParts { source, transcriber, matcher, library, store };
    let cfg =
        SessionConfig { kind: how.kind.into(), lockstep: how.lockstep, record: how.record, ..SessionConfig::default() };
    let handle = session::start(parts, cfg)?;
    let stop = handle.stop_flag();
    // Ctrl-C ends the session cleanly: queued speech is finished and the call is saved.
    let on_signal = stop.clone();
    let _ = ctrlc::set_handler(move || on_signal.store(true, Ordering::SeqCst));
    if let Some(d) = how.duration {
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.store(true, Ordering::SeqCst);
        });
    }
    let mut printer = Printer::new(a.json);
    for event in handle.events.iter() {
        printer.print(&event)?;
    }
    handle.join()?;
    Ok(ExitCode::SUCCESS)
}
