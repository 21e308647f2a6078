//! Fault injection for tests, only with `--dev-endpoints`: `POST /dev/fault` (see [`crate::dev`]) arms a
//! [`Fault`] for one DID's export requests of one service, and [`crate::export::export`] then answers
//! with it instead of the real page. Faults live in memory only (a restart forgets them) and are never
//! consulted without the flag.
//!
//! A fault replaces an export request that passed the usual checks (service, token, parameters), and
//! hostile pages are built from the real page the node would have sent, so that a vault that wrongly
//! accepted one would visibly change its store. Pages whose content breaks a rule the vault checks
//! after the proof (another DID, another service, duplicate ids, missing fields, a stuck cursor) are
//! signed correctly by the node key, so that those checks, not the signature check, are what refuses
//! them. An unsafe number or nesting beyond the cap cannot be signed at all (RFC 8785 needs I-JSON,
//! and the core's signer refuses them); the vault refuses them while parsing, before it looks at the
//! proof, so those pages carry the proof of the page before the hostile value was put in.
//!
//! Receipt faults (`receipt-*`) are armed for the pseudo-service [`TRANSFER_SERVICE`] and used by
//! [`crate::transfer::commit`] instead: the node commits and imports for real and stores the genuine
//! receipt, then answers a forged one (see [`forge_receipt`]), as a lying node would. Only the commit
//! answer is forged: a repeated `POST /transfer/sessions` for the committed bundle answers the stored,
//! genuine receipt.
//!
//! Three faults act on other requests than exports, for tests of interrupted writes: `slow-chunk`
//! (armed for [`TRANSFER_SERVICE`]) makes [`crate::transfer::put_chunk`] store the chunk and then wait
//! before acknowledging it; `failing-chunk` (armed there too) does the same except for chunk 1, which
//! it refuses at once with 503, unstored, so that a push fails while its other upload is in flight;
//! and `slow-delete` (armed for a catalog service) makes
//! [`crate::delete::delete`] delete and store the receipt, then wait before answering it: what a
//! client sees when its connection breaks after the node did the work.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bundle_vault::core::canonical::{MAX_DEPTH, MAX_SAFE_INTEGER};
use bundle_vault::core::export::ExportPage;
use bundle_vault::core::keys::Keypair;
use bundle_vault::core::proof;
use bundle_vault::core::receipt::TransferReceipt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::export::encode_cursor;
use crate::server::{AppState, SharedState};

/// Size of the `huge` pages: 65 MiB, beyond the vault's 64 MiB response cap.
pub const HUGE_PAGE_BYTES: usize = 65 * 1024 * 1024;
/// Size the `dropped-mid-body` answer promises: 1 MiB, well within the vault's cap.
pub const DROPPED_PAGE_BYTES: usize = 1024 * 1024;
/// The integer an `unsafe-number` page carries: 2^53 + 1, the first one a double cannot hold.
pub const UNSAFE_INTEGER: u64 = MAX_SAFE_INTEGER + 2;
/// Default delay of a `slow`, `slow-chunk` or `slow-delete` answer, in milliseconds.
pub const DEFAULT_DELAY_MS: u64 = 5_000;
/// Longest delay of a `slow`, `slow-chunk` or `slow-delete` answer, in milliseconds.
pub const MAX_DELAY_MS: u64 = 120_000;
/// Most faults armed at once on a node.
pub const MAX_ARMED: usize = 1_000;
/// The service name under which receipt faults are armed: they act on transfer commits.
pub const TRANSFER_SERVICE: &str = "transfer";

/// A text that cannot occur in a serialized page (it is not valid JSON string content unescaped), put
/// where the unsignable values go and replaced after signing.
const PLACEHOLDER: &str = "\u{1}fault-placeholder\u{1}";

