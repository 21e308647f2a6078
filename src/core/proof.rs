//! W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C Recommendation "Data Integrity
//! EdDSA Cryptosuites v1.0", §3.3).
//!
//! Signing: `hashData = SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(unsecuredDocument))`, signed with pure
//! Ed25519; `proofValue` is `z` + base58btc(signature). The proof configuration is the proof without
//! `proofValue`; the proof carries the document's `@context` when the document has one (§3.3.1 step 2).
//!
//! The one verification method the vault resolves offline is `did:key:z6Mk…#z6Mk…` (and a
//! `did:imajin:<key>#…` whose identifier encodes the key).

use std::io;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::canonical;
use super::did::{self, DidKey};
use super::error::{excerpt, Error, Result};
use super::keys::{self, Keypair, PUBLIC_KEY_LEN};

/// `type` of every proof the vault makes.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// `cryptosuite` of every proof the vault makes.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// `proofPurpose` of every proof the vault makes and expects.
pub const PROOF_PURPOSE: &str = "assertionMethod";
/// Longest `proofValue`: `z` + base58btc of 64 bytes is at most 89 characters.
const MAX_PROOF_VALUE: usize = 89;

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The proof's `verificationMethod`.
    pub verification_method: String,
    /// The Ed25519 key that made the signature.
    pub public_key: [u8; PUBLIC_KEY_LEN],
}

/// Signs a JSON object, returning it with a `proof` member added.
///
/// `created` is an XML Schema dateTime such as `2026-03-09T16:45:00Z`; the core has no clock, so the
/// caller gives the time. The proof options are the vault's fixed ones (see [`sign_with_options`]).
pub fn sign(document: Value, keypair: &Keypair, created: &str) -> Result<Value> {
    sign_with_options(document, vault_options(keypair, created), keypair)
}

/// The vault's fixed proof options: `DataIntegrityProof`, `eddsa-jcs-2022`, `created`, the key's
/// `did:key` verification method, `assertionMethod`.
fn vault_options(keypair: &Keypair, created: &str) -> Map<String, Value> {
    let mut options = Map::new();
    options.insert("type".into(), PROOF_TYPE.into());
    options.insert("cryptosuite".into(), CRYPTOSUITE.into());
    options.insert("created".into(), created.into());
    options.insert(
        "verificationMethod".into(),
        keypair.verification_method().into(),
    );
    options.insert("proofPurpose".into(), PROOF_PURPOSE.into());
    options
}

/// The proof (the vault's fixed options, see [`sign`]) for a document without `@context` that the caller
/// has hashed: `document_hash` is the SHA-256 of the document's canonical form. Adding the answer as the
/// document's `proof` member gives what [`sign`] gives.
pub fn sign_prehashed(
    document_hash: &[u8; 32],
    keypair: &Keypair,
    created: &str,
) -> Result<Map<String, Value>> {
    let mut proof = vault_options(keypair, created);
    check_options(&proof)?;
    let config_hash = sha256_canonical(&WithoutKey {
        map: &proof,
        skip: None,
        context: None,
    })?;
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&config_hash);
    data[32..].copy_from_slice(document_hash);
    let signature = keypair.sign(&data);
    proof.insert(
        "proofValue".into(),
        Value::String(format!("z{}", bs58::encode(signature).into_string())),
    );
    Ok(proof)
}

