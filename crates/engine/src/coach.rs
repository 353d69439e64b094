//! Deciding when a match becomes a card on the rep's screen: thresholds, one card per
//! objection occurrence, and a cooldown so the same card does not nag.

use crate::events::{CardEvent, CardResponse, Speaker};
use crate::library::Library;
use crate::matcher::Candidate;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct CardPolicy {
    /// The same objection does not fire again within this much call time.
    pub cooldown_ms: u64,
    /// Partials are shakier than finals: they must clear the threshold by this much...
    pub partial_margin: f32,
    /// ...and lead the best other category by this much...
    pub partial_gap: f32,
    /// ...and have at least this many words: "we have no" is not yet an objection, and
    /// a few misheard words often look like one...
    pub partial_min_words: usize,
    /// ...and the utterance's previous partial must have cleared the same bar for the same
    /// category: a card waits until two successive transcripts agree, as streaming ASR
    /// commits only words that two successive hypotheses agree on.
    pub partial_must_repeat: bool,
    /// A second card in one utterance needs another category and this much more speech
    /// since the first: a new clause, not the same words matched twice.
    pub same_utterance_gap_ms: u64,
}

impl Default for CardPolicy {
    fn default() -> Self {
        CardPolicy {
            cooldown_ms: 60_000,
            // Chosen on the six dev calls (fast replay): 0.08 and 4 words gave 18 of 23
            // objections and 18 false cards, these 17 and 10; most false cards were
            // short, misheard partials.
            partial_margin: 0.12,
            partial_gap: 0.05,
            partial_min_words: 6,
            // On the same calls it took false cards from 15 to 8 (caught 20 → 21 of 23),
            // for cards about 0.4 s later in the audio.
            partial_must_repeat: true,
            same_utterance_gap_ms: 3_000,
        }
    }
}

pub struct Coach {
    policy: CardPolicy,
    threshold: f32,
    library: Library,
    last_fired: HashMap<String, u64>,
    /// Per open utterance: categories already shown, and how far the audio was.
    fired_in: HashMap<u64, (HashSet<String>, u64)>,
    /// Per open utterance: the category the previous partial would have shown, if any.
    partial_pick: HashMap<u64, String>,
}

/// Where in the call a match happened.
pub struct MatchContext<'a> {
    pub speaker: Speaker,
    pub utterance_id: u64,
    pub utterance_start_ms: u64,
    pub is_final: bool,
    pub text: &'a str,
    pub audio_ms: u64,
    pub wall_ms: u64,
}

impl Coach {
    pub fn new(policy: CardPolicy, threshold: f32, library: Library) -> Self {
        Coach {
            policy,
            threshold,
            library,
            last_fired: HashMap::new(),
            fired_in: HashMap::new(),
            partial_pick: HashMap::new(),
        }
    }