/// What an export request answers instead of its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 200 `application/json`, the signed page cut in half (vault: `INVALID_JSON`).
    InvalidJson,
    /// The page without its `done` member, signed (vault: `EXPORT_MALFORMED`).
    MissingPageField,
    /// The first item without its `updated_at` member, signed (vault: `EXPORT_MALFORMED`).
    MissingItemField,
    /// The page names another DID, signed (vault: `DID_MISMATCH`).
    OtherDid,
    /// The page names another service and section, `injected`, signed (vault: `EXPORT_MALFORMED`).
    OtherService,
    /// The page without a proof (vault: `PROOF_MALFORMED`).
    NoProof,
    /// The page signed by a fresh key that is not the node's (vault: `DID_MISMATCH`, the core's code
    /// for a valid signature by the wrong key).
    ForeignKey,
    /// The page signed, then the first live item's data changed (vault: `SIGNATURE_INVALID`).
    Altered,
    /// The first item twice in the page, signed (vault: `EXPORT_MALFORMED`).
    DuplicateId,
    /// The first live item's data gains `"unsafe": 9007199254740993` (vault: `UNSAFE_NUMBER`).
    UnsafeNumber,
    /// The first live item's data gains `"nested"`, arrays nested [`MAX_DEPTH`] levels, so the data
    /// alone is nested deeper than the cap (vault: `TOO_DEEP`).
    TooDeep,
    /// An empty page with `done: false` whose cursor is the one asked with (or `<tag>.0`): a node that
    /// never gets anywhere (vault: `EXPORT_MALFORMED` once it sees the cursor did not move).
    StuckCursor,
    /// 200, a well-formed (unsigned) page of [`HUGE_PAGE_BYTES`] with `Content-Length`
    /// (vault: `TOO_LARGE`).
    Huge,
    /// The same page without `Content-Length` (chunked), so the size shows only while reading
    /// (vault: `TOO_LARGE`).
    HugeChunked,
    /// 200 `application/json` declaring a page of [`DROPPED_PAGE_BYTES`] in `Content-Length`, then the
    /// connection is closed after half of it, as a dropped connection does (vault: `NETWORK`).
    DroppedMidBody,
    /// 200 `text/html`: a captive portal's sign-in page (vault: `EXPORT_MALFORMED`).
    Html,
    /// 500 `{"code": "INTERNAL", …}` (vault: `HTTP_STATUS`).
    Status500,
    /// 503 `text/html`: a proxy's error page (vault: `HTTP_STATUS`).
    Status503Html,
    /// The real page, after a delay (vault: `NETWORK` when the delay exceeds its timeout).
    Slow {
        /// Milliseconds to wait before answering.
        delay_ms: u64,
    },
    /// Expires every token of the DID, then answers what an expired token gets: 401 `TOKEN_EXPIRED`
    /// (a vault logs in again and repeats the request).
    ExpireToken,
    /// Transfer commit: the receipt validly signed by a fresh key that is not the node's
    /// (vault: `DID_MISMATCH`).
    ReceiptForeignKey,
    /// Transfer commit: the receipt signed by the node key, then its `counts` changed
    /// (vault: `SIGNATURE_INVALID`).
    ReceiptAltered,
    /// Transfer commit: a receipt naming another `bundle_hash`, signed by the node key
    /// (vault: `EXPORT_MALFORMED`).
    ReceiptWrongHash,
    /// Transfer commit: a receipt for another, random DID, signed by the node key
    /// (vault: `EXPORT_MALFORMED`).
    ReceiptWrongDid,
    /// Transfer chunk upload: the chunk is stored, and acknowledged after a delay.
    SlowChunk {
        /// Milliseconds to wait before answering.
        delay_ms: u64,
    },
    /// Transfer chunk upload: chunk 1 answers 503 at once and is not stored; every other chunk is
    /// stored and acknowledged after a delay. A push fails while its other upload is in flight.
    FailingChunk {
        /// Milliseconds to wait before acknowledging the other chunks.
        delay_ms: u64,
    },
    /// Delete request: the deletion is done and its receipt stored, and answered after a delay.
    SlowDelete {
        /// Milliseconds to wait before answering.
        delay_ms: u64,
    },
}

/// The requests a fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acts {
    /// Export requests of the service it is armed for.
    Export,
    /// Transfer commits (armed for [`TRANSFER_SERVICE`]).
    Commit,
    /// Transfer chunk uploads (armed for [`TRANSFER_SERVICE`]).
    Chunk,
    /// Delete requests of the service it is armed for.
    Delete,
}

