//! The user's rights over their data, sans-IO: what a push uploads and how the vault checks the
//! target's answer (transfer), how receipts enter the append log, and when a remote delete is safe
//! (nothing lost).
//!
//! **Push.** The uploaded bytes are the RFC 8785 bytes of the signed bundle. To resume an interrupted
//! upload the vault must produce the *same* bytes again, so a [`PushRecord`] per target node keeps the
//! bundle's log commitment and its two times (`exported_at`, proof `created`): Ed25519 signatures are
//! deterministic, so the same items, commitment and times give the same bytes and the same
//! `bundle_hash`, and the node's session for that hash resumes from its last acknowledged chunk.
//!
//! **Receipts in the log.** A verified receipt becomes one log entry, in the same transaction as the
//! receipt's record:
//! - transfer: `{service: "transfer", op: "receipt.transfer", ref: <bundle_hash>, context: <node did>,
//!   item_hash: <hex SHA-256 of the JCS receipt>}`;
//! - deletion: `{service: <service>, op: "receipt.delete", ref: <request_hash>, context: <node did>,
//!   item_hash: <hex SHA-256 of the JCS receipt>}`;
//! - an exported bundle the user holds (see [`ExportRecord`]): `{service: "export", op:
//!   "receipt.export", ref: <bundle_hash>, item_hash: <bundle_hash>}`.
//!
//! **Backed up.** A remote delete is allowed only when the last entry that changed data (any entry whose
//! op is not a `receipt.*` op) lies inside the log prefix that a bundle committed to (`log.length`
//! beyond that entry's `seq`, and `log.head` the hash of entry `length − 1`), where the bundle is one
//! with a verified transfer receipt and a passed continuity check from another node, or one the user
//! exported and kept. A transfer stops counting once the vault has had its node delete data (the node no longer holds the whole
//! bundle; a push there then uploads new bytes). Otherwise it is `NOT_BACKED_UP`. A transfer that
//! passes these checks still counts only once its node is seen holding it at the time of the delete
//! (its counts at least the receipt's, [`shortfalls`]): another device of the DID may have pushed
//! another bundle there since, which replaces the data the node holds.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::bundle::LogCommitment;
use super::error::{excerpt, Error, Result};
use super::log::{Change, LogEntry};
use super::proof;
use super::receipt::{DeletionReceipt, SectionCounts, TransferReceipt};
use super::store::Incoming;

/// Log service of transfer receipts.
pub const TRANSFER_SERVICE: &str = "transfer";
/// Log op of a transfer receipt.
pub const OP_TRANSFER_RECEIPT: &str = "receipt.transfer";
/// Log op of a deletion receipt.
pub const OP_DELETION_RECEIPT: &str = "receipt.delete";
/// Smallest chunk size the vault accepts from a node (1 KiB), so a hostile node cannot demand millions
/// of requests.
pub const MIN_CHUNK_SIZE: u64 = 1024;
/// Largest chunk size the vault accepts from a node (64 MiB).
pub const MAX_CHUNK_SIZE: u64 = 64 * 1024 * 1024;

/// Log service of exported bundles.
pub const EXPORT_SERVICE: &str = "export";
/// Log op of an exported bundle the user holds.
pub const OP_EXPORT_RECEIPT: &str = "receipt.export";

/// How far a node accepts a delete request's `requested_at` from its own clock, either way (the
/// protocol's ±300 s; older or newer is `REQUEST_EXPIRED`).
pub const DELETE_REQUEST_WINDOW_MS: u64 = 300_000;

/// Whether a log op records a receipt (and so changes no data).
pub fn is_receipt_op(op: &str) -> bool {
    op.starts_with("receipt.")
}

/// What the vault remembers of its last push to one node, to resume it with identical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRecord {
    /// The target node's key.
    pub node_did: String,
    /// The log commitment the bundle carries.
    pub bundle_log: LogCommitment,
    /// The bundle's `exported_at`, also its proof's `created`.
    pub exported_at: String,
    /// Hex SHA-256 of the uploaded bytes.
    pub bundle_hash: String,
    /// The log's end right after the receipt entry, once the push completed.
    #[serde(default)]
    pub after: Option<LogCommitment>,
}

impl PushRecord {
    /// Whether a push with the log at `current` repeats this one, told without reading the log: the
    /// log is still the bundle's, or has only this push's receipt entry beyond it.
    pub fn repeats(&self, current: &LogCommitment) -> bool {
        self.bundle_log == *current || self.after.as_ref() == Some(current)
    }

    /// Whether a push with the log `entries` (the whole log, in order) repeats this one: the bundle's
    /// commitment is a prefix of the log and only receipts (of this push, of other pushes, exports or
    /// deletions) follow it, so the vault still holds the bundle's items and signs the same bytes.
    /// A deletion at this same node since the bundle means the node no longer holds all of it: then
    /// the push signs new bytes (the node's committed session for the old ones would only answer its
    /// old receipt, importing nothing).
    pub fn repeats_log(&self, entries: &[LogEntry]) -> Result<bool> {
        Ok(is_log_prefix(entries, &self.bundle_log)?
            && last_data_change(entries).is_none_or(|seq| seq < self.bundle_log.length)
            && !deleted_at_since(entries, &self.node_did, &self.bundle_log))
    }
}

/// A signed bundle of the vault that the user exported and keeps (a file they saved): a backup as good
/// as a transferred one for [`check_backed_up`], since it verifies on its own and restores with
/// `importBundle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRecord {
    /// Always `"export"`, to tell it from transfer receipts in the same store.
    pub kind: String,
    /// Hex SHA-256 of the bundle's RFC 8785 bytes.
    pub bundle_hash: String,
    /// The log commitment the bundle carries.
    pub bundle_log: LogCommitment,
    /// The bundle's `exported_at`.
    pub exported_at: String,
    /// When the vault recorded it (RFC 3339).
    pub recorded_at: String,
}

/// The log entry of an exported bundle the user holds.
pub fn export_change(bundle_hash: &str, t: u64) -> Change {
    Change {
        t,
        service: EXPORT_SERVICE.to_owned(),
        op: OP_EXPORT_RECEIPT.to_owned(),
        reference: bundle_hash.to_owned(),
        context: None,
        item_hash: bundle_hash.to_owned(),
    }
}