    /// Turns the ranked candidates of an utterance (best first) into a card, if one
    /// should be shown now.
    pub fn consider(&mut self, ranked: &[Candidate], ctx: &MatchContext<'_>) -> Option<CardEvent> {
        if !ctx.speaker.fires_cards() {
            return None;
        }
        let Some(c) = ranked.first() else {
            self.partial_pick.remove(&ctx.utterance_id);
            return None;
        };
        let needed = if ctx.is_final { self.threshold } else { self.threshold + self.policy.partial_margin };
        let clears_bar = c.fires(needed);
        if !ctx.is_final {
            let previous = if clears_bar {
                self.partial_pick.insert(ctx.utterance_id, c.category.clone())
            } else {
                self.partial_pick.remove(&ctx.utterance_id)
            };
            if self.policy.partial_must_repeat && previous.as_deref() != Some(c.category.as_str()) {
                return None;
            }
            if ctx.text.split_whitespace().count() < self.policy.partial_min_words {
                return None;
            }
            // Mid-sentence, two categories running close means the next words decide:
            // wait for them rather than show the wrong card.
            let rival = ranked.iter().skip(1).find(|r| r.suppressed.is_none() && r.category != c.category);
            if rival.is_some_and(|r| c.score - r.score < self.policy.partial_gap) {
                return None;
            }
        }
        if !clears_bar {
            return None;
        }
        if let Some((categories, at)) = self.fired_in.get(&ctx.utterance_id) {
            if categories.contains(&c.category) || ctx.audio_ms < at + self.policy.same_utterance_gap_ms {
                return None;
            }
        }
        if let Some(&at) = self.last_fired.get(&c.objection_id) {
            if ctx.utterance_start_ms < at + self.policy.cooldown_ms {
                tracing::debug!(objection = %c.objection_id, "within cooldown, not repeating the card");
                return None;
            }
        }
        let objection = self.library.objections.iter().find(|o| o.id == c.objection_id)?;
        self.last_fired.insert(c.objection_id.clone(), ctx.audio_ms);
        let shown = self.fired_in.entry(ctx.utterance_id).or_default();
        shown.0.insert(c.category.clone());
        shown.1 = ctx.audio_ms;
        Some(CardEvent {
            speaker: ctx.speaker,
            category: c.category.clone(),
            objection_id: c.objection_id.clone(),
            title: c.title.clone(),
            score: c.score,
            utterance_id: ctx.utterance_id,
            utterance_start_ms: ctx.utterance_start_ms,
            audio_ms: ctx.audio_ms,
            wall_ms: ctx.wall_ms,
            from_partial: !ctx.is_final,
            text: ctx.text.to_owned(),
            responses: objection
                .responses
                .iter()
                .map(|r| CardResponse { id: r.id.clone(), kind: r.kind.as_str().to_owned(), text: r.text.clone() })
                .collect(),
            why: c.why(),
            matched_phrase: c.phrase.clone(),
        })
    }