impl Fault {
    /// Every fault's name, as `POST /dev/fault` takes it.
    pub const NAMES: &'static [&'static str] = &[
        "invalid-json",
        "missing-page-field",
        "missing-item-field",
        "other-did",
        "other-service",
        "no-proof",
        "foreign-key",
        "altered",
        "duplicate-id",
        "unsafe-number",
        "too-deep",
        "stuck-cursor",
        "huge",
        "huge-chunked",
        "dropped-mid-body",
        "html",
        "status-500",
        "status-503-html",
        "slow",
        "expire-token",
        "receipt-foreign-key",
        "receipt-altered",
        "receipt-wrong-hash",
        "receipt-wrong-did",
        "slow-chunk",
        "failing-chunk",
        "slow-delete",
    ];

    /// The fault of that name; `delay_ms` applies only to the faults that have a delay
    /// ([`Fault::delay_ms`]: `slow`, `slow-chunk`, `failing-chunk` and `slow-delete`).
    pub fn parse(name: &str, delay_ms: Option<u64>) -> Result<Fault, String> {
        let fault = Self::named(name, delay_ms.unwrap_or(DEFAULT_DELAY_MS))?;
        if delay_ms.is_some() && fault.delay_ms().is_none() {
            let delayed: Vec<&str> = Self::NAMES
                .iter()
                .copied()
                .filter(|n| Self::named(n, DEFAULT_DELAY_MS).is_ok_and(|f| f.delay_ms().is_some()))
                .collect();
            let (last, rest) = delayed.split_last().unwrap_or((&"", &[]));
            return Err(format!(
                "delayMs applies to the {} and {last} faults only",
                rest.join(", ")
            ));
        }
        Ok(fault)
    }

    fn named(name: &str, delay_ms: u64) -> Result<Fault, String> {
        Ok(match name {
            "invalid-json" => Fault::InvalidJson,
            "missing-page-field" => Fault::MissingPageField,
            "missing-item-field" => Fault::MissingItemField,
            "other-did" => Fault::OtherDid,
            "other-service" => Fault::OtherService,
            "no-proof" => Fault::NoProof,
            "foreign-key" => Fault::ForeignKey,
            "altered" => Fault::Altered,
            "duplicate-id" => Fault::DuplicateId,
            "unsafe-number" => Fault::UnsafeNumber,
            "too-deep" => Fault::TooDeep,
            "stuck-cursor" => Fault::StuckCursor,
            "huge" => Fault::Huge,
            "huge-chunked" => Fault::HugeChunked,
            "dropped-mid-body" => Fault::DroppedMidBody,
            "html" => Fault::Html,
            "status-500" => Fault::Status500,
            "status-503-html" => Fault::Status503Html,
            "slow" => Fault::Slow { delay_ms },
            "expire-token" => Fault::ExpireToken,
            "receipt-foreign-key" => Fault::ReceiptForeignKey,
            "receipt-altered" => Fault::ReceiptAltered,
            "receipt-wrong-hash" => Fault::ReceiptWrongHash,
            "receipt-wrong-did" => Fault::ReceiptWrongDid,
            "slow-chunk" => Fault::SlowChunk { delay_ms },
            "failing-chunk" => Fault::FailingChunk { delay_ms },
            "slow-delete" => Fault::SlowDelete { delay_ms },
            other => {
                return Err(format!(
                    "unknown fault {other:?}; faults are none, {}",
                    Self::NAMES.join(", ")
                ))
            }
        })
    }

    /// The fault's name.
    pub fn name(self) -> &'static str {
        match self {
            Fault::InvalidJson => "invalid-json",
            Fault::MissingPageField => "missing-page-field",
            Fault::MissingItemField => "missing-item-field",
            Fault::OtherDid => "other-did",
            Fault::OtherService => "other-service",
            Fault::NoProof => "no-proof",
            Fault::ForeignKey => "foreign-key",
            Fault::Altered => "altered",
            Fault::DuplicateId => "duplicate-id",
            Fault::UnsafeNumber => "unsafe-number",
            Fault::TooDeep => "too-deep",
            Fault::StuckCursor => "stuck-cursor",
            Fault::Huge => "huge",
            Fault::HugeChunked => "huge-chunked",
            Fault::DroppedMidBody => "dropped-mid-body",
            Fault::Html => "html",
            Fault::Status500 => "status-500",
            Fault::Status503Html => "status-503-html",
            Fault::Slow { .. } => "slow",
            Fault::ExpireToken => "expire-token",
            Fault::ReceiptForeignKey => "receipt-foreign-key",
            Fault::ReceiptAltered => "receipt-altered",
            Fault::ReceiptWrongHash => "receipt-wrong-hash",
            Fault::ReceiptWrongDid => "receipt-wrong-did",
            Fault::SlowChunk { .. } => "slow-chunk",
            Fault::FailingChunk { .. } => "failing-chunk",
            Fault::SlowDelete { .. } => "slow-delete",
        }
    }

    /// The delay of a latency fault.
    pub fn delay_ms(self) -> Option<u64> {
        match self {
            Fault::Slow { delay_ms }
            | Fault::SlowChunk { delay_ms }
            | Fault::FailingChunk { delay_ms }
            | Fault::SlowDelete { delay_ms } => Some(delay_ms),
            _ => None,
        }
    }

    /// The requests the fault acts on.
    pub fn acts_on(self) -> Acts {
        match self {
            Fault::ReceiptForeignKey
            | Fault::ReceiptAltered
            | Fault::ReceiptWrongHash
            | Fault::ReceiptWrongDid => Acts::Commit,
            Fault::SlowChunk { .. } | Fault::FailingChunk { .. } => Acts::Chunk,
            Fault::SlowDelete { .. } => Acts::Delete,
            _ => Acts::Export,
        }
    }

    /// Whether the fault is armed for [`TRANSFER_SERVICE`]: it acts on transfer commits or chunks.
    pub fn is_transfer(self) -> bool {
        matches!(self.acts_on(), Acts::Commit | Acts::Chunk)
    }
}

