//! Live capture: the rep's microphone and the call audio the rep hears (the system
//! output's loopback) as two channels, rep first, at the engine rate.
//!
//! The cpal streams live on their own thread ([`capture`]); this source reads their
//! rings every 100 ms and lays both sides on one wall-clock timeline. A side that is
//! late, lost or reopened is padded with silence, so the other keeps going.

mod capture;
mod devices;

pub use devices::{list_devices, DeviceInfo, Side};

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::{AudioChunk, AudioError, AudioSource, Resampler, ENGINE_RATE};
use crate::events::{DeviceEvent, DeviceEventKind, Speaker};
use capture::{CaptureConfig, CaptureMsg};

const FRAMES_PER_CHUNK: u64 = ENGINE_RATE as u64 / 10;
/// Audio held back per side before it is played into the pipeline, to absorb
/// callback jitter without cutting silence into speech.
const JITTER_FRAMES: usize = ENGINE_RATE as usize * 15 / 100;
/// A side more than this far ahead of the clock has its oldest audio dropped.
const MAX_BACKLOG_FRAMES: usize = ENGINE_RATE as usize * 2;
/// Below this RMS a 100 ms chunk counts as silence (about -50 dBFS).
const SILENCE_RMS: f32 = 0.003;

#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Microphone device id (`cuecard devices`); `None` = the system default input.
    pub mic: Option<String>,
    /// Loopback device id: an output, or its monitor; `None` = the default output's.
    pub loopback: Option<String>,
    /// Tell the user when one side has been silent this long.
    pub silence_warning: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig { mic: None, loopback: None, silence_warning: Duration::from_secs(60) }
    }
}

struct Feed {
    speaker: Speaker,
    ring: Option<rtrb::Consumer<f32>>,
    resampler: Option<Resampler>,
    pending: VecDeque<f32>,
    primed: bool,
    device: String,
    last_sound: Instant,
    told_silent: bool,
    underruns: u64,
}

impl Feed {
    fn new(speaker: Speaker, device: String) -> Self {
        Feed {
            speaker,
            ring: None,
            resampler: None,
            pending: VecDeque::new(),
            primed: false,
            device,
            last_sound: Instant::now(),
            told_silent: false,
            underruns: 0,
        }
    }

    /// Moves what the device delivered since last time into `pending`, at 16 kHz.
    fn pull(&mut self) -> Result<(), AudioError> {
        let (Some(ring), Some(resampler)) = (self.ring.as_mut(), self.resampler.as_mut()) else { return Ok(()) };
        let n = ring.slots();
        if n == 0 {
            return Ok(());
        }
        let mut raw = Vec::with_capacity(n);
        if let Ok(chunk) = ring.read_chunk(n) {
            raw.extend(chunk);
        }
        let out = resampler.push(AudioChunk { channels: vec![raw] })?;
        self.pending.extend(out.into_iter().next().unwrap_or_default());
        if self.pending.len() > MAX_BACKLOG_FRAMES {
            let excess = self.pending.len() - MAX_BACKLOG_FRAMES;
            self.pending.drain(..excess);
            tracing::warn!(
                speaker = self.speaker.as_str(),
                dropped_ms = excess * 1000 / ENGINE_RATE as usize,
                "capture ahead of the clock: oldest audio dropped"
            );
        }
        Ok(())
    }

    /// Exactly `frames` samples for this tick: device audio once enough is buffered,
    /// silence while a device is missing, late or refilling after an underrun.
    fn take(&mut self, frames: usize) -> Vec<f32> {
        if !self.primed && self.pending.len() >= JITTER_FRAMES + frames {
            self.primed = true;
        }
        if !self.primed {
            return vec![0.0; frames];
        }
        let have = self.pending.len().min(frames);
        let mut out: Vec<f32> = self.pending.drain(..have).collect();
        if have < frames {
            self.underruns += 1;
            self.primed = false;
            tracing::debug!(speaker = self.speaker.as_str(), underruns = self.underruns, "capture underrun");
            out.resize(frames, 0.0);
        }
        out
    }
}

pub struct LiveSource {
    feeds: [Feed; 2],
    rx: Receiver<CaptureMsg>,
    stop: Arc<AtomicBool>,
    /// Capture starts with the first read, so nothing piles up while models load.
    pending_start: Option<(CaptureConfig, crossbeam_channel::Sender<CaptureMsg>)>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
    emitted: u64,
    notices: Vec<DeviceEvent>,
    describe: String,
    speakers: [Speaker; 2],
    silence_warning: Duration,
}

