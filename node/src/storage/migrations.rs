//! Schema migrations, tracked with `PRAGMA user_version`. Each migration runs in one transaction;
//! a database newer than this program is refused.

use bundle_vault::core::export::is_portable_name;
use rusqlite::Connection;

use super::items;
use crate::catalog::BUILTIN;

/// The migrations, in order; migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>] = &[v1, v2];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = 2;

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
        create_service_table_v1(tx, service.name)?;
    }
    Ok(())
}

/// A service table as version 1 made it: keyed by the item key, without rowid.
fn create_service_table_v1(tx: &rusqlite::Transaction<'_>, service: &str) -> rusqlite::Result<()> {
    let t = items::table(service);
    tx.execute_batch(&format!(
        "CREATE TABLE {t} (
             did TEXT NOT NULL,
             collection TEXT NOT NULL,
             id TEXT NOT NULL,
             updated_at TEXT NOT NULL,
             seq INTEGER NOT NULL,
             deleted INTEGER NOT NULL DEFAULT 0,
             data TEXT,
             PRIMARY KEY (did, collection, id)
         ) WITHOUT ROWID;
         CREATE INDEX idx_{t}_seq ON {t} (did, seq);"
    ))
}

/// Version 2: every service table (built-in or registered) as a table with a rowid
/// ([`items::create_table`]); the rows are copied over as they are, in sequence order.
fn v2(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let services = tx
        .prepare("SELECT name FROM services ORDER BY position")?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for service in services {
        // The name becomes part of SQL: only a portable name (as registering checked) may.
        if !is_portable_name(&service) {
            return Err(rusqlite::Error::InvalidParameterName(service));
        }
        let t = items::table(&service);
        tx.execute_batch(&format!(
            "DROP INDEX idx_{t}_seq;
             ALTER TABLE {t} RENAME TO {t}_v1;"
        ))?;
        items::create_table(tx, &service)?;
        tx.execute_batch(&format!(
            "INSERT INTO {t} (did, collection, id, updated_at, seq, deleted, data)
                 SELECT did, collection, id, updated_at, seq, deleted, data FROM {t}_v1 ORDER BY seq;
             DROP TABLE {t}_v1;"
        ))?;
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

    /// The rows of a service table, with their DID, in sequence order.
    fn rows(conn: &Connection, service: &str) -> Vec<(String, items::StoredItem)> {
        conn.prepare(&format!(
            "SELECT collection, id, updated_at, seq, deleted, data, did FROM {} ORDER BY seq",
            items::table(service)
        ))
        .unwrap()
        .query_map([], |r| Ok((r.get(6)?, items::row_to_item(r)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn version_2_gives_service_tables_a_rowid_and_keeps_every_row() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A database as version 1 left it, with items in a built-in service and a registered one.
        let tx = conn.transaction().unwrap();
        v1(&tx).unwrap();
        tx.execute(
            "INSERT INTO services (name, position, builtin, collections) VALUES ('garden', 8, 0, '[\"beds\"]')",
            [],
        )
        .unwrap();
        create_service_table_v1(&tx, "garden").unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.commit().unwrap();
        let builtin = BUILTIN[0].name;
        for (service, seq, id, data) in [
            (builtin, 3, "b", Some(r#"{"n":1}"#)),
            (builtin, 1, "a", None),
            ("garden", 2, "z", Some(r#"{"é":"ü"}"#)),
        ] {
            conn.execute(
                &format!(
                    "INSERT INTO {} (did, collection, id, updated_at, seq, deleted, data)
                     VALUES ('did:key:z1', 'c', ?1, '2026-01-01T00:00:00.000Z', ?2, ?3, ?4)",
                    items::table(service)
                ),
                rusqlite::params![id, seq, data.is_none(), data],
            )
            .unwrap();
        }
        let before = (rows(&conn, builtin), rows(&conn, "garden"));

        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        assert_eq!((rows(&conn, builtin), rows(&conn, "garden")), before);
        for service in [builtin, "garden"] {
            let t = items::table(service);
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [&t],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
            assert!(sql.contains("UNIQUE (did, collection, id)"), "{sql}");
            let old: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name LIKE ?1",
                    [format!("%{t}_v1%")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(old, 0);
        }
        // The item key is still unique: a new version of an item is written over its row.
        let rowid_of_b = |conn: &Connection| -> i64 {
            conn.query_row(
                &format!("SELECT rowid FROM {} WHERE id = 'b'", items::table(builtin)),
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let rowid = rowid_of_b(&conn);
        let item = items::StoredItem {
            collection: "c".into(),
            id: "b".into(),
            updated_at: "2026-01-02T00:00:00.000Z".into(),
            seq: 9,
            deleted: false,
            data: Some(r#"{"n":2}"#.into()),
        };
        items::put(&conn, builtin, "did:key:z1", &item).unwrap();
        let after = rows(&conn, builtin);
        assert_eq!(after.len(), 2);
        assert_eq!(after[1].1, item);
        assert_eq!(rowid_of_b(&conn), rowid);
        let (page, more) = items::page(&conn, builtin, "did:key:z1", 1, None, 10).unwrap();
        assert_eq!((page.len(), more), (1, false));
        assert_eq!(page[0], item);
    }
}
