//! Login: challenges expire and are single-use, signatures and DIDs are checked, tokens expire with
//! their own code, and a token for one DID can never read, count, delete or import for another.

use std::time::Duration;

use bundle_vault::core::did::{self, Method};
use serde_json::json;

use crate::common::*;
use crate::cycle::delete_request;

#[test]
fn challenge_and_token_rules() {
    let node = TestNode::start("source", |c| {
        c.challenge_ttl = 1;
        c.token_ttl = 1;
    });
    let client = node.client();
    let user = keypair(21);
    let did = user.did();

    let challenge = client
        .post_json("/auth/challenge", None, &json!({"did": did}))
        .ok();
    let id = challenge["challengeId"].as_str().unwrap();
    assert!(id.starts_with("chl_") && id.len() == 20);
    let text = challenge["challenge"].as_str().unwrap();
    assert!(
        text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(
        bundle_vault::core::export::check_timestamp(challenge["expiresAt"].as_str().unwrap())
            .is_ok()
    );
    let signature = hex::encode(user.sign(text.as_bytes()));
    let verify = json!({"challengeId": id, "did": did, "signature": signature});
    let token = client.post_json("/auth/verify", None, &verify).ok();
    assert!(token["token"].as_str().unwrap().starts_with("tok_"));
    // Single use.
    client
        .post_json("/auth/verify", None, &verify)
        .err(401, "AUTH_FAILED");

    // A wrong signature, another key, the DID form of another key: refused (and the challenge spent).
    let other = keypair(22);
    let fresh = |did: &str| {
        client
            .post_json("/auth/challenge", None, &json!({"did": did}))
            .ok()
    };
    let c = fresh(&did);
    let bad_sig = hex::encode(other.sign(c["challenge"].as_str().unwrap().as_bytes()));
    client
        .post_json(
            "/auth/verify",
            None,
            &json!({"challengeId": c["challengeId"], "did": did, "signature": bad_sig}),
        )
        .err(401, "AUTH_FAILED");
    client
        .post_json(
            "/auth/verify",
            None,
            &json!({"challengeId": c["challengeId"], "did": did, "signature": bad_sig}),
        )
        .err(401, "AUTH_FAILED");
    // Signing the decoded bytes instead of the UTF-8 text is refused too.
    let c = fresh(&did);
    let raw = hex::decode(c["challenge"].as_str().unwrap()).unwrap();
    client
        .post_json("/auth/verify", None, &json!({"challengeId": c["challengeId"], "did": did, "signature": hex::encode(user.sign(&raw))}))
        .err(401, "AUTH_FAILED");
    // A challenge issued for one DID cannot log in another.
    let c = fresh(&did);
    let sig = hex::encode(other.sign(c["challenge"].as_str().unwrap().as_bytes()));
    client
        .post_json(
            "/auth/verify",
            None,
            &json!({"challengeId": c["challengeId"], "did": other.did(), "signature": sig}),
        )
        .err(401, "AUTH_FAILED");
    // did:key logins work; a DID that does not encode a key cannot log in.
    client.login_as(&user, &user.did_key());
    let c = fresh("did:imajin:alice");
    let sig = hex::encode(user.sign(c["challenge"].as_str().unwrap().as_bytes()));
    let reply = client.post_json(
        "/auth/verify",
        None,
        &json!({"challengeId": c["challengeId"], "did": "did:imajin:alice", "signature": sig}),
    );
    reply.err(401, "AUTH_FAILED");
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("does not encode a public key"));
    // Malformed input.
    client
        .post_json(
            "/auth/challenge",
            None,
            &json!({"did": "did:web:example.com"}),
        )
        .err(400, "INVALID_DID");
    client
        .post_json("/auth/challenge", None, &json!({}))
        .err(400, "INVALID_REQUEST");
    let c = fresh(&did);
    client
        .post_json(
            "/auth/verify",
            None,
            &json!({"challengeId": c["challengeId"], "did": did, "signature": "abc"}),
        )
        .err(400, "INVALID_REQUEST");

    // Expiry: an unused challenge and a token, both after their one-second lifetime.
    let stale = fresh(&did);
    let token = client.login(&user);
    client
        .get(
            &format!("/services/chat/count?did={}", encode(&did)),
            Some(&token),
        )
        .ok();
    std::thread::sleep(Duration::from_millis(1200));
    // Another login in between (which sweeps old challenges) does not turn the answer into
    // AUTH_FAILED.
    fresh(&keypair(99).did());
    let sig = hex::encode(user.sign(stale["challenge"].as_str().unwrap().as_bytes()));
    client
        .post_json(
            "/auth/verify",
            None,
            &json!({"challengeId": stale["challengeId"], "did": did, "signature": sig}),
        )
        .err(401, "CHALLENGE_EXPIRED");
    let expired = client.get(
        &format!("/services/chat/count?did={}", encode(&did)),
        Some(&token),
    );
    expired.err(401, "TOKEN_EXPIRED");
    assert!(expired
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer")));
    // Missing and unknown tokens have their own codes.
    client
        .get(&format!("/services/chat/count?did={}", encode(&did)), None)
        .err(401, "AUTH_REQUIRED");
    // The scheme is case-insensitive; another scheme is no token at all.
    let fresh = client.login(&user);
    let count = format!("/services/chat/count?did={}", encode(&did));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {fresh}");
        client
            .request("GET", &count, &[("Authorization", header.as_str())])
            .ok();
    }
    let basic = format!("Basic {fresh}");
    client
        .request("GET", &count, &[("Authorization", basic.as_str())])
        .err(401, "AUTH_REQUIRED");
    client
        .get(
            &format!("/services/chat/count?did={}", encode(&did)),
            Some("tok_nope"),
        )
        .err(401, "AUTH_FAILED");
    client
        .request(
            "GET",
            &format!("/services/chat/count?did={}", encode(&did)),
            &[("Authorization", "Basic eDp5")],
        )
        .err(401, "AUTH_REQUIRED");
}

