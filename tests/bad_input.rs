//! Bad input gets one clear error naming the file and what to do; never a panic,
//! and nothing is half-written.

mod common;
use common::*;
use std::path::Path;

fn replay_err(home: &Path, file: &Path, model: &Path) -> String {
    fails(cuecard(home).args(["replay", "--pace", "fast", "--no-record", "--model"]).arg(model).arg(file))
}

#[test]
fn audio_that_is_not_audio_truncated_or_empty_is_named() {
    let home = tempfile::tempdir().unwrap();
    for name in ["not-audio.wav", "truncated.mp3", "empty.wav"] {
        let f = fixture(name);
        let err = replay_err(home.path(), &f, &model());
        assert!(err.contains(&f.display().to_string()), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear error line: {err}");
    }
    let missing = home.path().join("nope.wav");
    let err = replay_err(home.path(), &missing, &model());
    assert!(err.contains("nope.wav") && err.contains("cannot open"), "{err}");
}

#[test]
fn missing_model_says_how_to_install() {
    let home = tempfile::tempdir().unwrap();
    // An empty models folder: nothing installed yet.
    let err = fails(
        cuecard(home.path())
            .env("CUECARD_MODELS", home.path().join("no-models"))
            .args(["replay", "--no-record", "--model", "tiny.en"])
            .arg(fixture("jfk.wav")),
    );
    assert!(err.contains("cuecard models install"), "{err}");
    let err = fails(
        cuecard(home.path()).args(["replay", "--no-record", "--model", "/no/such/model.bin"]).arg(fixture("jfk.wav")),
    );
    assert!(err.contains("/no/such/model.bin"), "{err}");
}

#[test]
fn corrupt_or_partial_model_is_a_clear_error_not_a_crash() {
    let home = tempfile::tempdir().unwrap();
    let good = std::fs::read(model()).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("partial.bin", good[..good.len() / 2].to_vec()),
        ("garbage.bin", (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
        ("header-only.bin", good[..64].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = home.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = replay_err(home.path(), &fixture("jfk.wav"), &path);
        assert!(err.contains(name), "{name}: {err}");
        assert!(err.contains("cuecard models install"), "{name} should say how to fix it: {err}");
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn objection(id: &str) -> String {
    let triggers: String = (0..10).map(|i| format!("      - we simply cannot afford this tool number {i}\n")).collect();
    format!(
        "  - id: {id}\n    category: price\n    title: Too expensive\n    triggers:\n{triggers}    responses:\n      - id: ask\n        kind: question\n        text: Compared to what?\n      - id: proof\n        kind: proof\n        text: Most teams pay it back in a quarter.\n"
    )
}

#[test]
fn malformed_library_files_name_file_line_and_field() {
    let home = tempfile::tempdir().unwrap();
    let lib = tempfile::tempdir().unwrap();
    write(lib.path(), "good.yaml", &format!("objections:\n{}", objection("price-a")));
    write(lib.path(), "bad.yaml", "objections:\n  - id: broken\n    category: price\n    title: [unclosed\n");
    let err = fails(cuecard(home.path()).args(["library", "validate"]).arg(lib.path()));
    assert!(err.contains("bad.yaml:"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    // An unknown field: file, line and the field's name.
    write(lib.path(), "bad.yaml", &format!("objections:\n{}", objection("price-b").replace("title:", "titel:")));
    let err = fails(cuecard(home.path()).args(["library", "validate"]).arg(lib.path()));
    assert!(err.contains("bad.yaml:4") && err.contains("titel"), "{err}");
}

#[test]
fn duplicate_ids_and_an_empty_library_are_rejected() {
    let home = tempfile::tempdir().unwrap();
    let lib = tempfile::tempdir().unwrap();
    write(lib.path(), "a.yaml", &format!("objections:\n{}", objection("same")));
    write(lib.path(), "b.yaml", &format!("objections:\n{}", objection("same")));
    let err = fails(cuecard(home.path()).args(["library", "validate"]).arg(lib.path()));
    assert!(err.contains("b.yaml:2") && err.contains("duplicate id `same`") && err.contains("a.yaml:2"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = fails(cuecard(home.path()).args(["library", "validate"]).arg(empty.path()));
    assert!(err.contains("has no objections"), "{err}");
}

#[test]
fn a_failed_import_leaves_the_previous_library_untouched() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("t.db");
    let good = tempfile::tempdir().unwrap();
    write(good.path(), "p.yaml", &format!("objections:\n{}", objection("price-only")));
    ok(cuecard(home.path()).arg("--db").arg(&db).args(["library", "import"]).arg(good.path()));

    let bad = tempfile::tempdir().unwrap();
    write(bad.path(), "p.yaml", &format!("objections:\n{}{}", objection("x"), objection("x")));
    fails(cuecard(home.path()).arg("--db").arg(&db).args(["library", "import"]).arg(bad.path()));

    let out = tempfile::tempdir().unwrap();
    ok(cuecard(home.path()).arg("--db").arg(&db).args(["library", "export"]).arg(out.path()));
    let exported = std::fs::read_to_string(out.path().join("p.yaml")).unwrap();
    assert!(exported.contains("price-only") && !exported.contains("id: x"), "{exported}");
}

#[test]
fn a_bad_eval_set_names_the_line() {
    let home = tempfile::tempdir().unwrap();
    let set = home.path().join("set.jsonl");
    std::fs::write(&set, "{\"id\":\"a\",\"text\":\"too pricey\",\"expect\":\"price\"}\n{not json\n").unwrap();
    let err = fails(cuecard(home.path()).args(["eval"]).arg(&set));
    assert!(err.contains("set.jsonl:2"), "{err}");
}
