//! `transferForDid`, target side: a signed bundle uploaded in acknowledged chunks kept in SQLite
//! (resumable across broken connections and node restarts, idempotent on repeat), verified and
//! imported in one transaction on commit, and answered with a transfer receipt signed by the node key.
//!
//! - `POST /transfer/sessions {did, bundle_hash, size}` → `{session_id, chunk_size, size, received,
//!   committed: false}` (201 new, 200 existing), or `{session_id, committed: true, receipt}`.
//! - `PUT /transfer/sessions/{id}/chunks/{index}` (application/octet-stream) → `{received}`.
//! - `GET /transfer/sessions/{id}` → the session's status.
//! - `POST /transfer/sessions/{id}/commit` → the receipt.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bundle_vault::core::bundle::{verify_bundle_text, BundleVerified};
use bundle_vault::core::canonical;
use bundle_vault::core::canonical_text;
use bundle_vault::core::export::{parse_bundle_sections_text, BundleSectionsText};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::{authenticate, millis_sql, random_hex, require_same_did, string_field};
use crate::body::{content_length, read_json, read_limited, require_content_type};
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::import;
use crate::server::SharedState;

/// Uncommitted sessions older than this are removed, with their chunks (milliseconds).
const STALE_SESSION_MS: u64 = 24 * 3600 * 1000;
/// Most uncommitted sessions one DID may hold; creating another drops its oldest.
const MAX_OPEN_SESSIONS: i64 = 4;

/// A stored session.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    did: String,
    bundle_hash: String,
    size: u64,
    chunk_size: u64,
    receipt: Option<String>,
}

impl Session {
    fn chunk_count(&self) -> u64 {
        self.size.div_ceil(self.chunk_size)
    }

    fn chunk_len(&self, index: u64) -> u64 {
        let start = index * self.chunk_size;
        (self.size - start).min(self.chunk_size)
    }
}

/// `POST /transfer/sessions {did, bundle_hash, size}`.
pub async fn create(State(state): State<SharedState>, request: Request) -> ApiResult<Response> {
    let token_did = authenticate(&state, request.headers()).await?;
    let body = read_json(request).await?;
    let did = string_field(&body, "did")?;
    require_same_did(&token_did, &did)?;
    let bundle_hash = string_field(&body, "bundle_hash")?;
    if bundle_hash.len() != 64
        || !bundle_hash
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::invalid(
            "bundle_hash must be the lowercase hex SHA-256 (64 digits) of the bundle bytes",
        ));
    }
    let size = body
        .get("size")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("size must be a positive integer (bytes)"))?;
    if size > state.config.max_upload {
        return Err(ApiError::too_large(format!(
            "this node accepts bundles of at most {} bytes, not {size}",
            state.config.max_upload
        )));
    }
    let chunk_size = state.config.chunk_size;
    let now = clock::now_millis();
    let (status, answer) = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM transfer_sessions WHERE committed_at IS NULL AND created_at < ?1",
                [millis_sql(now.saturating_sub(STALE_SESSION_MS))],
            )?;
            let existing: Option<(String, Option<i64>)> = tx
                .query_row(
                    "SELECT id, committed_at FROM transfer_sessions WHERE did = ?1 AND bundle_hash = ?2",
                    params![did, bundle_hash],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            // A committed session answers its receipt, unless the DID's data here changed since:
            // data deleted, or another bundle imported over it. Then the node no longer holds that
            // bundle, and it is uploaded and imported anew.
            let existing = match existing {
                Some((id, Some(committed_at))) => {
                    let changed_since: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM deletion_receipts
                                        WHERE did = ?1 AND created_at >= ?2)
                             OR EXISTS (SELECT 1 FROM transfer_sessions
                                        WHERE did = ?1 AND id != ?3 AND committed_at >= ?2)",
                        params![did, committed_at, id],
                        |row| row.get(0),
                    )?;
                    if changed_since {
                        tx.execute("DELETE FROM transfer_sessions WHERE id = ?1", [&id])?;
                        None
                    } else {
                        Some(id)
                    }
                }
                other => other.map(|(id, _)| id),
            };
            let answer = if let Some(id) = existing {
                let session = load(&tx, &id)?;
                if session.receipt.is_none() && session.size != size {
                    return Err(ApiError::conflict(
                        "SESSION_CONFLICT",
                        format!(
                            "a session for this bundle hash declared {} bytes, not {size}",
                            session.size
                        ),
                    ));
                }
                (StatusCode::OK, status_json(&tx, &session)?)
            } else {
                let open: i64 = tx.query_row(
                    "SELECT count(*) FROM transfer_sessions WHERE did = ?1 AND committed_at IS NULL",
                    [&did],
                    |row| row.get(0),
                )?;
                if open >= MAX_OPEN_SESSIONS {
                    tx.execute(
                        "DELETE FROM transfer_sessions WHERE id IN (
                             SELECT id FROM transfer_sessions WHERE did = ?1 AND committed_at IS NULL
                             ORDER BY created_at LIMIT ?2)",
                        params![did, open - MAX_OPEN_SESSIONS + 1],
                    )?;
                }
                let session = Session {
                    id: format!("xfr_{}", random_hex(16)?),
                    did,
                    bundle_hash,
                    size,
                    chunk_size,
                    receipt: None,
                };
                tx.execute(
                    "INSERT INTO transfer_sessions (id, did, bundle_hash, size, chunk_size, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        session.id,
                        session.did,
                        session.bundle_hash,
                        millis_sql(session.size),
                        millis_sql(session.chunk_size),
                        millis_sql(now)
                    ],
                )?;
                (StatusCode::CREATED, status_json(&tx, &session)?)
            };
            tx.commit()?;
            Ok(answer)
        })
        .await?;
    Ok((status, Json(answer)).into_response())
}

