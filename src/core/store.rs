//! The vault's storage model, independent of where the bytes live (IndexedDB in the browser).
//!
//! Storage is append-only, in **commits**: merging one export page produces at most one commit of three
//! records, written in one transaction together with the service's cursor:
//! - *heads*: for each stored item version, `[collection, id, updated_at, deleted, hash]`;
//! - *bodies*: the versions' `data`, aligned with the heads (`null` for tombstones);
//! - *log*: the append-log entries of the visible changes.
//!
//! A commit never rewrites an earlier one, so the cost of a pull is proportional to what changed (IndexedDB
//! pays per record far more than per byte), and nothing written before can be damaged by a failed write.
//! The in-memory [`Store`] index (which version of each item is current, and where its body is) is
//! rebuilt at open from the heads and log records alone, without reading bodies; the log chain is
//! verified on the way.
//!
//! [`Store::stage`] computes a commit without changing the store; [`Store::apply`] makes it current once the
//! transaction that wrote it has completed. A failed write therefore leaves the store as it was.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::bundle::{Bundle, LogCommitment};
use super::canonical;
use super::canonical_text;
use super::error::{excerpt, Error, Result};
use super::log::{Chain, Change, LogEntry};
use super::merge::{self, Outcome, Version};
use super::receipt::SectionCounts;

/// An item version arriving from an export page (or a bundle), with its data in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Collection within the section.
    pub collection: String,
    /// Item id, unique within the collection.
    pub id: String,
    /// Protocol timestamp of this version.
    pub updated_at: String,
    /// Tombstone?
    pub deleted: bool,
    /// The item's data as RFC 8785 text (`null` for a tombstone).
    pub data: String,
    /// The version's content hash ([`merge::item_hash`]).
    pub hash: [u8; 32],
}

impl Incoming {
    /// A version from its data as a value: canonicalizes it and computes its hash.
    pub fn new(
        collection: String,
        id: String,
        updated_at: String,
        deleted: bool,
        data: &Value,
    ) -> Result<Self> {
        let data = if deleted {
            "null".to_owned()
        } else {
            canonical::to_canonical_string(data)?
        };
        Ok(Self::from_canonical(
            collection, id, updated_at, deleted, data,
        ))
    }

    /// A version whose data the caller already holds as RFC 8785 text (`null` for a tombstone).
    pub fn from_canonical(
        collection: String,
        id: String,
        updated_at: String,
        deleted: bool,
        data: String,
    ) -> Self {
        let data = if deleted { "null".to_owned() } else { data };
        let hash = merge::item_hash_canonical(&collection, &id, &updated_at, deleted, &data);
        Incoming {
            collection,
            id,
            updated_at,
            deleted,
            data,
            hash,
        }
    }

    /// The `context` member of the data, when the data is an object with a string `context`.
    pub fn context(&self) -> Option<String> {
        if !self.data.contains("\"context\":\"") {
            return None;
        }
        #[derive(Deserialize)]
        struct WithContext<'a> {
            #[serde(borrow)]
            context: Option<&'a serde_json::value::RawValue>,
        }
        let raw = serde_json::from_str::<WithContext<'_>>(&self.data)
            .ok()?
            .context?;
        serde_json::from_str::<String>(raw.get()).ok()
    }
}

/// One stored item version in a heads record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head(pub String, pub String, pub String, pub bool, pub String);

/// The heads record of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadsRecord {
    /// The service the items came from.
    pub service: String,
    /// The bundle section they belong to.
    pub section: String,
    /// `[collection, id, updated_at, deleted, hex hash]` per stored version.
    pub rows: Vec<Head>,
}

impl HeadsRecord {
    /// The record as serde writes it, written directly.
    pub fn to_json(&self) -> String {
        let string = canonical_text::push_string;
        let size = self
            .rows
            .iter()
            .map(|Head(c, i, u, _, h)| c.len() + i.len() + u.len() + h.len() + 20)
            .sum::<usize>();
        let mut out = String::with_capacity(size + 64);
        out.push_str("{\"service\":");
        string(&mut out, &self.service);
        out.push_str(",\"section\":");
        string(&mut out, &self.section);
        out.push_str(",\"rows\":[");
        for (n, Head(collection, id, updated_at, deleted, hash)) in self.rows.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push('[');
            string(&mut out, collection);
            out.push(',');
            string(&mut out, id);
            out.push(',');
            string(&mut out, updated_at);
            out.push_str(if *deleted { ",true," } else { ",false," });
            string(&mut out, hash);
            out.push(']');
        }
        out.push_str("]}");
        out
    }
}