/// Whether `commitment` is a prefix of the log `entries`: as long or shorter, and its head the hash
/// of the entry where it ends (the empty commitment is a prefix of any log).
pub fn is_log_prefix(entries: &[LogEntry], commitment: &LogCommitment) -> Result<bool> {
    if commitment.length == 0 {
        return Ok(commitment.head == super::bundle::GENESIS_HEAD);
    }
    let Some(entry) = usize::try_from(commitment.length - 1)
        .ok()
        .and_then(|i| entries.get(i))
    else {
        return Ok(false);
    };
    Ok(entry.hash()? == commitment.head)
}

/// Items per section and collection of a bundle's `sections`.
pub fn bundle_counts(sections: &Map<String, Value>) -> SectionCounts {
    sections
        .iter()
        .map(|(section, collections)| {
            let counts = collections
                .as_object()
                .map(|c| {
                    c.iter()
                        .map(|(name, items)| {
                            let n = items.as_array().map_or(0, Vec::len) as u64;
                            (name.clone(), n)
                        })
                        .collect()
                })
                .unwrap_or_default();
            (section.clone(), counts)
        })
        .collect()
}

/// A collection whose count differs between what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The section.
    pub section: String,
    /// The collection.
    pub collection: String,
    /// The count expected (the bundle's).
    pub expected: u64,
    /// The count found (the node's).
    pub actual: u64,
}

/// Compares two count maps; a collection missing on one side counts 0 there.
pub fn compare_counts(expected: &SectionCounts, actual: &SectionCounts) -> Vec<Mismatch> {
    let mut keys: BTreeSet<(&String, &String)> = BTreeSet::new();
    for counts in [expected, actual] {
        for (section, collections) in counts {
            for collection in collections.keys() {
                keys.insert((section, collection));
            }
        }
    }
    let get = |counts: &SectionCounts, s: &String, c: &String| {
        counts.get(s).and_then(|m| m.get(c)).copied().unwrap_or(0)
    };
    keys.into_iter()
        .filter_map(|(section, collection)| {
            let (e, a) = (
                get(expected, section, collection),
                get(actual, section, collection),
            );
            (e != a).then(|| Mismatch {
                section: section.clone(),
                collection: collection.clone(),
                expected: e,
                actual: a,
            })
        })
        .collect()
}

/// Verifies a transfer receipt for a pushed bundle: the node key's proof, the node's name, the DID,
/// the bundle hash, and counts equal to the bundle's.
pub fn check_transfer_receipt(
    value: &Value,
    node_did: &str,
    node_name: &str,
    did: &str,
    bundle_hash: &str,
    counts: &SectionCounts,
) -> Result<TransferReceipt> {
    let receipt = TransferReceipt::verify_for_bundle(value, node_did, did, bundle_hash)?;
    if receipt.node != node_name {
        return Err(Error::ExportMalformed(format!(
            "transfer receipt from node {}, not {}",
            excerpt(&receipt.node),
            excerpt(node_name)
        )));
    }
    let mismatches = compare_counts(counts, &receipt.counts);
    if let Some(m) = mismatches.first() {
        return Err(Error::ExportMalformed(format!(
            "transfer receipt counts {} items in {}/{}, the bundle holds {} ({} collections differ)",
            m.actual,
            excerpt(&m.section),
            excerpt(&m.collection),
            m.expected,
            mismatches.len()
        )));
    }
    Ok(receipt)
}

/// Checks the chunk size a node asks for.
pub fn check_chunk_size(chunk_size: u64) -> Result<u64> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(chunk_size)
    } else {
        Err(Error::ExportMalformed(format!(
            "a chunk size of {chunk_size} bytes is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE}"
        )))
    }
}

/// The chunks of an upload of `size` bytes, from the first one not acknowledged (`received` bytes
/// acknowledged without a gap) to the last: `(index, start, end)`.
pub fn chunks_from(size: u64, chunk_size: u64, received: u64) -> Vec<(u64, u64, u64)> {
    if received >= size {
        return Vec::new();
    }
    let first = received / chunk_size;
    let count = size.div_ceil(chunk_size);
    (first..count)
        .map(|i| (i, i * chunk_size, ((i + 1) * chunk_size).min(size)))
        .collect()
}

/// The log entry of a verified transfer receipt.
pub fn transfer_change(
    receipt_value: &Value,
    receipt: &TransferReceipt,
    node_did: &str,
    t: u64,
) -> Result<Change> {
    Ok(Change {
        t,
        service: TRANSFER_SERVICE.to_owned(),
        op: OP_TRANSFER_RECEIPT.to_owned(),
        reference: receipt.bundle_hash.clone(),
        context: Some(node_did.to_owned()),
        item_hash: hex::encode(proof::sha256_of_value(receipt_value)?),
    })
}

/// The log entry of a verified deletion receipt.
pub fn deletion_change(
    receipt_value: &Value,
    receipt: &DeletionReceipt,
    node_did: &str,
    t: u64,
) -> Result<Change> {
    Ok(Change {
        t,
        service: receipt.service.clone(),
        op: OP_DELETION_RECEIPT.to_owned(),
        reference: receipt.request_hash.clone(),
        context: Some(node_did.to_owned()),
        item_hash: hex::encode(proof::sha256_of_value(receipt_value)?),
    })
}

/// The `seq` of the last entry that changed data, if any.
pub fn last_data_change(entries: &[LogEntry]) -> Option<u64> {
    entries
        .iter()
        .rev()
        .find(|e| !is_receipt_op(&e.op))
        .map(|e| e.seq)
}

/// Checks that everything the vault holds is covered by a backup: some commitment in `transferred`
/// (the log commitments of bundles with verified transfer receipts, and of exported bundles the user
/// keeps) reaches past the last data change of `entries` (the whole log, in order) and matches the
/// log there.
pub fn check_backed_up<'a>(
    entries: &[LogEntry],
    transferred: impl IntoIterator<Item = &'a LogCommitment>,
) -> Result<()> {
    let last = last_change_or_refuse(entries)?;
    for commitment in transferred {
        if covers(entries, last, commitment)? {
            return Ok(());
        }
    }
    Err(not_covered(last))
}

/// The backups of `candidates` that cover everything the vault holds (as in [`check_backed_up`]), in
/// the order given; `NOT_BACKED_UP` when there is none.
pub fn covering(entries: &[LogEntry], candidates: Vec<Backup>) -> Result<Vec<Backup>> {
    let last = last_change_or_refuse(entries)?;
    let mut out = Vec::new();
    for backup in candidates {
        if covers(entries, last, backup.log())? {
            out.push(backup);
        }
    }
    if out.is_empty() {
        return Err(not_covered(last));
    }
    Ok(out)
}

