//! `cuecard replay CALL`: a recording through the same pipeline a live call uses.

use super::coach::{self, PipelineArgs};
use clap::{Args, ValueEnum};
use cuecard_engine::audio::{FileSource, Pace, Paced, RepChannel};
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
    #[command(flatten)]
    pub pipeline: PipelineArgs,
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
    let how = coach::Run { kind: "replay", lockstep: pace == Pace::Fast, record: None, duration: None };
    coach::run(Box::new(Paced::new(source, pace)), &a.pipeline, db, how)
}
