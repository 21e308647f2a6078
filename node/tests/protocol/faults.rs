//! Fault injection (`--dev-endpoints` only): each fault produces exactly what it claims, faults are
//! scoped to one DID and service and counted, and none of it exists without the flag.

use std::time::{Duration, Instant};

use bundle_node::fault::{DROPPED_PAGE_BYTES, HUGE_PAGE_BYTES, UNSAFE_INTEGER};
use bundle_vault::core::canonical::{self, MAX_DEPTH};
use bundle_vault::core::export::ExportPage;
use bundle_vault::core::proof;
use bundle_vault::core::receipt::{verify_node_signature, TransferReceipt};
use bundle_vault::core::rights;
use serde_json::{json, Value};

use crate::common::*;

const ORIGIN: (&str, &str) = ("Origin", "http://app.example");

fn dev_node(demo_items: u64) -> TestNode {
    TestNode::start("source", |c| {
        c.demo_items = demo_items;
        c.dev_endpoints = true;
    })
}

fn export_path(service: &str, did: &str, cursor: Option<&str>) -> String {
    let mut path = format!("/services/{service}/export?did={}", encode(did));
    if let Some(c) = cursor {
        path.push_str(&format!("&cursor={}", encode(c)));
    }
    path
}

fn arm(client: &Client, did: &str, service: &str, fault: &str, count: Option<u64>) -> Value {
    client
        .post_json(
            "/dev/fault",
            None,
            &json!({"did": did, "service": service, "fault": fault, "count": count}),
        )
        .ok()
}

