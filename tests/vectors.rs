//! Published test vectors, reproduced byte for byte by the vault's own code (not by the libraries under
//! it): RFC 8032 §7.1 Ed25519, did:key Ed25519 (w3c-ccg/did-method-key), RFC 8785 JCS (the RFC's examples,
//! its Appendix B number table and cyberphone's reference test data), and the worked `eddsa-jcs-2022`
//! example of the W3C Recommendation "Data Integrity EdDSA Cryptosuites v1.0" (Appendix B.3).
//!
//! The vectors are stored as JSON in `tests/vectors/`; each file names its source.
#![cfg(not(target_arch = "wasm32"))]
// The helpers below are test code too: a malformed vector file must stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bundle_vault::core::canonical;
use bundle_vault::core::did::{self, DidKey, Method};
use bundle_vault::core::keys::{self, Keypair, PUBLIC_KEY_LEN};
use bundle_vault::core::proof;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

const RFC8032: &str = include_str!("vectors/rfc8032-ed25519.json");
const DID_KEY: &str = include_str!("vectors/did-key-ed25519.json");
const RFC8785: &str = include_str!("vectors/rfc8785.json");
const EDDSA_JCS_2022: &str = include_str!("vectors/eddsa-jcs-2022.json");

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// A vector file (plain serde_json: the files hold no numbers that matter, only strings).
fn load(text: &str) -> Value {
    serde_json::from_str(text).expect("vector file is JSON")
}

/// The string member `key` of `value`.
fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {value}"))
}

/// The hex string member `key` of `value`, decoded (spaces, as in cyberphone's outhex files, ignored).
fn hex_bytes(value: &Value, key: &str) -> Vec<u8> {
    let digits: String = text(value, key).split_whitespace().collect();
    hex::decode(digits).unwrap_or_else(|e| panic!("{key} is hex: {e}"))
}

/// The array member `key` of `value`.
fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array"))
}

fn key32(bytes: &[u8]) -> [u8; PUBLIC_KEY_LEN] {
    bytes.try_into().expect("32 bytes")
}

/// The bytes of a multibase base58btc string (`z…`).
fn multibase_base58(text: &str) -> Vec<u8> {
    let encoded = text
        .strip_prefix('z')
        .expect("multibase base58btc starts with 'z'");
    bs58::decode(encoded).into_vec().expect("base58btc")
}

/// `bytes` with one bit inverted.
fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

