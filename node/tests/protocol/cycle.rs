//! The whole cycle: login, export every page of every service (each page verified against the
//! manifest's node key), count, delete with verified receipts, and transfer of the signed bundle into a
//! second node in chunks — resumed, repeated — after which the second node exports the same data.

use bundle_vault::core::bundle::verify_bundle;
use bundle_vault::core::receipt::{DeleteRequest, DeletionReceipt, TransferReceipt};
use serde_json::{json, Map, Value};

use crate::common::*;

#[test]
fn export_count_delete_transfer() {
    let source = TestNode::start("source", |c| c.demo_items = 1500);
    let target = TestNode::start("target", |c| c.chunk_size = 16 * 1024);
    let (src, dst) = (source.client(), target.client());
    let user = keypair(11);
    let did = user.did();

    // The manifest: eight services, relative URLs, the node's did:key.
    let manifest = src.manifest();
    assert_eq!(manifest.node, "source");
    assert!(manifest.did.starts_with("did:key:z6Mk"));
    let names: Vec<&str> = manifest.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "identity",
            "profile",
            "media",
            "events",
            "chat",
            "connections",
            "learn",
            "fair"
        ]
    );
    let raw = src.get("/.well-known/bundle-node", None).ok();
    assert_eq!(raw["services"][2]["export"], "/services/media/export");
    assert_eq!(raw["transfer"], "/transfer");

    // Export every service in pages of 100 and rebuild the account.
    let token = src.login(&user);
    let mut state = Sections::new();
    let mut total = 0;
    for service in &manifest.services {
        let (pages, _) = src.export_all(&token, &manifest.did, &service.name, &did, 100, None);
        assert!(pages.iter().all(|p| p.section == service.name));
        let items: usize = pages.iter().map(|p| p.items.len()).sum();
        total += items;
        apply_pages(&mut state, &pages);
        // Counts agree with what was exported, and list every collection.
        let counts = src.count(&token, &service.name, &did);
        let expected: Vec<(String, u64)> = counts
            .keys()
            .map(|c| {
                let n = state
                    .get(&service.name)
                    .and_then(|s| s.get(c))
                    .map_or(0, |items| items.len() as u64);
                (c.clone(), n)
            })
            .collect();
        assert_eq!(counts.into_iter().collect::<Vec<_>>(), expected);
    }
    assert_eq!(total, 1500);
    assert!(state["chat"]["messages"].len() > state["media"]["assets"].len());
    assert_eq!(
        state["identity"]["tier"]["tier"]["data"],
        json!({"tier": "established"})
    );
    assert!(state["profile"]["profile"].contains_key(&did));
    let media_counts = src.count(&token, "media", &did);
    assert_eq!(
        media_counts.keys().collect::<Vec<_>>(),
        ["assets", "contexts"]
    );

    // The signed bundle from the export, uploaded to the target in chunks with a break.
    let (bundle, bytes) = signed_bundle(&user, sections_value(&state));
    verify_bundle(&bundle).unwrap();
    let hash = sha256_hex(&bytes);
    let target_token = dst.login(&user);
    let create = json!({"did": did, "bundle_hash": hash, "size": bytes.len()});
    let first = dst.post_json("/transfer/sessions", Some(&target_token), &create);
    assert_eq!(first.status, 201);
    let session = first.body;
    let id = session["session_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("xfr_"));
    let chunk = session["chunk_size"].as_u64().unwrap() as usize;
    assert_eq!(chunk, 16 * 1024);
    assert_eq!(session["received"], 0);
    let parts: Vec<&[u8]> = bytes.chunks(chunk).collect();
    assert!(parts.len() >= 4, "{} chunks", parts.len());
    let half = parts.len() / 2;
    for (i, part) in parts.iter().enumerate().take(half) {
        let reply = dst
            .put_bytes(
                &format!("/transfer/sessions/{id}/chunks/{i}"),
                Some(&target_token),
                "application/octet-stream",
                part,
            )
            .ok();
        assert_eq!(reply["received"], ((i + 1) * chunk) as u64);
    }
    // The connection "breaks"; the client asks again for the same bundle and resumes.
    let resumed = dst.post_json("/transfer/sessions", Some(&target_token), &create);
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.body["session_id"], id.as_str());
    let received = resumed.body["received"].as_u64().unwrap() as usize;
    assert_eq!(received, half * chunk);
    // Re-sending an acknowledged chunk is a no-op.
    let again = dst
        .put_bytes(
            &format!("/transfer/sessions/{id}/chunks/0"),
            Some(&target_token),
            "application/octet-stream",
            parts[0],
        )
        .ok();
    assert_eq!(again["received"], received as u64);
    // Committing early is refused without harm.
    dst.post_empty(
        &format!("/transfer/sessions/{id}/commit"),
        Some(&target_token),
    )
    .err(409, "INCOMPLETE");
    for (i, part) in parts.iter().enumerate().skip(received / chunk) {
        dst.put_bytes(
            &format!("/transfer/sessions/{id}/chunks/{i}"),
            Some(&target_token),
            "application/octet-stream",
            part,
        )
        .ok();
    }
    let status = dst
        .get(&format!("/transfer/sessions/{id}"), Some(&target_token))
        .ok();
    assert_eq!(status["received"], bytes.len() as u64);
    assert_eq!(status["committed"], false);
    let receipt = dst
        .post_empty(
            &format!("/transfer/sessions/{id}/commit"),
            Some(&target_token),
        )
        .ok();
    let target_manifest = dst.manifest();
    let parsed =
        TransferReceipt::verify_for_bundle(&receipt, &target_manifest.did, &did, &hash).unwrap();
    assert_eq!(parsed.node, "target");
    assert_eq!(
        parsed.counts["chat"]["messages"],
        state["chat"]["messages"].len() as u64
    );
    // Commit repeated, and the session asked for again: the same stored receipt.
    let repeated = dst
        .post_empty(
            &format!("/transfer/sessions/{id}/commit"),
            Some(&target_token),
        )
        .ok();
    assert_eq!(repeated, receipt);
    let committed = dst
        .post_json("/transfer/sessions", Some(&target_token), &create)
        .ok();
    assert_eq!(committed["committed"], true);
    assert_eq!(committed["receipt"], receipt);

    // The target's own export and counts now return exactly the bundle's data.
    let imported = export_state(&dst, &target_token, &did);
    assert_eq!(sections_value(&imported), bundle["sections"]);
    for service in &target_manifest.services {
        assert_eq!(
            dst.count(&target_token, &service.name, &did),
            src.count(&token, &service.name, &did)
        );
    }

    // Delete on the source, service by service, with receipts signed by the source's key.
    let (_, before_delete) = src.export_all(&token, &manifest.did, "media", &did, 5000, None);
    for service in &manifest.services {
        let before = src.count(&token, &service.name, &did);
        let request = delete_request(&user, &service.name, &manifest.did);
        let receipt = src
            .post_json(
                &format!("/services/{}/delete", service.name),
                Some(&token),
                &request,
            )
            .ok();
        let parsed =
            DeletionReceipt::verify_for_request(&receipt, &manifest.did, &request).unwrap();
        assert_eq!(parsed.deleted, before, "{}", service.name);
        assert!(src
            .count(&token, &service.name, &did)
            .values()
            .all(|n| *n == 0));
        // The same request again (its answer lost) answers the receipt it got, deleting nothing.
        let again = src
            .post_json(
                &format!("/services/{}/delete", service.name),
                Some(&token),
                &request,
            )
            .ok();
        assert_eq!(again, receipt, "{}", service.name);
        // A fresh request answers zero counts.
        let fresh = delete_request(&user, &service.name, &manifest.did);
        let receipt = src
            .post_json(
                &format!("/services/{}/delete", service.name),
                Some(&token),
                &fresh,
            )
            .ok();
        let parsed = DeletionReceipt::verify_for_request(&receipt, &manifest.did, &fresh).unwrap();
        assert!(parsed.deleted.values().all(|n| *n == 0));
        assert_eq!(parsed.deleted.len(), before.len());
    }
    // The deletions show as tombstones to an incremental export.
    let (pages, _) = src.export_all(
        &token,
        &manifest.did,
        "media",
        &did,
        5000,
        Some(&before_delete),
    );
    let tombstones: Vec<_> = pages.iter().flat_map(|p| &p.items).collect();
    assert_eq!(
        tombstones.len(),
        state["media"].values().map(|c| c.len()).sum::<usize>()
    );
    assert!(tombstones
        .iter()
        .all(|i| i.deleted && i.data == Value::Null));
    // The target still holds the transferred data.
    assert_eq!(
        sections_value(&export_state(&dst, &target_token, &did)),
        bundle["sections"]
    );
}