/// The answer of one export request, parsed leniently (serde_json accepts what the vault refuses).
fn lenient(reply: &RawReply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

#[test]
fn dev_endpoints_do_not_exist_without_the_flag() {
    let node = TestNode::start("source", |c| c.demo_items = 10);
    let client = node.client();
    let user = keypair(81);
    let did = user.did();
    let token = client.login(&user);
    let body = json!({"did": did, "service": "chat", "fault": "html"});
    client
        .post_json("/dev/fault", None, &body)
        .err(404, "NOT_FOUND");
    client.get("/dev/fault", None).err(404, "NOT_FOUND");
    client.delete("/dev/fault").err(404, "NOT_FOUND");
    client
        .post_json("/dev/expire-tokens", None, &json!({"did": did}))
        .err(404, "NOT_FOUND");
    client
        .post_json("/dev/mutate", None, &json!({"did": did, "fraction": 1}))
        .err(404, "NOT_FOUND");
    let manifest = client.manifest();
    client.export_all(&token, &manifest.did, "chat", &did, 1000, None);
    // Preflight does not offer DELETE without the flag.
    let preflight = client.request(
        "OPTIONS",
        "/dev/fault",
        &[ORIGIN, ("Access-Control-Request-Method", "DELETE")],
    );
    let allowed = preflight
        .header("access-control-allow-methods")
        .unwrap_or("")
        .to_ascii_uppercase();
    assert!(!allowed.contains("DELETE"), "{allowed}");
}

#[test]
fn faults_live_in_memory_only() {
    let mut node = dev_node(10);
    let client = node.client();
    let user = keypair(82);
    let did = user.did();
    client.login(&user);
    arm(&client, &did, "chat", "html", None);
    // A restart forgets faults (memory only), with or without the flag.
    node.config.dev_endpoints = false;
    node.restart();
    let client = node.client();
    let token = client.login(&user);
    let manifest = client.manifest();
    client.export_all(&token, &manifest.did, "chat", &did, 1000, None);
    node.config.dev_endpoints = true;
    node.restart();
    let client = node.client();
    let token = client.login(&user);
    client.export_all(&token, &manifest.did, "chat", &did, 1000, None);
    assert_eq!(client.get("/dev/fault", None).ok()["faults"], json!([]));
}

#[test]
fn each_fault_produces_what_it_claims() {
    let node = dev_node(60);
    let client = node.client();
    let user = keypair(83);
    let did = user.did();
    let token = client.login(&user);
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ORIGIN];
    let node_did = client.manifest().did;
    let service = "chat";
    let (real_pages, real_cursor) = client.export_all(&token, &node_did, service, &did, 1000, None);
    assert_eq!(real_pages.len(), 1);
    let real = &real_pages[0];
    assert!(!real.items.is_empty());

    // Arms `fault` once, asks, checks the next request is normal again and the fault was served once.
    let once = |fault: &str| -> RawReply {
        arm(&client, &did, service, fault, Some(1));
        let reply = client.get_raw(&export_path(service, &did, None), &headers);
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some("*"),
            "{fault}: a browser must be able to read the answer"
        );
        let normal = client
            .get(&export_path(service, &did, None), Some(&token))
            .ok();
        assert_eq!(ExportPage::verify(&normal, &node_did).unwrap(), *real);
        let listed = client
            .get(&format!("/dev/fault?did={}", encode(&did)), None)
            .ok();
        assert_eq!(
            listed["faults"],
            json!([{"did": did, "service": service, "fault": fault, "remaining": 0, "served": 1}]),
            "{fault}"
        );
        reply
    };
    let json_200 = |reply: &RawReply| {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
    };
    let code = |result: Result<ExportPage, bundle_vault::core::Error>| result.unwrap_err().code();

    let reply = once("invalid-json");
    json_200(&reply);
    assert!(reply.body.len() < serde_json::to_vec(&real.to_value()).unwrap().len());
    assert_eq!(
        canonical::parse(&reply.text()).unwrap_err().code(),
        "INVALID_JSON"
    );

    let reply = once("missing-page-field");
    json_200(&reply);
    let value = canonical::parse(&reply.text()).unwrap();
    verify_node_signature(&value, &node_did).unwrap();
    assert!(value.get("done").is_none());
    assert_eq!(
        code(ExportPage::verify(&value, &node_did)),
        "EXPORT_MALFORMED"
    );

    let reply = once("missing-item-field");
    let value = canonical::parse(&reply.text()).unwrap();
    verify_node_signature(&value, &node_did).unwrap();
    assert!(value["items"][0].get("updated_at").is_none());
    assert_eq!(
        value["items"][0]["id"].as_str(),
        Some(real.items[0].id.as_str())
    );
    assert_eq!(
        code(ExportPage::verify(&value, &node_did)),
        "EXPORT_MALFORMED"
    );

    let reply = once("other-did");
    let page = ExportPage::verify(&canonical::parse(&reply.text()).unwrap(), &node_did).unwrap();
    assert!(page.did.starts_with("did:imajin:") && page.did != did);
    assert_eq!(page.items, real.items);

    let reply = once("other-service");
    let page = ExportPage::verify(&canonical::parse(&reply.text()).unwrap(), &node_did).unwrap();
    assert_eq!(
        (page.service.as_str(), page.section.as_str()),
        ("injected", "injected")
    );
    assert_eq!(
        (page.did.as_str(), &page.items),
        (did.as_str(), &real.items)
    );

    let reply = once("no-proof");
    let value = canonical::parse(&reply.text()).unwrap();
    assert!(value.get("proof").is_none());
    assert_eq!(ExportPage::from_value(&value).unwrap(), *real);
    assert_eq!(
        code(ExportPage::verify(&value, &node_did)),
        "PROOF_MALFORMED"
    );

    let reply = once("foreign-key");
    let value = canonical::parse(&reply.text()).unwrap();
    let signer = proof::verify(&value).unwrap();
    assert!(!signer.verification_method.starts_with(&node_did));
    assert_eq!(ExportPage::from_value(&value).unwrap(), *real);
    assert_eq!(code(ExportPage::verify(&value, &node_did)), "DID_MISMATCH");

    let reply = once("altered");
    let value = canonical::parse(&reply.text()).unwrap();
    let page = ExportPage::from_value(&value).unwrap();
    let altered: Vec<_> = page
        .items
        .iter()
        .zip(&real.items)
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(altered.len(), 1);
    assert_eq!(altered[0].0.data["altered"], true);
    assert_eq!(
        code(ExportPage::verify(&value, &node_did)),
        "SIGNATURE_INVALID"
    );

    let reply = once("duplicate-id");
    let value = canonical::parse(&reply.text()).unwrap();
    verify_node_signature(&value, &node_did).unwrap();
    let items = value["items"].as_array().unwrap();
    assert_eq!(items.len(), real.items.len() + 1);
    assert_eq!(items[0], items[items.len() - 1]);
    assert_eq!(
        code(ExportPage::verify(&value, &node_did)),
        "EXPORT_MALFORMED"
    );

    let reply = once("unsafe-number");
    json_200(&reply);
    assert_eq!(
        canonical::parse(&reply.text()).unwrap_err().code(),
        "UNSAFE_NUMBER"
    );
    let value = lenient(&reply);
    let live = value["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| !i["data"].is_null())
        .unwrap();
    assert_eq!(live["data"]["unsafe"].as_u64(), Some(UNSAFE_INTEGER));
    assert_eq!(UNSAFE_INTEGER, (1u64 << 53) + 1);

    let reply = once("too-deep");
    json_200(&reply);
    assert_eq!(
        canonical::parse(&reply.text()).unwrap_err().code(),
        "TOO_DEEP"
    );
    let text = reply.text();
    assert!(text.contains(&format!("\"nested\":{}", "[".repeat(MAX_DEPTH))));
    // The item's data alone is nested deeper than the cap.
    let value = lenient(&reply);
    let data = value["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| !i["data"].is_null())
        .unwrap()["data"]
        .clone();
    assert_eq!(
        canonical::check_value(&data).unwrap_err().code(),
        "TOO_DEEP"
    );

    // Stuck: the cursor asked with comes back, with nothing and done: false.
    let value = {
        let reply = once("stuck-cursor");
        canonical::parse(&reply.text()).unwrap()
    };
    let page = ExportPage::verify(&value, &node_did).unwrap();
    assert!(page.items.is_empty() && !page.done);
    arm(&client, &did, service, "stuck-cursor", Some(1));
    let reply = client.get_raw(&export_path(service, &did, Some(&real_cursor)), &headers);
    let page = ExportPage::verify(&canonical::parse(&reply.text()).unwrap(), &node_did).unwrap();
    assert_eq!(
        (page.cursor.as_str(), page.done),
        (real_cursor.as_str(), false)
    );

    let reply = once("huge");
    json_200(&reply);
    assert_eq!(reply.body.len(), HUGE_PAGE_BYTES);
    assert_eq!(
        reply.header("content-length"),
        Some(HUGE_PAGE_BYTES.to_string().as_str())
    );
    let page = ExportPage::from_value(&canonical::parse(&reply.text()).unwrap()).unwrap();
    assert_eq!(page.did, did);
    const { assert!(HUGE_PAGE_BYTES > 64 * 1024 * 1024, "beyond the vault's cap") };

    let reply = once("huge-chunked");
    json_200(&reply);
    assert_eq!(reply.body.len(), HUGE_PAGE_BYTES);
    assert_eq!(reply.header("content-length"), None);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));

    let reply = once("html");
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(reply.text().starts_with("<!DOCTYPE html>"));

    let reply = once("status-500");
    assert_eq!(reply.status, 500);
    assert_eq!(lenient(&reply)["code"], "INTERNAL");

    let reply = once("status-503-html");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert!(reply
        .text()
        .contains("<h1>503 Service Temporarily Unavailable</h1>"));

    // Slow: the real page, late.
    client
        .post_json(
            "/dev/fault",
            None,
            &json!({"did": did, "service": service, "fault": "slow", "count": 1, "delayMs": 400}),
        )
        .ok();
    let started = Instant::now();
    let slow = client
        .get(&export_path(service, &did, None), Some(&token))
        .ok();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(ExportPage::verify(&slow, &node_did).unwrap(), *real);

    // Expire-token: this token (and every other of the DID) expires; a new login works.
    let other = client.login(&user);
    arm(&client, &did, service, "expire-token", Some(1));
    let reply = client.get(&export_path(service, &did, None), Some(&token));
    reply.err(401, "TOKEN_EXPIRED");
    assert!(reply
        .header("www-authenticate")
        .is_some_and(|h| h.contains("invalid_token")));
    for t in [&token, &other] {
        client
            .get(
                &format!("/services/media/count?did={}", encode(&did)),
                Some(t),
            )
            .err(401, "TOKEN_EXPIRED");
    }
    let fresh = client.login(&user);
    let again = client
        .get(&export_path(service, &did, None), Some(&fresh))
        .ok();
    assert_eq!(ExportPage::verify(&again, &node_did).unwrap(), *real);
}

