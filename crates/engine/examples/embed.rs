//! Sentence embeddings from the command line, to compare with a reference and to time them.
//!
//!   cargo run -p cuecard-engine --example embed -- dump <model dir> <texts.json>
//!       prints [{"text", "ids", "emb"}] for a JSON array of strings
//!   cargo run -p cuecard-engine --example embed -- ids <model dir> <texts.json>
//!       prints the token ids only, one JSON array per line
//!   cargo run -p cuecard-engine --example embed -- bench <model dir>
//!       load time and memory, `embed` of a 12-word utterance (median of 50 after
//!       warm-up), `embed_batch` of 1000 short sentences

use std::path::Path;
use std::time::{Duration, Instant};

use cuecard_engine::embed::Embedder;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("dump"), Some(dir)) => dump(Path::new(dir), Path::new(args.get(3).expect("texts.json"))),
        (Some("ids"), Some(dir)) => ids(Path::new(dir), Path::new(args.get(3).expect("texts.json"))),
        (Some("bench"), Some(dir)) => bench(Path::new(dir)),
        _ => {
            eprintln!("usage: embed dump|ids <model dir> <texts.json> | embed bench <model dir>");
            std::process::exit(2);
        }
    }
}

fn load(dir: &Path) -> Embedder {
    Embedder::load(dir).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    })
}

fn dump(dir: &Path, texts: &Path) {
    let e = load(dir);
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(texts).expect("read texts")).expect("JSON array of strings");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embs = e.embed_batch(&refs).expect("embed");
    let out: Vec<serde_json::Value> = texts
        .iter()
        .zip(embs)
        .map(|(t, emb)| serde_json::json!({"text": t, "ids": e.token_ids(t), "emb": emb}))
        .collect();
    println!("{}", serde_json::Value::Array(out));
}

fn ids(dir: &Path, texts: &Path) {
    let e = load(dir);
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(texts).expect("read texts")).expect("JSON array of strings");
    for t in &texts {
        println!("{}", serde_json::Value::from(e.token_ids(t)));
    }
}

/// Resident memory of this process in MiB (Linux).
fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// A memory figure of /proc/self/status in MiB (VmRSS: now, VmHWM: peak).
fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time (user + system) this process has used so far, in ms (Linux): with `Instant`
/// it shows whether other work on the machine slowed a measurement down.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the command name.
    fields.get(10..12).map_or(0.0, |t| (t[0] + t[1]) * 10.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench(dir: &Path) {
    println!("threads (candle/gemm): {}", candle_core::utils::get_num_threads());
    let before = rss_mib();
    let t = Instant::now();
    let e = load(dir);
    println!("load: {:.0} ms, RSS {:.0} -> {:.0} MiB (+{:.0})", ms(t.elapsed()), before, rss_mib(), rss_mib() - before);
    println!("  peak RSS while loading: {:.0} MiB", status_mib("VmHWM:"));
    println!("model id: {}", e.model_id());

    let utterance = "Honestly I don't think we have the budget for this right now.";
    println!("utterance: {:?} ({} tokens)", utterance, e.token_ids(utterance).len());
    for _ in 0..5 {
        e.embed(utterance).expect("embed");
    }
    let cpu = cpu_ms();
    let wall = Instant::now();
    let mut times: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            e.embed(utterance).expect("embed");
            ms(t.elapsed())
        })
        .collect();
    let (cpu, wall) = (cpu_ms() - cpu, ms(wall.elapsed()));
    times.sort_by(f64::total_cmp);
    println!("embed: median {:.2} ms, min {:.2}, p90 {:.2}, max {:.2}", times[25], times[0], times[45], times[49]);
    println!("  (CPU {:.1} ms per embed, {:.2} cores busy on average)", cpu / 50.0, cpu / wall);

    let subjects = [
        "The price",
        "Your contract",
        "This tool",
        "The onboarding",
        "Our budget",
        "The timing",
        "My boss",
        "Security",
    ];
    let verbs = [
        "is too high",
        "does not fit our process",
        "needs sign-off from legal",
        "is not a priority right now",
        "worries me",
    ];
    let tails =
        ["", " this quarter", " to be honest", " compared with what we pay today", " and I need to think about it"];
    let sentences: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                "{}{} {}{}.",
                if i % 7 == 0 { "Well, " } else { "" },
                subjects[i % 8],
                verbs[(i / 8) % 5],
                tails[(i / 40) % 5]
            )
        })
        .collect();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let tokens: usize = refs.iter().map(|s| e.token_ids(s).len()).sum();
    let t = Instant::now();
    let out = e.embed_batch(&refs).expect("embed_batch");
    let took = t.elapsed();
    println!(
        "embed_batch: 1000 sentences ({} tokens, {:.1} avg) in {:.0} ms ({:.2} ms per sentence), RSS {:.0} MiB",
        tokens,
        tokens as f64 / 1000.0,
        ms(took),
        ms(took) / 1000.0,
        rss_mib()
    );
    assert_eq!(out.len(), 1000);
    let t = Instant::now();
    for s in &refs[..100] {
        e.embed(s).expect("embed");
    }
    println!("embed one by one: 100 sentences in {:.0} ms", ms(t.elapsed()));
}
