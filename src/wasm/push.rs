//! `Vault.push`: transfer the signed bundle to a node the user chooses (`transferForDid`), in
//! acknowledged chunks, resumable, with a verified receipt recorded in the log and a continuity check.
//!
//! Resuming needs the same bytes: the [`PushRecord`] of the target (in the `meta` store, key
//! `push <node did>`) keeps the bundle's log commitment and time, written before the upload starts.
//! A push while the log is still at that commitment (or only this push's receipt was appended) signs
//! the same bytes again, so the node's session for that `bundle_hash` resumes from its last
//! acknowledged chunk, or answers its stored receipt when it was committed (then the push is a no-op).

use futures_util::stream::{self, StreamExt};
use js_sys::{Function, Promise, Reflect};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::db::{self, Write};
use super::http::{self, Body};
use super::json as jsv;
use super::pull::Session;
use super::vault::{entries_commit_writes, promise_of, sign_bundle, Inner, Vault};
use crate::core::bundle::LogCommitment;
use crate::core::receipt::SectionCounts;
use crate::core::rights::{self, PushRecord};
use crate::core::{canonical, Error, Result};

/// Longest `timeoutMs` accepted: ten minutes per request.
pub const MAX_TIMEOUT_MS: u32 = 600_000;
/// Services counted at the same time.
const CONCURRENCY: usize = 3;

#[wasm_bindgen]
extern "C" {
    /// `{onProgress?, signal?, timeoutMs?}`.
    #[wasm_bindgen(typescript_type = "PushOptions")]
    pub type PushOptions;
    /// `{services?, signal?, timeoutMs?}`.
    #[wasm_bindgen(typescript_type = "DeleteRemoteOptions")]
    pub type DeleteRemoteOptions;
}

/// The options common to push and deleteRemote.
pub(crate) struct Options {
    pub on_progress: Option<Function>,
    pub signal: Option<AbortSignal>,
    pub services: Option<Vec<String>>,
    pub timeout_ms: u32,
}

