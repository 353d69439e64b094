//! Rules every objection must satisfy, with the file line of each problem.

use super::{Objection, Problem};
use std::collections::HashMap;
use std::path::PathBuf;

/// Below this many triggers matching gets unreliable: warn (the default library has ≥ 10).
const RECOMMENDED_TRIGGERS: usize = 10;
const MIN_TRIGGERS: usize = 3;
const MAX_RESPONSES: usize = 3;

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
}

/// Line (1-based) of `field` inside the objection with `id` (or of `field` anywhere).
pub(super) fn locate(text: &str, id: Option<&str>, field: &str) -> Option<usize> {
    Locator::new(text).line(id, field)
}

/// Finds lines in one YAML file. Each `id:` line is found once up front, so a file of
/// thousands of objections is not rescanned from the top for each of them.
struct Locator<'a> {
    lines: Vec<&'a str>,
    /// Index of the first line declaring each id.
    id_lines: HashMap<&'a str, usize>,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut id_lines = HashMap::new();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start().trim_start_matches("- ").trim();
            if let Some(v) = t.strip_prefix("id:") {
                id_lines.entry(v.trim().trim_matches(|c| c == '"' || c == '\'')).or_insert(i);
            }
        }
        Locator { lines, id_lines }
    }

    fn line(&self, id: Option<&str>, field: &str) -> Option<usize> {
        let start = match id {
            Some(id) => *self.id_lines.get(id)?,
            None => 0,
        };
        let key = field.rsplit('.').next().unwrap_or(field);
        let key = key.split('[').next().unwrap_or(key);
        let key = format!("{key}:");
        let found = self.lines[start..]
            .iter()
            .position(|l| l.trim_start().trim_start_matches("- ").starts_with(&key))
            .map(|i| start + i + 1);
        found.or(Some(start + 1))
    }
}