#[test]
fn faults_are_scoped_counted_and_cleared() {
    let node = dev_node(30);
    let client = node.client();
    let (a, b) = (keypair(84), keypair(85));
    let (did_a, did_b) = (a.did(), b.did());
    let (token_a, token_b) = (client.login(&a), client.login(&b));
    let status = |did: &str, token: &str, service: &str| {
        let auth = format!("Bearer {token}");
        client
            .get_raw(
                &export_path(service, did, None),
                &[("Authorization", &auth)],
            )
            .status
    };

    // Until cleared: every request of that DID and service, no other.
    let armed = arm(&client, &did_a, "media", "status-500", None);
    assert_eq!(
        armed,
        json!({"did": did_a, "service": "media", "fault": "status-500", "count": null})
    );
    for _ in 0..3 {
        assert_eq!(status(&did_a, &token_a, "media"), 500);
    }
    assert_eq!(status(&did_a, &token_a, "chat"), 200);
    assert_eq!(status(&did_b, &token_b, "media"), 200);
    // Counting happens after the usual checks: a refused request does not use the fault up.
    client
        .get(&export_path("media", &did_a, None), None)
        .err(401, "AUTH_REQUIRED");
    client
        .get(&export_path("media", &did_a, None), Some(&token_b))
        .err(403, "DID_MISMATCH");
    let listed = client.get("/dev/fault", None).ok();
    assert_eq!(listed["faults"][0]["served"], 3);
    assert_eq!(listed["faults"][0]["remaining"], Value::Null);

    // `fault: none` clears one; re-arming replaces.
    arm(&client, &did_a, "chat", "html", Some(2));
    arm(&client, &did_a, "chat", "status-503-html", Some(1));
    assert_eq!(status(&did_a, &token_a, "chat"), 503);
    assert_eq!(status(&did_a, &token_a, "chat"), 200);
    let cleared = arm(&client, &did_a, "media", "none", None);
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(status(&did_a, &token_a, "media"), 200);

    // DELETE by DID, then all.
    arm(&client, &did_a, "media", "status-500", None);
    arm(&client, &did_b, "media", "status-500", None);
    let cleared = client
        .delete(&format!("/dev/fault?did={}", encode(&did_a)))
        .ok();
    assert_eq!(cleared["cleared"], 2, "media and the exhausted chat fault");
    assert_eq!(status(&did_a, &token_a, "media"), 200);
    assert_eq!(status(&did_b, &token_b, "media"), 500);
    assert_eq!(client.delete("/dev/fault").ok()["cleared"], 1);
    assert_eq!(status(&did_b, &token_b, "media"), 200);

    // Bad requests.
    let post = |body: Value| client.post_json("/dev/fault", None, &body);
    post(json!({"did": did_a, "service": "media", "fault": "nope"})).err(400, "INVALID_REQUEST");
    post(json!({"did": did_a, "service": "media", "fault": "html", "count": 0}))
        .err(400, "INVALID_REQUEST");
    post(json!({"did": did_a, "service": "media", "fault": "html", "count": -1}))
        .err(400, "INVALID_REQUEST");
    post(json!({"did": did_a, "service": "media", "fault": "html", "delayMs": 5}))
        .err(400, "INVALID_REQUEST");
    post(json!({"did": did_a, "service": "media", "fault": "slow", "delayMs": 0}))
        .err(400, "INVALID_REQUEST");
    post(json!({"did": did_a, "service": "media", "fault": "slow", "delayMs": 1_000_000}))
        .err(400, "INVALID_REQUEST");
    post(json!({"did": did_a, "service": "payments", "fault": "html"})).err(404, "UNKNOWN_SERVICE");
    post(json!({"did": "did:web:x", "service": "media", "fault": "html"})).err(400, "INVALID_DID");
    post(json!({"service": "media", "fault": "html"})).err(400, "INVALID_REQUEST");
    assert_eq!(client.get("/dev/fault", None).ok()["faults"], json!([]));

    // Preflight offers DELETE with the flag (the browser tests clear faults cross-origin).
    let preflight = client.request(
        "OPTIONS",
        "/dev/fault",
        &[ORIGIN, ("Access-Control-Request-Method", "DELETE")],
    );
    assert!(preflight
        .header("access-control-allow-methods")
        .unwrap()
        .to_ascii_uppercase()
        .contains("DELETE"));
}

