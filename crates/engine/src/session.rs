//! One coaching session: audio source → resample → per-channel VAD → whisper →
//! matcher → cards. Replay and live capture run this same code; only the source differs.

use crate::asr_queue::{AsrQueue, Job, Pushed};
use crate::audio::{AudioSource, Resampler, WavRecorder, ENGINE_RATE};
use crate::coach::{CardPolicy, Coach, MatchContext};
use crate::echo::EchoGuard;
use crate::events::{
    AsrStats, CardBrief, ChannelLevel, Event, LevelEvent, Speaker, Summary, TalkTime, TranscriptEvent, WarningEvent,
    WarningKind,
};
use crate::library::Library;
use crate::matcher::Matcher;
use crate::store::Store;
use crate::transcribe::Transcriber;
use crate::vad::{Segment, Segmenter, VadConfig};
use crate::Error;
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    pub vad: VadConfig,
    pub cards: CardPolicy,
    /// "replay" or "live": recorded with the call.
    pub kind: String,
    /// Wait for speech recognition after every chunk: a fast replay then behaves like
    /// a live call on an infinitely fast machine (every partial transcribed, and
    /// `audio_ms` meaningful), and is deterministic.
    pub lockstep: bool,
    /// Also write what the session hears to this WAV file (one channel per speaker).
    pub record: Option<PathBuf>,
    /// Emit [`Event::Level`] per channel about five times a second (the app's meters).
    pub levels: bool,
}

/// The parts a session is built from; the shells choose them.
pub struct SessionParts {
    pub source: Box<dyn AudioSource>,
    pub transcriber: Transcriber,
    pub matcher: Box<dyn Matcher>,
    pub library: Library,
    /// Where the call is recorded; `None` records nothing.
    pub store: Option<Store>,
}

pub struct SessionHandle {
    pub events: Receiver<Event>,
    /// The call's row in the history database (`None` when the session is not recorded).
    pub call_id: Option<i64>,
    stop: Arc<AtomicBool>,
    feeder: Option<JoinHandle<Result<(), Error>>>,
    asr: Option<JoinHandle<Result<Summary, Error>>>,
}

impl SessionHandle {
    /// Asks the session to end: audio stops, queued speech is still transcribed.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Waits for the end; the summary has also been sent as the last event.
    pub fn join(mut self) -> Result<Summary, Error> {
        let feeder = self.feeder.take().map(|h| h.join());
        let asr = self.asr.take().map(|h| h.join());
        let summary = match asr {
            Some(Ok(r)) => r?,
            _ => return Err(Error::Internal("speech recognition thread panicked".into())),
        };
        match feeder {
            Some(Ok(r)) => r?,
            _ => return Err(Error::Internal("audio thread panicked".into())),
        }
        Ok(summary)
    }
}

/// Shared counters between the two threads.
#[derive(Default)]
struct Progress {
    fed_ms: AtomicU64,
    talk: [AtomicU64; 3],
    audio_failed: AtomicBool,
}

fn speaker_slot(s: Speaker) -> usize {
    match s {
        Speaker::Rep => 0,
        Speaker::Prospect => 1,
        Speaker::Unknown => 2,
    }
}

/// Final audio that may wait for recognition (4 MB): a minute of backlog rides out a
/// busy spell without losing the rep's transcript.
const QUEUED_FINALS_S: usize = 60;