pub(super) fn validate(
    items: Vec<(PathBuf, &str, Objection)>,
    problems: &mut Vec<Problem>,
) -> (Vec<Objection>, Vec<Problem>) {
    let mut warnings = Vec::new();
    let mut seen: HashMap<String, (PathBuf, &Locator<'_>)> = HashMap::new();
    let mut out = Vec::new();
    // One locator per source text (by address: two sources may share a path, and hashing
    // a large file's contents per objection would be as slow as rescanning it).
    let mut locators: HashMap<(*const u8, usize), Locator<'_>> = HashMap::new();
    for (_, text, _) in &items {
        locators.entry((text.as_ptr(), text.len())).or_insert_with(|| Locator::new(text));
    }
    for (file, text, o) in items {
        let locator = &locators[&(text.as_ptr(), text.len())];
        let at = |field: &str| locator.line(Some(&o.id), field);
        let mut bad = |field: &str, message: String| {
            problems.push(Problem {
                file: file.clone(),
                line: at(field),
                field: format!("{}.{field}", if o.id.is_empty() { "objection" } else { &o.id }),
                message,
            })
        };
        if !valid_id(&o.id) {
            bad("id", format!("`{}` is not a valid id: use lowercase letters, digits and hyphens", o.id));
        }
        if !valid_id(&o.category) {
            bad(
                "category",
                format!("`{}` is not a valid category id: use lowercase letters, digits and hyphens", o.category),
            );
        }
        if o.title.trim().is_empty() {
            bad("title", "is empty: give the card a short title".into());
        }
        let triggers = o.triggers.iter().filter(|t| !t.trim().is_empty()).count();
        if triggers < MIN_TRIGGERS {
            bad("triggers", format!("has {triggers} phrasing(s); write at least {MIN_TRIGGERS} (ideally {RECOMMENDED_TRIGGERS}+) ways a prospect says it"));
        } else if triggers < RECOMMENDED_TRIGGERS {
            warnings.push(Problem {
                file: file.clone(),
                line: at("triggers"),
                field: format!("{}.triggers", o.id),
                message: format!("only {triggers} phrasings; {RECOMMENDED_TRIGGERS}+ match far more reliably"),
            });
        }
        if o.triggers.iter().any(|t| t.trim().is_empty()) {
            bad("triggers", "contains an empty phrasing".into());
        }
        if o.responses.is_empty() || o.responses.len() > MAX_RESPONSES {
            bad(
                "responses",
                format!("has {} responses; a card shows 1 to {MAX_RESPONSES} (2–3 recommended)", o.responses.len()),
            );
        }
        let mut response_ids: Vec<&str> = Vec::new();
        for r in &o.responses {
            if !valid_id(&r.id) {
                bad(
                    "responses",
                    format!("response id `{}` is not valid: use lowercase letters, digits and hyphens", r.id),
                );
            } else if response_ids.contains(&r.id.as_str()) {
                bad("responses", format!("response id `{}` is used twice in this objection", r.id));
            }
            response_ids.push(&r.id);
            if r.text.trim().is_empty() {
                bad("responses", format!("response `{}` has no text", r.id));
            }
        }
        if !o.id.is_empty() {
            if let Some((first_file, first)) = seen.get(&o.id) {
                let first_line = first.line(Some(&o.id), "id");
                bad(
                    "id",
                    format!(
                        "duplicate id `{}`: already used at {}:{}; ids must be unique across the library",
                        o.id,
                        first_file.display(),
                        first_line.unwrap_or(0)
                    ),
                );
            } else {
                seen.insert(o.id.clone(), (file.clone(), locator));
            }
        }
        out.push(o);
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::super::{load_sources, LibraryError};
    use std::path::{Path, PathBuf};

    fn objection(id: &str, triggers: usize) -> String {
        let t: String = (0..triggers).map(|i| format!("      - it is far too expensive number {i}\n")).collect();
        format!(
            "  - id: {id}\n    category: price\n    title: Too expensive\n    triggers:\n{t}    responses:\n      - id: a\n        kind: question\n        text: What would it need to cost?\n      - id: b\n        kind: proof\n        text: Teams like yours paid it back in a quarter.\n"
        )
    }

    fn load(files: &[(&str, String)]) -> Result<super::super::Library, LibraryError> {
        let sources: Vec<(PathBuf, String)> = files.iter().map(|(n, t)| (PathBuf::from(n), t.clone())).collect();
        load_sources(&sources, Path::new("lib"))
    }

    fn problems(r: Result<super::super::Library, LibraryError>) -> Vec<String> {
        match r {
            Err(LibraryError::Invalid(p)) => p.iter().map(ToString::to_string).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_good_file() {
        let lib = load(&[("price.yaml", format!("objections:\n{}", objection("price-high", 10)))]).unwrap();
        assert_eq!(lib.objections.len(), 1);
        assert!(lib.warnings.is_empty());
    }

    #[test]
    fn names_file_line_and_field_of_an_unknown_key() {
        let text = format!("objections:\n{}", objection("price-high", 10)).replace("kind: proof", "knd: proof");
        let p = problems(load(&[("price.yaml", text)]));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("price.yaml:"), "{}", p[0]);
        assert!(p[0].contains("knd"), "{}", p[0]);
    }

    #[test]
    fn rejects_duplicate_ids_across_files_naming_both() {
        let p = problems(load(&[
            ("a.yaml", format!("objections:\n{}", objection("dup", 10))),
            ("b.yaml", format!("objections:\n{}", objection("dup", 10))),
        ]));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("b.yaml:2: dup.id: duplicate id `dup`: already used at a.yaml:2"), "{}", p[0]);
    }

    #[test]
    fn rejects_too_few_triggers_and_bad_kind() {
        let p = problems(load(&[("x.yaml", format!("objections:\n{}", objection("few", 2)))]));
        assert!(p[0].contains("few.triggers") && p[0].contains("at least 3"), "{p:?}");
        let text = format!("objections:\n{}", objection("k", 10)).replace("kind: proof", "kind: bribe");
        let p = problems(load(&[("x.yaml", text)]));
        assert!(p[0].contains("bribe"), "{p:?}");
    }

    #[test]
    fn an_empty_library_is_an_error() {
        assert!(matches!(load(&[]), Err(LibraryError::Empty(_))));
        let p = problems(load(&[("e.yaml", String::new())]));
        assert!(p[0].contains("e.yaml:1"), "{p:?}");
    }

    #[test]
    fn warns_below_ten_triggers() {
        let lib = load(&[("x.yaml", format!("objections:\n{}", objection("w", 5)))]).unwrap();
        assert_eq!(lib.warnings.len(), 1);
    }

    #[test]
    fn a_problem_deep_in_a_file_names_its_own_objections_line() {
        let text = format!("objections:\n{}{}{}", objection("a", 10), objection("b", 10), objection("c", 5));
        let lib = load(&[("x.yaml", text.clone())]).unwrap();
        let c_at = text.lines().position(|l| l.trim() == "- id: c").unwrap();
        let triggers_at = c_at + text.lines().skip(c_at).position(|l| l.trim() == "triggers:").unwrap();
        assert_eq!(lib.warnings.len(), 1);
        assert_eq!(lib.warnings[0].line, Some(triggers_at + 1), "{:?}", lib.warnings[0]);
    }

    #[test]
    fn two_sources_with_one_path_each_find_lines_in_their_own_text() {
        let first = format!("objections:\n{}", objection("a", 10));
        let second = format!("objections:\n\n\n{}", objection("c", 5));
        let lib = load(&[("x.yaml", first), ("x.yaml", second)]).unwrap();
        assert_eq!(lib.warnings.len(), 1);
        assert_eq!(lib.warnings[0].line, Some(7), "{:?}", lib.warnings[0]);
    }
}
