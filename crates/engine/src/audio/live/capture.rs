//! The capture thread: owns the cpal streams (they may not be `Send`), reopens a device
//! that fails or goes quiet, and hands each side's samples over through a lock-free ring.
//!
//! Audio callbacks only downmix and push into a bounded ring: they never block or
//! allocate. When the ring is full, samples are dropped and counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, Stream, StreamConfig};
use crossbeam_channel::Sender;

use super::devices::{resolve, still_present, Resolved, Side};

/// Ring size per side: 4 s at 48 kHz, far more than the reader's 100 ms cadence needs.
const RING_SAMPLES: usize = 48_000 * 4;
/// No callback for this long on an open stream: treat the device as gone.
const STALL: Duration = Duration::from_secs(3);
/// How often to try to reopen a lost device, and to look whether a device is still there.
const RETRY: Duration = Duration::from_secs(2);
/// Asked-for callback size; small buffers keep PulseAudio's latency low.
const BUFFER_FRAMES: u32 = 960;

/// What the capture thread tells the reader.
pub enum CaptureMsg {
    /// A (re)opened device: read its samples from `ring`, at `rate` Hz, mono.
    Opened { side: Side, ring: rtrb::Consumer<f32>, rate: u32, device: String, fallback: bool },
    /// The device failed or stopped delivering audio; the other side keeps going.
    Lost { side: Side, device: String, reason: String },
    /// Opening failed (first attempt, or a retry after a loss).
    OpenFailed { side: Side, device: String, reason: String },
}

/// Counters the callbacks update without locks.
#[derive(Default)]
struct Health {
    failed: AtomicBool,
    last_callback_ms: AtomicU64,
    dropped_samples: AtomicU64,
}

struct Open {
    _stream: Stream,
    health: Arc<Health>,
    device: String,
    /// Dropped samples already logged.
    dropped_told: u64,
}

struct SideState {
    side: Side,
    wanted: Option<String>,
    open: Option<Open>,
    next_try: Instant,
    next_presence_check: Instant,
    /// Running on the default device because the asked-for one went away.
    on_fallback: bool,
    /// A failure was reported; repeated failed retries are not told again.
    told_failure: bool,
}

impl SideState {
    fn new(side: Side, wanted: Option<String>, now: Instant) -> Self {
        SideState {
            side,
            wanted,
            open: None,
            next_try: now,
            next_presence_check: now + RETRY,
            on_fallback: false,
            told_failure: false,
        }
    }
}

pub struct CaptureConfig {
    pub mic: Option<String>,
    pub loopback: Option<String>,
}

