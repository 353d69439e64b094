//! Meaning-based matching. The semantic matcher compares sentence embeddings of each
//! utterance span with every trigger and must-not-fire phrasing; the hybrid one lets a
//! classifier over the embedding, word and character n-grams and nearest phrasings decide,
//! and explains its card with the nearest trigger phrasing and its lexical scores.

use super::classifier::{self, Classifier, Example, Prediction};
use super::lexical::LexicalMatcher;
use super::rules::{is_question, negated, reassurance, QUESTION_FACTOR};
use super::text::{windows, Analyzer, Token};
use super::vector_index::{dot, VectorIndex};
use super::{best_first, Candidate, MatchError, Matcher};
use crate::embed::Embedder;
use crate::store::{PhrasingKind, Store};
use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

/// How the semantic score is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    /// Embedding similarity alone.
    Semantic,
    /// A classifier trained on the library over the embedding, word and character
    /// n-grams and nearest-phrasing similarity; the nearest phrasing explains the card.
    Hybrid,
}

/// The best accuracy minus false-alarm rate on our calibration set
/// (tests/fixtures/calibration-utterances.jsonl), with the objection adapter ...
pub const SEMANTIC_THRESHOLD: f32 = 0.66;
/// ... and with the stock encoder.
pub const SEMANTIC_THRESHOLD_STOCK: f32 = 0.54;
/// The lowest threshold keeping false alarms ≤ 0.03 on our calibration set together with
/// the calibration half of the dev set (see README: "How the matcher is measured"), with
/// the objection adapter ...
pub const HYBRID_THRESHOLD: f32 = 0.74;
/// ... and with the stock encoder.
pub const HYBRID_THRESHOLD_STOCK: f32 = 0.72;
/// A span must be this much closer to a trigger than to any must-not-fire phrasing.
const NEGATIVE_MARGIN: f32 = 0.0;
const EMBED_BATCH: usize = 64;
/// Share of the runner-up objection of the same category added to a candidate's score.
const CATEGORY_POOL: f32 = 0.15;
/// Sub-spans compared with the top category's phrasings to explain a card.
const SUPPORTING_SPANS: usize = 2;
const NO_CATEGORY: u32 = u32::MAX;

/// A library phrasing; its embedding is the same row of the matcher's [`VectorIndex`].
struct Vector {
    objection: usize,
    negative: bool,
    text: String,
    /// The phrasing's row in the store (its FTS5 rowid).
    rowid: i64,
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
    nearest: VectorIndex,
    objections: Vec<Meta>,
    /// Each category's number, which indexes `category_rows`.
    category_ids: HashMap<String, u32>,
    /// Rows of each category's trigger phrasings in `nearest`.
    category_rows: Vec<Vec<u32>>,
    /// Each row's category number ([`NO_CATEGORY`] for must-not-fire phrasings), so a
    /// probe of a huge library tests a row without following pointers to its strings.
    row_category: Vec<u32>,
    fusion: Fusion,
    threshold: f32,
    classifier: Option<Classifier>,
}

/// Makes sure every library phrasing has a vector for this model in `cache` (default:
/// the library's own database, which then drops vectors of removed phrasings), embedding
/// only the ones not cached yet. Returns how many were embedded.
pub fn ensure_vectors(store: &mut Store, cache: Option<&mut Store>, embedder: &Embedder) -> Result<usize, MatchError> {
    let model = embedder.model_id().to_owned();
    let phrasings = store.phrasings()?;
    let own = cache.is_none();
    let cache = match cache {
        Some(c) => c,
        None => store,
    };
    let cached = cache.cached_vectors(&model)?;
    let mut missing: Vec<String> = phrasings
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
    cache.put_vectors(&model, &fresh)?;
    if own {
        cache.prune_vectors(&model)?;
    }
    Ok(fresh.len())
}

