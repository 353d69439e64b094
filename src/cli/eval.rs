//! `cuecard eval SET.jsonl`: how well the matcher names objections, on labelled text.

use anyhow::{bail, Context};
use clap::Args;
use cuecard_engine::matcher::Matcher;
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
    /// Matchers to score side by side, e.g. `--matcher bm25,hybrid` (default: the default matcher).
    #[arg(long, value_parser = super::matcher_arg(), value_delimiter = ',')]
    pub matcher: Vec<super::MatcherKind>,
    /// List every wrong item.
    #[arg(long)]
    pub errors: bool,
    /// Also report accuracy and false alarms over a range of thresholds (calibration).
    #[arg(long)]
    pub sweep: bool,
    /// Sentence encoder of the semantic and hybrid matchers: `adapted` (all-MiniLM-L6-v2
    /// with the built-in objection adapter) or `stock` (without it, for comparison).
    #[arg(long, value_enum, default_value_t = super::EncoderArg::Adapted)]
    pub encoder: super::EncoderArg,
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
    /// When no card fired: the category the matcher ranked first anyway, so a miss shows
    /// how near it came (or which rule held it back).
    #[serde(skip_serializing_if = "Option::is_none")]
    below_threshold: Option<NearMiss>,
}

#[derive(Serialize)]
struct NearMiss {
    category: String,
    score: f32,
    phrase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<String>,
}

#[derive(Serialize)]
struct Report {
    set: String,
    matcher: String,
    /// The sentence encoder's model id (semantic and hybrid only).
    #[serde(skip_serializing_if = "Option::is_none")]
    encoder: Option<String>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sweep: Vec<SweepPoint>,
}

#[derive(Serialize)]
struct SweepPoint {
    threshold: f32,
    accuracy: f64,
    false_alarm_rate: f64,
}

fn read_set(path: &Path) -> anyhow::Result<Vec<Item>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), i + 1);
        let line: Line = serde_json::from_str(raw).with_context(|| format!("{}: not a valid JSON object", at()))?;
        match (line.text, line.expect, line.turns) {
            (Some(text), Some(expect), None) => items.push(Item { id: line.id, text, expect, rep: false }),
            (None, None, Some(turns)) => {
                for (t, turn) in turns.into_iter().enumerate() {
                    if turn.speaker != "rep" && turn.speaker != "prospect" {
                        bail!("{}: turn {t}: speaker must be \"rep\" or \"prospect\", not {:?}", at(), turn.speaker);
                    }
                    items.push(Item {
                        id: format!("{}#{t}", line.id),
                        text: turn.text,
                        expect: turn.expect,
                        rep: turn.speaker == "rep",
                    });
                }
            }
            _ => bail!("{}: expected either \"text\" and \"expect\", or \"turns\"", at()),
        }
    }
    if items.is_empty() {
        bail!("{} holds no items", path.display());
    }
    Ok(items)
}

/// The texts of a set's items that the pipeline would match (every utterance; the
/// prospect's turns of a call), for `cuecard bench matcher --utterances`.
pub(super) fn matchable_texts(path: &Path) -> anyhow::Result<Vec<String>> {
    Ok(read_set(path)?.into_iter().filter(|i| !i.rep).map(|i| i.text).collect())
}