    /// Forget per-utterance bookkeeping once an utterance is final and handled.
    pub fn utterance_done(&mut self, utterance_id: u64) {
        self.fired_in.remove(&utterance_id);
        self.partial_pick.remove(&utterance_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib() -> Library {
        crate::library::load_default().unwrap()
    }

    fn cand(id: &str, category: &str, score: f32) -> Candidate {
        Candidate {
            objection_id: id.into(),
            category: category.into(),
            title: id.into(),
            score,
            phrase: "p".into(),
            span: "s".into(),
            bm25: 1.0,
            semantic: None,
            lexical: None,
            suppressed: None,
        }
    }

    fn ctx(speaker: Speaker, utterance_id: u64, start: u64, is_final: bool) -> MatchContext<'static> {
        MatchContext {
            speaker,
            utterance_id,
            utterance_start_ms: start,
            is_final,
            text: "that is way too expensive for us",
            audio_ms: start + 1000,
            wall_ms: 0,
        }
    }

    /// A partial fires only when the one before agreed: send the same one twice.
    fn twice(coach: &mut Coach, ranked: &[Candidate], ctx: &MatchContext<'_>) -> Option<CardEvent> {
        assert!(coach.consider(ranked, ctx).is_none() || ctx.is_final, "a first partial never fires");
        coach.consider(ranked, ctx)
    }

    #[test]
    fn rep_speech_never_fires() {
        let mut coach = Coach::new(CardPolicy::default(), 0.5, lib());
        let ranked = [cand("price-too-expensive", "price", 0.9)];
        assert!(coach.consider(&ranked, &ctx(Speaker::Rep, 1, 0, true)).is_none());
        assert!(coach.consider(&ranked, &ctx(Speaker::Unknown, 1, 0, true)).is_some());
    }

    #[test]
    fn one_card_per_occurrence_and_a_cooldown() {
        let mut coach = Coach::new(CardPolicy::default(), 0.5, lib());
        let ranked = [cand("price-too-expensive", "price", 0.9)];
        let card = twice(&mut coach, &ranked, &ctx(Speaker::Prospect, 1, 0, false)).expect("partial fires");
        assert!(card.from_partial && card.responses.len() >= 2);
        assert!(coach.consider(&ranked, &ctx(Speaker::Prospect, 1, 0, true)).is_none(), "same utterance");
        assert!(coach.consider(&ranked, &ctx(Speaker::Prospect, 2, 20_000, true)).is_none(), "cooldown");
        assert!(coach.consider(&ranked, &ctx(Speaker::Prospect, 3, 90_000, true)).is_some());
    }

    #[test]
    fn a_short_partial_waits_for_more_words() {
        let mut coach = Coach::new(CardPolicy::default(), 0.5, lib());
        let ranked = [cand("not-interested-flat-no", "not-interested", 0.9)];
        let short = MatchContext { text: "we have no", ..ctx(Speaker::Prospect, 1, 0, false) };
        assert!(coach.consider(&ranked, &short).is_none());
        let final_short = MatchContext { text: "not interested", ..ctx(Speaker::Prospect, 1, 0, true) };
        assert!(coach.consider(&ranked, &final_short).is_some(), "a short final may fire");
    }

    #[test]
    fn one_utterance_one_card_per_category_and_new_clauses_only() {
        let mut coach = Coach::new(CardPolicy::default(), 0.5, lib());
        let budget = [cand("budget-none-allocated", "budget", 0.9)];
        let spent = [cand("budget-spent", "budget", 0.9)];
        let price = [cand("price-too-expensive", "price", 0.9)];
        assert!(twice(&mut coach, &budget, &ctx(Speaker::Prospect, 1, 0, false)).is_some());
        assert!(coach.consider(&spent, &ctx(Speaker::Prospect, 1, 0, true)).is_none(), "same category");
        assert!(twice(&mut coach, &price, &ctx(Speaker::Prospect, 1, 500, false)).is_none(), "too soon");
        assert!(coach.consider(&price, &ctx(Speaker::Prospect, 1, 4_000, true)).is_some(), "a later clause");
    }

    #[test]
    fn partials_need_a_margin_and_a_clear_lead() {
        let mut coach = Coach::new(CardPolicy::default(), 0.5, lib());
        let weak = [cand("price-too-expensive", "price", 0.55)];
        assert!(twice(&mut coach, &weak, &ctx(Speaker::Prospect, 1, 0, false)).is_none());
        let close = [cand("price-too-expensive", "price", 0.8), cand("budget-spent", "budget", 0.78)];
        assert!(twice(&mut coach, &close, &ctx(Speaker::Prospect, 2, 0, false)).is_none());
        assert!(coach.consider(&close, &ctx(Speaker::Prospect, 2, 0, true)).is_some(), "a final decides");
        let mut vetoed = cand("price-too-expensive", "price", 0.9);
        vetoed.suppressed = Some("reassurance".into());
        assert!(coach.consider(&[vetoed], &ctx(Speaker::Prospect, 3, 200_000, true)).is_none());
    }

    #[test]
    fn a_partial_card_waits_for_the_next_partial_to_agree() {
        let mut coach = Coach::new(CardPolicy::default(), 0.5, lib());
        let price = [cand("price-too-expensive", "price", 0.9)];
        let budget = [cand("budget-spent", "budget", 0.9)];
        let weak_price = [cand("price-too-expensive", "price", 0.6)];
        let at = |id| ctx(Speaker::Prospect, id, 0, false);
        assert!(coach.consider(&price, &at(1)).is_none(), "nothing to agree with yet");
        assert!(coach.consider(&budget, &at(1)).is_none(), "the category changed");
        assert!(coach.consider(&price, &at(1)).is_none(), "the category changed back");
        assert!(coach.consider(&price, &at(1)).is_some(), "two in a row agree");

        assert!(coach.consider(&weak_price, &at(2)).is_none());
        assert!(coach.consider(&budget, &at(2)).is_none(), "the previous partial was below the bar");
        coach.utterance_done(2);
        assert!(coach.consider(&budget, &at(2)).is_none(), "a new utterance starts afresh");
        assert!(coach.consider(&budget, &at(3)).is_none(), "each utterance has its own history");

        let final_once = ctx(Speaker::Prospect, 4, 200_000, true);
        assert!(coach.consider(&budget, &final_once).is_some(), "a final needs no agreement");
    }
}
