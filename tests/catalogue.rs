//! The bad-input catalogue, in Chromium on real IndexedDB (`wasm-pack test --headless --chrome --
//! --test catalogue`): hostile manifests and node answers, bundles, key backups and API arguments,
//! each given to a vault that holds a key and pulled data. Every one must end in its typed error and
//! leave the store byte-identical: a digest of every record of every store (`Vault.digest`) is taken
//! before and after each input.
//!
//! Hostile export pages are the other half of the catalogue (`tests/vault.rs`,
//! `hostile_export_pages_are_typed_errors_and_change_nothing`, the same digest check) and forged
//! transfer receipts are in `tests/rights.rs` (`forged_receipt_refused`). Manifests and other answers
//! come from a real HTTP server: the source node's `/dev/canned` development endpoint.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bundle_vault::core::keys::Keypair;
use bundle_vault::wasm::vault::Vault;
use js_sys::{Object, Promise, Reflect, JSON};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Runs the catalogue's entries against one vault and keeps their outcomes.
struct Catalogue<'a> {
    vault: &'a Vault,
    seen: Vec<(&'static str, String, String)>,
}

impl Catalogue<'_> {
    /// Gives one hostile input: `call` must reject with `expected`, and the store must be unchanged.
    async fn check(
        &mut self,
        kind: &'static str,
        name: &str,
        expected: &str,
        call: impl FnOnce() -> Promise,
    ) {
        let before = digest(self.vault).await;
        let log_before = get(&self.vault.log_head(), "head").as_string();
        let got = code(call()).await;
        assert_eq!(got, expected, "{kind} / {name}");
        assert_eq!(
            digest(self.vault).await,
            before,
            "{kind} / {name}: the store is byte-identical"
        );
        assert_eq!(
            get(&self.vault.log_head(), "head").as_string(),
            log_before,
            "{kind} / {name}: the log in memory is unchanged"
        );
        assert!(
            !self.vault.locked(),
            "{kind} / {name}: the vault stays unlocked"
        );
        self.seen.push((kind, name.to_owned(), got));
    }
}

/// Stores an answer on the source node and returns its URL.
async fn canned(name: &str, status: u16, content_type: &str, body: &str) -> String {
    let answer = node_json(
        source(),
        "POST",
        "/dev/canned",
        Some(json!({"name": name, "status": status, "contentType": content_type, "body": body})),
    )
    .await;
    source().replace("/.well-known/bundle-node", answer["path"].as_str().unwrap())
}

/// A manifest served as JSON under `name`.
async fn manifest(name: &str, value: &Value) -> String {
    canned(name, 200, "application/json", &value.to_string()).await
}

/// The source node's real manifest, with every link made absolute (so that a copy served elsewhere
/// still points at the node).
async fn real_manifest() -> Value {
    let mut m = node_json(source(), "GET", "/.well-known/bundle-node", None).await;
    let origin = source().replace("/.well-known/bundle-node", "");
    let absolute = |v: &mut Value| {
        if let Some(link) = v.as_str().filter(|l| l.starts_with('/')) {
            *v = Value::String(format!("{origin}{link}"));
        }
    };
    absolute(&mut m["auth"]["challenge"]);
    absolute(&mut m["auth"]["verify"]);
    absolute(&mut m["transfer"]);
    for s in m["services"].as_array_mut().unwrap() {
        for key in ["export", "count", "delete"] {
            absolute(&mut s[key]);
        }
    }
    m
}

fn js(value: &Value) -> JsValue {
    JSON::parse(&value.to_string()).unwrap()
}

