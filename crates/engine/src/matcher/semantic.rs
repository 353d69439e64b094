//! Meaning-based matching: sentence embeddings of each utterance span against every
//! trigger and must-not-fire phrasing, optionally fused with the lexical score.

use super::lexical::LexicalMatcher;
use super::rules::{is_question, negated, reassurance, QUESTION_FACTOR};
use super::text::{windows, Analyzer};
use super::{best_first, Candidate, MatchError, Matcher};
use crate::embed::Embedder;
use crate::store::{PhrasingKind, Store};
use std::collections::HashMap;

/// How the semantic score is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    /// Embedding similarity alone.
    Semantic,
    /// Embedding similarity fused with the lexical (bm25-retrieved) score.
    Hybrid,
}

/// Calibrated on our own labelled set (tests/fixtures/utterances.jsonl), not the dev set.
pub const SEMANTIC_THRESHOLD: f32 = 0.56;
pub const HYBRID_THRESHOLD: f32 = 0.50;
/// Weight of the lexical score in the hybrid.
const LEXICAL_WEIGHT: f32 = 0.3;
/// A span must be this much closer to a trigger than to any must-not-fire phrasing.
const NEGATIVE_MARGIN: f32 = 0.0;
const EMBED_BATCH: usize = 64;
/// Share of the runner-up objection of the same category added to a candidate's score.
const CATEGORY_POOL: f32 = 0.15;

struct Vector {
    objection: usize,
    negative: bool,
    text: String,
    v: Vec<f32>,
}

struct Meta {
    id: String,
    category: String,
    title: String,
}

pub struct SemanticMatcher {
    lexical: LexicalMatcher,
    embedder: Embedder,
    analyzer: Analyzer,
    vectors: Vec<Vector>,
    objections: Vec<Meta>,
    fusion: Fusion,
    threshold: f32,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Makes sure every library phrasing has a vector for this model, embedding only the
/// ones not cached yet. Returns how many were embedded.
pub fn ensure_vectors(store: &mut Store, embedder: &Embedder) -> Result<usize, MatchError> {
    let model = embedder.model_id().to_owned();
    let cached = store.cached_vectors(&model)?;
    let mut missing: Vec<String> = store
        .phrasings()?
        .into_iter()
        .filter(|p| p.kind != PhrasingKind::Cue && !cached.contains_key(&p.text))
        .map(|p| p.text)
        .collect();
    missing.sort();
    missing.dedup();
    let mut fresh = Vec::with_capacity(missing.len());
    for chunk in missing.chunks(EMBED_BATCH) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let vs = embedder.embed_batch(&refs)?;
        fresh.extend(chunk.iter().cloned().zip(vs));
    }
    store.put_vectors(&model, &fresh)?;
    Ok(fresh.len())
}

impl SemanticMatcher {
    pub fn new(mut store: Store, embedder: Embedder, fusion: Fusion) -> Result<Self, MatchError> {
        let embedded = ensure_vectors(&mut store, &embedder)?;
        if embedded > 0 {
            tracing::info!(embedded, "embedded new library phrasings");
        }
        let lib = store.library()?;
        let index: HashMap<&str, usize> = lib.objections.iter().enumerate().map(|(i, o)| (o.id.as_str(), i)).collect();
        let cached = store.cached_vectors(embedder.model_id())?;
        let vectors = store
            .phrasings()?
            .into_iter()
            .filter(|p| p.kind != PhrasingKind::Cue)
            .filter_map(|p| {
                let negative = p.kind == PhrasingKind::Negative;
                let objection = match index.get(p.objection_id.as_str()) {
                    Some(&i) => i,
                    None if negative => usize::MAX,
                    None => return None,
                };
                let v = cached.get(&p.text)?.clone();
                Some(Vector { objection, negative: p.kind == PhrasingKind::Negative, text: p.text, v })
            })
            .collect();
        let objections = lib
            .objections
            .iter()
            .map(|o| Meta { id: o.id.clone(), category: o.category.clone(), title: o.title.clone() })
            .collect();
        let threshold = match fusion {
            Fusion::Semantic => SEMANTIC_THRESHOLD,
            Fusion::Hybrid => HYBRID_THRESHOLD,
        };
        Ok(SemanticMatcher {
            lexical: LexicalMatcher::new(store)?,
            embedder,
            analyzer: Analyzer::default(),
            vectors,
            objections,
            fusion,
            threshold,
        })
    }

    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }
}

