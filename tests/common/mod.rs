//! Helpers shared by the browser test crates (`tests/vault.rs`, `tests/rights.rs`).
#![allow(dead_code)]

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Calls `path` on the node whose manifest URL is `manifest` (a development endpoint, typically) with
/// an optional JSON body, asserts a 2xx answer, and returns its JSON.
pub async fn node_json(
    manifest: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().unwrap();
        headers.set("Content-Type", "application/json").unwrap();
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body.to_string()));
    }
    let url = manifest.replace("/.well-known/bundle-node", path);
    let request = web_sys::Request::new_with_str_and_init(&url, &init).unwrap();
    let window = web_sys::window().unwrap();
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap()
        .unchecked_into();
    let text = JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    assert!(
        response.ok(),
        "{method} {path}: {} {text}",
        response.status()
    );
    serde_json::from_str(&text).unwrap()
}
