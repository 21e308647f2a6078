//! The signed, portable data bundle (the RFC's shape, signed with an `eddsa-jcs-2022` proof):
//!
//! ```json
//! { "did": "did:imajin:…", "exported_at": "2026-03-09T16:45:00Z", "node": "jin.imajin.ai",
//!   "sections": { "media": {"assets": [...]}, ... },
//!   "log": { "length": 1234, "head": "<hex SHA-256 of the last log entry>" },
//!   "proof": { ... } }
//! ```
//!
//! A bundle verifies when its proof verifies **and** the bundle's `did` is bound to the key that signed
//! it. A `did:imajin` that does not encode a key cannot be bound offline and is reported as
//! `DID_UNVERIFIABLE`, never accepted.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use sha2::{Digest, Sha256};

use super::canonical;
use super::canonical_text;
use super::did::{self, DidKey};
use super::error::{excerpt, Error, Result};
use super::keys::Keypair;
use super::proof;

/// The log head of an empty log: 64 zero hex digits.
pub const GENESIS_HEAD: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bundle's commitment to the append log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCommitment {
    /// Number of entries in the log.
    pub length: u64,
    /// Lowercase hex SHA-256 of the last entry ([`GENESIS_HEAD`] for an empty log).
    pub head: String,
}

/// A bundle checked in place by [`Bundle::check_shape`].
#[derive(Debug)]
pub struct Shape<'a> {
    /// The owner's DID.
    pub did: &'a str,
    /// When the bundle was assembled.
    pub exported_at: &'a str,
    /// The node (or vault) that assembled it.
    pub node: &'a str,
    /// Section name → section object.
    pub sections: &'a Map<String, Value>,
    /// The append-log commitment.
    pub log: LogCommitment,
}

/// An unsigned bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// The owner's DID.
    pub did: String,
    /// When the bundle was assembled (XML Schema dateTime, UTC).
    pub exported_at: String,
    /// The node (or vault) that assembled it.
    pub node: String,
    /// Section name → section object. Open-ended: plugin services bring their own sections.
    pub sections: Map<String, Value>,
    /// The append-log commitment.
    pub log: LogCommitment,
}

impl Bundle {
    /// Checks the bundle's shape (not its proof) and reads it from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self> {
        let shape = Self::check_shape(value)?;
        Ok(Bundle {
            did: shape.did.to_owned(),
            exported_at: shape.exported_at.to_owned(),
            node: shape.node.to_owned(),
            sections: shape.sections.clone(),
            log: shape.log,
        })
    }

    /// Checks the bundle's shape (not its proof) without copying it; answers borrowed parts.
    pub fn check_shape(value: &Value) -> Result<Shape<'_>> {
        let map = value
            .as_object()
            .ok_or_else(|| Error::BundleMalformed("a bundle is a JSON object".into()))?;
        for key in ["did", "exported_at", "node", "sections", "log"] {
            if !map.contains_key(key) {
                return Err(Error::BundleMalformed(format!("missing member {key:?}")));
            }
        }
        let field_str = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| Error::BundleMalformed(format!("{key} must be a string")))
        };
        let did = field_str("did")?;
        did::decode(did)?;
        proof::check_datetime(field_str("exported_at")?)
            .map_err(|_| Error::BundleMalformed("exported_at must be a dateTime".into()))?;
        field_str("node")?;
        let sections = map
            .get("sections")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::BundleMalformed("sections must be an object".into()))?;
        if let Some((name, _)) = sections.iter().find(|(_, v)| !v.is_object()) {
            return Err(Error::BundleMalformed(format!(
                "section {} must be an object",
                excerpt(name)
            )));
        }
        let log: LogCommitment = map
            .get("log")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| Error::BundleMalformed(format!("log: {e}")))?
            .ok_or_else(|| Error::BundleMalformed("missing member \"log\"".into()))?;
        if log.head.len() != 64
            || !log
                .head
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(Error::BundleMalformed(
                "log.head must be 64 lowercase hex digits".into(),
            ));
        }
        if let Some(extra) = map.keys().find(|k| {
            !matches!(
                k.as_str(),
                "did" | "exported_at" | "node" | "sections" | "log" | "proof"
            )
        }) {
            return Err(Error::BundleMalformed(format!(
                "unknown member {}",
                excerpt(extra)
            )));
        }
        Ok(Shape {
            did,
            exported_at: field_str("exported_at")?,
            node: field_str("node")?,
            sections,
            log,
        })
    }

    /// The bundle as a JSON value (unsigned).
    pub fn to_value(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(|e| Error::BundleMalformed(e.to_string()))
    }

    /// Signs the bundle with the owner's key. The key must be the one the bundle's DID names.
    pub fn sign(&self, keypair: &Keypair, created: &str) -> Result<Value> {
        check_binding(&self.did, &keypair.public_key())?;
        proof::sign(self.to_value()?, keypair, created)
    }
}

