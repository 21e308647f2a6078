//! The `Vault` in Chromium on real IndexedDB (`wasm-pack test --headless --chrome -- --test vault`),
//! against real reference nodes started by `tools/with-nodes.sh` (their manifest URLs are compiled in
//! from SOURCE_MANIFEST and TARGET_MANIFEST). Every test uses its own database and deletes it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bundle_vault::wasm::vault::Vault;
use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn key_lifecycle() {
    let vault = fresh("keys").await;
    assert!(!vault.has_key());
    assert!(vault.locked());
    assert_eq!(code(vault.unlock(PASS.into())).await, "NO_KEY");
    assert_eq!(
        code(vault.create_key("short".into())).await,
        "INVALID_ARGUMENT"
    );

    let did = ok(vault.create_key(PASS.into())).await.as_string().unwrap();
    assert!(did.starts_with("did:imajin:"));
    assert_eq!(vault.did().unwrap(), did);
    assert!(vault.has_key() && !vault.locked());
    assert_eq!(code(vault.create_key(PASS.into())).await, "KEY_EXISTS");

    vault.lock();
    assert!(vault.locked());
    let before = digest(&vault).await;
    assert_eq!(
        code(vault.unlock("wrong passphrase".into())).await,
        "BAD_PASSPHRASE"
    );
    assert!(vault.locked());
    assert_eq!(code(vault.export_key(PASS.into())).await, "LOCKED");
    assert_eq!(
        digest(&vault).await,
        before,
        "a wrong passphrase changes nothing"
    );
    ok(vault.unlock(PASS.into())).await;
    assert!(!vault.locked());

    // The encrypted backup restores the same key into another vault.
    let backup = ok(vault.export_key("another passphrase".into()))
        .await
        .as_string()
        .unwrap();
    let parsed = JSON::parse(&backup).unwrap();
    assert_eq!(
        get(&parsed, "format").as_string().unwrap(),
        "bundle-vault-key"
    );
    assert_eq!(get(&parsed, "did").as_string().unwrap(), did);
    let other = fresh("keys-restore").await;
    assert_eq!(
        code(other.import_key(backup.clone(), PASS.into())).await,
        "BAD_PASSPHRASE"
    );
    assert!(!other.has_key());
    let restored = ok(other.import_key(backup, "another passphrase".into())).await;
    assert_eq!(restored.as_string().unwrap(), did);

    // Reopening keeps the sealed key, locked.
    let name = vault.name();
    vault.close();
    let reopened = Vault::open_named(&name).await.unwrap();
    assert!(reopened.has_key() && reopened.locked());
    assert_eq!(reopened.did().unwrap(), did);
    ok(reopened.unlock(PASS.into())).await;
    finish(reopened).await;
    finish(other).await;
}

