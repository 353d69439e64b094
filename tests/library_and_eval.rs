//! The shipped objection library and the matcher, through the CLI and real SQLite files.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn the_default_library_is_valid_and_complete() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(cuecard(home.path()).args(["library", "validate"]).arg(repo("objection-library")));
    assert!(out.contains("ok, ") && out.contains("14 categories"), "{out}");
}

#[test]
fn import_export_round_trips_through_sqlite() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib.db");
    let out = ok(cuecard(home.path()).arg("--db").arg(&db).args(["library", "import"]).arg(repo("objection-library")));
    assert!(out.contains("imported"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    ok(cuecard(home.path()).arg("--db").arg(&db).args(["library", "export"]).arg(dir.path()));
    // The export is itself a valid library with the same objections.
    let again = ok(cuecard(home.path()).args(["library", "validate"]).arg(dir.path()));
    let first = ok(cuecard(home.path()).args(["library", "validate"]).arg(repo("objection-library")));
    let counts = |s: &str| s.split_once(": ok, ").map(|(_, r)| r.trim().to_owned());
    assert_eq!(counts(&again), counts(&first));
}

#[test]
fn search_explains_what_fires_and_what_does_not() {
    let home = tempfile::tempdir().unwrap();
    let search = |text: &str| -> Value {
        serde_json::from_str(&ok(cuecard(home.path()).args(["library", "search", "--json", text]))).unwrap()
    };
    let hit = search("honestly this is way too expensive for a team our size");
    let fires = hit["fires"].as_str().expect("should fire");
    assert!(fires.starts_with("price"), "{hit}");
    let top = &hit["candidates"][0];
    assert!(!top["phrase"].as_str().unwrap().is_empty() && top["bm25"].as_f64().unwrap() > 0.0, "{top}");

    let miss = search("what does the annual plan include?");
    assert!(miss["fires"].is_null(), "a price question must not fire: {miss}");
}

#[test]
fn eval_scores_our_held_out_set() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(cuecard(home.path()).args(["eval", "--json"]).arg(repo("tests/fixtures/heldout-utterances.jsonl")));
    let r: Value = serde_json::from_str(&out).unwrap();
    assert!(r["items"].as_u64().unwrap() >= 200, "{r}");
    assert_eq!(r["per_category"].as_object().unwrap().len(), 14, "{r}");
    let acc = r["accuracy"].as_f64().unwrap();
    let fa = r["false_alarm_rate"].as_f64().unwrap();
    // The default (hybrid) matcher with the objection adapter measured 0.938 accuracy at
    // 0.031 false alarms (6 of 196) on this set, written independently of the library and
    // never trained or calibrated on (0.915 / 0.036 with the stock encoder): these floors
    // are a regression alarm, not the target.
    assert_eq!(r["matcher"], "hybrid", "{r}");
    assert!(acc >= 0.91, "accuracy {acc}");
    assert!(fa <= 0.05, "false alarms {fa}");
    // A missed objection says what the matcher ranked first and how far under the bar it
    // was; a card that fired has no such note.
    let threshold = r["threshold"].as_f64().unwrap();
    let errors = r["errors"].as_array().unwrap();
    let missed: Vec<&Value> = errors.iter().filter(|e| e["got"] == "none").collect();
    assert!(!missed.is_empty(), "{r}");
    for e in &missed {
        let near = &e["below_threshold"];
        assert!(!near["category"].as_str().unwrap_or_default().is_empty(), "{e}");
        assert!(near["score"].as_f64().unwrap() < threshold || near["suppressed"].is_string(), "{e}");
    }
    assert!(errors.iter().filter(|e| e["got"] != "none").all(|e| e.get("below_threshold").is_none()), "{r}");
}

