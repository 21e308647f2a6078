//! The user's rights in Chromium on real IndexedDB (`wasm-pack test --headless --chrome -- --test
//! rights`), against the two reference nodes `tools/with-nodes.sh` starts (SOURCE_MANIFEST,
//! TARGET_MANIFEST): sign, push with receipts and continuity, restore, delete with receipts.
//! Every test uses its own databases and deletes them.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bundle_vault::wasm::vault::Vault;
use bundle_vault::wasm::{canonicalize, verify_bundle, verify_document};
use js_sys::{Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod common;
use common::*;

wasm_bindgen_test_configure!(run_in_browser);

fn num(value: &JsValue, key: &str) -> f64 {
    get(value, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

fn text(value: &JsValue, key: &str) -> String {
    get(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// The RFC 8785 text of a JS value, to compare contents.
fn canon(value: &JsValue) -> String {
    canonicalize(&JSON::stringify(value).unwrap().as_string().unwrap())
        .map_err(|_| "canonicalize")
        .unwrap()
}

/// A fresh vault with a new key that has pulled everything from the source.
/// The first log entry from sequence number `seq` on.
async fn entry_at(vault: &Vault, seq: f64) -> JsValue {
    let since = options(&[("since", &JsValue::from_f64(seq))]);
    let entries = ok(vault.log(Some(since.unchecked_into()))).await;
    js_sys::Array::from(&entries).get(0)
}

async fn pulled(tag: &str) -> Vault {
    let vault = fresh(tag).await;
    ok(vault.create_key(PASS.into())).await;
    let report = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert!(get(&s, "error").is_undefined(), "{:?}", get(&s, "error"));
    }
    vault
}

/// A fresh vault holding the same key as `vault`.
async fn same_key(vault: &Vault, tag: &str) -> Vault {
    let backup = ok(vault.export_key(PASS.into())).await.as_string().unwrap();
    let other = fresh(tag).await;
    ok(other.import_key(backup, PASS.into())).await;
    other
}

#[wasm_bindgen_test]
async fn signed_bundle_verifies_and_commits_to_the_log() {
    let vault = pulled("sign").await;
    let before = digest(&vault).await;
    let signed = ok(vault.sign()).await;
    let result = verify_bundle(signed.clone());
    assert!(get(&result, "verified").as_bool().unwrap(), "{result:?}");
    assert_eq!(text(&result, "did"), vault.did().unwrap());
    assert_eq!(canon(&get(&signed, "log")), canon(&vault.log_head()));
    let proof = get(&signed, "proof");
    assert_eq!(text(&proof, "cryptosuite"), "eddsa-jcs-2022");
    // The object is the signed text parsed: its JSON text is RFC 8785 text, the proof member in its
    // place among the others.
    let stringified = JSON::stringify(&signed).unwrap().as_string().unwrap();
    assert!(
        canonicalize(&stringified).unwrap() == stringified,
        "JSON.stringify of sign()'s object is not RFC 8785 text"
    );
    let keys: Vec<String> = js_sys::Object::keys(signed.unchecked_ref::<js_sys::Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["did", "exported_at", "log", "node", "proof", "sections"]
    );
    // The same content as the unsigned bundle.
    let unsigned = ok(vault.bundle()).await;
    assert_eq!(
        canon(&get(&signed, "sections")),
        canon(&get(&unsigned, "sections"))
    );
    assert_eq!(digest(&vault).await, before, "signing writes nothing");

    // Tampering is detected.
    let tampered = JSON::parse(&JSON::stringify(&signed).unwrap().as_string().unwrap()).unwrap();
    Reflect::set(&tampered, &"node".into(), &"elsewhere".into()).unwrap();
    assert_eq!(text(&verify_bundle(tampered), "code"), "SIGNATURE_INVALID");

    // Locked: no signature.
    vault.lock();
    assert_eq!(code(vault.sign()).await, "LOCKED");
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn signed_bytes_are_the_backup_file_and_every_reader_takes_json_text() {
    let vault = pulled("sign-bytes").await;
    let did = vault.did().unwrap();
    let bytes: Uint8Array = ok(vault.sign_bytes()).await.dyn_into().unwrap();
    let json = String::from_utf8(bytes.to_vec()).unwrap();
    // The UTF-8 of the signed bundle's RFC 8785 text: what sign() gives, as bytes.
    assert_eq!(canonicalize(&json).unwrap(), json);
    let parsed = JSON::parse(&json).unwrap();
    let signed = ok(vault.sign()).await;
    for member in ["sections", "log"] {
        assert_eq!(canon(&get(&parsed, member)), canon(&get(&signed, member)));
    }
    assert_eq!(
        text(&get(&parsed, "proof"), "cryptosuite"),
        "eddsa-jcs-2022"
    );

    // verifyBundle and verifyDocument take JSON text as it comes: bytes, an ArrayBuffer, a string,
    // a pretty-printed string, a file's bytes with a byte-order mark.
    let pretty =
        JSON::stringify_with_replacer_and_space(&parsed, &JsValue::NULL, &2.into()).unwrap();
    let with_bom: Vec<u8> = [&[0xEF, 0xBB, 0xBF][..], json.as_bytes()].concat();
    let inputs: [JsValue; 5] = [
        bytes.clone().into(),
        bytes.buffer().into(),
        JsValue::from_str(&json),
        pretty.into(),
        Uint8Array::from(&with_bom[..]).into(),
    ];
    for input in inputs {
        let result = verify_bundle(input.clone());
        assert!(get(&result, "verified").as_bool().unwrap(), "{result:?}");
        assert_eq!(text(&result, "did"), did);
        let result = verify_document(input);
        assert!(get(&result, "verified").as_bool().unwrap(), "{result:?}");
    }
    // Changed text, bytes that are not UTF-8, a lone surrogate, text that is not JSON.
    let tampered = json.replacen("\"node\":\"", "\"node\":\"x", 1);
    assert_ne!(tampered, json);
    let mut not_utf8 = json.as_bytes().to_vec();
    not_utf8[20] = 0xFF;
    let lone = js_sys::JsString::from_char_code(&[0x22, 0xD800, 0x22]);
    for (input, expected) in [
        (JsValue::from_str(&tampered), "SIGNATURE_INVALID"),
        (Uint8Array::from(&not_utf8[..]).into(), "INVALID_JSON"),
        (lone.into(), "INVALID_JSON"),
        (JsValue::from_str("{\"did\":"), "INVALID_JSON"),
    ] {
        let result = verify_bundle(input.clone());
        assert_eq!(get(&result, "verified"), JsValue::FALSE);
        assert_eq!(text(&result, "code"), expected, "{result:?}");
        assert_eq!(text(&verify_document(input), "code"), expected);
    }

    // The vault's readers of a bundle take the bytes too: the file recorded as a backup, restored.
    let report = ok(vault.record_export(bytes.clone().into())).await;
    assert_eq!(get(&report, "coversLatest"), JsValue::TRUE);
    let before = digest(&vault).await;
    assert_eq!(
        code(vault.record_export(Uint8Array::from(&not_utf8[..]).into())).await,
        "INVALID_JSON"
    );
    assert_eq!(digest(&vault).await, before);
    let restored = same_key(&vault, "sign-bytes-restored").await;
    ok(restored.import_bundle(bytes.into())).await;
    assert_eq!(
        canon(&ok(restored.count()).await),
        canon(&ok(vault.count()).await)
    );

    vault.lock();
    assert_eq!(code(vault.sign_bytes()).await, "LOCKED");
    finish(restored).await;
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn push_is_verified_recorded_continuous_and_restorable() {
    let vault = pulled("push").await;
    let local = ok(vault.count()).await;
    let length = num(&vault.log_head(), "length");
    let phases = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let on_progress = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new({
        let phases = phases.clone();
        move |event: JsValue| phases.borrow_mut().push(text(&event, "phase"))
    });
    let report = ok(vault.push(
        target().into(),
        Some(options(&[("onProgress", on_progress.as_ref())]).unchecked_into()),
    ))
    .await;
    drop(on_progress);
    for phase in ["sign", "upload", "commit", "verify", "done"] {
        assert!(phases.borrow().iter().any(|p| p == phase), "{phase}");
    }
    assert!(!get(&report, "repeated").as_bool().unwrap());
    assert_eq!(num(&report, "uploaded"), num(&report, "size"));
    let continuity = get(&report, "continuity");
    assert!(
        get(&continuity, "ok").as_bool().unwrap(),
        "{}",
        canon(&continuity)
    );
    assert_eq!(canon(&get(&report, "counts")), canon(&local));
    let receipt = get(&report, "receipt");
    assert_eq!(text(&receipt, "type"), "TransferReceipt");
    assert_eq!(text(&receipt, "did"), vault.did().unwrap());
    assert_eq!(text(&receipt, "bundle_hash"), text(&report, "bundleHash"));
    // The receipt is in the log.
    assert_eq!(num(&vault.log_head(), "length"), length + 1.0);
    let entry = entry_at(&vault, length).await;
    assert_eq!(text(&entry, "op"), "receipt.transfer");
    assert_eq!(text(&entry, "ref"), text(&report, "bundleHash"));
    // The target now holds exactly the vault's data.
    let remote = ok(vault.remote_count(target().into())).await;
    assert_eq!(remote_total(&remote), total(&local));

    // A repeat is a no-op: nothing uploaded, nothing recorded.
    let before = digest(&vault).await;
    let again = ok(vault.push(target().into(), None)).await;
    assert!(get(&again, "repeated").as_bool().unwrap());
    assert_eq!(num(&again, "uploaded"), 0.0);
    assert_eq!(text(&again, "bundleHash"), text(&report, "bundleHash"));
    assert!(get(&get(&again, "continuity"), "ok").as_bool().unwrap());
    assert_eq!(digest(&vault).await, before);

    // Restore: a fresh vault with the same key pulls the same content from the target.
    let restored = same_key(&vault, "push-restored").await;
    ok(restored.pull(target().into(), None)).await;
    let mine = ok(vault.bundle()).await;
    let theirs = ok(restored.bundle()).await;
    assert_eq!(
        canon(&get(&mine, "sections")),
        canon(&get(&theirs, "sections"))
    );
    finish(restored).await;
    finish(vault).await;
}

/// Starts a push to the target and aborts it as its upload begins (the node's session is open);
/// answers that session's id.
async fn push_aborted_at_upload(vault: &Vault) -> String {
    let controller = web_sys::AbortController::new().unwrap();
    let sessions = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let abort = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new({
        let (controller, sessions) = (controller.clone(), sessions.clone());
        move |event: JsValue| {
            if text(&event, "phase") == "upload" {
                sessions.borrow_mut().push(text(&event, "sessionId"));
                controller.abort();
            }
        }
    });
    let opts = options(&[
        ("onProgress", abort.as_ref()),
        ("signal", controller.signal().as_ref()),
    ]);
    assert_eq!(
        code(vault.push(target().into(), Some(opts.unchecked_into()))).await,
        "ABORTED"
    );
    drop(abort);
    let first = sessions.borrow().first().cloned();
    first.expect("the push reached its upload")
}

#[wasm_bindgen_test]
async fn interrupted_push_resumes_the_same_session() {
    let vault = pulled("resume").await;
    let length = num(&vault.log_head(), "length");
    let session = push_aborted_at_upload(&vault).await;
    assert_eq!(num(&vault.log_head(), "length"), length, "nothing recorded");
    let report = ok(vault.push(target().into(), None)).await;
    assert_eq!(
        text(&report, "sessionId"),
        session,
        "the interrupted session is resumed"
    );
    assert!(!get(&report, "repeated").as_bool().unwrap());
    assert!(get(&get(&report, "continuity"), "ok").as_bool().unwrap());
    assert_eq!(num(&vault.log_head(), "length"), length + 1.0);
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn receipts_in_between_do_not_make_a_push_start_over() {
    let vault = pulled("resume-after-receipt").await;
    let session = push_aborted_at_upload(&vault).await;
    // Another receipt enters the log: an exported bundle the user keeps.
    let length = num(&vault.log_head(), "length");
    ok(vault.record_export(ok(vault.sign()).await)).await;
    assert_eq!(num(&vault.log_head(), "length"), length + 1.0);

    let report = ok(vault.push(target().into(), None)).await;
    assert_eq!(
        text(&report, "sessionId"),
        session,
        "the interrupted session is resumed"
    );
    assert!(!get(&report, "repeated").as_bool().unwrap());
    assert_eq!(
        get(&get(&report, "log"), "length").as_f64().unwrap(),
        length + 2.0
    );
    // The bundle commits to the log before the export's receipt: it still holds every item.
    let bundle_hash = text(&report, "bundleHash");

    // Once more after a further receipt: a repeat, nothing uploaded or recorded.
    ok(vault.record_export(ok(vault.sign()).await)).await;
    let length = num(&vault.log_head(), "length");
    let again = ok(vault.push(target().into(), None)).await;
    assert!(get(&again, "repeated").as_bool().unwrap());
    assert_eq!(num(&again, "uploaded"), 0.0);
    assert_eq!(text(&again, "bundleHash"), bundle_hash);
    assert_eq!(num(&vault.log_head(), "length"), length);
    assert!(get(&get(&again, "continuity"), "ok").as_bool().unwrap());
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn failing_pushes_are_typed_and_change_nothing() {
    let vault = pulled("push-bad").await;
    let before = digest(&vault).await;
    assert_eq!(
        code(vault.push("http://127.0.0.1:9/.well-known/bundle-node".into(), None)).await,
        "NETWORK"
    );
    let missing = target().replace("/.well-known/bundle-node", "/.well-known/nothing-here");
    assert_eq!(code(vault.push(missing, None)).await, "HTTP_STATUS");
    assert_eq!(
        code(vault.push("not a url".into(), None)).await,
        "INVALID_ARGUMENT"
    );
    assert_eq!(digest(&vault).await, before, "failed pushes change nothing");
    vault.lock();
    assert_eq!(code(vault.push(target().into(), None)).await, "LOCKED");
    finish(vault).await;
}

fn deleted_entries(entries: &JsValue) -> usize {
    js_sys::Array::from(entries)
        .iter()
        .filter(|e| text(e, "op") == "receipt.delete")
        .count()
}

#[wasm_bindgen_test]
async fn delete_is_refused_before_a_backup() {
    // Nothing pulled at all.
    let empty = fresh("delete-empty").await;
    ok(empty.create_key(PASS.into())).await;
    assert_eq!(
        code(empty.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    finish(empty).await;

    // Pulled but never pushed.
    let vault = pulled("delete-unsafe").await;
    let before = digest(&vault).await;
    let remote = remote_total(&ok(vault.remote_count(source().into())).await);
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    assert_eq!(digest(&vault).await, before, "the vault is unchanged");
    assert_eq!(
        remote_total(&ok(vault.remote_count(source().into())).await),
        remote,
        "nothing was deleted"
    );

    // Pushed only to the node it would delete from: that copy is no backup.
    ok(vault.push(source().into(), None)).await;
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    assert_eq!(
        remote_total(&ok(vault.remote_count(source().into())).await),
        remote,
        "nothing was deleted"
    );

    // Backed up, but the node changed since the last pull: pull first.
    ok(vault.push(target().into(), None)).await;
    let mutate = source().replace("/.well-known/bundle-node", "/dev/mutate");
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&format!(
        r#"{{"did":"{}","fraction":0.5}}"#,
        vault.did().unwrap()
    )));
    let headers = web_sys::Headers::new().unwrap();
    headers.set("Content-Type", "application/json").unwrap();
    init.set_headers(&headers);
    let window = web_sys::window().unwrap();
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str_and_init(&mutate, &init))
            .await
            .unwrap()
            .unchecked_into();
    assert!(response.ok(), "dev/mutate answered {}", response.status());
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    // Pulled again, the vault has changed since the backup: still refused until the next push.
    ok(vault.pull(source().into(), None)).await;
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    ok(vault.push(target().into(), None)).await;
    let report = ok(vault.delete_remote(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn delete_after_transfer_collects_verified_receipts() {
    let vault = pulled("delete").await;
    let local = ok(vault.count()).await;
    let held = ok(vault.bundle()).await;
    let push = ok(vault.push(target().into(), None)).await;
    assert!(get(&get(&push, "continuity"), "ok").as_bool().unwrap());

    // One service first; the rest later: nothing already deleted is asked again.
    let media = js_sys::Array::of1(&"media".into());
    let first = ok(vault.delete_remote(
        source().into(),
        Some(options(&[("services", media.as_ref())]).unchecked_into()),
    ))
    .await;
    let services = js_sys::Array::from(&get(&first, "services"));
    assert_eq!(services.length(), 1);
    let media_report = services.get(0);
    assert_eq!(text(&media_report, "status"), "deleted");
    assert_eq!(
        total(&options(&[("media", &get(&media_report, "deleted"))])),
        total(&options(&[("media", &get(&local, "media"))]))
    );
    let receipt = get(&media_report, "receipt");
    assert_eq!(text(&receipt, "type"), "DeletionReceipt");
    assert_eq!(text(&receipt, "did"), vault.did().unwrap());
    assert!(remote_total(&get(&first, "footprint")) > 0.0);

    let length = num(&vault.log_head(), "length");
    let rest = ok(vault.delete_remote(source().into(), None)).await;
    let services = js_sys::Array::from(&get(&rest, "services"));
    assert_eq!(services.length(), 8);
    let mut deleted = 0.0;
    let mut newly = 0.0;
    for s in services.iter() {
        let status = text(&s, "status");
        if text(&s, "service") == "media" {
            assert_eq!(status, "skipped");
        } else {
            assert_eq!(status, "deleted", "{}", canon(&s));
            newly += 1.0;
            deleted += total(&options(&[("x", &get(&s, "deleted"))]));
        }
    }
    deleted += total(&options(&[("media", &get(&media_report, "deleted"))]));
    assert_eq!(deleted, total(&local), "every item deleted once");
    assert_eq!(num(&vault.log_head(), "length"), length + newly);
    let entries = ok(vault.log(Some(
        options(&[("limit", &JsValue::from_f64(100_000.0))]).unchecked_into(),
    )))
    .await;
    assert_eq!(deleted_entries(&entries), 8, "a receipt entry per service");

    // The source holds nothing; the vault still holds everything.
    assert_eq!(
        remote_total(&ok(vault.remote_count(source().into())).await),
        0.0
    );
    assert_eq!(canon(&ok(vault.count()).await), canon(&local));
    let still = ok(vault.bundle()).await;
    assert_eq!(
        canon(&get(&still, "sections")),
        canon(&get(&held, "sections"))
    );

    // Pulling from the source again brings its tombstones: they are the vault's own doing and
    // delete nothing here.
    let again = ok(vault.pull(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&again, "services")).iter() {
        assert!(get(&s, "error").is_undefined(), "{}", text(&s, "service"));
        assert_eq!(num(&s, "deleted"), 0.0, "{}", text(&s, "service"));
    }
    assert_eq!(canon(&ok(vault.count()).await), canon(&local));
    assert_eq!(
        canon(&get(&ok(vault.bundle()).await, "sections")),
        canon(&get(&held, "sections"))
    );

    // Asking again asks nothing.
    let before = digest(&vault).await;
    let again = ok(vault.delete_remote(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&again, "services")).iter() {
        assert_eq!(text(&s, "status"), "skipped");
    }
    assert_eq!(digest(&vault).await, before);
    finish(vault).await;
}

/// A transfer stops being a backup once the vault had its node delete data, and a push there
/// again uploads new bytes (the node's committed session for the old ones would import nothing).
#[wasm_bindgen_test]
async fn a_transfer_whose_node_deleted_data_is_no_backup() {
    let vault = pulled("deleted-backup").await;
    let all = total(&ok(vault.count()).await);
    let first = ok(vault.push(target().into(), None)).await;
    ok(vault.push(source().into(), None)).await;
    // The vault has the target's data too (the same items: nothing changes), then has it deleted
    // there, covered by the transfer to the source.
    ok(vault.pull(target().into(), None)).await;
    let report = ok(vault.delete_remote(target().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    assert_eq!(
        remote_total(&ok(vault.remote_count(target().into())).await),
        0.0
    );

    // The target's receipt no longer covers deleting at the source.
    let before = digest(&vault).await;
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    assert_eq!(digest(&vault).await, before, "the refusal changes nothing");
    assert_eq!(
        remote_total(&ok(vault.remote_count(source().into())).await),
        all
    );

    // Pushing there again uploads new bytes, which the target imports: it holds everything again.
    let again = ok(vault.push(target().into(), None)).await;
    assert_ne!(text(&again, "bundleHash"), text(&first, "bundleHash"));
    assert!(get(&get(&again, "continuity"), "ok").as_bool().unwrap());
    assert_eq!(
        remote_total(&ok(vault.remote_count(target().into())).await),
        all
    );
    let report = ok(vault.delete_remote(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    finish(vault).await;
}

/// Another device of the DID pushing its own bundle to the backup node replaces what the node holds
/// for the DID: the transfer receipt alone no longer covers a delete, as `deleteRemote` asks the node
/// first; a push from this vault puts the bundle back there (the node imports it anew), and the delete
/// goes ahead.
#[wasm_bindgen_test]
async fn a_backup_another_device_replaced_is_no_backup() {
    let vault = pulled("replaced-backup").await;
    let all = total(&ok(vault.count()).await);
    let first = ok(vault.push(target().into(), None)).await;
    assert!(get(&get(&first, "continuity"), "ok").as_bool().unwrap());
    let other = same_key(&vault, "replaced-backup-other").await;
    ok(other.push(target().into(), None)).await;
    assert_eq!(
        remote_total(&ok(vault.remote_count(target().into())).await),
        0.0,
        "the other device's empty bundle replaced the data there"
    );

    let before = digest(&vault).await;
    let refused = JsFuture::from(vault.delete_remote(source().into(), None))
        .await
        .expect_err("a replaced backup covers no delete");
    assert_eq!(text(&refused, "code"), "NOT_BACKED_UP");
    let message = text(&refused, "message");
    assert!(message.contains("replaced the backup"), "{message}");
    assert_eq!(digest(&vault).await, before, "the refusal changes nothing");
    assert_eq!(
        remote_total(&ok(vault.remote_count(source().into())).await),
        all,
        "nothing was deleted"
    );

    let again = ok(vault.push(target().into(), None)).await;
    assert!(get(&get(&again, "continuity"), "ok").as_bool().unwrap());
    assert_eq!(
        remote_total(&ok(vault.remote_count(target().into())).await),
        all
    );
    let report = ok(vault.delete_remote(source().into(), None)).await;
    let backup = get(&report, "backup");
    assert_eq!(text(&backup, "kind"), "transfer");
    assert_eq!(text(&backup, "nodeDid"), text(&again, "nodeDid"));
    assert_eq!(text(&backup, "manifestUrl"), target());
    assert_eq!(
        num(&get(&backup, "log"), "length"),
        num(&get(&first, "log"), "length") - 1.0,
        "the pushed bundle, signed before its receipt entry"
    );
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    finish(other).await;
    finish(vault).await;
}

#[wasm_bindgen_test]
async fn signed_bundle_restores_into_a_vault_of_the_same_did() {
    let vault = pulled("import").await;
    let signed = ok(vault.sign()).await;
    let restored = same_key(&vault, "import-restored").await;
    let report = ok(restored.import_bundle(signed.clone())).await;
    let added: f64 = js_sys::Array::from(&get(&report, "sections"))
        .iter()
        .map(|s| num(&s, "added"))
        .sum();
    assert_eq!(added, total(&ok(vault.count()).await));
    let again = ok(restored.sign()).await;
    assert_eq!(
        canon(&get(&again, "sections")),
        canon(&get(&signed, "sections")),
        "the restored vault signs the same content"
    );
    assert!(get(&verify_bundle(again), "verified").as_bool().unwrap());
    // Importing again changes nothing.
    let before = digest(&restored).await;
    let repeat = ok(restored.import_bundle(signed.clone())).await;
    for s in js_sys::Array::from(&get(&repeat, "sections")).iter() {
        assert_eq!(num(&s, "added") + num(&s, "updated"), 0.0);
    }
    assert_eq!(digest(&restored).await, before);

    // Into a vault that holds part of it already (one service pulled): the sections it holds add
    // nothing and take no commit, the others are added after them, and the vault reopens as it is.
    let partial = same_key(&vault, "import-partial").await;
    let chat = js_sys::Array::of1(&"chat".into());
    ok(partial.pull(
        source().into(),
        Some(options(&[("services", chat.as_ref())]).unchecked_into()),
    ))
    .await;
    let held = total(&ok(partial.count()).await);
    assert!(held > 0.0);
    let report = ok(partial.import_bundle(signed.clone())).await;
    let (mut added, mut unchanged) = (0.0, 0.0);
    for s in js_sys::Array::from(&get(&report, "sections")).iter() {
        added += num(&s, "added");
        unchanged += num(&s, "unchanged");
    }
    assert_eq!(
        (added, unchanged),
        (total(&ok(vault.count()).await) - held, held)
    );
    assert_eq!(
        canon(&get(&ok(partial.sign()).await, "sections")),
        canon(&get(&signed, "sections"))
    );
    let head = canon(&partial.log_head());
    let entries = ok(partial.log(Some(
        options(&[("limit", &JsValue::from_f64(100_000.0))]).unchecked_into(),
    )))
    .await;
    assert_eq!(
        js_sys::Array::from(&entries).length() as f64,
        num(&partial.log_head(), "length")
    );
    let reopened = Vault::open_named(&partial.name()).await.unwrap();
    assert_eq!(canon(&reopened.log_head()), head);
    reopened.close();
    finish(partial).await;

    // Another DID, a tampered file, a non-bundle: typed errors, nothing changed.
    let other = fresh("import-other").await;
    ok(other.create_key(PASS.into())).await;
    let other_before = digest(&other).await;
    assert_eq!(
        code(other.import_bundle(signed.clone())).await,
        "DID_MISMATCH"
    );
    assert_eq!(digest(&other).await, other_before);
    let tampered = JSON::parse(&JSON::stringify(&signed).unwrap().as_string().unwrap()).unwrap();
    Reflect::set(
        &tampered,
        &"exported_at".into(),
        &"2020-01-01T00:00:00Z".into(),
    )
    .unwrap();
    assert_eq!(
        code(restored.import_bundle(tampered)).await,
        "SIGNATURE_INVALID"
    );
    // A string is the bundle's JSON text: here not JSON, then JSON that is no bundle.
    assert_eq!(
        code(restored.import_bundle(JsValue::from_str("bundle"))).await,
        "INVALID_JSON"
    );
    assert_eq!(
        code(restored.import_bundle(JsValue::from_str("\"bundle\""))).await,
        "BUNDLE_MALFORMED"
    );
    assert_eq!(
        code(restored.import_bundle(JsValue::from_f64(1.0))).await,
        "BUNDLE_MALFORMED"
    );
    assert_eq!(digest(&restored).await, before);
    let keyless = fresh("import-keyless").await;
    assert_eq!(code(keyless.import_bundle(signed)).await, "NO_KEY");
    finish(keyless).await;
    finish(other).await;
    finish(restored).await;
    finish(vault).await;
}

// ---- A lying target node (`/dev/fault`, `--dev-endpoints`): receipt faults armed for the DID and the
// pseudo-service `transfer`. The node commits and imports for real and stores the genuine receipt, then
// answers the commit with a forged one.

/// Calls a development endpoint of the target node and returns its JSON answer.
async fn target_dev(method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    common::node_json(target(), method, path, Some(body)).await
}

/// Every store of the vault (`dump`), without the push record of the target (`meta`, key
/// `push <node did>`): push writes it before uploading, by design, so that a push can resume.
async fn stored_without_push_record(vault: &Vault) -> (serde_json::Value, Vec<serde_json::Value>) {
    let mut dump: serde_json::Value =
        serde_json::from_str(&ok(vault.dump()).await.as_string().unwrap()).unwrap();
    let meta = dump["meta"].as_array_mut().unwrap();
    let (push, rest): (Vec<_>, Vec<_>) = meta
        .drain(..)
        .partition(|r| r[0].as_str().unwrap().contains("push "));
    *meta = rest;
    (dump, push)
}

#[wasm_bindgen_test]
async fn forged_receipt_refused() {
    for (fault, expected) in [
        ("receipt-foreign-key", "DID_MISMATCH"),
        ("receipt-altered", "SIGNATURE_INVALID"),
        ("receipt-wrong-hash", "EXPORT_MALFORMED"),
        ("receipt-wrong-did", "EXPORT_MALFORMED"),
    ] {
        // A vault (and DID) of its own per fault: the node commits each forged push for real.
        let vault = pulled(fault).await;
        let did = vault.did().unwrap();
        let (before, none) = stored_without_push_record(&vault).await;
        assert!(none.is_empty());
        let length = num(&vault.log_head(), "length");
        let armed = target_dev(
            "POST",
            "/dev/fault",
            serde_json::json!({"did": did, "service": "transfer", "fault": fault}),
        )
        .await;
        assert_eq!(armed["fault"], fault);

        assert_eq!(
            code(vault.push(target().into(), None)).await,
            expected,
            "{fault}"
        );
        // Nothing recorded: items, log, receipts, cursors, keys as before; only the push record that
        // push writes before uploading, with no `after` (the push did not complete).
        let (after, push) = stored_without_push_record(&vault).await;
        assert_eq!(after, before, "{fault}: the vault is unchanged");
        assert_eq!(push.len(), 1, "{fault}");
        let record: serde_json::Value = serde_json::from_str(push[0][1].as_str().unwrap()).unwrap();
        assert!(record["after"].is_null(), "{fault}: {record}");
        assert_eq!(num(&vault.log_head(), "length"), length, "{fault}");
        let digest_after_refusal = digest(&vault).await;

        // Cleared, a push completes: the same bytes, so the node's committed session answers its
        // stored genuine receipt; nothing is uploaded again, and the receipt is recorded.
        let cleared = target_dev(
            "POST",
            "/dev/fault",
            serde_json::json!({"did": did, "service": "transfer", "fault": "none"}),
        )
        .await;
        assert_eq!(cleared["cleared"], 1, "{fault}");
        let report = ok(vault.push(target().into(), None)).await;
        assert_eq!(
            text(&report, "bundleHash"),
            record["bundle_hash"],
            "{fault}"
        );
        assert_eq!(num(&report, "uploaded"), 0.0, "{fault}");
        assert!(!get(&report, "repeated").as_bool().unwrap(), "{fault}");
        assert!(
            get(&get(&report, "continuity"), "ok").as_bool().unwrap(),
            "{fault}"
        );
        let receipt = get(&report, "receipt");
        assert_eq!(text(&receipt, "did"), did);
        assert_eq!(text(&receipt, "bundle_hash"), text(&report, "bundleHash"));
        assert_eq!(num(&vault.log_head(), "length"), length + 1.0, "{fault}");
        assert_ne!(digest(&vault).await, digest_after_refusal);
        finish(vault).await;
    }
}

/// A push and a pull started together on one vault both complete, without corrupting the log or the
/// index, and the next push leaves a backup that lets deleteRemote proceed. (Whether the pull's pages
/// commit during the upload depends on timing; the push record's rule for that case is in
/// `push.rs`, steps 1 and 3.)
#[wasm_bindgen_test]
async fn push_and_pull_at_once_leave_a_usable_backup() {
    let vault = pulled("push-race").await;
    let did = vault.did().unwrap();
    common::node_json(
        source(),
        "POST",
        "/dev/mutate",
        Some(serde_json::json!({"did": did, "fraction": 0.5})),
    )
    .await;
    // Both run at once on the same vault.
    let push = JsFuture::from(vault.push(target().into(), None));
    let pull = JsFuture::from(vault.pull(source().into(), None));
    let (pushed, pulled_again) = futures_util::future::join(push, pull).await;
    assert!(get(&pushed.unwrap(), "continuity").is_object());
    let report = pulled_again.unwrap();
    let updated: f64 = js_sys::Array::from(&get(&report, "services"))
        .iter()
        .map(|s| num(&s, "updated"))
        .sum();
    assert!(updated > 0.0, "the pull brought the mutated items");

    // The next push covers everything the vault holds, so deleting from the source is allowed.
    ok(vault.push(target().into(), None)).await;
    let report = ok(vault.delete_remote(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    finish(vault).await;
}

/// A signed bundle the user exported and keeps is a backup: recorded with `recordExport`, it lets
/// `deleteRemote` proceed; bundles that are not this vault's are refused and change nothing, and an
/// export older than the last change covers nothing new.
#[wasm_bindgen_test]
async fn an_exported_bundle_is_a_backup_for_delete() {
    let vault = pulled("export-backup").await;
    let did = vault.did().unwrap();
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    let signed = ok(vault.sign()).await;
    let length = num(&vault.log_head(), "length");
    let signed_log = get(&signed, "log");

    // Refused: another vault's bundle, a tampered copy, a bundle of another history of the same key.
    let before = digest(&vault).await;
    let other = fresh("export-backup-other").await;
    ok(other.create_key(PASS.into())).await;
    assert_eq!(
        code(vault.record_export(ok(other.sign()).await)).await,
        "DID_MISMATCH"
    );
    finish(other).await;
    let tampered: serde_json::Value =
        serde_json::from_str(&JSON::stringify(&signed).unwrap().as_string().unwrap()).unwrap();
    let mut tampered = tampered;
    tampered["exported_at"] = serde_json::json!("2020-01-01T00:00:00Z");
    let tampered = JSON::parse(&tampered.to_string()).unwrap();
    assert_eq!(
        code(vault.record_export(tampered)).await,
        "SIGNATURE_INVALID"
    );
    let twin = same_key(&vault, "export-backup-twin").await;
    // Its own pull of one service: its own log (other entries, other times).
    let chat = js_sys::Array::of1(&"chat".into());
    ok(twin.pull(
        source().into(),
        Some(options(&[("services", chat.as_ref())]).unchecked_into()),
    ))
    .await;
    assert_eq!(
        code(vault.record_export(ok(twin.sign()).await)).await,
        "BUNDLE_MALFORMED"
    );
    finish(twin).await;
    assert_eq!(digest(&vault).await, before, "refusals change nothing");

    // Recorded once, with one log entry; recording it again changes nothing.
    let report = ok(vault.record_export(signed.clone())).await;
    assert!(!get(&report, "repeated").as_bool().unwrap());
    assert!(get(&report, "coversLatest").as_bool().unwrap());
    assert_eq!(canon(&get(&report, "log")), canon(&signed_log));
    assert_eq!(text(&report, "exportedAt"), text(&signed, "exported_at"));
    assert_eq!(num(&vault.log_head(), "length"), length + 1.0);
    let entry = entry_at(&vault, length).await;
    assert_eq!(text(&entry, "op"), "receipt.export");
    assert_eq!(text(&entry, "ref"), text(&report, "bundleHash"));
    let recorded = digest(&vault).await;
    let again = ok(vault.record_export(signed.clone())).await;
    assert!(get(&again, "repeated").as_bool().unwrap());
    assert_eq!(digest(&vault).await, recorded);

    // The same bytes a push would upload: the hash is the one a push reports for this bundle.
    let canonical = canonicalize(&JSON::stringify(&signed).unwrap().as_string().unwrap())
        .map_err(|_| "canonicalize")
        .unwrap();
    let hash: [u8; 32] = {
        use sha2::{Digest, Sha256};
        Sha256::digest(canonical.as_bytes()).into()
    };
    assert_eq!(text(&report, "bundleHash"), hex::encode(hash));

    // The export covers the vault: deleting from the source proceeds with receipts.
    let report = ok(vault.delete_remote(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&report, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    assert_eq!(
        remote_total(&ok(vault.remote_count(source().into())).await),
        0.0
    );
    assert_eq!(vault.did().unwrap(), did);
    finish(vault).await;
}

/// An export made before the last data change does not cover it.
#[wasm_bindgen_test]
async fn an_old_export_does_not_cover_newer_data() {
    let vault = pulled("export-old").await;
    let signed = ok(vault.sign()).await;
    let did = vault.did().unwrap();
    node_json(
        source(),
        "POST",
        "/dev/mutate",
        Some(serde_json::json!({"did": did, "fraction": 0.2})),
    )
    .await;
    ok(vault.pull(source().into(), None)).await;
    let report = ok(vault.record_export(signed)).await;
    assert!(!get(&report, "coversLatest").as_bool().unwrap());
    assert_eq!(
        code(vault.delete_remote(source().into(), None)).await,
        "NOT_BACKED_UP"
    );
    // A new export covers it.
    let fresh_export = ok(vault.sign()).await;
    assert!(
        get(&ok(vault.record_export(fresh_export)).await, "coversLatest")
            .as_bool()
            .unwrap()
    );
    let deleted = ok(vault.delete_remote(source().into(), None)).await;
    for s in js_sys::Array::from(&get(&deleted, "services")).iter() {
        assert_eq!(text(&s, "status"), "deleted", "{}", canon(&s));
    }
    finish(vault).await;
}
