//! Every class of bad input answers a JSON `{code, message}` with the right status, and nothing is
//! stored partially.

use bundle_vault::core::keys::Keypair;
use bundle_vault::core::receipt::DeleteRequest;
use serde_json::{json, Value};

use crate::common::*;
use crate::cycle::delete_request;

#[test]
fn malformed_requests() {
    let node = TestNode::start("source", |c| {
        c.demo_items = 20;
        c.max_upload = 100_000;
        c.chunk_size = 4096;
    });
    let client = node.client();
    let user = keypair(31);
    let did = user.did();
    let token = client.login(&user);
    let json_ct = "application/json";

    // Bodies: malformed JSON, unsafe numbers, deep nesting, duplicate keys, not UTF-8.
    for (body, code) in [
        (&b"{\"did\": "[..], "INVALID_JSON"),
        (b"{\"did\": \"x\", \"did\": \"y\"}", "INVALID_JSON"),
        (b"{\"did\": 9007199254740993}", "UNSAFE_NUMBER"),
        (b"\xff\xfe", "INVALID_JSON"),
    ] {
        client
            .post_raw("/auth/challenge", None, json_ct, body.to_vec())
            .err(400, code);
    }
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    client
        .post_raw("/auth/challenge", None, json_ct, deep.into_bytes())
        .err(400, "TOO_DEEP");
    client
        .post_json("/auth/challenge", None, &json!(["did"]))
        .err(400, "INVALID_REQUEST");
    // Content types.
    client
        .post_raw("/auth/challenge", None, "text/plain", b"{}".to_vec())
        .err(415, "UNSUPPORTED_MEDIA_TYPE");
    client
        .post_raw(
            "/auth/challenge",
            None,
            "application/json; charset=utf-8",
            serde_json::to_vec(&json!({"did": did})).unwrap(),
        )
        .ok();
    // Oversized JSON body (1 MiB limit).
    let big = format!("{{\"did\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    client
        .post_raw("/auth/challenge", None, json_ct, big.into_bytes())
        .err(413, "TOO_LARGE");

    // Routes, methods, services.
    client.get("/nope", None).err(404, "NOT_FOUND");
    let wrong_method = client.get("/auth/challenge", None);
    wrong_method.err(405, "METHOD_NOT_ALLOWED");
    client
        .get(
            &format!("/services/payments/export?did={}", encode(&did)),
            Some(&token),
        )
        .err(404, "UNKNOWN_SERVICE");
    client
        .get(
            &format!("/services/payments/count?did={}", encode(&did)),
            Some(&token),
        )
        .err(404, "UNKNOWN_SERVICE");
    client
        .post_json(
            "/services/payments/delete",
            Some(&token),
            &delete_request(&user, "payments", "source"),
        )
        .err(404, "UNKNOWN_SERVICE");
    // Query parameters.
    let export = |query: &str| client.get(&format!("/services/chat/export?{query}"), Some(&token));
    export("").err(400, "INVALID_REQUEST");
    export(&format!("did={}&limit=0", encode(&did))).err(400, "INVALID_REQUEST");
    export(&format!("did={}&limit=ten", encode(&did))).err(400, "INVALID_REQUEST");
    export(&format!("did={}&limit=%2B5", encode(&did))).err(400, "INVALID_REQUEST");
    export(&format!("did={}&limit=", encode(&did))).err(400, "INVALID_REQUEST");
    export(&format!("did={}&did={}", encode(&did), encode(&did))).err(400, "INVALID_REQUEST");
    export(&format!("did={}&since=yesterday", encode(&did))).err(400, "INVALID_REQUEST");
    for cursor in ["garbage", "00000000.1", "", "abc.def"] {
        let reply = export(&format!("did={}&cursor={}", encode(&did), encode(cursor)));
        reply.err(400, "BAD_CURSOR");
    }
    // A cursor of another node is refused, and so is one from this node's future.
    let other = TestNode::start("other", |_| {});
    let other_token = other.client().login(&user);
    let other_page = other
        .client()
        .get(
            &format!("/services/chat/export?did={}", encode(&did)),
            Some(&other_token),
        )
        .ok();
    export(&format!(
        "did={}&cursor={}",
        encode(&did),
        encode(other_page["cursor"].as_str().unwrap())
    ))
    .err(400, "BAD_CURSOR");
    let page = export(&format!("did={}", encode(&did))).ok();
    let cursor = page["cursor"].as_str().unwrap();
    let (tag, seq) = cursor.split_once('.').unwrap();
    let future = format!("{tag}.{}", seq.parse::<u64>().unwrap() + 1000);
    export(&format!("did={}&cursor={}", encode(&did), encode(&future))).err(400, "BAD_CURSOR");
    // A huge limit is clamped, not refused, even one beyond any integer; a time before 1970 is
    // before everything.
    let messages = client.count(&token, "chat", &did)["messages"];
    for query in [
        "limit=999999",
        "limit=99999999999999999999999",
        "limit=999999&since=0001-01-01T00:00:00Z",
        "limit=999999&since=1969-12-31T23:00:00%2B02:00",
    ] {
        let page = export(&format!("did={}&{query}", encode(&did))).ok();
        assert_eq!(
            page["items"].as_array().unwrap().len() as u64,
            messages,
            "{query}"
        );
    }

    // CORS: preflight and headers on answers, errors included.
    let preflight = client.request(
        "OPTIONS",
        "/services/chat/export",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
    );
    assert!((200..300).contains(&preflight.status));
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap()
        .to_ascii_uppercase();
    assert!(["GET", "POST", "PUT", "OPTIONS"]
        .iter()
        .all(|m| methods.contains(m)));
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let error = client.request("GET", "/nope", &[("Origin", "https://app.example")]);
    assert_eq!(error.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn bad_delete_requests() {
    let node = TestNode::start("source", |c| c.demo_items = 30);
    let client = node.client();
    let user = keypair(32);
    let did = user.did();
    let token = client.login(&user);
    let before = client.count(&token, "media", &did);
    let post = |body: &Value| client.post_json("/services/media/delete", Some(&token), body);
    let now = bundle_node::clock::now_millis();
    let at = |ms: u64| bundle_node::clock::timestamp(ms);
    let signed = |request: DeleteRequest, key: &Keypair| request.sign(key, &at(now)).unwrap();
    let node_did = client.manifest().did;
    let fresh = || DeleteRequest::new(&did, "media", &node_did, &at(now)).unwrap();

    // Stale and future requests.
    let mut old = fresh();
    old.requested_at = at(now - 301_000);
    post(&signed(old, &user)).err(400, "REQUEST_EXPIRED");
    let mut future = fresh();
    future.requested_at = at(now + 400_000);
    post(&signed(future, &user)).err(400, "REQUEST_EXPIRED");
    // Wrong service, wrong node.
    let mut other_service = fresh();
    other_service.service = "chat".into();
    post(&signed(other_service, &user)).err(400, "SERVICE_MISMATCH");
    let mut other_node = fresh();
    // Another node's key, or this node's name: neither names this node.
    other_node.node = keypair(99).did_key();
    post(&signed(other_node, &user)).err(400, "NODE_MISMATCH");
    let mut by_name = fresh();
    by_name.node = "source".into();
    post(&signed(by_name, &user)).err(400, "NODE_MISMATCH");
    let mut other_node = fresh();
    other_node.node = "target".into();
    post(&signed(other_node, &user)).err(400, "NODE_MISMATCH");
    // Tampered, unsigned, signed by another key, malformed.
    let mut tampered = signed(fresh(), &user);
    tampered["nonce"] = json!("0".repeat(32));
    post(&tampered).err(403, "SIGNATURE_INVALID");
    post(&fresh().to_value()).err(400, "PROOF_MALFORMED");
    let forged =
        bundle_vault::core::proof::sign(fresh().to_value(), &keypair(33), &at(now)).unwrap();
    post(&forged).err(403, "DID_MISMATCH");
    let mut malformed = signed(fresh(), &user);
    malformed["nonce"] = json!("short");
    post(&malformed).err(400, "INVALID_REQUEST");
    post(&json!({"type": "DeleteRequest"})).err(400, "INVALID_REQUEST");
    client
        .post_raw(
            "/services/media/delete",
            Some(&token),
            "text/plain",
            b"{}".to_vec(),
        )
        .err(415, "UNSUPPORTED_MEDIA_TYPE");
    client
        .post_json("/services/media/delete", None, &signed(fresh(), &user))
        .err(401, "AUTH_REQUIRED");
    // None of that deleted anything.
    assert_eq!(client.count(&token, "media", &did), before);
}

#[test]
fn bad_uploads_store_nothing() {
    let node = TestNode::start("target", |c| {
        c.max_upload = 200_000;
        c.chunk_size = 1024;
    });
    let client = node.client();
    let user = keypair(34);
    let did = user.did();
    let token = client.login(&user);
    let t = "2026-03-09T16:45:00.000Z";
    let sections = json!({"chat": {"messages": [{"id": "msg_a", "updated_at": t, "data": {"content": "é".repeat(2500)}}]}});
    let (bundle, bytes) = signed_bundle(&user, sections);
    let create = |hash: &str, size: Value| {
        client.post_json(
            "/transfer/sessions",
            Some(&token),
            &json!({"did": did, "bundle_hash": hash, "size": size}),
        )
    };
    let hash = sha256_hex(&bytes);
    create(&hash, json!(200_001)).err(413, "TOO_LARGE");
    create(&hash, json!(0)).err(400, "INVALID_REQUEST");
    create(&hash, json!(-5)).err(400, "INVALID_REQUEST");
    create("ABC", json!(10)).err(400, "INVALID_REQUEST");
    create(&hash.to_uppercase(), json!(10)).err(400, "INVALID_REQUEST");
    client
        .post_empty("/transfer/sessions/xfr_nope/commit", Some(&token))
        .err(404, "UNKNOWN_SESSION");
    client
        .get("/transfer/sessions/xfr_nope", Some(&token))
        .err(404, "UNKNOWN_SESSION");

    let session = create(&hash, json!(bytes.len())).ok();
    let id = session["session_id"].as_str().unwrap().to_owned();
    create(&hash, json!(bytes.len() + 1)).err(409, "SESSION_CONFLICT");
    let put = |index: &str, content_type: &str, body: &[u8]| {
        client.put_bytes(
            &format!("/transfer/sessions/{id}/chunks/{index}"),
            Some(&token),
            content_type,
            body,
        )
    };
    let chunks: Vec<&[u8]> = bytes.chunks(1024).collect();
    put("0", "application/json", chunks[0]).err(415, "UNSUPPORTED_MEDIA_TYPE");
    put("x", "application/octet-stream", chunks[0]).err(400, "BAD_CHUNK");
    put(
        &chunks.len().to_string(),
        "application/octet-stream",
        chunks[0],
    )
    .err(400, "BAD_CHUNK");
    put("0", "application/octet-stream", &chunks[0][..10]).err(400, "BAD_CHUNK");
    put("0", "application/octet-stream", &vec![b'x'; 2048]).err(413, "TOO_LARGE");
    // A chunk received with other bytes than before is a conflict.
    put("0", "application/octet-stream", chunks[0]).ok();
    let mut altered = chunks[0].to_vec();
    altered[5] ^= 1;
    put("0", "application/octet-stream", &altered).err(409, "CHUNK_CONFLICT");
    // Out of order: chunk 2 before 1 is kept, and counted once 1 arrives.
    put("2", "application/octet-stream", chunks[2]).ok();
    let reply = put("1", "application/octet-stream", chunks[1]).ok();
    assert_eq!(reply["received"], 3 * 1024);

    // Bytes that do not hash to the declared hash: refused, and the upload starts over.
    let fake = vec![b' '; 3000];
    let fake_session = create(&sha256_hex(&bytes[..3000]), json!(3000)).ok();
    let fid = fake_session["session_id"].as_str().unwrap().to_owned();
    for (i, part) in fake.chunks(1024).enumerate() {
        client
            .put_bytes(
                &format!("/transfer/sessions/{fid}/chunks/{i}"),
                Some(&token),
                "application/octet-stream",
                part,
            )
            .ok();
    }
    client
        .post_empty(&format!("/transfer/sessions/{fid}/commit"), Some(&token))
        .err(400, "HASH_MISMATCH");
    let status = client
        .get(&format!("/transfer/sessions/{fid}"), Some(&token))
        .ok();
    assert_eq!(status["received"], 0);

    // Well-hashed uploads that are not acceptable bundles.
    let not_canonical = serde_json::to_vec_pretty(&bundle).unwrap();
    upload(&client, &token, &did, &not_canonical).err(400, "BUNDLE_NOT_CANONICAL");
    let mut tampered = bundle.clone();
    tampered["sections"]["chat"]["messages"][0]["data"]["content"] = json!("changed");
    let tampered = bundle_vault::core::canonical::to_canonical_vec(&tampered).unwrap();
    upload(&client, &token, &did, &tampered).err(403, "SIGNATURE_INVALID");
    upload(&client, &token, &did, b"{\"did\": 1").err(400, "INVALID_JSON");
    upload(&client, &token, &did, b"[1,2,3]").err(400, "BUNDLE_MALFORMED");
    // A correctly signed bundle whose items break the bundle item rules.
    let (_, unsorted) = signed_bundle(
        &user,
        json!({"chat": {"messages": [
            {"id": "msg_b", "updated_at": t, "data": {"content": "b"}},
            {"id": "msg_a", "updated_at": t, "data": {"content": "a"}}
        ]}}),
    );
    upload(&client, &token, &did, &unsorted).err(400, "BUNDLE_MALFORMED");
    let (_, bad_time) = signed_bundle(
        &user,
        json!({"chat": {"messages": [{"id": "msg_a", "updated_at": "2026-03-09T16:45:00Z", "data": {}}]}}),
    );
    upload(&client, &token, &did, &bad_time).err(400, "BUNDLE_MALFORMED");
    let (_, bad_section) = signed_bundle(&user, json!({"Chat": {"messages": []}}));
    upload(&client, &token, &did, &bad_section).err(400, "BUNDLE_MALFORMED");
    // A bundle whose DID does not encode a key.
    let unbound = bundle_vault::core::bundle::Bundle::from_value(&json!({
        "did": "did:imajin:alice", "exported_at": CREATED, "node": "vault",
        "sections": {}, "log": {"length": 0, "head": bundle_vault::core::bundle::GENESIS_HEAD}
    }))
    .unwrap();
    let unbound =
        bundle_vault::core::proof::sign(unbound.to_value().unwrap(), &user, CREATED).unwrap();
    let unbound = bundle_vault::core::canonical::to_canonical_vec(&unbound).unwrap();
    upload(&client, &token, &did, &unbound).err(403, "DID_UNVERIFIABLE");

    // Nothing was imported by any of these.
    for service in ["chat", "media", "identity"] {
        assert!(client
            .count(&token, service, &did)
            .values()
            .all(|n| *n == 0));
    }
    assert_eq!(client.manifest().services.len(), 8);
}
