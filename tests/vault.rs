//! The `Vault` in Chromium on real IndexedDB (`wasm-pack test --headless --chrome -- --test vault`),
//! against real reference nodes started by `tools/with-nodes.sh` (their manifest URLs are compiled in
//! from SOURCE_MANIFEST and TARGET_MANIFEST). Every test uses its own database and deletes it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bundle_vault::wasm::vault::Vault;
use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const PASS: &str = "correct horse battery staple";

fn source() -> &'static str {
    match option_env!("SOURCE_MANIFEST") {
        Some(url) => url,
        None => panic!("run through `make test-browser`, which starts the reference nodes"),
    }
}

/// The values of a plain JS object.
fn values(value: &JsValue) -> Vec<JsValue> {
    Object::values::<JsValue>(value.unchecked_ref()).to_vec()
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

async fn ok(promise: js_sys::Promise) -> JsValue {
    JsFuture::from(promise)
        .await
        .unwrap_or_else(|e| panic!("rejected: {:?}", get(&e, "message")))
}

async fn code(promise: js_sys::Promise) -> String {
    let error = JsFuture::from(promise)
        .await
        .expect_err("expected a rejection");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&error, "name").as_string().unwrap(), "VaultError");
    let code = get(&error, "code").as_string().unwrap();
    console_log!("{code}: {}", get(&error, "message").as_string().unwrap());
    code
}

/// A fresh vault with a unique name; `finish` deletes it.
async fn fresh(tag: &str) -> Vault {
    let name = format!("test-{tag}-{}", js_sys::Math::random());
    Vault::open_named(&name).await.unwrap()
}

async fn finish(vault: Vault) {
    let name = vault.name();
    vault.close();
    ok(Vault::destroy(name)).await;
}

async fn digest(vault: &Vault) -> String {
    ok(vault.digest()).await.as_string().unwrap()
}

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

async fn pulled(tag: &str) -> Vault {
    let vault = fresh(tag).await;
    ok(vault.create_key(PASS.into())).await;
    vault
}

fn total(counts: &JsValue) -> f64 {
    let mut sum = 0.0;
    for section in values(counts) {
        for n in values(&section) {
            sum += n.as_f64().unwrap();
        }
    }
    sum
}

/// Sums `{service: {section, counts: {collection: n}}}`.
fn remote_total(remote: &JsValue) -> f64 {
    values(remote)
        .iter()
        .flat_map(|s| values(&get(s, "counts")))
        .map(|n| n.as_f64().unwrap())
        .sum()
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
    assert_eq!(digest(&vault).await, before, "failed pulls change nothing");
    finish(vault).await;
}
