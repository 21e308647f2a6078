//! Restart: data, key, tokens and unfinished uploads survive a stop and a start on the same data dir.

use serde_json::json;

use crate::common::*;

#[test]
fn restart_keeps_everything() {
    let mut node = TestNode::start("source", |c| {
        c.demo_items = 300;
        c.chunk_size = 1024;
    });
    let user = keypair(51);
    let did = user.did();
    let client = node.client();
    let token = client.login(&user);
    let manifest = client.manifest();
    let before = export_state(&client, &token, &did);
    let (_, cursor) = client.export_all(&token, &manifest.did, "chat", &did, 5000, None);

    // An unfinished upload of another DID's bundle.
    let other = keypair(52);
    let other_token = client.login(&other);
    let t = "2026-03-09T16:45:00.000Z";
    let (_, bytes) = signed_bundle(
        &other,
        json!({"fair": {"manifests": [{"id": "fair_a", "updated_at": t, "data": {"note": "ü".repeat(2000)}}]}}),
    );
    let create =
        json!({"did": other.did(), "bundle_hash": sha256_hex(&bytes), "size": bytes.len()});
    let session = client
        .post_json("/transfer/sessions", Some(&other_token), &create)
        .ok();
    let id = session["session_id"].as_str().unwrap().to_owned();
    client
        .put_bytes(
            &format!("/transfer/sessions/{id}/chunks/0"),
            Some(&other_token),
            "application/octet-stream",
            &bytes[..1024],
        )
        .ok();
    let key_file = std::fs::read(node.dir.path().join("node-key.json")).unwrap();

    node.restart();
    let client = node.client();
    assert_eq!(client.manifest().did, manifest.did);
    assert_eq!(
        std::fs::read(node.dir.path().join("node-key.json")).unwrap(),
        key_file
    );
    // The token still works, the data is the same, and no demo data was added again.
    assert_eq!(export_state(&client, &token, &did), before);
    let (pages, _) = client.export_all(&token, &manifest.did, "chat", &did, 5000, Some(&cursor));
    assert!(pages[0].items.is_empty());
    let token_again = client.login(&user);
    assert_eq!(export_state(&client, &token_again, &did), before);
    // The upload resumes where it stopped.
    let resumed = client
        .post_json("/transfer/sessions", Some(&other_token), &create)
        .ok();
    assert_eq!(resumed["session_id"], id.as_str());
    assert_eq!(resumed["received"], 1024);
    for (i, part) in bytes.chunks(1024).enumerate().skip(1) {
        client
            .put_bytes(
                &format!("/transfer/sessions/{id}/chunks/{i}"),
                Some(&other_token),
                "application/octet-stream",
                part,
            )
            .ok();
    }
    client
        .post_empty(
            &format!("/transfer/sessions/{id}/commit"),
            Some(&other_token),
        )
        .ok();
    assert_eq!(
        client.count(&other_token, "fair", &other.did())["manifests"],
        1
    );
}

/// An unfinished upload older than 24 hours is gone at once for its status, chunks and commit, not
/// only once another session sweeps it out.
#[test]
fn an_upload_left_for_a_day_is_gone() {
    let node = TestNode::start("target", |c| c.chunk_size = 1024);
    let user = keypair(53);
    let client = node.client();
    let token = client.login(&user);
    let t = "2026-03-09T16:45:00.000Z";
    let (_, bytes) = signed_bundle(
        &user,
        json!({"fair": {"manifests": [{"id": "fair_a", "updated_at": t, "data": {"note": "x".repeat(3000)}}]}}),
    );
    let create = json!({"did": user.did(), "bundle_hash": sha256_hex(&bytes), "size": bytes.len()});
    let session = client
        .post_json("/transfer/sessions", Some(&token), &create)
        .ok();
    let id = session["session_id"].as_str().unwrap().to_owned();
    let chunk = |i: usize| {
        client.put_bytes(
            &format!("/transfer/sessions/{id}/chunks/{i}"),
            Some(&token),
            "application/octet-stream",
            &bytes[i * 1024..((i + 1) * 1024).min(bytes.len())],
        )
    };
    chunk(0).ok();
    let age = |hours: i64| {
        let db = rusqlite::Connection::open(node.dir.path().join("node.sqlite")).unwrap();
        db.execute(
            "UPDATE transfer_sessions SET created_at = created_at - ?1 WHERE id = ?2",
            rusqlite::params![hours * 3600 * 1000, id],
        )
        .unwrap();
    };
    // 23 hours on, it still takes chunks.
    age(23);
    chunk(1).ok();
    // Past 24 hours: unknown for everything, with nothing stored.
    age(2);
    let status = format!("/transfer/sessions/{id}");
    client
        .get(&status, Some(&token))
        .err(404, "UNKNOWN_SESSION");
    chunk(2).err(404, "UNKNOWN_SESSION");
    client
        .post_empty(&format!("{status}/commit"), Some(&token))
        .err(404, "UNKNOWN_SESSION");
    assert_eq!(
        client
            .count(&token, "fair", &user.did())
            .get("manifests")
            .copied()
            .unwrap_or(0),
        0
    );
    // The same bundle again: a new session, from the start.
    let again = client
        .post_json("/transfer/sessions", Some(&token), &create)
        .ok();
    assert_ne!(again["session_id"], id.as_str());
    assert_eq!(again["received"], 0);
}
