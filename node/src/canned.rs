//! Canned answers, only with `--dev-endpoints`: a test stores a whole HTTP answer under a name and any
//! client then fetches it, so that a vault can be pointed at a hostile manifest (or any other
//! document) served by a real HTTP server with the node's CORS headers.
//!
//! - `POST /dev/canned {name, status?, contentType?, body}` stores the answer (status 200 and
//!   `application/json` by default; `body` is sent byte for byte as the string's UTF-8) and answers
//!   `{name, path}`;
//! - `GET` or `POST /dev/canned/{name}` answers it (a POST's body is ignored, so that a canned answer
//!   can stand in for a login step); an unknown name is 404 `NOT_FOUND`.
//!
//! Answers live in memory only, at most [`MAX_CANNED`] of them (the oldest goes first).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::string_field;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::server::SharedState;

/// Most canned answers kept at once.
pub const MAX_CANNED: usize = 256;

/// One stored answer.
#[derive(Debug, Clone)]
struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

/// The stored answers, by name, oldest first.
#[derive(Debug, Default)]
pub struct Canned(Mutex<VecDeque<(String, Answer)>>);

impl Canned {
    fn put(&self, name: String, answer: Answer) {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        list.retain(|(n, _)| *n != name);
        if list.len() >= MAX_CANNED {
            list.pop_front();
        }
        list.push_back((name, answer));
    }

    fn get(&self, name: &str) -> Option<Answer> {
        let list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        list.iter().find(|(n, _)| n == name).map(|(_, a)| a.clone())
    }
}

/// `POST /dev/canned`.
pub async fn store(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let name = string_field(&body, "name")?;
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::invalid(
            "name must be at most 64 letters, digits, '-' or '_'",
        ));
    }
    let status = match body.get("status") {
        None => StatusCode::OK,
        Some(v) => v
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .and_then(|n| StatusCode::from_u16(n).ok())
            .filter(|s| s.as_u16() >= 200)
            .ok_or_else(|| ApiError::invalid("status must be an HTTP status from 200 to 999"))?,
    };
    let content_type = match body.get("contentType") {
        None => "application/json".to_owned(),
        Some(_) => string_field(&body, "contentType")?,
    };
    HeaderValue::from_str(&content_type)
        .map_err(|_| ApiError::invalid("contentType is not a valid header value"))?;
    let text = body
        .get("body")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("body must be a string"))?
        .to_owned();
    let path = format!("/dev/canned/{name}");
    state.canned.put(
        name.clone(),
        Answer {
            status,
            content_type,
            body: text,
        },
    );
    Ok(Json(json!({"name": name, "path": path})))
}

/// `GET` or `POST /dev/canned/{name}`.
pub async fn answer(State(state): State<SharedState>, Path(name): Path<String>) -> Response {
    match state.canned.get(&name) {
        Some(a) => {
            let mut response =
                (a.status, [(header::CONTENT_TYPE, a.content_type)], a.body).into_response();
            // As stored: not rewritten into the node's JSON error shape.
            response.extensions_mut().insert(crate::fault::Injected);
            response
        }
        None => ApiError::not_found("NOT_FOUND", format!("no canned answer named {name}"))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_answer_goes_first_and_a_name_is_replaced() {
        let canned = Canned::default();
        let answer = |body: &str| Answer {
            status: StatusCode::OK,
            content_type: "text/plain".into(),
            body: body.into(),
        };
        for i in 0..MAX_CANNED {
            canned.put(format!("a{i}"), answer("x"));
        }
        canned.put("a1".into(), answer("new"));
        assert_eq!(canned.get("a1").map(|a| a.body).as_deref(), Some("new"));
        canned.put("extra".into(), answer("y"));
        assert!(canned.get("a0").is_none(), "the oldest went");
        assert!(canned.get("a2").is_some());
        assert_eq!(canned.0.lock().map(|l| l.len()).unwrap_or(0), MAX_CANNED);
    }
}
