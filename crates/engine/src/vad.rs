//! Voice activity: cuts one channel's 16 kHz stream into utterances.
//!
//! An energy detector with an adaptive noise floor: cheap, predictable, and good enough
//! for two separated channels (each side of the call is one speaker). It reports
//! progress while someone speaks, so the pipeline can transcribe partials, and a final
//! utterance once they have been silent for `end_silence_ms`.

use crate::audio::ENGINE_RATE;
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct VadConfig {
    /// Silence that ends an utterance. Shorter = faster cards, but sentences get split.
    pub end_silence_ms: u32,
    /// Audio kept from before speech was detected, so first syllables are not clipped.
    pub pre_roll_ms: u32,
    /// Utterances shorter than this (clicks, coughs) are dropped.
    pub min_speech_ms: u32,
    /// Long monologues are cut here so whisper never needs more than one window.
    pub max_utterance_ms: u32,
    /// How much new speech triggers another partial transcript.
    pub partial_every_ms: u32,
    /// Partials cover at most this much of the latest speech: a long turn would
    /// otherwise cost more whisper time with every partial (finals cover it all).
    pub partial_window_ms: u32,
    /// Speech must be this far above the running noise floor...
    pub above_floor_db: f32,
    /// ...and above this absolute level (dBFS).
    pub min_level_dbfs: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            end_silence_ms: 450,
            pre_roll_ms: 200,
            min_speech_ms: 300,
            max_utterance_ms: 15_000,
            partial_every_ms: 700,
            partial_window_ms: 6_000,
            above_floor_db: 12.0,
            min_level_dbfs: -50.0,
        }
    }
}

const FRAME: usize = (ENGINE_RATE / 50) as usize; // 20 ms
/// Consecutive speech frames needed to open an utterance (60 ms).
const START_FRAMES: u32 = 3;

/// A view of one utterance's audio at some moment.
#[derive(Debug, Clone)]
pub struct UtteranceAudio {
    pub id: u64,
    /// Sample index (16 kHz, from the start of the call) of the first sample.
    pub start_sample: u64,
    pub samples: Arc<[f32]>,
}

impl UtteranceAudio {
    pub fn start_ms(&self) -> u64 {
        self.start_sample * 1000 / u64::from(ENGINE_RATE)
    }
    pub fn end_ms(&self) -> u64 {
        (self.start_sample + self.samples.len() as u64) * 1000 / u64::from(ENGINE_RATE)
    }
}

#[derive(Debug, Clone)]
pub enum Segment {
    /// Still speaking: everything said so far in this utterance.
    Partial(UtteranceAudio),
    /// The utterance ended (trailing silence trimmed).
    Final(UtteranceAudio),
}

struct Open {
    id: u64,
    start_sample: u64,
    samples: Vec<f32>,
    /// Length of `samples` at the last voiced frame: the end if silence follows.
    voiced_len: usize,
    voiced_frames: u32,
    silent_frames: u32,
    reported_len: usize,
}

pub struct Segmenter {
    cfg: VadConfig,
    noise_db: f32,
    pos: u64,
    frame: Vec<f32>,
    history: VecDeque<f32>,
    run: u32,
    open: Option<Open>,
    next_id: u64,
    id_stride: u64,
}

impl Segmenter {
    /// `first_id`/`id_stride` let several channels hand out distinct utterance ids.
    pub fn new(cfg: VadConfig, first_id: u64, id_stride: u64) -> Self {
        Segmenter {
            cfg,
            noise_db: -70.0,
            pos: 0,
            frame: Vec::with_capacity(FRAME),
            history: VecDeque::new(),
            run: 0,
            open: None,
            next_id: first_id,
            id_stride: id_stride.max(1),
        }
    }

