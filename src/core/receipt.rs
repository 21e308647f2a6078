//! Delete requests (signed by the user's key) and the receipts a node signs with its own key: the
//! deletion receipt answering a delete request, and the transfer receipt answering an imported bundle.
//!
//! ```json
//! { "type": "DeleteRequest", "did": "did:imajin:…", "service": "media", "node": "source",
//!   "nonce": "<32 lowercase hex>", "requested_at": "2026-03-09T16:45:00.000Z", "proof": {…user key…} }
//! { "type": "DeletionReceipt", "did": "…", "service": "media", "node": "source",
//!   "deleted": {"assets": 47, "contexts": 3}, "deleted_at": "…", "request_hash": "<64 hex>", "proof": {…node key…} }
//! { "type": "TransferReceipt", "did": "…", "node": "target", "bundle_hash": "<64 hex>",
//!   "counts": {"media": {"assets": 47}}, "received_at": "…", "proof": {…node key…} }
//! ```
//!
//! `request_hash` is the lowercase hex SHA-256 of the RFC 8785 bytes of the whole signed request (proof
//! included); `bundle_hash` the lowercase hex SHA-256 of the bundle bytes uploaded, which are the RFC 8785
//! bytes of the signed bundle.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::bundle::check_binding;
use super::canonical::MAX_SAFE_INTEGER;
use super::did;
use super::error::{excerpt, Error, Result};
use super::export::is_portable_name;
use super::keys::Keypair;
use super::proof;

/// `type` of a delete request.
pub const DELETE_REQUEST_TYPE: &str = "DeleteRequest";
/// `type` of a deletion receipt.
pub const DELETION_RECEIPT_TYPE: &str = "DeletionReceipt";
/// `type` of a transfer receipt.
pub const TRANSFER_RECEIPT_TYPE: &str = "TransferReceipt";
/// Hex digits of a delete request's nonce (16 random bytes).
pub const NONCE_HEX_LEN: usize = 32;
/// Longest node name, in bytes.
pub const MAX_NODE_NAME_LEN: usize = 256;

/// Counts per collection, e.g. `{"assets": 47, "contexts": 3}`.
pub type Counts = BTreeMap<String, u64>;
/// Counts per section and collection.
pub type SectionCounts = BTreeMap<String, Counts>;

/// A request to delete one service's data of a DID on one node, signed by the DID's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    /// The DID whose data is to be deleted (it signs the request).
    pub did: String,
    /// The service (as named in the node's manifest).
    pub service: String,
    /// The node's key DID (the manifest's `did`), so a request cannot be replayed at another node. Not
    /// the node's name: a name is only what a node says of itself, and a node that claimed another's
    /// name could otherwise pass on requests made for it to that node.
    pub node: String,
    /// 32 lowercase hex digits, never used twice.
    pub nonce: String,
    /// When the request was made (XML Schema dateTime; nodes accept it within a few minutes of now).
    pub requested_at: String,
}

impl DeleteRequest {
    /// A request with a fresh random nonce.
    pub fn new(did: &str, service: &str, node: &str, requested_at: &str) -> Result<Self> {
        let mut bytes = [0u8; NONCE_HEX_LEN / 2];
        getrandom::fill(&mut bytes).map_err(|e| Error::Randomness(e.to_string()))?;
        let request = DeleteRequest {
            did: did.to_owned(),
            service: service.to_owned(),
            node: node.to_owned(),
            nonce: hex::encode(bytes),
            requested_at: requested_at.to_owned(),
        };
        Self::from_value(&request.to_value())?;
        Ok(request)
    }

    /// Reads and checks the request's shape (not its proof; see [`DeleteRequest::verify`]).
    pub fn from_value(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::InvalidArgument(format!("delete request: {why}"));
        let map = object(value, &bad)?;
        only_members(
            map,
            &[
                "type",
                "did",
                "service",
                "node",
                "nonce",
                "requested_at",
                "proof",
            ],
            &bad,
        )?;
        expect_type(map, DELETE_REQUEST_TYPE, &bad)?;
        let did_text = string(map, "did", &bad)?;
        did::decode(did_text)?;
        let service = name(map, "service", &bad)?;
        let node = node_name(map, &bad)?;
        let nonce = string(map, "nonce", &bad)?;
        if !is_lower_hex(nonce, NONCE_HEX_LEN) {
            return Err(bad(format!(
                "nonce must be {NONCE_HEX_LEN} lowercase hex digits"
            )));
        }
        let requested_at = string(map, "requested_at", &bad)?;
        proof::check_datetime(requested_at)
            .map_err(|_| bad("requested_at must be a dateTime".into()))?;
        Ok(DeleteRequest {
            did: did_text.to_owned(),
            service,
            node,
            nonce: nonce.to_owned(),
            requested_at: requested_at.to_owned(),
        })
    }

