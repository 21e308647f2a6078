//! Fuzzing's regression tests: every input that once broke a property of `fuzz/` is kept in
//! `fuzz/regressions/<target>/` and replayed here through the same property checks (the fuzz crate's
//! `src/lib.rs`, included as a module), with a named test for each bug it found.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/src/lib.rs"]
mod properties;

use std::path::Path;

use bundle_vault::core::canonical;
use bundle_vault::core::export::{ExportItem, ExportPage};
use bundle_vault::core::keys::Keypair;
use serde_json::json;

/// Replays every saved input of a target; answers how many there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut files: Vec<_> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let name = path.display().to_string();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            panic!("{name} breaks {target} again: {panic:?}");
        }
    }
    files.len()
}

#[test]
fn saved_inputs_still_pass() {
    let mut total = 0;
    for (target, check) in [
        ("canonicalize", properties::canonicalize as fn(&[u8])),
        ("export_page", properties::export_page),
        ("merge", properties::merge),
        ("bundle_verify", properties::bundle_verify),
    ] {
        total += replay(target, check);
    }
    assert!(total > 0, "no saved input was replayed");
}

#[test]
fn seeds_pass() {
    // The seed corpora are valid examples: each holds the properties too.
    for (target, check) in [
        ("canonicalize", properties::canonicalize as fn(&[u8])),
        ("export_page", properties::export_page),
        ("merge", properties::merge),
        ("bundle_verify", properties::bundle_verify),
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(target);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            check(&std::fs::read(&path).unwrap());
        }
    }
}

/// Found by the `canonicalize` target: a float such as `1e20` was accepted, but RFC 8785 writes it as
/// the integer literal `100000000000000000000`, which the same parser refuses (UNSAFE_NUMBER). So a
/// node's page with `1e20` in an item merged fine, and the vault then signed a bundle whose canonical
/// bytes the reference node (and the vault's own import, which reads JSON.stringify's text) refused.
/// Such a float is now refused wherever it is written, like the integer it is.
#[test]
fn a_float_whose_canonical_form_is_an_unsafe_integer_is_refused() {
    for text in [
        "1e20",
        "-1e20",
        "1e16",
        "9007199254740992.0",
        "123456789012345678e2",
        "[0.5, 99999999999999990000.0]",
        r#"{"n": 1.5e17}"#,
    ] {
        assert_eq!(
            canonical::canonicalize_str(text).unwrap_err().code(),
            "UNSAFE_NUMBER",
            "{text}"
        );
        assert_eq!(
            canonical::parse(text).unwrap_err().code(),
            "UNSAFE_NUMBER",
            "{text}"
        );
    }
    // Values built in code are held to the same rule.
    assert_eq!(
        canonical::to_canonical_string(&json!({"n": 1e20}))
            .unwrap_err()
            .code(),
        "UNSAFE_NUMBER"
    );
    // The edges: 2^53 - 1 as a float, and 1e21, which RFC 8785 writes in exponent form.
    for (text, canonical_text) in [
        ("9007199254740991.0", "9007199254740991"),
        ("1e21", "1e+21"),
        ("-1.5e300", "-1.5e+300"),
    ] {
        assert_eq!(canonical::canonicalize_str(text).unwrap(), canonical_text);
        assert_eq!(
            canonical::canonicalize_str(canonical_text).unwrap(),
            canonical_text
        );
    }
    // An export page carrying such a float is refused at the page check, before any merge.
    let page = json!({
        "did": Keypair::from_seed(&[1; 32]).did(), "service": "chat", "section": "chat",
        "items": [{"collection": "messages", "id": "m", "updated_at": "2026-03-09T16:45:00.000Z",
                   "data": {"size": 1e20}}],
        "cursor": "c", "done": true
    });
    assert_eq!(
        ExportPage::from_value(&page).unwrap_err().code(),
        "UNSAFE_NUMBER"
    );
    assert_eq!(
        ExportItem::from_value(&page["items"][0])
            .unwrap_err()
            .code(),
        "UNSAFE_NUMBER"
    );
}

/// The `export_page` target compares the vault's fast page reader with the general one; the fast path
/// is taken for a canonical page signed over its bytes, and refused (left to the general path) for the
/// same page signed over a non-canonical spelling of it.
#[test]
fn the_fast_page_reader_is_exercised() {
    use bundle_vault::core::export::PreparedPage;
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/export_page/canonical_page.json"),
    )
    .unwrap();
    assert!(PreparedPage::new(&properties::signed_as_is(&seed)).is_some());
    for respelled in [
        seed.replacen("\"size\":12", "\"size\":12.0", 1),
        seed.replacen("\"c.5\"", "\"c\\u002e5\"", 1),
        seed.replacen(",\"did\"", ", \"did\"", 1),
    ] {
        assert_ne!(respelled, seed);
        assert!(PreparedPage::new(&properties::signed_as_is(&respelled)).is_none());
        properties::export_page(respelled.as_bytes());
    }
}