/// One armed fault.
#[derive(Debug, Clone, Copy)]
struct Armed {
    fault: Fault,
    /// Requests it still answers; `None`: until cleared.
    remaining: Option<u64>,
    /// Requests it has answered.
    served: u64,
    /// The share of matching requests it answers, at random (`None`: every one).
    share: Option<f64>,
}

/// The faults armed on a node, per (DID, service). In memory only.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Mutex<HashMap<(String, String), Armed>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Armed>> {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Arms `fault` for the DID's next `count` export requests of `service` (`None`: until cleared),
    /// replacing what was armed there. With a `share`, each request meets the fault only with that
    /// probability (the others pass untouched and are not counted).
    pub fn arm(
        &self,
        did: &str,
        service: &str,
        fault: Fault,
        count: Option<u64>,
        share: Option<f64>,
    ) -> ApiResult<()> {
        let mut armed = self.lock();
        let key = (did.to_owned(), service.to_owned());
        if armed.len() >= MAX_ARMED && !armed.contains_key(&key) {
            return Err(ApiError::invalid(format!(
                "{MAX_ARMED} faults are armed already: clear some (DELETE /dev/fault)"
            )));
        }
        armed.insert(
            key,
            Armed {
                fault,
                remaining: count,
                served: 0,
                share,
            },
        );
        Ok(())
    }

    /// Clears the faults of one DID (and one service), or all of them; returns how many.
    pub fn clear(&self, did: Option<&str>, service: Option<&str>) -> usize {
        let mut armed = self.lock();
        let before = armed.len();
        armed.retain(|(d, s), _| {
            !(did.is_none_or(|did| did == d) && service.is_none_or(|service| service == s))
        });
        before - armed.len()
    }

    /// The fault for this request, counting it as served.
    pub fn take(&self, did: &str, service: &str) -> Option<Fault> {
        self.take_where(did, service, |_| true)
    }

    /// The fault for this request if `applies` to it, counting it as served; a fault that does not
    /// apply is left as it is.
    pub fn take_where(
        &self,
        did: &str,
        service: &str,
        applies: impl FnOnce(Fault) -> bool,
    ) -> Option<Fault> {
        let mut armed = self.lock();
        let entry = armed.get_mut(&(did.to_owned(), service.to_owned()))?;
        if !applies(entry.fault) {
            return None;
        }
        if entry.remaining == Some(0) {
            return None;
        }
        if let Some(share) = entry.share {
            let mut bytes = [0u8; 8];
            // Without randomness the fault fires (a test then sees more faults, never fewer).
            if getrandom::fill(&mut bytes).is_ok()
                && (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64 >= share
            {
                return None;
            }
        }
        if let Some(n) = &mut entry.remaining {
            *n -= 1;
        }
        entry.served += 1;
        Some(entry.fault)
    }

    /// The armed faults (of one DID), exhausted ones included, sorted:
    /// `[{did, service, fault, remaining, served}]`.
    pub fn list(&self, did: Option<&str>) -> Vec<Value> {
        let armed = self.lock();
        let mut out: Vec<(&(String, String), &Armed)> = armed
            .iter()
            .filter(|((d, _), _)| did.is_none_or(|did| did == d))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out.into_iter()
            .map(|((did, service), a)| {
                let mut entry = json!({
                    "did": did,
                    "service": service,
                    "fault": a.fault.name(),
                    "remaining": a.remaining,
                    "served": a.served,
                });
                if let Some(delay_ms) = a.fault.delay_ms() {
                    entry["delayMs"] = json!(delay_ms);
                }
                if let Some(share) = a.share {
                    entry["share"] = json!(share);
                }
                entry
            })
            .collect()
    }
}

