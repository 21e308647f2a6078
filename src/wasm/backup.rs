//! `Vault.recordExport`: a signed bundle the user exported and keeps (a file they saved) becomes a
//! backup that `deleteRemote` accepts, like a transfer receipt from another node.
//!
//! The bundle must verify, be of the vault's DID, and commit to a prefix of the vault's own log; its
//! record (`receipts` store, key `export <bundle_hash>`, a [`rights::ExportRecord`]) and its log entry
//! (`receipt.export`) are written in one transaction. Recording the same bundle again changes nothing.

use js_sys::Promise;
use serde_json::json;
use wasm_bindgen::prelude::*;

use super::db::Write;
use super::json as jsv;
use super::pull::now_unix;
use super::vault::{apply, begin_write, entries_commit_writes, promise_of, read_log, Inner, Vault};
use super::{db, digest};
use crate::core::bundle;
use crate::core::{canonical_text, rights, Error, Result};

#[wasm_bindgen(js_class = Vault)]
impl Vault {
    /// Records that the user keeps this signed bundle of the vault (for instance the file `sign()`'s
    /// or `signBytes()`' result was saved as; an object or its JSON text, a string or UTF-8 bytes):
    /// from then on it is a backup of everything up to the log entry it commits to, and
    /// `deleteRemote` accepts it as it accepts a transfer receipt from another node. The bundle
    /// must verify (`SIGNATURE_INVALID`, `PROOF_MALFORMED`, …), be of this vault's DID
    /// (`DID_MISMATCH`), and commit to this vault's own log (`BUNDLE_MALFORMED` otherwise). Appends a
    /// `receipt.export` entry to the log, once per bundle. Resolves to `{bundleHash, exportedAt, log,
    /// repeated, coversLatest}`: `coversLatest` says whether it backs up everything the vault holds now.
    #[wasm_bindgen(js_name = recordExport, unchecked_return_type = "Promise<ExportRecordReport>")]
    pub fn record_export(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SignedBundle | string | Uint8Array | ArrayBuffer")]
        bundle: JsValue,
    ) -> Promise {
        let inner = self.inner();
        let text = jsv::document_text(&bundle);
        promise_of(async move { record(&inner, text?).await })
    }
}

async fn record(inner: &Inner, text: String) -> Result<JsValue> {
    inner.check_open()?;
    let verified = bundle::verify_bundle_text(&text)?;
    let did = inner.did()?;
    if verified.did != did {
        return Err(Error::DidMismatch(format!(
            "this vault belongs to {did}; the bundle is of {}",
            verified.did
        )));
    }
    // The hash of the bundle's RFC 8785 bytes, as a push would upload them: the text itself when it
    // verified as canonical text.
    let hash = if verified.canonical_text {
        digest::sha256(text.as_bytes()).await
    } else {
        digest::sha256(canonical_text::canonical_form(&text)?.as_bytes()).await
    };
    drop(text);
    let bundle_hash = hex::encode(hash);

    let _lock = begin_write(inner, None).await?;
    let _guard = inner.writer.lock().await;
    inner.check_open()?;
    let entries = read_log(inner).await?;
    if !rights::is_log_prefix(&entries, &verified.log)? {
        return Err(Error::BundleMalformed(format!(
            "its log commitment ({} entries, head {}…) is not this vault's log: a bundle signed by \
             another vault of the same key backs up that vault, not this one",
            verified.log.length,
            verified.log.head.get(..12).unwrap_or_default()
        )));
    }
    let covers = rights::check_backed_up(&entries, [&verified.log]).is_ok();
    let key = db::receipt_key::export(&bundle_hash);
    let repeated = db::get(&inner.db, db::RECEIPTS, &key).await?.is_some();
    if !repeated {
        let t = now_unix();
        let record = rights::ExportRecord {
            kind: "export".into(),
            bundle_hash: bundle_hash.clone(),
            bundle_log: verified.log.clone(),
            exported_at: verified.exported_at.clone(),
            recorded_at: super::keypair::now(),
        };
        let staged = inner.state.borrow().store.stage_entries(
            rights::EXPORT_SERVICE,
            vec![rights::export_change(&bundle_hash, t)],
        )?;
        let stored = serde_json::to_string(&record).map_err(|e| Error::Storage(e.to_string()))?;
        let extra = vec![Write::Put(db::RECEIPTS, key, stored)];
        db::write(&inner.db, entries_commit_writes(&staged, extra)?).await?;
        apply(inner, staged)?;
    }
    jsv::to_js(&json!({
        "bundleHash": bundle_hash,
        "exportedAt": verified.exported_at,
        "log": verified.log,
        "repeated": repeated,
        "coversLatest": covers,
    }))
}