pub fn start(parts: SessionParts, cfg: SessionConfig) -> Result<SessionHandle, Error> {
    let SessionParts { mut source, transcriber, matcher, library, store } = parts;
    let speakers = source.speakers().to_vec();
    let mut resampler = Resampler::new(source.sample_rate(), speakers.len())?;
    let queue = Arc::new(AsrQueue::new(speakers.len(), QUEUED_FINALS_S * ENGINE_RATE as usize));
    let progress = Arc::new(Progress::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::bounded::<Event>(1024);
    let started = Instant::now();
    let call_id = match &store {
        Some(s) => Some(s.begin_call(&cfg.kind, &source.describe(), transcriber.model_name())?),
        None => None,
    };
    let span = tracing::info_span!("session", call_id, source = %source.describe());
    let recorder = cfg.record.as_deref().map(|p| WavRecorder::create(p, speakers.len())).transpose()?;

    let feeder = {
        let (queue, progress, stop, tx, span) =
            (queue.clone(), progress.clone(), stop.clone(), tx.clone(), span.clone());
        let vad = cfg.vad.clone();
        let lockstep = cfg.lockstep;
        let levels = cfg.levels;
        std::thread::Builder::new()
            .name("cuecard-audio".into())
            .spawn(move || {
                let _g = span.enter();
                let n = speakers.len() as u64;
                let mut segmenters: Vec<Segmenter> = (0..n).map(|i| Segmenter::new(vad.clone(), i, n)).collect();
                let mut feeder = Feeder {
                    speakers: &speakers,
                    queue: &queue,
                    progress: &progress,
                    tx: &tx,
                    fed: 0,
                    last_warned: 0,
                    recorder,
                    levels,
                    last_level_ms: 0,
                };
                let mut result = feeder.run(&mut *source, &mut resampler, &mut segmenters, &stop, lockstep);
                if let Some(rec) = feeder.recorder.take() {
                    match rec.finish() {
                        Ok(path) => tracing::info!(path = %path.display(), "recording saved"),
                        Err(e) => {
                            tracing::error!("{e}");
                            result = result.and(Err(e.into()));
                        }
                    }
                }
                if result.is_err() {
                    progress.audio_failed.store(true, Ordering::SeqCst);
                }
                queue.close();
                result
            })
            .map_err(|e| Error::Internal(format!("cannot start audio thread: {e}")))?
    };

    let asr = {
        let threshold = matcher.threshold();
        let coach = Coach::new(cfg.cards.clone(), threshold, library);
        let worker = AsrWorker {
            transcriber,
            matcher,
            coach,
            store,
            call_id,
            tx,
            started,
            progress,
            queue,
            starts: HashMap::new(),
            echo: EchoGuard::default(),
            echoes: 0,
        };
        std::thread::Builder::new()
            .name("cuecard-asr".into())
            .spawn(move || {
                let _g = span.enter();
                worker.run()
            })
            .map_err(|e| Error::Internal(format!("cannot start speech thread: {e}")))?
    };

    Ok(SessionHandle { events: rx, call_id, stop, feeder: Some(feeder), asr: Some(asr) })
}

/// The audio thread's state: VAD per channel, recording, meters, and what it tells.
struct Feeder<'a> {
    speakers: &'a [Speaker],
    queue: &'a AsrQueue,
    progress: &'a Progress,
    tx: &'a Sender<Event>,
    fed: u64,
    last_warned: u64,
    recorder: Option<WavRecorder>,
    levels: bool,
    last_level_ms: u64,
}

/// Level events this often (ms of audio).
const LEVEL_EVERY_MS: u64 = 200;

