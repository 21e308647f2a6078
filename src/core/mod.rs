//! The target-independent, sans-IO core of the vault. Nothing here performs I/O or knows about
//! JavaScript: the browser binding (`src/wasm`) and the reference node both build on it.

pub mod bundle;
pub mod canonical;
pub mod canonical_text;
pub mod did;
pub mod error;
pub mod export;
pub mod hash;
pub mod keys;
pub mod keystore;
pub mod log;
pub mod manifest;
pub mod merge;
pub mod proof;
pub mod receipt;
pub mod rights;
pub mod store;

pub use error::{Error, Result};

/// `f` through [`black_box`](std::hint::black_box): called through it, a function stays one of its
/// own in the wasm, as long loops need (see [`hash`]): `#[inline(never)]` is not enough, `wasm-opt`
/// inlines every function that is called from one place.
pub(crate) fn apart<F>(f: F) -> F {
    std::hint::black_box(f)
}