/// Signs a bundle given as RFC 8785 text (see [`Store::assemble_text`](super::store::Store::assemble_text))
/// with the owner's key, which must be the one `did` names: the proof member is put in at
/// `sections_at`, where RFC 8785 order puts it. The same bytes as the RFC 8785 form of [`Bundle::sign`].
pub fn sign_text(
    text: String,
    sections_at: usize,
    did: &str,
    keypair: &Keypair,
    created: &str,
) -> Result<String> {
    let document_hash = super::hash::sha256(text.as_bytes());
    sign_text_hashed(text, sections_at, did, keypair, created, &document_hash)
}

/// [`sign_text`], given the SHA-256 of `text` (which the caller may compute where hashing is fastest).
/// The proof goes into `text` itself, within its spare capacity when it has enough: a bundle is not
/// copied to be signed.
pub fn sign_text_hashed(
    mut text: String,
    sections_at: usize,
    did: &str,
    keypair: &Keypair,
    created: &str,
    document_hash: &[u8; 32],
) -> Result<String> {
    check_binding(did, &keypair.public_key())?;
    if !text.is_char_boundary(sections_at) || !text[sections_at..].starts_with(",\"sections\":") {
        return Err(Error::InvalidArgument(
            "the bundle text has no sections member where it was said to be".into(),
        ));
    }
    let proof = proof::sign_prehashed(document_hash, keypair, created)?;
    let member = format!(
        ",\"proof\":{}",
        canonical::to_canonical_string(&Value::Object(proof))?
    );
    text.insert_str(sections_at, &member);
    Ok(text)
}

/// What a successful bundle verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleVerified {
    /// The bundle's DID, bound to the signing key.
    pub did: String,
    /// The proof's verification method.
    pub verification_method: String,
    /// When the bundle was assembled.
    pub exported_at: String,
    /// The bundle's append-log commitment.
    pub log: LogCommitment,
    /// Whether the text verified was the bundle's RFC 8785 form itself ([`verify_bundle_text`]'s fast
    /// path): then its bytes are the canonical bytes, with no need to recompute them.
    pub canonical_text: bool,
}

/// Verifies a signed bundle: shape, proof, and the binding of its DID to the signing key.
pub fn verify_bundle(value: &Value) -> Result<BundleVerified> {
    let shape = Bundle::check_shape(value)?;
    let verified = proof::verify(value)?;
    check_binding(shape.did, &verified.public_key)?;
    Ok(BundleVerified {
        did: shape.did.to_owned(),
        verification_method: verified.verification_method,
        exported_at: shape.exported_at.to_owned(),
        log: shape.log,
        canonical_text: false,
    })
}

/// Verifies a signed bundle given as JSON text: the same answer and errors as [`canonical::parse`] then
/// [`verify_bundle`].
///
/// A bundle in canonical form (as [`sign_text`] writes them, and as `JSON.stringify` gives back an
/// object parsed from one) takes a fast path that builds no value tree: one pass recognizes the
/// canonical text, one borrowed parse reads the top-level members, and the proof is checked over the
/// text with its `proof` member cut out. Anything else goes the general way.
pub fn verify_bundle_text(text: &str) -> Result<BundleVerified> {
    if let Some(verified) = verify_canonical_text(text) {
        return Ok(verified);
    }
    verify_bundle(&canonical::parse(text)?)
}