    /// Reads a signed request and verifies that its proof is valid and made by the key of its `did`.
    pub fn verify(value: &Value) -> Result<Self> {
        let request = Self::from_value(value)?;
        let verified = proof::verify(value)?;
        check_binding(&request.did, &verified.public_key)?;
        Ok(request)
    }

    /// The request without proof.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), DELETE_REQUEST_TYPE.into());
        map.insert("did".into(), self.did.clone().into());
        map.insert("service".into(), self.service.clone().into());
        map.insert("node".into(), self.node.clone().into());
        map.insert("nonce".into(), self.nonce.clone().into());
        map.insert("requested_at".into(), self.requested_at.clone().into());
        Value::Object(map)
    }

    /// Signs the request with the user's key, which must be the key of the request's DID.
    pub fn sign(&self, keypair: &Keypair, created: &str) -> Result<Value> {
        check_binding(&self.did, &keypair.public_key())?;
        proof::sign(self.to_value(), keypair, created)
    }
}

/// The hash that binds a deletion receipt to its request: lowercase hex SHA-256 of the RFC 8785 bytes of
/// the whole signed request.
pub fn request_hash(signed_request: &Value) -> Result<String> {
    Ok(hex::encode(proof::sha256_of_value(signed_request)?))
}

/// A node's answer to a delete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionReceipt {
    /// The DID whose data was deleted.
    pub did: String,
    /// The service.
    pub service: String,
    /// The node's name.
    pub node: String,
    /// Items deleted per collection (every collection of the service, zeros included).
    pub deleted: Counts,
    /// When the node deleted them (XML Schema dateTime).
    pub deleted_at: String,
    /// [`request_hash`] of the request this answers.
    pub request_hash: String,
}

impl DeletionReceipt {
    /// Reads and checks the receipt's shape (not its proof).
    pub fn from_value(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::ExportMalformed(format!("deletion receipt: {why}"));
        let map = object(value, &bad)?;
        only_members(
            map,
            &[
                "type",
                "did",
                "service",
                "node",
                "deleted",
                "deleted_at",
                "request_hash",
                "proof",
            ],
            &bad,
        )?;
        expect_type(map, DELETION_RECEIPT_TYPE, &bad)?;
        let did_text = string(map, "did", &bad)?;
        did::decode(did_text)?;
        let deleted_at = string(map, "deleted_at", &bad)?;
        proof::check_datetime(deleted_at)
            .map_err(|_| bad("deleted_at must be a dateTime".into()))?;
        let request_hash = string(map, "request_hash", &bad)?;
        if !is_lower_hex(request_hash, 64) {
            return Err(bad("request_hash must be 64 lowercase hex digits".into()));
        }
        Ok(DeletionReceipt {
            did: did_text.to_owned(),
            service: name(map, "service", &bad)?,
            node: node_name(map, &bad)?,
            deleted: counts(map.get("deleted"), "deleted", &bad)?,
            deleted_at: deleted_at.to_owned(),
            request_hash: request_hash.to_owned(),
        })
    }

    /// Reads a receipt and verifies that the node key `node_did` (the manifest's `did:key`) signed it.
    pub fn verify(value: &Value, node_did: &str) -> Result<Self> {
        let receipt = Self::from_value(value)?;
        verify_node_signature(value, node_did)?;
        Ok(receipt)
    }

    /// [`DeletionReceipt::verify`], and that the receipt answers exactly `signed_request`: same DID and
    /// service, the request made for the node whose key signed the receipt (`node_did`), and
    /// `request_hash` of that request. (The receipt's `node` is the node's name, for people.)
    pub fn verify_for_request(
        value: &Value,
        node_did: &str,
        signed_request: &Value,
    ) -> Result<Self> {
        let receipt = Self::verify(value, node_did)?;
        let request = DeleteRequest::from_value(signed_request)?;
        let expected_hash = request_hash(signed_request)?;
        let mismatch = |what: &str, got: &str, want: &str| {
            Err(Error::ExportMalformed(format!(
                "deletion receipt {what} {} does not match the request's {}",
                excerpt(got),
                excerpt(want)
            )))
        };
        if receipt.did != request.did {
            return mismatch("did", &receipt.did, &request.did);
        }
        if receipt.service != request.service {
            return mismatch("service", &receipt.service, &request.service);
        }
        if request.node != node_did {
            return mismatch("signer", node_did, &request.node);
        }
        if receipt.request_hash != expected_hash {
            return mismatch("request_hash", &receipt.request_hash, &expected_hash);
        }
        Ok(receipt)
    }