/// The fault armed for this export request, if the node runs with `--dev-endpoints` and one is
/// (only faults that act on exports).
pub fn take(state: &AppState, did: &str, service: &str) -> Option<Fault> {
    take_for(state, Acts::Export, did, service)
}

/// The receipt fault armed for this DID's transfer commits, if the node runs with `--dev-endpoints`
/// and one is.
pub fn take_receipt(state: &AppState, did: &str) -> Option<Fault> {
    take_for(state, Acts::Commit, did, TRANSFER_SERVICE)
}

/// The fault armed for this request of the DID, one that `acts` on it, if the node runs with
/// `--dev-endpoints` and one is. `service` is the service for exports and deletes, and
/// [`TRANSFER_SERVICE`] for commits and chunks.
fn take_for(state: &AppState, acts: Acts, did: &str, service: &str) -> Option<Fault> {
    if !state.config.dev_endpoints {
        return None;
    }
    state
        .faults
        .take_where(did, service, |fault| fault.acts_on() == acts)
}

/// The fault armed for this chunk upload of the DID (`slow-chunk`, `failing-chunk`), if there is one:
/// taken before the chunk is stored, its delay waited out ([`delay`]) after.
pub fn take_chunk(state: &AppState, did: &str) -> Option<Fault> {
    take_for(state, Acts::Chunk, did, TRANSFER_SERVICE)
}

/// The error a `failing-chunk` fault answers for chunk `index` instead of storing it (chunk 1 only).
pub fn chunk_failure(fault: Option<Fault>, index: u64) -> ApiResult<()> {
    match fault {
        Some(Fault::FailingChunk { .. }) if index == 1 => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "CHUNK_UNAVAILABLE",
            "failing-chunk fault: chunk 1 was not stored",
        )),
        _ => Ok(()),
    }
}

/// Waits out a latency fault armed for this delete request (`slow-delete`), if there is one.
pub async fn delay_delete(state: &AppState, did: &str, service: &str) {
    delay(take_for(state, Acts::Delete, did, service)).await;
}

