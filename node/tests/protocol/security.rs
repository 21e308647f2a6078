//! Security properties of the node that the other files leave open: a delete request stays spent
//! across a restart and a new login (repeated, it answers its receipt and deletes nothing), tokens and
//! challenges are worth nothing on another node, a challenge gives one token however many callers race
//! for it, copies of one delete request sent at once all get its receipt, and tokens are kept only as
//! hashes and never echoed.

use std::path::Path;

use bundle_vault::core::receipt::DeleteRequest;
use serde_json::json;

use crate::common::*;
use crate::cycle::delete_request;

#[test]
fn a_delete_request_stays_spent_across_a_restart_and_a_new_login() {
    let mut node = TestNode::start("source", |c| c.demo_items = 20);
    let user = keypair(41);
    let did = user.did();
    let client = node.client();
    let token = client.login(&user);
    let request = delete_request(&user, "chat", &client.manifest().did);
    let held = client.count(&token, "chat", &did)["messages"];
    assert!(held > 0);
    let receipt = client
        .post_json("/services/chat/delete", Some(&token), &request)
        .ok();
    assert_eq!(receipt["deleted"]["messages"], held);

    node.restart();
    let client = node.client();
    let token = client.login(&user);
    // New data arrives for the DID; the old request, replayed, must not delete it: it answers the
    // receipt it got. Another request with the spent nonce is a replay.
    let (_, bytes) = signed_bundle(
        &user,
        json!({"chat": {"messages": [
            {"id": "msg_after", "updated_at": "2026-03-09T16:45:00.000Z", "data": {"content": "kept"}}
        ]}}),
    );
    upload(&client, &token, &did, &bytes).ok();
    assert_eq!(client.count(&token, "chat", &did)["messages"], 1);
    let again = client
        .post_json("/services/chat/delete", Some(&token), &request)
        .ok();
    assert_eq!(again, receipt);
    assert_eq!(client.count(&token, "chat", &did)["messages"], 1);
    let now = bundle_node::clock::now_timestamp();
    let mut reused = DeleteRequest::new(&did, "chat", &client.manifest().did, &now).unwrap();
    reused.nonce = request["nonce"].as_str().unwrap().to_owned();
    let reused = reused.sign(&user, &now).unwrap();
    client
        .post_json("/services/chat/delete", Some(&token), &reused)
        .err(409, "REPLAY");
    assert_eq!(client.count(&token, "chat", &did)["messages"], 1);
}

#[test]
fn tokens_and_challenges_are_worth_nothing_on_another_node() {
    let source = TestNode::start("source", |c| c.demo_items = 5);
    let target = TestNode::start("target", |_| {});
    let (a, b) = (source.client(), target.client());
    let user = keypair(42);
    let did = user.did();

    let token = a.login(&user);
    a.get(
        &format!("/services/chat/count?did={}", encode(&did)),
        Some(&token),
    )
    .ok();
    b.get(
        &format!("/services/chat/count?did={}", encode(&did)),
        Some(&token),
    )
    .err(401, "AUTH_FAILED");

    // A challenge issued by the source, correctly signed, presented to the target.
    let challenge = a
        .post_json("/auth/challenge", None, &json!({"did": did}))
        .ok();
    let signature = hex::encode(user.sign(challenge["challenge"].as_str().unwrap().as_bytes()));
    let verify =
        json!({"challengeId": challenge["challengeId"], "did": did, "signature": signature});
    b.post_json("/auth/verify", None, &verify)
        .err(401, "AUTH_FAILED");
    // It is still good where it was issued (the target's refusal did not touch the source).
    assert!(a.post_json("/auth/verify", None, &verify).ok()["token"]
        .as_str()
        .is_some_and(|t| t.starts_with("tok_")));
}

#[test]
fn a_challenge_gives_one_token_however_many_callers_race_for_it() {
    let node = TestNode::start("source", |_| {});
    let client = node.client();
    let user = keypair(43);
    let did = user.did();
    for _ in 0..3 {
        let challenge = client
            .post_json("/auth/challenge", None, &json!({"did": did}))
            .ok();
        let signature = hex::encode(user.sign(challenge["challenge"].as_str().unwrap().as_bytes()));
        let verify =
            json!({"challengeId": challenge["challengeId"], "did": did, "signature": signature});
        let barrier = std::sync::Barrier::new(8);
        let replies: Vec<Reply> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let client = node.client();
                        barrier.wait();
                        client.post_json("/auth/verify", None, &verify)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners = replies.iter().filter(|r| r.status == 200).count();
        assert_eq!(winners, 1, "{replies:?}");
        for reply in replies.iter().filter(|r| r.status != 200) {
            reply.err(401, "AUTH_FAILED");
        }
    }
}