fn verify_canonical_text(text: &str) -> Option<BundleVerified> {
    // One pass recognizes the canonical text and finds the members; only the small ones are parsed.
    let found = canonical_text::canonical_members(text, canonical::MAX_DEPTH, "sections")?;
    let member = |name: &str| {
        found
            .members
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };
    // Keys are unique in canonical text: these six present and no more is the shape's member set.
    if found.members.len() != 6 {
        return None;
    }
    let string = |name: &str| serde_json::from_str::<String>(member(name)?).ok();
    let did = string("did")?;
    let exported_at = string("exported_at")?;
    string("node")?;
    let log: LogCommitment = serde_json::from_str(member("log")?).ok()?;
    did::decode(&did).ok()?;
    proof::check_datetime(&exported_at).ok()?;
    let head_ok = log.head.len() == 64
        && log
            .head
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let sections_ok = member("sections")?.starts_with('{')
        && found.inner.iter().all(|(_, value)| value.starts_with('{'));
    if !head_ok || !sections_ok {
        return None;
    }
    let proof_text = member("proof")?;
    let (start, end) = canonical_text::proof_member_span(text, proof_text)?;
    let mut hasher = Sha256::new();
    super::hash::update(&mut hasher, &text.as_bytes()[..start]);
    super::hash::update(&mut hasher, &text.as_bytes()[end..]);
    let document_hash: [u8; 32] = hasher.finalize().into();
    let proof: Value = serde_json::from_str(proof_text).ok()?;
    let verified = proof::verify_prehashed(proof.as_object()?, &document_hash).ok()?;
    check_binding(&did, &verified.public_key).ok()?;
    Some(BundleVerified {
        did,
        verification_method: verified.verification_method,
        exported_at,
        log,
        canonical_text: true,
    })
}