/// `GET /transfer/sessions/{id}`.
pub async fn status(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let token_did = authenticate(&state, &headers).await?;
    let answer = state
        .db
        .call(move |conn| {
            let session = load(conn, &id)?;
            require_same_did(&token_did, &session.did)?;
            status_json(conn, &session)
        })
        .await?;
    Ok(Json(answer))
}

/// `PUT /transfer/sessions/{id}/chunks/{index}` with the chunk's bytes.
pub async fn put_chunk(
    State(state): State<SharedState>,
    Path((id, index)): Path<(String, String)>,
    request: Request,
) -> ApiResult<Json<Value>> {
    let token_did = authenticate(&state, request.headers()).await?;
    require_content_type(request.headers(), "application/octet-stream")?;
    let session = {
        let id = id.clone();
        state.db.call(move |conn| load(conn, &id)).await?
    };
    require_same_did(&token_did, &session.did)?;
    if session.receipt.is_some() {
        return Ok(Json(json!({"received": session.size, "committed": true})));
    }
    let index: u64 = index
        .parse()
        .ok()
        .filter(|i| *i < session.chunk_count())
        .ok_or_else(|| {
            ApiError::bad_request(
                "BAD_CHUNK",
                format!(
                    "chunk index must be an integer from 0 to {}",
                    session.chunk_count() - 1
                ),
            )
        })?;
    let expected = session.chunk_len(index);
    let declared = content_length(request.headers());
    let limit = usize::try_from(session.chunk_size).unwrap_or(usize::MAX);
    let bytes = read_limited(request.into_body(), declared, limit).await?;
    if bytes.len() as u64 != expected {
        return Err(ApiError::bad_request(
            "BAD_CHUNK",
            format!(
                "chunk {index} must be {expected} bytes (chunk_size {}, size {}), got {}",
                session.chunk_size,
                session.size,
                bytes.len()
            ),
        ));
    }
    // With --dev-endpoints, a `failing-chunk` fault refuses chunk 1 here, unstored.
    let fault = crate::fault::take_chunk(&state, &token_did);
    crate::fault::chunk_failure(fault, index)?;
    let size = session.size;
    let received = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            // The session may have been committed since it was loaded: then its chunks are gone and
            // this one must not be stored again.
            if load(&tx, &session.id)?.receipt.is_some() {
                return Ok(None);
            }
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT data FROM transfer_chunks WHERE session_id = ?1 AND idx = ?2",
                    params![session.id, millis_sql(index)],
                    |row| row.get(0),
                )
                .optional()?;
            match stored {
                Some(previous) if previous == bytes.as_ref() => {}
                Some(_) => {
                    return Err(ApiError::conflict(
                        "CHUNK_CONFLICT",
                        format!("chunk {index} was already received with different bytes"),
                    ))
                }
                None => {
                    tx.execute(
                        "INSERT INTO transfer_chunks (session_id, idx, data) VALUES (?1, ?2, ?3)",
                        params![session.id, millis_sql(index), bytes.as_ref()],
                    )?;
                }
            }
            let received = received_bytes(&tx, &session)?;
            tx.commit()?;
            Ok(Some(received))
        })
        .await?;
    // With --dev-endpoints, a `slow-chunk` or `failing-chunk` fault delays the acknowledgement of the
    // stored chunk.
    crate::fault::delay(fault).await;
    Ok(Json(match received {
        Some(received) => json!({"received": received}),
        None => json!({"received": size, "committed": true}),
    }))
}

