//! `deleteForDid`: `POST /services/{name}/delete` with a delete request signed by the user's key.
//! Every live item of the DID in the service becomes a tombstone (kept, so incremental exports show
//! the deletion), in one transaction with the nonce and the receipt; the answer is a deletion receipt
//! signed by the node key. The same signed request again answers the receipt it got (nothing is
//! deleted anew); another request with a used nonce is a `409 REPLAY`.

use axum::extract::{Path, Request, State};
use axum::Json;
use bundle_vault::core::receipt::{request_hash, DeleteRequest, DeletionReceipt};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use crate::auth::{authenticate, millis_sql, require_same_did};
use crate::body::read_json;
use crate::catalog;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::server::SharedState;
use crate::storage::items::{self, SeqAlloc};

/// How far `requested_at` may be from the node's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = bundle_vault::core::rights::DELETE_REQUEST_WINDOW_MS / 1000;

/// `POST /services/{name}/delete`.
pub async fn delete(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    request: Request,
) -> ApiResult<Json<Value>> {
    let service = {
        let name = name.clone();
        state.db.call(move |conn| catalog::get(conn, &name)).await?
    };
    let token_did = authenticate(&state, request.headers()).await?;
    let body = read_json(request).await?;
    let request = DeleteRequest::from_value(&body)?;
    require_same_did(&token_did, &request.did)?;
    DeleteRequest::verify(&body)?;
    if request.service != service.name {
        return Err(ApiError::bad_request(
            "SERVICE_MISMATCH",
            format!(
                "the request is for service {:?}, sent to {:?}",
                request.service, service.name
            ),
        ));
    }
    if request.node != state.node_did {
        return Err(ApiError::bad_request(
            "NODE_MISMATCH",
            format!(
                "the request is for node {:?}, this node's key is {:?}",
                request.node, state.node_did
            ),
        ));
    }
    // The very same request again (its answer was lost on the way): the receipt it got, with the
    // counts it deleted, and nothing deleted anew. Looked up before the clock check, so a vault that
    // comes back later still recovers it.
    let hash = request_hash(&body)?;
    let answered = {
        let (hash, did) = (hash.clone(), request.did.clone());
        state
            .db
            .call(move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT body FROM deletion_receipts WHERE request_hash = ?1 AND did = ?2",
                        params![hash, did],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()?)
            })
            .await?
    };
    if let Some(text) = answered {
        let receipt = serde_json::from_str(&text)
            .map_err(|e| ApiError::internal(format!("stored deletion receipt: {e}")))?;
        return Ok(Json(receipt));
    }
    let now = clock::now_millis();
    let requested = clock::parse_rfc3339_millis(&request.requested_at)
        .ok_or_else(|| ApiError::invalid("requested_at must be an RFC 3339 date-time"))?;
    let skew = MAX_CLOCK_SKEW_SECS * 1000;
    if requested.abs_diff(now) > skew {
        return Err(ApiError::bad_request(
            "REQUEST_EXPIRED",
            format!(
                "requested_at {} is more than {MAX_CLOCK_SKEW_SECS} s from this node's clock ({}): \
                 make a fresh request",
                request.requested_at,
                clock::timestamp(now)
            ),
        ));
    }
    let nonce_expiry = requested.saturating_add(skew);
    let shared = state.clone();
    let service_name = service.name.clone();
    let receipt = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM nonces WHERE expires_at < ?1",
                [millis_sql(now)],
            )?;
            let fresh = tx.execute(
                "INSERT OR IGNORE INTO nonces (nonce, did, expires_at) VALUES (?1, ?2, ?3)",
                params![request.nonce, request.did, millis_sql(nonce_expiry)],
            )?;
            if fresh == 0 {
                // The very same request, answered by a call that ran since the lookup above: its
                // receipt, as for any repeat.
                let (hash, did) = (&hash, &request.did);
                let answered: Option<String> = tx
                    .query_row(
                        "SELECT body FROM deletion_receipts WHERE request_hash = ?1 AND did = ?2",
                        params![hash, did],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(text) = answered {
                    return serde_json::from_str(&text)
                        .map_err(|e| ApiError::internal(format!("stored deletion receipt: {e}")));
                }
                return Err(ApiError::conflict(
                    "REPLAY",
                    "this delete request (its nonce) was already used: sign a fresh one",
                ));
            }
            let mut seq = SeqAlloc::begin(&tx)?;
            let deleted = items::tombstone_all(
                &tx,
                &service.name,
                &request.did,
                &service.collections,
                now,
                &mut seq,
            )?;
            seq.finish(&tx)?;
            let receipt = DeletionReceipt {
                did: request.did.clone(),
                service: service.name.clone(),
                node: shared.config.name.clone(),
                deleted,
                deleted_at: clock::timestamp(now),
                request_hash: hash.clone(),
            }
            .sign(&shared.key, &clock::timestamp(now))?;
            let text =
                serde_json::to_string(&receipt).map_err(|e| ApiError::internal(e.to_string()))?;
            tx.execute(
                "INSERT INTO deletion_receipts (request_hash, did, service, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![hash, request.did, service.name, text, millis_sql(now)],
            )?;
            tx.commit()?;
            Ok(receipt)
        })
        .await?;
    // With --dev-endpoints, a `slow-delete` fault delays the answer of the deletion just done.
    crate::fault::delay_delete(&state, &token_did, &service_name).await;
    Ok(Json(receipt))
}
