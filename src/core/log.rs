//! The per-DID append log: every change to the vault appends an entry, hash-chained to the one before,
//! so any edit of history is detectable.
//!
//! An entry follows the RFC's example `{t, service, op, ref, context?}` (t in Unix seconds) plus `seq`
//! (0, 1, 2, …), `item_hash` (lowercase hex SHA-256 of what the entry is about) and `prev` (the hash of
//! the previous entry; [`GENESIS_HEAD`] for the first). The hash of an entry is the lowercase hex
//! SHA-256 of its JCS canonical form; the log's head is the hash of its last entry.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bundle::{LogCommitment, GENESIS_HEAD};
use super::canonical;
use super::error::{Error, Result};
use super::proof::HashWriter;

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When the change was recorded, Unix seconds.
    pub t: u64,
    /// The service the change came from.
    pub service: String,
    /// What happened, e.g. `messages.add`, `assets.update`, `tickets.delete`, `receipt.delete`.
    pub op: String,
    /// What it happened to, e.g. an item id or a receipt's request hash.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Optional context of the change (e.g. an upload context such as `personal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Lowercase hex SHA-256 of the item version (or receipt) the entry records.
    pub item_hash: String,
    /// Hash of the previous entry.
    pub prev: String,
}

impl LogEntry {
    /// The entry's hash: lowercase hex SHA-256 of its canonical JSON.
    pub fn hash(&self) -> Result<String> {
        /// The entry borrowed, its members in RFC 8785 order; serde_json writes integers and strings
        /// exactly as RFC 8785 does, so its compact output is the canonical form.
        #[derive(Serialize)]
        struct Hashed<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            context: Option<&'a str>,
            item_hash: &'a str,
            op: &'a str,
            prev: &'a str,
            #[serde(rename = "ref")]
            reference: &'a str,
            seq: u64,
            service: &'a str,
            t: u64,
        }
        if self.seq > canonical::MAX_SAFE_INTEGER || self.t > canonical::MAX_SAFE_INTEGER {
            return Err(Error::UnsafeNumber(format!(
                "log entry {} has a number beyond 2^53 - 1",
                self.seq
            )));
        }
        let mut hasher = HashWriter(Sha256::new());
        serde_json::to_writer(
            &mut hasher,
            &Hashed {
                context: self.context.as_deref(),
                item_hash: &self.item_hash,
                op: &self.op,
                prev: &self.prev,
                reference: &self.reference,
                seq: self.seq,
                service: &self.service,
                t: self.t,
            },
        )
        .map_err(|e| Error::InvalidJson(e.to_string()))?;
        Ok(hex_lower(&hasher.0.finalize()))
    }
}

/// Lowercase hex of bytes (the hashes of the log and the store), without a per-character iterator.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    // Only ASCII digits were written.
    String::from_utf8(out).unwrap_or_default()
}

/// What a new entry records; [`Chain::append`] adds `seq` and `prev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Unix seconds.
    pub t: u64,
    /// The service.
    pub service: String,
    /// The operation.
    pub op: String,
    /// The reference.
    pub reference: String,
    /// Optional context.
    pub context: Option<String>,
    /// Hex SHA-256 of the recorded item version or receipt.
    pub item_hash: String,
}

/// The end of a log: its length and head. Appending moves it forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Number of entries.
    pub length: u64,
    /// Hash of the last entry, or [`GENESIS_HEAD`].
    pub head: String,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            length: 0,
            head: GENESIS_HEAD.to_owned(),
        }
    }
}

impl Chain {
    /// Appends a change and returns its entry.
    pub fn append(&mut self, change: Change) -> Result<LogEntry> {
        let entry = LogEntry {
            seq: self.length,
            t: change.t,
            service: change.service,
            op: change.op,
            reference: change.reference,
            context: change.context,
            item_hash: change.item_hash,
            prev: self.head.clone(),
        };
        self.head = entry.hash()?;
        self.length += 1;
        Ok(entry)
    }