impl Feeder<'_> {
    fn run(
        &mut self,
        source: &mut dyn AudioSource,
        resampler: &mut Resampler,
        segmenters: &mut [Segmenter],
        stop: &AtomicBool,
        lockstep: bool,
    ) -> Result<(), Error> {
        while !stop.load(Ordering::SeqCst) && !self.queue.is_closed() {
            let chunk = source.next_chunk()?;
            for notice in source.take_notices() {
                tracing::info!(speaker = notice.speaker.as_str(), kind = ?notice.kind, "{}", notice.message);
                let _ = self.tx.try_send(Event::Device(notice));
            }
            match chunk {
                Some(chunk) => {
                    let pcm = resampler.push(chunk)?;
                    self.handle(segmenters, pcm, false)?;
                    if lockstep {
                        self.queue.wait_idle();
                    }
                }
                None => break,
            }
        }
        let tail = resampler.finish()?;
        self.handle(segmenters, tail, true)
    }

    fn warn(&self, message: String) {
        tracing::warn!("{message}");
        let _ = self.tx.try_send(Event::Warning(WarningEvent { kind: WarningKind::AsrBehind, message }));
    }

    fn handle(&mut self, segmenters: &mut [Segmenter], pcm: Vec<Vec<f32>>, flush: bool) -> Result<(), Error> {
        let frames = pcm.first().map_or(0, Vec::len) as u64;
        if let Some(rec) = self.recorder.as_mut() {
            rec.write(&pcm)?;
        }
        for (ch, samples) in pcm.iter().enumerate() {
            let mut segs = segmenters[ch].push(samples);
            if flush {
                segs.extend(segmenters[ch].finish());
            }
            for seg in segs {
                let (audio, is_final) = match seg {
                    Segment::Partial(a) => (a, false),
                    Segment::Final(a) => (a, true),
                };
                if is_final {
                    let ms = audio.end_ms() - audio.start_ms();
                    self.progress.talk[speaker_slot(self.speakers[ch])].fetch_add(ms, Ordering::Relaxed);
                }
                // Rep speech that ends while the prospect still talks may be bleed of it:
                // it is judged once the prospect's utterance has been transcribed.
                let after_utterance = if is_final && !self.speakers[ch].fires_cards() {
                    self.speakers
                        .iter()
                        .zip(segmenters.iter())
                        .filter(|(s, _)| s.fires_cards())
                        .find_map(|(_, seg)| seg.open_utterance())
                } else {
                    None
                };
                let job = Job { speaker: self.speakers[ch], audio, is_final, after_utterance };
                match self.queue.push(ch, job) {
                    Pushed::DroppedRepFinal { dropped_total } => self.warn(format!(
                        "speech recognition is behind: skipped the rep's transcript ({dropped_total} utterances so far)"
                    )),
                    // Said at most every 50 skips, so the log shows it without flooding.
                    Pushed::ReplacedStale { skipped_total }
                        if skipped_total >= self.last_warned + 50 || self.last_warned == 0 =>
                    {
                        self.last_warned = skipped_total;
                        self.warn(format!(
                            "speech recognition is behind: {skipped_total} partial transcripts skipped so far"
                        ));
                    }
                    _ => {}
                }
            }
        }
        for (ch, seg) in segmenters.iter().enumerate() {
            self.queue.set_open(ch, seg.open_utterance());
        }
        self.fed += frames;
        let fed_ms = self.fed * 1000 / u64::from(ENGINE_RATE);
        self.progress.fed_ms.store(fed_ms, Ordering::SeqCst);
        if self.levels && fed_ms >= self.last_level_ms + LEVEL_EVERY_MS && frames > 0 {
            self.last_level_ms = fed_ms;
            let levels = pcm
                .iter()
                .zip(self.speakers)
                .map(|(samples, &speaker)| {
                    let ms = crate::audio::mean_square(samples);
                    ChannelLevel { speaker, rms_db: (10.0 * ms.max(1e-10).log10()).max(-100.0) }
                })
                .collect();
            let _ = self.tx.try_send(Event::Level(LevelEvent { audio_ms: fed_ms, levels }));
        }
        Ok(())
    }
}

struct AsrWorker {
    transcriber: Transcriber,
    matcher: Box<dyn Matcher>,
    coach: Coach,
    store: Option<Store>,
    call_id: Option<i64>,
    tx: Sender<Event>,
    started: Instant,
    progress: Arc<Progress>,
    queue: Arc<AsrQueue>,
    /// Where each open utterance began (late partials only cover its latest seconds).
    starts: HashMap<u64, u64>,
    echo: EchoGuard,
    /// Rep utterances ignored as bleed of the prospect's audio.
    echoes: u64,
}

impl AsrWorker {
    fn wall_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn send(&self, e: Event) {
        // The consumer went away (e.g. the UI closed): keep going, the call is still saved.
        let _ = self.tx.send_timeout(e, Duration::from_secs(5));
    }

    fn save<T>(&self, what: &str, r: Result<T, crate::store::StoreError>) {
        if let Err(e) = r {
            tracing::error!("could not save {what} to call history: {e}");
        }
    }

    fn run(mut self) -> Result<Summary, Error> {
        let mut stats = Stats::default();
        let mut cards: Vec<CardBrief> = Vec::new();
        while let Some(job) = self.queue.pop() {
            let handled = self.handle(job, &mut stats, &mut cards);
            self.queue.done();
            if let Err(e) = handled {
                // Unblock and stop the audio side; the call stays saved as failed.
                self.queue.close();
                if let (Some(store), Some(id)) = (&self.store, self.call_id) {
                    let summary = self.summary(&stats, cards);
                    self.save("the call summary", store.end_call(id, &summary, "failed"));
                }
                return Err(e);
            }
        }
        let summary = self.summary(&stats, cards);
        if let (Some(store), Some(id)) = (&self.store, self.call_id) {
            let status = if self.progress.audio_failed.load(Ordering::SeqCst) { "failed" } else { "complete" };
            self.save("the call summary", store.end_call(id, &summary, status));
        }
        self.send(Event::Summary(summary.clone()));
        Ok(summary)
    }