/// The library's classifier: from the store when nothing changed, else trained now.
fn load_or_train(
    store: &mut Store,
    vectors: &[Vector],
    nearest: &VectorIndex,
    objections: &[Meta],
    model_id: &str,
) -> Result<Classifier, MatchError> {
    let examples: Vec<Example<'_>> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| Example {
            text: &v.text,
            category: if v.negative { None } else { Some(objections[v.objection].category.as_str()) },
            embedding: nearest.row(i),
        })
        .collect();
    let key = classifier::cache_key(model_id, &examples);
    if let Some((header, weights)) = store.cached_classifier(&key)? {
        if let Some(c) = Classifier::from_parts(&header, weights, &examples) {
            return Ok(c);
        }
    }
    let started = std::time::Instant::now();
    let c = Classifier::train(&examples, nearest);
    tracing::info!(
        examples = examples.len(),
        ms = started.elapsed().as_millis() as u64,
        "trained the objection classifier"
    );
    let (header, weights) = c.to_parts();
    store.put_classifier(&key, &header, &weights)?;
    Ok(c)
}

impl SemanticMatcher {
    /// A matcher whose vectors and trained classifier are cached in the library's own
    /// database.
    pub fn new(store: Store, embedder: Embedder, fusion: Fusion) -> Result<Self, MatchError> {
        Self::with_cache(store, None, embedder, fusion)
    }

    /// Same, with vectors and classifiers cached in `cache` (shared by every library and
    /// database on the machine: keyed by model and text, and by what a classifier learned).
    pub fn with_cache(
        mut store: Store,
        cache: Option<Store>,
        embedder: Embedder,
        fusion: Fusion,
    ) -> Result<Self, MatchError> {
        let mut cache = cache;
        let embedded = ensure_vectors(&mut store, cache.as_mut(), &embedder)?;
        if embedded > 0 {
            tracing::info!(embedded, "embedded new library phrasings");
        }
        let lib = store.library()?;
        let index: HashMap<&str, usize> = lib.objections.iter().enumerate().map(|(i, o)| (o.id.as_str(), i)).collect();
        let cached = cache.as_ref().unwrap_or(&store).cached_vectors(embedder.model_id())?;
        let (vectors, embeddings): (Vec<Vector>, Vec<&Vec<f32>>) = store
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
                let v = cached.get(&p.text)?;
                Some((Vector { objection, negative, text: p.text, rowid: p.rowid }, v))
            })
            .unzip();
        let dim = embeddings.first().map_or(0, |v| v.len());
        let nearest = VectorIndex::build(dim, embeddings.iter().map(|v| v.as_slice()));
        let objections: Vec<Meta> = lib
            .objections
            .iter()
            .map(|o| Meta { id: o.id.clone(), category: o.category.clone(), title: o.title.clone() })
            .collect();
        let classifier = match fusion {
            Fusion::Hybrid => {
                let target = match cache.as_mut() {
                    Some(c) => c,
                    None => &mut store,
                };
                Some(load_or_train(target, &vectors, &nearest, &objections, embedder.model_id())?)
            }
            Fusion::Semantic => None,
        };
        // Each encoder scores on its own scale, so each has its own calibrated threshold.
        let threshold = match (fusion, embedder.is_adapted()) {
            (Fusion::Semantic, true) => SEMANTIC_THRESHOLD,
            (Fusion::Semantic, false) => SEMANTIC_THRESHOLD_STOCK,
            (Fusion::Hybrid, true) => HYBRID_THRESHOLD,
            (Fusion::Hybrid, false) => HYBRID_THRESHOLD_STOCK,
        };
        let mut category_ids: HashMap<String, u32> = HashMap::new();
        let mut category_rows: Vec<Vec<u32>> = Vec::new();
        let row_category: Vec<u32> = vectors
            .iter()
            .enumerate()
            .map(|(row, v)| {
                if v.negative {
                    return NO_CATEGORY;
                }
                let next = category_ids.len() as u32;
                let id = *category_ids.entry(objections[v.objection].category.clone()).or_insert(next);
                if id == next {
                    category_rows.push(Vec::new());
                }
                category_rows[id as usize].push(row as u32);
                id
            })
            .collect();
        Ok(SemanticMatcher {
            lexical: LexicalMatcher::new(store)?,
            embedder,
            analyzer: Analyzer::default(),
            vectors,
            nearest,
            objections,
            category_ids,
            category_rows,
            row_category,
            fusion,
            threshold,
            classifier,
        })
    }

    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }
}

