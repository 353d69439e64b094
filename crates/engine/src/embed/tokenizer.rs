//! BERT's uncased tokenizer over `vocab.txt`: the same steps, in the same order, as the
//! Hugging Face `tokenizers` pipeline in the model's tokenizer.json (special tokens matched
//! in the raw text, BertNormalizer, BertPreTokenizer, WordPiece, `[CLS] ... [SEP]`), which
//! is what sentence-transformers runs.

use std::collections::HashMap;

use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

/// Longer words become `[UNK]` (WordPiece's `max_input_chars_per_word`).
const MAX_INPUT_CHARS_PER_WORD: usize = 100;

/// Tokens matched verbatim in the input before normalisation (tokenizer.json's added tokens).
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A WordPiece vocabulary and the ids of the tokens the model needs.
#[derive(Debug, Clone)]
pub(crate) struct Tokenizer {
    vocab: HashMap<String, u32>,
    /// Special tokens present in the vocabulary, matched in the raw text.
    specials: Vec<(&'static str, u32)>,
    unk: u32,
    cls: u32,
    sep: u32,
    pad: u32,
}

impl Tokenizer {
    /// Parse `vocab.txt`: one token per line, the id is the line number.
    pub(crate) fn from_vocab(text: &str) -> Result<Tokenizer, String> {
        let mut vocab = HashMap::new();
        for (id, line) in text.split('\n').enumerate() {
            let token = line.strip_suffix('\r').unwrap_or(line);
            if token.is_empty() {
                continue;
            }
            let id = u32::try_from(id).map_err(|_| "it has more than 2^32 lines".to_string())?;
            vocab.insert(token.to_string(), id);
        }
        let id_of = |t: &str| vocab.get(t).copied().ok_or_else(|| format!("it has no {t} token"));
        let (unk, cls, sep, pad) = (id_of("[UNK]")?, id_of("[CLS]")?, id_of("[SEP]")?, id_of("[PAD]")?);
        let specials = SPECIAL_TOKENS.iter().filter_map(|t| vocab.get(*t).map(|id| (*t, *id))).collect();
        Ok(Tokenizer { vocab, specials, unk, cls, sep, pad })
    }

    /// Number of entries (the largest id + 1 for a well-formed vocab.txt).
    pub(crate) fn len(&self) -> usize {
        self.vocab.values().map(|&id| id as usize + 1).max().unwrap_or(0)
    }

    pub(crate) fn pad_id(&self) -> u32 {
        self.pad
    }

    /// `[CLS] pieces... [SEP]`, the pieces cut so that the whole is at most `max_len` ids.
    pub(crate) fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        ids.push(self.cls);
        self.pieces(text, &mut ids);
        ids.truncate(max_len.max(2) - 1);
        ids.push(self.sep);
        ids
    }

    /// The WordPiece ids of `text`, without `[CLS]`/`[SEP]` and uncut.
    fn pieces(&self, text: &str, out: &mut Vec<u32>) {
        let mut rest = text;
        while !rest.is_empty() {
            match self.next_special(rest) {
                Some((at, token, id)) => {
                    self.plain_pieces(&rest[..at], out);
                    out.push(id);
                    rest = &rest[at + token.len()..];
                }
                None => {
                    self.plain_pieces(rest, out);
                    break;
                }
            }
        }
    }

    /// The first special token in `text` (the longest if several start at the same place).
    fn next_special(&self, text: &str) -> Option<(usize, &'static str, u32)> {
        text.match_indices('[').find_map(|(at, _)| {
            self.specials
                .iter()
                .filter(|(t, _)| text[at..].starts_with(t))
                .max_by_key(|(t, _)| t.len())
                .map(|&(t, id)| (at, t, id))
        })
    }

    fn plain_pieces(&self, text: &str, out: &mut Vec<u32>) {
        let normalized = normalize(text);
        for word in pre_tokenize(&normalized) {
            self.word_piece(word, out);
        }
    }

    /// Greedy longest-match-first; a word that cannot be covered is one `[UNK]`.
    fn word_piece(&self, word: &str, out: &mut Vec<u32>) {
        let mut bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).collect();
        let n_chars = bounds.len();
        if n_chars > MAX_INPUT_CHARS_PER_WORD {
            out.push(self.unk);
            return;
        }
        bounds.push(word.len());
        let first = out.len();
        let mut candidate = String::with_capacity(word.len() + 2);
        let mut start = 0;
        while start < n_chars {
            let mut end = n_chars;
            let mut found = None;
            while start < end {
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                candidate.push_str(&word[bounds[start]..bounds[end]]);
                if let Some(&id) = self.vocab.get(candidate.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(first);
                    out.push(self.unk);
                    return;
                }
            }
        }
    }
}

