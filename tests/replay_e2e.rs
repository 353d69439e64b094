//! A synthesised stereo sales call through the real pipeline and the real tiny.en model:
//! the prospect's objections fire the right cards, the rep's words and hard negatives
//! fire none, and the call lands in the SQLite history.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

struct Turn {
    speaker: String,
    expect: String,
    start_ms: u64,
    end_ms: u64,
}

fn manifest() -> Vec<Turn> {
    let text = std::fs::read_to_string(fixture("e2e-call.wav.manifest.json")).unwrap();
    let m: Value = serde_json::from_str(&text).unwrap();
    m["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Turn {
            speaker: t["speaker"].as_str().unwrap().into(),
            expect: t["expect"].as_str().unwrap().into(),
            start_ms: t["start_ms"].as_u64().unwrap(),
            end_ms: t["end_ms"].as_u64().unwrap(),
        })
        .collect()
}

fn replay(file: &str, extra: &[&str]) -> (tempfile::TempDir, Vec<Value>) {
    let home = tempfile::tempdir().unwrap();
    let model = model();
    let mut cmd = cuecard(home.path());
    cmd.args(["replay", "--pace", "fast", "--json", "--model"]).arg(&model).arg(fixture(file)).args(extra);
    let events = json_lines(&ok(&mut cmd));
    (home, events)
}

fn check_call(events: &[Value]) {
    let turns = manifest();
    let cards = of_type(events, "card");
    // Every card sits on a prospect objection turn of its own category.
    for c in &cards {
        assert_eq!(c["speaker"], "prospect", "card on the wrong speaker: {c}");
        let start = c["utterance_start_ms"].as_u64().unwrap();
        let turn = turns
            .iter()
            .find(|t| start + 400 >= t.start_ms && start <= t.end_ms)
            .unwrap_or_else(|| panic!("card outside any turn: {c}"));
        assert_eq!(turn.speaker, "prospect", "card fired on a rep turn: {c}");
        assert_eq!(c["category"], turn.expect.as_str(), "wrong category for the turn: {c}");
        assert!(c["responses"].as_array().unwrap().len() >= 2, "a card needs 2-3 answers: {c}");
        assert!(!c["why"].as_str().unwrap().is_empty());
        assert!(c["audio_ms"].as_u64().unwrap() >= start);
    }
    let fired: BTreeSet<&str> = cards.iter().map(|c| c["category"].as_str().unwrap()).collect();
    let expected: BTreeSet<&str> = turns.iter().filter(|t| t.expect != "none").map(|t| t.expect.as_str()).collect();
    assert_eq!(fired, expected, "cards fired: {cards:#?}");
    assert_eq!(cards.len(), expected.len(), "one card per objection: {cards:#?}");

    // Both sides were transcribed, on the right channel.
    let finals: Vec<&Value> = of_type(events, "transcript").into_iter().filter(|t| t["final"] == true).collect();
    let said = |who: &str| {
        words(
            &finals
                .iter()
                .filter(|t| t["speaker"] == who)
                .map(|t| t["text"].as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    assert!(said("rep").contains("expensive"), "rep transcript: {}", said("rep"));
    assert!(said("prospect").contains("budget"), "prospect transcript: {}", said("prospect"));
    assert!(!said("rep").contains("chorus for call recording"), "prospect speech leaked into the rep channel");

    let summary = of_type(events, "summary");
    assert_eq!(summary.len(), 1);
    let s = summary[0];
    assert!(s["talk"]["rep_ms"].as_u64().unwrap() > 5_000, "{s}");
    assert!(s["talk"]["prospect_ms"].as_u64().unwrap() > 5_000, "{s}");
    let last_end = turns.last().unwrap().end_ms;
    assert!(s["duration_ms"].as_u64().unwrap() >= last_end, "{s}");
    assert_eq!(s["cards"].as_array().unwrap().len(), cards.len());
}

#[test]
fn stereo_call_fires_the_prospects_objections_only_and_is_saved() {
    let (home, events) = replay("e2e-call.wav", &[]);
    check_call(&events);

    // The call is in the history database with its transcript and cards.
    let call_id = of_type(&events, "summary")[0]["call_id"].as_i64().expect("call id");
    let hist: Value =
        serde_json::from_str(&ok(cuecard(home.path()).args(["history", &call_id.to_string(), "--json"]))).unwrap();
    let segments = hist["segments"].as_array().unwrap();
    let finals = of_type(&events, "transcript").into_iter().filter(|t| t["final"] == true).count();
    assert_eq!(segments.len(), finals);
    let cards = hist["cards"].as_array().unwrap();
    assert_eq!(cards.len(), of_type(&events, "card").len());
    assert!(cards.iter().all(|c| c["feedback"].as_array().unwrap().contains(&Value::from("shown"))));
    let list = ok(cuecard(home.path()).args(["history"]));
    assert!(list.contains("complete"), "{list}");
}

#[test]
fn rep_channel_can_be_swapped() {
    let (_home, events) = replay("e2e-call-swapped.wav", &["--rep-channel", "right", "--no-record"]);
    check_call(&events);
    assert!(of_type(&events, "summary")[0]["call_id"].is_null());
}

#[test]
fn human_output_shows_speakers_cards_and_summary() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(cuecard(home.path())
        .args(["replay", "--pace", "fast", "--model"])
        .arg(model())
        .arg(fixture("e2e-call.wav")));
    assert!(out.contains("REP") && out.contains("PROSPECT"), "{out}");
    assert!(out.contains("┌ CARD") && out.contains("why:"), "{out}");
    assert!(out.contains("Call summary") && out.contains("talk time"), "{out}");
}
