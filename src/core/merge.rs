//! Merging exports: deterministic, idempotent and order-independent.
//!
//! Every item version has a content hash. Of two versions of the same item, the one with the later
//! `updated_at` wins; equal times are broken by the larger content hash. A tombstone (`deleted`) is a
//! version like any other, so a deletion beats every older version and loses to every newer one, and a
//! tombstone is remembered even for an item the vault never held (an older copy arriving later must not
//! bring it back). The state after merging any set of versions, in any order, any number of times, is
//! therefore the maximum version of each item: the same exports always give the same bundle bytes.
//!
//! `updated_at` values are compared as strings; the protocol fixes their format
//! (`YYYY-MM-DDTHH:MM:SS.sssZ`, UTC), in which string order is time order.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canonical;
use super::canonical_text;
use super::error::Result;

/// One version of an item, as the merge sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// When this version was written (protocol timestamp format).
    pub updated_at: String,
    /// Whether this version is a tombstone.
    pub deleted: bool,
    /// Content hash, see [`item_hash`].
    pub hash: [u8; 32],
}

impl Version {
    fn rank(&self) -> (&str, &[u8; 32]) {
        (&self.updated_at, &self.hash)
    }
}

/// The visible effect of merging one incoming version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A live item that the vault did not hold (or held only as a tombstone).
    Added,
    /// A newer version of a live item.
    Updated,
    /// A tombstone that removed a live item.
    Deleted,
    /// Nothing visible changed: the same or an older version, or a tombstone of an absent item.
    Unchanged,
}

/// What merging `incoming` over `current` does: its visible outcome, and whether the incoming
/// version must be stored (it wins), which includes a tombstone of an absent item.
pub fn decide(current: Option<&Version>, incoming: &Version) -> (Outcome, bool) {
    let wins = current.is_none_or(|c| incoming.rank() > c.rank());
    if !wins {
        return (Outcome::Unchanged, false);
    }
    let was_live = current.is_some_and(|c| !c.deleted);
    let outcome = match (was_live, incoming.deleted) {
        (false, false) => Outcome::Added,
        (true, false) => Outcome::Updated,
        (true, true) => Outcome::Deleted,
        (false, true) => Outcome::Unchanged,
    };
    (outcome, true)
}

/// The content hash of an item version: SHA-256 of the JCS form of
/// `{collection, id, updated_at, deleted, data}` (`data` is `null` for a tombstone).
pub fn item_hash(
    collection: &str,
    id: &str,
    updated_at: &str,
    deleted: bool,
    data: &Value,
) -> Result<[u8; 32]> {
    let data = if deleted {
        "null".to_owned()
    } else {
        canonical::to_canonical_string(data)?
    };
    Ok(item_hash_canonical(
        collection, id, updated_at, deleted, &data,
    ))
}

/// [`item_hash`] of a version whose data the caller holds as canonical text (`null` for a tombstone):
/// the hashed object is written around it, its members in RFC 8785 order, straight into the hash.
pub fn item_hash_canonical(
    collection: &str,
    id: &str,
    updated_at: &str,
    deleted: bool,
    canonical_data: &str,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"{\"collection\":");
    write_string(&mut hasher, collection);
    hasher.update(b",\"data\":");
    super::hash::update(
        &mut hasher,
        if deleted {
            b"null"
        } else {
            canonical_data.as_bytes()
        },
    );
    hasher.update(if deleted {
        &b",\"deleted\":true,\"id\":"[..]
    } else {
        &b",\"deleted\":false,\"id\":"[..]
    });
    write_string(&mut hasher, id);
    hasher.update(b",\"updated_at\":");
    write_string(&mut hasher, updated_at);
    hasher.update(b"}");
    hasher.finalize().into()
}