    fn handle(&mut self, job: Job, stats: &mut Stats, cards: &mut Vec<CardBrief>) -> Result<(), Error> {
        let t0 = Instant::now();
        let text = self.transcriber.transcribe(&job.audio.samples)?;
        stats.compute += t0.elapsed();
        if job.is_final {
            stats.finals += 1
        } else {
            stats.partials += 1
        }
        let utterance_start = *self.starts.entry(job.audio.id).or_insert(job.audio.start_ms());
        if job.is_final {
            self.starts.remove(&job.audio.id);
        }
        if text.is_empty() {
            return Ok(());
        }
        let (start_ms, end_ms) = (job.audio.start_ms(), job.audio.end_ms());
        match job.speaker {
            Speaker::Prospect => self.echo.heard_prospect(start_ms, end_ms, &text),
            Speaker::Rep if self.echo.is_echo(start_ms, end_ms, &text) => {
                if job.is_final {
                    self.drop_echo(end_ms - start_ms, &text);
                }
                return Ok(());
            }
            _ => {}
        }
        let transcript = TranscriptEvent {
            speaker: job.speaker,
            utterance_id: job.audio.id,
            start_ms: job.audio.start_ms(),
            end_ms: job.audio.end_ms(),
            text,
            is_final: job.is_final,
        };
        if job.is_final {
            if let (Some(store), Some(id)) = (&self.store, self.call_id) {
                self.save("a transcript segment", store.add_segment(id, &transcript));
            }
        }
        let card = if job.speaker.fires_cards() {
            let ranked = self.matcher.rank(&transcript.text, 5)?;
            let ctx = MatchContext {
                speaker: job.speaker,
                utterance_id: job.audio.id,
                utterance_start_ms: utterance_start,
                is_final: job.is_final,
                text: &transcript.text,
                audio_ms: self.progress.fed_ms.load(Ordering::SeqCst),
                wall_ms: self.wall_ms(),
            };
            self.coach.consider(&ranked, &ctx)
        } else {
            None
        };
        if job.is_final {
            self.coach.utterance_done(job.audio.id);
        }
        self.send(Event::Transcript(transcript));
        if let Some(card) = card {
            tracing::info!(objection = %card.objection_id, score = card.score, "card");
            if let (Some(store), Some(id)) = (&self.store, self.call_id) {
                self.save("a card", store.add_card(id, &card));
            }
            cards.push(CardBrief {
                objection_id: card.objection_id.clone(),
                category: card.category.clone(),
                title: card.title.clone(),
                audio_ms: card.audio_ms,
                wall_ms: card.wall_ms,
            });
            self.send(Event::Card(card));
        }
        Ok(())
    }

    /// A rep utterance that only repeated the prospect: not rep talk, not transcript.
    fn drop_echo(&mut self, ms: u64, text: &str) {
        let rep = &self.progress.talk[speaker_slot(Speaker::Rep)];
        let _ = rep.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| Some(t.saturating_sub(ms)));
        self.echoes += 1;
        tracing::info!(echoes = self.echoes, %text, "ignored microphone speech that repeats the call audio");
        if self.echoes == 1 || self.echoes.is_multiple_of(10) {
            let message = format!(
                "the microphone hears the call audio (speakers, no headset?): {} such utterances ignored so far",
                self.echoes
            );
            self.send(Event::Warning(WarningEvent { kind: WarningKind::Echo, message }));
        }
    }

    fn summary(&self, stats: &Stats, cards: Vec<CardBrief>) -> Summary {
        let duration_ms = self.progress.fed_ms.load(Ordering::SeqCst);
        let talk = |s: Speaker| self.progress.talk[speaker_slot(s)].load(Ordering::Relaxed);
        Summary {
            call_id: self.call_id,
            duration_ms,
            wall_ms: self.wall_ms(),
            talk: TalkTime {
                rep_ms: talk(Speaker::Rep),
                prospect_ms: talk(Speaker::Prospect),
                unknown_ms: talk(Speaker::Unknown),
            },
            echoes_ignored: self.echoes,
            cards,
            asr: AsrStats {
                model: self.transcriber.model_name().to_owned(),
                real_time_factor: if duration_ms > 0 {
                    stats.compute.as_secs_f32() * 1000.0 / duration_ms as f32
                } else {
                    0.0
                },
                finals: stats.finals,
                partials: stats.partials,
                partials_skipped: self.queue.skipped(),
            },
        }
    }
}

#[derive(Default)]
struct Stats {
    compute: Duration,
    finals: u64,
    partials: u64,
}