/// `POST /transfer/sessions/{id}/commit`.
pub async fn commit(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let token_did = authenticate(&state, &headers).await?;
    let (session, bytes) = {
        let token_did = token_did.clone();
        state
            .db
            .call(move |conn| {
                let session = load(conn, &id)?;
                require_same_did(&token_did, &session.did)?;
                if session.receipt.is_some() {
                    return Ok((session, None));
                }
                let received = received_bytes(conn, &session)?;
                if received < session.size {
                    return Err(ApiError::conflict(
                        "INCOMPLETE",
                        format!(
                            "{received} of {} bytes received: upload the missing chunks first",
                            session.size
                        ),
                    ));
                }
                let mut stmt = conn.prepare_cached(
                    "SELECT data FROM transfer_chunks WHERE session_id = ?1 ORDER BY idx",
                )?;
                let mut bytes = Vec::with_capacity(usize::try_from(session.size).unwrap_or(0));
                for chunk in stmt.query_map([&session.id], |row| row.get::<_, Vec<u8>>(0))? {
                    bytes.extend_from_slice(&chunk?);
                }
                Ok((session, Some(bytes)))
            })
            .await?
    };
    let Some(bytes) = bytes else {
        return stored_receipt(&session).and_then(|receipt| lie(&state, &token_did, receipt));
    };

    let checked = {
        let session = session.clone();
        tokio::task::spawn_blocking(move || check_bundle(&session, &bytes))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
    };
    let (bundle_did, sections) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            if error.code == "HASH_MISMATCH" {
                // The stored bytes cannot become this bundle: start the upload over.
                let id = session.id.clone();
                state
                    .db
                    .call(move |conn| {
                        conn.execute("DELETE FROM transfer_chunks WHERE session_id = ?1", [&id])?;
                        Ok(())
                    })
                    .await?;
            }
            return Err(error);
        }
    };
    require_same_did(&token_did, &bundle_did)?;

    let shared = state.clone();
    let receipt_text = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            let current = load(&tx, &session.id)?;
            if let Some(receipt) = current.receipt {
                return Ok(receipt);
            }
            let now = clock::now_millis();
            let receipt = import::import(
                &tx,
                &shared.key,
                &shared.config.name,
                &session.did,
                &session.bundle_hash,
                &sections,
                now,
            )?;
            let text =
                serde_json::to_string(&receipt).map_err(|e| ApiError::internal(e.to_string()))?;
            tx.execute(
                "UPDATE transfer_sessions SET committed_at = ?1, receipt = ?2 WHERE id = ?3",
                params![millis_sql(now), text, session.id],
            )?;
            tx.execute(
                "DELETE FROM transfer_chunks WHERE session_id = ?1",
                [&session.id],
            )?;
            tx.commit()?;
            Ok(text)
        })
        .await?;
    lie(&state, &token_did, Json(parse_receipt(&receipt_text)?))
}

/// With `--dev-endpoints`, a receipt fault armed for the DID replaces the genuine receipt of a commit
/// (which stays stored) with a forged one ([`crate::fault::forge_receipt`]).
fn lie(state: &SharedState, did: &str, receipt: Json<Value>) -> ApiResult<Json<Value>> {
    match crate::fault::take_receipt(state, did) {
        Some(fault) => crate::fault::forge_receipt(fault, &receipt.0, state).map(Json),
        None => Ok(receipt),
    }
}