#[test]
fn tokens_are_stored_hashed_and_never_echoed() {
    let mut node = TestNode::start("source", |c| c.demo_items = 5);
    let client = node.client();
    let user = keypair(44);
    let did = user.did();
    let token = client.login(&user);
    let count = format!("/services/chat/count?did={}", encode(&did));
    client.get(&count, Some(&token)).ok();

    // Refusals name the problem, not the presented token.
    let unknown = format!("tok_{}", "ab".repeat(32));
    for (presented, code) in [
        (unknown.as_str(), "AUTH_FAILED"),
        (token.as_str(), "DID_MISMATCH"),
    ] {
        let path = if code == "DID_MISMATCH" {
            format!("/services/chat/count?did={}", encode(&keypair(45).did()))
        } else {
            count.clone()
        };
        let reply = client.get(&path, Some(presented));
        reply.err(if code == "DID_MISMATCH" { 403 } else { 401 }, code);
        assert!(
            !reply.body.to_string().contains(&presented[4..]),
            "{reply:?}"
        );
    }

    // At rest: no file of the node's data directory holds the token (only its SHA-256).
    node.node.take().unwrap().stop().unwrap();
    let secret = &token[4..];
    let hashed = sha256_hex(token.as_bytes());
    let (mut files, mut found_hash) = (0, false);
    for path in files_under(node.dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !contains(&bytes, token.as_bytes()) && !contains(&bytes, secret.as_bytes()),
            "the token is stored in the clear in {}",
            path.display()
        );
        found_hash |= contains(&bytes, hashed.as_bytes());
        files += 1;
    }
    assert!(
        files > 0 && found_hash,
        "the scan found the node's database"
    );
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The same delete request sent several times at once: every copy gets the one receipt, never
/// `REPLAY` for a copy that lost the race to the first.
#[test]
fn copies_of_one_delete_request_at_once_all_get_its_receipt() {
    let node = TestNode::start("source", |c| c.demo_items = 20);
    let user = keypair(44);
    let client = node.client();
    let token = client.login(&user);
    let node_did = client.manifest().did;
    for round in 0..6 {
        let request = delete_request(&user, "chat", &node_did);
        let start = std::sync::Barrier::new(6);
        let answers: Vec<Reply> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        let client = node.client();
                        start.wait();
                        client.post_json("/services/chat/delete", Some(&token), &request)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let first = answers[0].clone().ok();
        for answer in answers {
            assert_eq!(answer.ok(), first, "round {round}");
        }
    }
}

/// The same bundle pushed again after the DID had data deleted here, or after another bundle replaced
/// it, is imported again, with a new receipt (the old session's receipt would claim data the node no
/// longer holds); restored items are dated after the tombstones they replace, and not anew later.
#[test]
fn a_bundle_pushed_again_after_a_deletion_is_imported_again() {
    let node = TestNode::start("target", |_| {});
    let user = keypair(45);
    let did = user.did();
    let client = node.client();
    let token = client.login(&user);
    let t = "2026-03-09T16:45:00.000Z";
    let (_, bytes) = signed_bundle(
        &user,
        json!({"chat": {"messages": [
            {"id": "msg_a", "updated_at": t, "data": {"content": "a"}},
            {"id": "msg_b", "updated_at": t, "data": {"content": "b"}}
        ]}}),
    );
    let first = upload(&client, &token, &did, &bytes).ok();
    // Asked again with nothing deleted: the committed session answers its receipt.
    let create = json!({"did": did, "bundle_hash": sha256_hex(&bytes), "size": bytes.len()});
    let again = client
        .post_json("/transfer/sessions", Some(&token), &create)
        .ok();
    assert_eq!(again["receipt"], first);

    let request = delete_request(&user, "chat", &client.manifest().did);
    client
        .post_json("/services/chat/delete", Some(&token), &request)
        .ok();
    assert_eq!(client.count(&token, "chat", &did)["messages"], 0);
    // Now a new session, from the start, and the bundle imported again.
    let fresh = client.post_json("/transfer/sessions", Some(&token), &create);
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_eq!(fresh.body["received"], 0);
    assert_ne!(fresh.body["session_id"], again["session_id"]);
    let second = upload(&client, &token, &did, &bytes).ok();
    assert_eq!(second["counts"]["chat"]["messages"], 2);
    assert_eq!(client.count(&token, "chat", &did)["messages"], 2);
    // Restored items are dated after the tombstones they replace (the bundle's date is older), so
    // that anyone merging by last writer takes them too; their data is the bundle's.
    let node_did = client.manifest().did;
    let (pages, _) = client.export_all(&token, &node_did, "chat", &did, 5000, None);
    let items: Vec<_> = pages.iter().flat_map(|p| p.items.iter()).collect();
    assert_eq!(items.len(), 2);
    for item in items {
        assert!(!item.deleted);
        assert!(
            item.updated_at.as_str() > t,
            "{} {}",
            item.id,
            item.updated_at
        );
    }
    // A later bundle with the same two items at their old date, and one more: only the new one is
    // written (the restored ones are not dated anew on every push).
    let (_, cursor) = client.export_all(&token, &node_did, "chat", &did, 5000, None);
    let (_, more) = signed_bundle(
        &user,
        json!({"chat": {"messages": [
            {"id": "msg_a", "updated_at": t, "data": {"content": "a"}},
            {"id": "msg_b", "updated_at": t, "data": {"content": "b"}},
            {"id": "msg_c", "updated_at": t, "data": {"content": "c"}}
        ]}}),
    );
    upload(&client, &token, &did, &more).ok();
    let (pages, _) = client.export_all(&token, &node_did, "chat", &did, 5000, Some(&cursor));
    let changed: Vec<&str> = pages
        .iter()
        .flat_map(|p| &p.items)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(changed, ["msg_c"]);

    // The first bundle again, after that other bundle replaced it here: a new session, imported
    // again (msg_c becomes a tombstone), not the first session's receipt.
    let after_other = client.post_json("/transfer/sessions", Some(&token), &create);
    assert_eq!(after_other.status, 201, "{}", after_other.body);
    upload(&client, &token, &did, &bytes).ok();
    assert_eq!(client.count(&token, "chat", &did)["messages"], 2);
}