/// Waits out the delay of a latency fault taken for a write, if there is one.
pub async fn delay(fault: Option<Fault>) {
    if let Some(delay_ms) = fault.and_then(Fault::delay_ms) {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
}

/// The forged receipt a lying node answers instead of `genuine`, the signed receipt it committed
/// (and stored).
pub fn forge_receipt(fault: Fault, genuine: &Value, state: &AppState) -> ApiResult<Value> {
    let mut receipt = TransferReceipt::from_value(genuine)?;
    let created = clock::now_timestamp();
    Ok(match fault {
        Fault::ReceiptForeignKey => receipt.sign(&Keypair::generate()?, &created)?,
        Fault::ReceiptAltered => {
            let mut forged = genuine.clone();
            let counts = forged["counts"]
                .as_object_mut()
                .ok_or_else(|| ApiError::internal("receipt-altered: a receipt without counts"))?;
            // One more item in the first collection counted (or an invented one): the proof no longer
            // matches.
            match counts
                .values_mut()
                .filter_map(Value::as_object_mut)
                .flat_map(|collections| collections.values_mut())
                .next()
            {
                Some(n) => *n = json!(n.as_u64().unwrap_or(0) + 1),
                None => {
                    counts.insert("injected".into(), json!({"injected": 1}));
                }
            }
            forged
        }
        Fault::ReceiptWrongHash => {
            receipt.bundle_hash = hex::encode(Sha256::digest(receipt.bundle_hash.as_bytes()));
            receipt.sign(&state.key, &created)?
        }
        Fault::ReceiptWrongDid => {
            receipt.did = Keypair::generate()?.did();
            receipt.sign(&state.key, &created)?
        }
        other => {
            return Err(ApiError::internal(format!(
                "{} is not a receipt fault",
                other.name()
            )))
        }
    })
}

/// Marks a response made by a fault, so that the JSON error layer leaves a deliberately non-JSON
/// error page alone.
#[derive(Debug, Clone, Copy)]
pub struct Injected;

/// What the export handler does with a fault.
pub enum Intercept {
    /// Answer this instead of a page.
    Answer(Response),
    /// Build the page, then render it with this fault (`None`: normally).
    Page(Option<Fault>),
}

/// Runs the part of a fault that needs no page: delays, token expiry and answers that replace the page
/// altogether.
pub async fn intercept(
    state: &SharedState,
    headers: &HeaderMap,
    fault: Fault,
    did: &str,
    service: &str,
) -> ApiResult<Intercept> {
    let answer = |status: StatusCode, content_type: &'static str, body: Body| {
        let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        response.extensions_mut().insert(Injected);
        Ok(Intercept::Answer(response))
    };
    match fault {
        Fault::Slow { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Ok(Intercept::Page(None))
        }
        Fault::ExpireToken => {
            auth::expire_tokens(state, did).await?;
            // The token of this request has just expired: answer exactly what an expired token gets.
            auth::authenticate(state, headers).await?;
            Err(ApiError::internal(
                "expire-token: the token is still valid after expiring it",
            ))
        }
        Fault::Html => answer(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Body::from(
                "<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n\
                 <body><h1>Welcome!</h1><p>Accept the terms to continue.</p></body></html>\n",
            ),
        ),
        Fault::Status500 => {
            let mut response =
                ApiError::internal("injected fault: the service failed").into_response();
            response.extensions_mut().insert(Injected);
            Ok(Intercept::Answer(response))
        }
        Fault::Status503Html => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html",
            Body::from(
                "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n\
                 <body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n\
                 <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
            ),
        ),
        Fault::Huge | Fault::HugeChunked => {
            let page = huge_page(state, did, service);
            let body = if fault == Fault::Huge {
                Body::from(page)
            } else {
                // A stream of unknown length: sent chunked, without Content-Length.
                Body::from_stream(Body::from(page).into_data_stream())
            };
            answer(StatusCode::OK, "application/json", body)
        }
        Fault::DroppedMidBody => {
            // The whole length is promised, half is sent: the server then closes the connection.
            let page = filler_page(state, did, service, DROPPED_PAGE_BYTES);
            let half = page.len() / 2;
            let mut response = (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (header::CONTENT_LENGTH, page.len().to_string()),
                ],
                // A stream, so that its length is not known in advance and the header stands.
                Body::from_stream(Body::from(page[..half].to_vec()).into_data_stream()),
            )
                .into_response();
            response.extensions_mut().insert(Injected);
            Ok(Intercept::Answer(response))
        }
        Fault::InvalidJson
        | Fault::MissingPageField
        | Fault::MissingItemField
        | Fault::OtherDid
        | Fault::OtherService
        | Fault::NoProof
        | Fault::ForeignKey
        | Fault::Altered
        | Fault::DuplicateId
        | Fault::UnsafeNumber
        | Fault::TooDeep
        | Fault::StuckCursor => Ok(Intercept::Page(Some(fault))),
        // Never taken for an export (see [`take`]): the real page.
        Fault::ReceiptForeignKey
        | Fault::ReceiptAltered
        | Fault::ReceiptWrongHash
        | Fault::ReceiptWrongDid
        | Fault::SlowChunk { .. }
        | Fault::FailingChunk { .. }
        | Fault::SlowDelete { .. } => Ok(Intercept::Page(None)),
    }
}

