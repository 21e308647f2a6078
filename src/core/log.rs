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
use super::canonical_text;
use super::error::{Error, Result};

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
    /// The entry's hash: lowercase hex SHA-256 of its canonical JSON ([`LogEntry::write_canonical`]).
    pub fn hash(&self) -> Result<String> {
        let mut text = String::with_capacity(self.estimated_len());
        self.write_canonical(&mut text)?;
        Ok(hex_lower(&Sha256::digest(text.as_bytes())))
    }

    /// Appends the entry's RFC 8785 form: its members in code-unit order, integers and strings as
    /// RFC 8785 writes them. Written directly, not through a serializer: a pull hashes one entry per
    /// changed item.
    pub fn write_canonical(&self, out: &mut String) -> Result<()> {
        self.check_numbers()?;
        let string = canonical_text::push_string;
        out.push('{');
        if let Some(context) = &self.context {
            out.push_str("\"context\":");
            string(out, context);
            out.push(',');
        }
        out.push_str("\"item_hash\":");
        string(out, &self.item_hash);
        out.push_str(",\"op\":");
        string(out, &self.op);
        out.push_str(",\"prev\":");
        string(out, &self.prev);
        out.push_str(",\"ref\":");
        string(out, &self.reference);
        out.push_str(",\"seq\":");
        out.push_str(itoa::Buffer::new().format(self.seq));
        out.push_str(",\"service\":");
        string(out, &self.service);
        out.push_str(",\"t\":");
        out.push_str(itoa::Buffer::new().format(self.t));
        out.push('}');
        Ok(())
    }

    /// Appends the entry as stored in IndexedDB: the JSON serde writes for it (members in declaration
    /// order), written directly.
    pub fn write_stored(&self, out: &mut String) {
        let string = canonical_text::push_string;
        out.push_str("{\"seq\":");
        out.push_str(itoa::Buffer::new().format(self.seq));
        out.push_str(",\"t\":");
        out.push_str(itoa::Buffer::new().format(self.t));
        out.push_str(",\"service\":");
        string(out, &self.service);
        out.push_str(",\"op\":");
        string(out, &self.op);
        out.push_str(",\"ref\":");
        string(out, &self.reference);
        if let Some(context) = &self.context {
            out.push_str(",\"context\":");
            string(out, context);
        }
        out.push_str(",\"item_hash\":");
        string(out, &self.item_hash);
        out.push_str(",\"prev\":");
        string(out, &self.prev);
        out.push('}');
    }

    fn estimated_len(&self) -> usize {
        96 + self.service.len()
            + self.op.len()
            + self.reference.len()
            + self.context.as_ref().map_or(0, String::len)
            + self.item_hash.len()
            + self.prev.len()
    }

    fn check_numbers(&self) -> Result<()> {
        if self.seq > canonical::MAX_SAFE_INTEGER || self.t > canonical::MAX_SAFE_INTEGER {
            return Err(Error::UnsafeNumber(format!(
                "log entry {} has a number beyond 2^53 - 1",
                self.seq
            )));
        }
        Ok(())
    }
}

/// A log record's JSON text (an array of entries as stored), written directly.
pub fn stored_json(entries: &[LogEntry]) -> String {
    let mut out =
        String::with_capacity(2 + entries.iter().map(|e| e.estimated_len() + 1).sum::<usize>());
    out.push('[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        entry.write_stored(&mut out);
    }
    out.push(']');
    out
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
            context: i.is_multiple_of(2).then(|| "personal".into()),
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

    #[cfg(not(target_arch = "wasm32"))]
    mod written {
        use super::super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z_.]{0,12}",
                any::<String>(),
                "[\\x00-\\x1f\"\\\\/\u{7f}é😀\u{2028}]{0,8}",
            ]
        }

        fn entry() -> impl Strategy<Value = LogEntry> {
            (
                (
                    0..=canonical::MAX_SAFE_INTEGER,
                    0..=canonical::MAX_SAFE_INTEGER,
                ),
                (text(), text(), text()),
                proptest::option::of(text()),
                (text(), text()),
            )
                .prop_map(
                    |((seq, t), (service, op, reference), context, (item_hash, prev))| LogEntry {
                        seq,
                        t,
                        service,
                        op,
                        reference,
                        context,
                        item_hash,
                        prev,
                    },
                )
        }

        proptest! {
            // The direct writers give the bytes of the general paths: RFC 8785 of the entry's value
            // for the hash, and serde's JSON for the stored record.
            #[test]
            fn direct_writers_match_the_general_paths(entries in proptest::collection::vec(entry(), 0..4)) {
                for entry in &entries {
                    let mut canonical_form = String::new();
                    entry.write_canonical(&mut canonical_form).unwrap();
                    let value = serde_json::to_value(entry).unwrap();
                    prop_assert_eq!(
                        canonical_form.as_bytes(),
                        &serde_json_canonicalizer::to_vec(&value).unwrap()[..]
                    );
                    prop_assert_eq!(
                        entry.hash().unwrap(),
                        hex::encode(Sha256::digest(canonical_form.as_bytes()))
                    );
                }
                prop_assert_eq!(stored_json(&entries), serde_json::to_string(&entries).unwrap());
            }
        }
    }
}