    /// The receipt without proof.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), DELETION_RECEIPT_TYPE.into());
        map.insert("did".into(), self.did.clone().into());
        map.insert("service".into(), self.service.clone().into());
        map.insert("node".into(), self.node.clone().into());
        map.insert("deleted".into(), counts_value(&self.deleted));
        map.insert("deleted_at".into(), self.deleted_at.clone().into());
        map.insert("request_hash".into(), self.request_hash.clone().into());
        Value::Object(map)
    }

    /// The receipt signed by the node's key.
    pub fn sign(&self, node_key: &Keypair, created: &str) -> Result<Value> {
        proof::sign(self.to_value(), node_key, created)
    }
}

/// A target node's answer to an imported bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReceipt {
    /// The bundle's DID.
    pub did: String,
    /// The node's name.
    pub node: String,
    /// Lowercase hex SHA-256 of the uploaded bundle bytes.
    pub bundle_hash: String,
    /// Items imported per section and collection.
    pub counts: SectionCounts,
    /// When the node committed the import (XML Schema dateTime).
    pub received_at: String,
}

impl TransferReceipt {
    /// Reads and checks the receipt's shape (not its proof).
    pub fn from_value(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::ExportMalformed(format!("transfer receipt: {why}"));
        let map = object(value, &bad)?;
        only_members(
            map,
            &[
                "type",
                "did",
                "node",
                "bundle_hash",
                "counts",
                "received_at",
                "proof",
            ],
            &bad,
        )?;
        expect_type(map, TRANSFER_RECEIPT_TYPE, &bad)?;
        let did_text = string(map, "did", &bad)?;
        did::decode(did_text)?;
        let bundle_hash = string(map, "bundle_hash", &bad)?;
        if !is_lower_hex(bundle_hash, 64) {
            return Err(bad("bundle_hash must be 64 lowercase hex digits".into()));
        }
        let received_at = string(map, "received_at", &bad)?;
        proof::check_datetime(received_at)
            .map_err(|_| bad("received_at must be a dateTime".into()))?;
        let sections = map
            .get("counts")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("counts must be an object".into()))?;
        let mut section_counts = SectionCounts::new();
        for (section, value) in sections {
            if !is_portable_name(section) {
                return Err(bad(format!("section name {}", excerpt(section))));
            }
            section_counts.insert(
                section.clone(),
                counts(Some(value), &format!("counts.{section}"), &bad)?,
            );
        }
        Ok(TransferReceipt {
            did: did_text.to_owned(),
            node: node_name(map, &bad)?,
            bundle_hash: bundle_hash.to_owned(),
            counts: section_counts,
            received_at: received_at.to_owned(),
        })
    }

    /// Reads a receipt and verifies that the node key `node_did` (the manifest's `did:key`) signed it.
    pub fn verify(value: &Value, node_did: &str) -> Result<Self> {
        let receipt = Self::from_value(value)?;
        verify_node_signature(value, node_did)?;
        Ok(receipt)
    }

    /// [`TransferReceipt::verify`], and that it is the receipt of this DID's bundle with this hash.
    pub fn verify_for_bundle(
        value: &Value,
        node_did: &str,
        did: &str,
        bundle_hash: &str,
    ) -> Result<Self> {
        let receipt = Self::verify(value, node_did)?;
        if receipt.did != did || receipt.bundle_hash != bundle_hash {
            return Err(Error::ExportMalformed(format!(
                "transfer receipt is for {} / {}, not for {} / {}",
                excerpt(&receipt.did),
                excerpt(&receipt.bundle_hash),
                excerpt(did),
                excerpt(bundle_hash)
            )));
        }
        Ok(receipt)
    }

    /// The receipt without proof.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), TRANSFER_RECEIPT_TYPE.into());
        map.insert("did".into(), self.did.clone().into());
        map.insert("node".into(), self.node.clone().into());
        map.insert("bundle_hash".into(), self.bundle_hash.clone().into());
        map.insert(
            "counts".into(),
            Value::Object(
                self.counts
                    .iter()
                    .map(|(section, c)| (section.clone(), counts_value(c)))
                    .collect(),
            ),
        );
        map.insert("received_at".into(), self.received_at.clone().into());
        Value::Object(map)
    }

    /// The receipt signed by the node's key.
    pub fn sign(&self, node_key: &Keypair, created: &str) -> Result<Value> {
        proof::sign(self.to_value(), node_key, created)
    }
}