/// Size, hash, strict JSON, canonical form, proof and DID binding, and the item shapes. Answers the
/// bundle's DID and its sections with each item's data as canonical text.
fn check_bundle(session: &Session, bytes: &[u8]) -> ApiResult<(String, BundleSectionsText)> {
    if bytes.len() as u64 != session.size {
        return Err(ApiError::bad_request(
            "HASH_MISMATCH",
            format!(
                "received {} bytes, the session declared {}",
                bytes.len(),
                session.size
            ),
        ));
    }
    let hash = hex::encode(Sha256::digest(bytes));
    if hash != session.bundle_hash {
        return Err(ApiError::bad_request(
            "HASH_MISMATCH",
            format!(
                "the uploaded bytes hash to {hash}, not {}: the upload starts over",
                session.bundle_hash
            ),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("INVALID_JSON", "the bundle is not UTF-8"))?;
    // The sections are read on a second thread while the form and proof are checked (each is a
    // pass over the whole text); the errors are reported in the order of the checks.
    let (verified, sections) = std::thread::scope(|scope| {
        let sections = scope.spawn(|| parse_bundle_sections_text(text));
        let verified = check_form_and_proof(text);
        let sections: ApiResult<BundleSectionsText> = match sections.join() {
            Ok(read) => read.map_err(ApiError::from),
            Err(_) => Err(ApiError::internal("reading the bundle's sections failed")),
        };
        (verified, sections)
    });
    Ok((verified?.did, sections?))
}

/// Canonical text (what vaults upload) is checked in one pass; anything else is parsed, and refused
/// unless its canonical form is exactly the bytes received. Then the proof.
fn check_form_and_proof(text: &str) -> ApiResult<BundleVerified> {
    if !canonical_text::is_canonical(text, canonical::MAX_DEPTH) {
        let value = canonical::parse(text)?;
        if canonical::to_canonical_vec(&value)? != text.as_bytes() {
            return Err(ApiError::bad_request(
                "BUNDLE_NOT_CANONICAL",
                "upload the RFC 8785 (JCS) bytes of the signed bundle",
            ));
        }
    }
    Ok(verify_bundle_text(text)?)
}

/// A session by id. An uncommitted one older than 24 hours is gone, whether or not a new session has
/// swept it out yet: its chunks are no longer taken, nor is it committed.
fn load(conn: &Connection, id: &str) -> ApiResult<Session> {
    let cutoff = millis_sql(clock::now_millis().saturating_sub(STALE_SESSION_MS));
    conn.prepare_cached(
        "SELECT id, did, bundle_hash, size, chunk_size, receipt FROM transfer_sessions
         WHERE id = ?1 AND (committed_at IS NOT NULL OR created_at >= ?2)",
    )?
    .query_row(params![id, cutoff], |row| {
        Ok(Session {
            id: row.get(0)?,
            did: row.get(1)?,
            bundle_hash: row.get(2)?,
            size: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
            chunk_size: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(1).max(1),
            receipt: row.get(5)?,
        })
    })
    .optional()?
    .ok_or_else(|| ApiError::not_found("UNKNOWN_SESSION", "no such transfer session"))
}

/// Bytes acknowledged from the start of the bundle: the chunks stored without a gap from index 0.
fn received_bytes(conn: &Connection, session: &Session) -> ApiResult<u64> {
    let mut stmt =
        conn.prepare_cached("SELECT idx FROM transfer_chunks WHERE session_id = ?1 ORDER BY idx")?;
    let mut next = 0u64;
    for idx in stmt.query_map([&session.id], |row| row.get::<_, i64>(0))? {
        if u64::try_from(idx?).ok() != Some(next) {
            break;
        }
        next += 1;
    }
    Ok((next * session.chunk_size).min(session.size))
}

fn status_json(conn: &Connection, session: &Session) -> ApiResult<Value> {
    if let Some(receipt) = &session.receipt {
        return Ok(json!({
            "session_id": session.id,
            "did": session.did,
            "bundle_hash": session.bundle_hash,
            "size": session.size,
            "committed": true,
            "receipt": parse_receipt(receipt)?,
        }));
    }
    Ok(json!({
        "session_id": session.id,
        "did": session.did,
        "bundle_hash": session.bundle_hash,
        "size": session.size,
        "chunk_size": session.chunk_size,
        "received": received_bytes(conn, session)?,
        "committed": false,
    }))
}

fn stored_receipt(session: &Session) -> ApiResult<Json<Value>> {
    match &session.receipt {
        Some(text) => parse_receipt(text).map(Json),
        None => Err(ApiError::internal("the session has no receipt")),
    }
}

fn parse_receipt(text: &str) -> ApiResult<Value> {
    serde_json::from_str(text).map_err(|e| ApiError::internal(format!("stored receipt: {e}")))
}
