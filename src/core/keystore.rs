//! The key at rest and its backups: the 32-byte seed sealed with a passphrase (Argon2id, then
//! XChaCha20-Poly1305), and the platform's plain key file, read for import.
//!
//! Sealed format, version 1:
//! `{"format":"bundle-vault-key","version":1,"did":"did:imajin:…","public_key":"<64 hex>",
//! "kdf":{"name":"argon2id","m_kib":…,"t":…,"p":…,"salt":"<base64, 16 bytes>"},
//! "aead":{"name":"xchacha20poly1305","nonce":"<base64, 24 bytes>"},"ciphertext":"<base64>"}`.
//! The AEAD's associated data is the JCS form of the object without `ciphertext`, so altering the DID,
//! the key, the parameters, the salt or the nonce makes opening fail. Argon2id parameters are bounded
//! on both sides: nothing weaker than [`KdfParams::MINIMUM`], nothing costlier than
//! [`KdfParams::MAXIMUM`] (a hostile backup must not make the browser allocate gigabytes).

use std::fmt;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead as _, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use super::canonical;
use super::did::{self, DidKey, Method};
use super::error::{excerpt, Error, Result};
use super::keys::{Keypair, PUBLIC_KEY_LEN, SEED_LEN};

/// The `format` of a sealed key.
pub const FORMAT: &str = "bundle-vault-key";
/// The current version of the sealed format.
pub const VERSION: u32 = 1;
const KDF_NAME: &str = "argon2id";
const AEAD_NAME: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const CIPHERTEXT_LEN: usize = SEED_LEN + 16;

fn malformed(why: impl Into<String>) -> Error {
    Error::KeyBackupMalformed(why.into())
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// What new keys are sealed with: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: KdfParams = KdfParams::new(65_536, 3, 1);
    /// The OWASP baseline (19 MiB, 2 passes, 1 lane); nothing weaker is sealed or opened.
    pub const MINIMUM: KdfParams = KdfParams::new(19_456, 2, 1);
    /// Beyond any of these (1 GiB, 20 passes, 4 lanes), a sealed key is refused.
    pub const MAXIMUM: KdfParams = KdfParams::new(1_048_576, 20, 4);

    /// Parameters from memory in KiB, passes and lanes.
    pub const fn new(m_kib: u32, t: u32, p: u32) -> Self {
        KdfParams { m_kib, t, p }
    }

    fn check(&self, floor: KdfParams) -> Result<()> {
        let (lo, hi) = (floor, Self::MAXIMUM);
        let why = if self.m_kib < lo.m_kib || self.t < lo.t || self.p < lo.p {
            format!("below the minimum {lo}")
        } else if self.m_kib > hi.m_kib || self.t > hi.t || self.p > hi.p {
            format!("above the maximum {hi}")
        } else {
            return Ok(());
        };
        Err(malformed(format!("Argon2id parameters {self} are {why}")))
    }
}

impl fmt::Display for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(m {} KiB, t {}, p {})", self.m_kib, self.t, self.p)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfHeader {
    name: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AeadHeader {
    name: String,
    nonce: String,
}

/// A sealed key: the vault's key at rest, and its encrypted backup. Holds no secret in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedKey {
    format: String,
    version: u32,
    /// The key's `did:imajin` (bound into the associated data).
    pub did: String,
    /// The public key, lowercase hex (bound into the associated data).
    pub public_key: String,
    kdf: KdfHeader,
    aead: AeadHeader,
    ciphertext: String,
}

/// The decoded, checked binary fields of a sealed key.
struct Checked {
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: [u8; CIPHERTEXT_LEN],
}

impl SealedKey {
    /// The JSON text (field order as in the module docs).
    pub fn to_json(&self) -> String {
        // Serializing strings and integers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads and checks the JSON text (`KEY_BACKUP_MALFORMED` if it is not a valid sealed key).
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_value(canonical::parse(text)?, KdfParams::MINIMUM)
    }

    /// The Argon2id parameters the key is sealed with.
    pub fn params(&self) -> KdfParams {
        KdfParams::new(self.kdf.m_kib, self.kdf.t, self.kdf.p)
    }

    fn from_value(value: Value, floor: KdfParams) -> Result<Self> {
        let sealed: SealedKey = serde_json::from_value(value)
            .map_err(|e| malformed(format!("not a sealed key: {e}")))?;
        sealed.check(floor)?;
        Ok(sealed)
    }