impl Options {
    pub fn read(options: Option<JsValue>) -> Result<Self> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let get = |name: &str| {
            if options.is_object() {
                Reflect::get(&options, &name.into()).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            }
        };
        let absent = |v: &JsValue| v.is_undefined() || v.is_null();
        let on_progress = match get("onProgress") {
            v if absent(&v) => None,
            v => Some(
                v.dyn_into::<Function>()
                    .map_err(|_| Error::InvalidArgument("onProgress must be a function".into()))?,
            ),
        };
        let signal = match get("signal") {
            v if absent(&v) => None,
            v => Some(
                v.dyn_into::<AbortSignal>()
                    .map_err(|_| Error::InvalidArgument("signal must be an AbortSignal".into()))?,
            ),
        };
        let not_names = || Error::InvalidArgument("services must be an array of names".into());
        let services = match get("services") {
            v if absent(&v) => None,
            v => Some(
                v.dyn_into::<js_sys::Array>()
                    .map_err(|_| not_names())?
                    .iter()
                    .map(|s| s.as_string().ok_or_else(not_names))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let timeout_ms = match get("timeoutMs") {
            v if absent(&v) => http::TIMEOUT_MS,
            v => v
                .as_f64()
                .filter(|ms| ms.fract() == 0.0 && (1.0..=f64::from(MAX_TIMEOUT_MS)).contains(ms))
                .map(|ms| ms as u32)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "timeoutMs must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}"
                    ))
                })?,
        };
        Ok(Options {
            on_progress,
            signal,
            services,
            timeout_ms,
        })
    }

    fn progress(&self, event: Value) {
        if let (Some(f), Ok(event)) = (&self.on_progress, jsv::to_js(&event)) {
            // A throwing callback must not break the operation.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    }

    pub fn check_abort(&self) -> Result<()> {
        if self.signal.as_ref().is_some_and(AbortSignal::aborted) {
            Err(Error::Aborted)
        } else {
            Ok(())
        }
    }
}

pub(crate) fn query(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

pub(crate) fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// The owner's counts on the session's node, by section and collection (`countForDid` of every service).
pub(crate) async fn node_counts(
    session: &Session,
    did: &str,
) -> Result<Vec<(String, String, Value)>> {
    let answers: Vec<Result<(String, String, Value)>> =
        stream::iter(session.manifest.services.clone())
            .map(|service| async move {
                let url = format!("{}?did={}", service.count, query(did));
                let (value, _) = session.call("GET", &url, Body::None).await?;
                let counts = value
                    .get("counts")
                    .filter(|c| {
                        c.as_object()
                            .is_some_and(|m| m.values().all(|n| n.as_u64().is_some()))
                    })
                    .cloned()
                    .ok_or_else(|| {
                        Error::ExportMalformed(format!(
                            "{url}: counts must map collections to numbers"
                        ))
                    })?;
                Ok((service.name, service.section, counts))
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
    answers.into_iter().collect()
}

fn malformed(what: &str) -> Error {
    Error::ExportMalformed(format!("transfer session answer: {what}"))
}

fn session_id(status: &Value) -> Result<String> {
    status
        .get("session_id")
        .and_then(Value::as_str)
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .map(str::to_owned)
        .ok_or_else(|| malformed("session_id must be a short token"))
}

#[wasm_bindgen(js_class = Vault)]
impl Vault {
    /// Transfers the signed bundle to the node whose manifest is at `targetManifestUrl`: logs in with
    /// the DID key, uploads the bundle's RFC 8785 bytes in chunks the node acknowledges (resuming an
    /// interrupted upload from its last acknowledged chunk), verifies the node's transfer receipt
    /// (node key, DID, bundle hash, counts), records it in the log (one transaction with the receipt),
    /// and checks continuity: the node's counts equal the bundle's. Needs the vault unlocked.
    /// Repeating a push that completed uploads nothing and records nothing.
    #[wasm_bindgen(js_name = push, unchecked_return_type = "Promise<PushReport>")]
    pub fn push(&self, target_manifest_url: String, options: Option<PushOptions>) -> Promise {
        let inner = self.inner();
        promise_of(async move {
            let options = Options::read(options.map(JsValue::from))?;
            push(&inner, &target_manifest_url, &options).await
        })
    }
}

/// The RFC 8785 bytes of the bundle signed with this `exported_at` and log commitment, and its counts.
async fn bundle_bytes(
    inner: &std::rc::Rc<Inner>,
    exported_at: &str,
    log: &LogCommitment,
) -> Result<(Vec<u8>, SectionCounts)> {
    let signed = sign_bundle(inner, exported_at, Some(log.clone())).await?;
    let counts = rights::bundle_counts(
        signed
            .get("sections")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::BundleMalformed("no sections".into()))?,
    );
    let bytes = canonical::to_canonical_vec(&signed)?;
    Ok((bytes, counts))
}

async fn push(inner: &std::rc::Rc<Inner>, url: &str, options: &Options) -> Result<JsValue> {
    let session = Session::open(
        inner.clone(),
        url,
        options.signal.clone(),
        options.timeout_ms,
    )
    .await?;
    let did = inner.did()?;
    let manifest = session.manifest.clone();
    let record_key = JsValue::from_str(&format!("push {}", manifest.did));

    // 1. The bytes: those of an unfinished or completed push at the same log state, else new ones.
    options.progress(json!({"phase": "sign", "bytes": 0, "total": 0}));
    let (bytes, record, counts) = {
        let _guard = inner.writer.lock().await;
        inner.check_open()?;
        let current = inner.state.borrow().store.chain().commitment();
        let previous = match db::get(&inner.db, db::META, &record_key).await? {
            Some(text) => serde_json::from_str::<PushRecord>(&text).ok(),
            None => None,
        };
        let reuse = previous.filter(|r| r.repeats(&current));
        let mut signed_with = match &reuse {
            Some(r) => (r.exported_at.clone(), r.bundle_log.clone()),
            None => (super::keypair::now(), current.clone()),
        };
        let (mut bytes, mut counts) = bundle_bytes(inner, &signed_with.0, &signed_with.1).await?;
        let mut bundle_hash = hex::encode(Sha256::digest(&bytes));
        if reuse.as_ref().is_some_and(|r| r.bundle_hash != bundle_hash) {
            // The items changed although the log looks the same as at that push (data committed
            // while it ran): sign what the vault holds now, with the log's current commitment.
            signed_with = (super::keypair::now(), current.clone());
            (bytes, counts) = bundle_bytes(inner, &signed_with.0, &signed_with.1).await?;
            bundle_hash = hex::encode(Sha256::digest(&bytes));
        }
        let record = match reuse {
            Some(r) if r.bundle_hash == bundle_hash => r,
            _ => {
                let (exported_at, bundle_log) = signed_with;
                let record = PushRecord {
                    node_did: manifest.did.clone(),
                    bundle_log,
                    exported_at,
                    bundle_hash,
                    after: None,
                };
                let text =
                    serde_json::to_string(&record).map_err(|e| Error::Storage(e.to_string()))?;
                db::write(
                    &inner.db,
                    vec![Write::Put(db::META, record_key.clone(), text)],
                )
                .await?;
                record
            }
        };
        (bytes, record, counts)
    };
    let size = bytes.len() as u64;

    // 2. The node's session for this bundle: new, resumed, or committed already.
    options.check_abort()?;
    let sessions = format!("{}/sessions", manifest.transfer.trim_end_matches('/'));
    let body = json!({"did": did, "bundle_hash": record.bundle_hash, "size": size}).to_string();
    let (status, _) = session.call("POST", &sessions, Body::Json(&body)).await?;
    let id = session_id(&status)?;
    if status.get("bundle_hash").and_then(Value::as_str) != Some(record.bundle_hash.as_str()) {
        return Err(malformed("the session is for another bundle"));
    }
    let mut uploaded = 0u64;
    let (receipt_value, resumed_from) = if status.get("committed").and_then(Value::as_bool)
        == Some(true)
    {
        let receipt = status
            .get("receipt")
            .cloned()
            .ok_or_else(|| malformed("a committed session without its receipt"))?;
        (receipt, size)
    } else {
        let chunk_size = rights::check_chunk_size(
            status
                .get("chunk_size")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("chunk_size must be a number"))?,
        )?;
        let received = status
            .get("received")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("received must be a number"))?
            .min(size);
        let mut acknowledged = received;
        let progress = |acknowledged: u64| {
            options.progress(json!({
                "phase": "upload", "sessionId": id, "bytes": acknowledged, "total": size,
            }))
        };
        progress(acknowledged);
        for (index, start, end) in rights::chunks_from(size, chunk_size, received) {
            options.check_abort()?;
            let chunk = &bytes[start as usize..end as usize];
            let (ack, _) = session
                .call(
                    "PUT",
                    &format!("{sessions}/{id}/chunks/{index}"),
                    Body::Bytes(chunk),
                )
                .await?;
            acknowledged = ack
                .get("received")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("a chunk answer without received"))?;
            uploaded += end - start;
            progress(acknowledged);
        }
        if acknowledged < size {
            return Err(malformed(&format!(
                "the node acknowledged {acknowledged} of {size} bytes"
            )));
        }
        options.check_abort()?;
        options.progress(json!({"phase": "commit", "sessionId": id, "bytes": size, "total": size}));
        let (receipt, _) = session
            .call("POST", &format!("{sessions}/{id}/commit"), Body::None)
            .await?;
        (receipt, received)
    };

    // 3. The receipt: verified, then recorded once, with its log entry, in one transaction.
    let receipt = rights::check_transfer_receipt(
        &receipt_value,
        &manifest.did,
        &manifest.node,
        &did,
        &record.bundle_hash,
        &counts,
    )?;
    let receipt_key =
        JsValue::from_str(&format!("transfer {} {}", manifest.did, record.bundle_hash));
    let repeated = {
        let _guard = inner.writer.lock().await;
        inner.check_open()?;
        if db::get(&inner.db, db::RECEIPTS, &receipt_key)
            .await?
            .is_some()
        {
            true
        } else {
            let change =
                rights::transfer_change(&receipt_value, &receipt, &manifest.did, now_unix())?;
            let staged = inner
                .state
                .borrow()
                .store
                .stage_entries(rights::TRANSFER_SERVICE, vec![change])?;
            let before = inner.state.borrow().store.chain().commitment();
            let after = inner.state.borrow().store.chain_after(&staged);
            let mut done = record.clone();
            // A later push repeats this one only if nothing but this receipt came after the bundle;
            // data committed while the push ran makes the next push sign anew.
            done.after = (before == record.bundle_log).then(|| after.commitment());
            let stored = json!({
                "kind": "transfer",
                "node": manifest.node,
                "node_did": manifest.did,
                "bundle_log": record.bundle_log,
                "receipt": receipt_value,
            });
            let extra = vec![
                Write::Put(db::RECEIPTS, receipt_key.clone(), stored.to_string()),
                Write::Put(
                    db::META,
                    record_key.clone(),
                    serde_json::to_string(&done).map_err(|e| Error::Storage(e.to_string()))?,
                ),
            ];
            db::write(&inner.db, entries_commit_writes(&staged, &after, extra)?).await?;
            inner.state.borrow_mut().store.apply(staged)?;
            false
        }
    };

    // 4. Continuity: the node now holds exactly the bundle's counts.
    options.progress(json!({"phase": "verify", "sessionId": id, "bytes": size, "total": size}));
    let remote = node_counts(&session, &did).await?;
    let remote_counts = rights::counts_by_section(remote.iter().map(|(_, s, c)| (s.as_str(), c)))?;
    let mismatches = rights::compare_counts(&counts, &remote_counts);
    options.progress(json!({"phase": "done", "sessionId": id, "bytes": size, "total": size}));
    let log = inner.state.borrow().store.chain().commitment();
    jsv::to_js(&json!({
        "node": manifest.node,
        "nodeDid": manifest.did,
        "bundleHash": record.bundle_hash,
        "size": size,
        "sessionId": id,
        "resumedFrom": resumed_from,
        "uploaded": uploaded,
        "repeated": repeated,
        "receipt": receipt_value,
        "counts": section_counts_json(&counts),
        "continuity": {"ok": mismatches.is_empty(), "mismatches": mismatches},
        "log": {"length": log.length, "head": log.head},
    }))
}

fn section_counts_json(counts: &SectionCounts) -> Value {
    serde_json::to_value(counts).unwrap_or(Value::Null)
}
