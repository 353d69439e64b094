//! The hybrid matcher with the real all-MiniLM-L6-v2 on a small slice of the built-in
//! library: what the embedding model runs on per utterance, and how a card is explained.
//! Needs CUECARD_TEST_EMBED_MODEL, as the embedding model's own tests do (`make test`).

use super::*;
use crate::embed::Embedder;
use crate::library::load_default;

const RAMBLING_OBJECTION: &str = "so we had our planning offsite last week and it went great, \
    but honestly the price is way too high for a team our size, anyway what were you saying \
    about the dashboards";

fn matcher(dir: &tempfile::TempDir) -> SemanticMatcher {
    let model = std::env::var_os("CUECARD_TEST_EMBED_MODEL")
        .expect("CUECARD_TEST_EMBED_MODEL is not set: run the suite with `make test`");
    let embedder = Embedder::load(std::path::Path::new(&model)).expect("loading the embedding model");
    let mut lib = load_default().unwrap();
    // Three categories and some plain talk: enough to train on in a second.
    let mut kept = Vec::new();
    for category in ["price", "timing", "competitor"] {
        let mut o = lib.objections.iter().find(|o| o.category == category).unwrap().clone();
        o.triggers.truncate(25);
        o.must_not_fire.truncate(10);
        kept.push(o);
    }
    lib.objections = kept;
    lib.not_objections.truncate(60);
    let mut store = Store::open(&dir.path().join("lib.db")).unwrap();
    store.replace_library(&lib, "test").unwrap();
    SemanticMatcher::new(store, embedder, Fusion::Hybrid).unwrap()
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn summary(ranked: &[Candidate]) -> Vec<(String, f32)> {
    ranked.iter().map(|c| (c.category.clone(), c.score)).collect()
}

#[test]
fn a_turn_that_fires_nothing_costs_one_pass_of_the_embedding_model() {
    let dir = tempfile::tempdir().unwrap();
    // Above every score: nothing fires.
    let m = matcher(&dir).with_threshold(1.01);
    let (ranked, timing) = m.rank_timed(RAMBLING_OBJECTION, 3, Explain::Cards).unwrap();
    assert_eq!(timing.texts_embedded, 1, "only the whole turn decides");
    assert_eq!(words(&ranked[0].span), words(RAMBLING_OBJECTION), "no card: the whole turn is named");

    // Asked why (`library search`), it looks inside the turn, and decides the same.
    let (explained, timing) = m.rank_timed(RAMBLING_OBJECTION, 3, Explain::Always).unwrap();
    assert!(timing.texts_embedded > 3, "every clause and window: {timing:?}");
    assert_eq!(summary(&explained), summary(&ranked));
}

#[test]
fn a_card_names_the_clause_that_fired() {
    let dir = tempfile::tempdir().unwrap();
    // A small library is less sure of itself than the built-in one (0.61 here).
    let mut m = matcher(&dir).with_threshold(0.4);
    let (ranked, timing) = m.rank_timed(RAMBLING_OBJECTION, 3, Explain::Cards).unwrap();
    assert!(ranked[0].score >= m.threshold(), "{ranked:?}");
    assert_eq!(ranked[0].category, "price");
    assert!(timing.texts_embedded > 3, "{timing:?}");
    let span = &ranked[0].span;
    assert!(span.contains("price") && words(span) < words(RAMBLING_OBJECTION), "{span}");
    // What a card shows is what `library search` shows.
    let explained = m.rank_explained(RAMBLING_OBJECTION, 3).unwrap();
    assert_eq!(format!("{explained:?}"), format!("{ranked:?}"));
}