    /// The commitment a bundle carries.
    pub fn commitment(&self) -> LogCommitment {
        LogCommitment {
            length: self.length,
            head: self.head.clone(),
        }
    }

    /// Checks that `entries` continue this chain (consecutive `seq`, each `prev` the hash of the one
    /// before) and moves to their end. Used to verify a whole log from [`Chain::default`].
    pub fn extend_verified<'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a LogEntry>,
    ) -> Result<()> {
        for entry in entries {
            if entry.seq != self.length {
                return Err(Error::LogBroken(format!(
                    "entry {} where entry {} was expected",
                    entry.seq, self.length
                )));
            }
            if entry.prev != self.head {
                return Err(Error::LogBroken(format!(
                    "entry {} does not follow the hash of entry {}",
                    entry.seq,
                    self.length.wrapping_sub(1)
                )));
            }
            self.head = entry.hash()?;
            self.length += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(i: u64) -> Change {
        Change {
            t: 1_709_000_000 + i,
            service: "events".into(),
            op: "tickets.add".into(),
            reference: format!("tkt_{i}"),
            context: (i % 2 == 0).then(|| "personal".into()),
            item_hash: format!("{i:064x}"),
        }
    }

    fn log(n: u64) -> (Chain, Vec<LogEntry>) {
        let mut chain = Chain::default();
        let entries = (0..n).map(|i| chain.append(change(i)).unwrap()).collect();
        (chain, entries)
    }

    #[test]
    fn chain_verifies_and_commits() {
        let (chain, entries) = log(5);
        assert_eq!(chain.length, 5);
        assert_eq!(entries[0].prev, GENESIS_HEAD);
        assert_eq!(chain.head, entries[4].hash().unwrap());
        let mut check = Chain::default();
        check.extend_verified(&entries).unwrap();
        assert_eq!(check, chain);
        assert_eq!(chain.commitment().length, 5);
        let json = serde_json::to_value(&entries[1]).unwrap();
        assert_eq!(json["ref"], "tkt_1");
        assert!(json.get("context").is_none());
    }

    #[test]
    fn any_edit_of_history_is_detected() {
        let (_, entries) = log(4);
        let edits: [fn(&mut LogEntry); 5] = [
            |e| e.t += 1,
            |e| e.op = "tickets.delete".into(),
            |e| e.reference.push('x'),
            |e| e.item_hash = "0".repeat(64),
            |e| e.context = Some("work".into()),
        ];
        for edit in edits {
            let mut tampered = entries.clone();
            edit(&mut tampered[1]);
            let err = Chain::default().extend_verified(&tampered).unwrap_err();
            assert_eq!(err.code(), "LOG_BROKEN");
        }
        let mut dropped = entries.clone();
        dropped.remove(2);
        assert_eq!(
            Chain::default()
                .extend_verified(&dropped)
                .unwrap_err()
                .code(),
            "LOG_BROKEN"
        );
        let mut swapped = entries;
        swapped.swap(1, 2);
        assert_eq!(
            Chain::default()
                .extend_verified(&swapped)
                .unwrap_err()
                .code(),
            "LOG_BROKEN"
        );
    }

    #[test]
    fn entry_hash_is_the_sha256_of_its_jcs_form() {
        let mut entries = log(2).1;
        entries[1].reference = "a \"quoted\" \\ ref \u{1} é 😀 \u{e000}".into();
        entries[1].context = Some("ctx\n".into());
        for entry in &entries {
            let value = serde_json::to_value(entry).unwrap();
            let expected = hex::encode(Sha256::digest(
                serde_json_canonicalizer::to_vec(&value).unwrap(),
            ));
            assert_eq!(entry.hash().unwrap(), expected);
        }
        let mut huge = entries[0].clone();
        huge.t = canonical::MAX_SAFE_INTEGER + 1;
        assert_eq!(huge.hash().unwrap_err().code(), "UNSAFE_NUMBER");
        assert_eq!(hex_lower(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
