//! `Vault.pull` and `Vault.remoteCount`: authenticate on a node with the DID key, fetch every service's
//! export pages (a few services at a time), verify each page's node proof, and merge page by page.
//!
//! Each page is one commit: its items, its log entries and the service's new cursor are written in one
//! IndexedDB transaction. A pull interrupted anywhere (abort, reload, crash, network) therefore resumes
//! from the last committed page, with no duplicates and no gaps.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::stream::{self, StreamExt};
use js_sys::{Function, Promise, Reflect};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::db::{self, Write};
use super::digest;
use super::http::{self, Body, HttpError};
use super::json as jsv;
use super::vault::{apply, begin_write, commit_writes, Inner, Vault};
use crate::core::export::{PageSequence, PreparedPage, VerifiedPage};
use crate::core::manifest::{self, Manifest, Service};
use crate::core::rights;
use crate::core::store::MergeReport;
use crate::core::{Error, Result};

/// Items asked for per export page: the most a node gives (`MAX_PAGE_LIMIT`). Fewer, larger pages
/// cost fewer round trips (a full pull of 100,000 items measured 5.7 s with pages of 1,000, 4.7 s
/// with pages of 5,000); the reference node ends a page early once its data pass 8 MiB.
pub const PAGE_LIMIT: u32 = crate::core::export::MAX_PAGE_LIMIT as u32;
/// Services fetched (or counted) at the same time.
pub const CONCURRENCY: usize = 3;
/// Longest `timeoutMs` accepted by pull, push and deleteRemote: ten minutes per request.
pub const MAX_TIMEOUT_MS: u32 = 600_000;

/// A JavaScript number that is whole and from `min` to `max`.
pub(crate) fn whole_number(value: &JsValue, min: f64, max: f64) -> Option<f64> {
    value
        .as_f64()
        .filter(|n| n.fract() == 0.0 && (min..=max).contains(n))
}

#[wasm_bindgen]
extern "C" {
    /// `{onProgress?, signal?, services?, timeoutMs?}`.
    #[wasm_bindgen(typescript_type = "PullOptions")]
    pub type PullOptions;
}