#[test]
fn receipt_faults_forge_the_receipt_of_a_real_commit() {
    let node = TestNode::start("target", |c| c.dev_endpoints = true);
    let client = node.client();
    let user = keypair(88);
    let did = user.did();
    let token = client.login(&user);
    let manifest = client.manifest();
    let t = "2026-03-09T16:45:00.000Z";

    for (n, (fault, vault_code)) in [
        ("receipt-foreign-key", "DID_MISMATCH"),
        ("receipt-altered", "SIGNATURE_INVALID"),
        ("receipt-wrong-hash", "EXPORT_MALFORMED"),
        ("receipt-wrong-did", "EXPORT_MALFORMED"),
    ]
    .into_iter()
    .enumerate()
    {
        // A bundle of its own per fault, so that each commit is a new one.
        let sections = json!({"chat": {"messages": [
            {"id": format!("msg_{n}"), "updated_at": t, "data": {"content": fault}},
            {"id": "msg_common", "updated_at": t, "data": {"content": "both"}}
        ]}});
        let (_, bytes) = signed_bundle(&user, sections.clone());
        let hash = sha256_hex(&bytes);
        let counts = rights::bundle_counts(sections.as_object().unwrap());
        let armed = arm(&client, &did, "transfer", fault, Some(1));
        assert_eq!(
            armed,
            json!({"did": did, "service": "transfer", "fault": fault, "count": 1})
        );
        // Exports are not affected by a receipt fault, nor do they use it up.
        client.export_all(&token, &manifest.did, "chat", &did, 1000, None);

        let forged = upload(&client, &token, &did, &bytes).ok();
        // The vault's own check refuses it with the code documented for the fault.
        let refused = rights::check_transfer_receipt(
            &forged,
            &manifest.did,
            &manifest.node,
            &did,
            &hash,
            &counts,
        )
        .unwrap_err();
        assert_eq!(refused.code(), vault_code, "{fault}: {refused}");

        // The node committed for real: the data is imported and the genuine receipt is stored.
        assert_eq!(
            sections_value(&export_state(&client, &token, &did)),
            sections,
            "{fault}"
        );
        let session = client
            .post_json(
                "/transfer/sessions",
                Some(&token),
                &json!({"did": did, "bundle_hash": hash, "size": bytes.len()}),
            )
            .ok();
        assert_eq!(session["committed"], true, "{fault}");
        let genuine = session["receipt"].clone();
        rights::check_transfer_receipt(
            &genuine,
            &manifest.did,
            &manifest.node,
            &did,
            &hash,
            &counts,
        )
        .unwrap();
        assert_ne!(forged, genuine, "{fault}");
        // Served once; committing again answers the genuine receipt.
        let listed = client
            .get(&format!("/dev/fault?did={}", encode(&did)), None)
            .ok();
        assert_eq!(
            listed["faults"],
            json!([{"did": did, "service": "transfer", "fault": fault, "remaining": 0, "served": 1}]),
            "{fault}"
        );
        let id = session["session_id"].as_str().unwrap();
        let again = client
            .post_empty(&format!("/transfer/sessions/{id}/commit"), Some(&token))
            .ok();
        assert_eq!(again, genuine, "{fault}");

        // What each forgery is.
        let genuine_receipt = TransferReceipt::from_value(&genuine).unwrap();
        let forged_receipt = TransferReceipt::from_value(&forged).unwrap();
        match fault {
            "receipt-foreign-key" => {
                let signer = proof::verify(&forged).unwrap();
                assert!(!signer.verification_method.starts_with(&manifest.did));
                assert_eq!(forged_receipt, genuine_receipt);
            }
            "receipt-altered" => {
                assert_eq!(forged["proof"], genuine["proof"]);
                assert_eq!(
                    proof::verify(&forged).unwrap_err().code(),
                    "SIGNATURE_INVALID"
                );
                assert_eq!(forged["counts"]["chat"]["messages"], 3);
                assert_eq!(
                    TransferReceipt {
                        counts: genuine_receipt.counts.clone(),
                        ..forged_receipt
                    },
                    genuine_receipt
                );
            }
            "receipt-wrong-hash" => {
                verify_node_signature(&forged, &manifest.did).unwrap();
                assert_ne!(forged_receipt.bundle_hash, hash);
                assert_eq!(
                    TransferReceipt {
                        bundle_hash: hash.clone(),
                        ..forged_receipt
                    },
                    genuine_receipt
                );
            }
            "receipt-wrong-did" => {
                verify_node_signature(&forged, &manifest.did).unwrap();
                assert!(forged_receipt.did.starts_with("did:imajin:") && forged_receipt.did != did);
                assert_eq!(
                    TransferReceipt {
                        did: did.clone(),
                        ..forged_receipt
                    },
                    genuine_receipt
                );
            }
            _ => unreachable!(),
        }
    }

    // Receipt faults go with the pseudo-service `transfer` only, and export faults with real services.
    let post = |body: Value| client.post_json("/dev/fault", None, &body);
    post(json!({"did": did, "service": "chat", "fault": "receipt-altered"}))
        .err(400, "INVALID_REQUEST");
    post(json!({"did": did, "service": "transfer", "fault": "html"})).err(404, "UNKNOWN_SERVICE");
    arm(&client, &did, "transfer", "receipt-altered", None);
    let cleared = arm(&client, &did, "transfer", "none", None);
    assert_eq!(cleared["cleared"], 1);
}

