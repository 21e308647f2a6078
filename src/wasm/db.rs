//! The vault's IndexedDB database, through the `idb` crate.
//!
//! Schema (version 1). Every value is JSON text, as a string or (a commit's records) as its UTF-8 bytes:
//! one record per commit, never one per item, because IndexedDB costs per record far more than per
//! byte.
//! - `meta`: `"head"` (the log's end, written with every commit), `"did"`, `"created_at"`;
//! - `keys`: `"primary"` → the sealed key (Argon2id + XChaCha20-Poly1305); never a secret in the clear;
//! - `heads`, `bodies`, `log`: commit number → the commit's three records (see `core::store`);
//! - `cursors`: `"<node did> <service>"` → the export cursor saved with the commit that consumed it;
//! - `receipts`: `"transfer <node did> <bundle hash>"` → a verified transfer receipt with its bundle's log
//!   commitment; `"delete <node did> <request hash>"` → a verified deletion receipt; `"export <bundle
//!   hash>"` → an exported bundle the user keeps (`rights::ExportRecord`).

use std::future::IntoFuture;

use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, Transaction, TransactionMode};
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

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

/// Keys of the `receipts` store, written and read only through these.
pub mod receipt_key {
    use wasm_bindgen::JsValue;

    const TRANSFER: &str = "transfer ";
    const DELETION: &str = "delete ";
    const EXPORT: &str = "export ";

    /// `transfer <node did> <bundle hash>`: a verified transfer receipt.
    pub fn transfer(node_did: &str, bundle_hash: &str) -> JsValue {
        JsValue::from_str(&format!("{TRANSFER}{node_did} {bundle_hash}"))
    }

    /// `delete <node did> <request hash>`: a verified deletion receipt.
    pub fn deletion(node_did: &str, request_hash: &str) -> JsValue {
        JsValue::from_str(&format!("{DELETION}{node_did} {request_hash}"))
    }

    /// `export <bundle hash>`: an exported bundle the user keeps.
    pub fn export(bundle_hash: &str) -> JsValue {
        JsValue::from_str(&format!("{EXPORT}{bundle_hash}"))
    }

    /// What a key names: a deletion receipt of which node (`Some(Some(did))`), a record of another
    /// kind (`Some(None)`), or nothing the vault writes (`None`).
    pub fn deletion_node(key: &str) -> Option<Option<&str>> {
        if let Some(rest) = key.strip_prefix(DELETION) {
            return Some(Some(rest.rsplit_once(' ').map_or(rest, |(node, _)| node)));
        }
        (key.starts_with(TRANSFER) || key.starts_with(EXPORT)).then_some(None)
    }
}

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

/// A stored text: a string, or its UTF-8 bytes (see [`Write::AddBytes`]).
fn text_of(value: JsValue) -> Option<String> {
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    let bytes = value.dyn_ref::<js_sys::Uint8Array>()?.to_vec();
    String::from_utf8(bytes).ok()
}

/// Reads every record of a store as `(key, text)` pairs in key order.
pub async fn get_all(db: &Database, store: &str) -> Result<Vec<(JsValue, String)>> {
    let [records] = snapshot(db, [store]).await?;
    Ok(records)
}

fn pairs(keys: Vec<JsValue>, values: Vec<JsValue>) -> Vec<(JsValue, String)> {
    keys.into_iter()
        .zip(values)
        .filter_map(|(k, v)| text_of(v).map(|v| (k, v)))
        .collect()
}

/// Reads every record of each of `stores` as `(key, text)` pairs in key order, all in one read-only
/// transaction: a consistent snapshot, which no other writer's commit can tear.
pub async fn snapshot<const N: usize>(
    db: &Database,
    stores: [&str; N],
) -> Result<[Vec<(JsValue, String)>; N]> {
    read_all(db, &stores)
        .await?
        .try_into()
        .map_err(|_| Error::Storage("a snapshot without all its stores".into()))
}

