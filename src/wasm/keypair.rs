//! The `Keypair` class. Its secret never crosses the boundary: there is no getter for it, and the
//! Rust value is wiped when the object is freed.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use super::error::VaultError;
use super::json;
use crate::core::{keys, proof};

#[wasm_bindgen]
extern "C" {
    /// `{created?: string}`, declared in the package's TypeScript types.
    #[wasm_bindgen(typescript_type = "SignOptions")]
    pub type SignOptions;
}

/// An Ed25519 key pair held inside the WebAssembly module.
#[wasm_bindgen(js_name = Keypair)]
#[derive(Debug)]
pub struct Keypair {
    inner: keys::Keypair,
}

#[wasm_bindgen(js_class = Keypair)]
impl Keypair {
    /// A new key from the browser's secure randomness (`crypto.getRandomValues`).
    #[wasm_bindgen(js_name = generate)]
    pub fn generate() -> Result<Keypair, VaultError> {
        Ok(Keypair {
            inner: keys::Keypair::generate()?,
        })
    }

    /// The key pair of a 32-byte seed (an RFC 8032 secret key).
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(seed: Vec<u8>) -> Result<Keypair, VaultError> {
        // Owned, so that the copy wasm-bindgen made of the caller's bytes is wiped, not just freed.
        let seed = zeroize::Zeroizing::new(seed);
        Ok(Keypair {
            inner: keys::Keypair::from_seed_slice(&seed)?,
        })
    }

    /// The raw 32-byte public key.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Uint8Array {
        Uint8Array::from(self.inner.public_key().as_slice())
    }

    /// `did:imajin:…` of this key.
    #[wasm_bindgen(getter, js_name = did)]
    pub fn did(&self) -> String {
        self.inner.did()
    }

    /// `did:key:z6Mk…` of this key.
    #[wasm_bindgen(getter, js_name = didKey)]
    pub fn did_key(&self) -> String {
        self.inner.did_key()
    }

    /// The verification method that names this key in proofs: `did:key:z6Mk…#z6Mk…`.
    #[wasm_bindgen(getter, js_name = verificationMethod)]
    pub fn verification_method(&self) -> String {
        self.inner.verification_method()
    }

    /// Returns a copy of `doc` with an `eddsa-jcs-2022` Data Integrity proof added.
    #[wasm_bindgen(js_name = signDocument, unchecked_return_type = "SignedDocument")]
    pub fn sign_document(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object")] doc: JsValue,
        options: Option<SignOptions>,
    ) -> Result<JsValue, VaultError> {
        let created = match options.map(|o| js_sys::Reflect::get(&o, &"created".into())) {
            Some(Ok(value)) if !value.is_undefined() => value.as_string().ok_or_else(|| {
                crate::core::Error::InvalidArgument("options.created must be a string".into())
            })?,
            _ => now(),
        };
        let value = json::value_of(&doc)?;
        let signed = proof::sign(value, &self.inner, &created)?;
        Ok(json::to_js(&signed)?)
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now() -> String {
    let iso = String::from(js_sys::Date::new_0().to_iso_string());
    // `toISOString` gives `YYYY-MM-DDTHH:MM:SS.sssZ`; proofs carry whole seconds.
    match iso.get(..19) {
        Some(seconds) => format!("{seconds}Z"),
        None => iso,
    }
}