/// Verifies a document's proof and that it was made by the key of `node_did` (a `did:key`, or any DID
/// that encodes its key). A valid proof by another key is `DID_MISMATCH`.
pub fn verify_node_signature(value: &Value, node_did: &str) -> Result<()> {
    let expected = did::public_key(node_did)?;
    let verified = proof::verify(value)?;
    if verified.public_key != expected {
        return Err(Error::DidMismatch(format!(
            "signed by {}, not by the node key {}",
            excerpt(&verified.verification_method),
            excerpt(node_did)
        )));
    }
    Ok(())
}

fn counts_value(counts: &Counts) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(k, n)| (k.clone(), Value::from(*n)))
            .collect(),
    )
}

fn counts(value: Option<&Value>, what: &str, bad: &impl Fn(String) -> Error) -> Result<Counts> {
    let map = value
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("{what} must be an object of counts")))?;
    map.iter()
        .map(|(key, n)| {
            if !is_portable_name(key) {
                return Err(bad(format!("{what}: collection name {}", excerpt(key))));
            }
            match n.as_u64() {
                Some(n) if n <= MAX_SAFE_INTEGER => Ok((key.clone(), n)),
                _ => Err(bad(format!(
                    "{what}.{key} must be a non-negative safe integer"
                ))),
            }
        })
        .collect()
}

fn object<'a>(value: &'a Value, bad: &impl Fn(String) -> Error) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| bad("must be a JSON object".into()))
}

fn only_members(
    map: &Map<String, Value>,
    allowed: &[&str],
    bad: &impl Fn(String) -> Error,
) -> Result<()> {
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!("unknown member {}", excerpt(extra))));
    }
    Ok(())
}

fn expect_type(
    map: &Map<String, Value>,
    expected: &str,
    bad: &impl Fn(String) -> Error,
) -> Result<()> {
    match map.get("type").and_then(Value::as_str) {
        Some(t) if t == expected => Ok(()),
        _ => Err(bad(format!("type must be {expected:?}"))),
    }
}

fn string<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    bad: &impl Fn(String) -> Error,
) -> Result<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{key} must be a string")))
}

fn name(map: &Map<String, Value>, key: &str, bad: &impl Fn(String) -> Error) -> Result<String> {
    let text = string(map, key, bad)?;
    if !is_portable_name(text) {
        return Err(bad(format!(
            "{key} {} must be lowercase letters and '_'",
            excerpt(text)
        )));
    }
    Ok(text.to_owned())
}

