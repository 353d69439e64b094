//! Real human speech (JFK, 11 s) through the converted tiny.en model, in every
//! container/codec replay supports, mono (speaker "unknown") and resampled.

mod common;
use common::*;
use serde_json::Value;

const JFK: &str =
    "and so my fellow americans ask not what your country can do for you ask what you can do for your country";

fn transcript_of(file: &str, pace: &str) -> (String, Value) {
    let home = tempfile::tempdir().unwrap();
    let out = ok(cuecard(home.path())
        .args(["replay", "--json", "--no-record", "--pace", pace, "--model"])
        .arg(model())
        .arg(fixture(file)));
    let events = json_lines(&out);
    let finals: Vec<&Value> = of_type(&events, "transcript").into_iter().filter(|t| t["final"] == true).collect();
    assert!(finals.iter().all(|t| t["speaker"] == "unknown"), "mono must be speaker unknown: {finals:?}");
    let text = words(&finals.iter().map(|t| t["text"].as_str().unwrap()).collect::<Vec<_>>().join(" "));
    (text, of_type(&events, "summary")[0].clone())
}

/// Share of the reference words found, in order (a forgiving word accuracy).
fn recall(text: &str, reference: &str) -> f32 {
    let got: Vec<&str> = text.split(' ').collect();
    let mut i = 0;
    let mut hit = 0;
    for w in reference.split(' ') {
        if let Some(p) = got[i..].iter().position(|g| *g == w) {
            hit += 1;
            i += p + 1;
        }
    }
    hit as f32 / reference.split(' ').count() as f32
}

#[test]
fn jfk_wav_is_transcribed_word_for_word() {
    let (text, summary) = transcript_of("jfk.wav", "fast");
    assert!(recall(&text, JFK) >= 0.95, "transcript: {text}");
    assert!(text.contains("ask not what your country can do for you"), "{text}");
    let d = summary["duration_ms"].as_u64().unwrap();
    assert!((10_900..=11_100).contains(&d), "duration {d}");
    assert!(summary["talk"]["unknown_ms"].as_u64().unwrap() > 5_000, "{summary}");
}

#[test]
fn every_supported_format_decodes_and_resamples() {
    for f in ["jfk.mp3", "jfk.m4a", "jfk.ogg", "jfk.flac"] {
        let (text, summary) = transcript_of(f, "fast");
        assert!(recall(&text, JFK) >= 0.85, "{f}: {text}");
        let d = summary["duration_ms"].as_u64().unwrap();
        // Lossy encoders pad a few ms; the timeline must still be the clip's.
        assert!((10_800..=11_300).contains(&d), "{f}: duration {d}");
    }
}

#[test]
fn realtime_pace_plays_at_call_speed() {
    let (_text, summary) = transcript_of("jfk.wav", "realtime");
    let wall = summary["wall_ms"].as_u64().unwrap();
    assert!(wall >= 10_900, "an 11 s call replayed in {wall} ms at realtime pace");
}
