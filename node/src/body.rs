//! Request bodies: the content type is checked (415), the size is bounded (413) before and while
//! reading, and JSON is parsed with the core's strict parser (`INVALID_JSON`, `UNSAFE_NUMBER`,
//! `TOO_DEEP`), so what a client sends is held to the same rules as what it signs.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use bundle_vault::core::canonical;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// Largest JSON request body: 1 MiB (every JSON request of the protocol is small).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON request body, parsed strictly.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        require_content_type(req.headers(), "application/json")?;
        let declared = content_length(req.headers());
        let bytes = read_limited(req.into_body(), declared, MAX_JSON_BODY).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Reads a request's JSON body (like [`JsonBody`]), for handlers that check other things first.
pub async fn read_json(request: Request) -> ApiResult<Value> {
    JsonBody::from_request(request, &())
        .await
        .map(|JsonBody(value)| value)
}

/// Parses a JSON body with the core's strict parser.
pub fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("INVALID_JSON", "the body is not UTF-8"))?;
    canonical::parse(text).map_err(ApiError::from)
}

/// Checks that the request's Content-Type is `expected` (parameters such as `charset` allowed).
pub fn require_content_type(headers: &HeaderMap, expected: &str) -> ApiResult<()> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "Content-Type must be {expected}, not {}",
                if given.is_empty() { "missing" } else { given }
            ),
        ))
    }
}

/// The declared Content-Length, if any.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Reads a body of at most `limit` bytes: 413 TOO_LARGE beyond it, whether the client declared its
/// length or not. An oversized body of up to [`DRAIN_LIMIT`] more bytes is read and discarded before
/// answering, so that a simple client, which sends its whole body before it reads the answer, sees
/// the 413 rather than a reset connection.
pub async fn read_limited(body: Body, declared: Option<u64>, limit: usize) -> ApiResult<Bytes> {
    let too_large = || ApiError::too_large(format!("the body is larger than {limit} bytes"));
    let mut body = body;
    if let Some(declared) = declared.filter(|n| *n > limit as u64) {
        if declared <= (limit as u64).saturating_add(DRAIN_LIMIT) {
            drain(body).await;
        }
        return Err(too_large());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(
        usize::try_from(declared.unwrap_or(0))
            .unwrap_or(0)
            .min(limit),
    );
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if is_length_limit(&e) {
                too_large()
            } else {
                ApiError::invalid(format!("could not read the body: {e}"))
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(body).await;
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// How much of an oversized body is read and discarded before answering 413.
pub const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;

async fn drain(mut body: Body) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            seen += data.len() as u64;
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}
