//! The TypeScript `VaultErrorCode` union lists exactly the codes the core can produce.
#![cfg(not(target_arch = "wasm32"))]

use bundle_vault::core::Error;

#[test]
fn typescript_union_matches_error_codes() {
    let types = include_str!("../src/wasm/types.d.ts");
    let start = types
        .find("export type VaultErrorCode =")
        .expect("union present");
    let end = start + types[start..].find(';').expect("union ends");
    let listed: Vec<&str> = types[start..end].split('"').skip(1).step_by(2).collect();
    assert_eq!(listed, Error::CODES);
}