impl Matcher for SemanticMatcher {
    fn name(&self) -> &'static str {
        match self.fusion {
            Fusion::Semantic => "semantic",
            Fusion::Hybrid => "hybrid",
        }
    }

    fn threshold(&self) -> f32 {
        self.threshold
    }

    fn rank(&mut self, text: &str, limit: usize) -> Result<Vec<Candidate>, MatchError> {
        let tokens = self.analyzer.tokens(text);
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let full = 0..tokens.len();
        let spans: Vec<_> = windows(&tokens)
            .into_iter()
            .filter(|r| *r == full || tokens[r.clone()].iter().filter(|t| t.stem.is_some()).count() >= 2)
            .collect();
        let span_texts: Vec<String> = spans
            .iter()
            .map(|r| tokens[r.clone()].iter().map(|t| t.word.as_str()).collect::<Vec<_>>().join(" "))
            .collect();
        let refs: Vec<&str> = span_texts.iter().map(String::as_str).collect();
        let embedded = self.embedder.embed_batch(&refs)?;

        // Best trigger per objection over all spans; best must-not-fire per span.
        let mut best: HashMap<usize, (f32, usize, usize)> = HashMap::new();
        let mut negative: Vec<(f32, usize)> = vec![(0.0, usize::MAX); spans.len()];
        for (vi, vec) in self.vectors.iter().enumerate() {
            for (si, e) in embedded.iter().enumerate() {
                let sim = dot(&vec.v, e);
                if vec.negative {
                    if sim > negative[si].0 {
                        negative[si] = (sim, vi);
                    }
                } else {
                    let slot = best.entry(vec.objection).or_insert((f32::MIN, vi, si));
                    if sim > slot.0 {
                        *slot = (sim, vi, si);
                    }
                }
            }
        }
        let lexical: HashMap<String, Candidate> = match self.fusion {
            Fusion::Hybrid => self.lexical.rank(text, 64)?.into_iter().map(|c| (c.objection_id.clone(), c)).collect(),
            Fusion::Semantic => HashMap::new(),
        };
        let question = is_question(text, &tokens);
        let mut out: Vec<Candidate> = best
            .into_iter()
            .map(|(oi, (sim, vi, si))| {
                let meta = &self.objections[oi];
                let lex = lexical.get(&meta.id);
                let lex_score = lex.map_or(0.0, |c| c.score);
                let mut score = match self.fusion {
                    Fusion::Semantic => sim,
                    Fusion::Hybrid => (1.0 - LEXICAL_WEIGHT) * sim + LEXICAL_WEIGHT * lex_score,
                };
                if question && !negated(&tokens[spans[si].clone()]) {
                    score *= QUESTION_FACTOR;
                }
                let mut suppressed = reassurance(&span_texts[si]).map(|r| format!("reassurance: \"{r}\""));
                let (neg, nvi) = negative[si];
                if suppressed.is_none() && nvi != usize::MAX && neg + NEGATIVE_MARGIN >= sim {
                    suppressed =
                        Some(format!("closer to must-not-fire \"{}\" ({neg:.2} vs {sim:.2})", self.vectors[nvi].text));
                }
                Candidate {
                    objection_id: meta.id.clone(),
                    category: meta.category.clone(),
                    title: meta.title.clone(),
                    score: score.clamp(0.0, 1.0),
                    phrase: self.vectors[vi].text.clone(),
                    span: span_texts[si].clone(),
                    bm25: lex.map_or(0.0, |c| c.bm25),
                    semantic: Some(sim),
                    lexical: Some(lex_score),
                    suppressed,
                }
            })
            .collect();
        // Several objections of one category agreeing is stronger evidence than one.
        let mut by_category: HashMap<String, Vec<f32>> = HashMap::new();
        for c in out.iter().filter(|c| c.suppressed.is_none()) {
            by_category.entry(c.category.clone()).or_default().push(c.score);
        }
        for c in out.iter_mut().filter(|c| c.suppressed.is_none()) {
            let others = &by_category[&c.category];
            let second = others.iter().copied().filter(|s| *s < c.score).fold(0.0f32, f32::max);
            c.score = (c.score + CATEGORY_POOL * second).min(1.0);
        }
        Ok(best_first(out, limit))
    }
}
