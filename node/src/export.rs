//! `exportForDid` and `countForDid`: `GET /services/{name}/export` pages of a DID's items in change
//! order, signed by the node key, and `GET /services/{name}/count` live items per collection.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bundle_vault::core::export::{
    signed_page_text, ExportItem, ExportPage, StoredItemText, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT,
};
use serde_json::{json, Value};

use crate::auth::{authenticate, require_same_did};
use crate::catalog;
use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::fault;
use crate::server::SharedState;
use crate::storage::items::{self, StoredItem};

/// Query parameters, as given.
pub type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `GET /services/{name}/export?did=…&limit=…&cursor=…&since=…`
pub async fn export(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let service = {
        let name = name.clone();
        state.db.call(move |conn| catalog::get(conn, &name)).await?
    };
    let token_did = authenticate(&state, &headers).await?;
    let params = QueryParams::read(params, &["did", "limit", "cursor", "since"])?;
    let did = params.required("did")?;
    require_same_did(&token_did, &did)?;
    let limit = match params.get("limit") {
        None => DEFAULT_PAGE_LIMIT,
        // Digits only: `parse` would also take a sign (`+5`).
        Some(text) if !text.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(ApiError::invalid(format!(
                "limit must be a positive integer (at most {MAX_PAGE_LIMIT} are returned)"
            )))
        }
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n > 0 => {
                usize::try_from(n.min(MAX_PAGE_LIMIT as u64)).unwrap_or(MAX_PAGE_LIMIT)
            }
            // Past u64: clamped like any other number above the maximum.
            Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => MAX_PAGE_LIMIT,
            _ => {
                return Err(ApiError::invalid(format!(
                    "limit must be a positive integer (at most {MAX_PAGE_LIMIT} are returned)"
                )))
            }
        },
    };
    let cursor_tag = state.cursor_tag.clone();
    let after = match params.get("cursor") {
        None => None,
        Some(text) => Some(decode_cursor(&cursor_tag, text)?),
    };
    let since = match params.get("since") {
        None => None,
        Some(text) => Some(clock::timestamp(
            clock::parse_rfc3339_millis(text).ok_or_else(|| {
                ApiError::invalid("since must be an RFC 3339 date-time, e.g. 2026-03-09T16:45:00Z")
            })?,
        )),
    };

    // With --dev-endpoints, a fault armed for this DID and service answers instead (crate::fault).
    let page_fault = match fault::take(&state, &did, &service.name) {
        None => None,
        Some(armed) => {
            match fault::intercept(&state, &headers, armed, &did, &service.name).await? {
                fault::Intercept::Answer(response) => return Ok(response),
                fault::Intercept::Page(page_fault) => page_fault,
            }
        }
    };
    let asked = params.get("cursor").map(str::to_owned);

    let (rows, more, current) = {
        let (service, did) = (service.name.clone(), did.clone());
        state
            .db
            .call(move |conn| {
                let current = items::current_seq(conn)?;
                let after = after.unwrap_or(0);
                if after > current {
                    return Err(bad_cursor("the cursor is ahead of this node's changes"));
                }
                let (rows, more) =
                    items::page(conn, &service, &did, after, since.as_deref(), limit)?;
                Ok((rows, more, current))
            })
            .await?
    };
    let state_for_sign = state.clone();
    let body = tokio::task::spawn_blocking(move || -> ApiResult<Vec<u8>> {
        let last = rows.last().map(|r| r.seq);
        let cursor_seq = match (more, last) {
            (true, Some(last)) => last,
            // Nothing more matches up to `current`, so the next call may start there.
            _ => current,
        };
        let cursor = encode_cursor(&state_for_sign.cursor_tag, cursor_seq);
        if let Some(page_fault) = page_fault {
            let page = ExportPage {
                did,
                service: service.name.clone(),
                section: service.name,
                items: rows
                    .into_iter()
                    .map(to_export_item)
                    .collect::<ApiResult<_>>()?,
                cursor,
                done: !more,
            };
            return fault::render_page(page_fault, page, &state_for_sign, asked.as_deref());
        }
        // The stored data is canonical text: the page is written around it, unparsed.
        let text = signed_page_text(
            &did,
            &service.name,
            &service.name,
            rows.iter().map(|row| StoredItemText {
                collection: &row.collection,
                id: &row.id,
                updated_at: &row.updated_at,
                deleted: row.deleted,
                data: row.data.as_deref(),
            }),
            &cursor,
            !more,
            &state_for_sign.key,
            &clock::now_timestamp(),
        )?;
        Ok(text.into_bytes())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /services/{name}/count?did=…` → `{did, service, section, counts}`.
pub async fn count(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Json<Value>> {
    let service = state.db.call(move |conn| catalog::get(conn, &name)).await?;
    let token_did = authenticate(&state, &headers).await?;
    let params = QueryParams::read(params, &["did"])?;
    let did = params.required("did")?;
    require_same_did(&token_did, &did)?;
    let counts = {
        let (service, did) = (service.clone(), did.clone());
        state
            .db
            .call(move |conn| {
                Ok(items::live_counts(
                    conn,
                    &service.name,
                    &did,
                    &service.collections,
                )?)
            })
            .await?
    };
    Ok(Json(json!({
        "did": did,
        "service": service.name,
        "section": service.name,
        "counts": counts,
    })))
}

fn to_export_item(row: StoredItem) -> ApiResult<ExportItem> {
    let data = match (&row.data, row.deleted) {
        (_, true) | (None, _) => Value::Null,
        (Some(text), false) => serde_json::from_str(text)
            .map_err(|e| ApiError::internal(format!("stored item {} is not JSON: {e}", row.id)))?,
    };
    Ok(ExportItem {
        collection: row.collection,
        id: row.id,
        updated_at: row.updated_at,
        deleted: row.deleted,
        data,
    })
}

/// A cursor: `<node tag>.<sequence>`. Opaque to clients.
pub fn encode_cursor(tag: &str, seq: i64) -> String {
    format!("{tag}.{seq}")
}

/// The sequence number of one of this node's cursors (400 BAD_CURSOR otherwise).
pub fn decode_cursor(tag: &str, text: &str) -> ApiResult<i64> {
    let (given_tag, seq) = text
        .split_once('.')
        .ok_or_else(|| bad_cursor("not a cursor of this node"))?;
    if given_tag != tag {
        return Err(bad_cursor("the cursor was issued by another node"));
    }
    if seq.is_empty() || seq.len() > 18 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_cursor("not a cursor of this node"));
    }
    seq.parse::<i64>()
        .map_err(|_| bad_cursor("not a cursor of this node"))
}

fn bad_cursor(why: &str) -> ApiError {
    ApiError::bad_request(
        "BAD_CURSOR",
        format!("{why}: pass back a cursor from an earlier page, or none to start over"),
    )
}

/// Query parameters, each given at most once.
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Reads the query; unknown parameters are ignored, repeated ones refused.
    pub fn read(params: Params, known: &[&str]) -> ApiResult<Self> {
        let Query(pairs) =
            params.map_err(|e| ApiError::invalid(format!("malformed query string: {e}")))?;
        for name in known {
            if pairs.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(ApiError::invalid(format!("{name} is given more than once")));
            }
        }
        Ok(QueryParams(pairs))
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter (400 INVALID_REQUEST when missing or empty).
    pub fn required(&self, name: &str) -> ApiResult<String> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::invalid(format!("the {name} parameter is required")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        assert_eq!(
            decode_cursor("abcd0123", &encode_cursor("abcd0123", 42)).unwrap(),
            42
        );
        for bad in [
            "",
            "42",
            "abcd0123.",
            "abcd0123.-1",
            "ffff0000.4",
            "abcd0123.4x",
            "abcd0123.99999999999999999999",
        ] {
            assert_eq!(
                decode_cursor("abcd0123", bad).unwrap_err().code,
                "BAD_CURSOR",
                "{bad}"
            );
        }
    }
}
