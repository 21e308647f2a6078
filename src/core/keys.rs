//! Ed25519 keys. The secret seed is never exposed by this type: no getter, no serialization, a redacted
//! `Debug`, and it is wiped from memory when the key is dropped.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::did::{self, Method};
use super::error::{Error, Result};

/// Length of an Ed25519 seed (secret key) in bytes.
pub const SEED_LEN: usize = 32;
/// Length of an Ed25519 public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 key pair. The signing key lives on the heap, so that moving a `Keypair` (into a
/// result, an async function's state, the vault's state) moves a pointer and leaves no copy of the
/// secret behind: only that one place holds it, and it is wiped when the key is dropped.
pub struct Keypair {
    signing: Box<SigningKey>,
}

impl Keypair {
    /// A new key from the platform's secure randomness (`crypto.getRandomValues` in the browser).
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| Error::Randomness(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key pair of a 32-byte seed (RFC 8032 secret key).
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        Keypair {
            signing: Box::new(SigningKey::from_bytes(seed)),
        }
    }

    /// Like [`Keypair::from_seed`], for a slice whose length is checked.
    pub fn from_seed_slice(seed: &[u8]) -> Result<Self> {
        let seed: &[u8; SEED_LEN] = seed.try_into().map_err(|_| {
            Error::InvalidKey(format!(
                "an Ed25519 seed is {SEED_LEN} bytes, got {}",
                seed.len()
            ))
        })?;
        Ok(Self::from_seed(seed))
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.signing.verifying_key().to_bytes()
    }

    /// `did:imajin:…` of this key.
    pub fn did(&self) -> String {
        did::encode(&self.public_key(), Method::Imajin)
    }

    /// `did:key:z6Mk…` of this key.
    pub fn did_key(&self) -> String {
        did::encode(&self.public_key(), Method::Key)
    }

    /// The verification method that names this key in proofs: `did:key:z6Mk…#z6Mk…`.
    pub fn verification_method(&self) -> String {
        verification_method(&self.public_key())
    }

    /// Signs a message (pure Ed25519, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(message).to_bytes()
    }

    /// Runs `f` on the secret seed. Only for code in the core that must encrypt the key at rest; the
    /// bytes are wiped afterwards.
    pub fn with_seed<T>(&self, f: impl FnOnce(&[u8; SEED_LEN]) -> T) -> T {
        let seed = Zeroizing::new(self.signing.to_bytes());
        f(&seed)
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("did", &self.did())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// `did:key:z6Mk…#z6Mk…` for a public key.
pub fn verification_method(public_key: &[u8; PUBLIC_KEY_LEN]) -> String {
    let multikey = did::multikey(public_key);
    format!("{}{multikey}#{multikey}", did::KEY_PREFIX)
}

/// Verifies an Ed25519 signature strictly (no small-order keys, canonical signatures only).
pub fn verify(public_key: &[u8; PUBLIC_KEY_LEN], message: &[u8], signature: &[u8]) -> Result<()> {
    let signature: &[u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| {
        Error::SignatureInvalid(format!(
            "an Ed25519 signature is {SIGNATURE_LEN} bytes, got {}",
            signature.len()
        ))
    })?;
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| Error::InvalidKey("not a valid Ed25519 public key".into()))?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| {
            Error::SignatureInvalid("the signature does not match the key and data".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_seed() {
        let seed = [0x42u8; 32];
        let kp = Keypair::from_seed(&seed);
        let shown = format!("{kp:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains(&hex::encode(seed)));
        assert!(!shown.contains("66, 66"));
    }

    #[test]
    fn generated_keys_differ_and_sign() {
        let a = Keypair::generate().unwrap();
        let b = Keypair::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
        let sig = a.sign(b"hello");
        verify(&a.public_key(), b"hello", &sig).unwrap();
        assert_eq!(
            verify(&b.public_key(), b"hello", &sig).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
        assert_eq!(
            verify(&a.public_key(), b"hello!", &sig).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
        assert_eq!(
            verify(&a.public_key(), b"hello", &sig[..63])
                .unwrap_err()
                .code(),
            "SIGNATURE_INVALID"
        );
    }

    #[test]
    fn seed_length_is_checked() {
        assert_eq!(
            Keypair::from_seed_slice(&[1u8; 31]).unwrap_err().code(),
            "INVALID_KEY"
        );
        assert!(Keypair::from_seed_slice(&[1u8; 32]).is_ok());
    }

    #[test]
    fn dids_and_method() {
        let kp = Keypair::from_seed(&[9u8; 32]);
        assert!(kp.did().starts_with("did:imajin:"));
        assert!(kp.did_key().starts_with("did:key:z6Mk"));
        let vm = kp.verification_method();
        let (did, fragment) = vm.split_once('#').unwrap();
        assert_eq!(did, kp.did_key());
        assert_eq!(format!("did:key:{fragment}"), kp.did_key());
    }
}
