//! `Vault.deleteRemote`: the coordinated delete, only once nothing can be lost.
//!
//! Before any request: the footprint (`countForDid` of every service), then the guards, each a
//! `NOT_BACKED_UP` refusal — the last data change in the log is covered by a bundle with a verified
//! transfer receipt from another node or an exported bundle the user keeps (`Vault.recordExport`;
//! `core::rights::covering`); a transfer counts only once its node, asked now (a login and its
//! counts), still holds at least the receipt's count in every collection, as another device of the DID
//! may have pushed another bundle there since, which replaces the node's data. And for every service
//! to delete, the vault has pulled it from this node and the node has no change since (an export page
//! from the saved cursor is empty). Then each service gets a fresh signed delete request; its receipt
//! is verified against the request and the node key and recorded with a log entry in one transaction.
//! A service whose receipt is in the log after the last data change is not asked again.
//!
//! A request whose answer never arrived (a reload, a crash or a broken connection while the node
//! deleted) is remembered: before each request the vault writes a *pending* record with the signed
//! request (`meta`, key `delete-pending <node did> <service>`), removed in the transaction that records
//! the receipt. While one is pending, pulls from that node leave that service's tombstones unapplied
//! (they are the vault's own doing: its copy stays) up to 300 s after the request's time (a node
//! deletes only within 300 s of it), as well as any dated at most a millisecond after the version the
//! vault holds (a node dates the tombstone of an item dated ahead of its clock just after the item);
//! transfers to that node are no backup meanwhile; and the next deleteRemote accepts that the node's
//! changes since the last pull are tombstones only, then sends the same request again: the node
//! answers the receipt it gave, with what that request deleted. Only when the node holds no answer to
//! it (`REQUEST_EXPIRED`, `REPLAY`: it never arrived) does a fresh request follow.

use js_sys::Promise;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use super::db::{self, Write};
use super::http::{Body, HttpError};
use super::json as jsv;
use super::pull::{
    node_counts, node_section_counts, now_unix, query, Options, Session, PAGE_LIMIT,
};
use super::push::DeleteRemoteOptions;
use super::vault::{apply, begin_write, entries_commit_writes, promise_of, read_log, Inner, Vault};
use crate::core::error::excerpt;
use crate::core::export::{ExportPage, PageSequence};
use crate::core::manifest::Service;
use crate::core::receipt::{DeleteRequest, DeletionReceipt};
use crate::core::rights;
use crate::core::{Error, Result};

#[wasm_bindgen(js_class = Vault)]
impl Vault {
    /// Deletes the owner's data on the node whose manifest is at `manifestUrl` (every service, or
    /// `services`), with a verified, logged deletion receipt per service. Refuses with `NOT_BACKED_UP`,
    /// before asking anything, unless the vault holds everything the node has and a backup covers it:
    /// a recorded export, or a verified transfer receipt of another node that, asked now, still holds
    /// the bundle. Resolves to a report per service and the backup relied on; a failed service can be
    /// retried, and one whose answer was lost is asked again. While another tab of this vault writes,
    /// it waits.
    #[wasm_bindgen(js_name = deleteRemote, unchecked_return_type = "Promise<DeleteReport>")]
    pub fn delete_remote(
        &self,
        manifest_url: String,
        options: Option<DeleteRemoteOptions>,
    ) -> Promise {
        let inner = self.inner();
        promise_of(async move {
            let options = Options::read(options.map(JsValue::from))?;
            let _lock = begin_write(&inner, options.signal.as_ref()).await?;
            delete_remote(&inner, &manifest_url, &options).await
        })
    }
}

