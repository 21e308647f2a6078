//! Helpers shared by the browser test crates (`tests/vault.rs`, `tests/rights.rs`): the nodes'
//! manifest URLs (compiled in from SOURCE_MANIFEST and TARGET_MANIFEST, which `tools/with-nodes.sh`
//! exports), JS value access, promise outcomes, and throwaway vaults.
#![allow(dead_code)]

use bundle_vault::wasm::vault::Vault;
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::console_log;

pub const PASS: &str = "correct horse battery staple";

/// The source node (demo mode).
pub fn source() -> &'static str {
    match option_env!("SOURCE_MANIFEST") {
        Some(url) => url,
        None => panic!("run through `make test-browser`, which starts the reference nodes"),
    }
}

/// The target node.
pub fn target() -> &'static str {
    match option_env!("TARGET_MANIFEST") {
        Some(url) => url,
        None => panic!("run through `make test-browser`, which starts the reference nodes"),
    }
}

pub fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

/// A plain JS object of these members (an options argument, typically).
pub fn options(pairs: &[(&str, &JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

/// The values of a plain JS object.
pub fn values(value: &JsValue) -> Vec<JsValue> {
    Object::values::<JsValue>(value.unchecked_ref()).to_vec()
}

/// Sums `{section: {collection: n}}`.
pub fn total(counts: &JsValue) -> f64 {
    values(counts)
        .iter()
        .flat_map(values)
        .map(|n| n.as_f64().unwrap())
        .sum()
}

/// Sums `{service: {section, counts: {collection: n}}}`.
pub fn remote_total(remote: &JsValue) -> f64 {
    values(remote)
        .iter()
        .flat_map(|s| values(&get(s, "counts")))
        .map(|n| n.as_f64().unwrap())
        .sum()
}

/// The value a promise resolves to; a rejection fails the test with its message.
pub async fn ok(promise: js_sys::Promise) -> JsValue {
    JsFuture::from(promise)
        .await
        .unwrap_or_else(|e| panic!("rejected: {:?}", get(&e, "message")))
}

/// The `code` of the `VaultError` a promise rejects with (logged with its message).
pub async fn code(promise: js_sys::Promise) -> String {
    let error = JsFuture::from(promise)
        .await
        .expect_err("expected a rejection");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&error, "name").as_string().unwrap(), "VaultError");
    let code = get(&error, "code").as_string().unwrap();
    console_log!("{code}: {}", get(&error, "message").as_string().unwrap());
    code
}

/// A fresh vault with a unique name; `finish` deletes it.
pub async fn fresh(tag: &str) -> Vault {
    let name = format!("test-{tag}-{}", js_sys::Math::random());
    Vault::open_named(&name).await.unwrap()
}

pub async fn finish(vault: Vault) {
    let name = vault.name();
    vault.close();
    ok(Vault::destroy(name)).await;
}

/// A digest of everything the vault stores.
pub async fn digest(vault: &Vault) -> String {
    ok(vault.digest()).await.as_string().unwrap()
}

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