pub fn run(a: EvalArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let items = read_set(&a.set)?;
    let kinds: Vec<Option<super::MatcherKind>> =
        if a.matcher.is_empty() { vec![None] } else { a.matcher.iter().copied().map(Some).collect() };
    let mut reports = Vec::new();
    for kind in kinds {
        let (mut matcher, _) = super::build_matcher(kind, db, a.library.as_deref(), a.threshold, a.encoder.into())?;
        reports.push(score(&a.set, &items, &mut *matcher, a.sweep)?);
    }
    if a.json {
        if reports.len() == 1 {
            println!("{}", serde_json::to_string(&reports[0])?);
        } else {
            println!("{}", serde_json::json!({ "set": a.set.display().to_string(), "runs": reports }));
        }
    } else {
        for r in &reports {
            print_report(r, a.errors);
        }
        if reports.len() > 1 {
            print_side_by_side(&reports);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn score(set: &Path, items: &[Item], matcher: &mut dyn Matcher, sweep: bool) -> anyhow::Result<Report> {
    let threshold = matcher.threshold();
    // (expected, best unsuppressed category, its score) for the threshold sweep.
    let mut tops: Vec<(String, Option<(String, f32)>)> = Vec::new();
    let mut per_category: BTreeMap<String, CategoryScore> = BTreeMap::new();
    let mut confusions: BTreeMap<String, usize> = BTreeMap::new();
    let (mut objections, mut correct, mut nones, mut false_alarms) = (0, 0, 0, 0);
    let mut errors = Vec::new();
    for item in items {
        let ranked = if item.rep { Vec::new() } else { matcher.rank(&item.text, 1)? };
        let first = ranked.into_iter().next();
        let top = first.clone().filter(|c| c.suppressed.is_none());
        tops.push((item.expect.clone(), top.as_ref().map(|c| (c.category.clone(), c.score))));
        let best = top.filter(|c| c.fires(threshold));
        let got = best.as_ref().map_or("none".to_owned(), |c| c.category.clone());
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
            *confusions.entry(format!("{} -> {}", item.expect, got)).or_default() += 1;
            errors.push(Miss {
                id: item.id.clone(),
                text: item.text.clone(),
                expect: item.expect.clone(),
                below_threshold: first.filter(|_| best.is_none()).map(|c| NearMiss {
                    category: c.category,
                    score: c.score,
                    phrase: c.phrase,
                    suppressed: c.suppressed,
                }),
                got,
                score: best.map_or(0.0, |c| c.score),
            });
        }
    }
    for c in per_category.values_mut() {
        c.recall = ratio(c.correct, c.n);
    }
    Ok(Report {
        set: set.display().to_string(),
        matcher: matcher.name().to_owned(),
        encoder: matcher.encoder().map(str::to_owned),
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
        sweep: if sweep { sweep_points(&tops) } else { Vec::new() },
    })
}

fn sweep_points(tops: &[(String, Option<(String, f32)>)]) -> Vec<SweepPoint> {
    (20..=98)
        .step_by(2)
        .map(|t| {
            let t = t as f32 / 100.0;
            let (mut obj, mut ok, mut none, mut fa) = (0, 0, 0, 0);
            for (expect, top) in tops {
                let got = top.as_ref().filter(|(_, s)| *s >= t).map(|(c, _)| c.as_str());
                if expect == "none" {
                    none += 1;
                    fa += usize::from(got.is_some());
                } else {
                    obj += 1;
                    ok += usize::from(got == Some(expect.as_str()));
                }
            }
            SweepPoint { threshold: t, accuracy: ratio(ok, obj), false_alarm_rate: ratio(fa, none) }
        })
        .collect()
}

fn print_side_by_side(reports: &[Report]) {
    print!("{:<18}", "side by side");
    for r in reports {
        print!("{:>10}", r.matcher);
    }
    println!();
    let row = |name: &str, f: &dyn Fn(&Report) -> f64| {
        print!("  {name:<16}");
        for r in reports {
            print!("{:>10.3}", f(r));
        }
        println!();
    };
    row("accuracy", &|r| r.accuracy);
    row("false alarms", &|r| r.false_alarm_rate);
    for cat in reports[0].per_category.keys() {
        row(cat, &|r| r.per_category.get(cat).map_or(0.0, |c| c.recall));
    }
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
    if let Some(encoder) = &r.encoder {
        println!("  encoder {encoder}");
    }
    println!("  top-1 accuracy on objections  {:.3}", r.accuracy);
    println!("  false-alarm rate on none      {:.3}  ({} of {})", r.false_alarm_rate, r.false_alarms, r.none_items);
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
    if !r.sweep.is_empty() {
        println!("  threshold sweep:   thr   accuracy  false-alarms");
        for p in &r.sweep {
            println!("                    {:.2}   {:.3}     {:.3}", p.threshold, p.accuracy, p.false_alarm_rate);
        }
    }
    if show_errors {
        println!("  errors:");
        for m in &r.errors {
            println!("    {} [{} -> {} {:.2}] {}", m.id, m.expect, m.got, m.score, m.text);
            if let Some(n) = &m.below_threshold {
                let held_back = n.suppressed.as_ref().map_or(String::new(), |why| format!(", held back: {why}"));
                println!("          top: {} {:.2} ≈ \"{}\"{held_back}", n.category, n.score, n.phrase);
            }
        }
    }
}
