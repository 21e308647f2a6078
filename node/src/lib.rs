//! # bundle-node
//!
//! The reference node of bundle-vault: it speaks the protocol of `docs/protocol.md` over HTTP — the
//! service manifest, DID challenge login with bearer tokens, signed export pages with cursors, counts,
//! deletes answered with signed receipts, and chunked, resumable import of signed bundles — and keeps
//! everything in one SQLite database. Canonical JSON, DIDs and proofs come from the vault's core
//! (`bundle_vault::core`); nothing here reimplements them.
//!
//! The binary (`bundle-node`) parses [`config::Args`] and runs [`server::start`]; tests start nodes
//! in-process the same way.

pub mod auth;
pub mod background;
pub mod body;
pub mod canned;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod delete;
pub mod demo;
pub mod dev;
pub mod error;
pub mod export;
pub mod fault;
pub mod import;
pub mod node_key;
pub mod server;
pub mod storage;
pub mod transfer;

pub use config::Config;
pub use server::{start, NodeHandle};