/// Runs until `stop` is set. The first attempt to open each side is reported through
/// `tx` before this returns control to the reader's first `next_chunk`.
pub fn run(cfg: CaptureConfig, tx: Sender<CaptureMsg>, stop: Arc<AtomicBool>) {
    let epoch = Instant::now();
    let mut sides = [SideState::new(Side::Mic, cfg.mic, epoch), SideState::new(Side::Loopback, cfg.loopback, epoch)];
    while !stop.load(Ordering::SeqCst) {
        let now_ms = epoch.elapsed().as_millis() as u64;
        for s in sides.iter_mut() {
            check_health(s, &tx, now_ms);
            if s.open.is_none() && Instant::now() >= s.next_try {
                try_open(s, &tx, epoch);
                s.next_try = Instant::now() + RETRY;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn check_health(s: &mut SideState, tx: &Sender<CaptureMsg>, now_ms: u64) {
    let Some(open) = &mut s.open else { return };
    let dropped = open.health.dropped_samples.load(Ordering::Relaxed);
    if dropped > open.dropped_told {
        tracing::warn!(side = s.side.label(), dropped, "capture ring full: audio dropped (the engine is not reading)");
        open.dropped_told = dropped;
    }
    let failed = open.health.failed.load(Ordering::SeqCst);
    let last = open.health.last_callback_ms.load(Ordering::SeqCst);
    let stalled = now_ms.saturating_sub(last) > STALL.as_millis() as u64;
    let mut gone = false;
    if Instant::now() >= s.next_presence_check {
        s.next_presence_check = Instant::now() + RETRY;
        gone = still_present(&open.device) == Some(false);
        // Back on the asked-for device as soon as it returns (headset plugged in again).
        let wanted_back = s.on_fallback && s.wanted.as_deref().and_then(still_present) == Some(true);
        if wanted_back {
            tracing::info!(side = s.side.label(), "the chosen device is back; switching to it");
            s.open = None;
            s.on_fallback = false;
            s.next_try = Instant::now();
            return;
        }
    }
    if failed || stalled || gone {
        let reason = if failed {
            "the device reported an error"
        } else if gone {
            "the device was disconnected"
        } else {
            "no audio from the device for 3 s"
        };
        tracing::warn!(side = s.side.label(), device = %open.device, reason, "capture device lost");
        let _ = tx.send(CaptureMsg::Lost { side: s.side, device: open.device.clone(), reason: reason.into() });
        s.open = None;
        s.next_try = Instant::now() + RETRY;
    }
}

fn try_open(s: &mut SideState, tx: &Sender<CaptureMsg>, epoch: Instant) {
    let opened = resolve(s.side, s.wanted.as_deref()).map_err(|e| e.to_string()).and_then(|r| open_stream(r, epoch));
    // The asked-for device is gone or broken: the default one keeps the call going.
    let (result, fallback) = match opened {
        Err(reason) if s.wanted.is_some() => {
            tracing::warn!(side = s.side.label(), %reason, "chosen device unavailable, trying the default");
            (resolve(s.side, None).map_err(|e| e.to_string()).and_then(|r| open_stream(r, epoch)), true)
        }
        other => (other, false),
    };
    match result {
        Ok((open, ring, rate)) => {
            let device = open.device.clone();
            tracing::info!(side = s.side.label(), %device, rate, fallback, "capture device open");
            s.open = Some(open);
            s.told_failure = false;
            s.on_fallback = fallback;
            s.next_presence_check = Instant::now() + RETRY;
            let _ = tx.send(CaptureMsg::Opened { side: s.side, ring, rate, device, fallback });
        }
        Err(reason) => {
            let device = s.wanted.clone().unwrap_or_else(|| format!("default {}", s.side.label()));
            if !s.told_failure {
                tracing::warn!(side = s.side.label(), %device, %reason, "cannot open capture device");
                let _ = tx.send(CaptureMsg::OpenFailed { side: s.side, device, reason });
            }
            s.told_failure = true;
        }
    }
}

fn open_stream(r: Resolved, epoch: Instant) -> Result<(Open, rtrb::Consumer<f32>, u32), String> {
    let supported = r.device.default_input_config().map_err(|e| format!("{}: {e}", r.id))?;
    let rate = supported.sample_rate();
    let channels = supported.channels().max(1) as usize;
    // Small buffers keep PulseAudio's latency low; some devices refuse a fixed size.
    let sizes = [cpal::BufferSize::Fixed(BUFFER_FRAMES.min(rate / 20)), cpal::BufferSize::Default];
    let mut last_error = String::new();
    for size in sizes {
        let config = StreamConfig { buffer_size: size, ..supported.config() };
        let (producer, consumer) = rtrb::RingBuffer::new(RING_SAMPLES);
        let health = Arc::new(Health::default());
        health.last_callback_ms.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
        let h = health.clone();
        let built = match supported.sample_format() {
            SampleFormat::I8 => build::<i8>(&r.device, config, channels, producer, h, epoch),
            SampleFormat::I16 => build::<i16>(&r.device, config, channels, producer, h, epoch),
            SampleFormat::I32 => build::<i32>(&r.device, config, channels, producer, h, epoch),
            SampleFormat::U8 => build::<u8>(&r.device, config, channels, producer, h, epoch),
            SampleFormat::U16 => build::<u16>(&r.device, config, channels, producer, h, epoch),
            SampleFormat::F32 => build::<f32>(&r.device, config, channels, producer, h, epoch),
            SampleFormat::F64 => build::<f64>(&r.device, config, channels, producer, h, epoch),
            other => return Err(format!("{}: sample format {other} is not supported", r.id)),
        };
        match built {
            Ok(stream) => {
                stream.play().map_err(|e| format!("{}: cannot start capture: {e}", r.id))?;
                return Ok((Open { _stream: stream, health, device: r.id, dropped_told: 0 }, consumer, rate));
            }
            Err(e) => {
                tracing::debug!(device = %r.id, ?size, "stream refused: {e}");
                last_error = e;
            }
        }
    }
    Err(format!("{}: {last_error}", r.id))
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    channels: usize,
    mut producer: rtrb::Producer<f32>,
    health: Arc<Health>,
    epoch: Instant,
) -> Result<Stream, String>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let on_error = {
        let health = health.clone();
        move |e: cpal::Error| {
            tracing::warn!("capture stream error: {e}");
            health.failed.store(true, Ordering::SeqCst);
        }
    };
    let scale = 1.0 / channels as f32;
    let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        health.last_callback_ms.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        for frame in data.chunks(channels) {
            let mono: f32 = frame.iter().map(|&x| <f32 as FromSample<T>>::from_sample_(x)).sum::<f32>() * scale;
            if producer.push(mono).is_err() {
                health.dropped_samples.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    device
        .build_input_stream::<T, _, _>(config, on_data, on_error, Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())
}
