//! Demo mode: the first time an unknown DID logs in, the node creates a realistic account for it —
//! about N items over all sections, chat and media dominant — deterministic from the DID (the PRNG is
//! seeded with SHA-256 of the DID), so the same DID always gets the same items. Everything is written
//! in one transaction with prepared statements; 100,000 items take a few seconds.

pub mod data;
pub mod rng;
pub mod text;

use bundle_vault::core::canonical;
use rusqlite::Connection;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::timestamp;
use crate::error::ApiResult;
use crate::storage::items::{self, SeqAlloc, StoredItem};
use data::{Account, Generated};
use rng::Rng;

/// Share of the items (per mille) of each collection besides the two single items (profile, tier).
/// Messages take whatever rounding leaves.
const SHARES: &[(&str, &str, u64)] = &[
    ("media", "assets", 250),
    ("media", "contexts", 15),
    ("identity", "attestations", 50),
    ("profile", "follows", 30),
    ("events", "tickets", 40),
    ("events", "orders", 15),
    ("connections", "graph", 50),
    ("connections", "nicknames", 10),
    ("learn", "enrollments", 15),
    ("learn", "progress", 45),
    ("fair", "manifests", 30),
];

/// The earliest an account may start: 2023-01-01T00:00:00Z.
const EPOCH_START: u64 = 1_672_531_200_000;
/// The latest time demo data carries: 2026-03-01T00:00:00Z (fixed, so data does not depend on the clock).
const EPOCH_END: u64 = 1_772_323_200_000;

/// One demo item, ready to store.
pub struct DemoItem {
    /// Service (== section).
    pub service: &'static str,
    /// Collection.
    pub collection: &'static str,
    /// Item id.
    pub id: String,
    /// Protocol timestamp of the item's last update.
    pub updated_at: String,
    /// RFC 8785 text of the data.
    pub data: String,
}

/// How many items of each collection an account of about `n` items gets (exactly `n` for n ≥ 2).
pub fn plan(n: u64) -> Vec<(&'static str, &'static str, u64)> {
    let mut out = vec![("identity", "tier", 1), ("profile", "profile", 1)];
    let rest = n.saturating_sub(2);
    let mut used = 0;
    for (service, collection, share) in SHARES {
        let mut count = rest * share / 1000;
        if rest >= 25 {
            count = count.max(1);
        }
        used += count;
        out.push((service, collection, count));
    }
    out.push(("chat", "messages", rest.saturating_sub(used)));
    out
}

/// The demo items of `did`, sorted by update time (then service, collection, id).
pub fn generate(did: &str, n: u64) -> ApiResult<Vec<DemoItem>> {
    let mut rng = Rng::from_seed(Sha256::digest(did.as_bytes()).into());
    let start = rng.range(EPOCH_START, EPOCH_START + 730 * 86_400_000);
    let mut account = Account::new(did, &mut rng, start, EPOCH_END);
    let mut out: Vec<(u64, DemoItem)> = Vec::with_capacity(usize::try_from(n).unwrap_or(0) + 2);
    let mut text = TextForm::default();
    // Assets and enrollments first: later items refer to them.
    let mut order = plan(n);
    order.sort_by_key(|(_, collection, _)| match *collection {
        "assets" => 0,
        "enrollments" => 1,
        _ => 2,
    });
    for (service, collection, count) in order {
        for _ in 0..count {
            let generated: Generated = match collection {
                "tier" => data::tier(&account),
                "profile" => data::profile(&mut rng, &account),
                "assets" => data::asset(&mut rng, &mut account),
                "contexts" => data::context(&mut rng, &account),
                "attestations" => data::attestation(&mut rng, &account),
                "follows" => data::follow(&mut rng, &account),
                "tickets" => data::ticket(&mut rng, &account),
                "orders" => data::order(&mut rng, &account),
                "graph" => data::connection(&mut rng, &account),
                "nicknames" => data::nickname(&mut rng, &account),
                "enrollments" => data::enrollment(&mut rng, &mut account),
                "progress" => data::progress(&mut rng, &account),
                "manifests" => data::manifest(&mut rng, &account),
                _ => data::message(&mut rng, &account),
            };
            out.push((
                generated.updated,
                DemoItem {
                    service,
                    collection,
                    id: generated.id,
                    updated_at: timestamp(generated.updated),
                    data: text.of(&generated.data)?,
                },
            ));
        }
    }
    out.sort_by(|(ta, a), (tb, b)| {
        (ta, a.service, a.collection, &a.id).cmp(&(tb, b.service, b.collection, &b.id))
    });
    // Ids are random enough never to collide in practice; drop any that would.
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    Ok(out
        .into_iter()
        .map(|(_, item)| item)
        .filter(|item| seen.insert((item.collection, item.id.clone())))
        .collect())
}

