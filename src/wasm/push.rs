//! `Vault.push`: transfer the signed bundle to a node the user chooses (`transferForDid`), in
//! acknowledged chunks, resumable, with a verified receipt recorded in the log and a continuity check.
//!
//! Resuming needs the same bytes: the [`PushRecord`] of the target (in the `meta` store, key
//! `push <node did>`) keeps the bundle's log commitment and time, written before the upload starts.
//! A push while the log is still at that commitment, or has only receipts beyond it (this push's,
//! other pushes', exports', deletions'), signs the same bytes again, so the node's session for that
//! `bundle_hash` resumes from its last acknowledged chunk, or answers its stored receipt when it was
//! committed (then the push is a no-op). Not so when that push's continuity check found data missing
//! on the node, or the vault has had the node delete data since: then new bytes are signed, and the
//! node imports them.

use futures_util::{stream, StreamExt};
use js_sys::Promise;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::db::{self, Write};
use super::digest;
use super::http::Body;
use super::json as jsv;
use super::pull::{node_section_counts, now_unix, Options, Session};
use super::vault::{
    apply, begin_write, entries_commit_writes, promise_of, read_log, sign_bundle, Inner, Vault,
};
use crate::core::bundle::LogCommitment;
use crate::core::receipt::SectionCounts;
use crate::core::rights::{self, PushRecord};
use crate::core::{Error, Result};

#[wasm_bindgen]
extern "C" {
    /// `{onProgress?, signal?, timeoutMs?}`.
    #[wasm_bindgen(typescript_type = "PushOptions")]
    pub type PushOptions;
    /// `{services?, signal?, timeoutMs?}`.
    #[wasm_bindgen(typescript_type = "DeleteRemoteOptions")]
    pub type DeleteRemoteOptions;
}

