#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bundle_vault_fuzz::export_page(data));