/// A [`HeadsRecord`] read as strictly, without copying its strings (those with escapes are copied).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadsView<'a> {
    #[serde(borrow, rename = "service")]
    _service: Cow<'a, str>,
    #[serde(borrow)]
    section: Cow<'a, str>,
    #[serde(borrow)]
    rows: Vec<HeadView<'a>>,
}

/// A [`Head`] of a [`HeadsView`]: `[collection, id, updated_at, deleted, hash]`.
#[derive(Deserialize)]
struct HeadView<'a>(
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    bool,
    // Read (a string, as in a `Head`) though assembling has no use for it.
    #[serde(borrow)]
    #[allow(dead_code)]
    Cow<'a, str>,
);

/// Per-service counts of what a merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// New live items.
    pub added: u64,
    /// Newer versions of live items.
    pub updated: u64,
    /// Live items removed by tombstones.
    pub deleted: u64,
    /// Versions that changed nothing visible.
    pub unchanged: u64,
}

impl MergeReport {
    /// Adds another report's counts.
    pub fn add(&mut self, other: &MergeReport) {
        self.added += other.added;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
    }
}

/// A commit computed by [`Store::stage`], to be written and then [`Store::apply`]'d.
#[derive(Debug, Clone)]
pub struct StagedCommit {
    /// The commit's number (its key in every store).
    pub number: u64,
    /// What is stored.
    pub heads: HeadsRecord,
    /// The stored versions' data as RFC 8785 text, aligned with `heads.rows`.
    pub bodies: Vec<String>,
    /// The log entries this commit appends.
    pub entries: Vec<LogEntry>,
    /// What the merge did.
    pub report: MergeReport,
    chain: Chain,
    versions: Vec<Version>,
}

impl StagedCommit {
    /// Whether the commit stores nothing (only the cursor then needs saving).
    pub fn is_empty(&self) -> bool {
        self.heads.rows.is_empty()
    }
    /// The heads record as JSON text: what serde writes for [`HeadsRecord`], written directly (a pull
    /// writes one row per stored item).
    pub fn heads_json(&self) -> Result<String> {
        Ok(self.heads.to_json())
    }
    /// The bodies record as JSON text.
    pub fn bodies_json(&self) -> Result<String> {
        let size = self.bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 2;
        let mut out = String::with_capacity(size);
        out.push('[');
        for (i, body) in self.bodies.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(body);
        }
        out.push(']');
        Ok(out)
    }
    /// The log's end once this commit is applied (where it was staged from, if it has no entries).
    pub fn chain_after(&self) -> &Chain {
        &self.chain
    }
    /// The log record as JSON text.
    pub fn log_json(&self) -> Result<String> {
        Ok(super::log::stored_json(&self.entries))
    }
}

#[derive(Debug, Clone)]
struct Slot {
    version: Version,
    commit: u64,
    pos: u32,
}

type Collections = HashMap<String, HashMap<String, Slot>>;

/// The in-memory index of the vault's items and the end of its log.
#[derive(Debug, Default)]
pub struct Store {
    sections: HashMap<String, Collections>,
    chain: Chain,
    next_commit: u64,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// The log's end.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The `updated_at` of the version held of an item (a tombstone's too), if any.
    pub fn held_updated_at(&self, section: &str, collection: &str, id: &str) -> Option<&str> {
        let slot = self.sections.get(section)?.get(collection)?.get(id)?;
        Some(&slot.version.updated_at)
    }

    /// The number the next commit gets.
    pub fn next_commit(&self) -> u64 {
        self.next_commit
    }

