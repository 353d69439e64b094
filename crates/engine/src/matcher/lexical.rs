//! The lexical matcher: FTS5 bm25 finds candidate phrasings, then an IDF-weighted
//! cosine over stems and stem bigrams scores each span of the utterance against them.
//! Must-not-fire phrasings and a few rules (questions, reassurance) veto look-alikes.

use super::rules::{is_question, negated, reassurance, QUESTION_FACTOR};
use super::text::{windows, Analyzer, Token};
use super::{best_first, Candidate, MatchError, Matcher};
use crate::store::{PhrasingKind, Store};
use std::collections::HashMap;

/// Calibrated on our own split of the development utterances (see README, "Matcher").
pub const DEFAULT_THRESHOLD: f32 = 0.42;
/// A cue term (competitor name, "SOC 2") adds this much.
const CUE_BONUS: f32 = 0.2;
/// How many FTS5 hits are rescored.
const RETRIEVE: usize = 250;

/// IDF weights by feature, sorted by feature: sums then run in one order, so a score is
/// the same in every run (a HashMap's per-process order changed its last bits).
type Features = Vec<(String, f32)>;

struct Entry {
    objection: usize,
    kind: PhrasingKind,
    text: String,
    features: Features,
    norm: f32,
    /// The phrasing's stems in order (for BM25).
    stems: Vec<String>,
}

struct Meta {
    id: String,
    category: String,
    title: String,
    cues: Vec<(String, Vec<String>)>,
}

pub struct LexicalMatcher {
    store: Store,
    analyzer: Analyzer,
    entries: HashMap<i64, Entry>,
    objections: Vec<Meta>,
    /// Phrasings containing each stem or stem bigram (both IDFs derive from it), how
    /// many phrasings there are, and their mean length in stems (for BM25).
    doc_freq: HashMap<String, f32>,
    phrasings: f32,
    mean_len: f32,
    threshold: f32,
}

