//! Objection detection: from an utterance's text to ranked objections, with reasons.
//!
//! Matchers sit behind [`Matcher`] so a lexical and a semantic one can be compared on
//! the same evaluation set.

mod classifier;
mod lexical;
mod rules;
mod semantic;
mod text;
mod vector_index;

pub use lexical::LexicalMatcher;
pub use semantic::{ensure_vectors, Explain, Fusion, RankTiming, SemanticMatcher};
pub use text::Analyzer;

use serde::Serialize;

/// One objection that could fire for an utterance, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub objection_id: String,
    pub category: String,
    pub title: String,
    /// Calibrated confidence, comparable with [`Matcher::threshold`].
    pub score: f32,
    /// The library phrasing that matched best.
    pub phrase: String,
    /// The part of the utterance that matched it.
    pub span: String,
    /// BM25 of the matched phrasing for the utterance's words (larger is better): FTS5's
    /// for the bm25 matcher, the same formula over stems for a phrasing found by meaning.
    pub bm25: f32,
    /// Embedding similarity of span and phrasing (semantic and hybrid matchers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic: Option<f32>,
    /// Lexical similarity (IDF-weighted stems) of span and phrasing: the bm25 matcher's
    /// score, shown beside the embedding's for the hybrid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical: Option<f32>,
    /// Set when a rule or a must-not-fire phrasing vetoed this candidate.
    pub suppressed: Option<String>,
}

impl Candidate {
    pub fn fires(&self, threshold: f32) -> bool {
        self.suppressed.is_none() && self.score >= threshold
    }

    /// One line for the card: what matched and how strongly.
    pub fn why(&self) -> String {
        let mut parts = vec![format!("score {:.2}", self.score)];
        if let Some(s) = self.semantic {
            parts.push(format!("semantic {s:.2}"));
        }
        if let Some(l) = self.lexical {
            parts.push(format!("lexical {l:.2}"));
        }
        parts.push(format!("bm25 {:.1}", self.bm25));
        format!("\"{}\" ≈ \"{}\" ({})", self.span, self.phrase, parts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the objection library is empty: import one with `cuecard library import DIR`")]
    EmptyLibrary,
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
}

/// Orders candidates as every matcher returns them: vetoed ones last, then by score; then
/// caps scores at 1. Ranked before the cap: bonuses (a cue, a same-category runner-up)
/// often lift strong matches past 1, and capped first they would tie, leaving the top
/// objection to the order they were found in.
fn best_first(mut out: Vec<Candidate>, limit: usize) -> Vec<Candidate> {
    out.sort_by(|a, b| {
        (a.suppressed.is_some(), -a.score)
            .partial_cmp(&(b.suppressed.is_some(), -b.score))
            .unwrap_or(std::cmp::Ordering::Equal)
            // Equal scores in a fixed order, whatever order the matcher found them in.
            .then_with(|| a.objection_id.cmp(&b.objection_id))
    });
    out.truncate(limit);
    out.iter_mut().for_each(|c| c.score = c.score.min(1.0));
    out
}

pub trait Matcher: Send {
    fn name(&self) -> &'static str;
    /// The sentence encoder's model id, for matchers that embed text.
    fn encoder(&self) -> Option<&str> {
        None
    }
    /// Scores at or above this fire a card.
    fn threshold(&self) -> f32;
    /// Candidates for one prospect utterance, best first, at most one per objection. A
    /// matcher may explain a top candidate that does not reach the threshold more coarsely,
    /// since no card shows it: the hybrid one then names the whole turn rather than the
    /// clause, and so the phrasing (and the objection of its category) nearest the whole
    /// turn. Scores and categories are the same either way.
    fn rank(&mut self, text: &str, limit: usize) -> Result<Vec<Candidate>, MatchError>;

    /// [`Matcher::rank`], with the top candidate explained as a card would be even when it
    /// does not fire: for someone asking why a sentence does or does not (`library search`).
    fn rank_explained(&mut self, text: &str, limit: usize) -> Result<Vec<Candidate>, MatchError> {
        self.rank(text, limit)
    }

    /// The objection that should fire, if any.
    fn best(&mut self, text: &str) -> Result<Option<Candidate>, MatchError> {
        let t = self.threshold();
        Ok(self.rank(text, 5)?.into_iter().next().filter(|c| c.fires(t)))
    }
}