/// BertNormalizer with clean_text, handle_chinese_chars, strip_accents and lowercase on:
/// drop NUL, U+FFFD and control/format/unassigned characters, turn whitespace into
/// spaces, put spaces around CJK ideographs, NFD and drop non-spacing marks, lowercase.
pub(crate) fn normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    // Lowercasing char by char (not str::to_lowercase, whose final sigma rule tokenizers lacks).
    cleaned.nfd().filter(|c| !c.is_mark_nonspacing()).flat_map(char::to_lowercase).collect()
}

/// BertPreTokenizer: split on whitespace, and every punctuation character is a word.
pub(crate) fn pre_tokenize(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_punctuation(c) {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
            if !c.is_whitespace() {
                words.push(&text[i..i + c.len_utf8()]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// ASCII punctuation (including symbols like `$`, `+`, `^`) or Unicode category P*.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

/// The CJK Unified Ideographs blocks BERT treats as one token each.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny vocabulary: ids are line numbers.
    const VOCAB: &str =
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nprice\nis\ntoo\nhigh\n,\n.\n!\n'\nun\n##aff\n##able\n\
                         cafe\n##s\nwe\n##e\n$\n5\n##0\n中\nσ\nt\n##t\n";

    fn tok() -> Tokenizer {
        Tokenizer::from_vocab(VOCAB).unwrap()
    }

    fn ids(words: &[&str]) -> Vec<u32> {
        let t = tok();
        words.iter().map(|w| t.vocab[*w]).collect()
    }

    #[test]
    fn vocab_ids_are_line_numbers() {
        let t = tok();
        assert_eq!((t.pad, t.unk, t.cls, t.sep), (0, 1, 2, 3));
        assert_eq!(t.vocab["the"], 5);
        assert_eq!(t.len(), 28);
        let crlf = Tokenizer::from_vocab("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nx\r\n").unwrap();
        assert_eq!(crlf.vocab["x"], 4);
        let e = Tokenizer::from_vocab("[PAD]\n[UNK]\n[SEP]\n").unwrap_err();
        assert!(e.contains("[CLS]"), "{e}");
    }

    #[test]
    fn lowercases_strips_accents_and_splits_punctuation() {
        assert_eq!(normalize("Café\tNAÏVE\u{0}\u{200b}x"), "cafe naivex");
        assert_eq!(pre_tokenize("the price,is  too high!"), vec!["the", "price", ",", "is", "too", "high", "!"]);
        assert_eq!(pre_tokenize("$50 we'e"), vec!["$", "50", "we", "'", "e"]);
        assert_eq!(normalize("中x"), " 中 x");
        // tokenizers lowercases char by char: no final-sigma rule.
        assert_eq!(normalize("Σ"), "σ");
    }

    #[test]
    fn word_piece_is_greedy_longest_match_first() {
        let t = tok();
        assert_eq!(
            t.encode("The PRICE is too high!", 256),
            [ids(&["[CLS]"]), ids(&["the", "price", "is", "too", "high", "!"]), ids(&["[SEP]"])].concat()
        );
        assert_eq!(t.encode("unaffable Cafés", 256), ids(&["[CLS]", "un", "##aff", "##able", "cafe", "##s", "[SEP]"]));
        assert_eq!(t.encode("$500", 256), ids(&["[CLS]", "$", "5", "##0", "##0", "[SEP]"]));
        // A word that cannot be covered is a single [UNK], whatever matched before.
        assert_eq!(t.encode("unx the", 256), ids(&["[CLS]", "[UNK]", "the", "[SEP]"]));
        // Over 100 characters: [UNK] without trying.
        assert_eq!(t.encode(&"the".repeat(34), 256), ids(&["[CLS]", "[UNK]", "[SEP]"]));
        assert_eq!(t.encode(&"t".repeat(100), 256).len(), 2 + 100);
        assert_eq!(t.encode("中中", 256), ids(&["[CLS]", "中", "中", "[SEP]"]));
        assert_eq!(t.encode("", 256), ids(&["[CLS]", "[SEP]"]));
    }

    #[test]
    fn special_tokens_in_the_text_are_kept_whole() {
        let t = tok();
        assert_eq!(
            t.encode("the[MASK]is [sep]", 256),
            ids(&["[CLS]", "the", "[MASK]", "is", "[UNK]", "[UNK]", "[UNK]", "[SEP]"])
        );
        assert_eq!(t.encode("[ the", 256), ids(&["[CLS]", "[UNK]", "the", "[SEP]"]));
    }

    #[test]
    fn long_input_is_cut_to_max_len_keeping_sep() {
        let t = tok();
        let long = "the ".repeat(300);
        let enc = t.encode(&long, 256);
        assert_eq!(enc.len(), 256);
        assert_eq!(enc[0], t.cls);
        assert_eq!(enc[255], t.sep);
        assert!(enc[1..255].iter().all(|&i| i == 5));
        assert_eq!(t.encode("the price", 3), vec![t.cls, 5, t.sep]);
    }
}
