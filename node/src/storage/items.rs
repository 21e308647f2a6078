//! Service tables: one per service, `svc_<name>`, with the same generic columns
//! `(did, collection, id, updated_at, seq, deleted, data)`. `data` is the item's RFC 8785 text (NULL
//! for a tombstone); `seq` is the node-wide change sequence: every insert, update or delete takes the
//! next number, so "everything after sequence n" is what changed since a cursor was issued.

use std::collections::BTreeMap;

use bundle_vault::core::export::{is_portable_name, parse_timestamp};
use rusqlite::{params, Connection, OptionalExtension};

use crate::clock;

/// One stored item version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// Collection within the service.
    pub collection: String,
    /// Item id.
    pub id: String,
    /// Protocol timestamp of this version.
    pub updated_at: String,
    /// Change sequence number.
    pub seq: i64,
    /// Tombstone?
    pub deleted: bool,
    /// Canonical JSON text of the data (`None` for a tombstone).
    pub data: Option<String>,
}

/// The table of a service. Service names are portable names (lowercase letters and `_`), checked when
/// a service is registered, so the name is a safe SQL identifier.
pub fn table(service: &str) -> String {
    debug_assert!(is_portable_name(service));
    format!("svc_{service}")
}

/// Creates a service's table and indexes (schema version 2).
///
/// A table with a rowid: an export page walks the `(did, seq)` index and finds each row by its
/// integer rowid. Keyed by `(did, collection, id)` instead (version 1, `WITHOUT ROWID`), each row of
/// a page cost a seek through text keys: about a third of the node's time serving a 100,000-item
/// account. A new version of an item is written over its row (the rowid stays), so imports over
/// existing items cost what they did; keying the rows by `seq` itself would move each updated row.
/// The item key stays unique, for the upsert of [`put`] and for reads in key order.
pub fn create_table(conn: &Connection, service: &str) -> rusqlite::Result<()> {
    if !is_portable_name(service) {
        return Err(rusqlite::Error::InvalidParameterName(service.to_owned()));
    }
    let t = table(service);
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {t} (
             did TEXT NOT NULL,
             collection TEXT NOT NULL,
             id TEXT NOT NULL,
             updated_at TEXT NOT NULL,
             seq INTEGER NOT NULL,
             deleted INTEGER NOT NULL DEFAULT 0,
             data TEXT,
             UNIQUE (did, collection, id)
         );
         CREATE INDEX IF NOT EXISTS idx_{t}_seq ON {t} (did, seq);"
    ))
}

/// Hands out change sequence numbers inside one transaction and stores the last one at the end.
#[derive(Debug)]
pub struct SeqAlloc {
    last: i64,
    start: i64,
}

impl SeqAlloc {
    /// Reads the counter. Use inside a transaction, under the connection lock.
    pub fn begin(conn: &Connection) -> rusqlite::Result<Self> {
        let last = current_seq(conn)?;
        Ok(SeqAlloc { last, start: last })
    }

    /// The next sequence number.
    pub fn allocate(&mut self) -> i64 {
        self.last += 1;
        self.last
    }

    /// How many numbers were handed out.
    pub fn used(&self) -> i64 {
        self.last - self.start
    }

    /// Stores the counter (in the same transaction).
    pub fn finish(self, conn: &Connection) -> rusqlite::Result<()> {
        if self.last != self.start {
            conn.execute("UPDATE meta SET value = ?1 WHERE key = 'seq'", [self.last])?;
        }
        Ok(())
    }
}

/// The last sequence number handed out on this node.
pub fn current_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = 'seq'")?
        .query_row([], |row| row.get(0))
}

/// The data an export page carries at most (one item may be larger on its own): 8 MiB, far below the
/// 64 MiB a vault reads of an answer, whatever `limit` asks.
pub const PAGE_DATA_BYTES: usize = 8 * 1024 * 1024;