    /// Replays a stored commit at open: its heads and log records, in commit order. Verifies the log chain.
    pub fn load_commit(&mut self, number: u64, heads_json: &str, log_json: &str) -> Result<()> {
        if number < self.next_commit {
            return Err(Error::LogBroken(format!("commit {number} out of order")));
        }
        let heads: HeadsRecord = serde_json::from_str(heads_json)
            .map_err(|e| Error::LogBroken(format!("commit {number} heads: {e}")))?;
        let entries: Vec<LogEntry> = serde_json::from_str(log_json)
            .map_err(|e| Error::LogBroken(format!("commit {number} log: {e}")))?;
        self.chain.extend_verified(&entries)?;
        if heads.rows.is_empty() {
            // A commit of log entries alone (a receipt): no section to index.
            self.next_commit = number + 1;
            return Ok(());
        }
        let collections = self.sections.entry(heads.section).or_default();
        for (pos, Head(collection, id, updated_at, deleted, hash)) in
            heads.rows.into_iter().enumerate()
        {
            let hash = decode_hash(&hash)
                .map_err(|_| Error::LogBroken(format!("commit {number} row {pos}: bad hash")))?;
            let version = Version {
                updated_at,
                deleted,
                hash,
            };
            let items = collections.entry(collection).or_default();
            let (_, store) = merge::decide(items.get(&id).map(|s| &s.version), &version);
            if store {
                let pos =
                    u32::try_from(pos).map_err(|_| Error::LogBroken("commit too large".into()))?;
                items.insert(
                    id,
                    Slot {
                        version,
                        commit: number,
                        pos,
                    },
                );
            }
        }
        self.next_commit = number + 1;
        Ok(())
    }

    /// Checks the end of the reloaded log against the head recorded beside it.
    pub fn check_head(&self, recorded: &Chain) -> Result<()> {
        if self.chain == *recorded {
            Ok(())
        } else {
            Err(Error::LogBroken(format!(
                "the log ends at entry {} with head {}, but {} entries with head {} were recorded",
                self.chain.length, self.chain.head, recorded.length, recorded.head
            )))
        }
    }

    /// Merges one export page of `service` (bundle section `section`) without changing the store.
    /// `t` is the current time in Unix seconds, for the log. Refuses a page that names an item twice.
    pub fn stage(
        &self,
        service: &str,
        section: &str,
        items: Vec<Incoming>,
        t: u64,
    ) -> Result<StagedCommit> {
        self.stage_from(
            self.chain.clone(),
            self.next_commit,
            service,
            section,
            items,
            t,
        )
    }

    /// [`Store::stage`] for the commit that follows `previous` (staged, not applied yet), so that
    /// several commits can be written in one transaction and then applied in order. Merge decisions
    /// see the applied store only, so `section` must differ from the sections of the commits staged
    /// before it and not applied yet.
    pub fn stage_after(
        &self,
        previous: &StagedCommit,
        service: &str,
        section: &str,
        items: Vec<Incoming>,
        t: u64,
    ) -> Result<StagedCommit> {
        self.stage_from(
            previous.chain.clone(),
            previous.number + 1,
            service,
            section,
            items,
            t,
        )
    }

    fn stage_from(
        &self,
        mut chain: Chain,
        number: u64,
        service: &str,
        section: &str,
        items: Vec<Incoming>,
        t: u64,
    ) -> Result<StagedCommit> {
        {
            // Borrowed: no copy of each item's collection and id.
            let mut seen: HashSet<(&str, &str)> = HashSet::with_capacity(items.len());
            if let Some(twice) = items
                .iter()
                .find(|item| !seen.insert((item.collection.as_str(), item.id.as_str())))
            {
                return Err(Error::ExportMalformed(format!(
                    "item {}/{} appears twice in one page",
                    excerpt(&twice.collection),
                    excerpt(&twice.id)
                )));
            }
        }
        let n = items.len();
        let mut staged = StagedCommit {
            number,
            heads: HeadsRecord {
                service: service.to_owned(),
                section: section.to_owned(),
                rows: Vec::with_capacity(n),
            },
            bodies: Vec::with_capacity(n),
            entries: Vec::with_capacity(n),
            report: MergeReport::default(),
            chain: Chain::default(),
            versions: Vec::with_capacity(n),
        };
        let current = self.sections.get(section);
        for item in items {
            let hash = item.hash;
            let version = Version {
                updated_at: item.updated_at.clone(),
                deleted: item.deleted,
                hash,
            };
            let existing = current
                .and_then(|c| c.get(&item.collection))
                .and_then(|c| c.get(&item.id))
                .map(|slot| &slot.version);
            let (outcome, store) = merge::decide(existing, &version);
            let verb = match outcome {
                Outcome::Added => Some("add"),
                Outcome::Updated => Some("update"),
                Outcome::Deleted => Some("delete"),
                Outcome::Unchanged => None,
            };
            match outcome {
                Outcome::Added => staged.report.added += 1,
                Outcome::Updated => staged.report.updated += 1,
                Outcome::Deleted => staged.report.deleted += 1,
                Outcome::Unchanged => staged.report.unchanged += 1,
            }
            if verb.is_none() && !store {
                continue;
            }
            let hash_hex = super::log::hex_lower(&hash);
            if let Some(verb) = verb {
                let context = item.context();
                staged.entries.push(chain.append(Change {
                    t,
                    service: service.to_owned(),
                    op: [item.collection.as_str(), ".", verb].concat(),
                    reference: item.id.clone(),
                    context,
                    item_hash: hash_hex.clone(),
                })?);
            }
            if store {
                staged.heads.rows.push(Head(
                    item.collection,
                    item.id,
                    version.updated_at.clone(),
                    version.deleted,
                    hash_hex,
                ));
                staged.bodies.push(item.data);
                staged.versions.push(version);
            }
        }
        staged.chain = chain;
        Ok(staged)
    }