/// A string in its RFC 8785 form ([`canonical_text::push_string`]), without a copy when it has no escape.
fn write_string(hasher: &mut Sha256, text: &str) {
    if canonical_text::needs_escape(text) {
        let mut quoted = String::with_capacity(text.len() + 8);
        canonical_text::push_string(&mut quoted, text);
        hasher.update(quoted);
    } else {
        hasher.update(b"\"");
        hasher.update(text);
        hasher.update(b"\"");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn item_hash_is_the_sha256_of_the_jcs_object() {
        for (deleted, data) in [
            (
                false,
                json!({"text": "héllo 😀", "n": 3, "nested": {"b": [1, 2.5], "a": null}}),
            ),
            (false, json!({"\u{e000}": 1, "\u{1f600}": 2.0})),
            (true, json!({"ignored": true})),
        ] {
            let object = json!({
                "collection": "messages", "id": "msg_1", "updated_at": "2026-03-09T16:45:00.000Z",
                "deleted": deleted, "data": if deleted { Value::Null } else { data.clone() },
            });
            let expected: [u8; 32] =
                Sha256::digest(serde_json_canonicalizer::to_vec(&object).unwrap()).into();
            let got = item_hash(
                "messages",
                "msg_1",
                "2026-03-09T16:45:00.000Z",
                deleted,
                &data,
            )
            .unwrap();
            assert_eq!(got, expected, "{data}");
        }
    }

    fn version(t: &str, deleted: bool, data: i64) -> Version {
        let data = json!({ "n": data });
        Version {
            updated_at: t.into(),
            deleted,
            hash: item_hash("messages", "msg_1", t, deleted, &data).unwrap(),
        }
    }

    #[test]
    fn later_wins_and_ties_break_by_hash() {
        let old = version("2026-01-01T00:00:00.000Z", false, 1);
        let new = version("2026-01-02T00:00:00.000Z", false, 2);
        assert_eq!(decide(None, &old), (Outcome::Added, true));
        assert_eq!(decide(Some(&old), &new), (Outcome::Updated, true));
        assert_eq!(decide(Some(&new), &old), (Outcome::Unchanged, false));
        assert_eq!(decide(Some(&new), &new), (Outcome::Unchanged, false));
        let a = version("2026-01-01T00:00:00.000Z", false, 3);
        let (hi, lo) = if a.hash > old.hash {
            (a, old)
        } else {
            (old, a)
        };
        assert!(decide(Some(&lo), &hi).1);
        assert!(!decide(Some(&hi), &lo).1);
    }

    #[test]
    fn tombstones() {
        let live = version("2026-01-01T00:00:00.000Z", false, 1);
        let gone = version("2026-01-02T00:00:00.000Z", true, 0);
        assert_eq!(decide(Some(&live), &gone), (Outcome::Deleted, true));
        assert_eq!(decide(Some(&gone), &live), (Outcome::Unchanged, false));
        // A tombstone of an absent item is kept, so an older copy arriving later stays deleted.
        assert_eq!(decide(None, &gone), (Outcome::Unchanged, true));
        let revived = version("2026-01-03T00:00:00.000Z", false, 2);
        assert_eq!(decide(Some(&gone), &revived), (Outcome::Added, true));
        // The hash of a tombstone ignores whatever data it came with.
        assert_eq!(
            item_hash("c", "i", "t", true, &json!({"x": 1})).unwrap(),
            item_hash("c", "i", "t", true, &Value::Null).unwrap()
        );
    }

    /// Applies versions in order; returns the stored state and the visible live set.
    type Live = Vec<(u8, [u8; 32])>;

    fn merge_all(versions: &[(u8, Version)]) -> (HashMap<u8, Version>, Live) {
        let mut state: HashMap<u8, Version> = HashMap::new();
        for (id, v) in versions {
            let (_, store) = decide(state.get(id), v);
            if store {
                state.insert(*id, v.clone());
            }
        }
        let mut live: Vec<_> = state
            .iter()
            .filter(|(_, v)| !v.deleted)
            .map(|(id, v)| (*id, v.hash))
            .collect();
        live.sort();
        (state, live)
    }

    fn arb_versions() -> impl Strategy<Value = Vec<(u8, Version)>> {
        prop::collection::vec((0u8..6, 0u8..4, any::<bool>(), 0i64..3), 0..24).prop_map(|raw| {
            raw.into_iter()
                .map(|(id, t, deleted, data)| {
                    let t = format!("2026-01-0{}T00:00:00.000Z", t + 1);
                    let data = json!({ "n": data });
                    let hash = item_hash("c", &id.to_string(), &t, deleted, &data).unwrap();
                    (
                        id,
                        Version {
                            updated_at: t,
                            deleted,
                            hash,
                        },
                    )
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn order_independent(versions in arb_versions(), seed in any::<u64>()) {
            let mut shuffled = versions.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(merge_all(&versions).1, merge_all(&shuffled).1);
        }

        #[test]
        fn idempotent(versions in arb_versions()) {
            let once = merge_all(&versions);
            let twice: Vec<_> = versions.iter().chain(versions.iter()).cloned().collect();
            prop_assert_eq!(once.1, merge_all(&twice).1);
        }
    }
}