#[test]
fn side_by_side_each_matcher_gains_over_the_one_before() {
    // The comparison, in one run on one set. Measured on it: bm25 0.496 / 0.056,
    // semantic 0.812 / 0.148, hybrid 0.938 / 0.031. The semantic floor also guards its
    // ranking: when scores were capped at 1 before ranking, strong matches tied, the order
    // they were found in chose the top category, and it scored 0.72-0.73.
    let home = tempfile::tempdir().unwrap();
    let out = ok(cuecard(home.path())
        .args(["eval", "--json", "--matcher", "bm25,semantic,hybrid"])
        .arg(repo("tests/fixtures/heldout-utterances.jsonl")));
    let r: Value = serde_json::from_str(&out).unwrap();
    let runs = r["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|run| run["matcher"].as_str().unwrap()).collect();
    assert_eq!(names, ["bm25", "semantic", "hybrid"], "{r}");
    let acc: Vec<f64> = runs.iter().map(|run| run["accuracy"].as_f64().unwrap()).collect();
    assert!(acc[0] >= 0.4 && acc[1] >= acc[0] + 0.25 && acc[1] >= 0.78, "{acc:?}");
    assert!(acc[2] >= acc[1] + 0.08, "{acc:?}");
    let hybrid_fa = runs[2]["false_alarm_rate"].as_f64().unwrap();
    assert!(hybrid_fa <= runs[1]["false_alarm_rate"].as_f64().unwrap(), "{r}");
}

#[test]
fn the_objection_adapter_beats_the_stock_encoder_on_our_held_out_set() {
    // The same set and library, each encoder at its own calibrated threshold: the adapter
    // (trained on the library, never on this set) must be right clearly more often, at
    // the price of at most a few more false alarms.
    let home = tempfile::tempdir().unwrap();
    let run = |encoder: &str| -> Value {
        let out = ok(cuecard(home.path())
            .args(["eval", "--json", "--matcher", "hybrid", "--encoder", encoder])
            .arg(repo("tests/fixtures/heldout-utterances.jsonl")));
        serde_json::from_str(&out).unwrap()
    };
    let (adapted, stock) = (run("adapted"), run("stock"));
    // The report names the encoder, so the two runs cannot be mixed up.
    let encoder = |r: &Value| r["encoder"].as_str().unwrap_or_default().to_owned();
    assert!(encoder(&adapted).contains("+objection-adapter@"), "{}", encoder(&adapted));
    assert!(encoder(&stock).starts_with("all-minilm-l6-v2@") && !encoder(&stock).contains('+'), "{}", encoder(&stock));
    let figures = |r: &Value| (r["accuracy"].as_f64().unwrap(), r["false_alarm_rate"].as_f64().unwrap());
    let ((acc, fa), (stock_acc, stock_fa)) = (figures(&adapted), figures(&stock));
    // Measured: 0.938 / 0.031 against 0.915 / 0.036, 5 more of 224 objections right. It was
    // 0.946 against 0.906 before the conversational not-objections: with them the adapter
    // gets 2 fewer right and the stock encoder, at its recalibrated 0.72, 2 more, so the
    // floor moved from 0.03 to 0.02.
    assert!(acc >= stock_acc + 0.02, "adapted {acc} vs stock {stock_acc}");
    assert!(fa <= stock_fa + 0.025, "adapted false alarms {fa} vs stock {stock_fa}");
}

#[test]
fn the_shipped_threshold_is_the_calibrated_one() {
    // The hybrid threshold is the lowest (in the sweep's steps of 0.02) keeping false alarms
    // ≤ 0.03 on our calibration set together with the calibration half of the dev set (its
    // even lines, copied into the fixture; README, "How the matcher is measured"). A library
    // or scoring change that moves that point fails here, in either direction, until the
    // threshold is recalibrated.
    let home = tempfile::tempdir().unwrap();
    let set = home.path().join("calibration-data.jsonl");
    let ours = std::fs::read_to_string(repo("tests/fixtures/calibration-utterances.jsonl")).unwrap();
    let dev_half = std::fs::read_to_string(repo("tests/fixtures/dev-calibration-half.jsonl")).unwrap();
    std::fs::write(&set, ours + &dev_half).unwrap();
    // One run: the report at the shipped threshold, and its sweep for the step below.
    let shipped: Value =
        serde_json::from_str(&ok(cuecard(home.path()).args(["eval", "--json", "--sweep"]).arg(&set))).unwrap();
    assert_eq!(shipped["none_items"].as_u64(), Some(357), "{shipped}");
    let threshold = shipped["threshold"].as_f64().unwrap();
    let fa = shipped["false_alarm_rate"].as_f64().unwrap();
    assert!(fa <= 0.03, "false alarms {fa} at the shipped threshold {threshold}");
    assert!(shipped["accuracy"].as_f64().unwrap() >= 0.85, "{shipped}");
    let lower = shipped["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| (p["threshold"].as_f64().unwrap() - (threshold - 0.02)).abs() < 0.005)
        .unwrap_or_else(|| panic!("no sweep point 0.02 below {threshold}: {shipped}"));
    let lower_fa = lower["false_alarm_rate"].as_f64().unwrap();
    assert!(lower_fa > 0.03, "{:.2} would keep false alarms at {lower_fa}: recalibrate", threshold - 0.02);
}

#[test]
fn a_prospects_ordinary_replies_rarely_fire() {
    // 14 calls written from the taxonomy alone (research/live-calibration): their 111
    // prospect `none` lines are the replies of a real call ("not really, no, we just pay
    // them"; "put it in writing and I'll include it in the packet"). The hybrid matcher
    // fired on 19 of them before objection-library/not-objections-conversational.yaml,
    // which was written after looking at them, and on 7 since. A regression alarm: the bar
    // sits between the two.
    let home = tempfile::tempdir().unwrap();
    let out = ok(cuecard(home.path()).args(["eval", "--json"]).arg(repo("tests/fixtures/calibration-calls.jsonl")));
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["objection_items"].as_u64(), Some(41), "{r}");
    let false_alarms = r["false_alarms"].as_u64().unwrap();
    assert!(false_alarms <= 11, "{false_alarms} of the prospect's ordinary replies fired a card");
    assert!(r["accuracy"].as_f64().unwrap() >= 0.9, "{r}");
}