/// Signs a JSON object with caller-given proof options (REC §3.3.1 "Create Proof"), returning it with a
/// `proof` member added: the options, the document's `@context` when it has one (step 2), and
/// `proofValue`.
///
/// The options must be ones [`verify`] accepts: `type` `DataIntegrityProof`, `cryptosuite`
/// `eddsa-jcs-2022`, `proofPurpose` `assertionMethod`, a `verificationMethod` that names `keypair`'s key,
/// an optional dateTime `created`, and no `proofValue`. An `@context` in the options must be a prefix of
/// the document's (REC §3.3.2 step 4); other members (`challenge`, `domain`, …) are signed as given.
pub fn sign_with_options(
    document: Value,
    options: Map<String, Value>,
    keypair: &Keypair,
) -> Result<Value> {
    let Value::Object(mut map) = document else {
        return Err(Error::InvalidArgument(
            "only a JSON object can be signed".into(),
        ));
    };
    if map.contains_key("proof") {
        return Err(Error::InvalidArgument(
            "the document already carries a proof; remove it before signing again".into(),
        ));
    }
    if options.contains_key("proofValue") {
        return Err(Error::InvalidArgument(
            "proof options must not carry a proofValue".into(),
        ));
    }
    let (_, public_key) = check_options(&options)?;
    if public_key != keypair.public_key() {
        return Err(Error::InvalidArgument(
            "the proof options' verificationMethod does not name the signing key".into(),
        ));
    }
    let mut proof = options;
    if let Some(context) = proof.get("@context") {
        if !context_starts_with(map.get("@context"), context) {
            return Err(Error::InvalidArgument(
                "the document's @context does not begin with the proof options' @context".into(),
            ));
        }
    }
    // Create Proof step 2: the proof carries the document's @context.
    if let Some(context) = map.get("@context") {
        proof.insert("@context".into(), context.clone());
    }
    let hash_data = hash_data(&map, &proof)?;
    let signature = keypair.sign(&hash_data);
    proof.insert(
        "proofValue".into(),
        Value::String(format!("z{}", bs58::encode(signature).into_string())),
    );
    map.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(map))
}

/// Verifies the `eddsa-jcs-2022` proof of a secured document.
pub fn verify(document: &Value) -> Result<Verified> {
    let map = document
        .as_object()
        .ok_or_else(|| Error::InvalidJson("a signed document is a JSON object".into()))?;
    let proof = match map.get("proof") {
        Some(Value::Object(proof)) => proof,
        Some(Value::Array(_)) => {
            return Err(Error::ProofMalformed(
                "proof sets (an array of proofs) are not supported".into(),
            ))
        }
        Some(_) => return Err(Error::ProofMalformed("proof must be an object".into())),
        None => return Err(Error::ProofMalformed("the document has no proof".into())),
    };
    let (method, public_key) = check_options(proof)?;
    let signature = decode_proof_value(proof.get("proofValue"))?;

    // §3.3.2: a proof that names a context only verifies over a document whose context begins with it.
    if let Some(proof_context) = proof.get("@context") {
        if !context_starts_with(map.get("@context"), proof_context) {
            return Err(Error::SignatureInvalid(
                "the document's @context does not begin with the proof's @context".into(),
            ));
        }
    }
    let data = hash_data(map, proof)?;
    keys::verify(&public_key, &data, &signature)?;
    Ok(Verified {
        verification_method: method.to_owned(),
        public_key,
    })
}

/// Checks the members of proof options (or of a proof) that the vault fixes, and resolves the
/// verification method to its key: REC §3.3.5 steps 2–3, plus the purpose and method the vault accepts.
fn check_options(options: &Map<String, Value>) -> Result<(&str, [u8; PUBLIC_KEY_LEN])> {
    expect_str(options, "type", PROOF_TYPE)?;
    expect_str(options, "cryptosuite", CRYPTOSUITE)?;
    expect_str(options, "proofPurpose", PROOF_PURPOSE)?;
    if let Some(created) = options.get("created") {
        check_datetime(created.as_str().unwrap_or_default())?;
    }
    let method = options
        .get("verificationMethod")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::ProofMalformed("verificationMethod must be a string".into()))?;
    Ok((method, resolve_method(method)?))
}

/// Resolves a verification method to its Ed25519 key without network access.
pub fn resolve_method(method: &str) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let (did_part, fragment) = method
        .split_once('#')
        .ok_or_else(|| Error::UnsupportedMethod(format!("{} has no #fragment", excerpt(method))))?;
    if did_part.starts_with(did::KEY_PREFIX) {
        let key = did::public_key(did_part)?;
        if did::decode_multikey(fragment)? != key {
            return Err(Error::ProofMalformed(format!(
                "verificationMethod fragment does not name the DID's key: {}",
                excerpt(method)
            )));
        }
        return Ok(key);
    }
    if did_part.starts_with(did::IMAJIN_PREFIX) {
        return match did::decode(did_part)? {
            DidKey::Bound(key) => Ok(key),
            DidKey::Unbound => Err(Error::DidUnverifiable(format!(
                "{} does not encode a key; resolving it needs the platform's identity registry",
                excerpt(did_part)
            ))),
        };
    }
    Err(Error::UnsupportedMethod(format!(
        "only did:key and key-bearing did:imajin methods resolve offline, not {}",
        excerpt(method)
    )))
}