/// The error code of a result, or "OK".
fn code<T>(result: &bundle_vault::core::Result<T>) -> &'static str {
    match result {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

/// Asserts that the project's canonicalization of the JSON text `input` is exactly `expected`.
fn assert_canonical(name: &str, input: &str, expected: &str) {
    let canonical = canonical::canonicalize_str(input)
        .unwrap_or_else(|e| panic!("{name}: {input:?} must canonicalize: {e}"));
    assert_eq!(canonical, expected, "{name}: canonical form of {input:?}");
}

/// Asserts that canonicalizing a canonical text changes nothing.
fn assert_idempotent(name: &str, canonical_text: &str) {
    assert_eq!(
        canonical::canonicalize_str(canonical_text).unwrap(),
        canonical_text,
        "{name}: canonicalization is idempotent"
    );
}

// ---------------------------------------------------------------------------------------------------
// RFC 8032 §7.1: Ed25519
// ---------------------------------------------------------------------------------------------------

#[test]
fn rfc8032_ed25519_vectors() {
    let file = load(RFC8032);
    let vectors = items(&file, "vectors");
    assert_eq!(vectors.len(), 5, "TEST 1, 2, 3, 1024 and SHA(abc)");
    for vector in vectors {
        let name = text(vector, "name");
        let seed = hex_bytes(vector, "secretKey");
        let public_key = key32(&hex_bytes(vector, "publicKey"));
        let message = hex_bytes(vector, "message");
        let signature = hex_bytes(vector, "signature");
        if let Some(length) = vector.get("messageLength") {
            assert_eq!(
                Some(message.len() as u64),
                length.as_u64(),
                "{name}: length"
            );
        }

        let keypair = Keypair::from_seed_slice(&seed).unwrap();
        assert_eq!(keypair.public_key(), public_key, "{name}: public key");
        assert_eq!(
            keypair.sign(&message).to_vec(),
            signature,
            "{name}: signature"
        );
        keys::verify(&public_key, &message, &signature)
            .unwrap_or_else(|e| panic!("{name}: the published signature verifies: {e}"));

        // One flipped bit anywhere (first and last bit of R and of S) and the signature fails.
        for bit in [0, 255, 256, 511] {
            let forged = flip_bit(&signature, bit);
            assert_eq!(
                code(&keys::verify(&public_key, &message, &forged)),
                "SIGNATURE_INVALID",
                "{name}: signature bit {bit} flipped"
            );
        }
        // A changed message fails: a flipped bit, or one byte more for the empty message.
        let changed = if message.is_empty() {
            vec![0]
        } else {
            flip_bit(&message, message.len() * 8 - 1)
        };
        assert_eq!(
            code(&keys::verify(&public_key, &changed, &signature)),
            "SIGNATURE_INVALID",
            "{name}: message changed"
        );
        // Another (valid) key fails the signature check.
        let other = Keypair::from_seed(&[0x55; 32]).public_key();
        assert_eq!(
            code(&keys::verify(&other, &message, &signature)),
            "SIGNATURE_INVALID",
            "{name}: other key"
        );
    }
}

#[test]
fn rfc8032_sha_abc_message_is_the_sha512_of_abc() {
    // A check of the transcription: TEST SHA(abc) signs the 64-byte SHA-512 digest of "abc".
    let file = load(RFC8032);
    let vector = items(&file, "vectors")
        .iter()
        .find(|v| text(v, "name") == "TEST SHA(abc)")
        .expect("TEST SHA(abc) is present");
    assert_eq!(
        hex_bytes(vector, "message"),
        Sha512::digest(b"abc").to_vec()
    );
}

// ---------------------------------------------------------------------------------------------------
// did:key (Ed25519) and the did:imajin form of the same keys
// ---------------------------------------------------------------------------------------------------

#[test]
fn did_key_ed25519_vectors() {
    let file = load(DID_KEY);
    let vectors = items(&file, "vectors");
    assert_eq!(vectors.len(), 5);
    for vector in vectors {
        let expected_did = text(vector, "did");
        let ed25519 = &vector["ed25519"];
        let public_key = key32(
            &bs58::decode(text(ed25519, "publicKeyBase58"))
                .into_vec()
                .unwrap(),
        );
        let fragment = text(ed25519, "verificationMethodIdFragment");

        // The key of the seed.
        let keypair = Keypair::from_seed_slice(&hex_bytes(vector, "seed")).unwrap();
        assert_eq!(
            keypair.public_key(),
            public_key,
            "{expected_did}: key of the seed"
        );

        // Encoding.
        assert_eq!(did::encode(&public_key, Method::Key), expected_did);
        assert_eq!(keypair.did_key(), expected_did);
        assert_eq!(
            format!("#{}", did::multikey(&public_key)),
            fragment,
            "{expected_did}: fragment is the Multikey"
        );
        let method = format!("{expected_did}{fragment}");
        assert_eq!(keypair.verification_method(), method);

        // Decoding, and the multicodec prefix 0xed 0x01 under the multibase 'z'.
        assert_eq!(
            did::decode(expected_did).unwrap(),
            DidKey::Bound(public_key)
        );
        assert_eq!(did::public_key(expected_did).unwrap(), public_key);
        assert_eq!(did::decode_multikey(&fragment[1..]).unwrap(), public_key);
        let id = multibase_base58(&expected_did[did::KEY_PREFIX.len()..]);
        assert_eq!(id[..2], did::ED25519_MULTICODEC);
        assert_eq!(id[2..], public_key);
        assert_eq!(proof::resolve_method(&method).unwrap(), public_key);

        // did:imajin is base58btc of the raw key, which is exactly the vector's publicKeyBase58.
        let imajin = format!("{}{}", did::IMAJIN_PREFIX, text(ed25519, "publicKeyBase58"));
        assert_eq!(did::encode(&public_key, Method::Imajin), imajin);
        assert_eq!(keypair.did(), imajin);
        assert_eq!(did::decode(&imajin).unwrap(), DidKey::Bound(public_key));
        assert_eq!(
            proof::resolve_method(&format!("{imajin}#key-1")).unwrap(),
            public_key
        );

        // A did:key whose id is off by one character is not this key.
        let mut altered = expected_did.to_owned();
        let last = altered.pop().unwrap();
        altered.push(if last == '2' { '3' } else { '2' });
        assert_ne!(did::decode(&altered).ok(), Some(DidKey::Bound(public_key)));
    }
}

// ---------------------------------------------------------------------------------------------------
// RFC 8785: JSON Canonicalization Scheme
// ---------------------------------------------------------------------------------------------------

#[test]
fn rfc8785_section_3_2_3_canonical_output_and_3_2_4_bytes() {
    let file = load(RFC8785);
    let rfc = &file["rfc8785"];
    let input = text(&rfc["section_3_2_2_primitive_serialization"], "inputText");
    let expected = text(&rfc["section_3_2_3_canonical_output"], "expected");
    assert_canonical("RFC 8785 §3.2.3", input, expected);
    assert_idempotent("RFC 8785 §3.2.3", expected);
    // §3.2.4: the exact UTF-8 bytes.
    let bytes = canonical::to_canonical_vec(&canonical::parse(input).unwrap()).unwrap();
    assert_eq!(
        bytes,
        hex_bytes(&rfc["section_3_2_4_utf8_hex"], "expectedUtf8Hex")
    );
    // §3.2.2 prints what JSON.stringify() makes of the same data: it canonicalizes to the same text.
    let stringified = text(
        &rfc["section_3_2_2_primitive_serialization"],
        "jsonStringifyOutput",
    );
    assert_ne!(
        stringified, expected,
        "JSON.stringify() output is not sorted"
    );
    assert_canonical("RFC 8785 §3.2.2", stringified, expected);
}

#[test]
fn rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units() {
    let file = load(RFC8785);
    let case = &file["rfc8785"]["section_3_2_3_sorting_test"];
    let canonical = canonical::canonicalize_str(text(case, "inputText")).unwrap();
    // The RFC gives the order of the values; find each (as a JSON string) in the canonical text.
    let positions: Vec<usize> = items(case, "expectedValueOrder")
        .iter()
        .map(|value| {
            let quoted = serde_json::to_string(value).unwrap();
            canonical
                .find(&quoted)
                .unwrap_or_else(|| panic!("{quoted} in {canonical}"))
        })
        .collect();
    assert_eq!(positions.len(), 7);
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "values in UTF-16 key order: {canonical}"
    );
    // The case that tells UTF-16 order from code point (and UTF-8) order: U+1F600 (surrogate D83D)
    // sorts before U+FB33.
    assert!(canonical.find('\u{1F600}') < canonical.find('\u{FB33}'));
    // Keys are written as raw UTF-8 except the escaped control character.
    assert!(canonical.starts_with(r#"{"\r":"Carriage Return","1":"One","#));
}

/// The JSON text the vault would read for a double: Rust's shortest round-trip form in exponent notation
/// (`5e-324`, `1.7976931348623157e308`, `-0e0`), valid JSON number syntax.
fn number_text(bits: u64) -> String {
    format!("{:e}", f64::from_bits(bits))
}

/// Whether `text` is an integer literal of magnitude above 2^53 - 1.
fn is_unsafe_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits.bytes().all(|b| b.is_ascii_digit())
        && digits
            .parse::<u128>()
            .is_ok_and(|n| n > u128::from(canonical::MAX_SAFE_INTEGER))
}

/// Checks rows `{ieee754Hex, expected}` of an ECMAScript number serialization table: the double, written
/// as JSON text, parsed and canonicalized by the vault, gives exactly `expected`; rows marked
/// `expectError` (NaN, Infinity) cannot be represented and are refused.
fn check_number_rows(table: &str, rows: &[Value]) {
    for row in rows {
        let hex = text(row, "ieee754Hex");
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let value = f64::from_bits(bits);
        let input = number_text(bits);
        // The text is the same double: the table row is what is tested, not a rounding of it.
        assert_eq!(
            input.parse::<f64>().unwrap_or(f64::NAN).to_bits(),
            if value.is_nan() {
                f64::NAN.to_bits()
            } else {
                bits
            },
            "{table} {hex}: text {input}"
        );
        if row["expectError"] == json!(true) {
            assert!(value.is_nan() || value.is_infinite(), "{table} {hex}");
            assert!(serde_json::Number::from_f64(value).is_none());
            // No JSON text denotes NaN; Infinity is reached by an overflowing literal: both refused.
            assert_eq!(
                code(&canonical::canonicalize_str(&input)),
                "INVALID_JSON",
                "{table} {hex}: {input}"
            );
            if value.is_infinite() {
                let overflow = if value > 0.0 { "1e400" } else { "-1e400" };
                assert_eq!(
                    code(&canonical::canonicalize_str(overflow)),
                    "UNSAFE_NUMBER",
                    "{table} {hex}: {overflow}"
                );
            }
            continue;
        }
        let expected = text(row, "expected");
        if is_unsafe_integer_literal(expected) {
            // RFC 8785 writes this double as an integer literal beyond 2^53 - 1, which the vault refuses
            // (UNSAFE_NUMBER); so it refuses the double in every spelling, and whatever it accepts
            // canonicalizes to text it accepts again. The formatting itself is the crate's, as published.
            assert_eq!(
                serde_json_canonicalizer::to_string(&json!(value)).unwrap(),
                expected,
                "{table} {hex}"
            );
            for text in [input.as_str(), expected] {
                assert_eq!(
                    code(&canonical::canonicalize_str(text)),
                    "UNSAFE_NUMBER",
                    "{table} {hex}: {text}"
                );
            }
            continue;
        }
        assert_canonical(&format!("{table} {hex}"), &input, expected);
        assert_idempotent(&format!("{table} {hex}"), expected);
        assert_canonical(
            &format!("{table} {hex} in an object"),
            &format!(r#"{{"n": [{input}]}}"#),
            &format!(r#"{{"n":[{expected}]}}"#),
        );
    }
}

#[test]
fn rfc8785_appendix_b_number_serialization() {
    let file = load(RFC8785);
    let rows = items(&file["rfc8785"]["appendix_B_number_serialization"], "rows");
    assert_eq!(rows.len(), 26);
    check_number_rows("Appendix B", rows);
}

#[test]
fn rfc8785_es6_number_samples() {
    let file = load(RFC8785);
    check_number_rows(
        "es6 samples",
        items(&file["es6_number_samples_from_testdata_readme"], "rows"),
    );
}

#[test]
fn rfc8785_cyberphone_reference_test_data() {
    let file = load(RFC8785);
    let cases = items(&file["cyberphone_testdata"], "cases");
    let names: Vec<&str> = cases.iter().map(|c| text(c, "name")).collect();
    assert_eq!(
        names,
        [
            "arrays",
            "french",
            "simpleString",
            "structures",
            "unicode",
            "values",
            "weird"
        ]
    );
    for case in cases {
        let name = text(case, "name");
        let expected = text(case, "expected");
        assert_canonical(name, text(case, "input"), expected);
        assert_idempotent(name, expected);
        if case.get("expectedUtf8Hex").is_some() {
            assert_eq!(
                expected.as_bytes(),
                hex_bytes(case, "expectedUtf8Hex"),
                "{name}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// eddsa-jcs-2022: the worked example of the W3C Recommendation (Appendix B.3)
// ---------------------------------------------------------------------------------------------------

/// The example and its key pair. The secret key is a Multikey: base58btc of the multicodec
/// `ed25519-priv` prefix (0x80 0x26) followed by the 32-byte seed.
fn rec_example() -> (Value, Keypair) {
    let example = load(EDDSA_JCS_2022);
    let secret = multibase_base58(text(&example["keyPair"], "secretKeyMultibase"));
    assert_eq!(secret.len(), 34);
    assert_eq!(secret[..2], [0x80, 0x26], "ed25519-priv multicodec prefix");
    let keypair = Keypair::from_seed_slice(&secret[2..]).unwrap();
    (example, keypair)
}

/// The member `key` of the example, parsed by the vault from the spec's exact text `{key}Text`, and
/// checked to be the JSON the vector file gives for it.
fn rec_value(example: &Value, key: &str) -> Value {
    let parsed = canonical::parse(text(example, &format!("{key}Text"))).unwrap();
    assert_eq!(parsed, example[key], "{key}Text parses to {key}");
    parsed
}

fn as_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("an object, not {other}"),
    }
}

/// The signature inside a signed document's `proofValue`.
fn signature_of(signed: &Value) -> Vec<u8> {
    multibase_base58(signed["proof"]["proofValue"].as_str().expect("proofValue"))
}

#[test]
fn eddsa_jcs_2022_key_pair() {
    let (example, keypair) = rec_example();
    let public_multibase = text(&example["keyPair"], "publicKeyMultibase");
    assert_eq!(did::multikey(&keypair.public_key()), public_multibase);
    assert_eq!(
        did::decode_multikey(public_multibase).unwrap(),
        keypair.public_key()
    );
    let bytes = multibase_base58(public_multibase);
    assert_eq!(bytes[..2], [0xed, 0x01]);
    assert_eq!(
        keypair.verification_method(),
        text(&example["proofOptions"], "verificationMethod")
    );
}

#[test]
fn eddsa_jcs_2022_every_intermediate() {
    let (example, keypair) = rec_example();
    let document = rec_value(&example, "unsignedDocument");
    let options = rec_value(&example, "proofOptions");

    // Transformation: the canonical document, and its hash.
    assert_eq!(
        canonical::to_canonical_string(&document).unwrap(),
        text(&example, "canonicalDocument")
    );
    let document_hash = proof::sha256_of_value(&document).unwrap();
    assert_eq!(
        hex::encode(document_hash),
        text(&example, "documentHashHex")
    );

    // Proof configuration: the canonical proof options (with their @context), and their hash.
    assert_eq!(
        canonical::to_canonical_string(&options).unwrap(),
        text(&example, "canonicalProofOptions")
    );
    let options_hash = proof::sha256_of_value(&options).unwrap();
    assert_eq!(
        hex::encode(options_hash),
        text(&example, "proofOptionsHashHex")
    );

    // Hashing: proof configuration hash first, then the document hash.
    let combined = [options_hash, document_hash].concat();
    assert_eq!(hex::encode(&combined), text(&example, "combinedHashHex"));

    // Proof serialization: the Ed25519 signature of the combined hash, and its multibase form.
    let signature = keypair.sign(&combined);
    assert_eq!(hex::encode(signature), text(&example, "signatureHex"));
    assert_eq!(
        format!("z{}", bs58::encode(signature).into_string()),
        text(&example, "proofValue")
    );
    keys::verify(&keypair.public_key(), &combined, &signature).unwrap();
}

#[test]
fn eddsa_jcs_2022_signing_gives_the_signed_document() {
    let (example, keypair) = rec_example();
    let document = rec_value(&example, "unsignedDocument");
    let options = as_object(rec_value(&example, "proofOptions"));
    let expected = rec_value(&example, "signedDocument");
    let expected_canonical = canonical::to_canonical_string(&expected).unwrap();

    // With the example's proof options.
    let signed = proof::sign_with_options(document.clone(), options, &keypair).unwrap();
    assert_eq!(
        canonical::to_canonical_string(&signed).unwrap(),
        expected_canonical
    );
    assert_eq!(signed, expected);
    // The proof signs exactly the combined hash of the example.
    assert_eq!(
        hex::encode(signature_of(&signed)),
        text(&example, "signatureHex")
    );

    // The plain `sign` builds the same options and, as Create Proof step 2 asks, copies the document's
    // @context into the proof: the same signed document.
    let created = text(&example["proofOptions"], "created");
    let signed = proof::sign(document, &keypair, created).unwrap();
    assert_eq!(
        canonical::to_canonical_string(&signed).unwrap(),
        expected_canonical
    );
}

#[test]
fn eddsa_jcs_2022_verify_accepts_the_signed_document() {
    let (example, keypair) = rec_example();
    for signed in [
        example["signedDocument"].clone(),
        rec_value(&example, "signedDocument"),
    ] {
        let verified = proof::verify(&signed).unwrap();
        assert_eq!(verified.public_key, keypair.public_key());
        assert_eq!(
            verified.verification_method,
            text(&example["proofOptions"], "verificationMethod")
        );
    }
}

/// Every value that differs from `value` by one change, with a path naming it: in objects a member
/// removed, added, or changed; in arrays an element removed, appended, or changed; strings, numbers,
/// booleans and null changed.
fn single_changes(value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let mut removed = map.clone();
                removed.remove(key);
                out.push((format!("-{key}"), Value::Object(removed)));
                for (path, changed) in single_changes(child) {
                    let mut replaced = map.clone();
                    replaced.insert(key.clone(), changed);
                    out.push((format!("{key}/{path}"), Value::Object(replaced)));
                }
            }
            let mut added = map.clone();
            added.insert("extra".into(), json!(true));
            out.push(("+extra".into(), Value::Object(added)));
        }
        Value::Array(elements) => {
            for (i, child) in elements.iter().enumerate() {
                let mut removed = elements.clone();
                removed.remove(i);
                out.push((format!("-{i}"), Value::Array(removed)));
                for (path, changed) in single_changes(child) {
                    let mut replaced = elements.clone();
                    replaced[i] = changed;
                    out.push((format!("{i}/{path}"), Value::Array(replaced)));
                }
            }
            let mut appended = elements.clone();
            appended.push(json!("https://example.org/extra"));
            out.push(("+extra".into(), Value::Array(appended)));
        }
        Value::String(s) => out.push((format!("{s:?}+"), Value::String(format!("{s}x")))),
        Value::Number(n) => out.push((format!("{n}+1"), json!(n.as_f64().unwrap_or(0.0) + 1.0))),
        Value::Bool(b) => out.push((format!("{b}!"), Value::Bool(!b))),
        Value::Null => out.push(("null".into(), json!(false))),
    }
    out
}

#[test]
fn eddsa_jcs_2022_verify_rejects_every_single_change() {
    let (example, _) = rec_example();
    let signed = rec_value(&example, "signedDocument");
    let changes = single_changes(&signed);
    assert!(changes.len() > 40, "{} changes", changes.len());
    for (path, changed) in changes {
        assert_ne!(changed, signed, "{path} is a change");
        let result = proof::verify(&changed);
        if path == "@context/+extra" {
            // Verify Proof step 4 (REC §3.3.2): the document's @context only has to begin with the
            // proof's, and the proof's replaces it before hashing, so contexts appended after signing
            // (as proof sets and chains do) keep the proof valid.
            assert_eq!(code(&result), "OK", "{path}");
        } else if path.starts_with("proof/") || path == "-proof" {
            assert_ne!(code(&result), "OK", "{path} must not verify");
        } else {
            assert_eq!(code(&result), "SIGNATURE_INVALID", "{path}");
        }
    }
}

#[test]
fn eddsa_jcs_2022_context_rules() {
    let (example, keypair) = rec_example();
    let signed = rec_value(&example, "signedDocument");
    let document = rec_value(&example, "unsignedDocument");
    let options = as_object(rec_value(&example, "proofOptions"));

    // A proof's @context is part of the signed proof configuration: dropping it breaks the proof.
    let mut dropped = signed.clone();
    dropped["proof"].as_object_mut().unwrap().remove("@context");
    assert_eq!(code(&proof::verify(&dropped)), "SIGNATURE_INVALID");

    // The document's @context must begin with the proof's.
    let mut replaced = signed.clone();
    replaced["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]);
    assert_eq!(code(&proof::verify(&replaced)), "SIGNATURE_INVALID");
    let mut reordered = signed.clone();
    reordered["@context"] = json!([
        "https://www.w3.org/ns/credentials/examples/v2",
        "https://www.w3.org/ns/credentials/v2"
    ]);
    assert_eq!(code(&proof::verify(&reordered)), "SIGNATURE_INVALID");

    // Signing refuses options whose @context the document's does not begin with.
    let mut foreign = options.clone();
    foreign.insert("@context".into(), json!(["https://example.org/other"]));
    assert_eq!(
        code(&proof::sign_with_options(
            document.clone(),
            foreign,
            &keypair
        )),
        "INVALID_ARGUMENT"
    );
    let mut no_context = document.clone();
    no_context.as_object_mut().unwrap().remove("@context");
    assert_eq!(
        code(&proof::sign_with_options(
            no_context,
            options.clone(),
            &keypair
        )),
        "INVALID_ARGUMENT"
    );

    // Options naming only the first context: Create Proof step 2 sets the proof's @context to the
    // document's, so the result is the example's signed document.
    let mut prefix = options.clone();
    prefix.insert(
        "@context".into(),
        json!(["https://www.w3.org/ns/credentials/v2"]),
    );
    let from_prefix = proof::sign_with_options(document.clone(), prefix, &keypair).unwrap();
    assert_eq!(from_prefix, signed);

    // Options naming another key, or carrying a proofValue, are refused.
    let mut other_key = options.clone();
    other_key.insert(
        "verificationMethod".into(),
        json!(Keypair::from_seed(&[1; 32]).verification_method()),
    );
    assert_eq!(
        code(&proof::sign_with_options(
            document.clone(),
            other_key,
            &keypair
        )),
        "INVALID_ARGUMENT"
    );
    let mut with_value = options.clone();
    with_value.insert("proofValue".into(), signed["proof"]["proofValue"].clone());
    assert_eq!(
        code(&proof::sign_with_options(document, with_value, &keypair)),
        "INVALID_ARGUMENT"
    );
}

#[test]
fn eddsa_jcs_2022_proof_without_context_from_another_implementation_verifies() {
    // The REC allows a proof made without Create Proof step 2 (its note says some implementations skip
    // it): the proof carries no @context, the proof configuration is exactly the proof without
    // proofValue, and the document keeps its @context. Build one by the REC's algorithm, by hand.
    let (example, keypair) = rec_example();
    let document = rec_value(&example, "unsignedDocument");
    let mut options = as_object(rec_value(&example, "proofOptions"));
    options.remove("@context");
    let options = Value::Object(options);
    let hash_data = [
        proof::sha256_of_value(&options).unwrap(),
        proof::sha256_of_value(&document).unwrap(),
    ]
    .concat();
    let mut proof_value = options.clone();
    proof_value["proofValue"] = json!(format!(
        "z{}",
        bs58::encode(keypair.sign(&hash_data)).into_string()
    ));
    let mut signed = document;
    signed["proof"] = proof_value;
    let verified = proof::verify(&signed).unwrap();
    assert_eq!(verified.public_key, keypair.public_key());

    // Adding the document's @context to that proof afterwards changes the signed configuration.
    let mut with_context = signed.clone();
    with_context["proof"]["@context"] = signed["@context"].clone();
    assert_eq!(code(&proof::verify(&with_context)), "SIGNATURE_INVALID");
}