#[test]
fn a_token_never_serves_another_did() {
    let node = TestNode::start("source", |c| c.demo_items = 50);
    let client = node.client();
    let (alice, bob) = (keypair(23), keypair(24));
    let alice_token = client.login(&alice);
    let bob_token = client.login(&bob);
    let (a, b) = (alice.did(), bob.did());
    // Alice's did:key is another DID string than her did:imajin: refused as well.
    let a_key = did::encode(&alice.public_key(), Method::Key);
    for victim in [b.as_str(), a_key.as_str()] {
        for service in ["chat", "media", "identity"] {
            client
                .get(
                    &format!("/services/{service}/export?did={}", encode(victim)),
                    Some(&alice_token),
                )
                .err(403, "DID_MISMATCH");
            client
                .get(
                    &format!("/services/{service}/count?did={}", encode(victim)),
                    Some(&alice_token),
                )
                .err(403, "DID_MISMATCH");
        }
    }
    // Delete: a request for Bob, correctly signed by Bob, sent with Alice's token.
    let request = delete_request(&bob, "chat", "source");
    client
        .post_json("/services/chat/delete", Some(&alice_token), &request)
        .err(403, "DID_MISMATCH");
    assert!(client.count(&bob_token, "chat", &b)["messages"] > 0);
    // Transfer: creating a session for Bob, or touching Bob's session.
    let (_, bytes) = signed_bundle(&bob, json!({"chat": {"messages": []}}));
    let create = json!({"did": b, "bundle_hash": sha256_hex(&bytes), "size": bytes.len()});
    client
        .post_json("/transfer/sessions", Some(&alice_token), &create)
        .err(403, "DID_MISMATCH");
    let session = client
        .post_json("/transfer/sessions", Some(&bob_token), &create)
        .ok();
    let id = session["session_id"].as_str().unwrap();
    client
        .get(&format!("/transfer/sessions/{id}"), Some(&alice_token))
        .err(403, "DID_MISMATCH");
    client
        .put_bytes(
            &format!("/transfer/sessions/{id}/chunks/0"),
            Some(&alice_token),
            "application/octet-stream",
            &bytes,
        )
        .err(403, "DID_MISMATCH");
    client
        .post_empty(
            &format!("/transfer/sessions/{id}/commit"),
            Some(&alice_token),
        )
        .err(403, "DID_MISMATCH");
    // Alice uploading Bob's signed bundle under her own session: the bundle's DID is not hers.
    let mine = json!({"did": a, "bundle_hash": sha256_hex(&bytes), "size": bytes.len()});
    let session = client
        .post_json("/transfer/sessions", Some(&alice_token), &mine)
        .ok();
    let id = session["session_id"].as_str().unwrap();
    client
        .put_bytes(
            &format!("/transfer/sessions/{id}/chunks/0"),
            Some(&alice_token),
            "application/octet-stream",
            &bytes,
        )
        .ok();
    client
        .post_empty(
            &format!("/transfer/sessions/{id}/commit"),
            Some(&alice_token),
        )
        .err(403, "DID_MISMATCH");
    // Nothing of Bob's changed.
    assert!(client.count(&bob_token, "chat", &b)["messages"] > 0);
}
