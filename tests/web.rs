//! Browser tests: the crate compiled to wasm32 and run in headless Chromium by
//! `wasm-pack test --headless --chrome -- --test web` (real `crypto.getRandomValues`, real JS objects).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use bundle_vault::wasm::{self, keypair::Keypair};
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

fn js(text: &str) -> JsValue {
    JSON::parse(text).unwrap()
}

/// The error as JavaScript sees it: a real `Error` named `VaultError` with a string `code`.
fn thrown_code(error: wasm::VaultError) -> String {
    let value = JsValue::from(error);
    assert!(value.is_instance_of::<js_sys::Error>(), "not an Error");
    let error: &js_sys::Error = value.unchecked_ref();
    assert_eq!(error.name(), "VaultError");
    assert!(!String::from(error.message()).is_empty());
    assert!(wasm::error::is_vault_error(value.clone()));
    get(&value, "code").as_string().unwrap()
}

#[wasm_bindgen_test]
fn generated_keys_use_browser_randomness() {
    let a = Keypair::generate().unwrap();
    let b = Keypair::generate().unwrap();
    assert_ne!(a.public_key().to_vec(), b.public_key().to_vec());
    assert_eq!(a.public_key().length(), 32);
    assert!(a.did().starts_with("did:imajin:"));
    assert!(a.did_key().starts_with("did:key:z6Mk"));
    let round_trip = wasm::public_key_from_did(&a.did()).unwrap();
    assert_eq!(round_trip.to_vec(), a.public_key().to_vec());
    assert_eq!(
        wasm::did_from_public_key(&a.public_key().to_vec(), "key").unwrap(),
        a.did_key()
    );
}