async fn delete_remote(
    inner: &std::rc::Rc<Inner>,
    url: &str,
    options: &Options,
) -> Result<JsValue> {
    let session = Session::with_options(inner.clone(), url, options).await?;
    let did = inner.did()?;
    let manifest = session.manifest.clone();
    let wanted: Vec<Service> = match &options.services {
        Some(names) => names
            .iter()
            .map(|n| {
                manifest
                    .service(n)
                    .cloned()
                    .ok_or_else(|| Error::InvalidArgument(format!("the node has no service {n:?}")))
            })
            .collect::<Result<_>>()?,
        None => manifest.services.clone(),
    };

    // The footprint, then the guards.
    let footprint: serde_json::Map<String, Value> = node_counts(&session, &did)
        .await?
        .into_iter()
        .map(|(name, section, counts)| (name, json!({"section": section, "counts": counts})))
        .collect();
    // From here to the end, no other change (a pull's page, a push's receipt, another delete) can
    // come between the guards, the node's deletion and the recorded receipt: a pull must not commit
    // the node's tombstones before this delete's receipt is recorded (it would delete the vault's
    // copy), nor new data after the backup check.
    let _guard = inner.writer.lock().await;
    inner.check_open()?;
    let entries = read_log(inner).await?;
    // Backups: bundles transferred to another node that still holds them, and exported bundles
    // the user keeps (`recordExport`).
    let records: Vec<Value> = db::get_all(&inner.db, db::RECEIPTS)
        .await?
        .into_iter()
        .filter_map(|(_, text)| serde_json::from_str::<Value>(&text).ok())
        .collect();
    // Nodes with a delete request of the vault pending (sent, its receipt never arrived), and the end
    // of the time it may have deleted in; the node is named by the record's key, so that a record that
    // cannot be read still counts (with no end).
    let mut pending_at: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (key, text) in db::get_all(&inner.db, db::META).await? {
        let Some(node) = key.as_string().as_deref().and_then(pending_node) else {
            continue;
        };
        let until = serde_json::from_str::<Value>(&text)
            .map_or(u64::MAX, |record| rights::pending_deletion_until(&record));
        let end = pending_at.entry(node).or_insert(0);
        *end = (*end).max(until);
    }
    let candidates = rights::covering(
        &entries,
        rights::backup_list(&records, &entries, &manifest.did, &pending_at),
    )?;
    let backup = confirm_backup(inner, candidates, options).await?;
    let done = rights::deleted_services(&entries, &manifest.did);
    for service in wanted.iter().filter(|s| !done.contains(&s.name)) {
        options.check_abort()?;
        let pending = db::get(
            &inner.db,
            db::META,
            &pending_key(&manifest.did, &service.name),
        )
        .await?
        .is_some();
        check_pulled(inner, &session, service, &did, pending).await?;
    }

    // One fresh signed request per service; each receipt verified and recorded.
    let mut reports = Vec::new();
    for service in &wanted {
        let mut entry = json!({"service": service.name, "section": service.section});
        if done.contains(&service.name) {
            entry["status"] = json!("skipped");
            reports.push(entry);
            continue;
        }
        match delete_service(inner, &session, service, &did, options).await {
            Ok((receipt, value)) => {
                entry["status"] = json!("deleted");
                entry["deleted"] = json!(receipt.deleted);
                entry["receipt"] = value;
            }
            Err(Error::Aborted) => return Err(Error::Aborted),
            Err(e) => {
                entry["status"] = json!("failed");
                entry["error"] = json!({"code": e.code(), "message": e.to_string()});
            }
        }
        reports.push(entry);
    }
    let log = inner.state.borrow().store.chain().commitment();
    jsv::to_js(&json!({
        "node": manifest.node,
        "nodeDid": manifest.did,
        "footprint": footprint,
        "backup": backup,
        "services": reports,
        "log": {"length": log.length, "head": log.head},
    }))
}

