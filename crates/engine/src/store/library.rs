//! The objection library inside SQLite: replaced whole in one transaction on import.

use super::{Doing, Store, StoreError};
use crate::library::{Library, Objection, Response, ResponseKind};
use rusqlite::params;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhrasingKind {
    Trigger,
    Negative,
    Cue,
}

impl PhrasingKind {
    fn as_str(self) -> &'static str {
        match self {
            PhrasingKind::Trigger => "trigger",
            PhrasingKind::Negative => "negative",
            PhrasingKind::Cue => "cue",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "negative" => PhrasingKind::Negative,
            "cue" => PhrasingKind::Cue,
            _ => PhrasingKind::Trigger,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Phrasing {
    pub rowid: i64,
    /// Empty for library-wide not-objections.
    pub objection_id: String,
    pub kind: PhrasingKind,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub objections: usize,
    pub triggers: usize,
    pub negatives: usize,
    pub categories: usize,
}

impl Store {
    /// Replaces the whole library atomically: on any error nothing changes.
    pub fn replace_library(&mut self, lib: &Library, origin: &str) -> Result<ImportReport, StoreError> {
        let tx = self.conn.transaction().doing("starting the library import")?;
        tx.execute_batch("DELETE FROM phrasings; DELETE FROM responses; DELETE FROM objections;")
            .doing("clearing the old library")?;
        let (mut triggers, mut negatives) = (0, 0);
        {
            let mut obj = tx
                .prepare(
                    "INSERT INTO objections(id, category, title, source_file, position) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .doing("preparing the import")?;
            let mut phr = tx
                .prepare("INSERT INTO phrasings(objection_id, kind, text, position) VALUES (?1, ?2, ?3, ?4)")
                .doing("preparing the import")?;
            let mut resp = tx
                .prepare("INSERT INTO responses(objection_id, id, kind, text, position) VALUES (?1, ?2, ?3, ?4, ?5)")
                .doing("preparing the import")?;
            for (pos, o) in lib.objections.iter().enumerate() {
                obj.execute(params![o.id, o.category, o.title, o.source_file, pos as i64])
                    .doing("importing an objection")?;
                let groups = [
                    (PhrasingKind::Trigger, &o.triggers),
                    (PhrasingKind::Negative, &o.must_not_fire),
                    (PhrasingKind::Cue, &o.cues),
                ];
                for (kind, list) in groups {
                    for (i, text) in list.iter().enumerate() {
                        phr.execute(params![o.id, kind.as_str(), text.trim(), i as i64])
                            .doing("importing a phrasing")?;
                    }
                }
                triggers += o.triggers.len();
                negatives += o.must_not_fire.len();
                for (i, r) in o.responses.iter().enumerate() {
                    resp.execute(params![o.id, r.id, r.kind.as_str(), r.text, i as i64])
                        .doing("importing a response")?;
                }
            }
        }
        for (i, text) in lib.not_objections.iter().enumerate() {
            tx.execute(
                "INSERT INTO phrasings(objection_id, kind, text, position) VALUES (NULL, 'negative', ?1, ?2)",
                params![text, i as i64],
            )
            .doing("importing a not-objection phrasing")?;
        }
        negatives += lib.not_objections.len();
        tx.execute("INSERT OR REPLACE INTO library_meta(key, value) VALUES ('origin', ?1)", params![origin])
            .doing("recording where the library came from")?;
        tx.commit().doing("committing the library import")?;
        Ok(ImportReport { objections: lib.objections.len(), triggers, negatives, categories: lib.categories().len() })
    }

    pub fn library_origin(&self) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM library_meta WHERE key = 'origin'", [], |r| r.get(0))
            .optional()
            .doing("reading the library origin")
    }

    pub fn objection_count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM objections", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .doing("counting objections")
    }

    /// Indexes the built-in default library if no library was imported yet.
    pub fn ensure_library(&mut self) -> Result<(), crate::Error> {
        if self.objection_count()? == 0 {
            let lib = crate::library::load_default()?;
            self.replace_library(&lib, "built-in default library")?;
        }
        Ok(())
    }

    /// The library as indexed (round-trips what was imported).
    pub fn library(&self) -> Result<Library, StoreError> {
        let mut objections: Vec<Objection> = self
            .conn
            .prepare("SELECT id, category, title, source_file FROM objections ORDER BY position")
            .doing("reading objections")?
            .query_map([], |r| {
                Ok(Objection {
                    id: r.get(0)?,
                    category: r.get(1)?,
                    title: r.get(2)?,
                    source_file: r.get(3)?,
                    triggers: Vec::new(),
                    must_not_fire: Vec::new(),
                    cues: Vec::new(),
                    responses: Vec::new(),
                })
            })
            .doing("reading objections")?
            .collect::<Result<_, _>>()
            .doing("reading objections")?;
        let index = |objections: &[Objection], id: &str| objections.iter().position(|o| o.id == id);
        let mut not_objections = Vec::new();
        for p in self.phrasings()? {
            if p.objection_id.is_empty() {
                not_objections.push(p.text);
            } else if let Some(i) = index(&objections, &p.objection_id) {
                let o = &mut objections[i];
                match p.kind {
                    PhrasingKind::Trigger => o.triggers.push(p.text),
                    PhrasingKind::Negative => o.must_not_fire.push(p.text),
                    PhrasingKind::Cue => o.cues.push(p.text),
                }
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT objection_id, id, kind, text FROM responses ORDER BY objection_id, position")
            .doing("reading responses")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })
            .doing("reading responses")?;
        for row in rows {
            let (oid, id, kind, text) = row.doing("reading responses")?;
            if let (Some(i), Some(kind)) = (index(&objections, &oid), ResponseKind::parse(&kind)) {
                objections[i].responses.push(Response { id, kind, text });
            }
        }
        Ok(Library { objections, not_objections, warnings: Vec::new() })
    }

    pub fn phrasings(&self) -> Result<Vec<Phrasing>, StoreError> {
        self.conn
            .prepare("SELECT id, coalesce(objection_id, ''), kind, text FROM phrasings ORDER BY objection_id, kind, position")
            .doing("reading phrasings")?
            .query_map([], |r| {
                Ok(Phrasing {
                    rowid: r.get(0)?,
                    objection_id: r.get(1)?,
                    kind: PhrasingKind::parse(&r.get::<_, String>(2)?),
                    text: r.get(3)?,
                })
            })
            .doing("reading phrasings")?
            .collect::<Result<_, _>>()
            .doing("reading phrasings")
    }

    /// Full-text candidates for `terms` (already plain words): (phrasing rowid, bm25),
    /// best first. bm25 is negated so that larger means a better match.
    pub fn fts_candidates(&self, terms: &[String], limit: usize) -> Result<Vec<(i64, f32)>, StoreError> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = terms.iter().map(|t| format!("\"{}\"", t.replace('"', ""))).collect::<Vec<_>>().join(" OR ");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, -bm25(phrasings_fts) FROM phrasings_fts WHERE phrasings_fts MATCH ?1 ORDER BY bm25(phrasings_fts) LIMIT ?2",
            )
            .doing("searching the library")?;
        let rows = stmt
            .query_map(params![query, limit as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)? as f32)))
            .doing("searching the library")?;
        rows.collect::<Result<_, _>>().doing("searching the library")
    }
}