/// A delete request signed by `key`, made now.
pub fn delete_request(key: &bundle_vault::core::keys::Keypair, service: &str, node: &str) -> Value {
    let now = bundle_node::clock::now_timestamp();
    DeleteRequest::new(&key.did(), service, node, &now)
        .unwrap()
        .sign(key, &now)
        .unwrap()
}

#[test]
fn import_replaces_the_dids_data_and_keeps_unknown_sections() {
    let node = TestNode::start("target", |_| {});
    let client = node.client();
    let user = keypair(12);
    let did = user.did();
    let token = client.login(&user);
    let t = "2026-03-09T16:45:00.000Z";
    let first = json!({
        "chat": {"messages": [
            {"id": "msg_a", "updated_at": t, "data": {"content": "Salut 👋"}},
            {"id": "msg_b", "updated_at": t, "data": {"content": "Ça va ?"}}
        ]},
        "tips": {"given": [{"id": "tip_1", "updated_at": t, "data": {"amount": {"amount": 500, "currency": "CAD"}}}]}
    });
    let (_, bytes) = signed_bundle(&user, first.clone());
    let receipt = upload(&client, &token, &did, &bytes).ok();
    assert_eq!(receipt["counts"]["tips"]["given"], 1);
    // The plugin section became a service of this node.
    let manifest = client.manifest();
    assert!(manifest.service("tips").is_some());
    assert_eq!(client.count(&token, "tips", &did)["given"], 1);
    assert_eq!(sections_value(&export_state(&client, &token, &did)), first);

    // A second bundle: msg_a unchanged, msg_b gone, msg_c new, tips gone.
    let (_, before) = client.export_all(&token, &manifest.did, "chat", &did, 5000, None);
    let second = json!({"chat": {"messages": [
        {"id": "msg_a", "updated_at": t, "data": {"content": "Salut 👋"}},
        {"id": "msg_c", "updated_at": t, "data": {"content": "Nouveau ✨"}}
    ]}});
    let (_, bytes) = signed_bundle(&user, second.clone());
    upload(&client, &token, &did, &bytes).ok();
    assert_eq!(sections_value(&export_state(&client, &token, &did)), second);
    let (pages, _) = client.export_all(&token, &manifest.did, "chat", &did, 5000, Some(&before));
    let mut changed: Vec<(String, bool)> = pages
        .iter()
        .flat_map(|p| &p.items)
        .map(|i| (i.id.clone(), i.deleted))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [("msg_b".to_owned(), true), ("msg_c".to_owned(), false)]
    );
    assert_eq!(client.count(&token, "tips", &did)["given"], 0);
}

