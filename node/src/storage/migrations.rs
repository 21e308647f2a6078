//! Schema migrations, tracked with `PRAGMA user_version`. Each migration runs in one transaction;
//! a database newer than this program is refused.

use rusqlite::Connection;

use super::items;
use crate::catalog::BUILTIN;

/// The migrations, in order; migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>] = &[v1];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Brings the database up to [`SCHEMA_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if current > SCHEMA_VERSION {
        return Err(format!(
            "the database has schema version {current}, newer than this node's {SCHEMA_VERSION}"
        ));
    }
    for (index, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        migration(&tx).map_err(|e| format!("migration {}: {e}", index + 1))?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Version 1: every table of the node, and the eight built-in services.
fn v1(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE meta (
             key TEXT PRIMARY KEY,
             value INTEGER NOT NULL
         );
         INSERT INTO meta (key, value) VALUES ('seq', 0);
         CREATE TABLE services (
             name TEXT PRIMARY KEY,
             position INTEGER NOT NULL,
             builtin INTEGER NOT NULL,
             collections TEXT NOT NULL
         );
         CREATE TABLE accounts (
             did TEXT PRIMARY KEY,
             created_at INTEGER NOT NULL,
             demo_items INTEGER NOT NULL DEFAULT 0
         );
         CREATE TABLE challenges (
             id TEXT PRIMARY KEY,
             did TEXT NOT NULL,
             challenge TEXT NOT NULL,
             expires_at INTEGER NOT NULL
         );
         CREATE TABLE tokens (
             token_hash TEXT PRIMARY KEY,
             did TEXT NOT NULL,
             expires_at INTEGER NOT NULL
         );
         CREATE INDEX tokens_expiry ON tokens (expires_at);
         CREATE TABLE nonces (
             nonce TEXT PRIMARY KEY,
             did TEXT NOT NULL,
             expires_at INTEGER NOT NULL
         );
         CREATE TABLE deletion_receipts (
             request_hash TEXT PRIMARY KEY,
             did TEXT NOT NULL,
             service TEXT NOT NULL,
             body TEXT NOT NULL,
             created_at INTEGER NOT NULL
         );
         CREATE TABLE transfer_sessions (
             id TEXT PRIMARY KEY,
             did TEXT NOT NULL,
             bundle_hash TEXT NOT NULL,
             size INTEGER NOT NULL,
             chunk_size INTEGER NOT NULL,
             created_at INTEGER NOT NULL,
             committed_at INTEGER,
             receipt TEXT,
             UNIQUE (did, bundle_hash)
         );
         CREATE TABLE transfer_chunks (
             session_id TEXT NOT NULL REFERENCES transfer_sessions (id) ON DELETE CASCADE,
             idx INTEGER NOT NULL,
             data BLOB NOT NULL,
             PRIMARY KEY (session_id, idx)
         ) WITHOUT ROWID;",
    )?;
    for (position, service) in BUILTIN.iter().enumerate() {
        let collections = serde_json::to_string(service.collections)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        tx.execute(
            "INSERT INTO services (name, position, builtin, collections) VALUES (?1, ?2, 1, ?3)",
            rusqlite::params![service.name, position as i64, collections],
        )?;
        items::create_table(tx, service.name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let services: i64 = conn
            .query_row("SELECT count(*) FROM services", [], |r| r.get(0))
            .unwrap();
        assert_eq!(services, 8);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(migrate(&mut conn).is_err());
    }
}
