//! Turning spoken text into comparable terms: normalise, split, stem, window.

use rust_stemmers::{Algorithm, Stemmer};

/// Words that carry no objection on their own. Negations, "too", "already", "send" and
/// the like are deliberately kept: they are what objections are made of.
const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "i",
    "we",
    "you",
    "he",
    "she",
    "they",
    "me",
    "us",
    "him",
    "her",
    "them",
    "my",
    "our",
    "your",
    "their",
    "his",
    "um",
    "uh",
    "erm",
    "hmm",
    "like",
    "just",
    "so",
    "well",
    "yeah",
    "yes",
    "okay",
    "ok",
    "oh",
    "honestly",
    "really",
    "actually",
    "basically",
    "literally",
    "kind",
    "sort",
    "mean",
    "guess",
    "do",
    "does",
    "did",
    "have",
    "has",
    "had",
    "will",
    "would",
    "could",
    "should",
    "shall",
    "there",
    "here",
    "then",
    "than",
    "about",
    "look",
    "listen",
    "gonna",
    "wanna",
    "gotta",
    "s",
    "d",
    "ll",
    "re",
    "ve",
    "m",
    "t",
    "right",
    "now",
    "get",
    "got",
    "go",
    "going",
    "thing",
    "things",
    "stuff",
    "some",
    "any",
    "all",
    "very",
    "pretty",
    "quite",
    "bit",
    "lot",
    "much",
    "what",
    "which",
    "who",
    "whom",
    "if",
    "but",
    "because",
    "since",
    "also",
    "though",
    "even",
    "that's",
];

/// Contractions expanded so "can't" and "cannot" and "can not" meet.
fn expand(word: &str) -> Option<&'static str> {
    Some(match word {
        "can't" | "cannot" | "cant" => "can not",
        "won't" | "wont" => "will not",
        "don't" | "dont" => "do not",
        "doesn't" | "doesnt" => "does not",
        "didn't" | "didnt" => "did not",
        "isn't" | "isnt" => "is not",
        "aren't" | "arent" => "are not",
        "wasn't" | "wasnt" => "was not",
        "weren't" => "were not",
        "haven't" | "havent" => "have not",
        "hasn't" | "hasnt" => "has not",
        "hadn't" => "had not",
        "wouldn't" | "wouldnt" => "would not",
        "couldn't" | "couldnt" => "could not",
        "shouldn't" | "shouldnt" => "should not",
        "ain't" => "is not",
        "we're" => "we are",
        "they're" => "they are",
        "you're" => "you are",
        "i'm" => "i am",
        "we've" => "we have",
        "i've" => "i have",
        "they've" => "they have",
        "we'll" => "we will",
        "i'll" => "i will",
        "it's" => "it is",
        "that's" => "that is",
        "there's" => "there is",
        "what's" => "what is",
        "let's" => "let us",
        "we'd" => "we would",
        "i'd" => "i would",
        _ => return None,
    })
}

pub struct Analyzer {
    stemmer: Stemmer,
}

/// One word of an utterance: its surface form and its stem (`None` for stopwords).
#[derive(Debug, Clone)]
pub struct Token {
    pub word: String,
    pub stem: Option<String>,
    /// Index of the clause (split at punctuation and "but"/"because") it belongs to.
    pub clause: usize,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { stemmer: Stemmer::create(Algorithm::English) }
    }
}

impl Analyzer {
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let lowered = text.to_lowercase().replace(['’', '‘'], "'");
        let mut out = Vec::new();
        let mut clause = 0;
        let mut word = String::new();
        let flush = |word: &mut String, clause: usize, out: &mut Vec<Token>| {
            let w = word.trim_matches('\'').to_owned();
            word.clear();
            if w.is_empty() {
                return;
            }
            let parts: Vec<String> = match expand(&w) {
                Some(e) => e.split(' ').map(String::from).collect(),
                None => match w.strip_suffix("'s") {
                    Some(base) => vec![base.to_owned()],
                    None => vec![w.replace('\'', "")],
                },
            };
            for p in parts {
                let stem = (!STOPWORDS.contains(&p.as_str())).then(|| self.stem(&p));
                out.push(Token { word: p, stem, clause });
            }
        };
        for c in lowered.chars() {
            if c.is_alphanumeric() || c == '\'' {
                word.push(c);
            } else {
                flush(&mut word, clause, &mut out);
                if matches!(c, ',' | '.' | ';' | '!' | '?' | ':' | '—' | '–') {
                    clause += 1;
                }
            }
        }
        flush(&mut word, clause, &mut out);
        // "but" and "because" open a new clause: the objection often follows them.
        let mut shift = 0;
        for t in &mut out {
            if matches!(t.word.as_str(), "but" | "because" | "though" | "although") {
                shift += 1;
            }
            t.clause += shift;
        }
        out
    }

    pub fn stem(&self, word: &str) -> String {
        self.stemmer.stem(word).into_owned()
    }

    /// Content stems only, in order.
    pub fn stems(&self, text: &str) -> Vec<String> {
        self.tokens(text).into_iter().filter_map(|t| t.stem).collect()
    }
}

/// Spans of an utterance worth scoring on their own: the whole text, each clause with
/// its neighbour, and sliding windows over long turns (an objection is often one clause
/// in a rambling answer). Returned as token index ranges.
pub fn windows(tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let n = tokens.len();
    // The whole utterance is always a candidate span.
    let mut spans: Vec<std::ops::Range<usize>> = Vec::with_capacity(8);
    spans.push(0..n);
    if n == 0 {
        return spans;
    }
    let clauses = tokens.last().map_or(0, |t| t.clause) + 1;
    let start_of = |c: usize| tokens.iter().position(|t| t.clause >= c).unwrap_or(n);
    if clauses > 1 {
        for c in 0..clauses {
            let (a, b, b2) = (start_of(c), start_of(c + 1), start_of(c + 2));
            if a < b {
                spans.push(a..b);
            }
            if a < b2 && b2 > b {
                spans.push(a..b2);
            }
        }
    }
    const WIDTH: usize = 12;
    if n > WIDTH + 2 {
        let mut s = 0;
        while s + WIDTH < n {
            spans.push(s..s + WIDTH);
            s += 4;
        }
        spans.push(n - WIDTH..n);
    }
    spans.sort_by_key(|r| (r.start, r.end));
    spans.dedup();
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_contractions_and_drops_fillers() {
        let a = Analyzer::default();
        assert_eq!(a.stems("Um, we can't afford it, honestly"), vec!["can", "not", "afford"]);
        assert_eq!(a.stems("It's way too expensive"), vec!["way", "too", "expens"]);
    }

    #[test]
    fn splits_clauses_at_punctuation_and_but() {
        let a = Analyzer::default();
        let t = a.tokens("the demo was great but we have no budget");
        let last = t.last().unwrap().clause;
        assert_eq!(t[0].clause, 0);
        assert_eq!(last, 1);
        let w = windows(&t);
        assert!(w.contains(&(4..t.len())), "{w:?}");
    }
}
