//! `/dev/canned`: answers stored by a test and served byte for byte, only with `--dev-endpoints`.

use serde_json::json;

use crate::common::TestNode;

const ORIGIN: (&str, &str) = ("Origin", "http://app.example");

#[test]
fn a_stored_answer_is_served_as_given_with_cors() {
    let node = TestNode::start("source", |c| c.dev_endpoints = true);
    let client = node.client();
    let body = "{\"did\": [[[ not json";
    let stored = client
        .post_json(
            "/dev/canned",
            None,
            &json!({"name": "bad-manifest", "status": 203, "contentType": "text/x-odd", "body": body}),
        )
        .ok();
    assert_eq!(stored["path"], "/dev/canned/bad-manifest");
    let reply = client.get_raw("/dev/canned/bad-manifest", &[ORIGIN]);
    assert_eq!(reply.status, 203);
    assert_eq!(reply.header("content-type"), Some("text/x-odd"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.text(), body);

    // Defaults: 200 and JSON; the same name is replaced.
    client
        .post_json(
            "/dev/canned",
            None,
            &json!({"name": "bad-manifest", "body": "[]"}),
        )
        .ok();
    let reply = client.get_raw("/dev/canned/bad-manifest", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text(), "[]");

    // Also to a POST, and an error status keeps its own body.
    client
        .post_json(
            "/dev/canned",
            None,
            &json!({"name": "down", "status": 500, "contentType": "text/plain", "body": "\"upstream failed\""}),
        )
        .ok();
    let reply = client.post_raw("/dev/canned/down", None, "application/json", b"{}".to_vec());
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(reply.body, "upstream failed");
    client
        .get("/dev/canned/nothing-here", None)
        .err(404, "NOT_FOUND");
    for bad in [
        json!({"name": "../x", "body": ""}),
        json!({"name": "a", "body": 5}),
        json!({"name": "a", "body": "", "status": 99}),
        json!({"name": "a", "body": "", "contentType": "a\nb"}),
        json!({"body": ""}),
    ] {
        client
            .post_json("/dev/canned", None, &bad)
            .err(400, "INVALID_REQUEST");
    }
}

#[test]
fn canned_answers_do_not_exist_without_the_flag() {
    let node = TestNode::start("source", |_| {});
    let client = node.client();
    client
        .post_json("/dev/canned", None, &json!({"name": "a", "body": "{}"}))
        .err(404, "NOT_FOUND");
    client.get("/dev/canned/a", None).err(404, "NOT_FOUND");
}