/// Chunks uploaded at the same time. With two, the browser sends one while the node stores the
/// other (58 MiB to a local node on two cores: 1.0 s against 1.5 s with one; three are no faster).
const UPLOADS_IN_FLIGHT: usize = 2;

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
    /// (node key, DID, bundle hash, counts), checks continuity (the node's counts against the
    /// bundle's), then records the receipt in the log (one transaction) with the check's result.
    /// Needs the vault unlocked. Repeating a push that completed uploads nothing and records nothing,
    /// unless its continuity check came up short or the vault has had that node delete data since:
    /// then it signs and uploads anew. While another tab of this vault writes, it waits.
    #[wasm_bindgen(js_name = push, unchecked_return_type = "Promise<PushReport>")]
    pub fn push(&self, target_manifest_url: String, options: Option<PushOptions>) -> Promise {
        let inner = self.inner();
        promise_of(async move {
            let options = Options::read(options.map(JsValue::from))?;
            let _lock = begin_write(&inner, options.signal.as_ref()).await?;
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
    let (signed, counts) = sign_bundle(inner, exported_at, Some(log.clone()), false).await?;
    let bytes = signed.into_bytes();
    Ok((bytes, counts))
}

async fn push(inner: &std::rc::Rc<Inner>, url: &str, options: &Options) -> Result<JsValue> {
    let session = Session::with_options(inner.clone(), url, options).await?;
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
        // A completed push whose continuity check did not find all of it there (or that was recorded
        // without one) is not repeated: the node's session for those bytes would only answer its
        // receipt, and new bytes make it import the bundle again.
        let previous = match previous {
            Some(r) => {
                let key = db::receipt_key::transfer(&manifest.did, &r.bundle_hash);
                let short = db::get(&inner.db, db::RECEIPTS, &key)
                    .await?
                    .is_some_and(|text| !transfer_holds_all(&text));
                (!short).then_some(r)
            }
            None => None,
        };
        let reuse = match previous {
            Some(r) if r.repeats(&current) => Some(r),
            // Other receipts (a push elsewhere, an export, a deletion) came after it: the same
            // bytes still, unless data changed since.
            Some(r) => r.repeats_log(&read_log(inner).await?)?.then_some(r),
            None => None,
        };
        let mut signed_with = match &reuse {
            Some(r) => (r.exported_at.clone(), r.bundle_log.clone()),
            None => (super::keypair::now(), current.clone()),
        };
        let (mut bytes, mut counts) = bundle_bytes(inner, &signed_with.0, &signed_with.1).await?;
        // WebCrypto hashes the 58 MiB of a 100,000-item bundle several times faster than wasm.
        let mut bundle_hash = hex::encode(digest::sha256(&bytes).await);
        if reuse.as_ref().is_some_and(|r| r.bundle_hash != bundle_hash) {
            // The items changed although the log looks the same as at that push (data committed
            // while it ran): sign what the vault holds now, with the log's current commitment.
            signed_with = (super::keypair::now(), current.clone());
            (bytes, counts) = bundle_bytes(inner, &signed_with.0, &signed_with.1).await?;
            bundle_hash = hex::encode(digest::sha256(&bytes).await);
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
        // Two chunks in flight: the browser sends one while the node stores the other. The node
        // acknowledges the bytes it holds without a gap from the start, so the highest answer counts,
        // and answers are taken as they come: a failed chunk fails the push at once, and the other
        // upload, dropped with the stream, is cancelled (`http::request`).
        let (sessions, id, bytes, session) = (&sessions, &id, &bytes, &session);
        let mut answers = stream::iter(rights::chunks_from(size, chunk_size, received))
            .map(|(index, start, end)| async move {
                options.check_abort()?;
                let chunk = &bytes[start as usize..end as usize];
                let (ack, _) = session
                    .call(
                        "PUT",
                        &format!("{sessions}/{id}/chunks/{index}"),
                        Body::Bytes(chunk),
                    )
                    .await?;
                let received = ack
                    .get("received")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| malformed("a chunk answer without received"))?;
                Ok::<_, Error>((received, end - start))
            })
            .buffer_unordered(UPLOADS_IN_FLIGHT);
        while let Some(answer) = answers.next().await {
            let (received, sent) = answer?;
            acknowledged = acknowledged.max(received);
            uploaded += sent;
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

    // 3. The receipt, verified (it is recorded after the continuity check).
    let receipt = rights::check_transfer_receipt(
        &receipt_value,
        &manifest.did,
        &manifest.node,
        &did,
        &record.bundle_hash,
        &counts,
    )?;
    // 4. Continuity, before anything is recorded: the node now holds exactly the bundle's counts. A
    // transfer counts as a backup only with it (`rights::backup_list`).
    options.progress(json!({"phase": "verify", "sessionId": id, "bytes": size, "total": size}));
    let remote_counts = node_section_counts(&session, &did).await?;
    let mismatches = rights::compare_counts(&counts, &remote_counts);
    let continuity = json!({"ok": mismatches.is_empty(), "mismatches": mismatches});

    // 5. The receipt recorded once, with its log entry, in one transaction. A receipt recorded before
    // keeps the latest continuity check, whichever way it went, and the address the node was last
    // pushed to (`deleteRemote` asks it there whether it still holds the bundle); its log entry, which
    // records the receipt, stays as it is.
    let receipt_key = db::receipt_key::transfer(&manifest.did, &record.bundle_hash);
    let stored = json!({
        "kind": "transfer",
        "node": manifest.node,
        "node_did": manifest.did,
        "manifest": url,
        "bundle_log": record.bundle_log,
        "receipt": receipt_value,
        "continuity": continuity,
    });
    let repeated = {
        let _guard = inner.writer.lock().await;
        inner.check_open()?;
        if let Some(text) = db::get(&inner.db, db::RECEIPTS, &receipt_key).await? {
            let before = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
            if before.get("continuity") != stored.get("continuity")
                || before.get("manifest") != stored.get("manifest")
            {
                db::write(
                    &inner.db,
                    vec![Write::Put(
                        db::RECEIPTS,
                        receipt_key.clone(),
                        stored.to_string(),
                    )],
                )
                .await?;
            }
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
            let mut done = record.clone();
            // A later push repeats this one only if nothing but this receipt came after the bundle;
            // data committed while the push ran makes the next push sign anew.
            done.after = (before == record.bundle_log).then(|| staged.chain_after().commitment());
            let extra = vec![
                Write::Put(db::RECEIPTS, receipt_key.clone(), stored.to_string()),
                Write::Put(
                    db::META,
                    record_key.clone(),
                    serde_json::to_string(&done).map_err(|e| Error::Storage(e.to_string()))?,
                ),
            ];
            db::write(&inner.db, entries_commit_writes(&staged, extra)?).await?;
            apply(inner, staged)?;
            false
        }
    };

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
        "continuity": continuity,
        "log": {"length": log.length, "head": log.head},
    }))
}

/// Whether a stored transfer record's continuity check found all of the bundle on the node.
fn transfer_holds_all(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|record| record.get("continuity").map(rights::holds_all))
        .unwrap_or(false)
}

fn section_counts_json(counts: &SectionCounts) -> Value {
    serde_json::to_value(counts).unwrap_or(Value::Null)
}