/// JSON nested `depth` arrays deep.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[wasm_bindgen_test]
async fn hostile_inputs_give_typed_errors_and_leave_the_store_byte_identical() {
    let vault = fresh("catalogue").await;
    ok(vault.create_key(PASS.into())).await;
    let report = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert!(get(&s, "error").is_undefined(), "{:?}", get(&s, "error"));
    }
    assert!(total(&ok(vault.count()).await) > 0.0);
    let mut c = Catalogue {
        vault: &vault,
        seen: Vec::new(),
    };

    // ---- manifests and other node answers (pull, push, remoteCount) ----------------------------
    let real = real_manifest().await;
    // A copy of the real manifest served elsewhere works: the entries below differ from it only in
    // what they name.
    let copy = manifest("copy", &real).await;
    ok(vault.remote_count(copy)).await;
    let pull = |url: String| {
        let v = &vault;
        move || v.pull(url, None)
    };
    let cases: Vec<(&str, &str, Value)> = vec![
        ("array", "EXPORT_MALFORMED", json!([real.clone()])),
        ("no-did", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            m.as_object_mut().unwrap().remove("did");
            m
        }),
        ("did-not-did-key", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            m["did"] = json!("did:imajin:3yQYkGd6vHuUbW5SPCZyiM7SwUtbqtXqAwhbtAVXSTVB");
            m
        }),
        ("did-key-garbage", "INVALID_DID", {
            let mut m = real.clone();
            m["did"] = json!("did:key:z6Mk0OIl");
            m
        }),
        ("services-object", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            m["services"] = json!({"chat": real["services"][0].clone()});
            m
        }),
        ("service-twice", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            let first = m["services"][0].clone();
            m["services"].as_array_mut().unwrap().push(first);
            m
        }),
        ("257-services", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            let template = m["services"][0].clone();
            m["services"] = Value::Array(
                (0..257)
                    .map(|i| {
                        let mut s = template.clone();
                        s["name"] = json!(format!("s{i}"));
                        s
                    })
                    .collect(),
            );
            m
        }),
        ("script-link", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            m["services"][0]["export"] = json!("javascript:alert(1)");
            m
        }),
        ("name-not-string", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            m["services"][0]["name"] = json!(7);
            m
        }),
        ("no-auth", "EXPORT_MALFORMED", {
            let mut m = real.clone();
            m.as_object_mut().unwrap().remove("auth");
            m
        }),
    ];
    for (name, expected, value) in &cases {
        let url = manifest(&format!("manifest-{name}"), value).await;
        c.check("manifest", name, expected, pull(url)).await;
    }
    let raw: Vec<(&str, &str, u16, &str, String)> = vec![
        ("truncated", "INVALID_JSON", 200, "application/json", {
            let text = real.to_string();
            text[..text.len() / 2].to_owned()
        }),
        (
            "empty",
            "INVALID_JSON",
            200,
            "application/json",
            String::new(),
        ),
        ("too-deep", "TOO_DEEP", 200, "application/json", {
            format!("{{\"did\":{}}}", nested(100))
        }),
        (
            "unsafe-number",
            "UNSAFE_NUMBER",
            200,
            "application/json",
            format!("{{\"n\":9007199254740993,\"m\":{}}}", real),
        ),
        ("html", "EXPORT_MALFORMED", 200, "text/html", {
            "<!doctype html><title>Sign in</title>".to_owned()
        }),
        ("status-404", "HTTP_STATUS", 404, "application/json", {
            r#"{"error":{"code":"NOT_FOUND","message":"no such page"}}"#.to_owned()
        }),
        ("status-500-text", "HTTP_STATUS", 500, "text/plain", {
            "upstream failed".to_owned()
        }),
    ];
    for (name, expected, status, content_type, body) in &raw {
        let url = canned(&format!("manifest-{name}"), *status, content_type, body).await;
        c.check("manifest", name, expected, pull(url)).await;
    }
    // The login answers of a node that lies: a challenge without an id, a verify without a token.
    let challenge = canned(
        "challenge-bad",
        200,
        "application/json",
        r#"{"challengeId":5}"#,
    )
    .await;
    let mut m = real.clone();
    m["auth"]["challenge"] = json!(challenge);
    let url = manifest("manifest-bad-challenge", &m).await;
    c.check(
        "node answer",
        "challenge-without-id",
        "AUTH_FAILED",
        pull(url),
    )
    .await;
    let verify = canned("verify-bad", 200, "application/json", r#"{"ok":true}"#).await;
    let mut m = real.clone();
    m["auth"]["verify"] = json!(verify);
    let url = manifest("manifest-bad-verify", &m).await;
    c.check(
        "node answer",
        "verify-without-token",
        "AUTH_FAILED",
        pull(url),
    )
    .await;
    // Counting and pushing read the manifest the same way.
    let url = manifest("count-no-did", &cases[1].2).await;
    let v = &vault;
    c.check("manifest", "count-no-did", "EXPORT_MALFORMED", || {
        v.remote_count(url)
    })
    .await;
    let url = canned("push-truncated", 200, "application/json", &raw[0].4).await;
    c.check("manifest", "push-truncated", "INVALID_JSON", || {
        v.push(url, None)
    })
    .await;

    // ---- bundles (importBundle) ---------------------------------------------------------------
    let signed = ok(vault.sign()).await;
    let good: Value =
        serde_json::from_str(&JSON::stringify(&signed).unwrap().as_string().unwrap()).unwrap();
    let altered = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        js(&b)
    };
    let bundles: Vec<(&str, &str, JsValue)> = vec![
        (
            "item-altered",
            "SIGNATURE_INVALID",
            altered(&|b| {
                let section = b["sections"]
                    .as_object_mut()
                    .unwrap()
                    .values_mut()
                    .next()
                    .unwrap();
                let items = section
                    .as_object_mut()
                    .unwrap()
                    .values_mut()
                    .next()
                    .unwrap();
                items[0]["data"] = json!({"forged": true});
            }),
        ),
        (
            "no-proof",
            "PROOF_MALFORMED",
            altered(&|b| {
                b.as_object_mut().unwrap().remove("proof");
            }),
        ),
        (
            "other-cryptosuite",
            "PROOF_MALFORMED",
            altered(&|b| b["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022")),
        ),
        (
            "proof-value-garbage",
            "PROOF_MALFORMED",
            altered(&|b| b["proof"]["proofValue"] = json!("z0OIl")),
        ),
        (
            "log-commitment-altered",
            "SIGNATURE_INVALID",
            altered(&|b| b["log"]["length"] = json!(1)),
        ),
        (
            "did-swapped",
            "SIGNATURE_INVALID",
            altered(&|b| {
                b["did"] = json!(Keypair::from_seed(&[7; 32]).did());
            }),
        ),
        ("not-an-object", "BUNDLE_MALFORMED", JsValue::from_f64(5.0)),
        ("array", "BUNDLE_MALFORMED", js(&json!([good.clone()]))),
        // The file's text or bytes, as they are: cut short, not UTF-8, JSON of something else.
        ("truncated-text", "INVALID_JSON", {
            let text = good.to_string();
            JsValue::from_str(&text[..text.len() - 10])
        }),
        ("bytes-not-utf8", "INVALID_JSON", {
            let mut bytes = good.to_string().into_bytes();
            bytes[1] = 0xFF;
            js_sys::Uint8Array::from(&bytes[..]).into()
        }),
        (
            "text-of-a-string",
            "BUNDLE_MALFORMED",
            JsValue::from_str("\"bundle\""),
        ),
        ("nan", "UNSAFE_NUMBER", {
            let b = js(&good);
            Reflect::set(&b, &"extra".into(), &JsValue::from_f64(f64::NAN)).unwrap();
            b
        }),
        (
            "too-deep",
            "TOO_DEEP",
            JSON::parse(&format!("{{\"x\":{}}}", nested(100))).unwrap(),
        ),
    ];
    for (name, expected, bundle) in bundles {
        c.check("bundle", name, expected, || v.import_bundle(bundle))
            .await;
    }
    // A genuine bundle of another person's vault.
    let other = fresh("catalogue-other").await;
    ok(other.create_key(PASS.into())).await;
    let foreign = ok(other.sign()).await;
    c.check("bundle", "another-did", "DID_MISMATCH", || {
        v.import_bundle(foreign)
    })
    .await;

    // ---- key backups (importKey) --------------------------------------------------------------
    let backup: Value =
        serde_json::from_str(&ok(vault.export_key(PASS.into())).await.as_string().unwrap())
            .unwrap();
    let other_backup = ok(other.export_key(PASS.into())).await.as_string().unwrap();
    finish(other).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = backup.clone();
        f(&mut b);
        b.to_string()
    };
    let flip = |text: &str| {
        let mut bytes = text.as_bytes().to_vec();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let foreign_key = Keypair::from_seed(&[9; 32]);
    let seed_hex = "09".repeat(32);
    let public_hex = hex::encode(foreign_key.public_key());
    let keys: Vec<(&str, &str, String, &str)> = vec![
        ("not-json", "INVALID_JSON", "{\"format\":".into(), PASS),
        ("array", "KEY_BACKUP_MALFORMED", "[]".into(), PASS),
        (
            "other-format",
            "KEY_BACKUP_MALFORMED",
            with(&|b| b["format"] = json!("other-vault-key")),
            PASS,
        ),
        (
            "version-2",
            "KEY_BACKUP_MALFORMED",
            with(&|b| b["version"] = json!(2)),
            PASS,
        ),
        (
            "kdf-below-minimum",
            "KEY_BACKUP_MALFORMED",
            with(&|b| b["kdf"]["m_kib"] = json!(8)),
            PASS,
        ),
        (
            "kdf-4-tib",
            "KEY_BACKUP_MALFORMED",
            with(&|b| b["kdf"]["m_kib"] = json!(4_294_967_295u64)),
            PASS,
        ),
        (
            "salt-short",
            "KEY_BACKUP_MALFORMED",
            with(&|b| b["kdf"]["salt"] = json!("AAAA")),
            PASS,
        ),
        (
            "ciphertext-flipped",
            "BAD_PASSPHRASE",
            with(&|b| {
                let text = b["ciphertext"].as_str().unwrap().to_owned();
                b["ciphertext"] = json!(flip(&text));
            }),
            PASS,
        ),
        (
            "wrong-passphrase",
            "BAD_PASSPHRASE",
            backup.to_string(),
            "not the passphrase",
        ),
        ("short-passphrase", "INVALID_ARGUMENT", backup.to_string(), "short"),
        ("another-did-sealed", "DID_MISMATCH", other_backup, PASS),
        (
            "plain-another-did",
            "DID_MISMATCH",
            json!({"did": foreign_key.did(), "keypair": {"privateKey": seed_hex, "publicKey": public_hex}})
                .to_string(),
            PASS,
        ),
        (
            "plain-not-hex",
            "KEY_BACKUP_MALFORMED",
            json!({"keypair": {"privateKey": "zz".repeat(32)}}).to_string(),
            PASS,
        ),
        (
            "plain-31-bytes",
            "KEY_BACKUP_MALFORMED",
            json!({"keypair": {"privateKey": "09".repeat(31)}}).to_string(),
            PASS,
        ),
        (
            "plain-public-key-of-another",
            "KEY_BACKUP_MALFORMED",
            json!({"keypair": {"privateKey": "09".repeat(32), "publicKey": "00".repeat(32)}})
                .to_string(),
            PASS,
        ),
        (
            "plain-did-without-key",
            "DID_UNVERIFIABLE",
            json!({"did": "did:imajin:unbound", "keypair": {"privateKey": "09".repeat(32)}})
                .to_string(),
            PASS,
        ),
    ];
    for (name, expected, text, pass) in keys {
        c.check("key backup", name, expected, || {
            v.import_key(text, pass.into())
        })
        .await;
    }

    // ---- API arguments ------------------------------------------------------------------------
    let src = || source().to_owned();
    type Call<'a> = Box<dyn FnOnce() -> Promise + 'a>;
    let args: Vec<(&str, &str, Call)> = vec![
        (
            "pull-not-a-url",
            "INVALID_ARGUMENT",
            Box::new(|| v.pull("not a url".into(), None)),
        ),
        (
            "pull-ftp",
            "INVALID_ARGUMENT",
            Box::new(|| v.pull("ftp://127.0.0.1/m".into(), None)),
        ),
        (
            "pull-relative",
            "INVALID_ARGUMENT",
            Box::new(|| v.pull("/.well-known/bundle-node".into(), None)),
        ),
        (
            "pull-services-string",
            "INVALID_ARGUMENT",
            Box::new(move || {
                v.pull(
                    src(),
                    Some(options(&[("services", &"chat".into())]).unchecked_into()),
                )
            }),
        ),
        (
            "pull-unknown-service",
            "INVALID_ARGUMENT",
            Box::new(move || {
                let names = js_sys::Array::of1(&"no-such-service".into());
                v.pull(
                    src(),
                    Some(options(&[("services", &names.into())]).unchecked_into()),
                )
            }),
        ),
        (
            "pull-timeout-negative",
            "INVALID_ARGUMENT",
            Box::new(move || {
                v.pull(
                    src(),
                    Some(options(&[("timeoutMs", &(-1.0).into())]).unchecked_into()),
                )
            }),
        ),
        (
            "pull-progress-not-function",
            "INVALID_ARGUMENT",
            Box::new(move || {
                v.pull(
                    src(),
                    Some(options(&[("onProgress", &"yes".into())]).unchecked_into()),
                )
            }),
        ),
        (
            "pull-signal-not-signal",
            "INVALID_ARGUMENT",
            Box::new(move || {
                v.pull(
                    src(),
                    Some(options(&[("signal", &Object::new().into())]).unchecked_into()),
                )
            }),
        ),
        (
            "push-script-url",
            "INVALID_ARGUMENT",
            Box::new(|| v.push("javascript:alert(1)".into(), None)),
        ),
        (
            "push-unreachable",
            "NETWORK",
            Box::new(|| v.push("http://127.0.0.1:9/.well-known/bundle-node".into(), None)),
        ),
        (
            "count-huge-url",
            "INVALID_ARGUMENT",
            Box::new(|| v.remote_count(format!("http://example.invalid/{}", "a".repeat(3000)))),
        ),
        (
            "delete-services-number",
            "INVALID_ARGUMENT",
            Box::new(move || {
                v.delete_remote(
                    src(),
                    Some(options(&[("services", &5.into())]).unchecked_into()),
                )
            }),
        ),
        (
            "create-key-again",
            "KEY_EXISTS",
            Box::new(|| v.create_key("another long passphrase".into())),
        ),
        (
            "unlock-wrong",
            "BAD_PASSPHRASE",
            Box::new(|| v.unlock("not the passphrase".into())),
        ),
        (
            "export-key-short-passphrase",
            "INVALID_ARGUMENT",
            Box::new(|| v.export_key("short".into())),
        ),
    ];
    for (name, expected, call) in args {
        c.check("API argument", name, expected, call).await;
    }

    // ---- the catalogue as a whole -------------------------------------------------------------
    for (kind, name, code) in &c.seen {
        console_log!("catalogue: {kind:<12} {name:<28} {code}");
    }
    let kinds: std::collections::BTreeSet<_> = c.seen.iter().map(|(k, ..)| *k).collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(c.seen.len() >= 60, "{} entries", c.seen.len());
    // And the vault still works: the same pull finds nothing new, and a push succeeds.
    let again = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&again, "services")).iter() {
        assert!(get(&s, "error").is_undefined());
        assert_eq!(get(&s, "added").as_f64(), Some(0.0));
    }
    finish(vault).await;
}