/// Items of `did` changed after `after_seq` (and, with `since`, with `updated_at > since`), in
/// sequence order, at most `limit` and about [`PAGE_DATA_BYTES`] of data; and whether more follow.
pub fn page(
    conn: &Connection,
    service: &str,
    did: &str,
    after_seq: i64,
    since: Option<&str>,
    limit: usize,
) -> rusqlite::Result<(Vec<StoredItem>, bool)> {
    let t = table(service);
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT collection, id, updated_at, seq, deleted, data FROM {t}
         WHERE did = ?1 AND seq > ?2 AND (?3 IS NULL OR updated_at > ?3)
         ORDER BY seq LIMIT ?4"
    ))?;
    let mut items = stmt
        .query_map(params![did, after_seq, since, fetch], row_to_item)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut more = items.len() > limit;
    items.truncate(limit);
    // Big items make a short page: it ends (at least one item in) before its data pass the bound,
    // and the next page goes on from there.
    let mut bytes = 0usize;
    let fits = items
        .iter()
        .position(|item| {
            bytes += item.data.as_ref().map_or(0, String::len) + item.id.len();
            bytes > PAGE_DATA_BYTES
        })
        .map_or(items.len(), |at| at.max(1));
    if fits < items.len() {
        items.truncate(fits);
        more = true;
    }
    Ok((items, more))
}

/// Every stored version (live and tombstones) of `did` in a service, ordered by collection and id.
pub fn all_for_did(
    conn: &Connection,
    service: &str,
    did: &str,
) -> rusqlite::Result<Vec<StoredItem>> {
    let t = table(service);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT collection, id, updated_at, seq, deleted, data FROM {t}
         WHERE did = ?1 ORDER BY collection, id"
    ))?;
    let items = stmt
        .query_map([did], row_to_item)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items)
}

/// Live items of `did` per collection, with a zero for each of `collections` that has none.
pub fn live_counts(
    conn: &Connection,
    service: &str,
    did: &str,
    collections: &[String],
) -> rusqlite::Result<BTreeMap<String, u64>> {
    let t = table(service);
    let mut counts: BTreeMap<String, u64> = collections.iter().map(|c| (c.clone(), 0)).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT collection, count(*) FROM {t} WHERE did = ?1 AND deleted = 0 GROUP BY collection"
    ))?;
    let rows = stmt.query_map([did], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (collection, n) = row?;
        counts.insert(collection, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Writes one item version (insert or replace), with the given sequence number.
pub fn put(conn: &Connection, service: &str, did: &str, item: &StoredItem) -> rusqlite::Result<()> {
    let t = table(service);
    conn.prepare_cached(&format!(
        "INSERT INTO {t} (did, collection, id, updated_at, seq, deleted, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (did, collection, id) DO UPDATE SET
             updated_at = excluded.updated_at, seq = excluded.seq,
             deleted = excluded.deleted, data = excluded.data"
    ))?
    .execute(params![
        did,
        item.collection,
        item.id,
        item.updated_at,
        item.seq,
        item.deleted,
        item.data
    ])?;
    Ok(())
}

/// Turns every live item of `did` in a service into a tombstone, each with a new sequence number and
/// an `updated_at` later than its last version. Returns the count per collection (zeros for the other
/// `collections`). Runs inside the caller's transaction.
pub fn tombstone_all(
    conn: &Connection,
    service: &str,
    did: &str,
    collections: &[String],
    now_millis: u64,
    seq: &mut SeqAlloc,
) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut counts: BTreeMap<String, u64> = collections.iter().map(|c| (c.clone(), 0)).collect();
    let live: Vec<StoredItem> = all_for_did(conn, service, did)?
        .into_iter()
        .filter(|item| !item.deleted)
        .collect();
    for item in live {
        *counts.entry(item.collection.clone()).or_insert(0) += 1;
        let tombstone = StoredItem {
            updated_at: next_version_time(&item.updated_at, now_millis),
            seq: seq.allocate(),
            deleted: true,
            data: None,
            ..item
        };
        put(conn, service, did, &tombstone)?;
    }
    Ok(counts)
}

/// The `updated_at` of a new version of an item whose last version was written at `previous`.
pub fn next_version_time(previous: &str, now_millis: u64) -> String {
    let after = parse_timestamp(previous).unwrap_or(0);
    clock::timestamp(clock::next_version_millis(now_millis, after))
}

/// Whether the database holds anything for `did` in a service.
pub fn has_any(conn: &Connection, service: &str, did: &str) -> rusqlite::Result<bool> {
    let t = table(service);
    Ok(conn
        .prepare_cached(&format!("SELECT 1 FROM {t} WHERE did = ?1 LIMIT 1"))?
        .query_row([did], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A row of `collection, id, updated_at, seq, deleted, data` (in that order, further columns
/// ignored) as a stored item.
pub(super) fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
    Ok(StoredItem {
        collection: row.get(0)?,
        id: row.get(1)?,
        updated_at: row.get(2)?,
        seq: row.get(3)?,
        deleted: row.get(4)?,
        data: row.get(5)?,
    })
}