    fn check(&self, floor: KdfParams) -> Result<Checked> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(malformed(format!(
                "format {} version {} is not {FORMAT} version {VERSION}",
                excerpt(&self.format),
                self.version
            )));
        }
        if self.kdf.name != KDF_NAME || self.aead.name != AEAD_NAME {
            return Err(malformed("only argon2id and xchacha20poly1305 are known"));
        }
        let params = self.params();
        params.check(floor)?;
        let mut public_key = [0u8; PUBLIC_KEY_LEN];
        if hex::decode_to_slice(&self.public_key, &mut public_key).is_err()
            || hex::encode(public_key) != self.public_key
        {
            return Err(malformed("public_key must be 64 lowercase hex characters"));
        }
        if self.did != did::encode(&public_key, Method::Imajin) {
            return Err(malformed("did is not the did:imajin of public_key"));
        }
        Ok(Checked {
            params,
            salt: decode_fixed(&self.kdf.salt, "salt")?,
            nonce: decode_fixed(&self.aead.nonce, "nonce")?,
            ciphertext: decode_fixed(&self.ciphertext, "ciphertext")?,
        })
    }

    /// The associated data: JCS of everything but the ciphertext.
    fn associated_data(&self) -> Result<Vec<u8>> {
        let mut value = serde_json::to_value(self).map_err(|e| malformed(e.to_string()))?;
        if let Some(map) = value.as_object_mut() {
            map.remove("ciphertext");
        }
        canonical::to_canonical_vec(&value)
    }
}

fn decode_fixed<const N: usize>(text: &str, field: &str) -> Result<[u8; N]> {
    B64.decode(text)
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| malformed(format!("{field} must be {N} bytes of base64")))
}

/// Seals a key with a passphrase, with a fresh random salt and nonce.
pub fn seal(keypair: &Keypair, passphrase: &str, params: KdfParams) -> Result<SealedKey> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).map_err(|e| Error::Randomness(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| Error::Randomness(e.to_string()))?;
    seal_within(keypair, passphrase, params, salt, nonce, KdfParams::MINIMUM)
}

/// Seals with the given salt and nonce, for deterministic tests. Never reuse a nonce.
pub fn seal_with(
    keypair: &Keypair,
    passphrase: &str,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<SealedKey> {
    seal_within(keypair, passphrase, params, salt, nonce, KdfParams::MINIMUM)
}

fn seal_within(
    keypair: &Keypair,
    passphrase: &str,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    floor: KdfParams,
) -> Result<SealedKey> {
    if passphrase.is_empty() {
        return Err(Error::InvalidArgument("the passphrase is empty".into()));
    }
    params.check(floor)?;
    let mut sealed = SealedKey {
        format: FORMAT.into(),
        version: VERSION,
        did: keypair.did(),
        public_key: hex::encode(keypair.public_key()),
        kdf: KdfHeader {
            name: KDF_NAME.into(),
            m_kib: params.m_kib,
            t: params.t,
            p: params.p,
            salt: B64.encode(salt),
        },
        aead: AeadHeader {
            name: AEAD_NAME.into(),
            nonce: B64.encode(nonce),
        },
        ciphertext: String::new(),
    };
    let ad = sealed.associated_data()?;
    let cipher = cipher(passphrase, &salt, params)?;
    let ciphertext = keypair
        .with_seed(|msg| cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg, aad: &ad }));
    sealed.ciphertext = B64.encode(ciphertext.map_err(|_| malformed("encryption failed"))?);
    Ok(sealed)
}

/// Opens a sealed key: `BAD_PASSPHRASE` if the passphrase is wrong or the sealed key was altered,
/// `KEY_BACKUP_MALFORMED` if it is not a valid sealed key or does not hold the key it names.
pub fn open(sealed: &SealedKey, passphrase: &str) -> Result<Keypair> {
    open_within(sealed, passphrase, KdfParams::MINIMUM)
}