async fn read_all(db: &Database, stores: &[&str]) -> Result<Vec<Vec<(JsValue, String)>>> {
    let tx = db
        .transaction(stores, TransactionMode::ReadOnly)
        .map_err(storage)?;
    // Every request is issued before the first is awaited, so IndexedDB reads the stores back to back
    // instead of waiting for this task between them. Every issued request is awaited, failed or not,
    // before an error is returned: a request future dropped while pending would leave IndexedDB to
    // call its dropped handlers (an uncaught error in the page).
    let mut requests = Vec::with_capacity(stores.len());
    let mut issue_error = None;
    for store in stores {
        let issued = tx.object_store(store).and_then(|os| {
            let keys = os.get_all_keys(None, None)?.into_future();
            let values = os.get_all(None, None)?.into_future();
            Ok((keys, values))
        });
        match issued {
            Ok(pair) => requests.push(pair),
            Err(e) => {
                issue_error = Some(storage(e));
                break;
            }
        }
    }
    let mut answers = Vec::with_capacity(requests.len());
    for (keys, values) in requests {
        answers.push((keys.await, values.await));
    }
    if let Some(e) = issue_error {
        return Err(e);
    }
    answers
        .into_iter()
        .map(|(keys, values)| Ok(pairs(keys.map_err(storage)?, values.map_err(storage)?)))
        .collect()
}

/// What another writer may have changed: the recorded log head, the sealed key, the DID and whether
/// a commit numbered `next_commit` or later exists, read in one transaction.
pub struct Probe {
    pub head: Option<String>,
    pub sealed: Option<String>,
    pub did: Option<String>,
    pub newer_commit: bool,
}

/// Reads a [`Probe`] (`head`, `did` and `primary` are the keys the vault stores them under).
pub async fn probe(
    db: &Database,
    head: &str,
    did: &str,
    primary: &str,
    next_commit: u64,
) -> Result<Probe> {
    let tx = db
        .transaction(&[META, KEYS, HEADS], TransactionMode::ReadOnly)
        .map_err(storage)?;
    let from = idb::KeyRange::lower_bound(&JsValue::from_f64(next_commit as f64), Some(false))
        .map_err(storage)?;
    // Every request is issued (and its handlers set, by `into_future`) before the first is awaited,
    // and every issued one is awaited before an error is returned (see `read_all`).
    let get = |store: &str, key: &str| {
        tx.object_store(store)
            .and_then(|os| os.get(JsValue::from_str(key)))
            .map(IntoFuture::into_future)
            .map_err(storage)
    };
    let (head, sealed, did) = (get(META, head), get(KEYS, primary), get(META, did));
    let newer = tx
        .object_store(HEADS)
        .and_then(|os| os.get_all_keys(Some(from.into()), Some(1)))
        .map(IntoFuture::into_future)
        .map_err(storage);
    let (head, sealed, did, newer) = (
        settle(head).await,
        settle(sealed).await,
        settle(did).await,
        settle(newer).await,
    );
    let text = |value: Option<JsValue>| value.and_then(text_of);
    Ok(Probe {
        head: text(head?),
        sealed: text(sealed?),
        did: text(did?),
        newer_commit: !newer?.is_empty(),
    })
}

/// Awaits an issued request, or passes on why it could not be issued.
async fn settle<F, T>(request: Result<F>) -> Result<T>
where
    F: std::future::Future<Output = std::result::Result<T, idb::Error>>,
{
    request?.await.map_err(storage)
}

