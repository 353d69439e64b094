//! Speaker bleed: when the rep uses speakers instead of a headset, the microphone also
//! hears the prospect. Such mic speech repeats what the loopback channel said at the
//! same time; it must not count as the rep talking (or show as rep transcript).
//!
//! The test is on words, after recognition: a rep utterance is an echo when most of its
//! words appear in a prospect transcript that overlaps it in time. Acoustic echo
//! cancellation would be stronger but needs the two clocks aligned to the sample; this
//! is robust to the delay and level changes a room adds.

use std::collections::{HashSet, VecDeque};

/// How far apart in time the two utterances may be and still be the same speech.
const SLACK_MS: u64 = 1_500;
/// Share of the rep's words that must appear in the prospect's transcript.
const CONTAINMENT: f32 = 0.6;
/// Utterances shorter than this (in words) are too short to judge.
const MIN_WORDS: usize = 3;
const KEEP: usize = 24;

struct Heard {
    start_ms: u64,
    end_ms: u64,
    words: HashSet<String>,
}

#[derive(Default)]
pub struct EchoGuard {
    recent: VecDeque<Heard>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl EchoGuard {
    /// Remembers what the prospect said (partials too: they arrive first).
    pub fn heard_prospect(&mut self, start_ms: u64, end_ms: u64, text: &str) {
        if self.recent.len() == KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(Heard { start_ms, end_ms, words: words(text).into_iter().collect() });
    }

    /// Whether rep speech at this time with this text repeats the prospect.
    pub fn is_echo(&self, start_ms: u64, end_ms: u64, text: &str) -> bool {
        let rep = words(text);
        if rep.len() < MIN_WORDS {
            // Short bleed ("yeah", "okay") is judged by the longer utterance around it.
            return self
                .recent
                .iter()
                .any(|h| overlaps(h, start_ms, end_ms) && rep.iter().all(|w| h.words.contains(w)) && !rep.is_empty());
        }
        self.recent.iter().filter(|h| overlaps(h, start_ms, end_ms)).any(|h| {
            let shared = rep.iter().filter(|w| h.words.contains(*w)).count();
            shared as f32 / rep.len() as f32 >= CONTAINMENT
        })
    }
}

fn overlaps(h: &Heard, start_ms: u64, end_ms: u64) -> bool {
    start_ms < h.end_ms + SLACK_MS && h.start_ms < end_ms + SLACK_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bleed_of_the_prospect_is_an_echo() {
        let mut g = EchoGuard::default();
        g.heard_prospect(1_000, 4_000, "Honestly that's way over our budget for this year.");
        assert!(g.is_echo(1_200, 4_100, "that's way over our budget for this"));
    }

    #[test]
    fn the_rep_answering_is_not_an_echo() {
        let mut g = EchoGuard::default();
        g.heard_prospect(1_000, 4_000, "Honestly that's way over our budget for this year.");
        assert!(!g.is_echo(4_500, 8_000, "I hear you, what budget would you compare it with?"));
    }

    #[test]
    fn same_words_at_another_time_are_not_an_echo() {
        let mut g = EchoGuard::default();
        g.heard_prospect(1_000, 4_000, "we are locked in with gong until march");
        assert!(!g.is_echo(30_000, 33_000, "so you are locked in with gong until march"));
    }

    #[test]
    fn short_words_need_a_full_match() {
        let mut g = EchoGuard::default();
        g.heard_prospect(1_000, 4_000, "yeah okay send it over");
        assert!(g.is_echo(1_500, 2_000, "yeah okay"));
        assert!(!g.is_echo(1_500, 2_000, "sure thing"));
    }
}