fn open_within(sealed: &SealedKey, passphrase: &str, floor: KdfParams) -> Result<Keypair> {
    let checked = sealed.check(floor)?;
    let ad = sealed.associated_data()?;
    let cipher = cipher(passphrase, &checked.salt, checked.params)?;
    let msg = checked.ciphertext.as_slice();
    let seed = cipher.decrypt(
        XNonce::from_slice(&checked.nonce),
        Payload { msg, aad: &ad },
    );
    let seed = Zeroizing::new(seed.map_err(|_| Error::BadPassphrase)?);
    let keypair = Keypair::from_seed_slice(&seed)?;
    // `check` tied `did` to `public_key`; this ties the sealed seed to both.
    if hex::encode(keypair.public_key()) != sealed.public_key {
        return Err(malformed("the sealed seed is not the key it names"));
    }
    Ok(keypair)
}

/// The AEAD under the Argon2id key of the passphrase. Argon2's working memory is allocated fallibly
/// (a trap would leave the wasm module unusable) and wiped afterwards, as it determines the key; the
/// key is wiped too (and the cipher wipes its copy on drop).
fn cipher(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<XChaCha20Poly1305> {
    let argon_params = Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| malformed(format!("Argon2id parameters: {e}")))?;
    let count = argon_params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut blocks: Vec<Block> = Vec::new();
    if blocks.try_reserve_exact(count).is_err() {
        let why = format!("Argon2id needs {params}, which could not be allocated");
        return Err(Error::TooLarge(why));
    }
    blocks.resize(count, Block::default());
    let mut key = Zeroizing::new([0u8; 32]);
    let (pass, out) = (passphrase.as_bytes(), key.as_mut_slice());
    let result = argon.hash_password_into_with_memory(pass, salt, out, &mut blocks);
    blocks.iter_mut().zeroize();
    result.map_err(|e| malformed(format!("Argon2id: {e}")))?;
    Ok(XChaCha20Poly1305::new((&*key).into()))
}

/// A parsed backup file whose strings are wiped when it is dropped: a plain key file holds the secret
/// key as a hex string, which would otherwise stay in freed memory.
struct Wiped(Value);

impl Drop for Wiped {
    fn drop(&mut self) {
        fn wipe(value: &mut Value) {
            match value {
                Value::String(text) => text.zeroize(),
                Value::Array(items) => items.iter_mut().for_each(wipe),
                Value::Object(members) => members.values_mut().for_each(wipe),
                _ => {}
            }
        }
        wipe(&mut self.0);
    }
}

/// A key backup as read for import.
#[derive(Debug)]
pub enum Backup {
    /// The vault's sealed format: open it with the passphrase.
    Sealed(Box<SealedKey>),
    /// The platform's plain key file: seal it at once.
    Plain(Keypair),
}

