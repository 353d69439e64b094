//! Numbered schema migrations; each runs once, in a transaction.

use super::{Doing, StoreError};
use rusqlite::Connection;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: library + call history
    r#"
    CREATE TABLE objections (
        id TEXT PRIMARY KEY,
        category TEXT NOT NULL,
        title TEXT NOT NULL,
        source_file TEXT NOT NULL,
        position INTEGER NOT NULL
    );
    CREATE TABLE phrasings (
        id INTEGER PRIMARY KEY,
        -- NULL for library-wide must-not-fire phrasings
        objection_id TEXT REFERENCES objections(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('trigger', 'negative', 'cue')),
        text TEXT NOT NULL,
        position INTEGER NOT NULL
    );
    CREATE INDEX phrasings_by_objection ON phrasings(objection_id);
    CREATE VIRTUAL TABLE phrasings_fts USING fts5(
        text, content='phrasings', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER phrasings_ai AFTER INSERT ON phrasings BEGIN
        INSERT INTO phrasings_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER phrasings_ad AFTER DELETE ON phrasings BEGIN
        INSERT INTO phrasings_fts(phrasings_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TABLE responses (
        objection_id TEXT NOT NULL REFERENCES objections(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (objection_id, id)
    );
    CREATE TABLE library_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        model TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        duration_ms INTEGER,
        status TEXT NOT NULL DEFAULT 'running',
        summary_json TEXT
    );
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        utterance_id INTEGER NOT NULL,
        speaker TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX segments_by_call ON segments(call_id, start_ms);
    CREATE TABLE cards (
        id INTEGER PRIMARY KEY,
        call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        objection_id TEXT NOT NULL,
        category TEXT NOT NULL,
        title TEXT NOT NULL,
        score REAL NOT NULL,
        utterance_id INTEGER NOT NULL,
        utterance_start_ms INTEGER NOT NULL,
        audio_ms INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        from_partial INTEGER NOT NULL,
        text TEXT NOT NULL,
        why TEXT NOT NULL
    );
    CREATE INDEX cards_by_call ON cards(call_id);
    CREATE TABLE card_feedback (
        id INTEGER PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('shown', 'dismissed', 'used', 'helpful')),
        at_ms INTEGER NOT NULL
    );
    "#,
    // 2: sentence-embedding cache, keyed by model and text so that a re-import only
    // embeds phrasings that changed.
    r#"
    CREATE TABLE embeddings (
        model_id TEXT NOT NULL,
        text TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model_id, text)
    ) WITHOUT ROWID;
    "#,
    // 3: trained objection classifiers, keyed by a hash of everything they were trained
    // on, so the library is learned once per change, not on every start.
    r#"
    CREATE TABLE classifiers (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        header TEXT NOT NULL,
        weights BLOB NOT NULL
    );
    "#,
];

pub(super) fn apply(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|source| StoreError::Open { path: path.to_owned(), source })?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew { path: path.to_owned(), found: version, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().doing("starting a schema migration")?;
        tx.execute_batch(sql).doing("migrating the database schema")?;
        tx.pragma_update(None, "user_version", i as i64 + 1).doing("recording the schema version")?;
        tx.commit().doing("committing a schema migration")?;
    }
    Ok(())
}