/// One write of a transaction.
pub enum Write {
    /// Put a string value under a key.
    Put(&'static str, JsValue, String),
    /// Add a text as its UTF-8 bytes under a key that must be free: large records (a commit's bodies)
    /// move from wasm to IndexedDB as one copy of bytes, with no conversion to a JavaScript string, and
    /// are read back as text. A commit's records are never overwritten: if the key is taken (another
    /// writer committed that number), the whole transaction aborts with a `ConstraintError` and
    /// [`write`] fails with [`CONFLICT`].
    AddBytes(&'static str, JsValue, String),
    /// Delete a key.
    Delete(&'static str, JsValue),
}

/// The message of a transaction refused because another writer committed first.
pub const CONFLICT: &str =
    "another tab wrote to this vault at the same time; nothing was written: try again";

/// Writes everything in one read-write transaction: all of it, or none of it. A full quota is
/// `QUOTA_EXCEEDED`, a commit record that exists already is `STORAGE` ([`CONFLICT`]).
pub async fn write(db: &Database, writes: Vec<Write>) -> Result<()> {
    let mut stores: Vec<&str> = writes
        .iter()
        .map(|w| match w {
            Write::Put(s, ..) | Write::AddBytes(s, ..) | Write::Delete(s, _) => *s,
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
    // The transaction and its requests, to read why it failed (their `error`) once it has.
    let tx_js = JsValue::from(tx);
    let tx = Transaction::try_from(tx_js.clone()).map_err(storage)?;
    let bytes = |text: String| JsValue::from(js_sys::Uint8Array::from(text.as_bytes()));
    let mut requests: Vec<JsValue> = Vec::with_capacity(writes.len());
    for w in writes {
        let result = match w {
            Write::Put(store, key, value) => tx
                .object_store(store)
                .and_then(|os| os.put(&JsValue::from(value), Some(&key)).map(JsValue::from)),
            Write::AddBytes(store, key, value) => tx
                .object_store(store)
                .and_then(|os| os.add(&bytes(value), Some(&key)).map(JsValue::from)),
            Write::Delete(store, key) => tx
                .object_store(store)
                .and_then(|os| os.delete(key).map(JsValue::from)),
        };
        match result {
            Ok(request) => requests.push(request),
            Err(e) => {
                let _ = tx.abort();
                return Err(storage(e));
            }
        }
    }
    let outcome = tx.commit().map_err(storage)?.await;
    if matches!(&outcome, Ok(result) if result.is_committed()) {
        return Ok(());
    }
    // The future (and its event handlers) is gone; a request's error event resolves it before the
    // transaction's abort event fires, which must then find no handler of it.
    for handler in ["onabort", "oncomplete", "onerror"] {
        let _ = Reflect::set(&tx_js, &handler.into(), &JsValue::NULL);
    }
    // Aborted (the quota at commit) or failed (a request's error, which then aborts it): the cause is
    // a request's own error (requests still pending at an abort fail with `AbortError`), else the
    // transaction's.
    let error_of = |target: &JsValue| {
        Reflect::get(target, &"error".into())
            .ok()
            .and_then(|e| e.dyn_into::<DomException>().ok())
    };
    let failed: Vec<DomException> = requests.iter().filter_map(error_of).collect();
    let cause = failed
        .iter()
        .find(|e| e.name() != "AbortError")
        .cloned()
        .or_else(|| error_of(&tx_js))
        .or_else(|| failed.into_iter().next());
    Err(match (cause, outcome) {
        (Some(e), _) if e.name() == "ConstraintError" => Error::Storage(CONFLICT.into()),
        (Some(e), _) => storage_js(e.into()),
        (None, Err(e)) => storage(e),
        (None, Ok(_)) => Error::Storage("the transaction was aborted; nothing was written".into()),
    })
}

/// The message of a full storage quota.
fn quota_exceeded(detail: &str) -> Error {
    Error::QuotaExceeded(format!(
        "the browser's storage for this site is full ({detail}); nothing was written: free some \
         space or allow the site more, then try again"
    ))
}

/// Maps an IndexedDB failure to a typed error; a full quota is `QUOTA_EXCEEDED`.
pub fn storage(error: idb::Error) -> Error {
    let name = match &error {
        idb::Error::DomException(e) => e.name(),
        _ => String::new(),
    };
    let text = error.to_string();
    if name == "QuotaExceededError" || text.contains("QuotaExceeded") {
        quota_exceeded(&text)
    } else {
        Error::Storage(text)
    }
}

/// Maps a JavaScript exception from a storage call.
pub fn storage_js(error: JsValue) -> Error {
    match error.dyn_ref::<DomException>() {
        Some(e) if e.name() == "QuotaExceededError" => quota_exceeded(&e.message()),
        Some(e) => Error::Storage(format!("{}: {}", e.name(), e.message())),
        None => Error::Storage(format!("{error:?}")),
    }
}