/// Checks that `did` names `public_key`.
pub fn check_binding(did_text: &str, public_key: &[u8; 32]) -> Result<()> {
    match did::decode(did_text)? {
        DidKey::Bound(key) if key == *public_key => Ok(()),
        DidKey::Bound(_) => Err(Error::DidMismatch(format!(
            "{} is not the DID of the signing key {}",
            excerpt(did_text),
            did::encode(public_key, did::Method::Key)
        ))),
        DidKey::Unbound => Err(Error::DidUnverifiable(format!(
            "{} does not encode a key, so its binding to {} cannot be checked offline",
            excerpt(did_text),
            did::encode(public_key, did::Method::Key)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CREATED: &str = "2026-03-09T16:45:00Z";

    fn bundle_for(did: &str) -> Bundle {
        let value = json!({
            "did": did,
            "exported_at": CREATED,
            "node": "jin.imajin.ai",
            "sections": {
                "media": {"assets": [{"id": "asset_1", "filename": "café.jpg", "size": 1024}]},
                "events": {"tickets": []},
                "identity": {"attestations": [], "tier": "established"}
            },
            "log": {"length": 0, "head": GENESIS_HEAD}
        });
        Bundle::from_value(&value).unwrap()
    }

    #[test]
    fn signed_bundle_verifies_and_binds_did() {
        let kp = Keypair::from_seed(&[5u8; 32]);
        for did in [kp.did(), kp.did_key()] {
            let signed = bundle_for(&did).sign(&kp, CREATED).unwrap();
            let verified = verify_bundle(&signed).unwrap();
            assert_eq!(verified.did, did);
        }
    }

    #[test]
    fn another_key_is_a_mismatch() {
        let owner = Keypair::from_seed(&[5u8; 32]);
        let other = Keypair::from_seed(&[6u8; 32]);
        let bundle = bundle_for(&owner.did());
        assert_eq!(
            bundle.sign(&other, CREATED).unwrap_err().code(),
            "DID_MISMATCH"
        );
        // Signed by `other` as a plain document: the proof is valid, the binding is not.
        let signed = proof::sign(bundle.to_value().unwrap(), &other, CREATED).unwrap();
        assert_eq!(verify_bundle(&signed).unwrap_err().code(), "DID_MISMATCH");
    }

    #[test]
    fn handle_did_is_not_verifiable_offline() {
        let kp = Keypair::from_seed(&[5u8; 32]);
        let bundle = bundle_for("did:imajin:alice");
        let signed = proof::sign(bundle.to_value().unwrap(), &kp, CREATED).unwrap();
        assert_eq!(
            verify_bundle(&signed).unwrap_err().code(),
            "DID_UNVERIFIABLE"
        );
    }

    #[test]
    fn tampered_bundle_fails() {
        let kp = Keypair::from_seed(&[5u8; 32]);
        let mut signed = bundle_for(&kp.did()).sign(&kp, CREATED).unwrap();
        signed["sections"]["media"]["assets"][0]["size"] = json!(1025);
        assert_eq!(
            verify_bundle(&signed).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
    }

    #[test]
    fn shape_errors() {
        let kp = Keypair::from_seed(&[5u8; 32]);
        let good = bundle_for(&kp.did()).to_value().unwrap();
        let mutations: Vec<(&str, Value)> = vec![
            ("did", json!(5)),
            ("exported_at", json!("soon")),
            ("sections", json!([])),
            ("log", json!({"length": 1})),
            ("log", json!({"length": -1, "head": GENESIS_HEAD})),
            ("log", json!({"length": 0, "head": "XYZ"})),
            ("extra", json!(1)),
        ];
        for (key, value) in mutations {
            let mut bad = good.clone();
            bad[key] = value.clone();
            assert_eq!(
                Bundle::from_value(&bad).unwrap_err().code(),
                "BUNDLE_MALFORMED",
                "{key}={value}"
            );
        }
        let mut bad = good.clone();
        bad["sections"]["media"] = json!([1]);
        assert_eq!(
            Bundle::from_value(&bad).unwrap_err().code(),
            "BUNDLE_MALFORMED"
        );
        let mut bad = good.clone();
        bad["did"] = json!("did:web:x");
        assert_eq!(Bundle::from_value(&bad).unwrap_err().code(), "INVALID_DID");
        let mut missing = good;
        missing.as_object_mut().unwrap().remove("node");
        assert_eq!(
            Bundle::from_value(&missing).unwrap_err().code(),
            "BUNDLE_MALFORMED"
        );
    }
}

/// The fast text path gives exactly what the general one gives.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)]
mod text_path {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn same(text: &str) {
        let fast = verify_bundle_text(text);
        let general = canonical::parse(text).and_then(|v| verify_bundle(&v));
        match (&fast, &general) {
            (Ok(a), Ok(b)) => {
                let fields = |v: &BundleVerified| {
                    (
                        v.did.clone(),
                        v.verification_method.clone(),
                        v.exported_at.clone(),
                        v.log.clone(),
                    )
                };
                assert_eq!(fields(a), fields(b));
                assert!(!b.canonical_text);
                // Only a canonical text is reported as one.
                assert!(
                    !a.canonical_text || canonical_text::is_canonical(text, canonical::MAX_DEPTH)
                );
            }
            (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "{a} / {b}"),
            _ => panic!("fast {fast:?} but general {general:?} for {text}"),
        }
    }

    fn signed(seed: u8, items: Vec<Value>) -> String {
        let key = Keypair::from_seed(&[seed; 32]);
        let bundle = Bundle {
            did: key.did(),
            exported_at: "2026-03-09T16:45:00Z".into(),
            node: "bundle-vault".into(),
            sections: json!({"chat": {"messages": items}, "media": {}})
                .as_object()
                .unwrap()
                .clone(),
            log: LogCommitment {
                length: 3,
                head: "ab".repeat(32),
            },
        };
        canonical::to_canonical_string(&bundle.sign(&key, "2026-03-09T16:45:00Z").unwrap()).unwrap()
    }

    #[test]
    fn a_canonical_bundle_takes_the_fast_path() {
        let text = signed(
            4,
            vec![
                json!({"data": {"f": 1.5, "t": "Ça \"x\""}, "id": "m1", "updated_at": "2026-01-01T00:00:00.000Z"}),
            ],
        );
        assert!(verify_canonical_text(&text).is_some());
        assert!(verify_bundle_text(&text).unwrap().canonical_text);
        same(&text);
        // Signed by a key that is not the bundle's DID: the general path says why.
        let other = Keypair::from_seed(&[5; 32]);
        let mut value = canonical::parse(&text).unwrap();
        value["did"] = json!(other.did());
        same(&canonical::to_canonical_string(&value).unwrap());
        let pretty = serde_json::to_string_pretty(&canonical::parse(&text).unwrap()).unwrap();
        assert!(!verify_bundle_text(&pretty).unwrap().canonical_text);
        same(&pretty);
    }

    proptest! {
        #[test]
        fn fast_and_general_agree(
            texts in prop::collection::vec("[a-z \"\\\\é😀]{0,8}", 0..4),
            cut in 0usize..2000,
            insert in prop_oneof![Just(""), Just(" "), Just("1"), Just("\""), Just(","), Just("}")],
        ) {
            let items = texts
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"data": {"text": t, "n": i}, "id": format!("m{i}"), "updated_at": "2026-01-01T00:00:00.000Z"}))
                .collect();
            let text = signed(4, items);
            same(&text);
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            same(&format!("{}{}{}", &text[..at], insert, &text[at..]));
        }
    }
}
