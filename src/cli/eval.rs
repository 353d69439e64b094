//! `cuecard eval SET.jsonl`: how well the matcher names objections, on labelled text.

use anyhow::{bail, Context};
use clap::Args;
use cuecard_engine::matcher::{LexicalMatcher, Matcher};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct EvalArgs {
    /// JSON Lines: utterances `{"id","text","expect"}` or calls `{"id","turns":[{"speaker","text","expect"}]}`.
    pub set: PathBuf,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Use this objection-library folder instead of the imported library.
    #[arg(long)]
    pub library: Option<PathBuf>,
    /// Card threshold (default: the matcher's calibrated value).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// List every wrong item.
    #[arg(long)]
    pub errors: bool,
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: String,
    text: Option<String>,
    expect: Option<String>,
    turns: Option<Vec<Turn>>,
}

#[derive(Deserialize)]
struct Turn {
    speaker: String,
    text: String,
    expect: String,
}

struct Item {
    id: String,
    text: String,
    expect: String,
    /// Rep turns never fire in the pipeline; they are scored as such.
    rep: bool,
}

#[derive(Serialize, Default)]
struct CategoryScore {
    n: usize,
    correct: usize,
    recall: f64,
}

#[derive(Serialize)]
struct Miss {
    id: String,
    text: String,
    expect: String,
    got: String,
    score: f32,
}

#[derive(Serialize)]
struct Report {
    set: String,
    matcher: String,
    threshold: f32,
    items: usize,
    objection_items: usize,
    none_items: usize,
    accuracy: f64,
    false_alarm_rate: f64,
    false_alarms: usize,
    per_category: BTreeMap<String, CategoryScore>,
    confusions: BTreeMap<String, usize>,
    errors: Vec<Miss>,
}

fn read_set(path: &Path) -> anyhow::Result<Vec<Item>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), i + 1);
        let line: Line = serde_json::from_str(raw)
            .with_context(|| format!("{}: not a valid JSON object", at()))?;
        match (line.text, line.expect, line.turns) {
            (Some(text), Some(expect), None) => items.push(Item {
                id: line.id,
                text,
                expect,
                rep: false,
            }),
            (None, None, Some(turns)) => {
                for (t, turn) in turns.into_iter().enumerate() {
                    if turn.speaker != "rep" && turn.speaker != "prospect" {
                        bail!(
                            "{}: turn {t}: speaker must be \"rep\" or \"prospect\", not {:?}",
                            at(),
                            turn.speaker
                        );
                    }
                    items.push(Item {
                        id: format!("{}#{t}", line.id),
                        text: turn.text,
                        expect: turn.expect,
                        rep: turn.speaker == "rep",
                    });
                }
            }
            _ => bail!(
                "{}: expected either \"text\" and \"expect\", or \"turns\"",
                at()
            ),
        }
    }
    if items.is_empty() {
        bail!("{} holds no items", path.display());
    }
    Ok(items)
}

pub fn run(a: EvalArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let items = read_set(&a.set)?;
    let (store, _) = super::open_library(db, a.library.as_deref())?;
    let mut matcher = LexicalMatcher::new(store)?;
    if let Some(t) = a.threshold {
        matcher = matcher.with_threshold(t);
    }
    let threshold = matcher.threshold();
    let mut per_category: BTreeMap<String, CategoryScore> = BTreeMap::new();
    let mut confusions: BTreeMap<String, usize> = BTreeMap::new();
    let (mut objections, mut correct, mut nones, mut false_alarms) = (0, 0, 0, 0);
    let mut errors = Vec::new();
    for item in &items {
        let best = if item.rep {
            None
        } else {
            matcher.best(&item.text)?
        };
        let got = best
            .as_ref()
            .map_or("none".to_owned(), |c| c.category.clone());
        let ok = got == item.expect;
        if item.expect == "none" {
            nones += 1;
            false_alarms += usize::from(!ok);
        } else {
            objections += 1;
            correct += usize::from(ok);
            let c = per_category.entry(item.expect.clone()).or_default();
            c.n += 1;
            c.correct += usize::from(ok);
        }
        if !ok {
            *confusions
                .entry(format!("{} -> {}", item.expect, got))
                .or_default() += 1;
            errors.push(Miss {
                id: item.id.clone(),
                text: item.text.clone(),
                expect: item.expect.clone(),
                got,
                score: best.map_or(0.0, |c| c.score),
            });
        }
    }
    for c in per_category.values_mut() {
        c.recall = ratio(c.correct, c.n);
    }
    let report = Report {
        set: a.set.display().to_string(),
        matcher: matcher.name().to_owned(),
        threshold,
        items: items.len(),
        objection_items: objections,
        none_items: nones,
        accuracy: ratio(correct, objections),
        false_alarm_rate: ratio(false_alarms, nones),
        false_alarms,
        per_category,
        confusions,
        errors,
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report, a.errors);
    }
    Ok(ExitCode::SUCCESS)
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn print_report(r: &Report, show_errors: bool) {
    println!(
        "{}: {} items ({} objections, {} none), matcher {} @ {:.2}",
        r.set, r.items, r.objection_items, r.none_items, r.matcher, r.threshold
    );
    println!("  top-1 accuracy on objections  {:.3}", r.accuracy);
    println!(
        "  false-alarm rate on none      {:.3}  ({} of {})",
        r.false_alarm_rate, r.false_alarms, r.none_items
    );
    println!("  per-category recall:");
    for (cat, s) in &r.per_category {
        println!("    {cat:<16} {:.2}  ({}/{})", s.recall, s.correct, s.n);
    }
    let mut conf: Vec<_> = r.confusions.iter().collect();
    conf.sort_by(|a, b| b.1.cmp(a.1));
    if !conf.is_empty() {
        println!("  confusions (expected -> got):");
        for (k, v) in conf.iter().take(15) {
            println!("    {v:>3}  {k}");
        }
    }
    if show_errors {
        println!("  errors:");
        for m in &r.errors {
            println!(
                "    {} [{} -> {} {:.2}] {}",
                m.id, m.expect, m.got, m.score, m.text
            );
        }
    }
}
