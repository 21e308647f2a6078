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
