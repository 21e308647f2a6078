//! The vault's IndexedDB database, through the `idb` crate.
//!
//! Schema (version 1). Every value is a string (JSON text): one record per commit, never one per item,
//! because IndexedDB costs per record far more than per byte.
//! - `meta`: `"head"` (the log's end, written with every commit), `"did"`, `"created_at"`;
//! - `keys`: `"primary"` → the sealed key (Argon2id + XChaCha20-Poly1305); never a secret in the clear;
//! - `heads`, `bodies`, `log`: commit number → the commit's three records (see `core::store`);
//! - `cursors`: `"<node did> <service>"` → the export cursor saved with the commit that consumed it;
//! - `receipts`: receipt id → a signed receipt.

use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Error, Result};

/// Current schema version.
pub const SCHEMA_VERSION: u32 = 1;
/// Store names.
pub const META: &str = "meta";
pub const KEYS: &str = "keys";
pub const HEADS: &str = "heads";
pub const BODIES: &str = "bodies";
pub const LOG: &str = "log";
pub const CURSORS: &str = "cursors";
pub const RECEIPTS: &str = "receipts";
/// Every store, for whole-database reads and scans.
pub const ALL_STORES: [&str; 7] = [META, KEYS, HEADS, BODIES, LOG, CURSORS, RECEIPTS];

/// The IndexedDB database name of a vault name.
pub fn database_name(vault: &str) -> String {
    format!("bundle-vault/{vault}")
}

/// Opens (creating or migrating) a vault's database.
pub async fn open(vault: &str) -> Result<Database> {
    let factory = Factory::new().map_err(storage)?;
    let mut request = factory
        .open(&database_name(vault), Some(SCHEMA_VERSION))
        .map_err(storage)?;
    request.on_upgrade_needed(|event| {
        let old = event.old_version().unwrap_or(0);
        if let Ok(db) = event.database() {
            // Migrations run in order from the stored version; version 1 creates every store.
            if old < 1 {
                for name in ALL_STORES {
                    let _ = db.create_object_store(name, ObjectStoreParams::new());
                }
            }
        }
    });
    request.await.map_err(storage)
}

/// Deletes a vault's database.
pub async fn delete(vault: &str) -> Result<()> {
    let factory = Factory::new().map_err(storage)?;
    factory
        .delete(&database_name(vault))
        .map_err(storage)?
        .await
        .map_err(storage)
}

/// Reads one string record.
pub async fn get(db: &Database, store: &str, key: &JsValue) -> Result<Option<String>> {
    let tx = db
        .transaction(&[store], TransactionMode::ReadOnly)
        .map_err(storage)?;
    let value = tx
        .object_store(store)
        .map_err(storage)?
        .get(key.clone())
        .map_err(storage)?
        .await
        .map_err(storage)?;
    Ok(value.and_then(text_of))
}

/// A stored text: a string, or its UTF-8 bytes (see [`Write::PutBytes`]).
fn text_of(value: JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    let bytes = value.dyn_ref::<js_sys::Uint8Array>()?.to_vec();
    String::from_utf8(bytes).ok()
}

/// Reads every record of a store as `(key, text)` pairs in key order.
pub async fn get_all(db: &Database, store: &str) -> Result<Vec<(JsValue, String)>> {
    let tx = db
        .transaction(&[store], TransactionMode::ReadOnly)
        .map_err(storage)?;
    let os = tx.object_store(store).map_err(storage)?;
    let keys = os
        .get_all_keys(None, None)
        .map_err(storage)?
        .await
        .map_err(storage)?;
    let values = os
        .get_all(None, None)
        .map_err(storage)?
        .await
        .map_err(storage)?;
    Ok(keys
        .into_iter()
        .zip(values)
        .filter_map(|(k, v)| text_of(v).map(|v| (k, v)))
        .collect())
}

/// One write of a transaction.
pub enum Write {
    /// Put a string value under a key.
    Put(&'static str, JsValue, String),
    /// Put a text under a key as its UTF-8 bytes: large records (a commit's bodies) move from wasm to
    /// IndexedDB as one copy of bytes, with no conversion to a JavaScript string. Read back as text.
    PutBytes(&'static str, JsValue, String),
    /// Delete a key.
    Delete(&'static str, JsValue),
}

/// Writes everything in one read-write transaction: all of it, or none of it.
pub async fn write(db: &Database, writes: Vec<Write>) -> Result<()> {
    let mut stores: Vec<&str> = writes
        .iter()
        .map(|w| match w {
            Write::Put(s, ..) | Write::PutBytes(s, ..) | Write::Delete(s, _) => *s,
        })
        .collect();
    stores.sort_unstable();
    stores.dedup();
    if stores.is_empty() {
        return Ok(());
    }
    let tx = db
        .transaction(&stores, TransactionMode::ReadWrite)
        .map_err(storage)?;
    for w in writes {
        let result = match w {
            Write::Put(store, key, value) => tx
                .object_store(store)
                .and_then(|os| os.put(&JsValue::from(value), Some(&key)).map(drop)),
            Write::PutBytes(store, key, value) => tx.object_store(store).and_then(|os| {
                os.put(
                    &js_sys::Uint8Array::from(value.as_bytes()).into(),
                    Some(&key),
                )
                .map(drop)
            }),
            Write::Delete(store, key) => tx
                .object_store(store)
                .and_then(|os| os.delete(key).map(drop)),
        };
        if let Err(e) = result {
            let _ = tx.abort();
            return Err(storage(e));
        }
    }
    let outcome = tx.commit().map_err(storage)?.await.map_err(storage)?;
    if outcome.is_committed() {
        Ok(())
    } else {
        Err(Error::Storage(
            "the transaction was aborted; nothing was written".into(),
        ))
    }
}

/// Maps an IndexedDB failure to a typed error; a full quota is `QUOTA_EXCEEDED`.
pub fn storage(error: idb::Error) -> Error {
    let name = match &error {
        idb::Error::DomException(e) => e.name(),
        _ => String::new(),
    };
    let text = error.to_string();
    if name == "QuotaExceededError" || text.contains("QuotaExceeded") {
        Error::QuotaExceeded(text)
    } else {
        Error::Storage(text)
    }
}

/// Maps a JavaScript exception from a storage call.
pub fn storage_js(error: JsValue) -> Error {
    match error.dyn_ref::<web_sys::DomException>() {
        Some(e) if e.name() == "QuotaExceededError" => Error::QuotaExceeded(e.message()),
        Some(e) => Error::Storage(format!("{}: {}", e.name(), e.message())),
        None => Error::Storage(format!("{error:?}")),
    }
}
