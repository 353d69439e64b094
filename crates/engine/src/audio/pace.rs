//! Replays a source at call speed, so a replay behaves like a live call.

use super::{AudioChunk, AudioError, AudioSource};
use crate::events::Speaker;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// A chunk is released when its last sample would have been heard.
    #[default]
    Realtime,
    /// As fast as the machine allows.
    Fast,
}

pub struct Paced<S> {
    inner: S,
    pace: Pace,
    started: Option<Instant>,
    frames_released: u64,
}

impl<S: AudioSource> Paced<S> {
    pub fn new(inner: S, pace: Pace) -> Self {
        Paced { inner, pace, started: None, frames_released: 0 }
    }
}

impl<S: AudioSource> AudioSource for Paced<S> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn speakers(&self) -> &[Speaker] {
        self.inner.speakers()
    }

    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, AudioError> {
        let started = *self.started.get_or_insert_with(Instant::now);
        let chunk = self.inner.next_chunk()?;
        if let (Pace::Realtime, Some(chunk)) = (self.pace, &chunk) {
            self.frames_released += chunk.frames() as u64;
            let due = Duration::from_secs_f64(self.frames_released as f64 / f64::from(self.inner.sample_rate()));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        Ok(chunk)
    }
}