/// The backup that covers this delete, as the report names it: an exported bundle the user keeps, or
/// else a transferred bundle whose node, asked now, still holds at least the receipt's count in every
/// collection (another device of the DID may have pushed another bundle there since, which replaces
/// the node's data; someone may have deleted there). A node is asked once, about the newest bundle
/// transferred there.
/// `NOT_BACKED_UP` with each node's reason when none is confirmed.
async fn confirm_backup(
    inner: &std::rc::Rc<Inner>,
    candidates: Vec<rights::Backup>,
    options: &Options,
) -> Result<Value> {
    let log_json =
        |log: &crate::core::bundle::LogCommitment| json!({"length": log.length, "head": log.head});
    if let Some(export) = candidates
        .iter()
        .find(|b| matches!(b, rights::Backup::Export { .. }))
    {
        return Ok(json!({"kind": "export", "log": log_json(export.log())}));
    }
    // A node once, at the newest bundle transferred there (its import replaced any older one).
    let mut newest: std::collections::BTreeMap<&str, &rights::Backup> =
        std::collections::BTreeMap::new();
    for backup in &candidates {
        if let rights::Backup::Transfer { node_did, .. } = backup {
            let held = newest.entry(node_did).or_insert(backup);
            if backup.log().length > held.log().length {
                *held = backup;
            }
        }
    }
    let mut reasons = Vec::new();
    for backup in newest.into_values() {
        let rights::Backup::Transfer {
            log,
            node,
            node_did,
            manifest,
            counts,
        } = backup
        else {
            continue;
        };
        options.check_abort()?;
        let (Some(url), Some(counts)) = (manifest, counts) else {
            reasons.push(format!(
                "{}: its transfer was recorded without the node's address or counts; push there \
                 again",
                excerpt(node)
            ));
            continue;
        };
        match held_by(inner, url, node_did, counts, options).await {
            Ok(None) => {
                return Ok(json!({
                    "kind": "transfer",
                    "node": node,
                    "nodeDid": node_did,
                    "manifestUrl": url,
                    "log": log_json(log),
                }))
            }
            Ok(Some(reason)) => reasons.push(format!("{} {reason}", excerpt(node))),
            Err(Error::Aborted) => return Err(Error::Aborted),
            Err(e) => reasons.push(format!(
                "{} could not be asked whether it still holds the backup ({}: {e})",
                excerpt(node),
                e.code()
            )),
        }
    }
    Err(Error::NotBackedUp(format!(
        "no backup could be confirmed: {}. Push the vault there again, or sign and save a bundle, \
         before deleting",
        reasons.join("; ")
    )))
}

/// Asks the node at `url` (which must still be `node_did`) for the DID's counts: `None` when it holds
/// at least `counts` in every collection, else why not.
async fn held_by(
    inner: &std::rc::Rc<Inner>,
    url: &str,
    node_did: &str,
    counts: &crate::core::receipt::SectionCounts,
    options: &Options,
) -> Result<Option<String>> {
    let session = Session::with_options(inner.clone(), url, options).await?;
    if session.manifest.did != node_did {
        return Ok(Some(format!(
            "now answers at {url} with another key ({})",
            session.manifest.did
        )));
    }
    let remote = node_section_counts(&session, &inner.did()?).await?;
    let short = rights::shortfalls(counts, &remote);
    Ok(short.first().map(|m| {
        format!(
            "now holds {} of the {} items of {}/{} the transfer left there ({} collections short): \
             another device's push or a deletion there replaced the backup",
            m.actual,
            m.expected,
            excerpt(&m.section),
            excerpt(&m.collection),
            short.len()
        )
    }))
}

/// Sends a signed delete request; the answer parsed, or the node's error with its code.
async fn send(
    session: &Session,
    service: &Service,
    request: &Value,
) -> std::result::Result<Value, HttpError> {
    let text = session
        .call_status("POST", &service.delete, Body::Json(&request.to_string()))
        .await?;
    Ok(crate::core::canonical::parse(&text)?)
}

/// The `meta` key of a delete request sent to `node_did` for `service` whose receipt is not recorded.
pub(crate) fn pending_key(node_did: &str, service: &str) -> JsValue {
    JsValue::from_str(&format!("{PENDING_PREFIX}{node_did} {service}"))
}

/// How the `meta` keys of pending delete requests begin.
const PENDING_PREFIX: &str = "delete-pending ";

/// The node DID of a pending delete request's `meta` key (`delete-pending <node did> <service>`).
pub(crate) fn pending_node(key: &str) -> Option<String> {
    let rest = key.strip_prefix(PENDING_PREFIX)?;
    let (node, _service) = rest.rsplit_once(' ')?;
    Some(node.to_owned())
}

