//! The bounded hand-off between voice activity (fast) and speech recognition (slow).
//!
//! Finals are precious and queue up to a small bound (then the feeder waits, which for
//! a live source means its ring buffer drops audio, loudly). Partials are disposable:
//! each channel keeps only its newest one, so when whisper falls behind, partial
//! transcripts get coarser instead of memory growing.

use crate::events::Speaker;
use crate::vad::UtteranceAudio;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

#[derive(Debug, Clone)]
pub struct Job {
    pub speaker: Speaker,
    pub audio: UtteranceAudio,
    pub is_final: bool,
}

struct Board {
    finals: VecDeque<Job>,
    partials: Vec<Option<Job>>,
    closed: bool,
    skipped: u64,
    /// A popped job is still being transcribed.
    in_flight: bool,
    rep_finals_dropped: u64,
}

pub struct AsrQueue {
    board: Mutex<Board>,
    changed: Condvar,
    max_finals: usize,
}

pub enum Pushed {
    Queued,
    /// A newer partial replaced one whisper had not reached yet.
    ReplacedStale {
        skipped_total: u64,
    },
    /// Recognition is behind: a queued final of the rep was dropped to make room.
    DroppedRepFinal {
        dropped_total: u64,
    },
}

impl AsrQueue {
    pub fn new(channels: usize, max_finals: usize) -> Self {
        AsrQueue {
            board: Mutex::new(Board {
                finals: VecDeque::new(),
                partials: vec![None; channels],
                closed: false,
                skipped: 0,
                in_flight: false,
                rep_finals_dropped: 0,
            }),
            changed: Condvar::new(),
            max_finals: max_finals.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        // A panic elsewhere must not take the queue down with it.
        self.board.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, channel: usize, job: Job) -> Pushed {
        let mut b = self.lock();
        if job.is_final {
            // The partial of the same utterance is now pointless.
            if b.partials[channel].as_ref().is_some_and(|p| p.audio.id == job.audio.id) {
                b.partials[channel] = None;
            }
            let mut dropped = false;
            while b.finals.len() >= self.max_finals && !b.closed {
                // Behind: the rep's own words never fire cards, so their transcript goes
                // first; with only prospect speech queued, the audio side waits.
                if let Some(i) = b.finals.iter().position(|j| !j.speaker.fires_cards()) {
                    b.finals.remove(i);
                    b.rep_finals_dropped += 1;
                    dropped = true;
                } else {
                    b = self.changed.wait(b).unwrap_or_else(|p| p.into_inner());
                }
            }
            b.finals.push_back(job);
            self.changed.notify_all();
            return if dropped {
                Pushed::DroppedRepFinal { dropped_total: b.rep_finals_dropped }
            } else {
                Pushed::Queued
            };
        }
        let replaced = b.partials[channel].replace(job).is_some();
        self.changed.notify_all();
        if replaced {
            b.skipped += 1;
            Pushed::ReplacedStale { skipped_total: b.skipped }
        } else {
            Pushed::Queued
        }
    }

    /// Next job: finals first (oldest first), then the newest partial of a speaker
    /// whose words can fire cards, then the rest. `None` once closed and drained.
    pub fn pop(&self) -> Option<Job> {
        let mut b = self.lock();
        loop {
            // Prospect finals first: they are what cards wait for.
            let next = b.finals.iter().position(|j| j.speaker.fires_cards()).unwrap_or(0);
            if let Some(job) = b.finals.remove(next) {
                b.in_flight = true;
                self.changed.notify_all();
                return Some(job);
            }
            let pick = (0..b.partials.len())
                .filter(|&i| b.partials[i].is_some())
                .max_by_key(|&i| b.partials[i].as_ref().is_some_and(|j| j.speaker.fires_cards()));
            if let Some(i) = pick {
                b.in_flight = true;
                return b.partials[i].take();
            }
            if b.closed {
                return None;
            }
            b = self.changed.wait(b).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The worker finished the job it popped last.
    pub fn done(&self) {
        self.lock().in_flight = false;
        self.changed.notify_all();
    }

    /// Blocks until every queued job has been transcribed (lock-step replays).
    pub fn wait_idle(&self) {
        let mut b = self.lock();
        while !b.closed && (b.in_flight || !b.finals.is_empty() || b.partials.iter().any(Option::is_some)) {
            b = self.changed.wait(b).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub fn skipped(&self) -> u64 {
        self.lock().skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn job(id: u64, speaker: Speaker, is_final: bool) -> Job {
        Job { speaker, audio: UtteranceAudio { id, start_sample: 0, samples: Arc::from(vec![0.0; 10]) }, is_final }
    }

    #[test]
    fn finals_first_then_prospect_partials_and_stale_partials_are_replaced() {
        let q = AsrQueue::new(2, 4);
        q.push(0, job(1, Speaker::Rep, false));
        q.push(1, job(2, Speaker::Prospect, false));
        assert!(matches!(q.push(1, job(2, Speaker::Prospect, false)), Pushed::ReplacedStale { skipped_total: 1 }));
        q.push(0, job(3, Speaker::Rep, true));
        assert_eq!(q.pop().unwrap().audio.id, 3);
        let next = q.pop().unwrap();
        assert_eq!((next.audio.id, next.speaker), (2, Speaker::Prospect));
        assert_eq!(q.pop().unwrap().audio.id, 1);
        q.close();
        assert!(q.pop().is_none());
    }

    #[test]
    fn prospect_finals_jump_the_queue_and_rep_finals_give_way_when_full() {
        let q = AsrQueue::new(2, 2);
        q.push(0, job(1, Speaker::Rep, true));
        q.push(0, job(2, Speaker::Rep, true));
        assert!(matches!(q.push(1, job(3, Speaker::Prospect, true)), Pushed::DroppedRepFinal { dropped_total: 1 }));
        assert_eq!(q.pop().unwrap().audio.id, 3);
        assert_eq!(q.pop().unwrap().audio.id, 2);
    }

    #[test]
    fn a_final_drops_the_pending_partial_of_its_utterance() {
        let q = AsrQueue::new(1, 4);
        q.push(0, job(7, Speaker::Prospect, false));
        q.push(0, job(7, Speaker::Prospect, true));
        q.close();
        assert!(q.pop().unwrap().is_final);
        assert!(q.pop().is_none());
    }
}
