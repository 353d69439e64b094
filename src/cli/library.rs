//! `cuecard library validate|import|export|search`.

use anyhow::Context;
use clap::Subcommand;
use cuecard_engine::library::{load_dir, write_dir};
use cuecard_engine::store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LibraryCommand {
    /// Check every YAML file; prints each problem with file, line and field.
    Validate {
        #[arg(default_value = "objection-library")]
        dir: PathBuf,
    },
    /// Validate and index a folder into the database (all or nothing), then embed new
    /// phrasings and train the classifier (both cached), so the next call starts at once.
    Import {
        #[arg(default_value = "objection-library")]
        dir: PathBuf,
    },
    /// Write the indexed library back out as YAML files.
    Export { dir: PathBuf },
    /// Show what would fire for a sentence, and why.
    Search {
        text: String,
        /// Use this folder instead of the imported library.
        #[arg(long)]
        library: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 5)]
        top: usize,
        #[arg(long, value_parser = super::matcher_arg())]
        matcher: Option<super::MatcherKind>,
    },
}

pub fn run(cmd: LibraryCommand, db: &Path) -> anyhow::Result<ExitCode> {
    match cmd {
        LibraryCommand::Validate { dir } => {
            let lib = load_dir(&dir)?;
            for w in &lib.warnings {
                eprintln!("warning: {w}");
            }
            let triggers: usize = lib.objections.iter().map(|o| o.triggers.len()).sum();
            println!(
                "{}: ok, {} objections in {} categories, {} trigger phrasings",
                dir.display(),
                lib.objections.len(),
                lib.categories().len(),
                triggers
            );
        }
        LibraryCommand::Import { dir } => {
            let lib = load_dir(&dir)?;
            for w in &lib.warnings {
                eprintln!("warning: {w}");
            }
            let mut store = Store::open(db)?;
            let origin = std::fs::canonicalize(&dir).unwrap_or(dir.clone()).display().to_string();
            let r = store.replace_library(&lib, &origin)?;
            drop(store);
            // Embed new or changed phrasings and train the classifier now (both cached
            // beside the models), so the first call after an import starts at once.
            let started = std::time::Instant::now();
            let (matcher, _) = super::build_matcher(None, db, None, None, Default::default())?;
            eprintln!("prepared the {} matcher in {:.1} s", matcher.name(), started.elapsed().as_secs_f32());
            println!(
                "imported {} objections ({} categories, {} triggers, {} must-not-fire) from {} into {}",
                r.objections,
                r.categories,
                r.triggers,
                r.negatives,
                dir.display(),
                db.display()
            );
        }
        LibraryCommand::Export { dir } => {
            let mut store = Store::open(db)?;
            store.ensure_library()?;
            let lib = store.library()?;
            let files = write_dir(&lib, &dir).with_context(|| format!("exporting to {}", dir.display()))?;
            println!("exported {} objections to {} files in {}", lib.objections.len(), files.len(), dir.display());
        }
        LibraryCommand::Search { text, library, json, top, matcher } => {
            let (mut matcher, _) = super::build_matcher(matcher, db, library.as_deref(), None, Default::default())?;
            let threshold = matcher.threshold();
            let ranked = matcher.rank_explained(&text, top)?;
            let fires = ranked.first().filter(|c| c.fires(threshold));
            if json {
                let fires = fires.map(|c| c.objection_id.clone());
                let out = serde_json::json!({
                    "text": text, "matcher": matcher.name(), "threshold": threshold,
                    "fires": fires, "candidates": ranked,
                });
                println!("{out}");
                return Ok(ExitCode::SUCCESS);
            }
            match fires {
                Some(c) => println!("fires: {} ({}) — {}", c.title, c.category, c.why()),
                None => println!("no card would fire ({} matcher, threshold {threshold:.2})", matcher.name()),
            }
            for (i, c) in ranked.iter().enumerate() {
                println!("  {}. {:<32} {:<15} {}", i + 1, c.objection_id, c.category, c.why());
                if let Some(s) = &c.suppressed {
                    println!("       suppressed: {s}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