#[wasm_bindgen_test]
fn sign_and_verify_js_objects() {
    let kp = Keypair::from_seed([1u8; 32].to_vec()).unwrap();
    let doc = js(r#"{"did":"x","items":[1,2.5,"é",null,{"deep":true}]}"#);
    let signed = kp.sign_document(doc, None).unwrap();
    let proof = get(&signed, "proof");
    assert_eq!(
        get(&proof, "cryptosuite").as_string().unwrap(),
        "eddsa-jcs-2022"
    );
    assert_eq!(
        get(&proof, "verificationMethod").as_string().unwrap(),
        kp.verification_method()
    );
    // `created` defaults to now, in whole seconds.
    let created = get(&proof, "created").as_string().unwrap();
    assert_eq!(created.len(), 20, "{created}");
    assert!(created.ends_with('Z'));
    // null survives the round trip, so the document still verifies after JSON text round trips.
    let reparsed = JSON::parse(&String::from(JSON::stringify(&signed).unwrap())).unwrap();
    let result = wasm::verify_document(reparsed.clone());
    assert_eq!(get(&result, "verified"), JsValue::TRUE);
    assert_eq!(get(&result, "did").as_string().unwrap(), kp.did_key());

    Reflect::set(&reparsed, &"did".into(), &"y".into()).unwrap();
    let result = wasm::verify_document(reparsed);
    assert_eq!(get(&result, "verified"), JsValue::FALSE);
    assert_eq!(
        get(&result, "code").as_string().unwrap(),
        "SIGNATURE_INVALID"
    );
}

/// Objects go into wasm as UTF-8 encoded into a buffer about their size, grown when the text is
/// denser than guessed, and come back as ASCII JSON: every character survives both ways.
#[wasm_bindgen_test]
fn every_character_survives_the_handover_both_ways() {
    let kp = Keypair::from_seed([1u8; 32].to_vec()).unwrap();
    let texts = [
        "a".repeat(20_000),
        "東京".repeat(20_000),
        "😀".repeat(20_000),
        format!("{}é{}", "a".repeat(30_000), "€😀京".repeat(10_000)),
        "x\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}".repeat(5_000),
        String::new(),
    ];
    for text in texts {
        let doc = Object::new();
        Reflect::set(&doc, &"s".into(), &JsValue::from_str(&text)).unwrap();
        let signed = kp.sign_document(doc.into(), None).unwrap();
        assert_eq!(get(&signed, "s").as_string().unwrap(), text);
        let result = wasm::verify_document(signed.clone());
        assert_eq!(get(&result, "verified"), JsValue::TRUE);
        // The signature covers the characters: one changed, the document no longer verifies.
        if let Some(last) = text.chars().last() {
            let changed = format!("{}{}", &text[..text.len() - last.len_utf8()], 'Z');
            Reflect::set(&signed, &"s".into(), &JsValue::from_str(&changed)).unwrap();
            let result = wasm::verify_document(signed);
            assert_eq!(get(&result, "verified"), JsValue::FALSE);
        }
    }
}

/// Strings go into wasm a slice at a time: a surrogate pair across a slice boundary, and text denser
/// than the buffer's first guess, arrive exactly, as a string and inside an object.
#[wasm_bindgen_test]
fn long_strings_arrive_exactly_across_slices() {
    let slice = wasm::json::SLICE_UNITS;
    let mut texts: Vec<String> = [slice - 2, slice - 1, slice, slice + 1]
        .into_iter()
        .map(|before| format!("{}😀{}", "a".repeat(before), "é".repeat(slice)))
        .collect();
    texts.push("😀".repeat(slice + 7));
    texts.push(format!("{}{}", "a".repeat(3 * slice), "京😀".repeat(slice)));
    for text in texts {
        let got = wasm::json::document_text(&JsValue::from_str(&text)).unwrap();
        assert!(
            got == text,
            "a string of {} bytes changed on the way",
            text.len()
        );
        let doc = Object::new();
        Reflect::set(&doc, &"s".into(), &JsValue::from_str(&text)).unwrap();
        let got = wasm::json::text_of(&doc.into()).unwrap();
        let expected = serde_json::to_string(&serde_json::json!({ "s": text })).unwrap();
        assert!(
            got == expected,
            "an object with a string of {} bytes changed on the way",
            text.len()
        );
    }
}

#[wasm_bindgen_test]
fn explicit_created_is_used_and_checked() {
    let kp = Keypair::from_seed([1u8; 32].to_vec()).unwrap();
    let options = js(r#"{"created":"2026-03-09T16:45:00Z"}"#);
    let signed = kp
        .sign_document(js(r#"{"a":1}"#), Some(options.unchecked_into()))
        .unwrap();
    assert_eq!(
        get(&get(&signed, "proof"), "created").as_string().unwrap(),
        "2026-03-09T16:45:00Z"
    );
    let bad = js(r#"{"created":"tomorrow"}"#);
    let err = kp
        .sign_document(js(r#"{"a":1}"#), Some(bad.unchecked_into()))
        .unwrap_err();
    assert_eq!(thrown_code(err), "PROOF_MALFORMED");
}

#[wasm_bindgen_test]
fn hostile_js_values_get_typed_errors() {
    let kp = Keypair::from_seed([1u8; 32].to_vec()).unwrap();
    // NaN and Infinity would silently become null in JSON.stringify.
    let nan = Object::new();
    Reflect::set(&nan, &"n".into(), &JsValue::from_f64(f64::NAN)).unwrap();
    assert_eq!(
        thrown_code(kp.sign_document(nan.into(), None).unwrap_err()),
        "UNSAFE_NUMBER"
    );
    let inf = Array::of1(&JsValue::from_f64(f64::INFINITY));
    let holder = Object::new();
    Reflect::set(&holder, &"list".into(), &inf).unwrap();
    assert_eq!(
        thrown_code(kp.sign_document(holder.into(), None).unwrap_err()),
        "UNSAFE_NUMBER"
    );
    // Beside a real null (the text has a null either way), and under a value with toJSON.
    for text in [
        "({a: null, n: NaN})",
        "({a: [null, {b: -Infinity}]})",
        "({when: new Date(0), list: [null, Infinity]})",
        "({boxed: new Number(NaN)})",
    ] {
        let value = js_sys::eval(text).unwrap();
        assert_eq!(
            thrown_code(kp.sign_document(value, None).unwrap_err()),
            "UNSAFE_NUMBER",
            "{text}"
        );
    }
    // Nulls, a Date (toJSON) and finite numbers sign as JSON.stringify writes them.
    let fine = js_sys::eval("({a: null, b: [null, 1.5], when: new Date(0)})").unwrap();
    let signed = kp.sign_document(fine, None).unwrap();
    assert_eq!(
        Reflect::get(&signed, &"when".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("1970-01-01T00:00:00.000Z")
    );
    // Integers beyond 2^53 - 1.
    let big = Object::new();
    Reflect::set(&big, &"n".into(), &JsValue::from_f64(2f64.powi(60))).unwrap();
    assert_eq!(
        thrown_code(kp.sign_document(big.into(), None).unwrap_err()),
        "UNSAFE_NUMBER"
    );
    // A cycle.
    let cyclic = Object::new();
    Reflect::set(&cyclic, &"me".into(), &cyclic).unwrap();
    assert_eq!(
        thrown_code(kp.sign_document(cyclic.into(), None).unwrap_err()),
        "INVALID_JSON"
    );
    // Deep nesting, far beyond the cap.
    let mut deep: JsValue = Array::new().into();
    for _ in 0..10_000 {
        deep = Array::of1(&deep).into();
    }
    let holder = Object::new();
    Reflect::set(&holder, &"deep".into(), &deep).unwrap();
    assert_eq!(
        thrown_code(kp.sign_document(holder.into(), None).unwrap_err()),
        "TOO_DEEP"
    );
    // Not an object, and undefined.
    assert_eq!(
        thrown_code(kp.sign_document(js("[1]"), None).unwrap_err()),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        thrown_code(kp.sign_document(JsValue::UNDEFINED, None).unwrap_err()),
        "INVALID_JSON"
    );
    // verifyDocument never throws: it reports.
    let result = wasm::verify_document(JsValue::UNDEFINED);
    assert_eq!(get(&result, "verified"), JsValue::FALSE);
    assert_eq!(get(&result, "code").as_string().unwrap(), "INVALID_JSON");
}

#[wasm_bindgen_test]
fn string_functions_throw_typed_errors() {
    assert_eq!(
        wasm::canonicalize(r#"{"b":1,"a":[true]}"#).unwrap(),
        r#"{"a":[true],"b":1}"#
    );
    assert_eq!(
        thrown_code(wasm::canonicalize("{").unwrap_err()),
        "INVALID_JSON"
    );
    assert_eq!(
        thrown_code(wasm::canonicalize("12345678901234567890").unwrap_err()),
        "UNSAFE_NUMBER"
    );
    assert_eq!(
        thrown_code(wasm::public_key_from_did("did:web:x").unwrap_err()),
        "INVALID_DID"
    );
    assert_eq!(
        thrown_code(wasm::public_key_from_did("did:imajin:alice").unwrap_err()),
        "INVALID_DID"
    );
    assert_eq!(
        thrown_code(wasm::did_from_public_key(&[0u8; 31], "key").unwrap_err()),
        "INVALID_KEY"
    );
    assert_eq!(
        thrown_code(wasm::did_from_public_key(&[0u8; 32], "web").unwrap_err()),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        thrown_code(Keypair::from_seed([0u8; 16].to_vec()).unwrap_err()),
        "INVALID_KEY"
    );
    assert!(!wasm::error::is_vault_error(
        js_sys::Error::new("plain").into()
    ));
    assert!(!wasm::error::is_vault_error("VaultError".into()));
}

#[wasm_bindgen_test]
fn bundles_verify_with_did_binding() {
    let kp = Keypair::from_seed([2u8; 32].to_vec()).unwrap();
    let bundle = |did: &str| {
        js(&format!(
            r#"{{"did":"{did}","exported_at":"2026-03-09T16:45:00Z","node":"local",
               "sections":{{"chat":{{"messages":[{{"id":"msg_1","updated_at":"2026-03-09T16:45:00.000Z","data":{{"content":"hi 👋"}}}}]}}}},
               "log":{{"length":0,"head":"{}"}}}}"#,
            "0".repeat(64)
        ))
    };
    let signed = kp.sign_document(bundle(&kp.did()), None).unwrap();
    let result = wasm::verify_bundle(signed);
    assert_eq!(
        get(&result, "verified"),
        JsValue::TRUE,
        "{:?}",
        get(&result, "message")
    );
    assert_eq!(get(&result, "did").as_string().unwrap(), kp.did());

    let other = Keypair::from_seed([3u8; 32].to_vec()).unwrap();
    let foreign = kp.sign_document(bundle(&other.did()), None).unwrap();
    let result = wasm::verify_bundle(foreign);
    assert_eq!(get(&result, "code").as_string().unwrap(), "DID_MISMATCH");

    let handle = kp.sign_document(bundle("did:imajin:alice"), None).unwrap();
    let result = wasm::verify_bundle(handle);
    assert_eq!(
        get(&result, "code").as_string().unwrap(),
        "DID_UNVERIFIABLE"
    );
}