/// Verifies an `eddsa-jcs-2022` proof over a document the caller has already hashed: `document_hash` is
/// the SHA-256 of the canonical form of the document without its `proof` (for canonical text, the text
/// with the `proof` member cut out). Gives the same answer as [`verify`] on that document. A proof that
/// carries an `@context` is not handled here (`INVALID_ARGUMENT`): its document hash depends on the
/// context replacement of [`verify`].
pub fn verify_prehashed(proof: &Map<String, Value>, document_hash: &[u8; 32]) -> Result<Verified> {
    if proof.contains_key("@context") {
        return Err(Error::InvalidArgument(
            "a proof with an @context needs the whole document".into(),
        ));
    }
    let (method, public_key) = check_options(proof)?;
    let signature = decode_proof_value(proof.get("proofValue"))?;
    let config_hash = sha256_canonical(&WithoutKey {
        map: proof,
        skip: Some("proofValue"),
        context: None,
    })?;
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&config_hash);
    data[32..].copy_from_slice(document_hash);
    keys::verify(&public_key, &data, &signature)?;
    Ok(Verified {
        verification_method: method.to_owned(),
        public_key,
    })
}

/// `SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(unsecured document))`.
///
/// The proof configuration is the proof options exactly as given, without `proofValue` (REC §3.3.5): an
/// `@context` is signed only when the proof carries one. The unsecured document is `document` without
/// `proof`; when the proof options carry an `@context` (already checked to be a prefix of the
/// document's), it replaces the document's (§3.3.2 step 4).
fn hash_data(
    document: &Map<String, Value>,
    proof_options: &Map<String, Value>,
) -> Result<[u8; 64]> {
    let config_hash = sha256_canonical(&WithoutKey {
        map: proof_options,
        skip: Some("proofValue"),
        context: None,
    })?;
    let unsecured = WithoutKey {
        map: document,
        skip: Some("proof"),
        context: proof_options.get("@context"),
    };
    let document_hash = sha256_canonical(&unsecured)?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&config_hash);
    out[32..].copy_from_slice(&document_hash);
    Ok(out)
}

/// SHA-256 of the canonical form of an object, streamed into the hash without an intermediate copy.
fn sha256_canonical(object: &WithoutKey<'_>) -> Result<[u8; 32]> {
    let mut plain = canonical::keys_are_plain(object.entries().map(|(k, _)| k.as_str()));
    for (_, value) in object.entries() {
        plain &= canonical::check_value_plain(value)?;
    }
    let mut hasher = HashWriter(Sha256::new());
    canonical::write_canonical(object, plain, &mut hasher)?;
    Ok(hasher.0.finalize().into())
}

/// SHA-256 of the canonical form of any JSON value.
pub fn sha256_of_value(value: &Value) -> Result<[u8; 32]> {
    match value {
        Value::Object(map) => sha256_canonical(&WithoutKey {
            map,
            skip: None,
            context: None,
        }),
        other => Ok(super::hash::sha256(&canonical::to_canonical_vec(other)?)),
    }
}

/// An `io::Write` that feeds SHA-256, so serializers stream into the hash without a buffer.
pub(crate) struct HashWriter(pub(crate) Sha256);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        super::hash::update(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A view of an object without one of its members and, optionally, with `@context` replaced.
struct WithoutKey<'a> {
    map: &'a Map<String, Value>,
    skip: Option<&'a str>,
    context: Option<&'a Value>,
}

impl<'a> WithoutKey<'a> {
    fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + '_ {
        self.map
            .iter()
            .filter(|(k, _)| Some(k.as_str()) != self.skip)
            .map(|(k, v)| match (k.as_str(), self.context) {
                ("@context", Some(context)) => (k, context),
                _ => (k, v),
            })
    }
}

impl Serialize for WithoutKey<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        for (key, value) in self.entries() {
            out.serialize_entry(key, value)?;
        }
        out.end()
    }
}