impl LiveSource {
    /// Checks both devices exist (a wrong id is one clear error now, not a silent
    /// channel later), then starts capturing.
    pub fn open(cfg: LiveConfig) -> Result<Self, AudioError> {
        let mic = devices::resolve(Side::Mic, cfg.mic.as_deref())?;
        let loopback = devices::resolve(Side::Loopback, cfg.loopback.as_deref())?;
        let describe = format!("live: mic {} ({}) · call audio {} ({})", mic.name, mic.id, loopback.name, loopback.id);
        let feeds = [Feed::new(Speaker::Rep, mic.id), Feed::new(Speaker::Prospect, loopback.id)];
        drop((mic.device, loopback.device));
        let (tx, rx) = crossbeam_channel::bounded(64);
        let stop = Arc::new(AtomicBool::new(false));
        let capture_cfg = CaptureConfig { mic: cfg.mic, loopback: cfg.loopback };
        Ok(LiveSource {
            feeds,
            rx,
            stop,
            pending_start: Some((capture_cfg, tx)),
            thread: None,
            started: Instant::now(),
            emitted: 0,
            notices: Vec::new(),
            describe,
            speakers: [Speaker::Rep, Speaker::Prospect],
            silence_warning: cfg.silence_warning,
        })
    }

    fn start_capture(&mut self) -> Result<(), AudioError> {
        let Some((cfg, tx)) = self.pending_start.take() else { return Ok(()) };
        let stop = self.stop.clone();
        let thread = std::thread::Builder::new()
            .name("cuecard-capture".into())
            .spawn(move || capture::run(cfg, tx, stop))
            .map_err(|e| AudioError::Device { device: "capture".into(), reason: e.to_string() })?;
        self.thread = Some(thread);
        self.started = Instant::now();
        Ok(())
    }

    fn feed_mut(&mut self, side: Side) -> &mut Feed {
        &mut self.feeds[match side {
            Side::Mic => 0,
            Side::Loopback => 1,
        }]
    }

    fn notice(&mut self, side: Side, kind: DeviceEventKind, device: String, message: String) {
        let speaker = self.feed_mut(side).speaker;
        self.notices.push(DeviceEvent { speaker, kind, device, message });
    }

    fn drain_capture_messages(&mut self) -> Result<(), AudioError> {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                CaptureMsg::Opened { side, ring, rate, device, fallback } => {
                    let feed = self.feed_mut(side);
                    feed.ring = Some(ring);
                    feed.resampler = Some(Resampler::new(rate, 1)?);
                    feed.primed = false;
                    feed.device = device.clone();
                    let (kind, message) = if fallback {
                        (DeviceEventKind::Fallback, format!("{} switched to the default device {device}", side.label()))
                    } else {
                        (DeviceEventKind::Opened, format!("{}: listening on {device} ({rate} Hz)", side.label()))
                    };
                    self.notice(side, kind, device, message);
                }
                CaptureMsg::Lost { side, device, reason } => {
                    let feed = self.feed_mut(side);
                    feed.ring = None;
                    feed.resampler = None;
                    feed.pending.clear();
                    let message = format!(
                        "{} {device} lost ({reason}); the call goes on with the other side, retrying every 2 s",
                        side.label()
                    );
                    self.notice(side, DeviceEventKind::Lost, device, message);
                }
                CaptureMsg::OpenFailed { side, device, reason } => {
                    let message = format!("cannot open {} {device}: {reason}; retrying", side.label());
                    self.notice(side, DeviceEventKind::OpenFailed, device, message);
                }
            }
        }
        Ok(())
    }

    fn watch_silence(&mut self, chunk: &[Vec<f32>]) {
        let now = Instant::now();
        for (i, samples) in chunk.iter().enumerate() {
            let rms = super::mean_square(samples).sqrt();
            let feed = &mut self.feeds[i];
            if rms >= SILENCE_RMS {
                feed.last_sound = now;
                if feed.told_silent {
                    feed.told_silent = false;
                    let (device, speaker) = (feed.device.clone(), feed.speaker);
                    let message = format!("sound again from {device}");
                    self.notices.push(DeviceEvent { speaker, kind: DeviceEventKind::Audible, device, message });
                }
            } else if !feed.told_silent && now - feed.last_sound >= self.silence_warning {
                feed.told_silent = true;
                let (device, speaker) = (feed.device.clone(), feed.speaker);
                let secs = self.silence_warning.as_secs();
                let message = format!("no sound from {device} for {secs} s: muted, or the wrong device?");
                self.notices.push(DeviceEvent { speaker, kind: DeviceEventKind::Silent, device, message });
            }
        }
    }
}

impl AudioSource for LiveSource {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn speakers(&self) -> &[Speaker] {
        &self.speakers
    }

    fn sample_rate(&self) -> u32 {
        ENGINE_RATE
    }

    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, AudioError> {
        self.start_capture()?;
        // The clock paces a live call: one 100 ms chunk when its time has come.
        let due_at =
            self.started + Duration::from_micros((self.emitted + FRAMES_PER_CHUNK) * 1_000_000 / ENGINE_RATE as u64);
        let now = Instant::now();
        if due_at > now {
            std::thread::sleep(due_at - now);
        }
        self.drain_capture_messages()?;
        let frames = FRAMES_PER_CHUNK as usize;
        let mut channels = Vec::with_capacity(2);
        for feed in self.feeds.iter_mut() {
            feed.pull()?;
            channels.push(feed.take(frames));
        }
        self.emitted += FRAMES_PER_CHUNK;
        self.watch_silence(&channels);
        Ok(Some(AudioChunk { channels }))
    }

    fn take_notices(&mut self) -> Vec<DeviceEvent> {
        std::mem::take(&mut self.notices)
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
