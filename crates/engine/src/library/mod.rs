//! The objection library: human-edited YAML files, validated into typed objections.

mod parse;
mod validate;

pub use parse::{load_default, load_dir, load_sources, write_dir};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseKind {
    Acknowledge,
    Question,
    Reframe,
    Proof,
}

impl ResponseKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ResponseKind::Acknowledge => "acknowledge",
            ResponseKind::Question => "question",
            ResponseKind::Reframe => "reframe",
            ResponseKind::Proof => "proof",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "acknowledge" => ResponseKind::Acknowledge,
            "question" => ResponseKind::Question,
            "reframe" => ResponseKind::Reframe,
            "proof" => ResponseKind::Proof,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub id: String,
    pub kind: ResponseKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    pub id: String,
    pub category: String,
    pub title: String,
    pub triggers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must_not_fire: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cues: Vec<String>,
    pub responses: Vec<Response>,
    /// File the objection came from (relative name), so export keeps the layout.
    #[serde(skip)]
    pub source_file: String,
}

#[derive(Debug, Clone, Default)]
pub struct Library {
    pub objections: Vec<Objection>,
    /// Phrasings that must never fire any card (questions, reassurance, pitch lines).
    pub not_objections: Vec<String>,
    /// Non-fatal remarks (e.g. fewer triggers than recommended).
    pub warnings: Vec<Problem>,
}

/// One thing wrong with one place in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}: {}", self.field, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("cannot read objection library {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
    #[error(
        "the objection library {0} has no objections: add at least one *.yaml file (see objection-library/README.md)"
    )]
    Empty(PathBuf),
}

fn render_problems(problems: &[Problem]) -> String {
    let mut s = format!(
        "the objection library has {} problem{} (nothing was imported):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

impl Library {
    pub fn categories(&self) -> Vec<String> {
        let mut c: Vec<String> = self.objections.iter().map(|o| o.category.clone()).collect();
        c.sort();
        c.dedup();
        c
    }

    /// A whisper initial prompt naming the library's proper nouns and acronyms
    /// (competitor names, compliance terms): the words a small model misspells and the
    /// matcher then misses. Lower-case cues are spelling variants of those and are left
    /// out, as are repeats that differ only in spacing or case ("SOC 2", "SOC2").
    /// `None` when the library has no such terms.
    pub fn asr_prompt(&self) -> Option<String> {
        // whisper keeps at most half its 448-token context for the prompt; stay well below.
        const MAX_TERMS: usize = 40;
        let mut seen = std::collections::HashSet::new();
        let terms: Vec<&str> = self
            .objections
            .iter()
            .flat_map(|o| o.cues.iter())
            .map(|c| c.trim())
            .filter(|c| c.chars().any(|ch| ch.is_uppercase()))
            .filter(|c| seen.insert(c.chars().filter(|ch| ch.is_alphanumeric()).collect::<String>().to_lowercase()))
            .take(MAX_TERMS)
            .collect();
        (!terms.is_empty()).then(|| format!("{}.", terms.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objection(cues: &[&str]) -> Objection {
        Objection {
            id: "x".into(),
            category: "competitor".into(),
            title: "x".into(),
            triggers: vec![],
            must_not_fire: vec![],
            cues: cues.iter().map(|c| c.to_string()).collect(),
            responses: vec![],
            source_file: String::new(),
        }
    }

    #[test]
    fn asr_prompt_keeps_proper_nouns_once_in_library_order() {
        let lib = Library {
            objections: vec![objection(&["Gong", "gong io", "SOC 2"]), objection(&["SOC2", "pen test", "CISO"])],
            ..Library::default()
        };
        assert_eq!(lib.asr_prompt().as_deref(), Some("Gong, SOC 2, CISO."));
        assert_eq!(Library { objections: vec![objection(&["pen test"])], ..Library::default() }.asr_prompt(), None);
    }
}
