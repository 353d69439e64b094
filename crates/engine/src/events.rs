//! Typed events the engine emits; every shell (CLI, desktop app) renders these.

use serde::{Deserialize, Serialize};

/// Who is speaking on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Rep,
    Prospect,
    /// A mono recording: both sides mixed, so everything is matched.
    Unknown,
}

impl Speaker {
    /// Only the buyer's words (or words we cannot attribute) may fire cards.
    pub fn fires_cards(self) -> bool {
        matches!(self, Speaker::Prospect | Speaker::Unknown)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Rep => "rep",
            Speaker::Prospect => "prospect",
            Speaker::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Transcript(TranscriptEvent),
    Card(CardEvent),
    Warning(WarningEvent),
    /// Live capture: a device opened, was lost, fell back to the default, or went quiet.
    Device(DeviceEvent),
    /// Loudness per channel, a few times a second (only when asked for: the app's meters).
    Level(LevelEvent),
    Summary(Summary),
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceEvent {
    pub speaker: Speaker,
    pub kind: DeviceEventKind,
    pub device: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceEventKind {
    Opened,
    /// The chosen device failed; the system default took its place.
    Fallback,
    Lost,
    OpenFailed,
    /// Nothing heard for a long time: muted or the wrong device?
    Silent,
    /// Sound again after [`DeviceEventKind::Silent`].
    Audible,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelEvent {
    pub audio_ms: u64,
    pub levels: Vec<ChannelLevel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelLevel {
    pub speaker: Speaker,
    /// RMS in dBFS over the last chunk (-100 for digital silence).
    pub rms_db: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TranscriptEvent {
    pub speaker: Speaker,
    pub utterance_id: u64,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    #[serde(rename = "final")]
    pub is_final: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CardResponse {
    pub id: String,
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CardEvent {
    pub speaker: Speaker,
    pub category: String,
    pub objection_id: String,
    pub title: String,
    pub score: f32,
    pub utterance_id: u64,
    pub utterance_start_ms: u64,
    /// How much of the call (ms) had been fed to the engine when the card fired.
    pub audio_ms: u64,
    /// Wall-clock ms since the session started.
    pub wall_ms: u64,
    /// Whether the card fired on a partial transcript (before the speaker stopped).
    pub from_partial: bool,
    pub text: String,
    pub responses: Vec<CardResponse>,
    pub why: String,
    pub matched_phrase: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WarningEvent {
    pub kind: WarningKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Speech recognition fell behind; partial transcripts were skipped.
    AsrBehind,
    /// Some audio could not be decoded and was skipped.
    AudioGlitch,
    /// Microphone speech that repeated the call audio (speakers, no headset) was ignored.
    Echo,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TalkTime {
    pub rep_ms: u64,
    pub prospect_ms: u64,
    pub unknown_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CardBrief {
    pub objection_id: String,
    pub category: String,
    pub title: String,
    pub audio_ms: u64,
    pub wall_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AsrStats {
    pub model: String,
    /// Seconds of whisper compute per second of call audio (final + partial passes).
    pub real_time_factor: f32,
    pub finals: u64,
    pub partials: u64,
    pub partials_skipped: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub call_id: Option<i64>,
    pub duration_ms: u64,
    pub wall_ms: u64,
    pub talk: TalkTime,
    /// Rep utterances ignored because they only repeated the call audio (speaker bleed).
    pub echoes_ignored: u64,
    pub cards: Vec<CardBrief>,
    pub asr: AsrStats,
}
