//! Cached sentence embeddings of library phrasings (little-endian f32 blobs).

use super::{Doing, Store, StoreError};
use rusqlite::params;
use std::collections::HashMap;

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

impl Store {
    /// Vectors already computed by `model_id` for any of `texts`.
    pub fn cached_vectors(&self, model_id: &str) -> Result<HashMap<String, Vec<f32>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT text, vector FROM embeddings WHERE model_id = ?1")
            .doing("reading cached embeddings")?;
        let rows = stmt
            .query_map(params![model_id], |r| Ok((r.get::<_, String>(0)?, from_blob(&r.get::<_, Vec<u8>>(1)?))))
            .doing("reading cached embeddings")?;
        rows.collect::<Result<_, _>>().doing("reading cached embeddings")
    }

    /// Stores new vectors, atomically. A cache shared by several libraries keeps them
    /// all; a library's own database prunes with [`Store::prune_vectors`].
    pub fn put_vectors(&mut self, model_id: &str, vectors: &[(String, Vec<f32>)]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().doing("saving embeddings")?;
        {
            let mut put = tx
                .prepare("INSERT OR REPLACE INTO embeddings(model_id, text, vector) VALUES (?1, ?2, ?3)")
                .doing("saving embeddings")?;
            for (text, v) in vectors {
                put.execute(params![model_id, text, to_blob(v)]).doing("saving embeddings")?;
            }
        }
        tx.commit().doing("saving embeddings")
    }

    /// Drops vectors of texts no longer in this database's library.
    pub fn prune_vectors(&mut self, model_id: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM embeddings WHERE model_id = ?1 AND text NOT IN (SELECT text FROM phrasings)",
                params![model_id],
            )
            .doing("pruning stale embeddings")?;
        Ok(())
    }
}

impl Store {
    /// A trained classifier saved under `key`: its JSON header and weights.
    pub fn cached_classifier(&self, key: &str) -> Result<Option<(String, Vec<f32>)>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT header, weights FROM classifiers WHERE key = ?1", params![key], |r| {
                Ok((r.get::<_, String>(0)?, from_blob(&r.get::<_, Vec<u8>>(1)?)))
            })
            .optional()
            .doing("reading the trained classifier")
    }

    /// Saves a trained classifier, keeping the few most recent (libraries being edited,
    /// several teams' libraries on one machine).
    pub fn put_classifier(&mut self, key: &str, header: &str, weights: &[f32]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().doing("saving the trained classifier")?;
        tx.execute("DELETE FROM classifiers WHERE id NOT IN (SELECT id FROM classifiers ORDER BY id DESC LIMIT 3)", [])
            .doing("saving the trained classifier")?;
        tx.execute(
            "INSERT OR REPLACE INTO classifiers(key, header, weights) VALUES (?1, ?2, ?3)",
            params![key, header, to_blob(weights)],
        )
        .doing("saving the trained classifier")?;
        tx.commit().doing("saving the trained classifier")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectors_round_trip_and_stale_ones_are_pruned() {
        let mut s = super::Store::open_in_memory().unwrap();
        s.put_vectors("m", &[("gone".into(), vec![1.0, -2.5])]).unwrap();
        assert_eq!(s.cached_vectors("m").unwrap().len(), 1);
        s.prune_vectors("m").unwrap();
        assert!(s.cached_vectors("m").unwrap().is_empty(), "text not in the library is pruned");
        let lib = crate::library::load_default().unwrap();
        s.replace_library(&lib, "test").unwrap();
        let t = lib.objections[0].triggers[0].clone();
        s.put_vectors("m", &[(t.clone(), vec![0.25, -1.0, 3.0])]).unwrap();
        assert_eq!(s.cached_vectors("m").unwrap()[&t], vec![0.25, -1.0, 3.0]);
        assert!(s.cached_vectors("other").unwrap().is_empty());
    }
}