#[wasm_bindgen_test]
async fn platform_backup_is_sealed_and_no_secret_is_stored() {
    let seed = [0x5au8; 32];
    let key = bundle_vault::core::keys::Keypair::from_seed(&seed);
    let plain = format!(
        r#"{{"did":"{}","keypair":{{"privateKey":"{}","publicKey":"{}"}},"exportedAt":"2026-03-09T16:45:00Z","warning":"keep secret"}}"#,
        key.did(),
        hex::encode(seed),
        hex::encode(key.public_key())
    );
    let vault = fresh("platform").await;
    assert_eq!(
        code(vault.import_key("{not json".into(), PASS.into())).await,
        "INVALID_JSON"
    );
    let did = ok(vault.import_key(plain, PASS.into()))
        .await
        .as_string()
        .unwrap();
    assert_eq!(did, key.did());

    // Scan every stored value for the secret in any of its encodings.
    let dump = ok(vault.dump()).await.as_string().unwrap();
    let b64 = |s: &str| s.to_owned();
    for needle in [
        hex::encode(seed),
        hex::encode(seed).to_uppercase(),
        b64("WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo"),
        "90,90,90,90".to_owned(),
    ] {
        assert!(!dump.contains(&needle), "the secret is stored in the clear");
    }
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    assert_eq!(storage.length().unwrap(), 0, "nothing in localStorage");
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn locked_vault_cannot_pull() {
    let vault = fresh("locked").await;
    ok(vault.create_key(PASS.into())).await;
    vault.lock();
    assert_eq!(code(vault.pull(source().into(), None)).await, "LOCKED");
    finish(vault).await;
}

/// `lock()` wins over an unlock, createKey or importKey still running: the vault ends locked.
#[wasm_bindgen_test]
async fn lock_wins_over_an_unlock_in_flight() {
    let vault = fresh("lock-race").await;
    let creating = vault.create_key(PASS.into());
    vault.lock();
    let did = ok(creating).await.as_string().unwrap();
    assert!(vault.locked(), "created and stored, but locked");
    assert!(vault.has_key());

    let unlocking = vault.unlock(PASS.into());
    vault.lock();
    assert_eq!(code(unlocking).await, "LOCKED");
    assert!(vault.locked());

    let backup = {
        ok(vault.unlock(PASS.into())).await;
        ok(vault.export_key(PASS.into())).await.as_string().unwrap()
    };
    vault.lock();
    let importing = vault.import_key(backup, PASS.into());
    vault.lock();
    ok(importing).await;
    assert!(vault.locked());
    // Nothing else changed: the same key opens it.
    ok(vault.unlock(PASS.into())).await;
    assert!(!vault.locked());
    assert_eq!(vault.did().unwrap(), did);
    finish(vault).await;
}

/// A browser without `AbortSignal.any` (below the supported ones): a pull fails with a typed error
/// instead of never settling, and its Web Lock is released (the next pull goes through).
#[wasm_bindgen_test]
async fn without_abort_signal_any_a_pull_fails_typed_and_lets_go() {
    let vault = fresh("no-abort-any").await;
    ok(vault.create_key(PASS.into())).await;
    let abort_signal = Reflect::get(&js_sys::global(), &"AbortSignal".into()).unwrap();
    let any = Reflect::get(&abort_signal, &"any".into()).unwrap();
    assert!(
        Reflect::delete_property(abort_signal.unchecked_ref::<Object>(), &"any".into()).unwrap()
    );
    let refused = code(vault.pull(source().into(), None)).await;
    Reflect::set(&abort_signal, &"any".into(), &any).unwrap();
    assert_eq!(refused, "NETWORK");
    let report = ok(vault.pull(source().into(), None)).await;
    assert_eq!(js_sys::Array::from(&get(&report, "services")).length(), 8);
    finish(vault).await;
}

async fn pulled(tag: &str) -> Vault {
    let vault = fresh(tag).await;
    ok(vault.create_key(PASS.into())).await;
    vault
}

#[wasm_bindgen_test]
async fn full_then_incremental_pull_matches_the_node() {
    let vault = pulled("pull").await;
    let report = ok(vault.pull(source().into(), None)).await;
    let services = js_sys::Array::from(&get(&report, "services"));
    assert_eq!(services.length(), 8, "every service of the manifest");
    let mut added = 0.0;
    for s in services.iter() {
        assert!(get(&s, "error").is_undefined(), "{:?}", get(&s, "error"));
        added += get(&s, "added").as_f64().unwrap();
    }
    let local = ok(vault.count()).await;
    let remote = ok(vault.remote_count(source().into())).await;
    assert!(added > 0.0);
    assert_eq!(total(&local), added);
    assert_eq!(remote_total(&remote), added);
    for s in services.iter() {
        let name = get(&s, "service").as_string().unwrap();
        let section = get(&s, "section").as_string().unwrap();
        let remote_counts = get(&get(&remote, &name), "counts");
        let local_counts = get(&local, &section);
        assert_eq!(
            JSON::stringify(&remote_counts).unwrap().as_string(),
            JSON::stringify(&local_counts).unwrap().as_string(),
            "{name}"
        );
    }
    // The log has an entry per added item.
    assert_eq!(get(&vault.log_head(), "length").as_f64().unwrap(), added);

    // A second pull changes nothing and appends nothing.
    let again = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&again, "services")).iter() {
        assert_eq!(
            get(&s, "added").as_f64().unwrap() + get(&s, "updated").as_f64().unwrap(),
            0.0
        );
    }
    let after_log = get(&vault.log_head(), "length").as_f64().unwrap();
    assert_eq!(after_log, added);

    // The bundle holds exactly the counted items, sorted by id.
    let bundle = ok(vault.bundle()).await;
    assert_eq!(
        get(&bundle, "did").as_string().unwrap(),
        vault.did().unwrap()
    );
    let sections = get(&bundle, "sections");
    let mut in_bundle = 0.0;
    for section in values(&sections) {
        for items in values(&section) {
            let items = js_sys::Array::from(&items);
            let ids: Vec<String> = items
                .iter()
                .map(|i| get(&i, "id").as_string().unwrap())
                .collect();
            let mut sorted = ids.clone();
            sorted.sort();
            assert_eq!(ids, sorted);
            in_bundle += items.length() as f64;
        }
    }
    assert_eq!(in_bundle, added);

    // The log reads in pages; options other than whole numbers are refused, not guessed at.
    let page = |since: f64, limit: f64| {
        options(&[
            ("since", &JsValue::from_f64(since)),
            ("limit", &JsValue::from_f64(limit)),
        ])
    };
    let entries = js_sys::Array::from(&ok(vault.log(Some(page(2.0, 3.0).unchecked_into()))).await);
    assert_eq!(entries.length(), 3);
    assert_eq!(get(&entries.get(0), "seq").as_f64(), Some(2.0));
    let all = js_sys::Array::from(&ok(vault.log(None)).await);
    assert_eq!(f64::from(all.length()), added.min(1000.0));
    for bad in [
        page(-1.0, 10.0),
        page(0.5, 10.0),
        page(0.0, 0.0),
        page(0.0, f64::NAN),
        options(&[("since", &JsValue::from_str("3"))]),
        JsValue::from_str("since=3"),
    ] {
        assert_eq!(
            code(vault.log(Some(bad.unchecked_into()))).await,
            "INVALID_ARGUMENT"
        );
    }
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn aborted_pull_resumes_without_duplicates_or_gaps() {
    let vault = pulled("abort").await;
    let controller = web_sys::AbortController::new().unwrap();
    let options = Object::new();
    Reflect::set(&options, &"signal".into(), &controller.signal()).unwrap();
    // Abort after the first progress event that reports merged items.
    let abort = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new({
        let controller = controller.clone();
        move |event: JsValue| {
            if get(&event, "items").as_f64().unwrap_or(0.0) > 0.0 {
                controller.abort();
            }
        }
    });
    Reflect::set(&options, &"onProgress".into(), abort.as_ref()).unwrap();
    assert_eq!(
        code(vault.pull(source().into(), Some(options.unchecked_into()))).await,
        "ABORTED"
    );
    drop(abort);
    let partial = total(&ok(vault.count()).await);

    let report = ok(vault.pull(source().into(), None)).await;
    let mut added = 0.0;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert!(get(&s, "error").is_undefined());
        added += get(&s, "added").as_f64().unwrap();
    }
    let local = total(&ok(vault.count()).await);
    let remote = remote_total(&ok(vault.remote_count(source().into())).await);
    assert_eq!(local, remote, "resumed pull has every item");
    assert_eq!(partial + added, local, "no item added twice");
    assert_eq!(get(&vault.log_head(), "length").as_f64().unwrap(), local);
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn unreachable_and_malformed_nodes_are_typed_errors() {
    let vault = pulled("bad-node").await;
    let before = digest(&vault).await;
    assert_eq!(
        code(vault.pull("http://127.0.0.1:9/.well-known/bundle-node".into(), None)).await,
        "NETWORK"
    );
    // The app server's 404 page is not a manifest.
    let missing = source().replace("/.well-known/bundle-node", "/.well-known/nothing-here");
    assert_eq!(code(vault.pull(missing, None)).await, "HTTP_STATUS");
    assert_eq!(
        code(vault.pull("not a url".into(), None)).await,
        "INVALID_ARGUMENT"
    );
    let options = Object::new();
    Reflect::set(
        &options,
        &"services".into(),
        &js_sys::Array::of1(&"nope".into()),
    )
    .unwrap();
    assert_eq!(
        code(vault.pull(source().into(), Some(options.unchecked_into()))).await,
        "INVALID_ARGUMENT"
    );
    for timeout in [
        JsValue::from(0),
        JsValue::from(-5),
        JsValue::from(1.5),
        JsValue::from(600_001),
        JsValue::from(f64::NAN),
        JsValue::from("1000"),
    ] {
        let options = Object::new();
        Reflect::set(&options, &"timeoutMs".into(), &timeout).unwrap();
        assert_eq!(
            code(vault.pull(source().into(), Some(options.unchecked_into()))).await,
            "INVALID_ARGUMENT",
            "timeoutMs {timeout:?}"
        );
    }
    assert_eq!(digest(&vault).await, before, "failed pulls change nothing");
    finish(vault).await;
}

