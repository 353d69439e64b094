//! A linear classifier over what a prospect said, trained on the library itself:
//! every trigger phrasing is an example of its objection's category, every
//! must-not-fire and not-objection phrasing an example of "none".
//!
//! Features: the sentence embedding, word 1–2-gram and character 2–5-gram TF-IDF
//! (polarity words such as "isn't", "approved" and question forms carry the
//! none-vs-objection signal the embedding alone blurs), and the similarity to the
//! nearest examples of each class. Multinomial logistic regression, class-balanced,
//! L2-regularised, trained full-batch with Adam from zero: deterministic.

use super::vector_index::VectorIndex;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Bump when features or training change, so cached models are retrained.
const VERSION: &str = "clf-v4";
const EMBED_SCALE: f32 = 1.5;
const KNN_SCALE: f32 = 2.0;
/// Neighbours averaged per class for the similarity feature.
const KNN_K: usize = 2;
const ITERATIONS: usize = 400;
const LEARNING_RATE: f32 = 0.05;
/// Inverse regularisation strength (as in scikit-learn's `C`).
const C: f32 = 256.0;
/// Character n-grams seen in fewer examples than this are noise.
const CHAR_MIN_DF: usize = 2;
const TRAINING_THREADS: usize = 2;
pub const NONE: &str = "none";

/// One training phrasing; the `i`-th example's embedding is row `i` of the
/// [`VectorIndex`] given to [`Classifier::train`] and [`Classifier::predict`].
pub struct Example<'a> {
    pub text: &'a str,
    /// `None` for phrasings that must not fire.
    pub category: Option<&'a str>,
    pub embedding: &'a [f32],
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: String,
    classes: Vec<String>,
    embed_dim: usize,
    /// Vocabulary terms in feature order ("w:..." words, "c:..." character n-grams).
    terms: Vec<String>,
    idf: Vec<f32>,
}

pub struct Classifier {
    header: Header,
    index: FxHashMap<String, usize>,
    /// Class of each training example, for the neighbour feature.
    labels: Vec<usize>,
    /// Feature-major (dim × classes: one feature's weights for every class side by side,
    /// so an utterance's few hundred sparse features touch as many cache lines, not
    /// fifteen times as many); the bias is the last feature. Stored class-major.
    weights: Vec<f32>,
    dim: usize,
    word_grams: WordGrams,
}

/// The character n-gram features of every word in the training examples, found once
/// when the classifier is built: an utterance's word then costs one lookup instead of
/// one per n-gram (on a large library the vocabulary outgrows the processor's cache, so
/// each lookup is a trip to memory).
#[derive(Default)]
struct WordGrams {
    /// Lowercased word → its range in `features`.
    of: FxHashMap<String, std::ops::Range<u32>>,
    features: Vec<u32>,
}

/// Sparse feature vector: (index, value).
type Features = Vec<(usize, f32)>;
/// Per class, the nearest training example: (row, similarity).
pub type Nearest = Vec<Option<(usize, f32)>>;

/// What the classifier makes of one utterance.
pub struct Prediction {
    /// Per class, in the order of [`Classifier::classes`].
    pub probs: Vec<f32>,
    pub nearest: Nearest,
}

/// Calls `visit` with each word 1–2-gram of `text` ("w:it", "w:it too").
fn visit_word_terms(text: &str, visit: &mut dyn FnMut(&str)) {
    let lower = text.to_lowercase();
    let words: Vec<&str> =
        lower.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| w.chars().count() >= 2).collect();
    let mut term = String::new();
    for w in &words {
        term.clear();
        term.push_str("w:");
        term.push_str(w);
        visit(&term);
    }
    for p in words.windows(2) {
        term.clear();
        term.push_str("w:");
        term.push_str(p[0]);
        term.push(' ');
        term.push_str(p[1]);
        visit(&term);
    }
}

