//! The vault's one error type. Every error has a stable string code (see [`Error::code`]) that the
//! JavaScript binding exposes as `VaultError.code` and the reference node sends as `{code, message}`.
//! Messages never contain secret material.

use std::fmt;

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core, with a stable code per variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON, or not the JSON value that was expected.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A number that JSON consumers cannot all represent exactly: an integer beyond ±(2^53−1), or a
    /// non-finite or out-of-range number.
    #[error("unsafe number: {0}")]
    UnsafeNumber(String),
    /// Nesting beyond [`crate::core::canonical::MAX_DEPTH`].
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    /// Input larger than the limit that applies to it.
    #[error("input too large: {0}")]
    TooLarge(String),
    /// A DID that is malformed or does not carry a usable Ed25519 key.
    #[error("invalid DID: {0}")]
    InvalidDid(String),
    /// Key bytes of the wrong length or not a valid Ed25519 key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// An argument outside what the function accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The proof object is missing, incomplete, or names something other than eddsa-jcs-2022.
    #[error("malformed proof: {0}")]
    ProofMalformed(String),
    /// The proof's verification method cannot be resolved to a key offline.
    #[error("unsupported verification method: {0}")]
    UnsupportedMethod(String),
    /// The signature does not verify against the document and the proof's key.
    #[error("signature invalid: {0}")]
    SignatureInvalid(String),
    /// The document names one DID and is signed by another key.
    #[error("DID mismatch: {0}")]
    DidMismatch(String),
    /// The DID does not encode a key (handle-style or rotated), so the binding cannot be checked offline.
    #[error("key binding not verifiable offline: {0}")]
    DidUnverifiable(String),
    /// A bundle whose shape is not the bundle format.
    #[error("malformed bundle: {0}")]
    BundleMalformed(String),
    /// The platform's randomness source failed.
    #[error("randomness unavailable: {0}")]
    Randomness(String),
    /// The passphrase does not open the key (or the sealed key was altered).
    #[error("wrong passphrase, or the sealed key was altered")]
    BadPassphrase,
    /// An export page (or another document from a node) that breaks the protocol's rules.
    #[error("malformed export: {0}")]
    ExportMalformed(String),
    /// The append log's hash chain does not hold.
    #[error("append log broken: {0}")]
    LogBroken(String),
    /// The operation needs the key and the vault is locked.
    #[error("the vault is locked: unlock it with the passphrase first")]
    Locked,
    /// The vault has no key yet.
    #[error("the vault has no key yet: create or import one")]
    NoKey,
    /// The vault already has a key, and replacing it would lose it.
    #[error("the vault already has a key ({0}); a vault holds one key")]
    KeyExists(String),
    /// The browser storage (IndexedDB) failed.
    #[error("storage failed: {0}")]
    Storage(String),
    /// The browser refused to store more: the storage quota is used up.
    #[error("storage quota exceeded: {0}")]
    QuotaExceeded(String),
    /// The node could not be reached, or the connection failed or timed out.
    #[error("network error: {0}")]
    Network(String),
    /// The node answered with an error status.
    #[error("HTTP {status} from {url}: {message}")]
    HttpStatus {
        /// The HTTP status.
        status: u16,
        /// The URL asked.
        url: String,
        /// The node's message (and code, when it sent one).
        message: String,
    },
    /// The node refused the DID authentication.
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    /// The caller aborted the operation (its `AbortSignal`).
    #[error("aborted")]
    Aborted,
    /// A key backup that is neither the vault's sealed format nor the platform's plain backup file.
    #[error("malformed key backup: {0}")]
    KeyBackupMalformed(String),
    /// A remote delete refused because the data is not safely backed up or transferred first.
    #[error("not backed up: {0}")]
    NotBackedUp(String),
}

