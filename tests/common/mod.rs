//! Shared helpers for the end-to-end tests: run the real `cuecard` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The speech model installed by `make test`. Missing = a clear failure, never a skip.
pub fn model() -> PathBuf {
    let p = std::env::var_os("CUECARD_TEST_MODEL")
        .map(PathBuf::from)
        .expect("CUECARD_TEST_MODEL is not set: run the suite with `make test`, which installs the model");
    assert!(p.is_file(), "CUECARD_TEST_MODEL={} does not exist: run `make test`", p.display());
    p
}

pub fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("CUECARD_FIXTURES")
        .map(PathBuf::from)
        .expect("CUECARD_FIXTURES is not set: run the suite with `make test`, which builds the fixtures");
    let p = dir.join(name);
    assert!(p.is_file(), "fixture {} is missing: run `make fixtures`", p.display());
    p
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn cuecard(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cuecard"));
    c.env("CUECARD_HOME", home).env_remove("CUECARD_DB").env("NO_COLOR", "1");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("cannot start cuecard");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "cuecard panicked:\n{stderr}");
    out
}

pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "cuecard failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs a command that must fail; returns its stderr.
pub fn fails(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(!out.status.success(), "expected failure, got success:\n{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn of_type<'a>(events: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

/// Lower-case words only, for forgiving transcript comparisons.
pub fn words(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || c == ' ' { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