#[test]
fn expire_tokens_endpoint() {
    let node = dev_node(10);
    let client = node.client();
    let (a, b) = (keypair(86), keypair(87));
    let (token_a1, token_a2, token_b) = (client.login(&a), client.login(&a), client.login(&b));
    let count = |did: &str, token: &str| {
        client.get(
            &format!("/services/profile/count?did={}", encode(did)),
            Some(token),
        )
    };
    let answer = client
        .post_json("/dev/expire-tokens", None, &json!({"did": a.did()}))
        .ok();
    assert_eq!(answer, json!({"did": a.did(), "expired": 2}));
    for t in [&token_a1, &token_a2] {
        count(&a.did(), t).err(401, "TOKEN_EXPIRED");
    }
    count(&b.did(), &token_b).ok();
    // Already expired tokens are not counted again.
    let again = client
        .post_json("/dev/expire-tokens", None, &json!({"did": a.did()}))
        .ok();
    assert_eq!(again["expired"], 0);
    let fresh = client.login(&a);
    count(&a.did(), &fresh).ok();
    client
        .post_json("/dev/expire-tokens", None, &json!({"did": "nope"}))
        .err(400, "INVALID_DID");
}

/// `dropped-mid-body`: the answer promises the whole page's length and the connection closes after
/// half of it.
#[test]
fn dropped_mid_body_closes_the_connection_after_half_the_declared_length() {
    use std::io::{Read, Write};
    let node = dev_node(10);
    let client = node.client();
    let user = keypair(87);
    let did = user.did();
    let token = client.login(&user);
    arm(&client, &did, "chat", "dropped-mid-body", Some(1));
    let addr = node.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n",
        export_path("chat", &did, None)
    )
    .unwrap();
    let mut answer = Vec::new();
    // Read to the end: the server closes the connection (a timeout here would mean it kept it open).
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let received = answer.len() - split;
    assert_eq!(declared, DROPPED_PAGE_BYTES);
    assert_eq!(
        received,
        declared / 2,
        "half the promised body, then the end"
    );
    // The next request is answered normally.
    let manifest = client.manifest();
    client.export_all(&token, &manifest.did, "chat", &did, 1000, None);
}