fn node_name(map: &Map<String, Value>, bad: &impl Fn(String) -> Error) -> Result<String> {
    let text = string(map, "node", bad)?;
    if text.is_empty() || text.len() > MAX_NODE_NAME_LEN {
        return Err(bad(format!("node must be 1 to {MAX_NODE_NAME_LEN} bytes")));
    }
    Ok(text.to_owned())
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "2026-03-09T16:45:00.000Z";

    fn user() -> Keypair {
        Keypair::from_seed(&[7; 32])
    }
    fn node() -> Keypair {
        Keypair::from_seed(&[8; 32])
    }

    #[test]
    fn delete_request_round_trip() {
        let user = user();
        let request = DeleteRequest::new(&user.did(), "media", "source", T).unwrap();
        assert_eq!(request.nonce.len(), NONCE_HEX_LEN);
        let signed = request.sign(&user, T).unwrap();
        assert_eq!(DeleteRequest::verify(&signed).unwrap(), request);
        // Signed by another key: a mismatch, refused by sign and by verify.
        let other = node();
        assert_eq!(request.sign(&other, T).unwrap_err().code(), "DID_MISMATCH");
        let forged = proof::sign(request.to_value(), &other, T).unwrap();
        assert_eq!(
            DeleteRequest::verify(&forged).unwrap_err().code(),
            "DID_MISMATCH"
        );
        let mut tampered = signed.clone();
        tampered["service"] = json!("chat");
        assert_eq!(
            DeleteRequest::verify(&tampered).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
        for (key, value) in [
            ("type", json!("Delete")),
            ("nonce", json!("ABCDEF0123456789ABCDEF0123456789")),
            ("nonce", json!("00")),
            ("service", json!("Media")),
            ("node", json!("")),
            ("requested_at", json!("now")),
            ("extra", json!(1)),
        ] {
            let mut bad = signed.clone();
            bad[key] = value.clone();
            assert_eq!(
                DeleteRequest::from_value(&bad).unwrap_err().code(),
                "INVALID_ARGUMENT",
                "{key} = {value}"
            );
        }
        assert_eq!(request_hash(&signed).unwrap().len(), 64);
        assert_ne!(
            request_hash(&signed).unwrap(),
            request_hash(&tampered).unwrap()
        );
    }

    #[test]
    fn deletion_receipt_round_trip() {
        let (user, node) = (user(), node());
        let signed_request = DeleteRequest::new(&user.did(), "media", &node.did_key(), T)
            .unwrap()
            .sign(&user, T)
            .unwrap();
        let receipt = DeletionReceipt {
            did: user.did(),
            service: "media".into(),
            node: "source".into(),
            deleted: [("assets".to_owned(), 47u64), ("contexts".to_owned(), 0)].into(),
            deleted_at: T.into(),
            request_hash: request_hash(&signed_request).unwrap(),
        };
        let signed = receipt.sign(&node, T).unwrap();
        assert_eq!(
            DeletionReceipt::verify_for_request(&signed, &node.did_key(), &signed_request).unwrap(),
            receipt
        );
        assert_eq!(
            DeletionReceipt::verify(&signed, &user.did_key())
                .unwrap_err()
                .code(),
            "DID_MISMATCH"
        );
        let other_request = DeleteRequest::new(&user.did(), "media", &node.did_key(), T)
            .unwrap()
            .sign(&user, T)
            .unwrap();
        assert_eq!(
            DeletionReceipt::verify_for_request(&signed, &node.did_key(), &other_request)
                .unwrap_err()
                .code(),
            "EXPORT_MALFORMED"
        );
        // A request made for another node's key does not match a receipt of this one, even when the
        // hash binds it (a node passing on a request made for it).
        let for_other_node = DeleteRequest::new(&user.did(), "media", &user.did_key(), T)
            .unwrap()
            .sign(&user, T)
            .unwrap();
        let mut relayed = receipt.clone();
        relayed.request_hash = request_hash(&for_other_node).unwrap();
        assert_eq!(
            DeletionReceipt::verify_for_request(
                &relayed.sign(&node, T).unwrap(),
                &node.did_key(),
                &for_other_node
            )
            .unwrap_err()
            .code(),
            "EXPORT_MALFORMED"
        );
        let mut bad = receipt.to_value();
        bad["deleted"]["assets"] = json!(-1);
        assert!(DeletionReceipt::from_value(&bad).is_err());
        let mut bad = receipt.to_value();
        bad["request_hash"] = json!("xyz");
        assert!(DeletionReceipt::from_value(&bad).is_err());
    }

    #[test]
    fn transfer_receipt_round_trip() {
        let (user, node) = (user(), node());
        let receipt = TransferReceipt {
            did: user.did(),
            node: "target".into(),
            bundle_hash: "ab".repeat(32),
            counts: [(
                "media".to_owned(),
                [("assets".to_owned(), 3u64)].into_iter().collect(),
            )]
            .into(),
            received_at: T.into(),
        };
        let signed = receipt.sign(&node, T).unwrap();
        assert_eq!(
            TransferReceipt::verify_for_bundle(
                &signed,
                &node.did_key(),
                &user.did(),
                &"ab".repeat(32)
            )
            .unwrap(),
            receipt
        );
        assert!(TransferReceipt::verify_for_bundle(
            &signed,
            &node.did_key(),
            &user.did(),
            &"cd".repeat(32)
        )
        .is_err());
        let mut tampered = signed.clone();
        tampered["counts"]["media"]["assets"] = json!(4);
        assert_eq!(
            TransferReceipt::verify(&tampered, &node.did_key())
                .unwrap_err()
                .code(),
            "SIGNATURE_INVALID"
        );
        let mut bad = receipt.to_value();
        bad["counts"] = json!({"media": 3});
        assert!(TransferReceipt::from_value(&bad).is_err());
    }
}
