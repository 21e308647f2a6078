//! The node's HTTP errors: `{code, message}` JSON with the right status, one stable code per cause.
//! `docs/protocol.md` lists every code; [`CODES`] is the same list, checked by a test.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bundle_vault::core::Error as CoreError;
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Human-readable explanation (never secret material).
    pub message: String,
}

/// Result of a handler or storage step.
pub type ApiResult<T> = Result<T, ApiError>;

/// Every code the node answers with, and its status.
pub const CODES: &[(&str, u16)] = &[
    ("INVALID_JSON", 400),
    ("UNSAFE_NUMBER", 400),
    ("TOO_DEEP", 400),
    ("INVALID_REQUEST", 400),
    ("INVALID_DID", 400),
    ("BAD_CURSOR", 400),
    ("PROOF_MALFORMED", 400),
    ("UNSUPPORTED_METHOD", 400),
    ("SERVICE_MISMATCH", 400),
    ("NODE_MISMATCH", 400),
    ("REQUEST_EXPIRED", 400),
    ("BAD_CHUNK", 400),
    ("HASH_MISMATCH", 400),
    ("BUNDLE_MALFORMED", 400),
    ("BUNDLE_NOT_CANONICAL", 400),
    ("AUTH_REQUIRED", 401),
    ("AUTH_FAILED", 401),
    ("CHALLENGE_EXPIRED", 401),
    ("TOKEN_EXPIRED", 401),
    ("DID_MISMATCH", 403),
    ("SIGNATURE_INVALID", 403),
    ("DID_UNVERIFIABLE", 403),
    ("NOT_FOUND", 404),
    ("UNKNOWN_SERVICE", 404),
    ("UNKNOWN_SESSION", 404),
    ("METHOD_NOT_ALLOWED", 405),
    ("REPLAY", 409),
    ("SESSION_CONFLICT", 409),
    ("CHUNK_CONFLICT", 409),
    ("INCOMPLETE", 409),
    ("TOO_LARGE", 413),
    ("UNSUPPORTED_MEDIA_TYPE", 415),
    ("INTERNAL", 500),
    ("STORAGE", 500),
    ("CHUNK_UNAVAILABLE", 503),
];

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with the given code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 INVALID_REQUEST.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::bad_request("INVALID_REQUEST", message)
    }

    /// 401 with the given code.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403 DID_MISMATCH.
    pub fn did_mismatch(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "DID_MISMATCH", message)
    }

    /// 404 with the given code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 with the given code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 413 TOO_LARGE.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE", message)
    }

    /// 500 INTERNAL.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }

    /// The error a bare status stands for, for responses produced outside the handlers (unknown
    /// routes, methods, limits of the HTTP stack).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("NOT_FOUND", "no such endpoint"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "METHOD_NOT_ALLOWED",
                "this endpoint does not accept that method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("TOO_LARGE", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "UNSUPPORTED_MEDIA_TYPE",
                "wrong Content-Type for this endpoint",
            ),
            s if s.is_server_error() => ("INTERNAL", "internal error"),
            _ => ("INVALID_REQUEST", "the request is not valid"),
        };
        Self::new(status, code, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = match self.code {
                "TOKEN_EXPIRED" => "Bearer error=\"invalid_token\", error_description=\"expired\"",
                "AUTH_FAILED" => "Bearer error=\"invalid_token\"",
                _ => "Bearer",
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        let message = error.to_string();
        let (status, code) = match error.code() {
            code @ ("INVALID_JSON" | "UNSAFE_NUMBER" | "TOO_DEEP" | "INVALID_DID"
            | "PROOF_MALFORMED" | "UNSUPPORTED_METHOD" | "BUNDLE_MALFORMED") => {
                (StatusCode::BAD_REQUEST, code)
            }
            "INVALID_ARGUMENT" | "EXPORT_MALFORMED" | "INVALID_KEY" => {
                (StatusCode::BAD_REQUEST, "INVALID_REQUEST")
            }
            code @ ("SIGNATURE_INVALID" | "DID_MISMATCH" | "DID_UNVERIFIABLE") => {
                (StatusCode::FORBIDDEN, code)
            }
            "TOO_LARGE" => (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        };
        ApiError::new(status, code, message)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "STORAGE",
            format!("storage failed: {error}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_match() {
        let mut names: Vec<&str> = CODES.iter().map(|(c, _)| *c).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CODES.len());
        for status in [404u16, 405, 413, 415, 500] {
            let e = ApiError::from_status(StatusCode::from_u16(status).unwrap());
            assert!(CODES.contains(&(e.code, status)), "{e}");
        }
    }

    /// The error table of `docs/protocol.md` (its `| status | `CODE` | meaning |` rows) is [`CODES`].
    #[test]
    fn the_protocol_document_lists_every_code() {
        let doc = include_str!("../../docs/protocol.md");
        let mut listed: Vec<(String, u16)> = doc
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let status = cells.get(1)?.parse::<u16>().ok()?;
                let code = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((code.to_owned(), status))
            })
            .collect();
        let mut codes: Vec<(String, u16)> =
            CODES.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect();
        listed.sort();
        codes.sort();
        assert_eq!(listed, codes);
    }
}
