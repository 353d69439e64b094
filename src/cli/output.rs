//! Rendering engine events: JSON Lines for machines, a readable coloured view for people.

use cuecard_engine::events::{CardEvent, Event, Speaker, Summary, TranscriptEvent};
use owo_colors::{OwoColorize, Stream::Stdout};
use std::io::{IsTerminal, Write};

pub struct Printer {
    json: bool,
    tty: bool,
    partial_shown: bool,
}

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}.{}", ms / 60_000, (ms / 1000) % 60, (ms / 100) % 10)
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Printer { json, tty: std::io::stdout().is_terminal(), partial_shown: false }
    }

    pub fn print(&mut self, e: &Event) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = serde_json::to_string(e).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
            return out.flush();
        }
        if self.partial_shown {
            // Replace the live "still speaking" line.
            write!(out, "\r\x1b[2K")?;
            self.partial_shown = false;
        }
        match e {
            Event::Transcript(t) if !t.is_final => {
                if self.tty {
                    let line = format!("{} {:<9} {}…", clock(t.start_ms), t.speaker.as_str(), t.text);
                    write!(out, "{}", truncate(&line, 160).dimmed())?;
                    self.partial_shown = true;
                }
            }
            Event::Transcript(t) => transcript(&mut out, t)?,
            Event::Card(c) => card(&mut out, c)?,
            Event::Warning(w) => {
                writeln!(out, "{} {}", "warning:".if_supports_color(Stdout, |s| s.yellow()), w.message)?
            }
            Event::Device(d) => {
                let label = format!("{}:", d.speaker.as_str());
                writeln!(out, "{} {}", label.if_supports_color(Stdout, |s| s.yellow()), d.message)?
            }
            Event::Level(_) => {}
            Event::Summary(s) => summary(&mut out, s)?,
        }
        out.flush()
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max).collect::<String>() + "…"
    }
}

fn transcript(out: &mut impl Write, t: &TranscriptEvent) -> std::io::Result<()> {
    let who = format!("{:<9}", t.speaker.as_str().to_uppercase());
    let who = match t.speaker {
        Speaker::Rep => who.if_supports_color(Stdout, |s| s.cyan()).to_string(),
        Speaker::Prospect => who.if_supports_color(Stdout, |s| s.magenta()).to_string(),
        Speaker::Unknown => who,
    };
    writeln!(out, "{} {} {}", clock(t.start_ms).if_supports_color(Stdout, |s| s.dimmed()), who, t.text)
}

fn card(out: &mut impl Write, c: &CardEvent) -> std::io::Result<()> {
    let bar = "│".if_supports_color(Stdout, |s| s.yellow()).to_string();
    writeln!(
        out,
        "          {} {}  {}",
        "┌ CARD".if_supports_color(Stdout, |s| s.yellow()),
        c.title.if_supports_color(Stdout, |s| s.bold()),
        format!("{} · {:.2} · at {}", c.category, c.score, clock(c.audio_ms)).if_supports_color(Stdout, |s| s.dimmed())
    )?;
    for (i, r) in c.responses.iter().enumerate() {
        writeln!(out, "          {bar} {}. {}", i + 1, r.text)?;
    }
    writeln!(
        out,
        "          {} why: {}",
        "└".if_supports_color(Stdout, |s| s.yellow()),
        c.why.if_supports_color(Stdout, |s| s.dimmed())
    )
}

fn summary(out: &mut impl Write, s: &Summary) -> std::io::Result<()> {
    let secs = |ms: u64| format!("{:.0}s", ms as f64 / 1000.0);
    writeln!(out)?;
    writeln!(out, "{}", "Call summary".if_supports_color(Stdout, |s| s.bold()))?;
    writeln!(out, "  duration {}  (replayed in {})", secs(s.duration_ms), secs(s.wall_ms))?;
    writeln!(
        out,
        "  talk time: rep {}, prospect {}{}",
        secs(s.talk.rep_ms),
        secs(s.talk.prospect_ms),
        if s.talk.unknown_ms > 0 { format!(", unattributed {}", secs(s.talk.unknown_ms)) } else { String::new() }
    )?;
    writeln!(out, "  cards: {}", s.cards.len())?;
    for c in &s.cards {
        writeln!(out, "    {}  {} ({})", clock(c.audio_ms), c.title, c.category)?;
    }
    writeln!(
        out,
        "  speech: {} (real-time factor {:.3}, {} partials skipped)",
        s.asr.model, s.asr.real_time_factor, s.asr.partials_skipped
    )?;
    if let Some(id) = s.call_id {
        writeln!(out, "  saved as call #{id} (cuecard history {id})")?;
    }
    Ok(())
}