impl SemanticMatcher {
    /// The hybrid matcher's decision: the classifier scores each category from the whole
    /// turn against "none" alone (p / (p + p_none)). The best `limit` categories, best first.
    fn classify(&self, clf: &Classifier, u: &EmbeddedUtterance, limit: usize) -> (Prediction, Vec<(usize, f32)>) {
        let prediction = clf.predict(&self.nearest, &u.text, &u.whole);
        let none_class = clf.classes().iter().position(|c| c == classifier::NONE);
        let mut ranked: Vec<(usize, f32)> =
            (0..clf.classes().len()).filter(|&k| Some(k) != none_class).map(|k| (k, prediction.probs[k])).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(limit);
        // A turn that sounds like two categories splits its probability between them; what
        // decides a card is how much more it looks like this category than like nothing.
        let none = none_class.map_or(0.0, |k| prediction.probs[k]);
        ranked.iter_mut().for_each(|(_, p)| *p /= (*p + none).max(f32::MIN_POSITIVE));
        (prediction, ranked)
    }

    /// The hybrid matcher's candidates: each ranked category is explained by its nearest
    /// trigger phrasing. When the turn's sub-spans are embedded, the top category's
    /// explanation also looks inside the turn: the spans that on their own look most like
    /// that category are compared with its phrasings, so a long turn shows the clause that
    /// fired. Only a few spans and one category's phrasings are scanned, which keeps
    /// matching fast on very large libraries.
    fn explain_classes(
        &self,
        clf: &Classifier,
        u: &EmbeddedUtterance,
        prediction: &Prediction,
        ranked: &[(usize, f32)],
    ) -> Vec<Candidate> {
        let (mut out, mut rows) = (Vec::with_capacity(ranked.len()), Vec::with_capacity(ranked.len()));
        for (rank, &(k, p)) in ranked.iter().enumerate() {
            // (similarity, phrasing row, span index)
            let mut best: Option<(f32, usize, usize)> =
                prediction.nearest[k].map(|(row, sim)| (sim, row, u.whole_span));
            if rank == 0 && !u.vectors.is_empty() {
                let wanted = self.category_ids.get(clf.classes()[k].as_str()).copied();
                for si in self.supporting_spans(clf, k, u) {
                    let mut consider = |row: usize, sim: f32| {
                        if best.is_none_or(|(s, _, _)| sim > s) {
                            best = Some((sim, row, si));
                        }
                    };
                    if self.nearest.is_exact() {
                        let rows = wanted.map_or(&[][..], |id| self.category_rows[id as usize].as_slice());
                        self.nearest.scan_rows(&u.vectors[si], rows, consider);
                    } else {
                        // A huge library: the span's nearest cells hold its nearest phrasings.
                        let of_category = |row: usize| (Some(self.row_category[row]) == wanted).then_some(0);
                        if let Some(&(row, sim)) =
                            self.nearest.top_per_group(&u.vectors[si], 1, 1, of_category)[0].first()
                        {
                            consider(row, sim);
                        }
                    }
                }
            }
            let Some((sim, row, si)) = best else { continue };
            let vector = &self.vectors[row];
            let meta = &self.objections[vector.objection];
            out.push(Candidate {
                objection_id: meta.id.clone(),
                category: meta.category.clone(),
                title: meta.title.clone(),
                score: p,
                phrase: vector.text.clone(),
                span: u.span_texts[si].clone(),
                bm25: 0.0,
                semantic: Some(sim),
                lexical: None,
                suppressed: None,
            });
            rows.push((u.spans[si].clone(), vector.rowid));
        }
        self.add_lexical_scores(&u.tokens, &mut out, &rows);
        out
    }

    /// Fills in the lexical side of each candidate's "why"; `pairs` holds the token range
    /// of each candidate's span and the store rowid of its phrasing.
    fn add_lexical_scores(&self, tokens: &[Token], out: &mut [Candidate], pairs: &[(Range<usize>, i64)]) {
        for (c, (lexical, bm25)) in out.iter_mut().zip(self.lexical.pair_scores(tokens, pairs)) {
            c.lexical = Some(lexical);
            c.bm25 = bm25;
        }
    }