/// The body of a hostile page made from `page`, the page the request would have got. `asked` is the
/// cursor the request gave.
pub fn render_page(
    fault: Fault,
    page: ExportPage,
    state: &AppState,
    asked: Option<&str>,
) -> ApiResult<Vec<u8>> {
    let created = clock::now_timestamp();
    let key = &state.key;
    let mut value = page.to_value();
    let sign = |value: Value, key: &Keypair| -> ApiResult<Value> {
        Ok(proof::sign(value, key, &created)?)
    };
    let signed = match fault {
        Fault::InvalidJson => {
            let text = serialize(&sign(value, key)?)?;
            // Cut in half, as a dropped connection would (a cut inside a UTF-8 sequence is fine:
            // the reader must refuse the text either way).
            let mut bytes = text.into_bytes();
            bytes.truncate(bytes.len() / 2);
            return Ok(bytes);
        }
        Fault::MissingPageField => {
            remove(&mut value, "done");
            sign(value, key)?
        }
        Fault::MissingItemField => {
            let first = first_item(&mut value);
            remove(first, "updated_at");
            sign(value, key)?
        }
        Fault::OtherDid => {
            value["did"] = json!(Keypair::generate()?.did());
            sign(value, key)?
        }
        Fault::OtherService => {
            value["service"] = json!("injected");
            value["section"] = json!("injected");
            sign(value, key)?
        }
        Fault::NoProof => value,
        Fault::ForeignKey => sign(value, &Keypair::generate()?)?,
        Fault::Altered => {
            let mut signed = sign(value, key)?;
            data_object(first_live_item(&mut signed)).insert("altered".into(), json!(true));
            signed
        }
        Fault::DuplicateId => {
            let first = first_item(&mut value).clone();
            items(&mut value).push(first);
            sign(value, key)?
        }
        Fault::UnsafeNumber | Fault::TooDeep => {
            data_object(first_live_item(&mut value)).insert(
                if fault == Fault::TooDeep {
                    "nested"
                } else {
                    "unsafe"
                }
                .into(),
                json!(PLACEHOLDER),
            );
            let text = serialize(&sign(value, key)?)?;
            let hostile = if fault == Fault::TooDeep {
                format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH))
            } else {
                UNSAFE_INTEGER.to_string()
            };
            let quoted = serialize(&json!(PLACEHOLDER))?;
            return Ok(text.replacen(&quoted, &hostile, 1).into_bytes());
        }
        Fault::StuckCursor => {
            items(&mut value).clear();
            value["done"] = json!(false);
            value["cursor"] = json!(match asked {
                Some(cursor) => cursor.to_owned(),
                None => encode_cursor(&state.cursor_tag, 0),
            });
            sign(value, key)?
        }
        Fault::Huge
        | Fault::HugeChunked
        | Fault::DroppedMidBody
        | Fault::Html
        | Fault::Status500
        | Fault::Status503Html
        | Fault::Slow { .. }
        | Fault::ExpireToken
        | Fault::ReceiptForeignKey
        | Fault::ReceiptAltered
        | Fault::ReceiptWrongHash
        | Fault::ReceiptWrongDid
        | Fault::SlowChunk { .. }
        | Fault::FailingChunk { .. }
        | Fault::SlowDelete { .. } => sign(value, key)?,
    };
    Ok(serialize(&signed)?.into_bytes())
}

/// A well-formed page of exactly [`HUGE_PAGE_BYTES`]: one item whose data is a long text.
fn huge_page(state: &AppState, did: &str, service: &str) -> Vec<u8> {
    filler_page(state, did, service, HUGE_PAGE_BYTES)
}

/// A well-formed page of exactly `size` bytes (at least its frame): one item whose data is a long
/// text.
fn filler_page(state: &AppState, did: &str, service: &str, size: usize) -> Vec<u8> {
    let head = format!(
        r#"{{"did":{},"service":{},"section":{},"items":[{{"collection":"injected","id":"huge","updated_at":"{}","data":{{"text":""#,
        json!(did),
        json!(service),
        json!(service),
        clock::now_timestamp()
    );
    let tail = format!(
        r#""}}}}],"cursor":"{}","done":true}}"#,
        encode_cursor(&state.cursor_tag, 0)
    );
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(head.as_bytes());
    body.resize(size.saturating_sub(tail.len()).max(head.len()), b'a');
    body.extend_from_slice(tail.as_bytes());
    body
}

fn serialize(value: &Value) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))
}

fn remove(value: &mut Value, key: &str) {
    if let Some(map) = value.as_object_mut() {
        map.remove(key);
    }
}

fn items(page: &mut Value) -> &mut Vec<Value> {
    if !page["items"].is_array() {
        page["items"] = json!([]);
    }
    match page["items"].as_array_mut() {
        Some(items) => items,
        None => unreachable!("items was just made an array"),
    }
}

/// A synthetic live item, for pages that have none to spoil.
fn synthetic_item() -> Value {
    json!({"collection": "injected", "id": "injected", "updated_at": clock::now_timestamp(),
           "data": {"injected": true}})
}

fn first_item(page: &mut Value) -> &mut Value {
    let items = items(page);
    if items.is_empty() {
        items.push(synthetic_item());
    }
    &mut items[0]
}