/// Reads a key backup: the sealed format; the platform's `{did, keypair: {privateKey, publicKey},
/// exportedAt?, warning?}`; or a top-level `{privateKey, publicKey?, did?}` (keys in hex). A
/// `privateKey` is the 32-byte seed or seed ‖ public key. Every given public key and DID must be this
/// key's (`DID_MISMATCH` for another key's DID, `DID_UNVERIFIABLE` for a DID that encodes no key).
pub fn parse_backup(text: &str) -> Result<Backup> {
    let mut value = Wiped(canonical::parse(text)?);
    if value.0.get("format").is_some() {
        // The sealed format holds no secret in the clear.
        return SealedKey::from_value(std::mem::take(&mut value.0), KdfParams::MINIMUM)
            .map(|sealed| Backup::Sealed(Box::new(sealed)));
    }
    let top = value
        .0
        .as_object()
        .ok_or_else(|| malformed("not a JSON object"))?;
    let holder = match top.get("keypair") {
        Some(Value::Object(keypair)) => {
            only_fields(keypair, &["privateKey", "publicKey"], "keypair")?;
            only_fields(
                top,
                &["keypair", "did", "exportedAt", "warning"],
                "the file",
            )?;
            keypair
        }
        Some(_) => return Err(malformed("keypair must be an object")),
        None => {
            let allowed = ["privateKey", "publicKey", "did", "exportedAt", "warning"];
            only_fields(top, &allowed, "the file")?;
            top
        }
    };
    let private = match holder.get("privateKey") {
        Some(Value::String(private)) => private,
        Some(_) => return Err(malformed("privateKey must be a hex string")),
        None => return Err(malformed("neither a sealed key nor a privateKey file")),
    };
    let mut bytes = Zeroizing::new([0u8; 2 * SEED_LEN]);
    let len = private.len() / 2;
    if !matches!(private.len(), 64 | 128) {
        return Err(malformed(format!(
            "privateKey must be 64 hex digits (seed) or 128 (seed, public key), not {} characters",
            private.len()
        )));
    }
    if hex::decode_to_slice(private, &mut bytes[..len]).is_err() {
        return Err(malformed("privateKey must be hex digits only"));
    }
    let keypair = Keypair::from_seed_slice(&bytes[..SEED_LEN])?;
    let public_key = keypair.public_key();
    if len == 64 && bytes[SEED_LEN..] != public_key {
        return Err(malformed("privateKey's second half is not its public key"));
    }
    if let Some(given) = holder.get("publicKey") {
        let mut decoded = [0u8; PUBLIC_KEY_LEN];
        match given
            .as_str()
            .map(|hex| hex::decode_to_slice(hex, &mut decoded))
        {
            Some(Ok(())) if decoded == public_key => {}
            Some(Ok(())) => return Err(malformed("publicKey is not privateKey's public key")),
            _ => return Err(malformed("publicKey must be 64 hex digits")),
        }
    }
    if let Some(given) = top.get("did") {
        let did_text = given
            .as_str()
            .ok_or_else(|| malformed("did is not a string"))?;
        let shown = excerpt(did_text);
        match did::decode(did_text).map_err(|e| malformed(format!("did: {e}")))? {
            DidKey::Bound(key) if key == public_key => {}
            DidKey::Bound(_) => {
                let why = format!("the file names {shown}, but its key is {}", keypair.did());
                return Err(Error::DidMismatch(why));
            }
            DidKey::Unbound => {
                let why = format!("{shown} encodes no key, so the file's key is not provably its");
                return Err(Error::DidUnverifiable(why));
            }
        }
    }
    Ok(Backup::Plain(keypair))
}

