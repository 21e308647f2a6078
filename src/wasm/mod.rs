//! The JavaScript API (wasm32 only): the only code that knows about `wasm_bindgen` and `js_sys`.
//! Every export has an explicit camelCase `js_name`; every fallible export throws a `VaultError`.

pub mod backup;
pub mod db;
pub mod delete;
pub mod digest;
pub mod error;
pub mod http;
pub mod json;
pub mod keypair;
pub mod lock;
pub mod pull;
pub mod push;
pub mod vault;

use js_sys::Uint8Array;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use crate::core::{bundle, canonical, did, proof, Error};
pub use error::VaultError;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");

/// The package version.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// RFC 8785 (JCS) canonical form of JSON text. Refuses invalid JSON, duplicate keys, integers beyond
/// ±(2^53−1) and nesting deeper than 64 levels.
#[wasm_bindgen(js_name = canonicalize)]
pub fn canonicalize(json: &str) -> Result<String, VaultError> {
    Ok(canonical::canonicalize_str(json)?)
}

/// The DID of a raw 32-byte Ed25519 public key: `did:imajin:…` or `did:key:z6Mk…`.
#[wasm_bindgen(js_name = didFromPublicKey)]
pub fn did_from_public_key(
    #[wasm_bindgen(js_name = publicKey)] public_key: &[u8],
    #[wasm_bindgen(unchecked_param_type = "DidMethod")] method: &str,
) -> Result<String, VaultError> {
    let method = did::Method::parse(method)?;
    let key: &[u8; 32] = public_key.try_into().map_err(|_| {
        Error::InvalidKey(format!(
            "an Ed25519 public key is 32 bytes, got {}",
            public_key.len()
        ))
    })?;
    Ok(did::encode(key, method))
}

/// The raw public key a DID encodes. A `did:imajin` that encodes no key is an `INVALID_DID` error.
#[wasm_bindgen(js_name = publicKeyFromDid)]
pub fn public_key_from_did(did: &str) -> Result<Uint8Array, VaultError> {
    Ok(Uint8Array::from(did::public_key(did)?.as_slice()))
}

/// Verifies an `eddsa-jcs-2022` proof. The document is an object or its JSON text (a string, or UTF-8
/// bytes as a `Uint8Array` or `ArrayBuffer`). Never throws: the result says why a document does not
/// verify.
#[wasm_bindgen(js_name = verifyDocument, unchecked_return_type = "VerifyResult")]
pub fn verify_document(#[wasm_bindgen(unchecked_param_type = "unknown")] doc: JsValue) -> JsValue {
    let outcome = json::document_text(&doc)
        .and_then(|text| crate::core::canonical::parse(&text))
        .and_then(|value| proof::verify(&value))
        .map(|v| {
            json!({
                "verified": true,
                "did": did::encode(&v.public_key, did::Method::Key),
                "verificationMethod": v.verification_method,
            })
        });
    result_object(outcome)
}

/// Verifies a signed bundle: its shape, its proof, and that its `did` is the signing key's. The
/// bundle is an object or its JSON text (a string, or UTF-8 bytes as a `Uint8Array` or
/// `ArrayBuffer`, such as a bundle file's contents or `Vault.signBytes`' result): text is checked as
/// it is, without serializing an object tree first, which is much faster for a large bundle.
/// Never throws: the result says why a bundle does not verify.
#[wasm_bindgen(js_name = verifyBundle, unchecked_return_type = "VerifyResult")]
pub fn verify_bundle(#[wasm_bindgen(unchecked_param_type = "unknown")] bundle: JsValue) -> JsValue {
    let outcome = json::document_text(&bundle)
        .and_then(|text| bundle::verify_bundle_text(&text))
        .map(|v| {
            json!({
                "verified": true,
                "did": v.did,
                "verificationMethod": v.verification_method,
            })
        });
    result_object(outcome)
}

fn result_object(outcome: Result<Value, Error>) -> JsValue {
    let value = outcome
        .unwrap_or_else(|e| json!({"verified": false, "code": e.code(), "message": e.to_string()}));
    // A result object built from strings and booleans always converts.
    json::to_js(&value).unwrap_or(JsValue::FALSE)
}
