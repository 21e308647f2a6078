//! Test support: nodes on ephemeral loopback ports with temporary data directories, a small blocking
//! HTTP client, login, paging, bundles and uploads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bundle_node::background::BackgroundNode;
use bundle_node::Config;
use bundle_vault::core::bundle::{Bundle, GENESIS_HEAD};
use bundle_vault::core::canonical;
use bundle_vault::core::export::ExportPage;
use bundle_vault::core::keys::Keypair;
use bundle_vault::core::manifest::Manifest;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub const CREATED: &str = "2026-03-09T16:45:00Z";

/// A node with its own temporary data directory.
pub struct TestNode {
    pub node: Option<BackgroundNode>,
    pub config: Config,
    pub dir: tempfile::TempDir,
    pub base: String,
}

impl TestNode {
    pub fn start(name: &str, configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(
            "127.0.0.1:0".parse().unwrap(),
            name,
            PathBuf::from(dir.path()),
        );
        configure(&mut config);
        let node = BackgroundNode::start(config.clone()).unwrap();
        let base = node.base_url();
        TestNode {
            node: Some(node),
            config,
            dir,
            base,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Stops the node and starts it again on the same data directory (and a new port).
    pub fn restart(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop().unwrap();
        }
        let node = BackgroundNode::start(self.config.clone()).unwrap();
        self.base = node.base_url();
        self.node = Some(node);
    }
}

/// A response: status and JSON body (Null when the body is empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn ok(self) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self.body
    }

    /// Asserts an error status and code, and the `{code, message}` shape.
    pub fn err(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(self.body.as_object().unwrap().len(), 2, "{}", self.body);
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response with its body as bytes.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Client {
    agent: ureq::Agent,
    pub base: String,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            agent,
            base: base.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn finish(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = response.unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let text = response
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.call())
    }

    pub fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.post_raw(
            path,
            token,
            "application/json",
            serde_json::to_vec(body).unwrap(),
        )
    }

    pub fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .agent
            .post(self.url(path))
            .header("Content-Type", content_type);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.send(&body[..]))
    }

    pub fn post_empty(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.agent.post(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.send_empty())
    }

    pub fn put_bytes(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let mut request = self
            .agent
            .put(self.url(path))
            .header("Content-Type", content_type);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.send(body))
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(()).unwrap();
        Self::finish(self.agent.run(request))
    }

    /// A GET whose body is returned as bytes, whatever it is (for answers that are not JSON).
    pub fn get_raw(&self, path: &str, headers: &[(&str, &str)]) -> RawReply {
        let mut request = self.agent.get(self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request
            .call()
            .unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .unwrap();
        RawReply {
            status,
            headers,
            body,
        }
    }

    pub fn delete(&self, path: &str) -> Reply {
        Self::finish(self.agent.delete(self.url(path)).call())
    }

    pub fn manifest(&self) -> Manifest {
        let url = self.url("/.well-known/bundle-node");
        let body = self.get("/.well-known/bundle-node", None).ok();
        Manifest::from_value(&body, &url).unwrap()
    }

    /// Challenge, sign, verify: a bearer token for the key's `did:imajin`.
    pub fn login(&self, key: &Keypair) -> String {
        self.login_as(key, &key.did())
    }

    pub fn login_as(&self, key: &Keypair, did: &str) -> String {
        let challenge = self
            .post_json("/auth/challenge", None, &json!({"did": did}))
            .ok();
        let signature = hex::encode(key.sign(challenge["challenge"].as_str().unwrap().as_bytes()));
        let reply = self.post_json(
            "/auth/verify",
            None,
            &json!({"challengeId": challenge["challengeId"], "did": did, "signature": signature}),
        );
        reply.ok()["token"].as_str().unwrap().to_owned()
    }

    /// Every page of a service's export from `cursor`, each verified against the node key.
    pub fn export_all(
        &self,
        token: &str,
        node_did: &str,
        service: &str,
        did: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> (Vec<ExportPage>, String) {
        let mut cursor = cursor.map(str::to_owned);
        let mut pages = Vec::new();
        loop {
            let mut path = format!(
                "/services/{service}/export?did={}&limit={limit}",
                encode(did)
            );
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", encode(c)));
            }
            let body = self.get(&path, Some(token)).ok();
            let page = ExportPage::verify(&body, node_did).unwrap();
            assert_eq!((page.did.as_str(), page.service.as_str()), (did, service));
            assert!(page.items.len() <= limit);
            cursor = Some(page.cursor.clone());
            let done = page.done;
            pages.push(page);
            if done {
                break;
            }
            assert!(pages.len() < 10_000, "export does not end");
        }
        (pages, cursor.unwrap_or_default())
    }

    pub fn count(&self, token: &str, service: &str, did: &str) -> BTreeMap<String, u64> {
        let body = self
            .get(
                &format!("/services/{service}/count?did={}", encode(did)),
                Some(token),
            )
            .ok();
        assert_eq!(body["did"], did);
        assert_eq!(body["section"], service);
        serde_json::from_value(body["counts"].clone()).unwrap()
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Section → collection → bundle items (sorted by id), from export pages applied in order.
pub type Sections = BTreeMap<String, BTreeMap<String, BTreeMap<String, Value>>>;

/// Applies pages to a state (later versions replace earlier ones; tombstones remove).
pub fn apply_pages(state: &mut Sections, pages: &[ExportPage]) {
    for page in pages {
        for item in &page.items {
            let collection = state
                .entry(page.section.clone())
                .or_default()
                .entry(item.collection.clone())
                .or_default();
            match item.to_bundle_item() {
                Some(b) => {
                    collection.insert(b.id.clone(), b.to_value());
                }
                None => {
                    collection.remove(&item.id);
                }
            }
        }
    }
}

/// The `sections` member of a bundle from a state (empty collections dropped).
pub fn sections_value(state: &Sections) -> Value {
    let mut sections = Map::new();
    for (section, collections) in state {
        let mut out = Map::new();
        for (collection, items) in collections {
            if !items.is_empty() {
                out.insert(
                    collection.clone(),
                    Value::Array(items.values().cloned().collect()),
                );
            }
        }
        if !out.is_empty() {
            sections.insert(section.clone(), Value::Object(out));
        }
    }
    Value::Object(sections)
}

/// Everything a DID has on a node, through the export of every service.
pub fn export_state(client: &Client, token: &str, did: &str) -> Sections {
    let manifest = client.manifest();
    let mut state = Sections::new();
    for service in &manifest.services {
        let (pages, _) = client.export_all(token, &manifest.did, &service.name, did, 5000, None);
        apply_pages(&mut state, &pages);
    }
    state
}

/// A signed bundle of `sections` and its JCS bytes.
pub fn signed_bundle(key: &Keypair, sections: Value) -> (Value, Vec<u8>) {
    let bundle = Bundle::from_value(&json!({
        "did": key.did(),
        "exported_at": CREATED,
        "node": "vault",
        "sections": sections,
        "log": {"length": 0, "head": GENESIS_HEAD},
    }))
    .unwrap();
    let signed = bundle.sign(key, CREATED).unwrap();
    let bytes = canonical::to_canonical_vec(&signed).unwrap();
    (signed, bytes)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Creates a session, uploads every chunk, commits; returns the commit reply.
pub fn upload(client: &Client, token: &str, did: &str, bytes: &[u8]) -> Reply {
    let session = client
        .post_json(
            "/transfer/sessions",
            Some(token),
            &json!({"did": did, "bundle_hash": sha256_hex(bytes), "size": bytes.len()}),
        )
        .ok();
    let id = session["session_id"].as_str().unwrap().to_owned();
    let chunk = session["chunk_size"].as_u64().unwrap() as usize;
    for (i, part) in bytes.chunks(chunk).enumerate() {
        client
            .put_bytes(
                &format!("/transfer/sessions/{id}/chunks/{i}"),
                Some(token),
                "application/octet-stream",
                part,
            )
            .ok();
    }
    client.post_empty(&format!("/transfer/sessions/{id}/commit"), Some(token))
}

pub fn keypair(seed: u8) -> Keypair {
    Keypair::from_seed(&[seed; 32])
}
