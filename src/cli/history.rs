//! `cuecard history [ID]`: past calls and what was shown in them.

use clap::Args;
use cuecard_engine::store::Store;
use std::path::Path;
use std::process::ExitCode;

#[derive(Args)]
pub struct HistoryArgs {
    /// Show this call's transcript and cards instead of the list.
    pub call: Option<i64>,
    #[arg(long)]
    pub json: bool,
    /// How many recent calls to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

fn clock(ms: i64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

pub fn run(a: HistoryArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let store = Store::open(db)?;
    match a.call {
        None => {
            let calls = store.recent_calls(a.limit)?;
            if a.json {
                println!("{}", serde_json::to_string(&calls)?);
            } else if calls.is_empty() {
                println!("no calls yet: try `cuecard replay samples/sample-call.flac`");
            }
            if !a.json {
                for c in calls {
                    let dur = c.duration_ms.map_or("-".into(), clock);
                    println!(
                        "#{:<4} {:<7} {:>6}  {:>2} cards  {:<9} {}",
                        c.id, c.kind, dur, c.cards, c.status, c.source
                    );
                }
            }
        }
        Some(id) => {
            let (segments, cards) = store.call_transcript(id)?;
            if a.json {
                println!("{}", serde_json::json!({ "call": id, "segments": segments, "cards": cards }));
                return Ok(ExitCode::SUCCESS);
            }
            let mut cards = cards.into_iter().peekable();
            for s in segments {
                while let Some(c) = cards.next_if(|c| c.audio_ms <= s.start_ms) {
                    println!("        [card] {} ({}, {:.2}) {}", c.title, c.category, c.score, c.feedback.join(","));
                }
                println!("{} {:<9} {}", clock(s.start_ms), s.speaker, s.text);
            }
            for c in cards {
                println!("        [card] {} ({}, {:.2}) {}", c.title, c.category, c.score, c.feedback.join(","));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