    /// The sub-spans (not the whole turn) whose embeddings point most at class `k`.
    fn supporting_spans(&self, clf: &Classifier, k: usize, u: &EmbeddedUtterance) -> Vec<usize> {
        let weights = clf.embedding_weights(k);
        let mut scored: Vec<(f32, usize)> =
            (0..u.spans.len()).filter(|&si| si != u.whole_span).map(|si| (dot(&weights, &u.vectors[si]), si)).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        // Past the exact-search size each span costs an index probe: one span is enough.
        let take = if self.nearest.is_exact() { SUPPORTING_SPANS } else { 1 };
        scored.into_iter().take(take).map(|(_, si)| si).collect()
    }
}

impl Matcher for SemanticMatcher {
    fn name(&self) -> &'static str {
        match self.fusion {
            Fusion::Semantic => "semantic",
            Fusion::Hybrid => "hybrid",
        }
    }

    fn encoder(&self) -> Option<&str> {
        Some(self.embedder.model_id())
    }

    fn threshold(&self) -> f32 {
        self.threshold
    }

    fn rank(&mut self, text: &str, limit: usize) -> Result<Vec<Candidate>, MatchError> {
        Ok(self.rank_timed(text, limit, Explain::Cards)?.0)
    }

    fn rank_explained(&mut self, text: &str, limit: usize) -> Result<Vec<Candidate>, MatchError> {
        Ok(self.rank_timed(text, limit, Explain::Always)?.0)
    }
}

/// How far the hybrid matcher explains its top candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// Down to the clause that fired only when it reaches the threshold, as a card shows
    /// it; below, by the whole turn (the sub-spans are not embedded).
    Cards,
    /// Always down to the clause, for someone asking why a sentence does or does not fire.
    Always,
}

/// Where one utterance's matching time went (`cuecard bench matcher`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RankTiming {
    /// In the embedding model.
    pub embedding: Duration,
    /// Everything else: nearest phrasings, the classifier, the lexical scores.
    pub matching: Duration,
    /// Texts the embedding model ran on: the whole turn, and its sub-spans when they were
    /// needed.
    pub texts_embedded: usize,
}

/// An utterance cut into spans (sliding windows and the whole turn) and what the embedding
/// model made of them so far.
struct EmbeddedUtterance {
    text: String,
    tokens: Vec<Token>,
    spans: Vec<Range<usize>>,
    span_texts: Vec<String>,
    /// The index of the whole turn in `spans`.
    whole_span: usize,
    /// Each span's vector, in the order of `spans`; empty until the spans are embedded.
    vectors: Vec<Vec<f32>>,
    /// The whole turn's vector (the classifier's input).
    whole: Vec<f32>,
    texts_embedded: usize,
}

impl SemanticMatcher {
    /// [`Matcher::rank`] (with [`Explain::Always`], [`Matcher::rank_explained`]), with the
    /// time spent in the embedding model and in the rest of matching kept apart.
    ///
    /// The hybrid matcher decides from the whole turn alone, so it embeds the turn's
    /// sub-spans (its clauses and 12-word windows, one model pass each) only to show which
    /// clause fired: when the top category reaches the threshold, or with
    /// [`Explain::Always`]. Most turns in a call fire nothing and cost one pass.
    pub fn rank_timed(
        &self,
        text: &str,
        limit: usize,
        explain: Explain,
    ) -> Result<(Vec<Candidate>, RankTiming), MatchError> {
        let mut timing = RankTiming::default();
        let Some(mut u) = timed(&mut timing.embedding, || self.embed_utterance(text))? else {
            return Ok((Vec::new(), timing));
        };
        let ranked = match &self.classifier {
            None => timed(&mut timing.matching, || self.rank_by_similarity(&u, limit)),
            Some(clf) => {
                let (prediction, classes) = timed(&mut timing.matching, || self.classify(clf, &u, limit));
                let look_inside =
                    classes.first().is_some_and(|&(_, p)| explain == Explain::Always || p >= self.threshold);
                if look_inside && u.spans.len() > 1 {
                    timed(&mut timing.embedding, || self.embed_spans(&mut u))?;
                }
                timed(&mut timing.matching, || self.explain_classes(clf, &u, &prediction, &classes))
            }
        };
        timing.texts_embedded = u.texts_embedded;
        Ok((ranked, timing))
    }

