//! The two DID forms of the vault, both derived from an Ed25519 public key:
//! - `did:imajin:<base58btc(raw 32-byte public key)>`, the platform's form (no multicodec prefix);
//! - `did:key:z<base58btc(0xed 0x01 ‖ public key)>`, self-certifying (`did:key:z6Mk…`).
//!
//! A `did:imajin` that does not decode to 32 bytes (a handle-style DID, or one whose key was rotated on
//! the platform) is a valid identifier whose key cannot be known offline: [`decode`] reports it as
//! [`DidKey::Unbound`], never as a key.

use super::error::{excerpt, Error, Result};

/// The `did:imajin:` prefix.
pub const IMAJIN_PREFIX: &str = "did:imajin:";
/// The `did:key:` prefix.
pub const KEY_PREFIX: &str = "did:key:";
/// The multicodec prefix of an Ed25519 public key (0xed, varint-encoded).
pub const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// Longest base58btc text of 32 bytes (44) and of 34 bytes (47, plus the `z` multibase prefix).
/// Decoding cost grows with the square of the length, so longer text is refused before decoding.
const MAX_IMAJIN_ID: usize = 44;
const MAX_MULTIBASE_KEY: usize = 48;
/// Longest identifier accepted anywhere a DID is expected.
pub const MAX_DID_LEN: usize = 256;

/// Which DID form to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `did:imajin:…`
    Imajin,
    /// `did:key:z6Mk…`
    Key,
}

impl Method {
    /// Parses `"imajin"` or `"key"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "imajin" => Ok(Method::Imajin),
            "key" => Ok(Method::Key),
            other => Err(Error::InvalidArgument(format!(
                "DID method must be \"imajin\" or \"key\", not {}",
                excerpt(other)
            ))),
        }
    }
}

/// What a DID says about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DidKey {
    /// The DID encodes this Ed25519 public key.
    Bound([u8; 32]),
    /// A well-formed `did:imajin` that does not encode a key; the binding needs the platform's registry.
    Unbound,
}

/// The DID of a public key in the given form.
pub fn encode(public_key: &[u8; 32], method: Method) -> String {
    match method {
        Method::Imajin => format!("{IMAJIN_PREFIX}{}", bs58::encode(public_key).into_string()),
        Method::Key => format!("{KEY_PREFIX}{}", multikey(public_key)),
    }
}

/// The Multikey form of an Ed25519 public key: `z` + base58btc(0xed 0x01 ‖ key), as in `z6Mk…`.
pub fn multikey(public_key: &[u8; 32]) -> String {
    let mut bytes = [0u8; 34];
    bytes[..2].copy_from_slice(&ED25519_MULTICODEC);
    bytes[2..].copy_from_slice(public_key);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes a Multikey `z6Mk…` into the Ed25519 public key.
pub fn decode_multikey(text: &str) -> Result<[u8; 32]> {
    let bad = |why: &str| Error::InvalidDid(format!("{why}: {}", excerpt(text)));
    let encoded = text
        .strip_prefix('z')
        .ok_or_else(|| bad("multibase key must start with 'z' (base58btc)"))?;
    if encoded.len() > MAX_MULTIBASE_KEY {
        return Err(bad("multibase key too long for an Ed25519 key"));
    }
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| bad("not base58btc"))?;
    match bytes.split_first_chunk::<2>() {
        Some((prefix, key)) if *prefix == ED25519_MULTICODEC => key
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes")),
        _ => Err(bad("not an Ed25519 Multikey (expected prefix 0xed01)")),
    }
}

/// Decodes a DID of either form.
///
/// `did:key` must encode an Ed25519 key; `did:imajin` either encodes one or is [`DidKey::Unbound`].
pub fn decode(did: &str) -> Result<DidKey> {
    if did.len() > MAX_DID_LEN {
        return Err(Error::InvalidDid(format!(
            "longer than {MAX_DID_LEN} characters"
        )));
    }
    if let Some(id) = did.strip_prefix(IMAJIN_PREFIX) {
        if id.is_empty() || !id.bytes().all(is_did_id_char) {
            return Err(Error::InvalidDid(format!(
                "malformed did:imajin identifier: {}",
                excerpt(did)
            )));
        }
        if id.len() > MAX_IMAJIN_ID {
            return Ok(DidKey::Unbound);
        }
        return Ok(match bs58::decode(id).into_vec() {
            Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
                Ok(key) => DidKey::Bound(key),
                Err(_) => DidKey::Unbound,
            },
            Err(_) => DidKey::Unbound,
        });
    }
    if let Some(id) = did.strip_prefix(KEY_PREFIX) {
        return decode_multikey(id).map(DidKey::Bound);
    }
    Err(Error::InvalidDid(format!(
        "expected did:imajin:… or did:key:…, got {}",
        excerpt(did)
    )))
}

/// The public key a DID encodes; an unbound `did:imajin` is an error here.
pub fn public_key(did: &str) -> Result<[u8; 32]> {
    match decode(did)? {
        DidKey::Bound(key) => Ok(key),
        DidKey::Unbound => Err(Error::InvalidDid(format!(
            "{} does not encode a public key (handle-style or rotated DID)",
            excerpt(did)
        ))),
    }
}

/// Characters allowed in a method-specific identifier (W3C DID Core `idchar`, plus `:`).
fn is_did_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];

    #[test]
    fn round_trips_both_forms() {
        for method in [Method::Imajin, Method::Key] {
            let did = encode(&KEY, method);
            assert_eq!(public_key(&did).unwrap(), KEY);
        }
        assert!(encode(&KEY, Method::Key).starts_with("did:key:z6Mk"));
    }

    #[test]
    fn handle_style_imajin_is_unbound_not_an_error() {
        assert_eq!(decode("did:imajin:alice").unwrap(), DidKey::Unbound);
        assert_eq!(decode("did:imajin:0OIl").unwrap(), DidKey::Unbound);
        assert_eq!(
            public_key("did:imajin:alice").unwrap_err().code(),
            "INVALID_DID"
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "did:imajin:",
            "did:imajin:a b",
            "did:web:example.com",
            "did:key:",
            "did:key:6Mk",
            "did:key:z111",
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            "imajin:abc",
        ] {
            assert_eq!(decode(bad).unwrap_err().code(), "INVALID_DID", "{bad:?}");
        }
        let long = format!("did:key:z{}", "1".repeat(10_000));
        assert_eq!(decode(&long).unwrap_err().code(), "INVALID_DID");
        assert_eq!(Method::parse("web").unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