/// The last data change of `entries`, or `NOT_BACKED_UP` for a log without one.
fn last_change_or_refuse(entries: &[LogEntry]) -> Result<u64> {
    last_data_change(entries).ok_or_else(|| {
        Error::NotBackedUp(
            "the vault holds nothing yet: pull the data, then back it up, before deleting".into(),
        )
    })
}

/// Whether a bundle at `commitment` holds the data change at `last`: its log reaches past it and is
/// the vault's log there.
fn covers(entries: &[LogEntry], last: u64, commitment: &LogCommitment) -> Result<bool> {
    Ok(commitment.length > last && is_log_prefix(entries, commitment)?)
}

fn not_covered(last: u64) -> Error {
    Error::NotBackedUp(format!(
        "log entry {last} changed data after the last backup: push the vault to another node (and \
         get its receipt), or sign and save a bundle, before deleting"
    ))
}

/// A backup that may cover a delete ([`backup_list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backup {
    /// A bundle the user exported and keeps.
    Export {
        /// The bundle's log commitment.
        log: LogCommitment,
    },
    /// A bundle transferred to another node. That node may have changed since (another device of
    /// the DID pushed another bundle there, which replaces its data; someone deleted there), so it
    /// counts only once the node is seen still holding it ([`shortfalls`]).
    Transfer {
        /// The bundle's log commitment.
        log: LogCommitment,
        /// The node's name.
        node: String,
        /// The node's key.
        node_did: String,
        /// The node's manifest URL (recorded since the vault checks backups live; `None` in a record
        /// written before).
        manifest: Option<String>,
        /// The items the node imported, per section and collection (its receipt's counts; `None` if
        /// they cannot be read).
        counts: Option<SectionCounts>,
    },
}

impl Backup {
    /// The bundle's log commitment.
    pub fn log(&self) -> &LogCommitment {
        match self {
            Backup::Export { log } | Backup::Transfer { log, .. } => log,
        }
    }
}

/// The collections where a node now holds fewer items than `expected` (a transfer's counts): any
/// such one means the node no longer holds the whole bundle. More is fine (other data of the DID).
pub fn shortfalls(expected: &SectionCounts, actual: &SectionCounts) -> Vec<Mismatch> {
    compare_counts(expected, actual)
        .into_iter()
        .filter(|m| m.actual < m.expected)
        .collect()
}

/// Whether a push's recorded continuity check (`{ok, mismatches: [{section, collection, expected,
/// actual}]}`) found the node holding at least the bundle's count in every collection: the counts were
/// equal, or the node held more (other data of the DID there). Anything else, or no check, is `false`.
pub fn holds_all(continuity: &Value) -> bool {
    if continuity.get("ok") == Some(&Value::Bool(true)) {
        return true;
    }
    let Some(mismatches) = continuity.get("mismatches").and_then(Value::as_array) else {
        return false;
    };
    mismatches.iter().all(|m| {
        match (
            m.get("expected").and_then(Value::as_u64),
            m.get("actual").and_then(Value::as_u64),
        ) {
            (Some(expected), Some(actual)) => actual >= expected,
            _ => false,
        }
    })
}

/// Whether the vault had `node_did` delete data after the log stood at `commitment`: a deletion receipt
/// of that node follows it. A bundle transferred there at that commitment is then no longer whole there.
pub fn deleted_at_since(entries: &[LogEntry], node_did: &str, commitment: &LogCommitment) -> bool {
    let from = usize::try_from(commitment.length).unwrap_or(usize::MAX);
    entries
        .iter()
        .skip(from)
        .any(|e| e.op == OP_DELETION_RECEIPT && e.context.as_deref() == Some(node_did))
}

