//! `cuecard listen` and `cuecard devices`: coaching a live call from the microphone
//! (rep) and the system output's loopback (prospect).

use super::coach::{self, PipelineArgs};
use clap::Args;
use cuecard_engine::audio::live::{list_devices, LiveConfig, LiveSource};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct ListenArgs {
    /// Microphone (the rep): an input id from `cuecard devices`. Default: the system's.
    #[arg(long)]
    pub mic: Option<String>,
    /// What the rep hears (the prospect): an output or its loopback/monitor id from
    /// `cuecard devices`. Default: the loopback of the system's default output.
    #[arg(long)]
    pub loopback: Option<String>,
    /// Also save the call as a stereo WAV (rep left, prospect right) that `replay` accepts.
    #[arg(long, value_name = "FILE.wav")]
    pub record: Option<PathBuf>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Warn when one side has been silent this many seconds.
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub silence_warning: u64,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Args)]
pub struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ListenArgs, db: &Path) -> anyhow::Result<ExitCode> {
    if let Some(path) = &a.record {
        if path.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() != Some("wav") {
            anyhow::bail!("--record {}: recordings are written as WAV; name the file *.wav", path.display());
        }
    }
    let duration = match a.duration {
        Some(s) if !(s.is_finite() && s > 0.0) => anyhow::bail!("--duration {s}: give a positive number of seconds"),
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let source = LiveSource::open(LiveConfig {
        mic: a.mic.clone(),
        loopback: a.loopback.clone(),
        silence_warning: Duration::from_secs(a.silence_warning.max(1)),
    })?;
    let how = coach::Run { kind: "live", lockstep: false, record: a.record.clone(), duration };
    coach::run(Box::new(source), &a.pipeline, db, how)
}

pub fn devices(a: DevicesArgs) -> anyhow::Result<ExitCode> {
    let list = list_devices()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("no audio devices found (is PulseAudio/PipeWire running? is ALSA configured?)");
        return Ok(ExitCode::SUCCESS);
    }
    for d in &list {
        let mark = if d.is_default { "*" } else { " " };
        let role = match (d.direction, d.is_monitor) {
            ("input", true) => "loopback",
            ("input", false) => "mic",
            _ => "output",
        };
        println!("{mark} {role:<8} {:<48} {}", d.id, d.name);
        if let Some(l) = d.loopback_id.as_deref().filter(|l| *l != d.id) {
            println!("           └ loopback: {l}");
        }
    }
    println!("\n* = default. Use `cuecard listen --mic ID --loopback ID` (an output's id picks its loopback).");
    Ok(ExitCode::SUCCESS)
}
