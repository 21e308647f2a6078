//! The `Vault` class: one person's vault in IndexedDB — their sealed key, their items, their log.
//!
//! Every async method clones the shared state and returns a `Promise`, so calls may overlap without
//! tripping wasm-bindgen's borrow checks. Every operation that writes holds the vault's writer lock
//! across tabs for its whole run (`lock.rs`) and first brings the in-memory state up to what another
//! tab may have committed ([`refresh`]); within an operation, commits are serialised by an async
//! mutex, and each is one IndexedDB transaction (all of it or nothing) applied to memory only after it
//! committed. Reads refresh too, so they see what is committed.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::lock::Mutex;
use idb::Database;
use js_sys::{Promise, Reflect};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use zeroize::Zeroizing;

use super::db::{self, Write};
use super::error::VaultError;
use super::json as jsv;
use crate::core::bundle::LogCommitment;
use crate::core::log::{Chain, LogEntry};
use crate::core::store::Store;
use crate::core::{keys, keystore, Error, Result};

/// The default vault name.
pub const DEFAULT_NAME: &str = "default";
/// Shortest passphrase accepted for a new key.
pub const MIN_PASSPHRASE_CHARS: usize = 8;
const PRIMARY_KEY: &str = "primary";
const META_HEAD: &str = "head";
const META_DID: &str = "did";

pub(crate) struct State {
    pub did: Option<String>,
    pub sealed: Option<keystore::SealedKey>,
    pub key: Option<keys::Keypair>,
    pub store: Store,
    pub persisted: Option<bool>,
    pub closed: bool,
    /// Counts `lock()` calls: an operation that unlocks (`unlock`, `createKey`, `importKey`) keeps the
    /// key in memory only if no `lock()` came while it ran.
    pub locks: u64,
}

pub(crate) struct Inner {
    pub name: String,
    pub db: Database,
    pub state: RefCell<State>,
    /// Held while a commit is staged, written and applied (and while the state is refreshed), so
    /// that commits are staged and applied in order.
    pub writer: Mutex<()>,
    /// The writer lock where the platform has no Web Locks (see `lock.rs`).
    pub op: Mutex<()>,
}

impl Inner {
    pub fn check_open(&self) -> Result<()> {
        if self.state.borrow().closed {
            Err(Error::Storage("the vault is closed".into()))
        } else {
            Ok(())
        }
    }

    /// Runs `f` with the unlocked key.
    pub fn with_key<T>(&self, f: impl FnOnce(&keys::Keypair) -> Result<T>) -> Result<T> {
        let state = self.state.borrow();
        match (&state.key, &state.sealed) {
            (Some(key), _) => f(key),
            (None, Some(_)) => Err(Error::Locked),
            (None, None) => Err(Error::NoKey),
        }
    }

    pub fn did(&self) -> Result<String> {
        self.state.borrow().did.clone().ok_or(Error::NoKey)
    }
}

/// A person's vault, kept in this browser's IndexedDB.
#[wasm_bindgen(js_name = Vault)]
pub struct Vault {
    inner: Rc<Inner>,
}

pub(crate) fn promise_of<F, T>(future: F) -> Promise
where
    F: std::future::Future<Output = Result<T>> + 'static,
    T: Into<JsValue>,
{
    future_to_promise(async move {
        future
            .await
            .map(Into::into)
            .map_err(|e| JsValue::from(VaultError(e)))
    })
}

