//! Importing a verified bundle for its DID, inside the caller's transaction: for every service of the
//! node, the DID's live items become exactly the bundle's items. Unchanged items keep their sequence
//! number (as does one with the same data the node dates later: an item it restored before); new and
//! changed ones get new sequence numbers and the bundle's date, except an item restored over a
//! tombstone dated as late or later, which is dated after it (`next_version_time`: so that it is newer
//! than the tombstone it replaces); items the bundle lacks become tombstones. A section the node does not know
//! yet is registered as a further service with its own table.

use std::collections::HashMap;

use bundle_vault::core::export::BundleSectionsText;
use bundle_vault::core::keys::Keypair;
use bundle_vault::core::receipt::{SectionCounts, TransferReceipt};
use rusqlite::Connection;
use serde_json::Value;

use crate::catalog;
use crate::clock;
use crate::error::ApiResult;
use crate::storage::items::{self, next_version_time, SeqAlloc, StoredItem};

/// Imports `sections` for `did` and returns the signed transfer receipt.
pub fn import(
    conn: &Connection,
    node_key: &Keypair,
    node_name: &str,
    did: &str,
    bundle_hash: &str,
    sections: &BundleSectionsText,
    now_millis: u64,
) -> ApiResult<Value> {
    for (section, collections) in sections {
        let names: Vec<String> = collections.keys().cloned().collect();
        catalog::ensure(conn, section, &names)?;
    }
    let mut seq = SeqAlloc::begin(conn)?;
    let mut counts = SectionCounts::new();
    for service in catalog::list(conn)? {
        let mut existing: HashMap<(String, String), StoredItem> =
            items::all_for_did(conn, &service.name, did)?
                .into_iter()
                .map(|item| ((item.collection.clone(), item.id.clone()), item))
                .collect();
        if let Some(collections) = sections.get(&service.name) {
            let section_counts = counts.entry(service.name.clone()).or_default();
            for (collection, list) in collections {
                section_counts.insert(collection.clone(), list.len() as u64);
                for item in list {
                    let data = &item.data;
                    let old = existing.remove(&(collection.clone(), item.id.clone()));
                    // The same data, dated as late or later here (an item this node restored
                    // before, say): nothing to write. Protocol timestamps order as text.
                    let unchanged = old.as_ref().is_some_and(|old| {
                        !old.deleted
                            && old.updated_at >= item.updated_at
                            && old.data.as_deref() == Some(data.as_str())
                    });
                    if !unchanged {
                        // An item this node holds as a tombstone dated as late or later is restored
                        // as a newer version still, so that whoever merges by last writer (a vault
                        // that pulled the tombstone) takes it too. Otherwise the bundle's date.
                        let updated_at = match &old {
                            Some(old) if old.deleted && old.updated_at >= item.updated_at => {
                                next_version_time(&old.updated_at, now_millis)
                            }
                            _ => item.updated_at.clone(),
                        };
                        let stored = StoredItem {
                            collection: collection.clone(),
                            id: item.id.clone(),
                            updated_at,
                            seq: seq.allocate(),
                            deleted: false,
                            data: Some(data.clone()),
                        };
                        items::put(conn, &service.name, did, &stored)?;
                    }
                }
            }
        }
        // What the bundle does not hold is no longer the DID's data on this node.
        let mut gone: Vec<StoredItem> = existing.into_values().filter(|i| !i.deleted).collect();
        gone.sort_by(|a, b| (&a.collection, &a.id).cmp(&(&b.collection, &b.id)));
        for item in gone {
            let tombstone = StoredItem {
                updated_at: next_version_time(&item.updated_at, now_millis),
                seq: seq.allocate(),
                deleted: true,
                data: None,
                ..item
            };
            items::put(conn, &service.name, did, &tombstone)?;
        }
    }
    seq.finish(conn)?;
    let at = clock::timestamp(now_millis);
    let receipt = TransferReceipt {
        did: did.to_owned(),
        node: node_name.to_owned(),
        bundle_hash: bundle_hash.to_owned(),
        counts,
        received_at: at.clone(),
    }
    .sign(node_key, &at)?;
    Ok(receipt)
}
