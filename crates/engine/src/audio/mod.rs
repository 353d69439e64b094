//! Audio in: sources (file replay today, live capture later), pacing and resampling.
//!
//! Every source yields planar chunks of at most [`MAX_CHUNK_MS`] at its own rate; the
//! pipeline resamples them to [`ENGINE_RATE`] per channel. Replay and live capture differ
//! only in the source.

mod file;
pub mod live;
mod pace;
mod record;
mod resample;

pub use file::{FileSource, RepChannel};
pub use pace::{Pace, Paced};
pub use record::WavRecorder;
pub use resample::Resampler;

use crate::events::{DeviceEvent, Speaker};
use std::path::PathBuf;

/// The rate whisper wants and the whole pipeline runs at after resampling.
pub const ENGINE_RATE: u32 = 16_000;
/// Sources hand out chunks no longer than this, so streaming stays fine-grained.
pub const MAX_CHUNK_MS: u32 = 100;

/// Mean of the squared samples (0 for none): loudness for VAD, meters and silence checks.
pub fn mean_square(samples: &[f32]) -> f32 {
    samples.iter().map(|x| x * x).sum::<f32>() / samples.len().max(1) as f32
}

/// Planar samples: one `Vec` per channel, all the same length, at the source's rate.
#[derive(Debug, Clone, Default)]
pub struct AudioChunk {
    pub channels: Vec<Vec<f32>>,
}

impl AudioChunk {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

/// Anything that produces call audio: a recording being replayed or a live capture.
pub trait AudioSource: Send {
    /// Human-readable name (file path, device names) for logs and call history.
    fn describe(&self) -> String;
    /// Who speaks on each channel, in channel order.
    fn speakers(&self) -> &[Speaker];
    fn sample_rate(&self) -> u32;
    /// The next chunk, `Ok(None)` at the end of the audio.
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, AudioError>;
    /// Device changes since the last call (live capture: lost, reopened, silent).
    fn take_notices(&mut self) -> Vec<DeviceEvent> {
        Vec::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot open audio file {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a recording cuecard can read ({reason}); use wav, mp3, m4a/aac, flac or ogg")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path} has {channels} channels; cuecard replays mono (one mixed speaker) or stereo (rep and prospect) recordings: mix it down first, e.g. `sox in.wav -c 2 out.wav`")]
    ChannelCount { path: PathBuf, channels: usize },
    #[error("{path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path} contains no audio")]
    Empty { path: PathBuf },
    #[error("audio device {device}: {reason}")]
    Device { device: String, reason: String },
    #[error("no audio device {device}: {hint}")]
    NoDevice { device: String, hint: String },
    #[error("cannot write the recording {path}: {reason}")]
    Record { path: PathBuf, reason: String },
    #[error("cannot resample {from} Hz audio to {to} Hz: {reason}")]
    Resample { from: u32, to: u32, reason: String },
}
