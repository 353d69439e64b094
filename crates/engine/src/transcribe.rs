//! Speech to text with whisper.cpp (through whisper-rs), sized for short utterances.

use crate::audio::ENGINE_RATE;
use crate::models::validate_ggml;
use std::path::{Path, PathBuf};
use std::sync::Once;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    #[error("whisper could not load model {path}: {reason}; reinstall it with `cuecard models install`")]
    Load { path: PathBuf, reason: String },
    #[error("speech recognition failed: {0}")]
    Run(String),
}

#[derive(Debug, Clone)]
pub struct TranscriberConfig {
    pub threads: usize,
    /// Words whisper should expect (competitor names, product terms).
    pub initial_prompt: Option<String>,
}

impl Default for TranscriberConfig {
    fn default() -> Self {
        TranscriberConfig {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            initial_prompt: None,
        }
    }
}

pub struct Transcriber {
    // Field order matters: the state must drop before the context it came from.
    state: WhisperState,
    _ctx: WhisperContext,
    cfg: TranscriberConfig,
    model_name: String,
}

/// whisper.cpp refuses clips under one second; pad to a little over that.
const MIN_SAMPLES: usize = ENGINE_RATE as usize * 11 / 10;
/// Encoder frames per second of audio (1500 frames = 30 s).
const CTX_PER_SECOND: usize = 50;
/// Headroom so words at the very end are still encoded.
const CTX_MARGIN: usize = 64;
/// Fast speech is about 4.5 tokens a second.
const MAX_TOKENS_PER_SECOND: f32 = 6.0;

fn route_whisper_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

impl Transcriber {
    pub fn load(model: &Path, cfg: TranscriberConfig) -> Result<Self, TranscribeError> {
        // Check the file ourselves first: whisper.cpp may crash on a damaged one.
        validate_ggml(model)?;
        route_whisper_logs();
        let load_err = |reason: String| TranscribeError::Load { path: model.to_owned(), reason };
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let ctx = WhisperContext::new_with_params(model, params).map_err(|e| load_err(e.to_string()))?;
        let state = ctx.create_state().map_err(|e| load_err(e.to_string()))?;
        let model_name =
            model.file_name().map_or_else(|| model.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(Transcriber { state, _ctx: ctx, cfg, model_name })
    }

    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// Transcribes one utterance (16 kHz mono). Returns cleaned text, possibly empty.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<String, TranscribeError> {
        let mut padded;
        let audio = if samples.len() < MIN_SAMPLES {
            padded = samples.to_vec();
            padded.resize(MIN_SAMPLES, 0.0);
            &padded[..]
        } else {
            samples
        };
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.cfg.threads as i32);
        params.set_language(Some("en"));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_no_timestamps(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        // Temperature fallback re-decodes up to 5 times on hard audio: too slow for live.
        params.set_temperature_inc(0.0);
        // A short clip does not pay for a 30 s encoder window.
        let secs = audio.len() as f32 / ENGINE_RATE as f32;
        let ctx = ((secs * CTX_PER_SECOND as f32).ceil() as usize + CTX_MARGIN).min(1500);
        params.set_audio_ctx(ctx as i32);
        // A cut-down window sometimes loops ("no budget. no budget. ..."): bound the
        // decode by what a fast talker could say, which also bounds its cost.
        params.set_max_tokens((secs * MAX_TOKENS_PER_SECOND).ceil() as i32 + 10);
        if let Some(prompt) = &self.cfg.initial_prompt {
            params.set_initial_prompt(prompt);
        }
        self.state.full(params, audio).map_err(|e| TranscribeError::Run(e.to_string()))?;
        let mut text = String::new();
        for segment in self.state.as_iter() {
            if let Ok(s) = segment.to_str_lossy() {
                text.push_str(&s);
            }
        }
        Ok(clean(&text))
    }
}

/// Drops whisper's non-speech markers ("[BLANK_AUDIO]", "(music)") and extra spaces.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut depth, mut in_stars) = (0usize, false);
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            '*' => in_stars = !in_stars,
            _ if depth == 0 && !in_stars => out.push(c),
            _ => {}
        }
    }
    collapse_repeats(out.split_whitespace().collect()).join(" ")
}

/// Removes immediate repeats of a run of 3+ words, whisper's typical loop, including a
/// loop cut short at the end ("no budget this year. no budget"), and a pair of words
/// said three times or more.
fn collapse_repeats(mut words: Vec<&str>) -> Vec<&str> {
    let norm = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    collapse_pair_loops(&mut words, norm);
    let len = words.len();
    'tail: for k in 4..len.saturating_sub(2) {
        for i in 0..k.saturating_sub(3) {
            let tail = len - k;
            if tail <= k - i && (0..tail).all(|m| norm(words[k + m]) == norm(words[i + m])) {
                words.truncate(k);
                break 'tail;
            }
        }
    }
    let mut n = (words.len() / 2).min(16);
    while n >= 3 {
        let mut i = 0;
        let mut changed = false;
        while i + 2 * n <= words.len() {
            if (0..n).all(|k| norm(words[i + k]) == norm(words[i + n + k])) {
                words.drain(i + n..i + 2 * n);
                changed = true;
            } else {
                i += 1;
            }
        }
        if !changed {
            n -= 1;
        }
    }
    words
}

/// Two words said twice is a stutter ("I mean, I mean"); three times or more is the same
/// loop on a short window ("It might... It might... It might...").
fn collapse_pair_loops(words: &mut Vec<&str>, norm: impl Fn(&str) -> String) {
    let mut i = 0;
    while i + 6 <= words.len() {
        let same_pair = |j: usize| norm(words[j]) == norm(words[i]) && norm(words[j + 1]) == norm(words[i + 1]);
        let mut reps = 1;
        while i + 2 * (reps + 1) <= words.len() && same_pair(i + 2 * reps) {
            reps += 1;
        }
        if reps >= 3 {
            words.drain(i + 2..i + 2 * reps);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn removes_non_speech_markers() {
        assert_eq!(clean(" [BLANK_AUDIO]"), "");
        assert_eq!(clean(" (upbeat music) We use Gong."), "We use Gong.");
        assert_eq!(clean(" *sigh*  that's  too much"), "that's too much");
    }

    #[test]
    fn collapses_whisper_repetition_loops() {
        assert_eq!(clean("We have no budget. We have no budget. We have no budget. We have"), "We have no budget.");
        assert_eq!(clean("no budget for new tools this year. no budget for new"), "no budget for new tools this year.");
        assert_eq!(clean("we use it and we use it daily"), "we use it and we use it daily");
        assert_eq!(clean("no no no, not now"), "no no no, not now");
        assert_eq!(clean("I mean, I mean, I mean,"), "I mean,");
        assert_eq!(clean("It might... It might... It might... It might..."), "It might...");
        assert_eq!(clean("well I mean, I mean it's fine"), "well I mean, I mean it's fine");
    }
}
