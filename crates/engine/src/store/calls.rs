//! Call history: each row is committed as it happens, so a crash loses seconds, not calls.

use super::{Doing, Store, StoreError};
use crate::events::{CardEvent, Summary, TranscriptEvent};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub model: String,
    pub started_at_ms: i64,
    pub duration_ms: Option<i64>,
    pub status: String,
    pub cards: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentRecord {
    pub speaker: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CardRecord {
    pub id: i64,
    pub objection_id: String,
    pub category: String,
    pub title: String,
    pub score: f64,
    pub audio_ms: i64,
    pub text: String,
    pub feedback: Vec<String>,
}

impl Store {
    pub fn begin_call(&self, kind: &str, source: &str, model: &str) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO calls(kind, source, model, started_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![kind, source, model, now_ms()],
            )
            .doing("starting a call record")?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn add_segment(&self, call_id: i64, t: &TranscriptEvent) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO segments(call_id, utterance_id, speaker, start_ms, end_ms, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    call_id,
                    t.utterance_id as i64,
                    t.speaker.as_str(),
                    t.start_ms as i64,
                    t.end_ms as i64,
                    t.text
                ])
            })
            .doing("saving a transcript segment")?;
        Ok(())
    }

    pub fn add_card(&self, call_id: i64, c: &CardEvent) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO cards(call_id, objection_id, category, title, score, utterance_id, utterance_start_ms, audio_ms, wall_ms, from_partial, text, why)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    call_id,
                    c.objection_id,
                    c.category,
                    c.title,
                    f64::from(c.score),
                    c.utterance_id as i64,
                    c.utterance_start_ms as i64,
                    c.audio_ms as i64,
                    c.wall_ms as i64,
                    c.from_partial,
                    c.text,
                    c.why
                ])
            })
            .doing("saving a card")?;
        let card_id = self.conn.last_insert_rowid();
        self.add_feedback(card_id, "shown")?;
        Ok(card_id)
    }

    /// Records what the rep did with a card: shown, dismissed, used or helpful.
    pub fn add_feedback(&self, card_id: i64, kind: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO card_feedback(card_id, kind, at_ms) VALUES (?1, ?2, ?3)",
                params![card_id, kind, now_ms()],
            )
            .doing("saving card feedback")?;
        Ok(())
    }

    /// The latest card of `objection_id` in call `call_id` (where the rep's feedback on
    /// what the overlay shows belongs), or `None` if that call showed no such card.
    pub fn latest_card(&self, call_id: i64, objection_id: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM cards WHERE call_id = ?1 AND objection_id = ?2 ORDER BY audio_ms DESC, id DESC LIMIT 1",
                params![call_id, objection_id],
                |r| r.get(0),
            )
            .optional()
            .doing("finding a card")
    }

    pub fn end_call(&self, call_id: i64, summary: &Summary, status: &str) -> Result<(), StoreError> {
        let json = serde_json::to_string(summary).unwrap_or_default();
        self.conn
            .execute(
                "UPDATE calls SET ended_at_ms = ?2, duration_ms = ?3, status = ?4, summary_json = ?5 WHERE id = ?1",
                params![call_id, now_ms(), summary.duration_ms as i64, status, json],
            )
            .doing("finishing a call record")?;
        Ok(())
    }

    pub fn recent_calls(&self, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        self.conn
            .prepare(
                "SELECT c.id, c.kind, c.source, c.model, c.started_at_ms, c.duration_ms, c.status,
                        (SELECT count(*) FROM cards WHERE call_id = c.id)
                 FROM calls c ORDER BY c.id DESC LIMIT ?1",
            )
            .doing("listing calls")?
            .query_map(params![limit as i64], |r| {
                Ok(CallRecord {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    source: r.get(2)?,
                    model: r.get(3)?,
                    started_at_ms: r.get(4)?,
                    duration_ms: r.get(5)?,
                    status: r.get(6)?,
                    cards: r.get(7)?,
                })
            })
            .doing("listing calls")?
            .collect::<Result<_, _>>()
            .doing("listing calls")
    }

    pub fn call_transcript(&self, call_id: i64) -> Result<(Vec<SegmentRecord>, Vec<CardRecord>), StoreError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM calls WHERE id = ?1", [call_id], |r| r.get(0))
            .optional()
            .doing("reading a call")?;
        if exists.is_none() {
            return Err(StoreError::NoSuchCall(call_id));
        }
        let segments = self
            .conn
            .prepare("SELECT speaker, start_ms, end_ms, text FROM segments WHERE call_id = ?1 ORDER BY start_ms")
            .doing("reading a transcript")?
            .query_map([call_id], |r| {
                Ok(SegmentRecord { speaker: r.get(0)?, start_ms: r.get(1)?, end_ms: r.get(2)?, text: r.get(3)? })
            })
            .doing("reading a transcript")?
            .collect::<Result<Vec<_>, _>>()
            .doing("reading a transcript")?;
        let cards = self
            .conn
            .prepare(
                "SELECT c.id, c.objection_id, c.category, c.title, c.score, c.audio_ms, c.text,
                        coalesce((SELECT group_concat(kind) FROM card_feedback f WHERE f.card_id = c.id), '')
                 FROM cards c WHERE call_id = ?1 ORDER BY audio_ms",
            )
            .doing("reading cards")?
            .query_map([call_id], |r| {
                let fb: String = r.get(7)?;
                Ok(CardRecord {
                    id: r.get(0)?,
                    objection_id: r.get(1)?,
                    category: r.get(2)?,
                    title: r.get(3)?,
                    score: r.get(4)?,
                    audio_ms: r.get(5)?,
                    text: r.get(6)?,
                    feedback: fb.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
                })
            })
            .doing("reading cards")?
            .collect::<Result<Vec<_>, _>>()
            .doing("reading cards")?;
        Ok((segments, cards))
    }
}