/// Calls `visit` with each character 2–5-gram of each space-padded word ("c: n").
fn visit_char_terms(text: &str, visit: &mut dyn FnMut(&str)) {
    let mut term = String::new();
    for word in text.to_lowercase().split_whitespace() {
        let padded: Vec<char> = std::iter::once(' ').chain(word.chars()).chain(std::iter::once(' ')).collect();
        for n in 2..=5 {
            if padded.len() < n {
                break;
            }
            for g in padded.windows(n) {
                term.clear();
                term.push_str("c:");
                term.extend(g);
                visit(&term);
            }
        }
    }
}

fn word_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    visit_word_terms(text, &mut |t| out.push(t.to_owned()));
    out
}

fn char_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    visit_char_terms(text, &mut |t| out.push(t.to_owned()));
    out
}

/// What a trained model depends on: change any of it and the cache key changes.
pub fn cache_key(model_id: &str, examples: &[Example<'_>]) -> String {
    let mut h = Sha256::new();
    h.update(VERSION.as_bytes());
    h.update(model_id.as_bytes());
    for e in examples {
        h.update(e.text.as_bytes());
        h.update([0]);
        h.update(e.category.unwrap_or(NONE).as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// `m` (rows × cols, row-major) as cols × rows, row-major.
fn transposed(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols).map(|j| m[(j % rows) * cols + j / rows]).collect()
}

impl Classifier {
    /// The category probabilities for one utterance ("none" included), by class name.
    pub fn classes(&self) -> &[String] {
        &self.header.classes
    }

    /// Fills [`WordGrams`] from the examples' words.
    fn with_word_grams(mut self, examples: &[Example<'_>]) -> Self {
        let mut grams = WordGrams::default();
        for e in examples {
            for word in e.text.to_lowercase().split_whitespace() {
                if grams.of.contains_key(word) {
                    continue;
                }
                let start = grams.features.len() as u32;
                visit_char_terms(word, &mut |t| grams.features.extend(self.index.get(t).map(|&i| i as u32)));
                grams.of.insert(word.to_owned(), start..grams.features.len() as u32);
            }
        }
        self.word_grams = grams;
        self
    }

    /// Feature indices of the character n-grams of `text`'s words, in no set order.
    fn char_features(&self, text: &str, out: &mut Vec<usize>) {
        for word in text.to_lowercase().split_whitespace() {
            match self.word_grams.of.get(word) {
                Some(r) => {
                    out.extend(self.word_grams.features[r.start as usize..r.end as usize].iter().map(|&i| i as usize))
                }
                None => visit_char_terms(word, &mut |t| out.extend(self.index.get(t))),
            }
        }
    }

    fn base(&self) -> usize {
        self.header.embed_dim + self.header.classes.len()
    }

    /// Per-class mean similarity of the `KNN_K` nearest training examples (without the
    /// example itself, and its exact duplicates, when `leave_out` is set), and per class
    /// the nearest one (row, similarity).
    fn neighbour_features(&self, nearest: &VectorIndex, embedding: &[f32], leave_out: bool) -> (Vec<f32>, Nearest) {
        let k = self.header.classes.len();
        let best = nearest.top_per_group(embedding, k, KNN_K, |row| {
            let class = self.labels.get(row).copied()?;
            (!(leave_out && nearest.row(row) == embedding)).then_some(class)
        });
        // A class with fewer than `KNN_K` examples counts the missing ones as opposite (-1).
        let mean =
            |t: &Vec<(usize, f32)>| (t.iter().map(|&(_, s)| s).sum::<f32>() - (KNN_K - t.len()) as f32) / KNN_K as f32;
        (best.iter().map(mean).collect(), best.iter().map(|t| t.first().copied()).collect())
    }

    fn features(&self, nearest: &VectorIndex, text: &str, embedding: &[f32], leave_out: bool) -> (Features, Nearest) {
        let mut f: Features = embedding.iter().enumerate().map(|(i, &x)| (i, x * EMBED_SCALE)).collect();
        let (knn, closest) = self.neighbour_features(nearest, embedding, leave_out);
        f.extend(knn.into_iter().enumerate().map(|(i, x)| (self.header.embed_dim + i, x * KNN_SCALE)));
        let mut words: Vec<usize> = Vec::new();
        visit_word_terms(text, &mut |t| words.extend(self.index.get(t)));
        let mut characters: Vec<usize> = Vec::new();
        self.char_features(text, &mut characters);
        // Two TF-IDF blocks, each normalised on its own.
        for mut seen in [words, characters] {
            seen.sort_unstable();
            // Term counts, in feature order (the norm's sum then has one fixed order).
            let mut block: Vec<(usize, f32)> = Vec::with_capacity(seen.len());
            for i in seen {
                match block.last_mut() {
                    Some((last, c)) if *last == i => *c += 1.0,
                    _ => block.push((i, 1.0)),
                }
            }
            block.iter_mut().for_each(|(i, c)| *c = (1.0 + c.ln()) * self.header.idf[*i - self.base()]);
            let norm = block.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                block.iter_mut().for_each(|(_, v)| *v /= norm);
            }
            f.extend(block);
        }
        (f, closest)
    }

    /// One feature's weights, for every class.
    fn weights_of(&self, feature: usize) -> &[f32] {
        let k = self.header.classes.len();
        &self.weights[feature * k..(feature + 1) * k]
    }

    fn logits(&self, f: &Features) -> Vec<f32> {
        let mut sums = vec![0.0f32; self.header.classes.len()];
        for &(i, v) in f {
            sums.iter_mut().zip(self.weights_of(i)).for_each(|(s, w)| *s += w * v);
        }
        sums.iter().zip(self.weights_of(self.dim - 1)).map(|(s, bias)| bias + s).collect()
    }

    /// Probabilities per class (same order as [`Classifier::classes`]), and per class the
    /// training example nearest to the utterance.
    pub fn predict(&self, nearest: &VectorIndex, text: &str, embedding: &[f32]) -> Prediction {
        let (f, nearest) = self.features(nearest, text, embedding, false);
        Prediction { probs: softmax(self.logits(&f)), nearest }
    }

    /// Class `k`'s weights on the embedding: their dot product with a span's embedding
    /// (the embedding's share of the logit) ranks spans by how much each one on its own
    /// looks like that class. Gathered once per utterance, as they lie across features.
    pub fn embedding_weights(&self, k: usize) -> Vec<f32> {
        (0..self.header.embed_dim).map(|i| self.weights_of(i)[k]).collect()
    }

    /// Learns from the library's examples. A few seconds for a few thousand phrasings.
    pub fn train(examples: &[Example<'_>], nearest: &VectorIndex) -> Classifier {
        let mut classes: Vec<String> = examples.iter().filter_map(|e| e.category.map(str::to_owned)).collect();
        classes.sort();
        classes.dedup();
        classes.push(NONE.to_owned());
        let class_of = |e: &Example<'_>| classes.iter().position(|c| c == e.category.unwrap_or(NONE)).unwrap_or(0);
        let labels: Vec<usize> = examples.iter().map(class_of).collect();
        let embed_dim = examples.first().map_or(0, |e| e.embedding.len());

        // Vocabulary and document frequencies.
        let mut df: HashMap<String, usize> = HashMap::new();
        for e in examples {
            let mut seen: Vec<String> = word_terms(e.text).into_iter().chain(char_terms(e.text)).collect();
            seen.sort();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut terms: Vec<String> =
            df.iter().filter(|(t, &n)| t.starts_with("w:") || n >= CHAR_MIN_DF).map(|(t, _)| t.clone()).collect();
        terms.sort();
        let n = examples.len() as f32;
        let idf: Vec<f32> = terms.iter().map(|t| ((1.0 + n) / (1.0 + df[t] as f32)).ln() + 1.0).collect();
        let header = Header { version: VERSION.into(), classes, embed_dim, terms, idf };
        let base = header.embed_dim + header.classes.len();
        let index = header.terms.iter().enumerate().map(|(i, t)| (t.clone(), base + i)).collect();
        let dim = base + header.terms.len() + 1;
        let k = header.classes.len();
        let mut model = Classifier {
            header,
            index,
            labels: labels.clone(),
            weights: vec![0.0; k * dim],
            dim,
            word_grams: WordGrams::default(),
        }
        .with_word_grams(examples);

        // A fixed split (not the core count) keeps the trained model the same everywhere.
        let chunk = examples.len().div_ceil(TRAINING_THREADS).max(1);
        // Leave-one-out neighbour features: an example must not find itself.
        let feats: Vec<Features> = std::thread::scope(|scope| {
            let model = &model;
            let handles: Vec<_> = examples
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter().map(|e| model.features(nearest, e.text, e.embedding, true).0).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        });
        let mut counts = vec![0usize; k];
        labels.iter().for_each(|&l| counts[l] += 1);
        let weight: Vec<f32> = labels.iter().map(|&l| n / (k as f32 * counts[l].max(1) as f32) / n).collect();
        let decay = 1.0 / (C * n);
        let (mut m, mut v) = (vec![0.0f32; k * dim], vec![0.0f32; k * dim]);
        let mut grad = vec![0.0f32; k * dim];
        for t in 1..=ITERATIONS {
            // Each thread sums the gradient of its share of the examples; the shares are
            // added in a fixed order, so training stays deterministic.
            let partials: Vec<Vec<f32>> = std::thread::scope(|scope| {
                let model = &model;
                let handles: Vec<_> = feats
                    .chunks(chunk)
                    .zip(labels.chunks(chunk))
                    .zip(weight.chunks(chunk))
                    .map(|((fs, ys), ws)| {
                        scope.spawn(move || {
                            let mut g = vec![0.0f32; k * dim];
                            for ((f, &y), &w) in fs.iter().zip(ys).zip(ws) {
                                let p = softmax(model.logits(f));
                                let gc: Vec<f32> = p
                                    .into_iter()
                                    .enumerate()
                                    .map(|(c, pc)| (pc - if c == y { 1.0 } else { 0.0 }) * w)
                                    .collect();
                                for &(i, x) in f {
                                    g[i * k..(i + 1) * k].iter_mut().zip(&gc).for_each(|(g, gc)| *g += gc * x);
                                }
                                g[(dim - 1) * k..].iter_mut().zip(&gc).for_each(|(g, gc)| *g += gc);
                            }
                            g
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
            });
            grad.iter_mut().zip(&model.weights).for_each(|(g, w)| *g = w * decay);
            for part in partials {
                grad.iter_mut().zip(part).for_each(|(g, p)| *g += p);
            }
            let (b1, b2) = (1.0 - 0.9f32.powi(t as i32), 1.0 - 0.999f32.powi(t as i32));
            for (((w, g), m), v) in model.weights.iter_mut().zip(&grad).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = 0.9 * *m + 0.1 * g;
                *v = 0.999 * *v + 0.001 * g * g;
                *w -= LEARNING_RATE * (*m / b1) / ((*v / b2).sqrt() + 1e-8);
            }
        }
        model
    }

    /// (header JSON, weights class by class) for the store.
    pub fn to_parts(&self) -> (String, Vec<f32>) {
        let class_major = transposed(&self.weights, self.dim, self.header.classes.len());
        (serde_json::to_string(&self.header).unwrap_or_default(), class_major)
    }

    /// Rebuilds a cached model; `None` when it does not fit (older format).
    pub fn from_parts(header: &str, weights: Vec<f32>, examples: &[Example<'_>]) -> Option<Classifier> {
        let header: Header = serde_json::from_str(header).ok()?;
        if header.version != VERSION {
            return None;
        }
        let base = header.embed_dim + header.classes.len();
        let dim = base + header.terms.len() + 1;
        if weights.len() != dim * header.classes.len() {
            return None;
        }
        let index = header.terms.iter().enumerate().map(|(i, t)| (t.clone(), base + i)).collect();
        let class_of = |e: &Example<'_>| header.classes.iter().position(|c| c == e.category.unwrap_or(NONE));
        let labels = examples.iter().map(class_of).collect::<Option<_>>()?;
        let weights = transposed(&weights, header.classes.len(), dim);
        Some(
            Classifier { header, index, labels, weights, dim, word_grams: WordGrams::default() }
                .with_word_grams(examples),
        )
    }
}

fn softmax(mut z: Vec<f32>) -> Vec<f32> {
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    z.iter_mut().for_each(|x| {
        *x = (*x - max).exp();
        sum += *x
    });
    z.iter_mut().for_each(|x| *x /= sum);
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_words_bigrams_and_padded_character_ngrams() {
        assert_eq!(word_terms("It's too pricey!"), ["w:it", "w:too", "w:pricey", "w:it too", "w:too pricey"]);
        let c = char_terms("no");
        assert!(c.contains(&"c: n".to_owned()) && c.contains(&"c: no ".to_owned()), "{c:?}");
    }

    #[test]
    fn learns_to_separate_classes_from_words_and_vectors() {
        // Unit vectors at an angle: each class has its own direction.
        let e = |deg: f32| vec![deg.to_radians().cos(), deg.to_radians().sin()];
        let v = [e(0.0), e(10.0), e(80.0), e(90.0), e(40.0), e(50.0)];
        let a = e(5.0);
        let examples = [
            Example { text: "way too expensive", category: Some("price"), embedding: &v[0] },
            Example { text: "costs too much money", category: Some("price"), embedding: &v[1] },
            Example { text: "we have no budget", category: Some("budget"), embedding: &v[2] },
            Example { text: "the budget is frozen", category: Some("budget"), embedding: &v[3] },
            Example { text: "the price is fine", category: None, embedding: &v[4] },
            Example { text: "budget approved already", category: None, embedding: &v[5] },
        ];
        let nearest = VectorIndex::build(2, v.iter().map(Vec::as_slice));
        let m = Classifier::train(&examples, &nearest);
        let p = m.predict(&nearest, "much too expensive", &a).probs;
        let best = (0..p.len()).max_by(|&i, &j| p[i].total_cmp(&p[j])).unwrap();
        assert_eq!(m.classes()[best], "price", "{p:?}");
        let (header, weights) = m.to_parts();
        let again = Classifier::from_parts(&header, weights, &examples).expect("round trip");
        assert_eq!(again.predict(&nearest, "much too expensive", &a).probs, p);
    }

    #[test]
    fn known_words_give_the_same_character_ngrams_as_counting_each_one() {
        let v = [vec![1.0, 0.0], vec![0.0, 1.0]];
        let examples = [
            Example { text: "Way too expensive, honestly", category: Some("price"), embedding: &v[0] },
            Example { text: "no budget this year", category: None, embedding: &v[1] },
        ];
        let m = Classifier::train(&examples, &VectorIndex::build(2, v.iter().map(Vec::as_slice)));
        assert!(m.word_grams.of.contains_key("expensive,") && !m.word_grams.of.contains_key("pricey"));
        // Known words (any case, punctuation kept as in training), unknown ones, both.
        for text in ["WAY too expensive, honestly", "far too pricey", "no budget, too expensive this year!"] {
            let mut cached = Vec::new();
            m.char_features(text, &mut cached);
            let mut counted: Vec<usize> = char_terms(text).iter().filter_map(|t| m.index.get(t).copied()).collect();
            cached.sort_unstable();
            counted.sort_unstable();
            assert!(!counted.is_empty());
            assert_eq!(cached, counted, "{text}");
        }
    }
}