// ---- Faults of the source node (`/dev/fault`, `--dev-endpoints`): token expiry, failing services and
// hostile export pages. Faults are armed per DID and service, so tests cannot disturb each other.

/// Calls a development endpoint of the source node and returns its JSON answer.
async fn dev(method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    common::node_json(source(), method, path, body).await
}

/// Arms `fault` on the DID's export requests of `service`: the next `count`, or until cleared.
async fn arm(did: &str, service: &str, fault: &str, count: Option<u32>) {
    let mut body =
        serde_json::json!({"did": did, "service": service, "fault": fault, "count": count});
    if fault == "slow" {
        // Well beyond the 1 s timeout the tests give a pull with this fault.
        body["delayMs"] = serde_json::json!(4000);
    }
    dev("POST", "/dev/fault", Some(body)).await;
}

fn did_query(did: &str) -> String {
    format!(
        "/dev/fault?did={}",
        String::from(js_sys::encode_uri_component(did))
    )
}

/// How many export requests the fault armed for the DID on `service` has answered.
async fn served(did: &str, service: &str) -> u64 {
    let listed = dev("GET", &did_query(did), None).await;
    listed["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["service"] == service)
        .and_then(|f| f["served"].as_u64())
        .unwrap_or(0)
}

/// Clears every fault of the DID.
async fn clear(did: &str) {
    dev("DELETE", &did_query(did), None).await;
}

/// Changes `fraction` of the DID's items on the node (new versions to pull).
async fn mutate(did: &str, fraction: f64) -> u64 {
    let answer = dev(
        "POST",
        "/dev/mutate",
        Some(serde_json::json!({"did": did, "fraction": fraction})),
    )
    .await;
    answer["updated"].as_u64().unwrap()
}

/// Pull options: only `services`, and a timeout when given.
fn only(services: &[&str], timeout_ms: Option<u32>) -> Object {
    let options = Object::new();
    let names = js_sys::Array::new();
    for s in services {
        names.push(&JsValue::from_str(s));
    }
    Reflect::set(&options, &"services".into(), &names).unwrap();
    if let Some(ms) = timeout_ms {
        Reflect::set(&options, &"timeoutMs".into(), &ms.into()).unwrap();
    }
    options
}

/// The report entry of one service.
fn entry(report: &JsValue, service: &str) -> JsValue {
    js_sys::Array::from(&get(report, "services"))
        .iter()
        .find(|s| get(s, "service").as_string().as_deref() == Some(service))
        .unwrap_or_else(|| panic!("no report for {service}"))
}

/// The error `{code, message}` of a report entry, if any.
fn error_of(entry: &JsValue) -> Option<(String, String)> {
    let error = get(entry, "error");
    (!error.is_undefined()).then(|| {
        (
            get(&error, "code").as_string().unwrap(),
            get(&error, "message").as_string().unwrap(),
        )
    })
}

fn number(entry: &JsValue, key: &str) -> f64 {
    get(entry, key).as_f64().unwrap()
}

fn log_length(vault: &Vault) -> f64 {
    get(&vault.log_head(), "length").as_f64().unwrap()
}

/// Item counts of one section of `Vault.count()` (or of `RemoteCounts`), as JSON text.
fn section_counts(counts: &JsValue, section: &str) -> String {
    let counts = get(counts, section);
    if counts.is_undefined() {
        return "{}".into();
    }
    JSON::stringify(&counts).unwrap().as_string().unwrap()
}

/// Every (collection, id) of the bundle is there once, and their number.
async fn unique_items(vault: &Vault) -> usize {
    let bundle = ok(vault.bundle()).await;
    let mut seen = std::collections::HashSet::new();
    for (section, collections) in Object::entries(get(&bundle, "sections").unchecked_ref())
        .iter()
        .map(|e| {
            (
                js_sys::Array::from(&e).get(0),
                js_sys::Array::from(&e).get(1),
            )
        })
    {
        for (collection, items) in Object::entries(collections.unchecked_ref())
            .iter()
            .map(|e| {
                (
                    js_sys::Array::from(&e).get(0),
                    js_sys::Array::from(&e).get(1),
                )
            })
        {
            for item in js_sys::Array::from(&items).iter() {
                let key = format!(
                    "{}/{}/{}",
                    section.as_string().unwrap(),
                    collection.as_string().unwrap(),
                    get(&item, "id").as_string().unwrap()
                );
                assert!(seen.insert(key.clone()), "{key} twice in the bundle");
            }
        }
    }
    seen.len()
}

#[wasm_bindgen_test]
async fn token_expiry_mid_pull_is_renewed_and_the_pull_completes() {
    let vault = pulled("expiry").await;
    let did = vault.did().unwrap();
    // The token expires when `connections` (6th of 8 services, 3 at a time) asks for its first page:
    // earlier services have finished with the first token by then.
    arm(&did, "connections", "expire-token", Some(1)).await;
    let events = std::rc::Rc::new(std::cell::RefCell::new(Vec::<(String, String)>::new()));
    let record = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new({
        let events = events.clone();
        move |event: JsValue| {
            events.borrow_mut().push((
                get(&event, "service").as_string().unwrap(),
                get(&event, "phase").as_string().unwrap(),
            ));
        }
    });
    let options = Object::new();
    Reflect::set(&options, &"onProgress".into(), record.as_ref()).unwrap();
    let report = ok(vault.pull(source().into(), Some(options.unchecked_into()))).await;
    drop(record);
    assert_eq!(
        served(&did, "connections").await,
        1,
        "the token expired mid-pull"
    );
    let events = events.borrow().clone();
    let started = events
        .iter()
        .position(|e| e == &("connections".to_owned(), "fetch".to_owned()))
        .unwrap();
    assert!(
        events[..started].iter().any(|(_, phase)| phase == "done"),
        "a service completed before the token expired: {events:?}"
    );

    let mut added = 0.0;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(error_of(&s), None, "{:?}", get(&s, "service"));
        added += number(&s, "added");
    }
    let local = ok(vault.count()).await;
    let remote = ok(vault.remote_count(source().into())).await;
    assert!(added > 0.0);
    assert_eq!(total(&local), added, "every item once");
    assert_eq!(remote_total(&remote), added, "every item of the node");
    assert_eq!(log_length(&vault), added, "one log entry per item");
    assert_eq!(unique_items(&vault).await as f64, added);
    for s in ["connections", "chat", "media"] {
        assert_eq!(
            section_counts(&local, s),
            section_counts(&get(&remote, s), "counts")
        );
    }

    // A node that keeps refusing fresh tokens (every chat request expires the DID's tokens, so this
    // pulls chat alone): the service fails with AUTH_FAILED after one renewal, without looping, and
    // nothing is stored.
    mutate(&did, 0.5).await;
    let before = digest(&vault).await;
    arm(&did, "chat", "expire-token", None).await;
    let report = ok(vault.pull(
        source().into(),
        Some(only(&["chat"], None).unchecked_into()),
    ))
    .await;
    let (code, message) = error_of(&entry(&report, "chat")).expect("chat fails");
    assert_eq!(code, "AUTH_FAILED", "{message}");
    assert!(message.contains("TOKEN_EXPIRED"), "{message}");
    assert_eq!(served(&did, "chat").await, 2, "one request, one retry");
    assert_eq!(digest(&vault).await, before);
    clear(&did).await;
    let report = ok(vault.pull(
        source().into(),
        Some(only(&["chat"], None).unchecked_into()),
    ))
    .await;
    assert_eq!(error_of(&entry(&report, "chat")), None);
    assert!(number(&entry(&report, "chat"), "updated") > 0.0);
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn failing_services_do_not_stop_the_others_and_complete_later() {
    let vault = pulled("failing").await;
    let did = vault.did().unwrap();
    arm(&did, "media", "status-503-html", None).await;
    arm(&did, "events", "altered", None).await;
    let report = ok(vault.pull(source().into(), None)).await;
    let services = js_sys::Array::from(&get(&report, "services"));
    assert_eq!(services.length(), 8);
    let remote = ok(vault.remote_count(source().into())).await;
    let local = ok(vault.count()).await;
    let mut added = 0.0;
    for s in services.iter() {
        let name = get(&s, "service").as_string().unwrap();
        let expected = match name.as_str() {
            "media" => Some("HTTP_STATUS"),
            "events" => Some("SIGNATURE_INVALID"),
            _ => None,
        };
        match (expected, error_of(&s)) {
            (None, None) => {
                // Pulled and committed.
                assert_eq!(
                    section_counts(&local, &name),
                    section_counts(&get(&remote, &name), "counts"),
                    "{name}"
                );
                added += number(&s, "added");
            }
            (Some(code), Some((got, message))) => {
                assert_eq!(got, code, "{name}: {message}");
                assert_eq!(number(&s, "added"), 0.0);
                assert_eq!(
                    section_counts(&local, &name),
                    "{}",
                    "{name}: nothing stored"
                );
            }
            (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
    let (_, message) = error_of(&entry(&report, "media")).unwrap();
    assert!(
        message.contains("HTTP 503") && message.contains("/services/media/export"),
        "{message}"
    );
    assert!(added > 0.0);
    assert_eq!(total(&local), added);
    assert_eq!(log_length(&vault), added);
    assert!(served(&did, "media").await >= 1 && served(&did, "events").await >= 1);

    // Once the node is well again, the next pull completes exactly the two failed services.
    clear(&did).await;
    let report = ok(vault.pull(source().into(), None)).await;
    let local = ok(vault.count()).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        let name = get(&s, "service").as_string().unwrap();
        assert_eq!(error_of(&s), None, "{name}");
        let fresh = number(&s, "added") + number(&s, "updated") + number(&s, "deleted");
        if name == "media" || name == "events" {
            assert!(fresh > 0.0, "{name} completed now");
        } else {
            assert_eq!(fresh, 0.0, "{name} had nothing new");
        }
        assert_eq!(
            section_counts(&local, &name),
            section_counts(&get(&remote, &name), "counts"),
            "{name}"
        );
    }
    assert_eq!(total(&local), remote_total(&remote));
    assert_eq!(log_length(&vault), total(&local));
    assert_eq!(unique_items(&vault).await as f64, total(&local));
    finish(vault).await;
}

/// Every hostile or broken export answer, the error code the vault reports for it, and a fragment of
/// the message. Pages the vault checks after the proof are signed correctly by the node key.
const HOSTILE: &[(&str, &str, &str)] = &[
    ("invalid-json", "INVALID_JSON", "invalid JSON"),
    ("missing-page-field", "EXPORT_MALFORMED", "done"),
    ("missing-item-field", "EXPORT_MALFORMED", "updated_at"),
    ("other-did", "DID_MISMATCH", "sent items of did:imajin:"),
    ("other-service", "EXPORT_MALFORMED", "injected"),
    ("no-proof", "PROOF_MALFORMED", "no proof"),
    // A valid signature by a key that is not the manifest's node key.
    ("foreign-key", "DID_MISMATCH", "not by the node key"),
    ("altered", "SIGNATURE_INVALID", "signature"),
    ("duplicate-id", "EXPORT_MALFORMED", "twice"),
    ("unsafe-number", "UNSAFE_NUMBER", "9007199254740993"),
    ("too-deep", "TOO_DEEP", "deeper than 64"),
    ("stuck-cursor", "EXPORT_MALFORMED", "cursor"),
    // Over the 64 MiB response cap (src/wasm/http.rs MAX_RESPONSE_BYTES), declared and undeclared.
    ("huge", "TOO_LARGE", "bytes"),
    ("huge-chunked", "TOO_LARGE", "bytes"),
    // The connection closes after half of the promised body.
    ("dropped-mid-body", "NETWORK", "/services/chat/export"),
    ("html", "EXPORT_MALFORMED", "text/html"),
    ("status-500", "HTTP_STATUS", "HTTP 500"),
    ("status-503-html", "HTTP_STATUS", "HTTP 503"),
    ("slow", "NETWORK", "timed out"),
];

/// A node that fails a share of its export answers (HTTP 500 at random, a third of them; and the first
/// two of one service for certain): each pull keeps what committed and reports the failed services,
/// and repeated pulls converge on exactly the node's data, with no duplicates and no gaps.
#[wasm_bindgen_test]
async fn pulls_through_random_server_errors_converge_without_duplicates_or_gaps() {
    let vault = pulled("flaky").await;
    let did = vault.did().unwrap();
    // Counting is not an export request: the faults leave it alone.
    let remote = ok(vault.remote_count(source().into())).await;
    let services: Vec<String> = js_sys::Object::keys(remote.unchecked_ref::<js_sys::Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    for service in &services {
        let fault = if service == "chat" {
            serde_json::json!({"did": did, "service": service, "fault": "status-500", "count": 2})
        } else {
            serde_json::json!({"did": did, "service": service, "fault": "status-500", "share": 0.34})
        };
        dev("POST", "/dev/fault", Some(fault)).await;
    }
    let mut failed_pulls = 0;
    let mut rounds = 0;
    while total(&ok(vault.count()).await) < remote_total(&remote) {
        rounds += 1;
        assert!(rounds <= 40, "the pulls did not converge");
        let report = ok(vault.pull(source().into(), None)).await;
        let errors: Vec<(String, String)> = js_sys::Array::from(&get(&report, "services"))
            .iter()
            .filter_map(|s| error_of(&s))
            .collect();
        for (code, message) in &errors {
            assert_eq!(code, "HTTP_STATUS", "{message}");
        }
        failed_pulls += usize::from(!errors.is_empty());
        // What committed stays, once: the log holds one entry per item stored so far.
        assert_eq!(log_length(&vault), unique_items(&vault).await as f64);
    }
    assert!(
        failed_pulls >= 2,
        "the faults fired ({failed_pulls} failed pulls)"
    );
    assert!(served(&did, "chat").await >= 2);
    clear(&did).await;
    let again = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&again, "services")).iter() {
        assert_eq!(error_of(&s), None);
        assert_eq!(number(&s, "added") + number(&s, "updated"), 0.0);
    }
    let local = ok(vault.count()).await;
    assert_eq!(total(&local), remote_total(&remote));
    assert_eq!(log_length(&vault), total(&local));
    assert_eq!(unique_items(&vault).await as f64, total(&local));
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn hostile_export_pages_are_typed_errors_and_change_nothing() {
    let vault = pulled("hostile").await;
    let did = vault.did().unwrap();
    let first = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&first, "services")).iter() {
        assert_eq!(error_of(&s), None);
    }
    let service = "chat";
    for &(fault, expected, fragment) in HOSTILE {
        // New versions wait on the node, so that a page wrongly accepted would change the store.
        assert!(mutate(&did, 0.5).await > 0);
        let before = digest(&vault).await;
        let (log_before, counts_before) = (log_length(&vault), total(&ok(vault.count()).await));
        // Until cleared: a vault that silently retried would meet the fault again.
        arm(&did, service, fault, None).await;
        let timeout = (fault == "slow").then_some(1000);
        let report = ok(vault.pull(
            source().into(),
            Some(only(&[service], timeout).unchecked_into()),
        ))
        .await;
        assert_eq!(js_sys::Array::from(&get(&report, "services")).length(), 1);
        let failed = entry(&report, service);
        let (code, message) = error_of(&failed).unwrap_or_else(|| panic!("{fault}: no error"));
        console_log!("{fault}: {code}: {message}");
        assert_eq!(code, expected, "{fault}: {message}");
        assert!(message.contains(fragment), "{fault}: {message}");
        for key in ["added", "updated", "deleted", "pages"] {
            assert_eq!(number(&failed, key), 0.0, "{fault}: {key}");
        }
        assert!(served(&did, service).await >= 1, "{fault} was served");
        assert_eq!(
            digest(&vault).await,
            before,
            "{fault}: the store is unchanged"
        );
        assert_eq!(log_length(&vault), log_before, "{fault}");
        assert_eq!(total(&ok(vault.count()).await), counts_before, "{fault}");

        // Without the fault, the same pull takes the waiting versions.
        clear(&did).await;
        let report = ok(vault.pull(
            source().into(),
            Some(only(&[service], None).unchecked_into()),
        ))
        .await;
        let recovered = entry(&report, service);
        assert_eq!(error_of(&recovered), None, "{fault}");
        assert!(number(&recovered, "updated") > 0.0, "{fault}");
        assert_eq!(
            log_length(&vault),
            log_before + number(&recovered, "updated")
        );
    }
    let local = ok(vault.count()).await;
    let remote = ok(vault.remote_count(source().into())).await;
    assert_eq!(total(&local), remote_total(&remote));
    finish(vault).await;
}