fn first_live_item(page: &mut Value) -> &mut Value {
    let items = items(page);
    let index = match items.iter().position(|i| !i["data"].is_null()) {
        Some(index) => index,
        None => {
            items.push(synthetic_item());
            items.len() - 1
        }
    };
    &mut items[index]
}

/// The item's data as an object (a non-object is wrapped as `{value}`).
fn data_object(item: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !item["data"].is_object() {
        let value = item["data"].take();
        item["data"] = json!({ "value": value });
    }
    match item["data"].as_object_mut() {
        Some(map) => map,
        None => unreachable!("data was just made an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Fault::NAMES {
            assert_eq!(Fault::parse(name, None).unwrap().name(), *name);
        }
        assert!(Fault::parse("nope", None).is_err());
        assert!(Fault::parse("html", Some(10)).is_err());
        assert_eq!(
            Fault::parse("slow", Some(10)).unwrap(),
            Fault::Slow { delay_ms: 10 }
        );
        assert_eq!(
            Fault::parse("slow-chunk", Some(10)).unwrap(),
            Fault::SlowChunk { delay_ms: 10 }
        );
        assert_eq!(
            Fault::parse("html", Some(10)).unwrap_err(),
            "delayMs applies to the slow, slow-chunk, failing-chunk and slow-delete faults only"
        );
        assert!(Fault::parse("no-such-fault", Some(10)).is_err());
        assert_eq!(
            Fault::parse("failing-chunk", Some(10)).unwrap(),
            Fault::FailingChunk { delay_ms: 10 }
        );
        assert!(Fault::FailingChunk { delay_ms: 1 }.is_transfer());
        assert!(chunk_failure(Some(Fault::FailingChunk { delay_ms: 1 }), 1).is_err());
        for (fault, index) in [
            (Some(Fault::FailingChunk { delay_ms: 1 }), 0),
            (Some(Fault::FailingChunk { delay_ms: 1 }), 2),
            (Some(Fault::SlowChunk { delay_ms: 1 }), 1),
            (None, 1),
        ] {
            assert!(chunk_failure(fault, index).is_ok(), "{fault:?} {index}");
        }
        assert_eq!(
            Fault::parse("slow-delete", None).unwrap(),
            Fault::SlowDelete {
                delay_ms: DEFAULT_DELAY_MS
            }
        );
    }

    #[test]
    fn counts_and_scopes() {
        let faults = Faults::default();
        faults.arm("a", "chat", Fault::Html, Some(2), None).unwrap();
        faults
            .arm("b", "chat", Fault::Status500, None, None)
            .unwrap();
        assert_eq!(faults.take("a", "media"), None);
        assert_eq!(faults.take("a", "chat"), Some(Fault::Html));
        assert_eq!(faults.take("a", "chat"), Some(Fault::Html));
        assert_eq!(faults.take("a", "chat"), None);
        for _ in 0..5 {
            assert_eq!(faults.take("b", "chat"), Some(Fault::Status500));
        }
        let listed = faults.list(Some("a"));
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0]["served"].as_u64(),
                listed[0]["remaining"].as_u64()
            ),
            (Some(2), Some(0))
        );
        assert_eq!(faults.clear(Some("a"), None), 1);
        assert_eq!(faults.clear(None, None), 1);
        assert!(faults.list(None).is_empty());
    }

    #[test]
    fn a_share_meets_about_that_share_of_requests_and_counts_only_those() {
        let faults = Faults::default();
        faults
            .arm("a", "chat", Fault::Status500, Some(150), Some(0.25))
            .unwrap();
        let hits = (0..400)
            .filter(|_| faults.take("a", "chat").is_some())
            .count();
        // Binomial(400, 0.25): mean 100, standard deviation about 8.7.
        assert!((50..=150).contains(&hits), "{hits} of 400");
        let listed = &faults.list(Some("a"))[0];
        assert_eq!(listed["served"].as_u64(), Some(hits as u64));
        assert_eq!(listed["remaining"].as_u64(), Some(150 - hits as u64));
        assert_eq!(listed["share"].as_f64(), Some(0.25));
        // A share of 1 is every request.
        faults
            .arm("a", "chat", Fault::Html, None, Some(1.0))
            .unwrap();
        assert!((0..50).all(|_| faults.take("a", "chat") == Some(Fault::Html)));
    }
}