    /// Feeds 16 kHz samples; returns the segments that became ready.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Segment> {
        let mut out = Vec::new();
        for &s in samples {
            self.frame.push(s);
            if self.frame.len() == FRAME {
                let frame = std::mem::take(&mut self.frame);
                self.process_frame(&frame, &mut out);
                self.frame = frame;
                self.frame.clear();
            }
        }
        out
    }

    /// The utterance in progress, if speech is open right now.
    pub fn open_utterance(&self) -> Option<u64> {
        self.open.as_ref().map(|o| o.id)
    }

    /// End of audio: whatever is open becomes final.
    pub fn finish(&mut self) -> Vec<Segment> {
        let mut out = Vec::new();
        if !self.frame.is_empty() {
            let frame = std::mem::take(&mut self.frame);
            if let Some(open) = self.open.as_mut() {
                open.samples.extend_from_slice(&frame);
            }
        }
        self.close(&mut out);
        out
    }

    fn ms_to_frames(ms: u32) -> u32 {
        (ms / 20).max(1)
    }

    fn process_frame(&mut self, frame: &[f32], out: &mut Vec<Segment>) {
        let energy = crate::audio::mean_square(frame);
        let db = 10.0 * energy.max(1e-10).log10();
        let threshold = (self.noise_db + self.cfg.above_floor_db).max(self.cfg.min_level_dbfs);
        let voiced = db > threshold;
        // The floor follows quiet frames quickly and loud ones very slowly, so speech
        // does not drag it up but a noisier room does.
        if !voiced {
            self.noise_db += (db - self.noise_db) * if db < self.noise_db { 0.3 } else { 0.05 };
        } else {
            self.noise_db += 0.002;
        }
        self.pos += frame.len() as u64;

        match self.open.as_mut() {
            None => {
                self.history.extend(frame.iter().copied());
                let keep = (self.cfg.pre_roll_ms as usize * ENGINE_RATE as usize / 1000).max(FRAME);
                while self.history.len() > keep {
                    self.history.pop_front();
                }
                self.run = if voiced { self.run + 1 } else { 0 };
                if self.run >= START_FRAMES {
                    let samples: Vec<f32> = self.history.drain(..).collect();
                    let start_sample = self.pos - samples.len() as u64;
                    let id = self.next_id;
                    self.next_id += self.id_stride;
                    self.open = Some(Open {
                        id,
                        start_sample,
                        voiced_len: samples.len(),
                        samples,
                        voiced_frames: self.run,
                        silent_frames: 0,
                        reported_len: 0,
                    });
                    self.run = 0;
                }
            }
            Some(open) => {
                open.samples.extend_from_slice(frame);
                if voiced {
                    open.voiced_len = open.samples.len();
                    open.voiced_frames += 1;
                    open.silent_frames = 0;
                } else {
                    open.silent_frames += 1;
                }
                let too_long =
                    open.samples.len() as u64 * 1000 / u64::from(ENGINE_RATE) >= u64::from(self.cfg.max_utterance_ms);
                if open.silent_frames >= Self::ms_to_frames(self.cfg.end_silence_ms) || too_long {
                    self.close(out);
                } else if voiced {
                    let every = self.cfg.partial_every_ms as usize * ENGINE_RATE as usize / 1000;
                    if open.voiced_len >= open.reported_len + every {
                        open.reported_len = open.voiced_len;
                        let window = self.cfg.partial_window_ms as usize * ENGINE_RATE as usize / 1000;
                        let from = open.voiced_len.saturating_sub(window);
                        out.push(Segment::Partial(UtteranceAudio {
                            id: open.id,
                            start_sample: open.start_sample + from as u64,
                            samples: Arc::from(&open.samples[from..open.voiced_len]),
                        }));
                    }
                }
            }
        }
    }

    fn close(&mut self, out: &mut Vec<Segment>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        self.history.clear();
        // Keep a short tail after the last voiced frame: word endings are quiet.
        let tail = (ENGINE_RATE as usize / 1000) * 120;
        open.samples.truncate((open.voiced_len + tail).min(open.samples.len()));
        let speech_ms = open.voiced_frames * 20;
        if speech_ms < self.cfg.min_speech_ms {
            return;
        }
        out.push(Segment::Final(UtteranceAudio {
            id: open.id,
            start_sample: open.start_sample,
            samples: Arc::from(open.samples),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u32, amp: f32) -> Vec<f32> {
        let n = (ENGINE_RATE * ms / 1000) as usize;
        (0..n).map(|i| (i as f32 * 0.07).sin() * amp).collect()
    }

    fn finals(segs: &[Segment]) -> Vec<(u64, u64)> {
        segs.iter()
            .filter_map(|s| match s {
                Segment::Final(u) => Some((u.start_ms(), u.end_ms())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn cuts_two_utterances_separated_by_silence() {
        let mut seg = Segmenter::new(VadConfig::default(), 0, 1);
        let mut audio = tone(500, 0.0);
        audio.extend(tone(1500, 0.3));
        audio.extend(tone(800, 0.0));
        audio.extend(tone(1000, 0.3));
        audio.extend(tone(800, 0.0));
        let segs = seg.push(&audio);
        let f = finals(&segs);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].0 >= 250 && f[0].0 <= 500, "{f:?}");
        assert!(f[0].1 >= 2000 && f[0].1 <= 2200, "{f:?}");
        assert!(f[1].0 >= 2550 && f[1].0 <= 2800, "{f:?}");
        assert!(segs.iter().any(|s| matches!(s, Segment::Partial(_))));
    }

    #[test]
    fn ignores_clicks_and_steady_noise() {
        let mut seg = Segmenter::new(VadConfig::default(), 0, 1);
        let mut audio: Vec<f32> = (0..48_000).map(|i| ((i * 7919 % 200) as f32 / 200.0 - 0.5) * 0.01).collect();
        audio.extend(tone(100, 0.5));
        audio.extend(tone(1000, 0.0));
        let segs = seg.push(&audio);
        assert!(finals(&segs).is_empty(), "{:?}", finals(&segs));
    }

    #[test]
    fn forces_a_cut_in_a_monologue_and_flushes_at_the_end() {
        let cfg = VadConfig { max_utterance_ms: 3000, ..VadConfig::default() };
        let mut seg = Segmenter::new(cfg, 0, 1);
        let mut segs = seg.push(&tone(5000, 0.3));
        segs.extend(seg.finish());
        assert_eq!(finals(&segs).len(), 2, "{:?}", finals(&segs));
    }
}