fn only_fields(map: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<()> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(malformed(format!(
            "unknown field {} in {what}",
            excerpt(key)
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery staple";
    const SEED: [u8; 32] = [0x5a; 32];
    /// Cheap parameters, reachable only through the internal functions.
    const FAST: KdfParams = KdfParams::new(64, 1, 1);
    const MALFORMED: &str = "KEY_BACKUP_MALFORMED";

    fn fast_sealed() -> SealedKey {
        let kp = Keypair::from_seed(&SEED);
        seal_within(&kp, PASS, FAST, [1; 16], [2; 24], FAST).unwrap()
    }

    /// Neither the seed (hex in either case, or as Debug bytes) nor the passphrase is in `text`.
    fn assert_clean(text: &str) {
        let seed_hex = hex::encode(SEED);
        for secret in [&seed_hex, &seed_hex.to_uppercase(), "90, 90, 90", PASS] {
            assert!(!text.contains(secret), "secret in {text}");
        }
    }

    fn code_of<T: std::fmt::Debug>(result: Result<T>) -> &'static str {
        let err = result.unwrap_err();
        assert_clean(&err.to_string());
        assert_clean(&format!("{err:?}"));
        err.code()
    }

    #[test]
    fn round_trip_at_the_minimum() {
        let kp = Keypair::from_seed(&SEED);
        let sealed = seal(&kp, PASS, KdfParams::MINIMUM).unwrap();
        let text = sealed.to_json();
        let head = r#"{"format":"bundle-vault-key","version":1,"did":"did:imajin:"#;
        assert!(text.starts_with(head), "{text}");
        assert!(text.contains(r#""kdf":{"name":"argon2id","m_kib":19456,"t":2,"p":1,"salt":""#));
        assert_clean(&text);
        assert_clean(&format!("{sealed:?}"));
        let back = SealedKey::from_json(&text).unwrap();
        assert_eq!((&back, back.params()), (&sealed, KdfParams::MINIMUM));
        let opened = open(&back, PASS).unwrap();
        assert_eq!(opened.public_key(), kp.public_key());
        assert_clean(&format!("{:?}", Backup::Plain(opened)));
        assert_eq!(
            code_of(open(&back, "correct horse battery stapler")),
            "BAD_PASSPHRASE"
        );
    }

    #[test]
    fn seal_with_is_deterministic_and_salts_differ() {
        let kp = Keypair::from_seed(&SEED);
        assert_eq!(fast_sealed(), fast_sealed());
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).unwrap();
        let other = seal_within(&kp, PASS, FAST, salt, [3; 24], FAST).unwrap();
        assert_ne!(other.ciphertext, fast_sealed().ciphertext);
        assert_eq!(open_within(&other, PASS, FAST).unwrap().did(), kp.did());
    }

    #[test]
    fn every_altered_field_fails() {
        let original = serde_json::to_value(fast_sealed()).unwrap();
        let other = Keypair::from_seed(&[1; 32]);
        let b64 = |n: usize| Value::from(B64.encode(vec![9u8; n]));
        let alter = |path: &[&str], new: Value| {
            let mut value = original.clone();
            *path.iter().fold(&mut value, |slot, key| &mut slot[*key]) = new;
            value
        };
        // Consistent changes pass the checks; only the associated data catches them.
        let mut swapped = alter(&["did"], other.did().into());
        swapped["public_key"] = hex::encode(other.public_key()).into();
        let bound = [
            swapped,
            alter(&["kdf", "m_kib"], 65.into()),
            alter(&["kdf", "t"], 2.into()),
            alter(&["kdf", "p"], 2.into()),
            alter(&["kdf", "salt"], b64(16)),
            alter(&["aead", "nonce"], b64(24)),
            alter(&["ciphertext"], b64(48)),
        ];
        for value in bound {
            let sealed = SealedKey::from_value(value, FAST).unwrap();
            assert_eq!(code_of(open_within(&sealed, PASS, FAST)), "BAD_PASSPHRASE");
        }
        let refused = [
            alter(&["format"], "other".into()),
            alter(&["version"], 2.into()),
            alter(&["did"], other.did().into()),
            alter(&["did"], Keypair::from_seed(&SEED).did_key().into()),
            alter(&["public_key"], hex::encode(other.public_key()).into()),
            alter(
                &["public_key"],
                fast_sealed().public_key.to_uppercase().into(),
            ),
            alter(&["kdf", "name"], "argon2i".into()),
            alter(&["aead", "name"], "aes-256-gcm".into()),
            alter(&["kdf", "salt"], b64(15)),
            alter(&["kdf", "salt"], "not base64!".into()),
            alter(&["aead", "nonce"], b64(12)),
            alter(&["ciphertext"], b64(64)),
            alter(&["extra"], 1.into()),
            alter(&["kdf", "extra"], 1.into()),
            alter(&["kdf", "t"], "1".into()),
        ];
        for value in refused {
            assert_eq!(
                code_of(SealedKey::from_value(value.clone(), FAST)),
                MALFORMED,
                "{value}"
            );
        }
        assert_eq!(code_of(SealedKey::from_json("{")), "INVALID_JSON");
        assert_eq!(code_of(SealedKey::from_json("[]")), MALFORMED);
    }

    #[test]
    fn parameters_are_bounded() {
        let kp = Keypair::from_seed(&SEED);
        let (min, max) = (KdfParams::MINIMUM, KdfParams::MAXIMUM);
        let out_of_bounds = [
            FAST,
            KdfParams {
                m_kib: min.m_kib - 1,
                ..min
            },
            KdfParams { t: 1, ..min },
            KdfParams { p: 0, ..min },
            KdfParams {
                m_kib: max.m_kib + 1,
                ..min
            },
            KdfParams {
                t: max.t + 1,
                ..min
            },
            KdfParams {
                p: max.p + 1,
                ..min
            },
        ];
        for params in out_of_bounds {
            let result = seal_with(&kp, PASS, params, [1; 16], [2; 24]);
            assert_eq!(code_of(result), MALFORMED, "{params}");
        }
        assert!(KdfParams::DEFAULT.check(min).is_ok() && max.check(min).is_ok());
        // Sealed keys with weak or absurd parameters are refused before any derivation.
        let weak = fast_sealed();
        assert_eq!(code_of(open(&weak, PASS)), MALFORMED);
        assert_eq!(code_of(SealedKey::from_json(&weak.to_json())), MALFORMED);
        let absurd = weak
            .to_json()
            .replace(r#""m_kib":64"#, r#""m_kib":4194304"#);
        assert_eq!(code_of(SealedKey::from_json(&absurd)), MALFORMED);
        assert_eq!(code_of(seal(&kp, "", min)), "INVALID_ARGUMENT");
    }

    #[test]
    fn platform_backups() {
        let kp = Keypair::from_seed(&SEED);
        let (seed, public) = (hex::encode(SEED), hex::encode(kp.public_key()));
        let (did, other) = (kp.did(), Keypair::from_seed(&[1; 32]));
        let other_public = hex::encode(other.public_key());
        let pk = |rest: &str| format!(r#"{{"privateKey":"{seed}"{rest}}}"#);
        let accepted = [
            format!(
                r#"{{"did":"{did}","keypair":{{"privateKey":"{seed}","publicKey":"{public}"}},"exportedAt":"2026-01-01T00:00:00Z","warning":"keep it safe"}}"#
            ),
            format!(r#"{{"did":"{did}","keypair":{{"privateKey":"{seed}{public}"}}}}"#),
            format!(
                r#"{{"keypair":{{"privateKey":"{}"}}}}"#,
                seed.to_uppercase()
            ),
            pk(""),
            pk(&format!(
                r#","publicKey":"{public}","did":"{}""#,
                kp.did_key()
            )),
            format!(r#"{{"privateKey":"{seed}{public}","publicKey":"{public}"}}"#),
        ];
        for file in &accepted {
            match parse_backup(file) {
                Ok(Backup::Plain(k)) => assert_eq!(k.public_key(), kp.public_key(), "{file}"),
                other => panic!("{file}: {other:?}"),
            }
        }
        let refused = [
            (pk(&format!(r#","publicKey":"{other_public}""#)), MALFORMED),
            (pk(&format!(r#","publicKey":"{public}0""#)), MALFORMED),
            (
                format!(r#"{{"privateKey":"{seed}{other_public}"}}"#),
                MALFORMED,
            ),
            (pk(&format!(r#","did":"{}""#, other.did())), "DID_MISMATCH"),
            (
                pk(&format!(r#","did":"{}""#, other.did_key())),
                "DID_MISMATCH",
            ),
            (pk(r#","did":"did:imajin:alice""#), "DID_UNVERIFIABLE"),
            (pk(&format!(r#","did":"did:web:{seed}""#)), MALFORMED),
            (pk(r#","did":7"#), MALFORMED),
            (pk(r#","keypair":{}"#), MALFORMED),
            (pk(r#","secretKey":"x""#), MALFORMED),
            (pk(r#","format":"x""#), MALFORMED),
            (format!(r#"{{"privateKey":"{seed}a"}}"#), MALFORMED),
            (
                format!(r#"{{"privateKey":"{}zz"}}"#, &seed[..62]),
                MALFORMED,
            ),
            (
                format!(r#"{{"keypair":{{"privateKey":"{seed}","secretKey":"{seed}"}}}}"#),
                MALFORMED,
            ),
            (format!(r#"{{"keypair":"{seed}"}}"#), MALFORMED),
            (format!(r#"["{seed}"]"#), MALFORMED),
            (r#"{"privateKey":12}"#.to_owned(), MALFORMED),
            (r#"{"hello":1}"#.to_owned(), MALFORMED),
            (format!(r#"{{"privateKey":"{seed}""#), "INVALID_JSON"),
            (pk(&format!(r#","privateKey":"{seed}""#)), "INVALID_JSON"),
        ];
        for (file, code) in &refused {
            assert_eq!(code_of(parse_backup(file)), *code, "{file}");
        }
        let sealed = fast_sealed().to_json();
        assert_eq!(code_of(parse_backup(&sealed)), MALFORMED);
        let sealed = sealed
            .replace(r#""m_kib":64"#, r#""m_kib":19456"#)
            .replace(r#""t":1"#, r#""t":2"#);
        assert!(matches!(parse_backup(&sealed), Ok(Backup::Sealed(_))));
    }

    #[test]
    fn open_at_default_parameters_timing() {
        let sealed = seal(&Keypair::from_seed(&SEED), PASS, KdfParams::DEFAULT).unwrap();
        let start = std::time::Instant::now();
        let kp = open(&sealed, PASS).unwrap();
        eprintln!(
            "keystore: open at DEFAULT {} took {:?}",
            KdfParams::DEFAULT,
            start.elapsed()
        );
        assert_eq!(kp.did(), sealed.did);
    }
}