/// The vault has pulled this service from this node, and the node has changed nothing since. With a
/// delete request `pending` (sent, its answer lost), tombstones are accepted: that request may have
/// made them, and they bring nothing the vault lacks; any live item is still a change.
async fn check_pulled(
    inner: &Inner,
    session: &Session,
    service: &Service,
    did: &str,
    pending: bool,
) -> Result<()> {
    // The key `pull` saves a service's cursor under.
    let key = JsValue::from_str(&format!("{} {}", session.manifest.did, service.name));
    let Some(mut cursor) = db::get(&inner.db, db::CURSORS, &key).await? else {
        return Err(Error::NotBackedUp(format!(
            "the vault never pulled {} from {}: pull it (and back it up) before deleting",
            service.name, session.manifest.node
        )));
    };
    let limit = if pending { PAGE_LIMIT } else { 1 };
    let mut sequence = PageSequence::new(Some(&cursor));
    loop {
        let url = format!(
            "{}?did={}&limit={limit}&cursor={}",
            service.export,
            query(did),
            query(&cursor)
        );
        let (value, _) = session.call("GET", &url, Body::None).await?;
        let page = ExportPage::verify(&value, &session.manifest.did)?;
        if page.items.iter().any(|item| !(pending && item.deleted)) {
            return Err(Error::NotBackedUp(format!(
                "{} changed on {} since the last pull: pull (and back up) before deleting",
                service.name, session.manifest.node
            )));
        }
        sequence.next(&service.name, &page.cursor, page.done, page.items.len())?;
        if page.done {
            return Ok(());
        }
        cursor = page.cursor;
    }
}

async fn delete_service(
    inner: &Inner,
    session: &Session,
    service: &Service,
    did: &str,
    options: &Options,
) -> Result<(DeletionReceipt, Value)> {
    options.check_abort()?;
    let manifest = &session.manifest;
    let pending = pending_key(&manifest.did, &service.name);
    // A request sent before whose answer was lost: sent again as it was, the node answers the receipt
    // it gave (with what that request deleted) and deletes nothing anew.
    let earlier = db::get(&inner.db, db::META, &pending)
        .await?
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|record| record.get("request").cloned())
        .filter(|request| {
            DeleteRequest::from_value(request)
                .is_ok_and(|r| r.did == did && r.service == service.name && r.node == manifest.did)
        });
    let mut answer = None;
    if let Some(request) = earlier {
        match send(session, service, &request).await {
            // The node holds no answer to it (it never arrived, or the node does not keep answers):
            // a fresh request follows.
            Err(HttpError::Status {
                code: Some(code), ..
            }) if code == "REQUEST_EXPIRED" || code == "REPLAY" => {}
            result => answer = Some((request, result?)),
        }
    }
    let (signed, value) = match answer {
        Some(answer) => answer,
        None => {
            options.check_abort()?;
            let requested_at = String::from(js_sys::Date::new_0().to_iso_string());
            let request = DeleteRequest::new(did, &service.name, &manifest.did, &requested_at)?;
            let signed = inner.with_key(|key| request.sign(key, &super::keypair::now()))?;
            // Remembered before it is sent: if its answer is lost, the node may have deleted all the
            // same, and the next deleteRemote sends it again.
            let record = json!({
                "node_did": manifest.did, "service": service.name,
                "requested_at": requested_at, "request": signed,
            });
            db::write(
                &inner.db,
                vec![Write::Put(db::META, pending.clone(), record.to_string())],
            )
            .await?;
            let value = send(session, service, &signed).await?;
            (signed, value)
        }
    };
    let receipt = DeletionReceipt::verify_for_request(&value, &manifest.did, &signed)?;
    // The caller (`delete_remote`) holds the writer lock.
    inner.check_open()?;
    let change = rights::deletion_change(&value, &receipt, &manifest.did, now_unix())?;
    let staged = inner
        .state
        .borrow()
        .store
        .stage_entries(&service.name, vec![change])?;
    let stored = json!({
        "kind": "delete",
        "node": manifest.node,
        "node_did": manifest.did,
        "service": service.name,
        "request": signed,
        "receipt": value,
    });
    let key = db::receipt_key::deletion(&manifest.did, &receipt.request_hash);
    let extra = vec![
        Write::Put(db::RECEIPTS, key, stored.to_string()),
        Write::Delete(db::META, pending),
    ];
    db::write(&inner.db, entries_commit_writes(&staged, extra)?).await?;
    apply(inner, staged)?;
    Ok((receipt, value))
}