fn expect_str(proof: &Map<String, Value>, key: &str, expected: &str) -> Result<()> {
    match proof.get(key).and_then(Value::as_str) {
        Some(value) if value == expected => Ok(()),
        Some(value) => Err(Error::ProofMalformed(format!(
            "{key} must be {expected:?}, not {}",
            excerpt(value)
        ))),
        None => Err(Error::ProofMalformed(format!("{key} is missing"))),
    }
}

fn decode_proof_value(value: Option<&Value>) -> Result<Vec<u8>> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| Error::ProofMalformed("proofValue must be a string".into()))?;
    let encoded = text.strip_prefix('z').ok_or_else(|| {
        Error::ProofMalformed("proofValue must be multibase base58btc ('z…')".into())
    })?;
    if text.len() > MAX_PROOF_VALUE {
        return Err(Error::ProofMalformed(
            "proofValue is too long for a signature".into(),
        ));
    }
    bs58::decode(encoded)
        .into_vec()
        .map_err(|_| Error::ProofMalformed("proofValue is not base58btc".into()))
}

/// Whether the document's `@context` begins with every entry of the proof's, in order.
fn context_starts_with(document: Option<&Value>, proof: &Value) -> bool {
    let as_list = |v: &Value| match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let Some(document) = document else {
        return false;
    };
    let (doc, proof) = (as_list(document), as_list(proof));
    doc.len() >= proof.len() && doc.iter().zip(&proof).all(|(a, b)| a == b)
}

