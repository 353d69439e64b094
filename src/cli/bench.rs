//! `cuecard bench matcher`: how fast the hybrid matcher is at the built-in library's size
//! and at a generated library of N objections (default 10 000), measured in one run:
//! library import, embedding of all phrasings, index and classifier build, embedding one
//! utterance, matching one utterance (everything after the embedding model), and the
//! memory the embedding model adds.

use anyhow::Context;
use clap::{Args, Subcommand};
use cuecard_engine::embed::Embedder;
use cuecard_engine::library::{self, Library, Objection};
use cuecard_engine::matcher::{ensure_vectors, Explain, Fusion, Matcher, SemanticMatcher};
use cuecard_engine::models::ModelManager;
use cuecard_engine::store::Store;
use serde::Serialize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Matcher speed at the built-in library's size and at a generated large library.
    Matcher(MatcherArgs),
}

#[derive(Args)]
pub struct MatcherArgs {
    /// Objections in the generated library (0: only the built-in library).
    #[arg(long, default_value_t = 10_000)]
    objections: usize,
    /// Trigger phrasings per generated objection (the built-in library has 10+).
    #[arg(long, default_value_t = 5)]
    triggers: usize,
    /// Utterances timed per library (taken from the built-in library's phrasings).
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Time these utterances instead: an evaluation set (JSON Lines of utterances, or of
    /// calls, whose prospect turns are taken), e.g. real turns of your own calls.
    #[arg(long, value_name = "SET", conflicts_with = "queries")]
    utterances: Option<std::path::PathBuf>,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
    /// Keep phrasing vectors and trained classifiers in this SQLite file between runs, so
    /// a rerun measures matching without embedding 60 000 phrasings again (the embed and
    /// training figures then show the cached cost).
    #[arg(long, value_name = "FILE")]
    cache: Option<std::path::PathBuf>,
    /// Sentence encoder (`stock`: without the objection adapter, for comparison).
    #[arg(long, value_enum, default_value_t = super::EncoderArg::Adapted)]
    encoder: super::EncoderArg,
}

pub fn run(c: BenchCommand) -> anyhow::Result<ExitCode> {
    match c {
        BenchCommand::Matcher(a) => matcher(a),
    }
}

#[derive(Serialize)]
struct Figures {
    embedding_model: String,
    /// Resident memory added by loading the model, and after its first utterances.
    model_rss_mb: Option<f64>,
    model_rss_after_use_mb: Option<f64>,
    embed_one_utterance_ms: Stats,
    libraries: Vec<LibraryFigures>,
}

#[derive(Serialize)]
struct LibraryFigures {
    name: String,
    objections: usize,
    phrasings: usize,
    /// YAML folder → validated → imported into a new SQLite file (FTS5 index included).
    import_ms: f64,
    /// Embedding every phrasing (cold cache).
    embed_phrasings_ms: f64,
    /// Nearest-phrasing index and classifier training.
    build_matcher_ms: f64,
    /// The embedding model's time per utterance as matching runs it: the whole turn, and
    /// its sub-spans too when a card fires (to show the clause that fired).
    embed_ms: Stats,
    /// Everything after the embedding model: nearest phrasings, bm25, classifier.
    match_ms: Stats,
    /// Queries whose best candidate reached the card threshold (a sanity check).
    fired: usize,
    /// Queries whose sub-spans were embedded (they fired and had more than one span).
    spans_embedded: usize,
}

#[derive(Serialize)]
struct Stats {
    n: usize,
    median: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    let ms = |i: usize| d.get(i.min(d.len().saturating_sub(1))).map_or(0.0, |x| x.as_secs_f64() * 1000.0);
    let at = |q: f64| ms(((d.len() as f64 - 1.0) * q).round() as usize);
    Stats { n: d.len(), median: at(0.5), p95: at(0.95), p99: at(0.99), max: ms(d.len().saturating_sub(1)) }
}

fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn matcher(a: MatcherArgs) -> anyhow::Result<ExitCode> {
    let model_dir = ModelManager::new(ModelManager::default_dir()).resolve(super::EMBEDDING_MODEL)?;
    let base = library::load_default()?;
    let queries = match &a.utterances {
        Some(set) => super::eval::matchable_texts(set)?,
        None => pick_queries(&base, a.queries),
    };

    let before = rss_mb();
    let embedder = Embedder::load_with(&model_dir, a.encoder.into())?;
    let loaded = rss_mb();
    let mut one = Vec::new();
    for q in &queries {
        let t = Instant::now();
        embedder.embed(q)?;
        one.push(t.elapsed());
    }
    let used = rss_mb();
    let mut figures = Figures {
        embedding_model: embedder.model_id().to_owned(),
        model_rss_mb: before.zip(loaded).map(|(b, l)| l - b),
        model_rss_after_use_mb: before.zip(used).map(|(b, u)| u - b),
        embed_one_utterance_ms: stats(one),
        libraries: Vec::new(),
    };
    drop(embedder);

    let mut libraries = vec![("built-in".to_owned(), base.clone())];
    if a.objections > 0 {
        libraries.push((format!("generated {}", a.objections), generate(&base, a.objections, a.triggers)));
    }
    for (name, lib) in libraries {
        if !a.json {
            eprintln!("{name}: {} objections…", lib.objections.len());
        }
        figures.libraries.push(measure(&name, &lib, &model_dir, a.encoder.into(), &queries, a.cache.as_deref())?);
    }
    if a.json {
        println!("{}", serde_json::to_string(&figures)?);
    } else {
        print_report(&figures);
    }
    Ok(ExitCode::SUCCESS)
}

fn measure(
    name: &str,
    lib: &Library,
    model_dir: &std::path::Path,
    encoder: cuecard_engine::embed::Encoder,
    queries: &[String],
    cache: Option<&std::path::Path>,
) -> anyhow::Result<LibraryFigures> {
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let dir = work.path().join("library");
    library::write_dir(lib, &dir)?;
    let t = Instant::now();
    let parsed = library::load_dir(&dir)?;
    let mut store = Store::open(&work.path().join("bench.db"))?;
    let report = store.replace_library(&parsed, &dir.display().to_string())?;
    let import_ms = ms(t.elapsed());

    let embedder = Embedder::load_with(model_dir, encoder)?;
    let mut cache = match cache {
        Some(path) => Some(Store::open(path).with_context(|| format!("opening the bench cache {}", path.display()))?),
        None => None,
    };
    let t = Instant::now();
    ensure_vectors(&mut store, cache.as_mut(), &embedder)?;
    let embed_phrasings_ms = ms(t.elapsed());
    let t = Instant::now();
    let matcher = SemanticMatcher::with_cache(store, cache, embedder, Fusion::Hybrid)?;
    let build_matcher_ms = ms(t.elapsed());

    let (mut embedding, mut matching, mut fired, mut spans_embedded) = (Vec::new(), Vec::new(), 0, 0);
    for q in queries {
        let (ranked, timing) = matcher.rank_timed(q, 5, Explain::Cards)?;
        if timing.texts_embedded == 0 {
            continue;
        }
        embedding.push(timing.embedding);
        matching.push(timing.matching);
        fired += usize::from(ranked.first().is_some_and(|c| c.score >= matcher.threshold()));
        spans_embedded += usize::from(timing.texts_embedded > 1);
    }
    Ok(LibraryFigures {
        name: name.to_owned(),
        objections: report.objections,
        phrasings: report.triggers + report.negatives,
        import_ms,
        embed_phrasings_ms,
        build_matcher_ms,
        embed_ms: stats(embedding),
        match_ms: stats(matching),
        fired,
        spans_embedded,
    })
}

fn print_report(f: &Figures) {
    let s = |s: &Stats| {
        format!("median {:.2} ms, p95 {:.2}, p99 {:.2}, max {:.2} (n={})", s.median, s.p95, s.p99, s.max, s.n)
    };
    println!("embedding model {}", f.embedding_model);
    if let (Some(l), Some(u)) = (f.model_rss_mb, f.model_rss_after_use_mb) {
        println!("  memory: +{l:.0} MB loaded, +{u:.0} MB after use");
    }
    println!("  one utterance: {}", s(&f.embed_one_utterance_ms));
    for l in &f.libraries {
        println!("{}: {} objections, {} phrasings", l.name, l.objections, l.phrasings);
        println!("  import (YAML → SQLite): {:.0} ms", l.import_ms);
        println!("  embed all phrasings:    {:.1} s", l.embed_phrasings_ms / 1000.0);
        println!("  index + classifier:     {:.1} s", l.build_matcher_ms / 1000.0);
        println!("  embed one utterance to match: {}", s(&l.embed_ms));
        println!("  match one utterance:          {}", s(&l.match_ms));
        println!(
            "  queries that fired a card: {} of {} ({} with clauses embedded to explain it)",
            l.fired, l.match_ms.n, l.spans_embedded
        );
    }
}

/// Realistic utterances: every n-th phrasing of the built-in library, objections and not.
fn pick_queries(base: &Library, count: usize) -> Vec<String> {
    let all: Vec<&String> = base
        .objections
        .iter()
        .flat_map(|o| o.triggers.iter().chain(&o.must_not_fire))
        .chain(&base.not_objections)
        .collect();
    let step = (all.len() / count.max(1)).max(1);
    all.into_iter().step_by(step).take(count).cloned().collect()
}

const OPENERS: [&str; 8] = ["", "honestly ", "look, ", "so ", "i mean ", "yeah ", "well, ", "to be fair "];
const CONTEXTS: [&str; 32] = [
    "",
    " for the field team",
    " for our clinic",
    " at the denver office",
    " this quarter",
    " for the warehouse crew",
    " with our board",
    " for the night shift",
    " across both regions",
    " for the franchise owners",
    " in the finance org",
    " for our agents",
    " for the support desk",
    " at head office",
    " for the inside sales pod",
    " right now",
    " for the dealerships",
    " for the school district",
    " on the plant floor",
    " for the nurses",
    " for the brokers",
    " in the call center",
    " for the regional managers",
    " for our drivers",
    " with the partners",
    " for the hotel group",
    " in the labs",
    " for the property managers",
    " this fiscal year",
    " for the pilot team",
    " for the recruiters",
    " in emea",
];

/// A library of `n` objections built from the built-in one: each a variant of a real
/// objection (same category and answers) whose phrasings get their own opener and
/// context, so every phrasing is distinct and realistic in length and wording.
fn generate(base: &Library, n: usize, triggers: usize) -> Library {
    let bases = &base.objections;
    let objections = (0..n)
        .map(|j| {
            let b = &bases[j % bases.len()];
            let round = j / bases.len();
            let vary = |t: &str| {
                format!("{}{}{}", OPENERS[round % OPENERS.len()], t, CONTEXTS[(round / OPENERS.len()) % CONTEXTS.len()])
            };
            let picked = (0..triggers.min(b.triggers.len()))
                .map(|i| vary(&b.triggers[(round * triggers + i) % b.triggers.len()]));
            Objection {
                id: format!("{}-g{j}", b.id),
                title: format!("{} #{j}", b.title),
                triggers: picked.collect(),
                must_not_fire: b
                    .must_not_fire
                    .get(round % b.must_not_fire.len().max(1))
                    .map(|t| vary(t))
                    .into_iter()
                    .collect(),
                cues: Vec::new(),
                source_file: format!("{}.yaml", b.category),
                ..b.clone()
            }
        })
        .collect();
    Library { objections, not_objections: base.not_objections.clone(), warnings: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_library_has_distinct_valid_phrasings() {
        let base = library::load_default().expect("built-in library");
        let lib = generate(&base, 500, 5);
        assert_eq!(lib.objections.len(), 500);
        let mut all: Vec<&String> = lib.objections.iter().flat_map(|o| &o.triggers).collect();
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), total, "every phrasing is distinct");
        let dir = tempfile::tempdir().unwrap();
        library::write_dir(&lib, dir.path()).unwrap();
        assert_eq!(library::load_dir(dir.path()).expect("valid library").objections.len(), 500);
    }
}
