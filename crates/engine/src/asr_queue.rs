//! The bounded hand-off between voice activity (fast) and speech recognition (slow).
//!
//! Finals are precious and queue up to a bound in seconds of audio; past it the rep's
//! oldest go first (with a warning), and with only the prospect's queued the feeder
//! waits, which for a live source means its ring buffer drops audio, loudly. Partials
//! are disposable: each channel keeps only its newest one, so when whisper falls
//! behind, partial transcripts get coarser instead of memory growing.
//!
//! Order: the prospect's finals, then the prospect's newest partial (early cards), then
//! the rep's finals, then the rep's partial. Under load the rep's transcript comes late
//! rather than the prospect's cards.
//!
//! A rep final that ended while the prospect was still talking waits for that prospect
//! utterance to close: whether the rep's words are bleed of the call audio can only be
//! judged once the prospect's side of the same moment has been transcribed.

use crate::events::Speaker;
use crate::vad::UtteranceAudio;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

#[derive(Debug, Clone)]
pub struct Job {
    pub speaker: Speaker,
    pub audio: UtteranceAudio,
    pub is_final: bool,
    /// An utterance still open on another channel when this one ended; this job waits
    /// until that one has closed (and its final, if any, has gone first).
    pub after_utterance: Option<u64>,
}

struct Board {
    finals: VecDeque<Job>,
    partials: Vec<Option<Job>>,
    closed: bool,
    skipped: u64,
    /// A popped job is still being transcribed.
    in_flight: bool,
    rep_finals_dropped: u64,
    /// The utterance each channel's voice activity has open right now.
    open: Vec<Option<u64>>,
}

impl Board {
    fn waiting(&self, job: &Job) -> bool {
        !self.closed && job.after_utterance.is_some_and(|id| self.open.contains(&Some(id)))
    }

    /// The oldest final of a speaker whose words can (or cannot) fire cards, and that
    /// is not waiting on another channel.
    fn next_final(&self, fires_cards: bool) -> Option<usize> {
        self.finals.iter().position(|j| j.speaker.fires_cards() == fires_cards && !self.waiting(j))
    }

    fn next_partial(&self, fires_cards: bool) -> Option<usize> {
        self.partials.iter().position(|p| p.as_ref().is_some_and(|j| j.speaker.fires_cards() == fires_cards))
    }

    fn queued_samples(&self) -> usize {
        self.finals.iter().map(|j| j.audio.samples.len()).sum()
    }

    /// Whether anything can be transcribed right now.
    fn has_ready_work(&self) -> bool {
        [true, false].iter().any(|&f| self.next_final(f).is_some() || self.next_partial(f).is_some())
    }
}

pub struct AsrQueue {
    board: Mutex<Board>,
    changed: Condvar,
    max_final_samples: usize,
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
    /// `max_final_samples`: how much final audio may wait for recognition.
    pub fn new(channels: usize, max_final_samples: usize) -> Self {
        AsrQueue {
            board: Mutex::new(Board {
                finals: VecDeque::new(),
                partials: vec![None; channels],
                closed: false,
                skipped: 0,
                in_flight: false,
                rep_finals_dropped: 0,
                open: vec![None; channels],
            }),
            changed: Condvar::new(),
            max_final_samples,
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
            // One utterance longer than the whole bound still gets in on its own.
            while !b.finals.is_empty()
                && b.queued_samples() + job.audio.samples.len() > self.max_final_samples
                && !b.closed
            {
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

    /// Next job, in the order the module describes. `None` once closed and drained.
    pub fn pop(&self) -> Option<Job> {
        let mut b = self.lock();
        loop {
            for fires_cards in [true, false] {
                if let Some(job) = b.next_final(fires_cards).and_then(|i| b.finals.remove(i)) {
                    b.in_flight = true;
                    self.changed.notify_all();
                    return Some(job);
                }
                if let Some(job) = b.next_partial(fires_cards).and_then(|i| b.partials[i].take()) {
                    b.in_flight = true;
                    return Some(job);
                }
            }
            if b.closed {
                return None;
            }
            b = self.changed.wait(b).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// What `channel`'s voice activity has open now (after its segments were pushed).
    pub fn set_open(&self, channel: usize, utterance: Option<u64>) {
        let mut b = self.lock();
        if b.open[channel] != utterance {
            b.open[channel] = utterance;
            self.changed.notify_all();
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
        // A final waiting on an open utterance waits for more audio, which is the caller's.
        while !b.closed && (b.in_flight || b.has_ready_work()) {
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
        Job {
            speaker,
            audio: UtteranceAudio { id, start_sample: 0, samples: Arc::from(vec![0.0; 10]) },
            is_final,
            after_utterance: None,
        }
    }

    #[test]
    fn prospect_first_then_rep_and_stale_partials_are_replaced() {
        let q = AsrQueue::new(2, 40);
        q.push(0, job(1, Speaker::Rep, false));
        q.push(1, job(2, Speaker::Prospect, false));
        assert!(matches!(q.push(1, job(2, Speaker::Prospect, false)), Pushed::ReplacedStale { skipped_total: 1 }));
        q.push(0, job(3, Speaker::Rep, true));
        q.push(1, job(5, Speaker::Prospect, true));
        q.close();
        let order: Vec<(u64, bool)> = std::iter::from_fn(|| q.pop().map(|j| (j.audio.id, j.is_final))).collect();
        assert_eq!(order, [(5, true), (2, false), (3, true), (1, false)]);
    }

    #[test]
    fn prospect_finals_jump_the_queue_and_rep_finals_give_way_when_full() {
        // Room for two 10-sample finals.
        let q = AsrQueue::new(2, 20);
        q.push(0, job(1, Speaker::Rep, true));
        q.push(0, job(2, Speaker::Rep, true));
        assert!(matches!(q.push(1, job(3, Speaker::Prospect, true)), Pushed::DroppedRepFinal { dropped_total: 1 }));
        assert_eq!(q.pop().unwrap().audio.id, 3);
        assert_eq!(q.pop().unwrap().audio.id, 2);
    }

    #[test]
    fn a_final_drops_the_pending_partial_of_its_utterance() {
        let q = AsrQueue::new(1, 40);
        q.push(0, job(7, Speaker::Prospect, false));
        q.push(0, job(7, Speaker::Prospect, true));
        q.close();
        assert!(q.pop().unwrap().is_final);
        assert!(q.pop().is_none());
    }

    #[test]
    fn a_rep_final_waits_for_the_prospect_utterance_open_when_it_ended() {
        let q = AsrQueue::new(2, 40);
        q.set_open(1, Some(9));
        q.push(0, Job { after_utterance: Some(9), ..job(4, Speaker::Rep, true) });
        q.push(0, job(6, Speaker::Rep, false));
        // Only the partial is ready; the final waits and does not count as work to wait for.
        assert_eq!(q.pop().unwrap().audio.id, 6);
        q.done();
        q.wait_idle();
        q.push(1, job(9, Speaker::Prospect, true));
        q.set_open(1, None);
        assert_eq!(q.pop().unwrap().audio.id, 9);
        q.done();
        assert_eq!(q.pop().unwrap().audio.id, 4);
        q.done();
        // Closing releases anything still waiting.
        q.set_open(1, Some(11));
        q.push(0, Job { after_utterance: Some(11), ..job(8, Speaker::Rep, true) });
        q.close();
        assert_eq!(q.pop().unwrap().audio.id, 8);
        assert!(q.pop().is_none());
    }
}
