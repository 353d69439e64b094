//! Whisper's text vocabulary as raw bytes, read from a Hugging Face `tokenizer.json`
//! (or CTranslate2's `vocabulary.txt`) through GPT-2's byte-level alphabet.

use std::collections::HashMap;

use serde::Deserialize;

/// The special token that ends the text vocabulary whisper.cpp wants from the file.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// GPT-2's `bytes_to_unicode` inverse: printable stand-in character -> original byte.
pub fn byte_decoder() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = Vec::with_capacity(256);
    printable.extend(u32::from(b'!')..=u32::from(b'~'));
    printable.extend(0xA1..=0xAC);
    printable.extend(0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut extra = 0u32;
    for b in 0u32..256 {
        let c = if printable.contains(&b) {
            b
        } else {
            extra += 1;
            255 + extra
        };
        if let (Some(ch), Ok(byte)) = (char::from_u32(c), u8::try_from(b)) {
            map.insert(ch, byte);
        }
    }
    map
}

/// Decode one byte-level token string; `None` if it uses a character outside the alphabet.
pub fn decode_token(token: &str, decoder: &HashMap<char, u8>) -> Option<Vec<u8>> {
    token.chars().map(|c| decoder.get(&c).copied()).collect()
}

#[derive(Deserialize)]
struct TokenizerJson {
    model: TokenizerModel,
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
}

#[derive(Deserialize)]
struct TokenizerModel {
    vocab: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

/// Tokens `0..=<|endoftext|>` as bytes, from the text of a `tokenizer.json`.
pub fn vocab_from_tokenizer_json(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let parsed: TokenizerJson =
        serde_json::from_str(text).map_err(|e| format!("tokenizer.json is not a BPE tokenizer: {e}"))?;
    let mut by_id: HashMap<u32, &str> = HashMap::with_capacity(parsed.model.vocab.len());
    for (token, id) in &parsed.model.vocab {
        by_id.insert(*id, token.as_str());
    }
    for added in &parsed.added_tokens {
        by_id.entry(added.id).or_insert(added.content.as_str());
    }
    let eot = by_id
        .iter()
        .find(|(_, t)| **t == END_OF_TEXT)
        .map(|(id, _)| *id)
        .ok_or_else(|| format!("tokenizer.json has no {END_OF_TEXT} token"))?;
    let decoder = byte_decoder();
    (0..=eot)
        .map(|id| {
            let token = by_id.get(&id).ok_or_else(|| format!("tokenizer.json has no token with id {id}"))?;
            if *token == END_OF_TEXT {
                return Ok(token.as_bytes().to_vec());
            }
            decode_token(token, &decoder)
                .ok_or_else(|| format!("token {id} ({token:?}) is not a GPT-2 byte-level string"))
        })
        .collect()
}

/// Tokens `0..=<|endoftext|>` from CTranslate2's `vocabulary.txt` (one token per line, in id order).
pub fn vocab_from_vocabulary_txt(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let decoder = byte_decoder();
    let mut out = Vec::new();
    for (id, line) in text.split('\n').enumerate() {
        let token = line.strip_suffix('\r').unwrap_or(line);
        if token == END_OF_TEXT {
            out.push(token.as_bytes().to_vec());
            return Ok(out);
        }
        let bytes = decode_token(token, &decoder)
            .ok_or_else(|| format!("vocabulary.txt line {} ({token:?}) is not a GPT-2 byte-level string", id + 1))?;
        out.push(bytes);
    }
    Err(format!("vocabulary.txt has no {END_OF_TEXT} token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_covers_all_bytes() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'A'], b'A');
        assert_eq!(d[&'Ġ'], b' '); // U+0120
        assert_eq!(d[&'Ċ'], b'\n'); // U+010A
        assert_eq!(d[&'Ā'], 0); // U+0100
        let mut bytes: Vec<u8> = d.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
    }

    #[test]
    fn tokenizer_json_to_bytes() {
        let json = r#"{"model":{"type":"BPE","vocab":{"!":0,"Ġthe":1,"Ã©":2,"<|endoftext|>":3}},
                       "added_tokens":[{"id":3,"content":"<|endoftext|>"},{"id":4,"content":"<|startoftranscript|>"}]}"#;
        let v = vocab_from_tokenizer_json(json).unwrap();
        assert_eq!(v, vec![b"!".to_vec(), b" the".to_vec(), "é".as_bytes().to_vec(), b"<|endoftext|>".to_vec()]);
    }

    #[test]
    fn tokenizer_json_errors_are_reported() {
        assert!(vocab_from_tokenizer_json("{}").is_err());
        assert!(vocab_from_tokenizer_json(r#"{"model":{"vocab":{"a":0}}}"#).unwrap_err().contains("endoftext"));
        let gap = r#"{"model":{"vocab":{"a":0,"<|endoftext|>":2}}}"#;
        assert!(vocab_from_tokenizer_json(gap).unwrap_err().contains("id 1"));
    }

    #[test]
    fn vocabulary_txt_to_bytes() {
        let v = vocab_from_vocabulary_txt("!\nĠa\n<|endoftext|>\n<|startoftranscript|>\n").unwrap();
        assert_eq!(v, vec![b"!".to_vec(), b" a".to_vec(), b"<|endoftext|>".to_vec()]);
    }
}