/// The options of pull, push and deleteRemote (each reads the members it documents).
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
            v => {
                let mut names = v
                    .dyn_into::<js_sys::Array>()
                    .map_err(|_| not_names())?
                    .iter()
                    .map(|s| s.as_string().ok_or_else(not_names))
                    .collect::<Result<Vec<_>>>()?;
                // A name given twice is one service: two runs of it would share a cursor.
                let mut seen = std::collections::HashSet::new();
                names.retain(|n| seen.insert(n.clone()));
                Some(names)
            }
        };
        let timeout_ms = match get("timeoutMs") {
            v if absent(&v) => http::TIMEOUT_MS,
            v => whole_number(&v, 1.0, f64::from(MAX_TIMEOUT_MS)).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "timeoutMs must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}"
                ))
            })? as u32,
        };
        Ok(Options {
            on_progress,
            signal,
            services,
            timeout_ms,
        })
    }

    pub fn progress(&self, event: Value) {
        if let (Some(f), Ok(event)) = (&self.on_progress, jsv::to_js(&event)) {
            // A throwing callback must not break the operation.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    }

    /// A pull's progress event for one service.
    fn service_progress(&self, service: &str, phase: &str, items: u64, bytes: u64, done: bool) {
        self.progress(json!({"service": service, "phase": phase, "items": items, "bytes": bytes, "done": done}));
    }

    pub fn check_abort(&self) -> Result<()> {
        if self.signal.as_ref().is_some_and(AbortSignal::aborted) {
            Err(Error::Aborted)
        } else {
            Ok(())
        }
    }
}

/// An authenticated session on one node; the token is renewed when it expires.
pub(crate) struct Session {
    pub manifest: Manifest,
    inner: Rc<Inner>,
    token: RefCell<Option<String>>,
    signal: Option<AbortSignal>,
    timeout_ms: u32,
}

impl Session {
    /// [`Session::open`] with the `signal` and `timeoutMs` of an operation's options.
    pub async fn with_options(
        inner: Rc<Inner>,
        manifest_url: &str,
        options: &Options,
    ) -> Result<Session> {
        Session::open(
            inner,
            manifest_url,
            options.signal.clone(),
            options.timeout_ms,
        )
        .await
    }

    /// Reads the manifest and authenticates; every request of the session fails with `NETWORK` after
    /// `timeout_ms`.
    pub async fn open(
        inner: Rc<Inner>,
        manifest_url: &str,
        signal: Option<AbortSignal>,
        timeout_ms: u32,
    ) -> Result<Session> {
        inner.check_open()?;
        inner.with_key(|_| Ok(()))?;
        manifest::check_url(manifest_url)?;
        let (value, _) = http::request(
            "GET",
            manifest_url,
            Body::None,
            None,
            signal.as_ref(),
            timeout_ms,
        )
        .await?;
        let manifest = Manifest::from_value(&value, manifest_url)?;
        let session = Session {
            manifest,
            inner,
            token: RefCell::new(None),
            signal,
            timeout_ms,
        };
        session.authenticate().await?;
        Ok(session)
    }

    async fn authenticate(&self) -> Result<()> {
        let did = self.inner.did()?;
        let body = json!({ "did": did }).to_string();
        let (challenge, _) = http::request(
            "POST",
            &self.manifest.challenge,
            Body::Json(&body),
            None,
            self.signal.as_ref(),
            self.timeout_ms,
        )
        .await
        .map_err(auth_error)?;
        let id = challenge.get("challengeId").and_then(Value::as_str);
        let text = challenge.get("challenge").and_then(Value::as_str);
        let (Some(id), Some(text)) = (id, text) else {
            return Err(Error::AuthFailed(
                "the challenge answer lacks challengeId or challenge".into(),
            ));
        };
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::AuthFailed(
                "the challenge is not 64 hex characters".into(),
            ));
        }
        // The platform's login signs the UTF-8 bytes of the hex string, not the decoded bytes.
        let signature = self
            .inner
            .with_key(|key| Ok(hex::encode(key.sign(text.as_bytes()))))?;
        let body = json!({ "challengeId": id, "did": did, "signature": signature }).to_string();
        let (verified, _) = http::request(
            "POST",
            &self.manifest.verify,
            Body::Json(&body),
            None,
            self.signal.as_ref(),
            self.timeout_ms,
        )
        .await
        .map_err(auth_error)?;
        let token = verified
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= 1024)
            .ok_or_else(|| Error::AuthFailed("the node answered no token".into()))?;
        *self.token.borrow_mut() = Some(token.to_owned());
        Ok(())
    }

    /// An authenticated request; an expired token is renewed once and the request repeated.
    pub async fn call(&self, method: &str, url: &str, body: Body<'_>) -> Result<(Value, usize)> {
        let text = self.call_text(method, url, body).await?;
        let value = crate::core::canonical::parse(&text)?;
        Ok((value, text.len()))
    }

    /// [`Session::call`], answering the JSON text unparsed.
    pub async fn call_text(&self, method: &str, url: &str, body: Body<'_>) -> Result<String> {
        Ok(self.call_status(method, url, body).await?)
    }

    /// [`Session::call_text`], keeping the node's error code of an error status.
    pub async fn call_status(
        &self,
        method: &str,
        url: &str,
        body: Body<'_>,
    ) -> std::result::Result<String, HttpError> {
        for attempt in 0..2 {
            let token = self.token.borrow().clone();
            let body = match &body {
                Body::None => Body::None,
                Body::Json(t) => Body::Json(t),
                Body::Bytes(b) => Body::Bytes(b),
            };
            let answer = http::request_text(
                method,
                url,
                body,
                token.as_deref(),
                self.signal.as_ref(),
                self.timeout_ms,
            )
            .await;
            match answer {
                Ok(answer) => return Ok(answer),
                Err(HttpError::Status {
                    status: 401,
                    code,
                    error,
                }) if matches!(
                    code.as_deref(),
                    Some("TOKEN_EXPIRED" | "AUTH_REQUIRED" | "AUTH_FAILED")
                ) =>
                {
                    if attempt > 0 {
                        return Err(Error::AuthFailed(format!(
                            "the node refused a fresh token: {error}"
                        ))
                        .into());
                    }
                    self.authenticate().await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::AuthFailed("the node refused a fresh token".into()).into())
    }
}

fn auth_error(e: HttpError) -> Error {
    match e {
        HttpError::Status { status, error, .. } if (400..500).contains(&status) => {
            Error::AuthFailed(error.to_string())
        }
        other => other.into(),
    }
}

pub(crate) fn query(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

pub(crate) fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// The owner's counts on the session's node summed by section and collection ([`node_counts`]).
pub(crate) async fn node_section_counts(
    session: &Session,
    did: &str,
) -> Result<crate::core::receipt::SectionCounts> {
    let remote = node_counts(session, did).await?;
    rights::counts_by_section(remote.iter().map(|(_, s, c)| (s.as_str(), c)))
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

fn cursor_key(manifest: &Manifest, service: &Service) -> JsValue {
    JsValue::from_str(&format!("{} {}", manifest.did, service.name))
}

/// The latest `deleted_at` of this vault's deletion receipts from `node_did` for `service`, or later
/// with a delete request of the vault pending there (sent, its receipt not recorded): the end of the
/// time that request may have deleted in (`rights::pending_deletion_until`).
async fn own_deletions_until(inner: &Inner, node_did: &str, service: &str) -> Result<Option<u64>> {
    let pending = db::get(
        &inner.db,
        db::META,
        &super::delete::pending_key(node_did, service),
    )
    .await?
    .map(|text| {
        serde_json::from_str::<Value>(&text)
            .map_or(u64::MAX, |record| rights::pending_deletion_until(&record))
    });
    let mut receipts: Vec<Value> = Vec::new();
    for (key, text) in db::get_all(&inner.db, db::RECEIPTS).await? {
        match serde_json::from_str(&text) {
            Ok(record) => receipts.push(record),
            // A record that cannot be read, if it may be a deletion receipt of this node (its key,
            // `delete <node did> <request hash>`, says so, or is not one the vault writes): no
            // tombstone is applied, so that the vault keeps its copy.
            Err(_) => {
                let key = key.as_string().unwrap_or_default();
                let other = match db::receipt_key::deletion_node(&key) {
                    Some(Some(node)) => node != node_did,
                    Some(None) => true,
                    None => false,
                };
                if !other {
                    return Ok(Some(u64::MAX));
                }
            }
        }
    }
    Ok(rights::own_deletions_until(&receipts, node_did, service).max(pending))
}

/// What one service's pull gave: the merge report, pages read and bytes read.
type ServicePull = (MergeReport, u64, u64);

/// Pulls one service to its end, a page per commit. Tombstones the node reports because the vault
/// asked it to delete (see `rights::drop_own_deletions`) are not applied.
async fn pull_service(
    session: &Session,
    service: &Service,
    options: &Options,
) -> Result<ServicePull> {
    let inner = &session.inner;
    let did = inner.did()?;
    let key = cursor_key(&session.manifest, service);
    let mut cursor = db::get(&inner.db, db::CURSORS, &key).await?;
    let (mut report, mut pages, mut bytes, mut items) = (MergeReport::default(), 0u64, 0u64, 0u64);
    options.service_progress(&service.name, "fetch", 0, 0, false);
    let page_url = |cursor: Option<&str>| {
        let mut url = format!("{}?did={}&limit={PAGE_LIMIT}", service.export, query(&did));
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={}", query(c)));
        }
        url
    };
    let mut sequence = PageSequence::new(cursor.as_deref());
    // The next page is fetched while this one is merged and written.
    let mut prefetched: Option<Result<String>> = None;
    loop {
        options.check_abort()?;
        let text = match prefetched.take() {
            Some(text) => text?,
            None => {
                session
                    .call_text("GET", &page_url(cursor.as_deref()), Body::None)
                    .await?
            }
        };
        let size = text.len();
        let page = read_page(&text, &session.manifest.did).await?;
        drop(text);
        if page.did != did {
            return Err(Error::DidMismatch(format!(
                "the node sent items of {} to {did}",
                page.did
            )));
        }
        if page.service != service.name || page.section != service.section {
            return Err(Error::ExportMalformed(format!(
                "a page of {}/{} answered for {}/{}",
                page.service, page.section, service.name, service.section
            )));
        }
        if page.items.len() > PAGE_LIMIT as usize {
            return Err(Error::ExportMalformed(format!(
                "{} items in a page of at most {PAGE_LIMIT}",
                page.items.len()
            )));
        }
        // A page that is not the last must move the cursor somewhere new, or the pull (and the
        // writer lock it holds) would never end.
        sequence.next(&service.name, &page.cursor, page.done, page.items.len())?;
        items += page.items.len() as u64;
        bytes += size as u64;
        options.service_progress(&service.name, "merge", items, bytes, false);
        let (done, next_cursor) = (page.done, page.cursor.clone());
        let commit = async {
            let _guard = inner.writer.lock().await;
            inner.check_open()?;
            // Read under the lock: a deleteRemote of this node may have finished since the page
            // was requested.
            let own_deletions =
                own_deletions_until(inner, &session.manifest.did, &service.name).await?;
            let (kept, _) = {
                let state = inner.state.borrow();
                rights::drop_own_deletions(page.items, own_deletions, |item| {
                    let held = state.store.held_updated_at(
                        &service.section,
                        &item.collection,
                        &item.id,
                    )?;
                    crate::core::export::parse_timestamp(held).ok()
                })
            };
            let staged = inner.state.borrow().store.stage(
                &service.name,
                &service.section,
                kept,
                now_unix(),
            )?;
            let mut writes = commit_writes(&staged)?;
            writes.push(Write::Put(db::CURSORS, key.clone(), page.cursor));
            db::write(&inner.db, writes).await?;
            report.add(&staged.report);
            apply(inner, staged)?;
            Ok::<_, Error>(())
        };
        if done {
            commit.await?;
        } else {
            let next_url = page_url(Some(&next_cursor));
            let next =
                async { Ok::<_, Error>(session.call_text("GET", &next_url, Body::None).await) };
            // A failed commit ends the service at once: the request for the next page is dropped,
            // which cancels it, rather than awaited (up to its timeout) for a page nobody will read.
            let ((), next) = futures_util::future::try_join(commit, next).await?;
            prefetched = Some(next);
        }
        pages += 1;
        cursor = Some(next_cursor);
        if done {
            options.service_progress(&service.name, "done", items, bytes, true);
            return Ok((report, pages, bytes));
        }
        options.service_progress(&service.name, "fetch", items, bytes, false);
    }
}

/// Reads and verifies one export page: canonical pages the fast way, hashing the text without its
/// proof with WebCrypto; anything else the general way, which gives the precise error.
async fn read_page(text: &str, node_did: &str) -> Result<VerifiedPage> {
    if let Some(prepared) = PreparedPage::new(text) {
        let (before, after) = prepared.unsigned();
        let mut unsigned = Vec::with_capacity(before.len() + after.len());
        unsigned.extend_from_slice(before.as_bytes());
        unsigned.extend_from_slice(after.as_bytes());
        let hash = digest::sha256(&unsigned).await;
        drop(unsigned);
        if let Some(page) = prepared.finish(node_did, &hash) {
            return Ok(page);
        }
    }
    VerifiedPage::read_general(text, node_did)
}

#[wasm_bindgen(js_class = Vault)]
impl Vault {
    /// Pulls the owner's data from the node whose manifest is at `manifestUrl`, merging it into the
    /// vault. Needs the vault unlocked. Resolves to a report per service; one failing service does not
    /// stop the others. Rejects with `ABORTED` when `signal` aborts (what was committed stays; the next
    /// pull resumes there). While another tab (or `Vault` object) of this vault writes, it waits.
    #[wasm_bindgen(js_name = pull, unchecked_return_type = "Promise<PullReport>")]
    pub fn pull(&self, manifest_url: String, options: Option<PullOptions>) -> Promise {
        let inner = self.inner();
        super::vault::promise_of(async move {
            let options = Options::read(options.map(JsValue::from))?;
            // Another tab's pull (or push, delete, import) of this vault ends first.
            let _lock = begin_write(&inner, options.signal.as_ref()).await?;
            let session = Session::with_options(inner.clone(), &manifest_url, &options).await?;
            let wanted: Vec<Service> = match &options.services {
                Some(names) => names
                    .iter()
                    .map(|n| {
                        session.manifest.service(n).cloned().ok_or_else(|| {
                            Error::InvalidArgument(format!("the node has no service {n:?}"))
                        })
                    })
                    .collect::<Result<_>>()?,
                None => session.manifest.services.clone(),
            };
            // Unordered: a slow service must not hold back the start of the ones after it.
            let mut results: Vec<(usize, Service, Result<ServicePull>)> =
                stream::iter(wanted.into_iter().enumerate())
                    .map(|(index, service)| {
                        let (session, options) = (&session, &options);
                        async move {
                            let result = pull_service(session, &service, options).await;
                            if result.is_err() {
                                options.service_progress(&service.name, "error", 0, 0, true);
                            }
                            (index, service, result)
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
            results.sort_by_key(|(index, ..)| *index);
            if results
                .iter()
                .any(|(_, _, r)| matches!(r, Err(Error::Aborted)))
                || options.check_abort().is_err()
            {
                return Err(Error::Aborted);
            }
            let services: Vec<Value> = results
                .into_iter()
                .map(|(_, service, result)| {
                    let mut entry = json!({"service": service.name, "section": service.section});
                    let (report, pages, bytes) = match &result {
                        Ok(r) => *r,
                        Err(_) => (MergeReport::default(), 0, 0),
                    };
                    entry["added"] = json!(report.added);
                    entry["updated"] = json!(report.updated);
                    entry["deleted"] = json!(report.deleted);
                    entry["unchanged"] = json!(report.unchanged);
                    entry["pages"] = json!(pages);
                    entry["bytes"] = json!(bytes);
                    if let Err(e) = result {
                        entry["error"] = json!({"code": e.code(), "message": e.to_string()});
                    }
                    entry
                })
                .collect();
            let log = inner.state.borrow().store.chain().commitment();
            jsv::to_js(&json!({
                "node": session.manifest.node,
                "nodeDid": session.manifest.did,
                "services": services,
                "log": {"length": log.length, "head": log.head},
            }))
        })
    }

    /// The owner's footprint on a node: `countForDid` of every service, fanned out.
    #[wasm_bindgen(js_name = remoteCount, unchecked_return_type = "Promise<RemoteCounts>")]
    pub fn remote_count(&self, manifest_url: String) -> Promise {
        let inner = self.inner();
        super::vault::promise_of(async move {
            let session =
                Session::open(inner.clone(), &manifest_url, None, http::TIMEOUT_MS).await?;
            let did = inner.did()?;
            let out: serde_json::Map<String, Value> = node_counts(&session, &did)
                .await?
                .into_iter()
                .map(|(name, section, counts)| {
                    (name, json!({"section": section, "counts": counts}))
                })
                .collect();
            jsv::to_js(&Value::Object(out))
        })
    }
}