    /// Splits `text` into spans and embeds what the decision needs: the whole turn for the
    /// hybrid matcher, every span for the semantic one. `None` when it has no words.
    fn embed_utterance(&self, text: &str) -> Result<Option<EmbeddedUtterance>, MatchError> {
        let tokens = self.analyzer.tokens(text);
        if tokens.is_empty() {
            return Ok(None);
        }
        let full = 0..tokens.len();
        let mut spans: Vec<_> = windows(&tokens)
            .into_iter()
            .filter(|r| *r == full || tokens[r.clone()].iter().filter(|t| t.stem.is_some()).count() >= 2)
            .collect();
        // `windows` always includes the whole turn; this keeps that true whatever it does.
        let whole_span = spans.iter().position(|r| *r == full).unwrap_or_else(|| {
            spans.push(full);
            spans.len() - 1
        });
        let span_texts: Vec<String> = spans
            .iter()
            .map(|r| tokens[r.clone()].iter().map(|t| t.word.as_str()).collect::<Vec<_>>().join(" "))
            .collect();
        let mut u = EmbeddedUtterance {
            text: text.to_owned(),
            tokens,
            spans,
            span_texts,
            whole_span,
            vectors: Vec::new(),
            whole: Vec::new(),
            texts_embedded: 0,
        };
        match self.fusion {
            Fusion::Semantic => self.embed_spans(&mut u)?,
            Fusion::Hybrid => {
                u.whole = self.embedder.embed(&u.span_texts[whole_span])?;
                u.texts_embedded = 1;
            }
        }
        Ok(Some(u))
    }

    /// Embeds the spans of `u` in one batch: all of them, or all but the whole turn when
    /// that is embedded already.
    fn embed_spans(&self, u: &mut EmbeddedUtterance) -> Result<(), MatchError> {
        let have_whole = !u.whole.is_empty();
        let todo: Vec<usize> = (0..u.spans.len()).filter(|&i| !(have_whole && i == u.whole_span)).collect();
        let refs: Vec<&str> = todo.iter().map(|&i| u.span_texts[i].as_str()).collect();
        let mut vectors = vec![Vec::new(); u.spans.len()];
        for (&i, v) in todo.iter().zip(self.embedder.embed_batch(&refs)?) {
            vectors[i] = v;
        }
        u.texts_embedded += todo.len();
        if have_whole {
            vectors[u.whole_span] = u.whole.clone();
        } else {
            u.whole = vectors[u.whole_span].clone();
        }
        u.vectors = vectors;
        Ok(())
    }

    /// The semantic matcher: every span against every phrasing, with its veto rules.
    fn rank_by_similarity(&self, u: &EmbeddedUtterance, limit: usize) -> Vec<Candidate> {
        let (text, tokens, spans, span_texts, embedded) = (&u.text, &u.tokens, &u.spans, &u.span_texts, &u.vectors);
        // Best trigger per objection over all spans; best must-not-fire per span.
        let mut best: HashMap<usize, (f32, usize, usize)> = HashMap::new();
        let mut negative: Vec<(f32, usize)> = vec![(0.0, usize::MAX); spans.len()];
        for (si, e) in embedded.iter().enumerate() {
            self.nearest.search(e, |vi, sim| {
                let vec = &self.vectors[vi];
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
            });
        }
        let question = is_question(text, tokens);
        let mut rows: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut out: Vec<Candidate> = best
            .into_iter()
            .map(|(oi, (sim, vi, si))| {
                let meta = &self.objections[oi];
                rows.insert(meta.id.as_str(), (vi, si));
                let mut score = sim;
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
                    score: score.max(0.0),
                    phrase: self.vectors[vi].text.clone(),
                    span: span_texts[si].clone(),
                    bm25: 0.0,
                    semantic: Some(sim),
                    lexical: None,
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
            c.score += CATEGORY_POOL * second;
        }
        let mut out = best_first(out, limit);
        let pairs: Vec<(Range<usize>, i64)> = out
            .iter()
            .map(|c| {
                let (vi, si) = rows[c.objection_id.as_str()];
                (spans[si].clone(), self.vectors[vi].rowid)
            })
            .collect();
        self.add_lexical_scores(tokens, &mut out, &pairs);
        out
    }
}

/// Runs `f`, adding the time it took to `slot`.
fn timed<T>(slot: &mut Duration, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    *slot += started.elapsed();
    out
}

#[cfg(test)]
#[path = "semantic_tests.rs"]
mod tests;