    /// A commit of log entries alone, with no items: how receipts enter the log. Its heads record has
    /// no rows (and names no section), its bodies record is empty.
    pub fn stage_entries(&self, service: &str, changes: Vec<Change>) -> Result<StagedCommit> {
        let mut chain = self.chain.clone();
        let entries = changes
            .into_iter()
            .map(|change| chain.append(change))
            .collect::<Result<Vec<_>>>()?;
        Ok(StagedCommit {
            number: self.next_commit,
            heads: HeadsRecord {
                service: service.to_owned(),
                section: String::new(),
                rows: Vec::new(),
            },
            bodies: Vec::new(),
            entries,
            report: MergeReport::default(),
            chain,
            versions: Vec::new(),
        })
    }

    /// Makes a staged commit current, once it is durably written. Commits must be applied in the order
    /// they were staged, each staged after the previous one was applied.
    pub fn apply(&mut self, staged: StagedCommit) -> Result<()> {
        if staged.number != self.next_commit
            || staged
                .entries
                .first()
                .is_some_and(|e| e.seq != self.chain.length)
        {
            return Err(Error::LogBroken("a commit was applied out of order".into()));
        }
        if staged.heads.rows.is_empty() {
            if !staged.entries.is_empty() {
                self.chain = staged.chain;
            }
            self.next_commit = staged.number + 1;
            return Ok(());
        }
        let collections = self.sections.entry(staged.heads.section).or_default();
        for (pos, (Head(collection, id, ..), version)) in staged
            .heads
            .rows
            .into_iter()
            .zip(staged.versions)
            .enumerate()
        {
            let pos =
                u32::try_from(pos).map_err(|_| Error::LogBroken("commit too large".into()))?;
            collections.entry(collection).or_default().insert(
                id,
                Slot {
                    version,
                    commit: staged.number,
                    pos,
                },
            );
        }
        if !staged.entries.is_empty() {
            self.chain = staged.chain;
        }
        self.next_commit = staged.number + 1;
        Ok(())
    }

