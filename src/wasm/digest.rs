//! SHA-256 of large inputs (an export page, a whole bundle) with WebCrypto, which hashes many times
//! faster than any hash compiled to wasm; the `sha2` crate where WebCrypto is missing (an insecure
//! context has no `crypto.subtle`).

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export function subtleSha256(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return undefined;
  try {
    return subtle.digest("SHA-256", bytes);
  } catch (_) {
    return undefined;
  }
}
"#)]
extern "C" {
    /// `crypto.subtle.digest("SHA-256", bytes)`, or `undefined` without WebCrypto. The bytes are a
    /// view of wasm memory, copied by `digest` before it returns.
    #[wasm_bindgen(js_name = subtleSha256)]
    fn subtle_sha256(bytes: &[u8]) -> JsValue;
}

/// SHA-256 of `bytes`.
pub async fn sha256(bytes: &[u8]) -> [u8; 32] {
    if let Ok(promise) = subtle_sha256(bytes).dyn_into::<Promise>() {
        if let Ok(buffer) = JsFuture::from(promise).await {
            let digest = Uint8Array::new(&buffer);
            if digest.length() == 32 {
                let mut out = [0u8; 32];
                digest.copy_to(&mut out);
                return out;
            }
        }
    }
    crate::core::hash::sha256(bytes)
}
