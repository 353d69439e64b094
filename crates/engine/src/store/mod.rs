//! SQLite storage: the indexed objection library and the history of calls.
//!
//! One file (WAL mode) per user. Schema changes go through numbered migrations
//! recorded in `PRAGMA user_version`.

mod calls;
mod library;
mod migrations;
mod vectors;

pub use calls::{CallRecord, CardRecord, SegmentRecord};
pub use library::{ImportReport, Phrasing, PhrasingKind};

use rusqlite::Connection;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}; check the folder is writable or set CUECARD_HOME")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("cannot create folder {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error(
        "database {path} was written by a newer cuecard (schema {found}, this build knows {known}); upgrade cuecard"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("database error while {doing}: {source}")]
    Sql { doing: &'static str, source: rusqlite::Error },
    #[error("no call #{0} in the history")]
    NoSuchCall(i64),
}

pub(crate) trait Doing<T> {
    fn doing(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { doing, source })
    }
}

pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// `$CUECARD_HOME/cuecard.db`, else the platform data folder (`~/.local/share/cuecard`).
    pub fn default_path() -> PathBuf {
        crate::data_home().join("cuecard.db")
    }

    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder { path: parent.to_owned(), source })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_owned(), source })?;
        Self::init(conn, Some(path.to_owned()))
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().doing("opening an in-memory database")?;
        Self::init(conn, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        let shown = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        // WAL: the call being recorded survives a crash up to its last committed row,
        // and readers (the app's history view) never block the writer.
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
            .and_then(|_| conn.busy_timeout(std::time::Duration::from_secs(5)))
            .map_err(|source| StoreError::Open { path: shown.clone(), source })?;
        migrations::apply(&mut conn, &shown)?;
        Ok(Store { conn, path })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}