fn features(stems: &[String]) -> Vec<String> {
    let mut f: Vec<String> = stems.to_vec();
    f.extend(stems.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    f
}

impl LexicalMatcher {
    /// Builds the matcher over the library indexed in `store`.
    pub fn new(store: Store) -> Result<Self, MatchError> {
        let analyzer = Analyzer::default();
        let lib = store.library()?;
        if lib.objections.is_empty() {
            return Err(MatchError::EmptyLibrary);
        }
        let index: HashMap<&str, usize> = lib.objections.iter().enumerate().map(|(i, o)| (o.id.as_str(), i)).collect();
        let objections: Vec<Meta> = lib
            .objections
            .iter()
            .map(|o| Meta {
                id: o.id.clone(),
                category: o.category.clone(),
                title: o.title.clone(),
                cues: o.cues.iter().map(|c| (c.clone(), analyzer.stems(c))).filter(|(_, s)| !s.is_empty()).collect(),
            })
            .collect();

        let phrasings = store.phrasings()?;
        let mut raw = Vec::new();
        let mut df: HashMap<String, f32> = HashMap::new();
        for p in phrasings.into_iter().filter(|p| p.kind != PhrasingKind::Cue) {
            let objection = match index.get(p.objection_id.as_str()) {
                Some(&i) => i,
                None if p.kind == PhrasingKind::Negative => usize::MAX,
                None => continue,
            };
            let stems = analyzer.stems(&p.text);
            let mut feats = features(&stems);
            feats.sort();
            feats.dedup();
            for f in &feats {
                *df.entry(f.clone()).or_default() += 1.0;
            }
            raw.push((p.rowid, objection, p.kind, p.text, feats, stems));
        }
        let n = raw.len().max(1) as f32;
        let mean_len = raw.iter().map(|r| r.5.len()).sum::<usize>() as f32 / n;
        let entries = raw
            .into_iter()
            .map(|(rowid, objection, kind, text, feats, stems)| {
                let (features, norm) = weigh(feats, |f| idf(df.get(f), n));
                (rowid, Entry { objection, kind, text, features, norm, stems })
            })
            .collect();
        Ok(LexicalMatcher {
            store,
            analyzer,
            entries,
            objections,
            doc_freq: df,
            phrasings: n,
            mean_len,
            threshold: DEFAULT_THRESHOLD,
        })
    }

    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    fn span_features(&self, tokens: &[Token]) -> (Features, f32) {
        let stems: Vec<String> = tokens.iter().filter_map(|t| t.stem.clone()).collect();
        weigh(features(&stems), |f| idf(self.doc_freq.get(f), self.phrasings))
    }
}

impl LexicalMatcher {
    /// The lexical side of pairs found by meaning: for each (span, phrasing rowid), the
    /// IDF-weighted similarity of span and phrasing, and the phrasing's BM25 for the
    /// utterance's words. Computed in memory: an FTS5 query costs milliseconds on a large
    /// library, more than the rest of matching.
    pub fn pair_scores(&self, tokens: &[Token], pairs: &[(std::ops::Range<usize>, i64)]) -> Vec<(f32, f32)> {
        let mut query: Vec<&String> = tokens.iter().filter_map(|t| t.stem.as_ref()).collect();
        query.sort();
        query.dedup();
        // Most candidates are explained by the whole turn: weigh each span's words once.
        let mut spans: Vec<(std::ops::Range<usize>, (Features, f32))> = Vec::new();
        pairs
            .iter()
            .map(|(span, rowid)| match self.entries.get(rowid) {
                Some(e) => {
                    let at = spans.iter().position(|(r, _)| r == span).unwrap_or_else(|| {
                        spans.push((span.clone(), self.span_features(&tokens[span.clone()])));
                        spans.len() - 1
                    });
                    let (f, n) = &spans[at].1;
                    (cosine(&e.features, e.norm, f, *n), self.bm25(&query, e))
                }
                None => (0.0, 0.0),
            })
            .collect()
    }

    /// Okapi BM25 with FTS5's constants and IDF (k1 1.2, b 0.75; a term in more than half
    /// the phrasings counts 1e-6), over stems: larger is better, as with `bm25` above.
    fn bm25(&self, query: &[&String], e: &Entry) -> f32 {
        const K1: f32 = 1.2;
        const B: f32 = 0.75;
        let n = self.phrasings;
        let norm = K1 * (1.0 - B + B * e.stems.len() as f32 / self.mean_len.max(1.0));
        query
            .iter()
            .filter_map(|t| {
                let tf = e.stems.iter().filter(|s| s == t).count() as f32;
                if tf == 0.0 {
                    return None;
                }
                let d = self.doc_freq.get(t.as_str()).copied().unwrap_or(1.0);
                let idf = ((n - d + 0.5) / (d + 0.5)).ln().max(1e-6);
                Some(idf * tf * (K1 + 1.0) / (tf + norm))
            })
            .sum()
    }
}

/// The cosine's IDF weight of a feature found in `doc_freq` of `n` phrasings; an unseen
/// feature counts half as much as one seen once.
fn idf(doc_freq: Option<&f32>, n: f32) -> f32 {
    match doc_freq {
        Some(d) => (1.0 + n / d).ln(),
        None => (1.0 + n).ln() * 0.5,
    }
}

/// Each distinct feature once, with its weight, and the vector's norm.
fn weigh(mut feats: Vec<String>, weight: impl Fn(&String) -> f32) -> (Features, f32) {
    feats.sort_unstable();
    feats.dedup();
    let weighted: Features = feats
        .into_iter()
        .map(|f| {
            let w = weight(&f);
            (f, w)
        })
        .collect();
    let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    (weighted, norm)
}

/// Cosine of two sorted feature lists: one merge pass, summed in feature order.
fn cosine(a: &Features, an: f32, b: &Features, bn: f32) -> f32 {
    if an == 0.0 || bn == 0.0 {
        return 0.0;
    }
    let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot / (an * bn)
}

impl Matcher for LexicalMatcher {
    fn name(&self) -> &'static str {
        "bm25"
    }

    fn threshold(&self) -> f32 {
        self.threshold
    }

    fn rank(&mut self, text: &str, limit: usize) -> Result<Vec<Candidate>, MatchError> {
        let tokens = self.analyzer.tokens(text);
        let spans = windows(&tokens);
        let span_feats: Vec<(Features, f32, usize)> = spans
            .iter()
            .map(|r| {
                let (f, n) = self.span_features(&tokens[r.clone()]);
                let content = tokens[r.clone()].iter().filter(|t| t.stem.is_some()).count();
                (f, n, content)
            })
            .collect();
        let mut terms: Vec<String> = tokens.iter().filter(|t| t.stem.is_some()).map(|t| t.word.clone()).collect();
        terms.sort();
        terms.dedup();
        let hits = self.store.fts_candidates(&terms, RETRIEVE)?;

        // Best trigger per objection, and best must-not-fire per span.
        let mut best: HashMap<usize, (f32, i64, usize, f32)> = HashMap::new();
        let mut negative_best: Vec<(f32, i64)> = vec![(0.0, 0); spans.len()];
        for (rowid, bm25) in hits {
            let Some(entry) = self.entries.get(&rowid) else { continue };
            for (si, (f, n, content)) in span_feats.iter().enumerate() {
                // A sub-span needs some substance of its own to count.
                if spans[si] != (0..tokens.len()) && *content < 2 {
                    continue;
                }
                let cos = cosine(&entry.features, entry.norm, f, *n);
                match entry.kind {
                    PhrasingKind::Negative => {
                        if cos > negative_best[si].0 {
                            negative_best[si] = (cos, rowid);
                        }
                    }
                    _ => {
                        let slot = best.entry(entry.objection).or_insert((0.0, rowid, si, bm25));
                        if cos > slot.0 {
                            *slot = (cos, rowid, si, bm25);
                        }
                    }
                }
            }
        }

        let stems: Vec<String> = tokens.iter().filter_map(|t| t.stem.clone()).collect();
        let joined = format!(" {} ", stems.join(" "));
        for (i, meta) in self.objections.iter().enumerate() {
            if meta.cues.iter().any(|(_, s)| joined.contains(&format!(" {} ", s.join(" ")))) {
                best.entry(i).or_insert((0.0, 0, 0, 0.0));
            }
        }

        let question = is_question(text, &tokens);
        let out: Vec<Candidate> = best
            .into_iter()
            .map(|(oi, (cos, rowid, si, bm25))| {
                let meta = &self.objections[oi];
                let span_tokens = &tokens[spans[si].clone()];
                let span_text = span_tokens.iter().map(|t| t.word.as_str()).collect::<Vec<_>>().join(" ");
                let mut score = cos;
                let mut phrase = self.entries.get(&rowid).map_or_else(String::new, |e| e.text.clone());
                if let Some((cue, _)) = meta.cues.iter().find(|(_, s)| joined.contains(&format!(" {} ", s.join(" ")))) {
                    score += CUE_BONUS;
                    if phrase.is_empty() {
                        phrase = format!("cue: {cue}");
                    }
                }
                if question && !negated(span_tokens) {
                    score *= QUESTION_FACTOR;
                }
                let mut suppressed = None;
                if let Some(r) = reassurance(&span_text) {
                    suppressed = Some(format!("reassurance: \"{r}\""));
                }
                let (neg, neg_row) = negative_best[si];
                if suppressed.is_none() && neg >= cos && neg > 0.0 {
                    let t = self.entries.get(&neg_row).map_or("", |e| e.text.as_str());
                    suppressed = Some(format!("closer to must-not-fire \"{t}\" ({neg:.2})"));
                }
                Candidate {
                    objection_id: meta.id.clone(),
                    category: meta.category.clone(),
                    title: meta.title.clone(),
                    score,
                    phrase,
                    span: span_text,
                    bm25,
                    semantic: None,
                    lexical: None,
                    suppressed,
                }
            })
            .collect();
        let mut out = best_first(out, limit);
        // The lexical score is the (capped) card score.
        out.iter_mut().for_each(|c| c.lexical = Some(c.score));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{cosine, weigh, LexicalMatcher, Matcher};
    use crate::store::Store;

    #[test]
    fn cosine_merges_sorted_features() {
        let w = |f: &String| f.len() as f32;
        let (a, an) = weigh(vec!["price".into(), "too".into(), "price".into(), "high".into()], w);
        assert_eq!(
            a.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            ["high", "price", "too"],
            "sorted, once each"
        );
        let (b, bn) = weigh(vec!["too".into(), "budget".into(), "high".into()], w);
        // shared: high (4·4) and too (3·3); norms √(16+25+9) and √(9+36+16)
        let expected = (16.0 + 9.0) / (50f32.sqrt() * 61f32.sqrt());
        assert!((cosine(&a, an, &b, bn) - expected).abs() < 1e-6);
        assert_eq!(cosine(&a, an, &b, bn), cosine(&b, bn, &a, an));
        assert_eq!(cosine(&a, an, &vec![], 0.0), 0.0);
    }

    #[test]
    fn two_matchers_give_bit_identical_scores() {
        let lib = crate::library::load_default().unwrap();
        let open = || {
            let mut store = Store::open_in_memory().unwrap();
            store.replace_library(&lib, "test").unwrap();
            LexicalMatcher::new(store).unwrap()
        };
        let (mut first, mut second) = (open(), open());
        let text = "honestly we just signed a three year deal with Gong and the budget for new tools is \
                    frozen until next year, plus legal would need a SOC 2 report before anything";
        let a = first.rank(text, 20).unwrap();
        let b = second.rank(text, 20).unwrap();
        assert!(a.len() > 3, "{a:?}");
        let bits = |c: &[crate::matcher::Candidate]| {
            c.iter().map(|c| (c.objection_id.clone(), c.score.to_bits(), c.phrase.clone())).collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b));
    }
}
