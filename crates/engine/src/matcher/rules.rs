//! Rules that no similarity score captures well: questions, negation, reassurance.

use super::text::Token;

/// Questions are usually curiosity, not resistance.
pub const QUESTION_FACTOR: f32 = 0.75;

const INTERROGATIVES: &[&str] = &[
    "what", "how", "when", "where", "which", "who", "does", "do", "is", "are", "can", "could", "would", "will",
    "should", "did", "have", "has",
];
const NEGATIONS: &[&str] = &["not", "no", "never", "nothing", "none", "nobody", "nowhere", "neither", "nor"];
/// Phrases that turn objection words into reassurance ("price isn't an issue").
const REASSURANCE: &[&str] = &[
    "not an issue",
    "not a problem",
    "no problem",
    "not a concern",
    "no concerns",
    "not worried",
    "no issue",
    "no issues",
    "is fine",
    "are fine",
    "works great",
    "work great",
    "sounds good",
    "sounds great",
    "makes sense",
    "got approved",
    "was approved",
    "been approved",
    "is approved",
    "budget approved",
    "all set",
    "not a blocker",
    "no blocker",
    "love it",
    "looks great",
];

pub fn is_question(text: &str, tokens: &[Token]) -> bool {
    text.trim_end().ends_with('?')
        || tokens
            .iter()
            .find(|t| !matches!(t.word.as_str(), "um" | "uh" | "so" | "and" | "okay" | "ok" | "oh" | "well" | "but"))
            .is_some_and(|t| INTERROGATIVES.contains(&t.word.as_str()))
}

pub fn negated(tokens: &[Token]) -> bool {
    tokens.iter().any(|t| NEGATIONS.contains(&t.word.as_str()))
}

/// The reassurance phrase in a span ("price is not an issue"), if any.
pub fn reassurance(span_words: &str) -> Option<&'static str> {
    let padded = format!(" {span_words} ");
    REASSURANCE.iter().copied().find(|r| padded.contains(&format!(" {r} ")))
}