/// The backups against deleting at `deleting_at`, from the records of the `receipts` store: bundles
/// the user exported and keeps, and bundles transferred to another node with a verified receipt and a
/// continuity check that found all of it there ([`holds_all`]), unless the vault had that node delete
/// data since (it no longer holds the whole bundle), or has a delete request pending there (sent, its
/// receipt never arrived) and the transfer's receipt is not dated after the end of the time that
/// request may have deleted in (`pending_at`: node → that end, see [`pending_deletion_until`]). A
/// transfer to `deleting_at` itself is no backup against deleting there. A transfer listed here still
/// has to be seen on its node ([`Backup::Transfer`]).
pub fn backup_list<'a>(
    records: impl IntoIterator<Item = &'a Value>,
    entries: &[LogEntry],
    deleting_at: &str,
    pending_at: &BTreeMap<String, u64>,
) -> Vec<Backup> {
    records
        .into_iter()
        .filter_map(|r| {
            let log: LogCommitment = serde_json::from_value(r.get("bundle_log")?.clone()).ok()?;
            match r.get("kind").and_then(Value::as_str)? {
                "export" => Some(Backup::Export { log }),
                "transfer" => {
                    let node_did = r.get("node_did").and_then(Value::as_str)?;
                    let after_pending = || match pending_at.get(node_did) {
                        None => true,
                        Some(until) => r
                            .pointer("/receipt/received_at")
                            .and_then(Value::as_str)
                            .and_then(super::export::datetime_millis_ceil)
                            .is_some_and(|at| at > *until),
                    };
                    let holds = node_did != deleting_at
                        && r.get("continuity").is_some_and(holds_all)
                        && after_pending()
                        && !deleted_at_since(entries, node_did, &log);
                    holds.then(|| Backup::Transfer {
                        node: r
                            .get("node")
                            .and_then(Value::as_str)
                            .unwrap_or(node_did)
                            .to_owned(),
                        node_did: node_did.to_owned(),
                        manifest: r.get("manifest").and_then(Value::as_str).map(str::to_owned),
                        counts: r
                            .pointer("/receipt/counts")
                            .and_then(Value::as_object)
                            .and_then(|sections| {
                                counts_by_section(sections.iter().map(|(s, c)| (s.as_str(), c)))
                                    .ok()
                            }),
                        log,
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// The services of a node (`node_did`) whose data was deleted after the last data change: a deletion
/// receipt is in the log after it. Those are not asked again.
pub fn deleted_services(entries: &[LogEntry], node_did: &str) -> BTreeSet<String> {
    let after = last_data_change(entries).map_or(0, |s| s + 1);
    entries
        .iter()
        .filter(|e| {
            e.seq >= after && e.op == OP_DELETION_RECEIPT && e.context.as_deref() == Some(node_did)
        })
        .map(|e| e.service.clone())
        .collect()
}

/// The time (Unix milliseconds) up to which a node's tombstones for `service` are the vault's own
/// doing: the latest `deleted_at` of the deletion receipts (stored records `{kind: "delete", node_did,
/// service, receipt}`) that node signed for that service. A receipt's `deleted_at` is any dateTime
/// (another offset, a finer fraction), so it is compared as an instant, rounded up to the millisecond.
pub fn own_deletions_until<'a>(
    records: impl IntoIterator<Item = &'a Value>,
    node_did: &str,
    service: &str,
) -> Option<u64> {
    records
        .into_iter()
        .filter(|r| r.get("kind").and_then(Value::as_str) == Some("delete"))
        .filter(|r| r.get("node_did").and_then(Value::as_str) == Some(node_did))
        .filter(|r| r.get("service").and_then(Value::as_str) == Some(service))
        // A time that is no instant (a dateTime before 1970, a day that does not exist): no end, so
        // that the vault keeps its copy.
        .map(|r| {
            r.pointer("/receipt/deleted_at")
                .and_then(Value::as_str)
                .and_then(super::export::datetime_millis_ceil)
                .unwrap_or(u64::MAX)
        })
        .max()
}

/// The time (Unix milliseconds) up to which tombstones may be the doing of a delete request the vault
/// sent and holds no receipt for (its `meta` record `{requested_at, request, …}`): a node deletes only
/// within [`DELETE_REQUEST_WINDOW_MS`] of `requested_at` by its clock, which is the clock its tombstones
/// carry, so later ones are someone else's and apply. Without a readable `requested_at`, any time.
pub fn pending_deletion_until(record: &Value) -> u64 {
    record
        .get("requested_at")
        .and_then(Value::as_str)
        .and_then(super::export::datetime_millis_ceil)
        .map_or(u64::MAX, |t| t.saturating_add(DELETE_REQUEST_WINDOW_MS))
}

/// Drops the tombstones a node reports because the vault asked it to delete: those written no later
/// than `until` (see [`own_deletions_until`]), or no later than one millisecond after the version the
/// vault holds (`held`, Unix milliseconds of its `updated_at`): a node stamps a tombstone with its
/// clock, or just after the version it replaces when that one is dated later (a clock ahead, an
/// imported item), as the reference node does. Deleting at a node after backing up must never delete the
/// vault's own copy on the next pull; later deletions (made after the receipt) still apply. Answers
/// the kept items and how many tombstones were dropped.
pub fn drop_own_deletions(
    items: Vec<Incoming>,
    until: Option<u64>,
    held: impl Fn(&Incoming) -> Option<u64>,
) -> (Vec<Incoming>, u64) {
    let Some(until) = until else {
        return (items, 0);
    };
    let before = items.len();
    // Pages give protocol timestamps only (`export::check_timestamp`).
    let kept: Vec<Incoming> = items
        .into_iter()
        .filter(|item| {
            let own = |t: u64| t <= until || held(item).is_some_and(|h| t <= h.saturating_add(1));
            !(item.deleted && super::export::parse_timestamp(&item.updated_at).is_ok_and(own))
        })
        .collect();
    let dropped = (before - kept.len()) as u64;
    (kept, dropped)
}

/// Counts of `countForDid` answers, by section: `{section: {collection: n}}`.
pub fn counts_by_section<'a>(
    answers: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<SectionCounts> {
    let mut out: SectionCounts = BTreeMap::new();
    for (section, counts) in answers {
        let map = counts
            .as_object()
            .ok_or_else(|| Error::ExportMalformed("counts must be an object".into()))?;
        let entry = out.entry(section.to_owned()).or_default();
        for (collection, n) in map {
            let n = n.as_u64().ok_or_else(|| {
                Error::ExportMalformed(format!("count of {} is not a number", excerpt(collection)))
            })?;
            *entry.entry(collection.clone()).or_default() += n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod own_deletions {
    use super::*;
    use serde_json::json;

    fn item(id: &str, updated_at: &str, deleted: bool) -> Incoming {
        Incoming::new(
            "messages".into(),
            id.into(),
            updated_at.into(),
            deleted,
            &json!({"text": id}),
        )
        .unwrap()
    }

    #[test]
    fn only_this_node_and_service_and_the_latest_receipt_count() {
        let record = |node: &str, service: &str, at: &str| {
            json!({"kind": "delete", "node_did": node, "service": service,
                   "receipt": {"deleted_at": at}})
        };
        let records = [
            record("did:key:zA", "chat", "2026-03-09T10:00:00.000Z"),
            record("did:key:zA", "chat", "2026-03-09T12:00:00.000Z"),
            record("did:key:zA", "media", "2026-03-09T13:00:00.000Z"),
            record("did:key:zB", "chat", "2026-03-09T14:00:00.000Z"),
            json!({"kind": "transfer", "node_did": "did:key:zA", "service": "chat"}),
        ];
        assert_eq!(
            own_deletions_until(&records, "did:key:zA", "chat"),
            crate::core::export::parse_timestamp("2026-03-09T12:00:00.000Z").ok()
        );
        assert_eq!(own_deletions_until(&records, "did:key:zC", "chat"), None);
    }

    #[test]
    fn receipt_times_of_any_form_are_compared_as_instants() {
        let record = |at: &str| {
            json!({"kind": "delete", "node_did": "did:key:zA", "service": "chat",
                   "receipt": {"deleted_at": at}})
        };
        let until = |at: &str| own_deletions_until([&record(at)], "did:key:zA", "chat");
        let tombstone = item("a", "2026-03-09T12:00:00.000Z", true);
        let dropped =
            |at: &str| drop_own_deletions(vec![tombstone.clone()], until(at), |_| None).1 == 1;
        // Microseconds after the tombstone's millisecond: as text it sorts before, as a time after.
        assert!(dropped("2026-03-09T12:00:00.000123Z"));
        // The same instant west of UTC: as text it sorts before.
        assert!(dropped("2026-03-09T07:00:00-05:00"));
        assert!(dropped("2026-03-09T13:00:00.000+01:00"));
        // Earlier instants, however written, leave the tombstone to apply.
        assert!(!dropped("2026-03-09T12:59:59.999+01:00"));
        assert!(!dropped("2026-03-09T11:59:59.9989Z"));
        // Within the millisecond before, rounded up: dropped (the vault keeps its copy).
        assert!(dropped("2026-03-09T11:59:59.9991Z"));
        // The latest instant wins, not the latest text.
        let both = [
            record("2026-03-09T12:00:00-05:00"),
            record("2026-03-09T13:00:00Z"),
        ];
        assert_eq!(
            own_deletions_until(&both, "did:key:zA", "chat"),
            crate::core::export::parse_timestamp("2026-03-09T17:00:00.000Z").ok()
        );
        // A time that is no instant: every tombstone is held back.
        for odd in ["1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z"] {
            assert_eq!(until(odd), Some(u64::MAX), "{odd}");
        }
    }

    #[test]
    fn a_pending_request_may_have_deleted_only_within_its_window() {
        let at = |text: &str| crate::core::export::parse_timestamp(text).unwrap();
        let record = json!({"requested_at": "2026-03-09T12:00:00.000Z", "request": {}});
        assert_eq!(
            pending_deletion_until(&record),
            at("2026-03-09T12:05:00.000Z")
        );
        let tombstones = vec![
            item("a", "2026-03-09T12:04:59.999Z", true),
            item("b", "2026-03-09T12:05:00.001Z", true),
        ];
        let (kept, dropped) =
            drop_own_deletions(tombstones, Some(pending_deletion_until(&record)), |_| None);
        assert_eq!(dropped, 1);
        assert_eq!(
            kept[0].id, "b",
            "a later deletion is someone else's and applies"
        );
        // A record without a readable time: every tombstone may be its doing.
        assert_eq!(pending_deletion_until(&json!({"request": {}})), u64::MAX);
        assert_eq!(
            pending_deletion_until(&json!({"requested_at": "yesterday"})),
            u64::MAX
        );
    }

    #[test]
    fn tombstones_up_to_the_receipt_are_dropped_later_ones_and_items_kept() {
        let items = vec![
            item("a", "2026-03-09T11:59:59.999Z", true),
            item("b", "2026-03-09T12:00:00.000Z", true),
            item("c", "2026-03-09T12:00:00.001Z", true),
            item("d", "2026-03-09T11:00:00.000Z", false),
        ];
        let until = crate::core::export::parse_timestamp("2026-03-09T12:00:00.000Z").ok();
        let (kept, dropped) = drop_own_deletions(items.clone(), until, |_| None);
        assert_eq!(dropped, 2);
        let ids: Vec<&str> = kept.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["c", "d"]);
        assert_eq!(
            drop_own_deletions(items.clone(), None, |_| None),
            (items, 0)
        );

        // A held version dated after the deletion (a clock ahead): the node's tombstone of it is
        // stamped just after it, and is the vault's own doing all the same; one later is not.
        let future = crate::core::export::parse_timestamp("2030-01-01T00:00:00.000Z").ok();
        let tombstones = vec![
            item("e", "2030-01-01T00:00:00.001Z", true),
            item("f", "2030-01-01T00:00:00.002Z", true),
        ];
        let (kept, dropped) = drop_own_deletions(tombstones.clone(), until, |_| future);
        assert_eq!(dropped, 1);
        assert_eq!(kept[0].id, "f");
        // Without a receipt of this node, nothing is the vault's doing.
        assert_eq!(drop_own_deletions(tombstones, None, |_| future).1, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::Keypair;
    use crate::core::log::Chain;
    use crate::core::store::{Incoming, Store};
    use serde_json::json;

    fn change(op: &str, i: u64) -> Change {
        Change {
            t: 1_700_000_000 + i,
            service: "chat".into(),
            op: op.into(),
            reference: format!("msg_{i}"),
            context: None,
            item_hash: format!("{i:064x}"),
        }
    }

    fn log(ops: &[&str]) -> (Chain, Vec<LogEntry>) {
        let mut chain = Chain::default();
        let entries = ops
            .iter()
            .enumerate()
            .map(|(i, op)| chain.append(change(op, i as u64)).unwrap())
            .collect();
        (chain, entries)
    }

    fn commitment(entries: &[LogEntry], length: usize) -> LogCommitment {
        LogCommitment {
            length: length as u64,
            head: entries[length - 1].hash().unwrap(),
        }
    }

    #[test]
    fn log_prefixes_are_recognised() {
        let (_, entries) = log(&["messages.add", "messages.add", "messages.add"]);
        let genesis = LogCommitment {
            length: 0,
            head: crate::core::bundle::GENESIS_HEAD.into(),
        };
        assert!(is_log_prefix(&entries, &genesis).unwrap());
        for length in 1..=3 {
            assert!(is_log_prefix(&entries, &commitment(&entries, length)).unwrap());
        }
        let mut wrong = commitment(&entries, 2);
        wrong.head = commitment(&entries, 1).head;
        assert!(!is_log_prefix(&entries, &wrong).unwrap());
        let too_long = LogCommitment {
            length: 4,
            head: commitment(&entries, 3).head,
        };
        assert!(!is_log_prefix(&entries, &too_long).unwrap());
        let empty_but_not_genesis = LogCommitment {
            length: 0,
            head: commitment(&entries, 1).head,
        };
        assert!(!is_log_prefix(&entries, &empty_but_not_genesis).unwrap());
    }

    #[test]
    fn an_export_entry_changes_no_data() {
        let change = export_change("ab", 5);
        assert!(is_receipt_op(&change.op));
        assert_eq!(
            (change.service.as_str(), change.reference.as_str()),
            ("export", "ab")
        );
        let record = ExportRecord {
            kind: "export".into(),
            bundle_hash: "ab".into(),
            bundle_log: LogCommitment {
                length: 1,
                head: "cd".into(),
            },
            exported_at: "2026-11-30T00:00:00Z".into(),
            recorded_at: "2026-11-30T00:00:01Z".into(),
        };
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<ExportRecord>(&text).unwrap(), record);
    }

    #[test]
    fn backed_up_needs_a_transfer_past_the_last_change() {
        let (_, entries) = log(&["messages.add", "messages.add", OP_TRANSFER_RECEIPT]);
        assert_eq!(last_data_change(&entries), Some(1));
        let bundle = commitment(&entries, 2);
        check_backed_up(&entries, [&bundle]).unwrap();
        // A bundle of an older prefix does not cover the last change.
        let old = commitment(&entries, 1);
        assert_eq!(
            check_backed_up(&entries, [&old]).unwrap_err().code(),
            "NOT_BACKED_UP"
        );
        // A commitment whose head is not the log's is worthless.
        let forged = LogCommitment {
            length: 2,
            head: "1".repeat(64),
        };
        assert_eq!(
            check_backed_up(&entries, [&forged]).unwrap_err().code(),
            "NOT_BACKED_UP"
        );
        // Nothing transferred, or nothing pulled: refused.
        assert_eq!(
            check_backed_up(&entries, []).unwrap_err().code(),
            "NOT_BACKED_UP"
        );
        assert_eq!(
            check_backed_up(&[], [&bundle]).unwrap_err().code(),
            "NOT_BACKED_UP"
        );
        // A new change after the transfer needs a new one.
        let (_, more) = log(&[
            "messages.add",
            "messages.add",
            OP_TRANSFER_RECEIPT,
            "messages.update",
        ]);
        assert_eq!(
            check_backed_up(&more, [&commitment(&more, 2)])
                .unwrap_err()
                .code(),
            "NOT_BACKED_UP"
        );
        // Deletion receipts change no data.
        let (_, deleted) = log(&[
            "messages.add",
            OP_TRANSFER_RECEIPT,
            OP_DELETION_RECEIPT,
            OP_DELETION_RECEIPT,
        ]);
        check_backed_up(&deleted, [&commitment(&deleted, 1)]).unwrap();
    }

    #[test]
    fn deleted_services_are_those_after_the_last_change() {
        let mut chain = Chain::default();
        let mut entries = Vec::new();
        let mut push = |service: &str, op: &str, node: Option<&str>| {
            let mut c = change(op, entries.len() as u64);
            c.service = service.into();
            c.context = node.map(str::to_owned);
            entries.push(chain.append(c).unwrap());
        };
        push("media", OP_DELETION_RECEIPT, Some("did:key:a"));
        push("media", "assets.add", None);
        push("chat", OP_DELETION_RECEIPT, Some("did:key:a"));
        push("events", OP_DELETION_RECEIPT, Some("did:key:b"));
        let done = deleted_services(&entries, "did:key:a");
        assert_eq!(done.into_iter().collect::<Vec<_>>(), vec!["chat"]);
    }

    /// The log commitments of [`backup_list`].
    fn backups<'a>(
        records: impl IntoIterator<Item = &'a Value>,
        entries: &[LogEntry],
        deleting_at: &str,
        pending_at: &BTreeMap<String, u64>,
    ) -> Vec<LogCommitment> {
        backup_list(records, entries, deleting_at, pending_at)
            .into_iter()
            .map(|b| b.log().clone())
            .collect()
    }

    /// A log of `(service, op, node)` entries.
    fn log_at(ops: &[(&str, &str, Option<&str>)]) -> Vec<LogEntry> {
        let mut chain = Chain::default();
        ops.iter()
            .enumerate()
            .map(|(i, (service, op, node))| {
                let mut c = change(op, i as u64);
                c.service = (*service).into();
                c.context = node.map(str::to_owned);
                chain.append(c).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_transfer_stops_being_a_backup_once_its_node_deleted_data() {
        let entries = log_at(&[
            ("chat", "messages.add", None),
            ("transfer", OP_TRANSFER_RECEIPT, Some("did:key:zT")),
            ("transfer", OP_TRANSFER_RECEIPT, Some("did:key:zU")),
            ("chat", OP_DELETION_RECEIPT, Some("did:key:zT")),
        ]);
        let bundle = commitment(&entries, 1);
        let transfer = |node: &str| {
            json!({"kind": "transfer", "node_did": node, "bundle_log": bundle.clone(),
                   "continuity": {"ok": true, "mismatches": []}})
        };
        assert!(deleted_at_since(&entries, "did:key:zT", &bundle));
        assert!(!deleted_at_since(&entries, "did:key:zU", &bundle));
        // A deletion before the bundle was transferred does not count against it.
        assert!(!deleted_at_since(
            &entries,
            "did:key:zT",
            &commitment(&entries, 4)
        ));

        let records = [transfer("did:key:zT"), transfer("did:key:zU")];
        let none = BTreeMap::new();
        // Deleting at S: only U still holds the bundle.
        assert_eq!(
            backups(&records, &entries, "did:key:zS", &none),
            vec![bundle.clone()]
        );
        // Deleting at U: T deleted data, U is the node itself: nothing covers.
        assert!(backups(&records, &entries, "did:key:zU", &none).is_empty());
        assert_eq!(
            check_backed_up(&entries, &backups(&records, &entries, "did:key:zU", &none))
                .unwrap_err()
                .code(),
            "NOT_BACKED_UP"
        );
        // An exported bundle the user keeps counts wherever the deletion is; other records never.
        let export = json!({"kind": "export", "bundle_log": bundle.clone()});
        let delete =
            json!({"kind": "delete", "node_did": "did:key:zX", "bundle_log": bundle.clone()});
        let unreadable = json!({"kind": "transfer", "node_did": "did:key:zV", "bundle_log": 7,
                                "continuity": {"ok": true}});
        assert_eq!(
            backups(
                [&export, &delete, &unreadable],
                &entries,
                "did:key:zU",
                &none
            ),
            vec![bundle.clone()]
        );
        // A transfer whose node then held fewer items than the bundle, or recorded without the check.
        let mut short = transfer("did:key:zU");
        short["continuity"] = json!({"ok": false, "mismatches": [
            {"section": "chat", "collection": "messages", "expected": 3, "actual": 4},
            {"section": "chat", "collection": "reactions", "expected": 3, "actual": 2}]});
        let mut unchecked = transfer("did:key:zU");
        unchecked.as_object_mut().unwrap().remove("continuity");
        assert!(backups([&short, &unchecked], &entries, "did:key:zS", &none).is_empty());
        // One that held more (other data of the DID there) still holds all of the bundle.
        let mut more = transfer("did:key:zU");
        more["continuity"] = json!({"ok": false, "mismatches": [
            {"section": "chat", "collection": "messages", "expected": 3, "actual": 4}]});
        assert_eq!(
            backups([&more], &entries, "did:key:zS", &none),
            vec![bundle.clone()]
        );
        // A delete request pending at U (its receipt never arrived) may have deleted up to its end:
        // a transfer received by then is no backup, one received after it is.
        let at = |t: &str| crate::core::export::parse_timestamp(t).unwrap();
        let pending = BTreeMap::from([("did:key:zU".to_owned(), at("2026-03-09T12:05:00.000Z"))]);
        let received = |when: &str| {
            let mut r = transfer("did:key:zU");
            r["receipt"] = json!({"received_at": when});
            r
        };
        assert!(backups(
            [&received("2026-03-09T12:05:00.000Z")],
            &entries,
            "did:key:zS",
            &pending
        )
        .is_empty());
        assert!(backups([&transfer("did:key:zU")], &entries, "did:key:zS", &pending).is_empty());
        assert_eq!(
            backups(
                [&received("2026-03-09T12:05:00.001Z")],
                &entries,
                "did:key:zS",
                &pending
            ),
            vec![bundle.clone()]
        );
        assert!(!holds_all(
            &json!({"ok": false, "mismatches": [{"expected": 1}]})
        ));
        assert!(!holds_all(&json!({"ok": "yes"})));

        // A push to T again signs new bytes; to U, the same ones.
        let record = |node: &str| PushRecord {
            node_did: node.into(),
            bundle_log: bundle.clone(),
            exported_at: "2026-01-01T00:00:00Z".into(),
            bundle_hash: "0".repeat(64),
            after: None,
        };
        assert!(!record("did:key:zT").repeats_log(&entries).unwrap());
        assert!(record("did:key:zU").repeats_log(&entries).unwrap());
    }

    #[test]
    fn covering_backups_carry_what_a_live_check_needs() {
        let entries = log_at(&[
            ("chat", "messages.add", None),
            ("transfer", OP_TRANSFER_RECEIPT, Some("did:key:zT")),
            ("chat", "messages.add", None),
            ("transfer", OP_TRANSFER_RECEIPT, Some("did:key:zU")),
        ]);
        let old = commitment(&entries, 1);
        let new = commitment(&entries, 3);
        let counts = json!({"chat": {"messages": 2}});
        let transfer = |node: &str, log: &LogCommitment| {
            json!({"kind": "transfer", "node": "target", "node_did": node,
                   "manifest": "http://target.test/.well-known/bundle-node",
                   "bundle_log": log, "receipt": {"counts": counts},
                   "continuity": {"ok": true, "mismatches": []}})
        };
        let none = BTreeMap::new();
        let records = [transfer("did:key:zT", &old), transfer("did:key:zU", &new)];
        let list = backup_list(&records, &entries, "did:key:zS", &none);
        assert_eq!(list.len(), 2);
        // Only the newer bundle holds the second change.
        assert_eq!(
            covering(&entries, list).unwrap(),
            vec![Backup::Transfer {
                log: new.clone(),
                node: "target".into(),
                node_did: "did:key:zU".into(),
                manifest: Some("http://target.test/.well-known/bundle-node".into()),
                counts: Some(BTreeMap::from([(
                    "chat".to_owned(),
                    BTreeMap::from([("messages".to_owned(), 2)])
                )])),
            }]
        );
        // Nothing covering, or nothing at all: the same refusals as `check_backed_up`.
        let only_old = backup_list(&records[..1], &entries, "did:key:zS", &none);
        assert_eq!(
            covering(&entries, only_old).unwrap_err().code(),
            "NOT_BACKED_UP"
        );
        assert_eq!(
            covering(&[], Vec::new()).unwrap_err().code(),
            "NOT_BACKED_UP"
        );
        // A record written before the manifest was kept, or with unreadable counts: listed without
        // them (it cannot be confirmed); an export needs no node.
        let mut bare = transfer("did:key:zU", &new);
        bare.as_object_mut().unwrap().remove("manifest");
        bare["receipt"]["counts"] = json!({"chat": {"messages": "two"}});
        let export = json!({"kind": "export", "bundle_log": new.clone()});
        let list = backup_list([&bare, &export], &entries, "did:key:zS", &none);
        assert!(matches!(
            &list[0],
            Backup::Transfer {
                manifest: None,
                counts: None,
                ..
            }
        ));
        assert_eq!(list[1], Backup::Export { log: new.clone() });
        assert_eq!(
            backups([&bare, &export], &entries, "did:key:zS", &none),
            vec![new.clone(), new]
        );
    }

    #[test]
    fn shortfalls_are_only_collections_with_fewer_items() {
        let expected: SectionCounts = serde_json::from_value(json!({
            "chat": {"messages": 3, "reactions": 2}, "media": {"assets": 1}
        }))
        .unwrap();
        let more: SectionCounts = serde_json::from_value(json!({
            "chat": {"messages": 5, "reactions": 2, "other": 9}, "media": {"assets": 1}
        }))
        .unwrap();
        assert!(shortfalls(&expected, &more).is_empty());
        let replaced: SectionCounts =
            serde_json::from_value(json!({"chat": {"messages": 9}})).unwrap();
        let short = shortfalls(&expected, &replaced);
        assert_eq!(
            short
                .iter()
                .map(|m| (m.section.as_str(), m.collection.as_str(), m.actual))
                .collect::<Vec<_>>(),
            vec![("chat", "reactions", 0), ("media", "assets", 0)]
        );
        assert!(shortfalls(&BTreeMap::new(), &replaced).is_empty());
    }

    #[test]
    fn counts_compare_with_missing_as_zero() {
        let bundle = json!({
            "chat": {"messages": [{"id": "a"}, {"id": "b"}]},
            "media": {"assets": [], "contexts": [{"id": "c"}]}
        });
        let counts = bundle_counts(bundle.as_object().unwrap());
        assert_eq!(counts["chat"]["messages"], 2);
        assert_eq!(counts["media"]["assets"], 0);
        let mut remote = counts.clone();
        remote.insert("fair".into(), [("manifests".to_owned(), 0)].into());
        assert!(compare_counts(&counts, &remote).is_empty());
        remote.get_mut("chat").unwrap().insert("messages".into(), 3);
        remote.insert("learn".into(), [("progress".to_owned(), 1)].into());
        let m = compare_counts(&counts, &remote);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].expected, m[0].actual), (2, 3));
        assert_eq!((m[1].section.as_str(), m[1].expected), ("learn", 0));

        let answers = [("chat", json!({"messages": 2})), ("media", json!({"x": 1}))];
        let by = counts_by_section(answers.iter().map(|(s, v)| (*s, v))).unwrap();
        assert_eq!(by["media"]["x"], 1);
        let bad = [("chat", json!({"messages": "2"}))];
        assert!(counts_by_section(bad.iter().map(|(s, v)| (*s, v))).is_err());
    }

    #[test]
    fn chunks_resume_after_the_acknowledged_prefix() {
        assert_eq!(
            chunks_from(10, 4, 0),
            vec![(0, 0, 4), (1, 4, 8), (2, 8, 10)]
        );
        assert_eq!(chunks_from(10, 4, 4), vec![(1, 4, 8), (2, 8, 10)]);
        assert_eq!(chunks_from(10, 4, 9), vec![(2, 8, 10)]);
        assert!(chunks_from(10, 4, 10).is_empty());
        assert!(chunks_from(10, 4, 99).is_empty());
        assert_eq!(chunks_from(8, 4, 0).len(), 2);
        assert!(check_chunk_size(0).is_err());
        assert!(check_chunk_size(4 << 20).is_ok());
    }

    #[test]
    fn push_record_repeats() {
        let (_, entries) = log(&["messages.add", OP_TRANSFER_RECEIPT]);
        let record = PushRecord {
            node_did: "did:key:z".into(),
            bundle_log: commitment(&entries, 1),
            exported_at: "2026-01-01T00:00:00Z".into(),
            bundle_hash: "0".repeat(64),
            after: Some(commitment(&entries, 2)),
        };
        assert!(record.repeats(&commitment(&entries, 1)));
        assert!(record.repeats(&commitment(&entries, 2)));
        assert!(record.repeats_log(&entries).unwrap());

        // Receipts of other pushes, exports and deletions after it: still the same bytes.
        let (_, receipts) = log(&[
            "messages.add",
            OP_TRANSFER_RECEIPT,
            OP_EXPORT_RECEIPT,
            OP_DELETION_RECEIPT,
            OP_TRANSFER_RECEIPT,
        ]);
        let record = PushRecord {
            bundle_log: commitment(&receipts, 1),
            after: Some(commitment(&receipts, 2)),
            ..record
        };
        assert!(!record.repeats(&commitment(&receipts, 5)));
        assert!(record.repeats_log(&receipts).unwrap());
        // A data change after the bundle: new bytes.
        let (_, changed) = log(&[
            "messages.add",
            OP_TRANSFER_RECEIPT,
            OP_EXPORT_RECEIPT,
            "messages.update",
        ]);
        assert!(!record.repeats_log(&changed).unwrap());
        // Another history (the bundle's head is not the log's there): new bytes.
        let (_, other) = log(&["messages.update", OP_TRANSFER_RECEIPT]);
        assert!(!record.repeats_log(&other).unwrap());
        // The empty bundle of an empty vault, followed by receipts only.
        let (_, only_receipts) = log(&[OP_EXPORT_RECEIPT]);
        let empty = PushRecord {
            bundle_log: LogCommitment {
                length: 0,
                head: crate::core::bundle::GENESIS_HEAD.into(),
            },
            ..record.clone()
        };
        assert!(empty.repeats_log(&only_receipts).unwrap());

        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<PushRecord>(&text).unwrap(), record);
    }

    #[test]
    fn transfer_receipt_is_checked_against_the_bundle() {
        let node = Keypair::from_seed(&[9u8; 32]);
        let user = Keypair::from_seed(&[1u8; 32]);
        let counts: SectionCounts =
            [("chat".to_owned(), [("messages".to_owned(), 2)].into())].into();
        let receipt = TransferReceipt {
            did: user.did(),
            node: "target".into(),
            bundle_hash: "a".repeat(64),
            counts: counts.clone(),
            received_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let signed = receipt.sign(&node, "2026-01-01T00:00:00Z").unwrap();
        let ok = check_transfer_receipt(
            &signed,
            &node.did_key(),
            "target",
            &user.did(),
            &"a".repeat(64),
            &counts,
        )
        .unwrap();
        assert_eq!(ok, receipt);
        let other = Keypair::from_seed(&[8u8; 32]);
        let check = |value: &Value, node_did: &str, name: &str, hash: &str, c: &SectionCounts| {
            check_transfer_receipt(value, node_did, name, &user.did(), hash, c)
                .unwrap_err()
                .code()
        };
        let forged = receipt.sign(&other, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            check(&forged, &node.did_key(), "target", &"a".repeat(64), &counts),
            "DID_MISMATCH"
        );
        let mut tampered = signed.clone();
        tampered["counts"]["chat"]["messages"] = json!(3);
        assert_eq!(
            check(
                &tampered,
                &node.did_key(),
                "target",
                &"a".repeat(64),
                &counts
            ),
            "SIGNATURE_INVALID"
        );
        assert_eq!(
            check(&signed, &node.did_key(), "target", &"b".repeat(64), &counts),
            "EXPORT_MALFORMED"
        );
        assert_eq!(
            check(&signed, &node.did_key(), "other", &"a".repeat(64), &counts),
            "EXPORT_MALFORMED"
        );
        let fewer: SectionCounts =
            [("chat".to_owned(), [("messages".to_owned(), 1)].into())].into();
        assert_eq!(
            check(&signed, &node.did_key(), "target", &"a".repeat(64), &fewer),
            "EXPORT_MALFORMED"
        );
        let change = transfer_change(&signed, &ok, &node.did_key(), 5).unwrap();
        assert_eq!(change.op, OP_TRANSFER_RECEIPT);
        assert_eq!(change.reference, "a".repeat(64));
    }

    #[test]
    fn receipt_commits_reload_without_a_section() {
        let mut store = Store::new();
        let staged = store
            .stage(
                "chat",
                "chat",
                vec![Incoming::new(
                    "messages".into(),
                    "msg_1".into(),
                    "2026-01-01T00:00:00.000Z".into(),
                    false,
                    &json!({"content": "hi"}),
                )
                .unwrap()],
                1,
            )
            .unwrap();
        let (h1, l1) = (staged.heads_json().unwrap(), staged.log_json().unwrap());
        store.apply(staged).unwrap();
        let receipt = store
            .stage_entries("transfer", vec![change(OP_TRANSFER_RECEIPT, 9)])
            .unwrap();
        assert_eq!(receipt.chain_after().length, 2);
        let (h2, l2) = (receipt.heads_json().unwrap(), receipt.log_json().unwrap());
        store.apply(receipt).unwrap();
        assert_eq!(store.chain().length, 2);
        assert_eq!(store.counts().len(), 1, "no empty section appears");

        let mut reloaded = Store::new();
        reloaded.load_commit(0, &h1, &l1).unwrap();
        reloaded.load_commit(1, &h2, &l2).unwrap();
        assert_eq!(reloaded.chain(), store.chain());
        assert_eq!(reloaded.counts(), store.counts());
        let bundle = reloaded
            .assemble(
                "did:imajin:x",
                "v",
                "2026-01-01T00:00:00Z",
                [
                    (0, h1.as_str(), r#"[{"content":"hi"}]"#),
                    (1, h2.as_str(), "[]"),
                ],
            )
            .unwrap();
        assert_eq!(bundle.sections.len(), 1);
    }
}