    /// Live items per section and collection (collections whose items were all deleted count 0).
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.sections
            .iter()
            .map(|(section, collections)| {
                let counts = collections
                    .iter()
                    .map(|(name, items)| {
                        (
                            name.clone(),
                            items.values().filter(|s| !s.version.deleted).count() as u64,
                        )
                    })
                    .collect();
                (section.clone(), counts)
            })
            .collect()
    }

    /// Assembles the unsigned bundle from the stored commits' heads and bodies, given in any order.
    /// Items are `{id, updated_at, data}`, sorted by id within each collection.
    pub fn assemble<'a>(
        &self,
        did: &str,
        node: &str,
        exported_at: &str,
        commits: impl IntoIterator<Item = (u64, &'a str, &'a str)>,
    ) -> Result<Bundle> {
        let mut out: BTreeMap<String, BTreeMap<String, Vec<(String, Value)>>> = BTreeMap::new();
        for (section, collections) in &self.sections {
            let entry = out.entry(section.clone()).or_default();
            for name in collections.keys() {
                entry.entry(name.clone()).or_default();
            }
        }
        let mut found = 0usize;
        for (number, heads_json, bodies_json) in commits {
            let (heads, bodies): (_, Vec<Value>) = read_commit(number, heads_json, bodies_json)?;
            let Some(collections) = self.sections.get(&*heads.section) else {
                continue;
            };
            for (pos, (HeadView(collection, id, updated_at, deleted, _), data)) in
                heads.rows.into_iter().zip(bodies).enumerate()
            {
                let current = collections
                    .get(&*collection)
                    .and_then(|items| items.get(&*id));
                let is_current =
                    current.is_some_and(|slot| slot.commit == number && slot.pos as usize == pos);
                if !is_current || deleted {
                    continue;
                }
                let id = id.into_owned();
                let mut item = Map::new();
                item.insert("id".into(), Value::String(id.clone()));
                item.insert("updated_at".into(), Value::String(updated_at.into_owned()));
                item.insert("data".into(), data);
                found += 1;
                out.entry(heads.section.to_string())
                    .or_default()
                    .entry(collection.into_owned())
                    .or_default()
                    .push((id, Value::Object(item)));
            }
        }
        self.check_all_found(found)?;
        let sections = out
            .into_iter()
            .map(|(section, collections)| {
                let collections: Map<String, Value> = collections
                    .into_iter()
                    .map(|(name, mut items)| {
                        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        (
                            name,
                            Value::Array(items.into_iter().map(|(_, v)| v).collect()),
                        )
                    })
                    .collect();
                (section, Value::Object(collections))
            })
            .collect();
        Ok(Bundle {
            did: did.to_owned(),
            exported_at: exported_at.to_owned(),
            node: node.to_owned(),
            sections,
            log: self.chain.commitment(),
        })
    }
}

/// A bundle as RFC 8785 text, written by [`Store::assemble_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleText {
    /// The canonical text of the unsigned bundle.
    pub text: String,
    /// Where the `,"sections":` member starts (a proof member goes there: `proof` sorts before
    /// `sections` and after every other member).
    pub sections_at: usize,
    /// Items per section and collection.
    pub counts: SectionCounts,
}