#[test]
fn big_items_make_short_pages_and_none_is_lost() {
    let node = TestNode::start("target", |_| {});
    let client = node.client();
    let user = keypair(13);
    let did = user.did();
    let token = client.login(&user);
    // Twelve items of 1 MiB each: more than a page carries (8 MiB), far fewer than its `limit`.
    let blob = "x".repeat(1024 * 1024);
    let items: Vec<Value> = (0..12)
        .map(|i| {
            json!({"id": format!("asset_{i:02}"), "updated_at": "2026-03-09T16:45:00.000Z",
                   "data": {"blob": blob}})
        })
        .collect();
    let (_, bytes) = signed_bundle(&user, json!({"media": {"assets": items}}));
    upload(&client, &token, &did, &bytes).ok();
    let manifest = client.manifest();
    let (pages, _) = client.export_all(&token, &manifest.did, "media", &did, 5000, None);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    let first = &pages[0];
    assert!(!first.done);
    assert!((1..12).contains(&first.items.len()));
    let text_len: usize = first
        .items
        .iter()
        .map(|i| serde_json::to_string(&i.data).unwrap().len())
        .sum();
    assert!(text_len <= 8 * 1024 * 1024, "{text_len} bytes of data");
    let mut ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "every item once");
}

/// Any user's bundle may register sections, so a node holds at most 64 services (the eight built-in
/// ones included) and a service at most 64 collections: a bundle past either is refused whole.
#[test]
fn sections_past_the_node_caps_are_refused_whole() {
    let node = TestNode::start("target", |_| {});
    let client = node.client();
    let user = keypair(13);
    let did = user.did();
    let token = client.login(&user);
    let t = "2026-03-09T16:45:00.000Z";
    let letters = |i: usize| {
        let a = |n: usize| char::from(b'a' + u8::try_from(n % 26).unwrap());
        format!("{}{}", a(i / 26), a(i))
    };
    let items = json!([{"id": "x_1", "updated_at": t, "data": {"n": 1}}]);
    let sections = |count: usize| -> Value {
        (0..count)
            .map(|i| (format!("plugin_{}", letters(i)), json!({"things": items})))
            .collect::<Map<String, Value>>()
            .into()
    };
    let services = || client.manifest().services.len();
    assert_eq!(services(), 8);

    // 57 new sections would make 65 services: nothing of it is stored.
    let (_, bytes) = signed_bundle(&user, sections(57));
    upload(&client, &token, &did, &bytes).err(413, "TOO_LARGE");
    assert_eq!(services(), 8);
    // 56 make 64: taken.
    let (_, bytes) = signed_bundle(&user, sections(56));
    upload(&client, &token, &did, &bytes).ok();
    assert_eq!(services(), 64);

    // `chat` lists `messages`: 65 more would make 66 collections, refused; 63 more make 64, taken.
    let collections = |count: usize| -> Value {
        let section: Map<String, Value> = (0..count)
            .map(|i| (format!("c_{}", letters(i)), items.clone()))
            .collect();
        json!({"chat": section})
    };
    let (_, bytes) = signed_bundle(&user, collections(65));
    upload(&client, &token, &did, &bytes).err(413, "TOO_LARGE");
    let (_, bytes) = signed_bundle(&user, collections(63));
    upload(&client, &token, &did, &bytes).ok();
}
