//! # bundle-vault
//!
//! A browser-resident vault for a user's sovereign data: it holds the user's Ed25519 key (their DID),
//! keeps their data as a signed, portable bundle, and signs it with W3C Data Integrity proofs
//! (`eddsa-jcs-2022`) that any conformant verifier accepts.
//!
//! - [`core`]: the sans-IO core (canonical JSON, DIDs, keys, proofs, bundles, errors), tested natively.
//! - `wasm` (only on `wasm32`): the JavaScript API built with `wasm-bindgen`.

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