/// Creates the demo account of `did` (inside the caller's transaction).
pub fn populate(conn: &Connection, did: &str, n: u64) -> ApiResult<usize> {
    let generated = generate(did, n)?;
    let mut seq = SeqAlloc::begin(conn)?;
    for item in &generated {
        let stored = StoredItem {
            collection: item.collection.to_owned(),
            id: item.id.clone(),
            updated_at: item.updated_at.clone(),
            seq: seq.allocate(),
            deleted: false,
            data: Some(item.data.clone()),
        };
        items::put(conn, item.service, did, &stored)?;
    }
    seq.finish(conn)?;
    Ok(generated.len())
}

/// The RFC 8785 text of demo data, fast. Demo data has only lowercase ASCII keys, safe integers and
/// short decimals, for which serde_json's compact output with sorted maps is already the canonical
/// form, at a fraction of the cost. That is checked on the first items: if any differs (say, a
/// dependency turned on serde_json's `preserve_order`), every item goes through the canonicalizer.
#[derive(Default)]
struct TextForm {
    checked: usize,
    canonical_only: bool,
}

impl TextForm {
    const CHECKS: usize = 256;

    fn of(&mut self, value: &Value) -> ApiResult<String> {
        if self.canonical_only {
            return Ok(canonical::to_canonical_string(value)?);
        }
        let fast = serde_json::to_string(value)
            .map_err(|e| crate::error::ApiError::internal(e.to_string()))?;
        if self.checked < Self::CHECKS {
            self.checked += 1;
            let canonical = canonical::to_canonical_string(value)?;
            if canonical != fast {
                self.canonical_only = true;
                return Ok(canonical);
            }
        }
        Ok(fast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bundle_vault::core::export::check_portable_keys;

    #[test]
    fn plan_is_exact_and_spread() {
        for n in [2u64, 10, 100, 300, 1000, 100_000] {
            let total: u64 = plan(n).iter().map(|(_, _, c)| c).sum();
            assert_eq!(total, n, "{n}");
        }
        let big = plan(100_000);
        let messages = big.iter().find(|(_, c, _)| *c == "messages").unwrap().2;
        let assets = big.iter().find(|(_, c, _)| *c == "assets").unwrap().2;
        assert!(messages > assets && assets > 20_000);
        assert!(plan(100).iter().all(|(_, _, c)| *c >= 1));
    }

    #[test]
    fn items_are_deterministic_portable_and_canonical() {
        let did = "did:imajin:8bR5r3Gf7qXpCmhE4vK2xWJ9yT6sN1aLdQzUcV3oPwHe";
        let a = generate(did, 500).unwrap();
        let b = generate(did, 500).unwrap();
        assert_eq!(a.len(), 500);
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.id == y.id && x.data == y.data && x.updated_at == y.updated_at));
        let other = generate("did:imajin:other", 500).unwrap();
        let ids = |items: &[DemoItem]| items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_ne!(ids(&a), ids(&other));
        for item in &a {
            let value: Value = serde_json::from_str(&item.data).unwrap();
            assert_eq!(canonical::to_canonical_string(&value).unwrap(), item.data);
            check_portable_keys(&value).unwrap();
            bundle_vault::core::export::check_timestamp(&item.updated_at).unwrap();
            assert!(item.updated_at.as_str() < "2026-03-01T00:00:00.001Z");
        }
        assert!(a.windows(2).all(|w| w[0].updated_at <= w[1].updated_at));
    }
}

#[cfg(test)]
mod timing {
    #[test]
    #[ignore]
    fn time_generation() {
        let t = std::time::Instant::now();
        let items = super::generate("did:imajin:timing", 100_000).unwrap();
        println!("generate: {:?} ({} items)", t.elapsed(), items.len());
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::storage::migrations::migrate(&mut conn).unwrap();
        let t = std::time::Instant::now();
        let tx = conn.transaction().unwrap();
        super::populate(&tx, "did:imajin:timing", 100_000).unwrap();
        tx.commit().unwrap();
        println!("generate+insert: {:?}", t.elapsed());
    }
}