impl Error {
    /// The stable code of this error, as JavaScript and HTTP clients see it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidJson(_) => "INVALID_JSON",
            Error::UnsafeNumber(_) => "UNSAFE_NUMBER",
            Error::TooDeep(_) => "TOO_DEEP",
            Error::TooLarge(_) => "TOO_LARGE",
            Error::InvalidDid(_) => "INVALID_DID",
            Error::InvalidKey(_) => "INVALID_KEY",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::ProofMalformed(_) => "PROOF_MALFORMED",
            Error::UnsupportedMethod(_) => "UNSUPPORTED_METHOD",
            Error::SignatureInvalid(_) => "SIGNATURE_INVALID",
            Error::DidMismatch(_) => "DID_MISMATCH",
            Error::DidUnverifiable(_) => "DID_UNVERIFIABLE",
            Error::BundleMalformed(_) => "BUNDLE_MALFORMED",
            Error::Randomness(_) => "RANDOMNESS",
            Error::BadPassphrase => "BAD_PASSPHRASE",
            Error::KeyBackupMalformed(_) => "KEY_BACKUP_MALFORMED",
            Error::LogBroken(_) => "LOG_BROKEN",
            Error::ExportMalformed(_) => "EXPORT_MALFORMED",
            Error::Locked => "LOCKED",
            Error::NoKey => "NO_KEY",
            Error::KeyExists(_) => "KEY_EXISTS",
            Error::Storage(_) => "STORAGE",
            Error::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            Error::Network(_) => "NETWORK",
            Error::HttpStatus { .. } => "HTTP_STATUS",
            Error::AuthFailed(_) => "AUTH_FAILED",
            Error::Aborted => "ABORTED",
            Error::NotBackedUp(_) => "NOT_BACKED_UP",
        }
    }

    /// Every code the core can produce, for documentation and for the TypeScript union.
    pub const CODES: &'static [&'static str] = &[
        "INVALID_JSON",
        "UNSAFE_NUMBER",
        "TOO_DEEP",
        "TOO_LARGE",
        "INVALID_DID",
        "INVALID_KEY",
        "INVALID_ARGUMENT",
        "PROOF_MALFORMED",
        "UNSUPPORTED_METHOD",
        "SIGNATURE_INVALID",
        "DID_MISMATCH",
        "DID_UNVERIFIABLE",
        "BUNDLE_MALFORMED",
        "RANDOMNESS",
        "BAD_PASSPHRASE",
        "KEY_BACKUP_MALFORMED",
        "LOG_BROKEN",
        "EXPORT_MALFORMED",
        "LOCKED",
        "NO_KEY",
        "KEY_EXISTS",
        "STORAGE",
        "QUOTA_EXCEEDED",
        "NETWORK",
        "HTTP_STATUS",
        "AUTH_FAILED",
        "ABORTED",
        "NOT_BACKED_UP",
    ];
}

/// Shortens untrusted text quoted in an error message so that hostile input cannot blow up messages.
pub(crate) fn excerpt(text: &str) -> impl fmt::Display + '_ {
    struct Excerpt<'a>(&'a str);
    impl fmt::Display for Excerpt<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            const MAX: usize = 64;
            match self.0.char_indices().nth(MAX) {
                Some((cut, _)) => write!(f, "{:?}…", &self.0[..cut]),
                None => write!(f, "{:?}", self.0),
            }
        }
    }
    Excerpt(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_listed() {
        let samples = [
            Error::InvalidJson(String::new()),
            Error::UnsafeNumber(String::new()),
            Error::TooDeep(1),
            Error::TooLarge(String::new()),
            Error::InvalidDid(String::new()),
            Error::InvalidKey(String::new()),
            Error::InvalidArgument(String::new()),
            Error::ProofMalformed(String::new()),
            Error::UnsupportedMethod(String::new()),
            Error::SignatureInvalid(String::new()),
            Error::DidMismatch(String::new()),
            Error::DidUnverifiable(String::new()),
            Error::BundleMalformed(String::new()),
            Error::Randomness(String::new()),
            Error::BadPassphrase,
            Error::KeyBackupMalformed(String::new()),
            Error::LogBroken(String::new()),
            Error::ExportMalformed(String::new()),
            Error::Locked,
            Error::NoKey,
            Error::KeyExists(String::new()),
            Error::Storage(String::new()),
            Error::QuotaExceeded(String::new()),
            Error::Network(String::new()),
            Error::HttpStatus {
                status: 500,
                url: String::new(),
                message: String::new(),
            },
            Error::AuthFailed(String::new()),
            Error::Aborted,
            Error::NotBackedUp(String::new()),
        ];
        let codes: Vec<&str> = samples.iter().map(Error::code).collect();
        assert_eq!(codes, Error::CODES);
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
    }

    #[test]
    fn excerpt_cuts_long_text() {
        let long = "x".repeat(1000);
        let shown = excerpt(&long).to_string();
        assert!(shown.len() < 80, "{shown}");
        assert!(shown.ends_with('…'));
        assert_eq!(excerpt("ab").to_string(), "\"ab\"");
    }
}