fn string_key(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn head_json(chain: &Chain) -> String {
    json!({"length": chain.length, "head": chain.head}).to_string()
}

#[wasm_bindgen(js_class = Vault)]
impl Vault {
    /// Opens the vault of this name (default `"default"`), creating its database on first use.
    /// Verifies the stored append log on the way (`LOG_BROKEN` if it was altered).
    #[wasm_bindgen(js_name = open, unchecked_return_type = "Promise<Vault>")]
    pub fn open(name: Option<String>) -> Promise {
        promise_of(async move { Vault::open_named(name.as_deref().unwrap_or(DEFAULT_NAME)).await })
    }

    /// A SHA-256 digest (hex) of every record of every store: equal digests mean an unchanged database.
    #[wasm_bindgen(js_name = digest, unchecked_return_type = "Promise<string>")]
    pub fn digest(&self) -> Promise {
        let inner = self.inner.clone();
        promise_of(async move {
            Ok(hex::encode(crate::core::hash::sha256(
                dump(&inner).await?.as_bytes(),
            )))
        })
    }

    /// The vault's name.
    #[wasm_bindgen(getter, js_name = name)]
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The owner's `did:imajin:…`, once the vault has a key.
    #[wasm_bindgen(getter, js_name = did)]
    pub fn did(&self) -> Option<String> {
        self.inner.state.borrow().did.clone()
    }

    /// Whether the key is not in memory (always true without a key).
    #[wasm_bindgen(getter, js_name = locked)]
    pub fn locked(&self) -> bool {
        self.inner.state.borrow().key.is_none()
    }

    /// Whether the vault holds a (sealed) key.
    #[wasm_bindgen(getter, js_name = hasKey)]
    pub fn has_key(&self) -> bool {
        self.inner.state.borrow().sealed.is_some()
    }

    /// The browser's answer to `navigator.storage.persist()` (undefined where the API is missing).
    #[wasm_bindgen(getter, js_name = persisted)]
    pub fn persisted(&self) -> Option<bool> {
        self.inner.state.borrow().persisted
    }

    /// Creates the vault's key from browser randomness and stores it sealed with the passphrase
    /// (Argon2id + XChaCha20-Poly1305). Leaves the vault unlocked, unless `lock()` is called before it
    /// resolves. Resolves to the new DID.
    #[wasm_bindgen(js_name = createKey, unchecked_return_type = "Promise<string>")]
    pub fn create_key(&self, passphrase: String) -> Promise {
        let inner = self.inner.clone();
        let passphrase = Zeroizing::new(passphrase);
        let locks = inner.state.borrow().locks;
        promise_of(async move {
            inner.check_open()?;
            check_passphrase(&passphrase)?;
            let _lock = begin_write(&inner, None).await?;
            let _guard = inner.writer.lock().await;
            if let Some(sealed) = &inner.state.borrow().sealed {
                return Err(Error::KeyExists(sealed.did.clone()));
            }
            let key = keys::Keypair::generate()?;
            install_key(&inner, key, &passphrase, locks).await
        })
    }

    /// Unlocks the vault: opens the sealed key with the passphrase (`BAD_PASSPHRASE` if wrong). A
    /// `lock()` before it resolves wins: it rejects with `LOCKED` and the vault stays locked.
    #[wasm_bindgen(js_name = unlock, unchecked_return_type = "Promise<void>")]
    pub fn unlock(&self, passphrase: String) -> Promise {
        let inner = self.inner.clone();
        let passphrase = Zeroizing::new(passphrase);
        // Counted when called, before the operation first runs.
        let locks = inner.state.borrow().locks;
        promise_of(async move {
            inner.check_open()?;
            // Another tab may have created or restored the key.
            refresh_now(&inner).await?;
            let sealed = inner.state.borrow().sealed.clone().ok_or(Error::NoKey)?;
            let key = keystore::open(&sealed, &passphrase)?;
            let mut state = inner.state.borrow_mut();
            if state.locks != locks {
                // lock() was called while this ran: the vault stays locked.
                return Err(Error::Locked);
            }
            state.key = Some(key);
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Locks the vault: the key is wiped from memory.
    #[wasm_bindgen(js_name = lock)]
    pub fn lock(&self) {
        {
            let mut state = self.inner.state.borrow_mut();
            // Dropping the key zeroizes it.
            state.key = None;
            state.locks += 1;
        }
        scrub_stack();
    }

    /// An encrypted, versioned backup of the key (JSON text), sealed with `passphrase`.
    /// Needs the vault unlocked.
    #[wasm_bindgen(js_name = exportKey, unchecked_return_type = "Promise<string>")]
    pub fn export_key(&self, passphrase: String) -> Promise {
        let inner = self.inner.clone();
        let passphrase = Zeroizing::new(passphrase);
        promise_of(async move {
            inner.check_open()?;
            check_passphrase(&passphrase)?;
            let sealed = inner
                .with_key(|key| keystore::seal(key, &passphrase, keystore::KdfParams::DEFAULT))?;
            Ok(sealed.to_json())
        })
    }

    /// Restores a key from a backup: this vault's encrypted backup (opened with `passphrase`), or the
    /// platform's plain key file `{did, keypair: {privateKey, publicKey}}`, which is sealed with
    /// `passphrase` at once. Refuses a key of another DID than the vault's data (`DID_MISMATCH`).
    /// Resolves to the DID.
    #[wasm_bindgen(js_name = importKey, unchecked_return_type = "Promise<string>")]
    pub fn import_key(&self, backup: String, passphrase: String) -> Promise {
        let inner = self.inner.clone();
        let backup = Zeroizing::new(backup);
        let passphrase = Zeroizing::new(passphrase);
        let locks = inner.state.borrow().locks;
        promise_of(async move {
            inner.check_open()?;
            check_passphrase(&passphrase)?;
            let key = match keystore::parse_backup(&backup)? {
                keystore::Backup::Sealed(sealed) => keystore::open(&sealed, &passphrase)?,
                keystore::Backup::Plain(key) => key,
            };
            let _lock = begin_write(&inner, None).await?;
            let _guard = inner.writer.lock().await;
            let existing = inner.state.borrow().did.clone();
            if let Some(did) = existing {
                if did != key.did() {
                    return Err(Error::DidMismatch(format!(
                        "this vault belongs to {did}; the backup is the key of {}",
                        key.did()
                    )));
                }
            }
            install_key(&inner, key, &passphrase, locks).await
        })
    }

    /// Local counts of live items: `{section: {collection: n}}`.
    #[wasm_bindgen(js_name = count, unchecked_return_type = "Promise<Counts>")]
    pub fn count(&self) -> Promise {
        let inner = self.inner.clone();
        promise_of(async move {
            refresh_now(&inner).await?;
            let counts = inner.state.borrow().store.counts();
            jsv::to_js(&json!(counts))
        })
    }

    /// The unsigned bundle assembled from IndexedDB.
    #[wasm_bindgen(js_name = bundle, unchecked_return_type = "Promise<Bundle>")]
    pub fn bundle(&self) -> Promise {
        let inner = self.inner.clone();
        promise_of(async move {
            let bundle = {
                let _guard = inner.writer.lock().await;
                refresh(&inner).await?;
                assemble_text(&inner, &super::keypair::now(), None, true).await?
            };
            jsv::parse(bundle.text)
        })
    }

    /// Entries of the append log from `since` (a sequence number, default 0), at most `limit` (default
    /// 1000, at most 100,000 per call). Anything but whole numbers there is `INVALID_ARGUMENT`.
    #[wasm_bindgen(js_name = log, unchecked_return_type = "Promise<LogEntry[]>")]
    pub fn log(&self, options: Option<LogOptions>) -> Promise {
        let inner = self.inner.clone();
        let options = options.map(JsValue::from);
        let since = whole_option(
            options.as_ref(),
            "since",
            0.0,
            0.0,
            crate::core::canonical::MAX_SAFE_INTEGER as f64,
        );
        let limit = whole_option(options.as_ref(), "limit", 1000.0, 1.0, f64::MAX);
        promise_of(async move {
            inner.check_open()?;
            let since = since? as u64;
            // At most 100,000 entries per call, however many are asked for.
            let limit = limit?.min(100_000.0) as usize;
            let mut out: Vec<LogEntry> = Vec::new();
            for (_, text) in db::get_all(&inner.db, db::LOG).await? {
                if out.len() >= limit {
                    break;
                }
                let entries: Vec<LogEntry> =
                    serde_json::from_str(&text).map_err(|e| Error::LogBroken(e.to_string()))?;
                out.extend(
                    entries
                        .into_iter()
                        .filter(|e| e.seq >= since)
                        .take(limit - out.len()),
                );
            }
            jsv::to_js(&serde_json::to_value(out).map_err(|e| Error::LogBroken(e.to_string()))?)
        })
    }

    /// The log's commitment: `{length, head}`.
    #[wasm_bindgen(getter, js_name = logHead, unchecked_return_type = "LogHead")]
    pub fn log_head(&self) -> JsValue {
        let LogCommitment { length, head } = self.inner.state.borrow().store.chain().commitment();
        jsv::to_js(&json!({"length": length, "head": head})).unwrap_or(JsValue::NULL)
    }

    /// Closes the database; the object is unusable afterwards.
    #[wasm_bindgen(js_name = close)]
    pub fn close(&self) {
        {
            let mut state = self.inner.state.borrow_mut();
            state.key = None;
            state.closed = true;
        }
        self.inner.db.close();
        scrub_stack();
    }

    /// Deletes a vault's database and everything in it. Close open vaults of that name first.
    #[wasm_bindgen(js_name = destroy, unchecked_return_type = "Promise<void>")]
    pub fn destroy(name: String) -> Promise {
        promise_of(async move {
            db::delete(&name).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl Vault {
    pub(crate) fn inner(&self) -> Rc<Inner> {
        self.inner.clone()
    }

    /// Opens a vault from Rust (the `open` export wraps this).
    pub async fn open_named(name: &str) -> Result<Vault> {
        if name.is_empty() || name.len() > 128 {
            return Err(Error::InvalidArgument(
                "a vault name has 1 to 128 characters".into(),
            ));
        }
        let database = db::open(name).await?;
        let sealed = match db::get(&database, db::KEYS, &string_key(PRIMARY_KEY)).await? {
            Some(text) => Some(keystore::SealedKey::from_json(&text)?),
            None => None,
        };
        let did = match &sealed {
            Some(s) => Some(s.did.clone()),
            None => db::get(&database, db::META, &string_key(META_DID)).await?,
        };
        let store = load_store(&database).await?;
        let persisted = request_persistence().await;
        Ok(Vault {
            inner: Rc::new(Inner {
                name: name.to_owned(),
                db: database,
                state: RefCell::new(State {
                    did,
                    sealed,
                    key: None,
                    store,
                    persisted,
                    closed: false,
                    locks: 0,
                }),
                writer: Mutex::new(()),
                op: Mutex::new(()),
            }),
        })
    }

    /// Every record of every store as JSON text `{store: [[key, value], …]}` (tests compare and scan it).
    pub fn dump(&self) -> Promise {
        let inner = self.inner.clone();
        promise_of(async move { dump(&inner).await })
    }
}

#[wasm_bindgen]
extern "C" {
    /// `{since?: number, limit?: number}`.
    #[wasm_bindgen(typescript_type = "LogOptions")]
    pub type LogOptions;
}

/// A whole-number option: `default` when absent (`undefined` or `null`), else a whole number from `min`
/// to `max` (`INVALID_ARGUMENT` otherwise).
fn whole_option(
    options: Option<&JsValue>,
    name: &str,
    default: f64,
    min: f64,
    max: f64,
) -> Result<f64> {
    let value = match options {
        Some(o) if o.is_object() => Reflect::get(o, &name.into()).unwrap_or(JsValue::UNDEFINED),
        Some(o) if !o.is_undefined() && !o.is_null() => {
            return Err(Error::InvalidArgument("options must be an object".into()))
        }
        _ => JsValue::UNDEFINED,
    };
    if value.is_undefined() || value.is_null() {
        return Ok(default);
    }
    super::pull::whole_number(&value, min, max).ok_or_else(|| {
        Error::InvalidArgument(format!("{name} must be a whole number from {min} up"))
    })
}

/// How much of the stack [`scrub_stack`] overwrites: far more than the deepest frames of the key's
/// code (signing, sealing, opening), which start near the top of the stack, as every call from
/// JavaScript does.
const SCRUB_BYTES: usize = 64 * 1024;

/// Overwrites with zeros the stack below the caller's frame. The key's code leaves copies of the seed
/// in stack frames it has returned from (temporaries of the signing key as it is built, the SHA-512
/// state that expands it), which wasm keeps in linear memory until another call reuses the space;
/// `lock()` and `close()` clear them, so that no copy of the secret outlives them.
#[inline(never)]
fn scrub_stack() {
    let mut area = [0u8; SCRUB_BYTES];
    zeroize::Zeroize::zeroize(&mut area[..]);
    std::hint::black_box(&area);
}

fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::InvalidArgument(format!(
            "a passphrase has at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Seals and stores a key, then keeps it unlocked. Callers hold the writer lock.
/// `locks`: the count of `lock()` calls when the operation began.
async fn install_key(
    inner: &Inner,
    key: keys::Keypair,
    passphrase: &str,
    locks: u64,
) -> Result<String> {
    let sealed = keystore::seal(&key, passphrase, keystore::KdfParams::DEFAULT)?;
    let did = key.did();
    db::write(
        &inner.db,
        vec![
            Write::Put(db::KEYS, string_key(PRIMARY_KEY), sealed.to_json()),
            Write::Put(db::META, string_key(META_DID), did.clone()),
        ],
    )
    .await?;
    let mut state = inner.state.borrow_mut();
    state.sealed = Some(sealed);
    state.did = Some(did.clone());
    // Stored either way; kept unlocked unless lock() came meanwhile.
    if state.locks == locks {
        state.key = Some(key);
    }
    Ok(did)
}

/// Rebuilds the in-memory store from the heads and log records, verifying the chain. Reads them in one
/// transaction, so that a commit of another tab cannot tear them apart.
async fn load_store(database: &Database) -> Result<Store> {
    let [heads, logs, meta] = db::snapshot(database, [db::HEADS, db::LOG, db::META]).await?;
    if heads.len() != logs.len() {
        return Err(Error::LogBroken(format!(
            "{} heads records but {} log records",
            heads.len(),
            logs.len()
        )));
    }
    let mut store = Store::new();
    for ((hk, heads), (lk, log)) in heads.iter().zip(&logs) {
        let number = hk
            .as_f64()
            .filter(|n| Some(*n) == lk.as_f64())
            .ok_or_else(|| Error::LogBroken("heads and log records do not pair up".into()))?;
        store.load_commit(number as u64, heads, log)?;
    }
    let recorded = meta
        .iter()
        .find(|(k, _)| k.as_string().as_deref() == Some(META_HEAD))
        .map(|(_, text)| recorded_head(text))
        .transpose()?
        .unwrap_or_default();
    store.check_head(&recorded)?;
    Ok(store)
}

/// The log head recorded in `meta` (`{length, head}`).
fn recorded_head(text: &str) -> Result<Chain> {
    let c: LogCommitment =
        serde_json::from_str(text).map_err(|e| Error::LogBroken(e.to_string()))?;
    Ok(Chain {
        length: c.length,
        head: c.head,
    })
}

/// Makes a committed change current in memory. A staged commit that wrote nothing takes no commit
/// number, so that the next commit number is always one past the last stored commit (which is how
/// [`refresh`] sees that another writer committed).
pub(crate) fn apply(inner: &Inner, staged: crate::core::store::StagedCommit) -> Result<()> {
    if staged.is_empty() && staged.entries.is_empty() {
        return Ok(());
    }
    inner.state.borrow_mut().store.apply(staged)
}

/// Brings the in-memory state up to what is committed: another tab (or another `Vault` object of this
/// name) may have created or restored the key, or committed since this object last looked. The store
/// is rebuilt when the recorded log head differs from the in-memory one or a commit numbered at or
/// after the next one exists. Callers hold the `writer` mutex, so that no commit of this object is
/// between its write and its application to memory.
pub(crate) async fn refresh(inner: &Inner) -> Result<()> {
    inner.check_open()?;
    let next_commit = inner.state.borrow().store.next_commit();
    let probe = db::probe(&inner.db, META_HEAD, META_DID, PRIMARY_KEY, next_commit).await?;
    let sealed = probe
        .sealed
        .as_deref()
        .map(keystore::SealedKey::from_json)
        .transpose()?;
    {
        let mut state = inner.state.borrow_mut();
        if state.sealed.as_ref().map(keystore::SealedKey::to_json)
            != sealed.as_ref().map(keystore::SealedKey::to_json)
        {
            let did = sealed.as_ref().map(|s| s.did.clone());
            // A key of another DID (never written by this vault's own writes) is not the one in memory.
            if state.key.as_ref().map(keys::Keypair::did) != did {
                state.key = None;
            }
            state.sealed = sealed;
        }
        state.did = state
            .sealed
            .as_ref()
            .map(|s| s.did.clone())
            .or(probe.did)
            .or(state.did.take());
    }
    let recorded = probe
        .head
        .as_deref()
        .map(recorded_head)
        .transpose()?
        .unwrap_or_default();
    if probe.newer_commit || *inner.state.borrow().store.chain() != recorded {
        let store = load_store(&inner.db).await?;
        inner.state.borrow_mut().store = store;
    }
    Ok(())
}

/// [`refresh`] under the `writer` mutex, for reads.
async fn refresh_now(inner: &Inner) -> Result<()> {
    let _guard = inner.writer.lock().await;
    refresh(inner).await
}

/// Takes the vault's writer lock across tabs (waiting for another tab's operation to end; `ABORTED`
/// if `signal` aborts meanwhile) and refreshes the in-memory state: what the operation stages then
/// follows everything committed before it.
pub(crate) async fn begin_write<'a>(
    inner: &'a Inner,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<super::lock::WriteLock<'a>> {
    let lock = super::lock::exclusive(inner, signal).await?;
    refresh_now(inner).await?;
    Ok(lock)
}

/// The writes of a staged commit: its records and the recorded head (none for a commit that changes
/// nothing).
pub(crate) fn commit_writes(staged: &crate::core::store::StagedCommit) -> Result<Vec<Write>> {
    if staged.is_empty() {
        return Ok(Vec::new());
    }
    record_writes(staged)
}

/// A commit's three records (added: a commit never overwrites another) and the recorded head: the
/// log's end once it is applied.
fn record_writes(staged: &crate::core::store::StagedCommit) -> Result<Vec<Write>> {
    let key = JsValue::from_f64(staged.number as f64);
    Ok(vec![
        Write::AddBytes(db::HEADS, key.clone(), staged.heads_json()?),
        Write::AddBytes(db::BODIES, key.clone(), staged.bodies_json()?),
        Write::AddBytes(db::LOG, key, staged.log_json()?),
        Write::Put(
            db::META,
            string_key(META_HEAD),
            head_json(staged.chain_after()),
        ),
    ])
}

/// Asks the browser to keep this origin's storage (`navigator.storage.persist()`).
async fn request_persistence() -> Option<bool> {
    let global = js_sys::global();
    let navigator = Reflect::get(&global, &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into()).ok()?;
    let persist = Reflect::get(&storage, &"persist".into()).ok()?;
    let persist: &js_sys::Function = persist.dyn_ref()?;
    let promise: Promise = persist.call0(&storage).ok()?.dyn_into().ok()?;
    JsFuture::from(promise).await.ok()?.as_bool()
}

/// Copies every record of every store, for tests and diagnostics that compare the database before and
/// after an operation: `{store: [[key, value], …]}` as JSON text.
pub(crate) async fn dump(inner: &Inner) -> Result<String> {
    let mut out = serde_json::Map::new();
    let snapshot = db::snapshot(&inner.db, db::ALL_STORES).await?;
    for (store, records) in db::ALL_STORES.into_iter().zip(snapshot) {
        let records: Vec<Value> = records
            .into_iter()
            .map(|(k, v)| json!([format!("{k:?}"), v]))
            .collect();
        out.insert(store.to_owned(), Value::Array(records));
    }
    Ok(Value::Object(out).to_string())
}

#[wasm_bindgen(js_class = Vault)]
impl Vault {
    /// The signed bundle: assembled from IndexedDB (a commit's records at a time), committing to the
    /// append log (`log.length`, `log.head`), with an `eddsa-jcs-2022` proof by the owner's key.
    /// Needs the vault unlocked. It verifies with `verifyBundle`; it is the vault's backup.
    #[wasm_bindgen(js_name = sign, unchecked_return_type = "Promise<SignedBundle>")]
    pub fn sign(&self) -> Promise {
        let inner = self.inner.clone();
        promise_of(async move { jsv::parse(sign_now(&inner, true).await?) })
    }

    /// The signed bundle of [`sign`](Self::sign) as the UTF-8 bytes of its RFC 8785 text: the backup
    /// file exactly as it is hashed and signed, ready for a download or an upload, and what
    /// `verifyBundle`, `recordExport` and `importBundle` take as they are. It skips building the object
    /// tree of every item, most of the cost of `sign()` for a large vault. Needs the vault unlocked.
    #[wasm_bindgen(js_name = signBytes, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn sign_bytes(&self) -> Promise {
        let inner = self.inner.clone();
        promise_of(async move {
            Ok(js_sys::Uint8Array::from(
                sign_now(&inner, false).await?.as_bytes(),
            ))
        })
    }

    /// Restores a signed bundle (a backup: an object or its JSON text, a string or UTF-8 bytes such as
    /// the file's contents) into this vault: verifies it (shape, proof, item rules),
    /// refuses a bundle of another DID (`DID_MISMATCH`), then merges its items, each section one commit
    /// with its log entries, all in one transaction: all of it is stored or nothing. Importing the same
    /// bundle again changes nothing.
    #[wasm_bindgen(js_name = importBundle, unchecked_return_type = "Promise<ImportReport>")]
    pub fn import_bundle(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SignedBundle | string | Uint8Array | ArrayBuffer")]
        bundle: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        let text = jsv::document_text(&bundle);
        promise_of(async move {
            inner.check_open()?;
            let text = text?;
            let verified = crate::core::bundle::verify_bundle_text(&text)?;
            let did = inner.did()?;
            if verified.did != did {
                return Err(Error::DidMismatch(format!(
                    "this vault belongs to {did}; the bundle is of {}",
                    verified.did
                )));
            }
            let sections = crate::core::export::parse_bundle_sections_text(&text)?;
            drop(text);
            let t = super::pull::now_unix();
            let _lock = begin_write(&inner, None).await?;
            let _guard = inner.writer.lock().await;
            inner.check_open()?;
            // Every section is one commit, all written in one transaction: the import is whole or
            // nothing (a full quota, a closed database), and the store is applied only after it.
            let mut staged: Vec<crate::core::store::StagedCommit> = Vec::new();
            let mut writes = Vec::new();
            let mut reports = Vec::new();
            {
                let state = inner.state.borrow();
                for (section, collections) in sections {
                    let items = collections
                        .into_iter()
                        .flat_map(|(collection, items)| {
                            items.into_iter().map(move |item| {
                                crate::core::store::Incoming::from_canonical(
                                    collection.clone(),
                                    item.id,
                                    item.updated_at,
                                    false,
                                    item.data,
                                )
                            })
                        })
                        .collect();
                    let next = match staged.last() {
                        None => state.store.stage(&section, &section, items, t)?,
                        Some(previous) => state
                            .store
                            .stage_after(previous, &section, &section, items, t)?,
                    };
                    let report = &next.report;
                    reports.push(json!({
                        "section": section,
                        "added": report.added,
                        "updated": report.updated,
                        "unchanged": report.unchanged,
                    }));
                    // A section with nothing new takes no commit number (`apply`): the next one
                    // follows the last commit that writes.
                    if !(next.is_empty() && next.entries.is_empty()) {
                        writes.extend(commit_writes(&next)?);
                        staged.push(next);
                    }
                }
            }
            db::write(&inner.db, writes).await?;
            for commit in staged {
                apply(&inner, commit)?;
            }
            let log = inner.state.borrow().store.chain().commitment();
            jsv::to_js(&json!({
                "did": did,
                "sections": reports,
                "log": {"length": log.length, "head": log.head},
            }))
        })
    }
}

/// The signed bundle of the vault as it is now (what another tab committed included), signed while
/// this `Vault` object runs no write; `ascii_room` as in [`sign_bundle`].
async fn sign_now(inner: &Inner, ascii_room: bool) -> Result<String> {
    let _guard = inner.writer.lock().await;
    refresh(inner).await?;
    let (signed, _) = sign_bundle(inner, &super::keypair::now(), None, ascii_room).await?;
    Ok(signed)
}

/// Signs the bundle assembled from IndexedDB with `exported_at` (also the proof's `created`) and, when
/// given, another log commitment (a prefix of the log the items are unchanged since). Callers hold the
/// writer lock, so that the items and the commitment belong together. With `ascii_room`, the text has
/// room to become ASCII in place ([`jsv::parse`]).
pub(crate) async fn sign_bundle(
    inner: &Inner,
    exported_at: &str,
    log: Option<LogCommitment>,
    ascii_room: bool,
) -> Result<(String, crate::core::receipt::SectionCounts)> {
    inner.with_key(|_| Ok(()))?;
    let unsigned = assemble_text(inner, exported_at, log, ascii_room).await?;
    let did = inner.did()?;
    let hash = super::digest::sha256(unsigned.text.as_bytes()).await;
    let signed = inner.with_key(|key| {
        crate::core::bundle::sign_text_hashed(
            unsigned.text,
            unsigned.sections_at,
            &did,
            key,
            exported_at,
            &hash,
        )
    })?;
    Ok((signed, unsigned.counts))
}

/// The unsigned bundle from IndexedDB as RFC 8785 text (the log commitment is the current one unless
/// `log` is given). The heads and bodies are one snapshot; commits in it that are newer than the
/// in-memory index (another tab's, committed since the caller refreshed) are left out, so the bundle
/// is exactly the state its log commitment names. With `ascii_room`, the text has room for a proof
/// and to become ASCII in place (`Store::assemble_text`).
pub(crate) async fn assemble_text(
    inner: &Inner,
    exported_at: &str,
    log: Option<LogCommitment>,
    ascii_room: bool,
) -> Result<crate::core::store::BundleText> {
    inner.check_open()?;
    let did = inner.did()?;
    let [heads, bodies] = db::snapshot(&inner.db, [db::HEADS, db::BODIES]).await?;
    if heads.len() != bodies.len() {
        return Err(Error::LogBroken(
            "heads and bodies records do not pair up".into(),
        ));
    }
    let commits = heads
        .iter()
        .zip(&bodies)
        .map(|((k, h), (_, b))| (k.as_f64().unwrap_or(-1.0) as u64, h.as_str(), b.as_str()));
    let state = inner.state.borrow();
    let log = log.unwrap_or_else(|| state.store.chain().commitment());
    state
        .store
        .assemble_text(&did, "bundle-vault", exported_at, &log, commits, ascii_room)
}

/// The writes of a commit of log entries alone (a receipt), plus `extra`, for one transaction.
pub(crate) fn entries_commit_writes(
    staged: &crate::core::store::StagedCommit,
    extra: Vec<Write>,
) -> Result<Vec<Write>> {
    let mut writes = record_writes(staged)?;
    writes.extend(extra);
    Ok(writes)
}

/// Every entry of the append log, in order.
pub(crate) async fn read_log(inner: &Inner) -> Result<Vec<LogEntry>> {
    let mut out = Vec::new();
    for (_, text) in db::get_all(&inner.db, db::LOG).await? {
        let entries: Vec<LogEntry> =
            serde_json::from_str(&text).map_err(|e| Error::LogBroken(e.to_string()))?;
        out.extend(entries);
    }
    Ok(out)
}