impl Store {
    /// The unsigned bundle of [`Store::assemble`] (with the log commitment `log`) as RFC 8785 text,
    /// written straight from the stored records: the bodies, stored as canonical text, are copied, not
    /// parsed into values. A body that is not canonical (written by an older version) is canonicalized.
    /// With `ascii_room`, the text also has the spare capacity that a proof and
    /// [`ascii_json`](canonical_text::ascii_json) add, so that both happen in place: a text that has to
    /// grow is copied when the memory after it is taken.
    pub fn assemble_text<'a>(
        &self,
        did: &str,
        node: &str,
        exported_at: &str,
        log: &LogCommitment,
        commits: impl IntoIterator<Item = (u64, &'a str, &'a str)>,
        ascii_room: bool,
    ) -> Result<BundleText> {
        let mut out: Placed<'_, 'a> = BTreeMap::new();
        for (section, collections) in &self.sections {
            let entry = out.entry(section.as_str()).or_default();
            for name in collections.keys() {
                entry.entry(name.as_str()).or_default();
            }
        }
        // Each a function of its own in the wasm, called many times (see `collect_commit`).
        let collect: CollectCommit<'a> = super::apart(Store::collect_commit);
        let items_size: fn(&[Item<'_>], bool) -> usize = super::apart(items_size);
        let write_items: fn(&mut String, &[Item<'_>]) = super::apart(write_items);
        let mut found = 0usize;
        for (number, heads_json, bodies_json) in commits {
            found += collect(self, &mut out, number, heads_json, bodies_json)?;
        }
        self.check_all_found(found)?;
        let extra = |text: &str| ascii_room_of(text, ascii_room);
        let size: usize = out
            .values()
            .flat_map(|c| c.values())
            .flat_map(|items| items.chunks(ITEMS_PER_CALL))
            .map(|some| items_size(some, ascii_room))
            .sum();
        let mut text =
            String::with_capacity(size + 1024 + extra(did) + extra(node) + extra(exported_at));
        let string = canonical_text::push_string;
        text.push_str("{\"did\":");
        string(&mut text, did);
        text.push_str(",\"exported_at\":");
        string(&mut text, exported_at);
        text.push_str(",\"log\":{\"head\":");
        string(&mut text, &log.head);
        text.push_str(&format!(",\"length\":{}}},\"node\":", log.length));
        string(&mut text, node);
        let sections_at = text.len();
        text.push_str(",\"sections\":{");
        let mut counts = SectionCounts::new();
        for (s_index, (section, collections)) in out.iter_mut().enumerate() {
            if s_index > 0 {
                text.push(',');
            }
            string(&mut text, section);
            text.push_str(":{");
            let section_counts = counts.entry((*section).to_owned()).or_default();
            for (c_index, (collection, items)) in collections.iter_mut().enumerate() {
                if c_index > 0 {
                    text.push(',');
                }
                string(&mut text, collection);
                text.push_str(":[");
                items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                for (i, some) in items.chunks(ITEMS_PER_CALL).enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    write_items(&mut text, some);
                }
                text.push(']');
                section_counts.insert((*collection).to_owned(), items.len() as u64);
            }
            text.push('}');
        }
        text.push_str("}}");
        Ok(BundleText {
            text,
            sections_at,
            counts,
        })
    }
}

/// An item of [`Store::assemble_text`]: id, `updated_at` and canonical body.
type Item<'a> = (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>);

/// Items of [`Store::assemble_text`] by section and collection.
type Placed<'s, 'a> = BTreeMap<&'s str, BTreeMap<&'s str, Vec<Item<'a>>>>;

/// [`Store::collect_commit`] as a function pointer.
type CollectCommit<'a> =
    for<'s> fn(&'s Store, &mut Placed<'s, 'a>, u64, &'a str, &'a str) -> Result<usize>;

impl Store {
    /// The current versions of one commit's live items, placed in `out`; how many there were.
    ///
    /// A function of its own (see [`apart`](super::apart)), as are [`items_size`] and [`write_items`]: V8 moves a wasm function to
    /// optimized code only between calls (see [`hash`](super::hash)), so one loop over a whole bundle
    /// ran in baseline code for the first bundle assembled in a page (a first `sign()` about 0.13 s
    /// slower). Many short calls let the optimized code take over after the first few.
    #[inline(never)]
    fn collect_commit<'s, 'a>(
        &'s self,
        out: &mut Placed<'s, 'a>,
        number: u64,
        heads_json: &'a str,
        bodies_json: &'a str,
    ) -> Result<usize> {
        // Borrowed from the records: assembling allocates nothing per item but its place. The
        // bodies record, as the vault writes it, is a canonical array of canonical bodies: one
        // pass checks that and finds them. Otherwise (a record written by an older version,
        // or damaged) each body is read, and checked when it is used.
        let heads = read_heads(number, heads_json)?;
        let bodies: Vec<(&'a str, bool)> =
            match canonical_text::canonical_elements(bodies_json, canonical::MAX_DEPTH) {
                Some(bodies) => bodies.into_iter().map(|body| (body, true)).collect(),
                None => read_bodies::<&'a RawValue>(number, bodies_json)?
                    .into_iter()
                    .map(|body| (body.get(), false))
                    .collect(),
            };
        check_pairs(number, &heads, &bodies)?;
        let Some((section, collections)) = self.sections.get_key_value(&*heads.section) else {
            return Ok(0);
        };
        let mut found = 0;
        for (pos, (HeadView(collection, id, updated_at, deleted, _), (body, canonical))) in
            heads.rows.into_iter().zip(bodies).enumerate()
        {
            let Some((collection, items)) = collections.get_key_value(&*collection) else {
                continue;
            };
            let is_current = items
                .get(&*id)
                .is_some_and(|slot| slot.commit == number && slot.pos as usize == pos);
            if !is_current || deleted {
                continue;
            }
            let body = if canonical {
                Cow::Borrowed(body)
            } else {
                canonical_text::canonical_form(body)?
            };
            found += 1;
            out.entry(section.as_str())
                .or_default()
                .entry(collection.as_str())
                .or_default()
                .push((id, updated_at, body));
        }
        Ok(found)
    }
}

/// The bytes items take in the bundle text, with room for [`ascii_json`](canonical_text::ascii_json)
/// when `ascii_room`.
#[inline(never)]
fn items_size(items: &[Item<'_>], ascii_room: bool) -> usize {
    let extra = |text: &str| ascii_room_of(text, ascii_room);
    items
        .iter()
        .map(|(id, t, body)| id.len() + t.len() + body.len() + 40 + extra(id) + extra(body))
        .sum()
}

/// The room [`ascii_json`](canonical_text::ascii_json) needs for `text`, when `ascii_room`.
fn ascii_room_of(text: &str, ascii_room: bool) -> usize {
    if ascii_room {
        canonical_text::ascii_json_extra(text)
    } else {
        0
    }
}

/// How many items [`write_items`] writes in one call: calls short enough for the optimized code to
/// take over early, long enough to cost nothing.
const ITEMS_PER_CALL: usize = 256;

/// Writes items of the bundle text, `{"data":…,"id":…,"updated_at":…}` separated by commas.
#[inline(never)]
fn write_items(text: &mut String, items: &[Item<'_>]) {
    for (i, (id, updated_at, body)) in items.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str("{\"data\":");
        text.push_str(body);
        text.push_str(",\"id\":");
        canonical_text::push_string(text, id);
        text.push_str(",\"updated_at\":");
        canonical_text::push_string(text, updated_at);
        text.push('}');
    }
}

impl Store {
    /// Checks that assembling found a stored body for every live item.
    fn check_all_found(&self, found: usize) -> Result<()> {
        let live: usize = self
            .counts()
            .values()
            .flat_map(|c| c.values())
            .map(|n| *n as usize)
            .sum();
        if found != live {
            return Err(Error::LogBroken(format!(
                "{} of {live} live items have no stored body",
                live - found.min(live)
            )));
        }
        Ok(())
    }
}

/// A commit's heads and bodies records, read (borrowed) and checked to pair up.
fn read_commit<'a, B: Deserialize<'a>>(
    number: u64,
    heads_json: &'a str,
    bodies_json: &'a str,
) -> Result<(HeadsView<'a>, Vec<B>)> {
    let heads = read_heads(number, heads_json)?;
    let bodies = read_bodies(number, bodies_json)?;
    check_pairs(number, &heads, &bodies)?;
    Ok((heads, bodies))
}

fn read_heads(number: u64, heads_json: &str) -> Result<HeadsView<'_>> {
    serde_json::from_str(heads_json)
        .map_err(|e| Error::LogBroken(format!("commit {number} heads: {e}")))
}

fn read_bodies<'a, B: Deserialize<'a>>(number: u64, bodies_json: &'a str) -> Result<Vec<B>> {
    serde_json::from_str(bodies_json)
        .map_err(|e| Error::LogBroken(format!("commit {number} bodies: {e}")))
}

fn check_pairs<B>(number: u64, heads: &HeadsView<'_>, bodies: &[B]) -> Result<()> {
    if bodies.len() != heads.rows.len() {
        return Err(Error::LogBroken(format!(
            "commit {number}: heads and bodies differ in length"
        )));
    }
    Ok(())
}

fn decode_hash(text: &str) -> std::result::Result<[u8; 32], ()> {
    let bytes = hex::decode(text).map_err(|_| ())?;
    bytes.try_into().map_err(|_| ())
}
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    // Assembling reads heads records borrowed: exactly the records a HeadsRecord reads, no others.
    #[test]
    fn heads_view_is_as_strict_as_heads_record() {
        for bad in [
            r#"{"service":"s","section":"s","rows":[["c","i","t",false,"h",1]]}"#,
            r#"{"service":"s","section":"s","rows":[["c","i","t",false,1]]}"#,
            r#"{"service":"s","section":"s","rows":[["c","i","t",false]]}"#,
            r#"{"service":"s","section":"s","rows":[{"0":"c"}]}"#,
            r#"{"service":1,"section":"s","rows":[]}"#,
            r#"{"section":"s","rows":[]}"#,
            r#"{"service":"s","section":"s","rows":[],"x":1}"#,
        ] {
            assert!(
                serde_json::from_str::<super::HeadsView>(bad).is_err(),
                "{bad}"
            );
        }
        let ok = r#"{"service":"s","section":"s","rows":[["c","i","t",false,"h"]]}"#;
        assert!(serde_json::from_str::<super::HeadsView>(ok).is_ok());
        assert!(serde_json::from_str::<super::HeadsRecord>(ok).is_ok());
    }
}
