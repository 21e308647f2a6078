//! Integration tests of the reference node: real nodes on ephemeral loopback ports, real HTTP, and
//! every signature checked with the vault core's verifier.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bad_input;
mod canned;
mod cli;
mod common;
mod cycle;
mod demo;
mod faults;
mod incremental;
mod persistence;
mod security;