/// Checks an XML Schema `dateTimeStamp` as Data Integrity requires for `created`:
/// `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`.
pub fn check_datetime(text: &str) -> Result<()> {
    let bad = || {
        Error::ProofMalformed(format!(
            "created must be a dateTime like 2026-03-09T16:45:00Z, not {}",
            excerpt(text)
        ))
    };
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let ok = (|| {
        let (_year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let separators = b.get(4) == Some(&b'-')
            && b.get(7) == Some(&b'-')
            && b.get(10) == Some(&b'T')
            && b.get(13) == Some(&b':')
            && b.get(16) == Some(&b':');
        let ranges = (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour <= 23
            && minute <= 59
            && second <= 60;
        let mut rest = &b[19..];
        if let Some(fraction) = rest.strip_prefix(b".") {
            let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            rest = &fraction[n..];
        }
        let zone = rest == b"Z"
            || (rest.len() == 6
                && matches!(rest[0], b'+' | b'-')
                && rest[1..3].iter().all(u8::is_ascii_digit)
                && rest[3] == b':'
                && rest[4..6].iter().all(u8::is_ascii_digit));
        (separators && ranges && zone).then_some(())
    })();
    ok.ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CREATED: &str = "2026-03-09T16:45:00Z";

    fn keypair() -> Keypair {
        Keypair::from_seed(&[3u8; 32])
    }

    #[test]
    fn sign_then_verify() {
        let kp = keypair();
        let doc = json!({"did": kp.did(), "n": 1, "nested": {"a": [1, 2, {"b": null}]}});
        let signed = sign(doc, &kp, CREATED).unwrap();
        let verified = verify(&signed).unwrap();
        assert_eq!(verified.public_key, kp.public_key());
        assert_eq!(verified.verification_method, kp.verification_method());
        let proof = &signed["proof"];
        assert_eq!(proof["type"], PROOF_TYPE);
        assert_eq!(proof["cryptosuite"], CRYPTOSUITE);
        assert_eq!(proof["created"], CREATED);
        assert!(proof["proofValue"].as_str().unwrap().starts_with('z'));
        assert!(proof.get("@context").is_none());
    }

    #[test]
    fn tampering_is_detected() {
        let kp = keypair();
        let signed = sign(json!({"a": 1, "b": "x"}), &kp, CREATED).unwrap();
        let mut changed = signed.clone();
        changed["a"] = json!(2);
        assert_eq!(verify(&changed).unwrap_err().code(), "SIGNATURE_INVALID");
        let mut added = signed.clone();
        added["c"] = json!(true);
        assert_eq!(verify(&added).unwrap_err().code(), "SIGNATURE_INVALID");
        let mut created = signed.clone();
        created["proof"]["created"] = json!("2026-03-09T16:45:01Z");
        assert_eq!(verify(&created).unwrap_err().code(), "SIGNATURE_INVALID");
        let mut other_key = signed.clone();
        other_key["proof"]["verificationMethod"] =
            json!(Keypair::from_seed(&[4u8; 32]).verification_method());
        assert_eq!(verify(&other_key).unwrap_err().code(), "SIGNATURE_INVALID");
    }

    #[test]
    fn malformed_proofs_are_typed() {
        let kp = keypair();
        let signed = sign(json!({"a": 1}), &kp, CREATED).unwrap();
        let cases: Vec<(&str, Value, &str)> = vec![
            ("type", json!("Ed25519Signature2020"), "PROOF_MALFORMED"),
            ("cryptosuite", json!("eddsa-rdfc-2022"), "PROOF_MALFORMED"),
            ("proofPurpose", json!("authentication"), "PROOF_MALFORMED"),
            ("proofValue", json!("uAAAA"), "PROOF_MALFORMED"),
            ("proofValue", json!("z0OIl"), "PROOF_MALFORMED"),
            (
                "proofValue",
                json!(format!("z{}", "2".repeat(500))),
                "PROOF_MALFORMED",
            ),
            ("proofValue", json!("z2"), "SIGNATURE_INVALID"),
            ("created", json!("yesterday"), "PROOF_MALFORMED"),
            (
                "verificationMethod",
                json!("did:web:example.com#key-1"),
                "UNSUPPORTED_METHOD",
            ),
            (
                "verificationMethod",
                json!("did:key:z6Mk"),
                "UNSUPPORTED_METHOD",
            ),
            (
                "verificationMethod",
                json!("did:imajin:alice#key-1"),
                "DID_UNVERIFIABLE",
            ),
            ("verificationMethod", json!(7), "PROOF_MALFORMED"),
        ];
        for (field, value, code) in cases {
            let mut doc = signed.clone();
            doc["proof"][field] = value.clone();
            assert_eq!(verify(&doc).unwrap_err().code(), code, "{field} = {value}");
        }
        assert_eq!(
            verify(&json!({"a": 1})).unwrap_err().code(),
            "PROOF_MALFORMED"
        );
        assert_eq!(verify(&json!([1])).unwrap_err().code(), "INVALID_JSON");
        let mut set = signed.clone();
        set["proof"] = json!([signed["proof"].clone()]);
        assert_eq!(verify(&set).unwrap_err().code(), "PROOF_MALFORMED");
    }

    #[test]
    fn imajin_method_with_key_verifies() {
        let kp = keypair();
        let signed = sign(json!({"a": 1}), &kp, CREATED).unwrap();
        // The same signature under a did:imajin method naming the same key resolves to the same key,
        // but the method is part of the signed proof config, so it must be signed that way.
        let mut doc = signed.clone();
        doc["proof"]["verificationMethod"] = json!(format!("{}#key-1", kp.did()));
        assert_eq!(verify(&doc).unwrap_err().code(), "SIGNATURE_INVALID");
        assert_eq!(
            resolve_method(&format!("{}#key-1", kp.did())).unwrap(),
            kp.public_key()
        );
    }

    #[test]
    fn refuses_what_cannot_be_signed() {
        let kp = keypair();
        assert_eq!(
            sign(json!([1]), &kp, CREATED).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        let signed = sign(json!({"a": 1}), &kp, CREATED).unwrap();
        assert_eq!(
            sign(signed, &kp, CREATED).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            sign(json!({"a": 1}), &kp, "2026-13-01T00:00:00Z")
                .unwrap_err()
                .code(),
            "PROOF_MALFORMED"
        );
        assert_eq!(
            sign(json!({"n": u64::MAX}), &kp, CREATED)
                .unwrap_err()
                .code(),
            "UNSAFE_NUMBER"
        );
    }

    #[test]
    fn datetimes() {
        for ok in [
            "2026-03-09T16:45:00Z",
            "2026-03-09T16:45:00.123Z",
            "2026-03-09T16:45:00+01:00",
        ] {
            check_datetime(ok).unwrap();
        }
        for bad in [
            "",
            "2026-03-09",
            "2026-03-09 16:45:00Z",
            "2026-03-09T16:45:00",
            "2026-03-09T24:00:00Z",
            "2026-03-09T16:45:00.Z",
            "2026-03-09T16:45:00+0100",
        ] {
            assert!(check_datetime(bad).is_err(), "{bad}");
        }
    }
}
