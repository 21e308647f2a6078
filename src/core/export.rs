//! Export pages (`exportForDid`) and the item shapes of the protocol, read strictly, so that the vault
//! and the reference node check them with the same code.
//!
//! A page is `{did, service, section, items, cursor, done, proof}`; each item is
//! `{collection, id, updated_at, deleted?, data}` (a tombstone has `deleted: true` and `data: null`). The
//! page is signed by the node's key (`eddsa-jcs-2022`). In a bundle, `sections.<section>.<collection>` is
//! an array of [`BundleItem`]s `{id, updated_at, data}` sorted by `id` (byte order), without tombstones.
//!
//! `updated_at` is always UTC with milliseconds in the fixed form `YYYY-MM-DDTHH:MM:SS.sssZ`, so that
//! string order is time order ([`check_timestamp`], [`format_timestamp`], [`parse_timestamp`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::canonical;
use super::canonical_text;
use super::did;
use super::error::{excerpt, Error, Result};
use super::keys::Keypair;
use super::proof;
use super::receipt;
use super::store::Incoming;

/// Items per page when the client names no limit.
pub const DEFAULT_PAGE_LIMIT: usize = 1000;
/// Most items a page may carry (a larger requested limit is clamped to this).
pub const MAX_PAGE_LIMIT: usize = 5000;
/// Longest item id, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Longest service, section or collection name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest cursor, in bytes.
pub const MAX_CURSOR_LEN: usize = 256;
/// JSON values a page not in canonical form may hold (its items' data included) whatever its size,
/// counted before it is parsed into a value tree. Beyond it, a page may hold one value per 4 bytes of
/// its text (numbers of a few digits, such as embeddings, are more): a hostile page of tiny values
/// (`[]`, `1`) would otherwise take tens of bytes of wasm memory per byte of text, which wasm keeps.
pub const MAX_PAGE_VALUES: usize = 2_000_000;
/// Pages in a row with no item and `done: false` a pull accepts: a node that only moves its cursor
/// would keep a pull (and the vault's writer lock) forever.
pub const MAX_EMPTY_PAGES: u32 = 16;
/// Length of a protocol timestamp, `2026-03-09T16:45:00.000Z`.
pub const TIMESTAMP_LEN: usize = 24;
/// The latest instant a protocol timestamp can name (9999-12-31T23:59:59.999Z), in Unix milliseconds.
pub const MAX_TIMESTAMP_MILLIS: u64 = 253_402_300_799_999;

/// The deepest item data accepted: a bundle puts item data five levels deep (bundle, `sections`,
/// section, collection array, item), and every bundle must stay within [`canonical::MAX_DEPTH`] so
/// that it can be signed and verified.
pub const MAX_DATA_DEPTH: usize = canonical::MAX_DEPTH - 5;

/// One item of an export page.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportItem {
    /// The collection within the section, e.g. `messages`.
    pub collection: String,
    /// The item's id, unique within its collection.
    pub id: String,
    /// When this version was written (protocol timestamp).
    pub updated_at: String,
    /// Whether this version is a tombstone.
    pub deleted: bool,
    /// The item's data; `null` for a tombstone.
    pub data: Value,
}

impl ExportItem {
    /// Reads and checks one page item.
    pub fn from_value(value: &Value) -> Result<Self> {
        let map = value
            .as_object()
            .ok_or_else(|| malformed("an item must be an object".into()))?;
        if let Some(extra) = map.keys().find(|k| {
            !matches!(
                k.as_str(),
                "collection" | "id" | "updated_at" | "deleted" | "data"
            )
        }) {
            return Err(malformed(format!("unknown item member {}", excerpt(extra))));
        }
        let collection = string_member(map, "collection", "item")?;
        if !is_portable_name(collection) {
            return Err(malformed(format!(
                "collection {} must be lowercase letters and '_' (at most {MAX_NAME_LEN})",
                excerpt(collection)
            )));
        }
        let id = string_member(map, "id", "item")?;
        check_item_id(id).map_err(malformed)?;
        let updated_at = string_member(map, "updated_at", "item")?;
        check_timestamp(updated_at)?;
        let deleted = match map.get("deleted") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(malformed("item deleted must be a boolean".into())),
        };
        let data = map
            .get("data")
            .ok_or_else(|| malformed(format!("item {} has no data member", excerpt(id))))?;
        if deleted && !data.is_null() {
            return Err(malformed(format!(
                "tombstone {} must have data null",
                excerpt(id)
            )));
        }
        if !deleted && data.is_null() {
            return Err(malformed(format!(
                "live item {} must not have data null",
                excerpt(id)
            )));
        }
        canonical::check_value(data)?;
        canonical::check_depth(data, MAX_DATA_DEPTH)?;
        Ok(ExportItem {
            collection: collection.to_owned(),
            id: id.to_owned(),
            updated_at: updated_at.to_owned(),
            deleted,
            data: data.clone(),
        })
    }

    /// The item as it appears in a page (`deleted: true` only on tombstones).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("collection".into(), Value::String(self.collection.clone()));
        map.insert("id".into(), Value::String(self.id.clone()));
        map.insert("updated_at".into(), Value::String(self.updated_at.clone()));
        if self.deleted {
            map.insert("deleted".into(), Value::Bool(true));
            map.insert("data".into(), Value::Null);
        } else {
            map.insert("data".into(), self.data.clone());
        }
        Value::Object(map)
    }

    /// The item as it appears in a bundle, or `None` for a tombstone (bundles hold no tombstones).
    pub fn to_bundle_item(&self) -> Option<BundleItem> {
        (!self.deleted).then(|| BundleItem {
            id: self.id.clone(),
            updated_at: self.updated_at.clone(),
            data: self.data.clone(),
        })
    }
}

impl TryFrom<ExportItem> for Incoming {
    type Error = Error;
    fn try_from(item: ExportItem) -> Result<Self> {
        Incoming::new(
            item.collection,
            item.id,
            item.updated_at,
            item.deleted,
            &item.data,
        )
    }
}

/// What a pull checks of the sequence of a service's pages, so that a node cannot keep it going for
/// ever: a page that is not the last moves the cursor to one this pull has not seen, and at most
/// [`MAX_EMPTY_PAGES`] of them in a row hold no item.
#[derive(Debug, Default)]
pub struct PageSequence {
    seen: HashSet<String>,
    empty: u32,
}

impl PageSequence {
    /// A sequence starting from `cursor` (none: the first page).
    pub fn new(cursor: Option<&str>) -> Self {
        PageSequence {
            seen: cursor.into_iter().map(str::to_owned).collect(),
            empty: 0,
        }
    }

    /// Checks the next page of `service`: its `cursor`, whether it is the last (`done`) and how many
    /// items it holds.
    pub fn next(&mut self, service: &str, cursor: &str, done: bool, items: usize) -> Result<()> {
        if done {
            return Ok(());
        }
        if !self.seen.insert(cursor.to_owned()) {
            return Err(malformed(format!(
                "a page of {} with done: false did not move the cursor to a new one",
                excerpt(service)
            )));
        }
        self.empty = if items == 0 { self.empty + 1 } else { 0 };
        if self.empty > MAX_EMPTY_PAGES {
            return Err(malformed(format!(
                "{} pages of {} in a row with no item and done: false",
                self.empty,
                excerpt(service)
            )));
        }
        Ok(())
    }
}

/// A page whose shape and node proof were checked, its items ready to merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPage {
    /// The DID whose data this is.
    pub did: String,
    /// The service that exported it.
    pub service: String,
    /// The bundle section the items belong to.
    pub section: String,
    /// The items, in the node's change order, their data canonical and hashed.
    pub items: Vec<Incoming>,
    /// Opaque position after this page.
    pub cursor: String,
    /// Whether this is the last page for now.
    pub done: bool,
}

impl VerifiedPage {
    /// Reads a page from its JSON text and verifies its proof by the node key `node_did`: the same
    /// checks and the same errors as [`canonical::parse`] then [`ExportPage::verify`].
    ///
    /// A page in canonical form (as the reference node sends them) takes a fast path that builds no
    /// value tree: the proof is checked over the text with its `proof` member cut out, and each item's
    /// data is kept as the slice of text it is. Anything that path does not accept at once goes the
    /// general way, which gives the precise error.
    pub fn read(text: &str, node_did: &str) -> Result<Self> {
        if let Some(prepared) = PreparedPage::new(text) {
            let (before, after) = prepared.unsigned();
            let mut hasher = Sha256::new();
            super::hash::update(&mut hasher, before.as_bytes());
            super::hash::update(&mut hasher, after.as_bytes());
            if let Some(page) = prepared.finish(node_did, &hasher.finalize().into()) {
                return Ok(page);
            }
        }
        Self::read_general(text, node_did)
    }

    /// [`VerifiedPage::read`] without the fast path: strict parse, shape, proof, then each item
    /// canonicalized and hashed. Gives every error's precise code.
    pub fn read_general(text: &str, node_did: &str) -> Result<Self> {
        let cap = MAX_PAGE_VALUES.max(text.len() / 4);
        if !canonical::values_at_most(text, cap) {
            return Err(malformed(format!(
                "a page of {} bytes holds more than {cap} JSON values",
                text.len()
            )));
        }
        let value = canonical::parse(text)?;
        let page = ExportPage::verify(&value, node_did)?;
        Ok(VerifiedPage {
            did: page.did,
            service: page.service,
            section: page.section,
            items: page
                .items
                .into_iter()
                .map(Incoming::try_from)
                .collect::<Result<_>>()?,
            cursor: page.cursor,
            done: page.done,
        })
    }
}

/// One item of a page as a node stores it: its data as canonical text (`None` for a tombstone).
#[derive(Debug, Clone, Copy)]
pub struct StoredItemText<'a> {
    /// Collection within the section.
    pub collection: &'a str,
    /// Item id.
    pub id: &'a str,
    /// Protocol timestamp of this version.
    pub updated_at: &'a str,
    /// Tombstone?
    pub deleted: bool,
    /// RFC 8785 text of the data (`None` for a tombstone).
    pub data: Option<&'a str>,
}

/// The canonical text of an export page signed by `node_key`, written around the items' stored data
/// text without parsing it: the same bytes as the RFC 8785 form of [`ExportPage::sign`]'s answer. Data
/// text that is not canonical is canonicalized (and refused if it is not valid, safe JSON).
#[allow(clippy::too_many_arguments)]
pub fn signed_page_text<'a>(
    did: &str,
    service: &str,
    section: &str,
    items: impl IntoIterator<Item = StoredItemText<'a>>,
    cursor: &str,
    done: bool,
    node_key: &Keypair,
    created: &str,
) -> Result<String> {
    let string = canonical_text::push_string;
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("{\"cursor\":");
    string(&mut out, cursor);
    out.push_str(",\"did\":");
    string(&mut out, did);
    out.push_str(if done {
        ",\"done\":true,\"items\":["
    } else {
        ",\"done\":false,\"items\":["
    });
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"collection\":");
        string(&mut out, item.collection);
        out.push_str(",\"data\":");
        match (item.deleted, item.data) {
            (false, Some(data)) if canonical_text::is_canonical(data, MAX_DATA_DEPTH) => {
                out.push_str(data)
            }
            (false, Some(data)) => {
                let value = canonical::parse(data)?;
                canonical::check_depth(&value, MAX_DATA_DEPTH)?;
                out.push_str(&canonical::to_canonical_string(&value)?);
            }
            (false, None) => {
                return Err(malformed(format!(
                    "live item {} has no data",
                    excerpt(item.id)
                )))
            }
            (true, _) => out.push_str("null,\"deleted\":true"),
        }
        out.push_str(",\"id\":");
        string(&mut out, item.id);
        out.push_str(",\"updated_at\":");
        string(&mut out, item.updated_at);
        out.push('}');
    }
    out.push(']');
    let rest_start = out.len();
    out.push_str(",\"section\":");
    string(&mut out, section);
    out.push_str(",\"service\":");
    string(&mut out, service);
    out.push('}');
    let document_hash = super::hash::sha256(out.as_bytes());
    let proof = proof::sign_prehashed(&document_hash, node_key, created)?;
    let proof_text = canonical::to_canonical_string(&Value::Object(proof))?;
    out.insert_str(rest_start, &format!(",\"proof\":{proof_text}"));
    Ok(out)
}

/// An export page as text, borrowed: the fast path of [`VerifiedPage::read`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage<'a> {
    #[serde(borrow)]
    cursor: Cow<'a, str>,
    #[serde(borrow)]
    did: Cow<'a, str>,
    done: bool,
    #[serde(borrow)]
    items: Vec<RawItem<'a>>,
    #[serde(borrow)]
    proof: &'a RawValue,
    #[serde(borrow)]
    section: Cow<'a, str>,
    #[serde(borrow)]
    service: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem<'a> {
    #[serde(borrow)]
    collection: Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(default)]
    deleted: bool,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    updated_at: Cow<'a, str>,
}

/// A page in canonical form whose shape passed every check, waiting for the SHA-256 of its text without
/// the `proof` member (which the caller may compute where hashing is fastest, e.g. WebCrypto) to verify
/// the proof. The fast path of [`VerifiedPage::read`]: sound because every slice of canonical text is the
/// canonical form of what it holds, and the canonical form of the page without its proof is the text
/// with the `proof` member cut out.
pub struct PreparedPage<'a> {
    text: &'a str,
    page: RawPage<'a>,
    member_start: usize,
    proof_end: usize,
}

impl<'a> PreparedPage<'a> {
    /// The page, when `text` is canonical and its shape passes every check at once; `None` sends the
    /// caller the general way ([`VerifiedPage::read_general`]).
    pub fn new(text: &'a str) -> Option<Self> {
        // Page, items, item: three levels above the data.
        let depth = canonical_text::canonical_depth(text, canonical::MAX_DEPTH)?;
        if depth > 3 + MAX_DATA_DEPTH {
            return None;
        }
        let page: RawPage<'a> = serde_json::from_str(text).ok()?;
        did::decode(&page.did).ok()?;
        if !is_portable_name(&page.service)
            || !is_portable_name(&page.section)
            || page.cursor.is_empty()
            || page.cursor.len() > MAX_CURSOR_LEN
            || page.items.len() > MAX_PAGE_LIMIT
        {
            return None;
        }
        let mut seen = HashSet::with_capacity(page.items.len());
        for item in &page.items {
            let null = item.data.get() == "null";
            if !is_portable_name(&item.collection)
                || check_item_id(&item.id).is_err()
                || check_timestamp(&item.updated_at).is_err()
                || item.deleted != null
                || !seen.insert((&*item.collection, &*item.id))
            {
                return None;
            }
        }
        // The proof member is never first: `cursor` sorts first.
        let (member_start, proof_end) = canonical_text::proof_member_span(text, page.proof.get())?;
        Some(PreparedPage {
            text,
            page,
            member_start,
            proof_end,
        })
    }

    /// The page's text before and after its `proof` member: hashed one after the other, the document
    /// hash the proof signs.
    pub fn unsigned(&self) -> (&'a str, &'a str) {
        (
            &self.text[..self.member_start],
            &self.text[self.proof_end..],
        )
    }

    /// The verified page, given the SHA-256 of [`PreparedPage::unsigned`]; `None` when the proof does
    /// not verify by the key of `node_did` (the general way then gives the precise error).
    pub fn finish(self, node_did: &str, document_hash: &[u8; 32]) -> Option<VerifiedPage> {
        let page = self.page;
        let proof: Value = serde_json::from_str(page.proof.get()).ok()?;
        let verified = proof::verify_prehashed(proof.as_object()?, document_hash).ok()?;
        if verified.public_key != did::public_key(node_did).ok()? {
            return None;
        }
        Some(VerifiedPage {
            did: page.did.into_owned(),
            service: page.service.into_owned(),
            section: page.section.into_owned(),
            items: page
                .items
                .into_iter()
                .map(|item| {
                    Incoming::from_canonical(
                        item.collection.into_owned(),
                        item.id.into_owned(),
                        item.updated_at.into_owned(),
                        item.deleted,
                        item.data.get().to_owned(),
                    )
                })
                .collect(),
            cursor: page.cursor.into_owned(),
            done: page.done,
        })
    }
}

/// One export page.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPage {
    /// The DID whose data this is.
    pub did: String,
    /// The service that exported it.
    pub service: String,
    /// The bundle section the items belong to.
    pub section: String,
    /// The items, in the node's change order.
    pub items: Vec<ExportItem>,
    /// Opaque position after this page: pass it back to continue, or later to get only what changed.
    pub cursor: String,
    /// Whether this is the last page for now.
    pub done: bool,
}

impl ExportPage {
    /// Reads and checks a page's shape and every item. A `proof` member is allowed and not checked here;
    /// see [`ExportPage::verify`].
    pub fn from_value(value: &Value) -> Result<Self> {
        let map = value
            .as_object()
            .ok_or_else(|| malformed("an export page must be an object".into()))?;
        if let Some(extra) = map.keys().find(|k| {
            !matches!(
                k.as_str(),
                "did" | "service" | "section" | "items" | "cursor" | "done" | "proof"
            )
        }) {
            return Err(malformed(format!("unknown page member {}", excerpt(extra))));
        }
        let did_text = string_member(map, "did", "page")?;
        did::decode(did_text)?;
        let service = string_member(map, "service", "page")?;
        let section = string_member(map, "section", "page")?;
        for (what, name) in [("service", service), ("section", section)] {
            if !is_portable_name(name) {
                return Err(malformed(format!(
                    "{what} {} must be lowercase letters and '_' (at most {MAX_NAME_LEN})",
                    excerpt(name)
                )));
            }
        }
        let cursor = string_member(map, "cursor", "page")?;
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(malformed(format!(
                "cursor must be 1 to {MAX_CURSOR_LEN} bytes"
            )));
        }
        let done = map
            .get("done")
            .and_then(Value::as_bool)
            .ok_or_else(|| malformed("page done must be a boolean".into()))?;
        let list = map
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("page items must be an array".into()))?;
        if list.len() > MAX_PAGE_LIMIT {
            return Err(malformed(format!(
                "a page carries at most {MAX_PAGE_LIMIT} items, this one {}",
                list.len()
            )));
        }
        let mut items = Vec::with_capacity(list.len());
        let mut seen = HashSet::with_capacity(list.len());
        for value in list {
            let item = ExportItem::from_value(value)?;
            if !seen.insert((item.collection.clone(), item.id.clone())) {
                return Err(malformed(format!(
                    "item {}/{} appears twice in one page",
                    item.collection,
                    excerpt(&item.id)
                )));
            }
            items.push(item);
        }
        Ok(ExportPage {
            did: did_text.to_owned(),
            service: service.to_owned(),
            section: section.to_owned(),
            items,
            cursor: cursor.to_owned(),
            done,
        })
    }

    /// Reads a page and verifies its proof was made by the node key `node_did` (the manifest's
    /// `did:key`).
    pub fn verify(value: &Value, node_did: &str) -> Result<Self> {
        let page = Self::from_value(value)?;
        receipt::verify_node_signature(value, node_did)?;
        Ok(page)
    }

    /// The page without proof.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("did".into(), Value::String(self.did.clone()));
        map.insert("service".into(), Value::String(self.service.clone()));
        map.insert("section".into(), Value::String(self.section.clone()));
        map.insert(
            "items".into(),
            Value::Array(self.items.iter().map(ExportItem::to_value).collect()),
        );
        map.insert("cursor".into(), Value::String(self.cursor.clone()));
        map.insert("done".into(), Value::Bool(self.done));
        Value::Object(map)
    }

    /// The page signed by the node's key.
    pub fn sign(&self, node_key: &Keypair, created: &str) -> Result<Value> {
        proof::sign(self.to_value(), node_key, created)
    }
}

/// One item in a bundle collection: `{id, updated_at, data}`.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleItem {
    /// The item's id, unique within its collection.
    pub id: String,
    /// When this version was written (protocol timestamp).
    pub updated_at: String,
    /// The item's data (never `null`).
    pub data: Value,
}

impl BundleItem {
    /// Reads and checks one bundle item.
    pub fn from_value(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::BundleMalformed(why);
        let map = value
            .as_object()
            .ok_or_else(|| bad("a bundle item must be an object".into()))?;
        if let Some(extra) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "id" | "updated_at" | "data"))
        {
            return Err(bad(format!(
                "unknown bundle item member {} (items are {{id, updated_at, data}})",
                excerpt(extra)
            )));
        }
        let id = map
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("bundle item id must be a string".into()))?;
        check_item_id(id).map_err(bad)?;
        let updated_at = map
            .get("updated_at")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("bundle item {} has no updated_at", excerpt(id))))?;
        check_timestamp(updated_at).map_err(|e| bad(e.to_string()))?;
        let data = match map.get("data") {
            None | Some(Value::Null) => {
                return Err(bad(format!(
                    "bundle item {} must have non-null data",
                    excerpt(id)
                )))
            }
            Some(data) => data,
        };
        Ok(BundleItem {
            id: id.to_owned(),
            updated_at: updated_at.to_owned(),
            data: data.clone(),
        })
    }

    /// The item as it appears in a bundle.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), Value::String(self.id.clone()));
        map.insert("updated_at".into(), Value::String(self.updated_at.clone()));
        map.insert("data".into(), self.data.clone());
        Value::Object(map)
    }
}

/// A bundle's sections read as collections of items: section → collection → items (sorted by id).
pub type BundleSections = BTreeMap<String, BTreeMap<String, Vec<BundleItem>>>;

/// Reads a bundle's `sections` strictly: every section and collection name portable (lowercase letters
/// and `_`), every collection an array of [`BundleItem`]s with unique ids in ascending byte order.
pub fn parse_bundle_sections(sections: &Map<String, Value>) -> Result<BundleSections> {
    let bad = |why: String| Error::BundleMalformed(why);
    let mut out = BTreeMap::new();
    for (section, collections) in sections {
        if !is_portable_name(section) {
            return Err(bad(format!(
                "section name {} must be lowercase letters and '_' (at most {MAX_NAME_LEN})",
                excerpt(section)
            )));
        }
        let collections = collections
            .as_object()
            .ok_or_else(|| bad(format!("section {section} must be an object")))?;
        let mut parsed = BTreeMap::new();
        for (collection, items) in collections {
            if !is_portable_name(collection) {
                return Err(bad(format!(
                    "collection name {section}.{} must be lowercase letters and '_'",
                    excerpt(collection)
                )));
            }
            let items = items.as_array().ok_or_else(|| {
                bad(format!(
                    "{section}.{collection} must be an array of {{id, updated_at, data}} items"
                ))
            })?;
            let mut list: Vec<BundleItem> = Vec::with_capacity(items.len());
            for item in items {
                let item = BundleItem::from_value(item)?;
                if let Some(prev) = list.last() {
                    if prev.id.as_bytes() >= item.id.as_bytes() {
                        return Err(bad(format!(
                            "{section}.{collection}: items must be sorted by id without duplicates \
                             ({} then {})",
                            excerpt(&prev.id),
                            excerpt(&item.id)
                        )));
                    }
                }
                list.push(item);
            }
            parsed.insert(collection.clone(), list);
        }
        out.insert(section.clone(), parsed);
    }
    Ok(out)
}

/// One bundle item with its data as RFC 8785 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleItemText {
    /// The item's id, unique within its collection.
    pub id: String,
    /// When this version was written (protocol timestamp).
    pub updated_at: String,
    /// The item's data as canonical text (never `null`).
    pub data: String,
}

/// A bundle's sections with each item's data as canonical text: section → collection → items.
pub type BundleSectionsText = BTreeMap<String, BTreeMap<String, Vec<BundleItemText>>>;

/// [`parse_bundle_sections`] of a bundle given as text, with each item's data as canonical text: the
/// same checks and errors. A bundle in canonical form is read without value trees, its data kept as
/// the slices of text they are; anything else is parsed and canonicalized item by item.
pub fn parse_bundle_sections_text(text: &str) -> Result<BundleSectionsText> {
    if canonical_text::is_canonical(text, canonical::MAX_DEPTH) {
        if let Some(sections) = sections_of_canonical_text(text) {
            return Ok(sections);
        }
    }
    let value = canonical::parse(text)?;
    let sections = value
        .get("sections")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::BundleMalformed("sections must be an object".into()))?;
    parse_bundle_sections(sections)?
        .into_iter()
        .map(|(section, collections)| {
            let collections = collections
                .into_iter()
                .map(|(name, items)| {
                    let items = items
                        .into_iter()
                        .map(|item| {
                            Ok(BundleItemText {
                                data: canonical::to_canonical_string(&item.data)?,
                                id: item.id,
                                updated_at: item.updated_at,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok((name, items))
                })
                .collect::<Result<BTreeMap<_, _>>>()?;
            Ok((section, collections))
        })
        .collect()
}

#[derive(Deserialize)]
struct RawBundleSections<'a> {
    #[serde(borrow)]
    sections: BTreeMap<Cow<'a, str>, BTreeMap<Cow<'a, str>, Vec<RawBundleItem<'a>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBundleItem<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    updated_at: Cow<'a, str>,
}

/// The sections of canonical bundle text when every check passes at once; `None` sends the caller the
/// general way, which gives the precise error.
fn sections_of_canonical_text(text: &str) -> Option<BundleSectionsText> {
    let raw: RawBundleSections<'_> = serde_json::from_str(text).ok()?;
    let mut out = BTreeMap::new();
    for (section, collections) in raw.sections {
        if !is_portable_name(&section) {
            return None;
        }
        let mut parsed = BTreeMap::new();
        for (collection, items) in collections {
            if !is_portable_name(&collection) {
                return None;
            }
            let mut list: Vec<BundleItemText> = Vec::with_capacity(items.len());
            for item in items {
                if check_item_id(&item.id).is_err()
                    || check_timestamp(&item.updated_at).is_err()
                    || item.data.get() == "null"
                    || list
                        .last()
                        .is_some_and(|prev| prev.id.as_bytes() >= item.id.as_bytes())
                {
                    return None;
                }
                list.push(BundleItemText {
                    id: item.id.into_owned(),
                    updated_at: item.updated_at.into_owned(),
                    data: item.data.get().to_owned(),
                });
            }
            parsed.insert(collection.into_owned(), list);
        }
        out.insert(section.into_owned(), parsed);
    }
    Some(out)
}

/// Whether `name` is a portable service, section, collection or data key name: 1 to
/// [`MAX_NAME_LEN`] bytes, a lowercase ASCII letter first, then lowercase letters and `_`. Such keys
/// sort the same under RFC 8785 and under the platform's `localeCompare`.
pub fn is_portable_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || *c == b'_')
}

/// Checks that every object key inside `value` is a portable name (lowercase `snake_case` without
/// digits), the rule the protocol sets for item data. Iterative, so deep values cannot overflow.
pub fn check_portable_keys(value: &Value) -> Result<()> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|k| !is_portable_name(k)) {
                    return Err(malformed(format!(
                        "data key {} is not lowercase snake_case without digits",
                        excerpt(key)
                    )));
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    Ok(())
}

/// Checks an item id: 1 to [`MAX_ID_LEN`] bytes, no control characters.
fn check_item_id(id: &str) -> std::result::Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("item id must be 1 to {MAX_ID_LEN} bytes"));
    }
    if id.chars().any(char::is_control) {
        return Err(format!(
            "item id {} contains a control character",
            excerpt(id)
        ));
    }
    Ok(())
}

/// Checks a protocol timestamp: exactly `YYYY-MM-DDTHH:MM:SS.sssZ`, a real UTC date and time.
pub fn check_timestamp(text: &str) -> Result<()> {
    parse_timestamp(text).map(|_| ())
}

/// Unix milliseconds of a protocol timestamp (`YYYY-MM-DDTHH:MM:SS.sssZ`, year 1970 or later).
pub fn parse_timestamp(text: &str) -> Result<u64> {
    let bad = || {
        malformed(format!(
            "timestamp {} must be UTC with milliseconds, like 2026-03-09T16:45:00.000Z",
            excerpt(text)
        ))
    };
    let b = text.as_bytes();
    if b.len() != TIMESTAMP_LEN {
        return Err(bad());
    }
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b'T',
        13 | 16 => *c == b':',
        19 => *c == b'.',
        23 => *c == b'Z',
        _ => c.is_ascii_digit(),
    });
    if !shape {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let (hour, minute, second, milli) = (num(11..13), num(14..16), num(17..19), num(20..23));
    if year < 1970
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli)
}

/// Unix milliseconds of any XML Schema `dateTime` with a zone (the form [`proof::check_datetime`]
/// accepts: another offset than `Z`, a fraction of any length), rounded up to the next millisecond when
/// its fraction is finer; `None` when it is not one, or is before 1970 (before any protocol timestamp).
/// Rounding up keeps every protocol timestamp at or before the instant at or before the answer.
///
/// [`proof::check_datetime`]: super::proof::check_datetime
pub fn datetime_millis_ceil(text: &str) -> Option<u64> {
    super::proof::check_datetime(text).ok()?;
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    if year < 1970 || day > days_in_month(year, month) {
        return None;
    }
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    let mut rest = &b[19..];
    let mut milli = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        let digits = &fraction[..n];
        for i in 0..3 {
            milli = milli * 10 + digits.get(i).map_or(0, |d| u64::from(d - b'0'));
        }
        if digits.iter().skip(3).any(|d| *d != b'0') {
            milli += 1;
        }
        rest = &fraction[n..];
    }
    let local = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60_000
        + second * 1000
        + milli;
    // `Z`, or `±hh:mm` east of UTC (the instant is that much earlier in UTC).
    let offset = if rest == b"Z" {
        0
    } else {
        let at = b.len() - 6;
        let size = i128::from((num(at + 1..at + 3) * 60 + num(at + 4..at + 6)) * 60_000);
        if b[at] == b'+' {
            size
        } else {
            -size
        }
    };
    u64::try_from(i128::from(local) - offset).ok()
}

/// The protocol timestamp of an instant given in Unix milliseconds.
pub fn format_timestamp(unix_millis: u64) -> Result<String> {
    if unix_millis > MAX_TIMESTAMP_MILLIS {
        return Err(Error::InvalidArgument(format!(
            "{unix_millis} ms is after the year 9999"
        )));
    }
    let milli = unix_millis % 1000;
    let secs = unix_millis / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date in or after 1970 (H. Hinnant's algorithm, unsigned form).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    // Shift the year to start in March, and offset by 400 years so everything stays unsigned.
    let y = if month <= 2 { year + 399 } else { year + 400 };
    let era = y / 400;
    let yoe = y % 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // 719_468 days from 0000-03-01 to 1970-01-01, plus the 146_097 days of the 400-year offset.
    era * 146_097 + doe - 719_468 - 146_097
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn malformed(why: String) -> Error {
    Error::ExportMalformed(why)
}

fn string_member<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("{what} {key} must be a string")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "2026-03-09T16:45:00.123Z";

    fn page() -> Value {
        json!({
            "did": Keypair::from_seed(&[1; 32]).did(),
            "service": "chat",
            "section": "chat",
            "items": [
                {"collection": "messages", "id": "msg_1", "updated_at": T,
                 "data": {"content": "Ça marche 👍", "size": 12}},
                {"collection": "messages", "id": "msg_2", "updated_at": T, "deleted": true, "data": null}
            ],
            "cursor": "c.5",
            "done": true
        })
    }

    #[test]
    fn timestamps_round_trip() {
        for (text, ms) in [
            ("1970-01-01T00:00:00.000Z", 0u64),
            ("2000-02-29T23:59:59.999Z", 951_868_799_999),
            ("2026-03-09T16:45:00.123Z", 1_773_074_700_123),
            ("9999-12-31T23:59:59.999Z", MAX_TIMESTAMP_MILLIS),
        ] {
            assert_eq!(parse_timestamp(text).unwrap(), ms, "{text}");
            assert_eq!(format_timestamp(ms).unwrap(), text);
        }
        // Every day boundary of a few years round-trips.
        for day in 0..(366 * 4) {
            let ms = day * 86_400_000 + 1_700_000_000_000;
            assert_eq!(parse_timestamp(&format_timestamp(ms).unwrap()).unwrap(), ms);
        }
        assert!(format_timestamp(MAX_TIMESTAMP_MILLIS + 1).is_err());
    }

    #[test]
    fn a_page_sequence_must_move_to_new_cursors_and_bring_items() {
        // From a saved cursor: going back to it, or to any cursor seen, is refused.
        let mut pages = PageSequence::new(Some("c0"));
        pages.next("chat", "c1", false, 10).unwrap();
        pages.next("chat", "c2", false, 10).unwrap();
        for seen in ["c0", "c1", "c2"] {
            let mut again = PageSequence::new(Some("c0"));
            again.next("chat", "c1", false, 10).unwrap();
            again.next("chat", "c2", false, 10).unwrap();
            assert_eq!(
                again.next("chat", seen, false, 10).unwrap_err().code(),
                "EXPORT_MALFORMED",
                "{seen}"
            );
        }
        // The last page may repeat the cursor (it is where the next pull starts).
        pages.next("chat", "c2", true, 0).unwrap();
        // Empty pages that only move the cursor: a few are fine, an endless run is not.
        let mut empty = PageSequence::new(None);
        for n in 0..MAX_EMPTY_PAGES {
            empty.next("chat", &format!("e{n}"), false, 0).unwrap();
        }
        empty.next("chat", "full", false, 3).unwrap();
        for n in 0..MAX_EMPTY_PAGES {
            empty.next("chat", &format!("f{n}"), false, 0).unwrap();
        }
        assert_eq!(
            empty
                .next("chat", "one-too-many", false, 0)
                .unwrap_err()
                .code(),
            "EXPORT_MALFORMED"
        );
    }

    #[test]
    fn a_page_of_too_many_values_is_refused_before_it_is_parsed() {
        assert!(canonical::values_at_most("[1,2,3]", 4));
        assert!(!canonical::values_at_most("[1,2,3]", 3));
        // Commas and brackets inside strings are not values.
        assert!(canonical::values_at_most(r#"["a,b,[{","\",x"]"#, 3));
        let node = Keypair::from_seed(&[2; 32]);
        let hostile = format!(
            r#"{{"did":"x","items":[{}],"proof":{{}}}}"#,
            vec!["[]"; MAX_PAGE_VALUES].join(",")
        );
        let refused = VerifiedPage::read(&hostile, &node.did_key()).unwrap_err();
        assert_eq!(refused.code(), "EXPORT_MALFORMED");
        assert!(refused.to_string().contains("JSON values"), "{refused}");
        // As many values, each a number of a few digits (embeddings, say): counted, then read on
        // (here to the shape check, as the page is no real one).
        let numbers = format!(
            r#"{{"did":"x","items":[{}],"proof":{{}}}}"#,
            vec!["0.12345"; MAX_PAGE_VALUES].join(",")
        );
        let read_on = VerifiedPage::read(&numbers, &node.did_key()).unwrap_err();
        assert!(!read_on.to_string().contains("JSON values"), "{read_on}");
    }

    #[test]
    fn any_datetime_is_an_instant_rounded_up_to_the_millisecond() {
        let ms = |text: &str| datetime_millis_ceil(text);
        let at = parse_timestamp("2026-03-09T16:45:00.123Z").ok();
        for same in [
            "2026-03-09T16:45:00.123Z",
            "2026-03-09T16:45:00.123000000Z",
            "2026-03-09T16:45:00.1229Z",
            "2026-03-09T17:45:00.123+01:00",
            "2026-03-09T11:15:00.123-05:30",
        ] {
            assert_eq!(ms(same), at, "{same}");
        }
        assert_eq!(ms("2026-03-09T16:45:00.1231Z"), at.map(|t| t + 1));
        assert_eq!(ms("2026-03-09T16:45:00Z"), at.map(|t| t - 123));
        assert_eq!(ms("2026-03-09T16:45:00.1Z"), at.map(|t| t - 23));
        // Across a day and a year boundary.
        assert_eq!(
            ms("2025-12-31T23:30:00-01:00"),
            parse_timestamp("2026-01-01T00:30:00.000Z").ok()
        );
        assert_eq!(ms("1970-01-01T00:00:00Z"), Some(0));
        for none in [
            "1970-01-01T00:30:00+01:00",
            "1969-12-31T23:59:59Z",
            "2026-02-29T00:00:00Z",
            "2026-03-09T16:45:00",
            "2026-03-09",
            "",
        ] {
            assert_eq!(ms(none), None, "{none}");
        }
    }

    #[test]
    fn timestamps_are_strict() {
        for bad in [
            "2026-03-09T16:45:00Z",
            "2026-03-09T16:45:00.12Z",
            "2026-03-09T16:45:00.123+00:00",
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-03-09T24:00:00.000Z",
            "2026-03-09T16:60:00.000Z",
            "2026-03-09 16:45:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "２026-03-09T16:45:00.000Z",
        ] {
            assert_eq!(
                check_timestamp(bad).unwrap_err().code(),
                "EXPORT_MALFORMED",
                "{bad}"
            );
        }
    }

    #[test]
    fn page_reads_and_signs() {
        let node = Keypair::from_seed(&[2; 32]);
        let parsed = ExportPage::from_value(&page()).unwrap();
        assert_eq!(parsed.items.len(), 2);
        assert!(parsed.items[1].deleted);
        assert_eq!(parsed.items[1].to_bundle_item(), None);
        assert_eq!(parsed.to_value(), page());
        let signed = parsed.sign(&node, T).unwrap();
        assert_eq!(
            ExportPage::verify(&signed, &node.did_key()).unwrap(),
            parsed
        );
        let other = Keypair::from_seed(&[3; 32]);
        assert_eq!(
            ExportPage::verify(&signed, &other.did_key())
                .unwrap_err()
                .code(),
            "DID_MISMATCH"
        );
        let mut tampered = signed.clone();
        tampered["done"] = json!(false);
        assert_eq!(
            ExportPage::verify(&tampered, &node.did_key())
                .unwrap_err()
                .code(),
            "SIGNATURE_INVALID"
        );
        assert_eq!(
            ExportPage::verify(&page(), &node.did_key())
                .unwrap_err()
                .code(),
            "PROOF_MALFORMED"
        );
    }

    #[test]
    fn item_data_fits_in_a_signable_bundle() {
        let nested =
            |n: usize| canonical::parse(&format!("{}{}", "[".repeat(n), "]".repeat(n))).unwrap();
        let item = |data: Value| {
            json!({"collection": "messages", "id": "msg_1",
                   "updated_at": "2026-03-09T16:45:00.000Z", "data": data})
        };
        let fits = ExportItem::from_value(&item(nested(MAX_DATA_DEPTH))).unwrap();
        assert!(ExportItem::from_value(&item(nested(MAX_DATA_DEPTH + 1)))
            .is_err_and(|e| e.code() == "TOO_DEEP"));
        // The deepest accepted data still makes a bundle within the canonical nesting cap.
        let bundle = json!({"sections": {"chat": {"messages": [fits.to_value()]}}});
        assert!(canonical::check_value(&bundle).is_ok());
    }

    #[test]
    fn page_shape_errors() {
        let item_cases: Vec<(&str, Value)> = vec![
            ("collection", json!("Messages")),
            ("collection", json!("msgs2")),
            ("id", json!("")),
            ("id", json!(5)),
            ("id", json!("a\nb")),
            ("updated_at", json!("2026-03-09T16:45:00Z")),
            ("deleted", json!("yes")),
            ("data", json!(null)),
            ("extra", json!(1)),
        ];
        for (key, value) in item_cases {
            let mut p = page();
            p["items"][0][key] = value.clone();
            assert_eq!(
                ExportPage::from_value(&p).unwrap_err().code(),
                "EXPORT_MALFORMED",
                "{key} = {value}"
            );
        }
        let mut p = page();
        p["items"][1]["data"] = json!({"a": 1});
        assert!(ExportPage::from_value(&p).is_err());
        let mut p = page();
        p["items"][0]["data"] = json!({"n": 9_007_199_254_740_993u64});
        assert_eq!(
            ExportPage::from_value(&p).unwrap_err().code(),
            "UNSAFE_NUMBER"
        );
        let page_cases: Vec<(&str, Value)> = vec![
            ("service", json!("")),
            ("section", json!("Chat")),
            ("cursor", json!("")),
            ("cursor", json!(5)),
            ("done", json!("true")),
            ("items", json!({})),
            ("more", json!(1)),
        ];
        for (key, value) in page_cases {
            let mut p = page();
            p[key] = value.clone();
            assert_eq!(
                ExportPage::from_value(&p).unwrap_err().code(),
                "EXPORT_MALFORMED",
                "{key} = {value}"
            );
        }
        let mut p = page();
        p["did"] = json!("did:web:x");
        assert_eq!(
            ExportPage::from_value(&p).unwrap_err().code(),
            "INVALID_DID"
        );
        let mut p = page();
        let first = p["items"][0].clone();
        p["items"].as_array_mut().unwrap().push(first);
        assert_eq!(
            ExportPage::from_value(&p).unwrap_err().code(),
            "EXPORT_MALFORMED"
        );
        let mut p = page();
        p["items"] = Value::Array(vec![json!(1); MAX_PAGE_LIMIT + 1]);
        assert!(ExportPage::from_value(&p).is_err());
    }

    #[test]
    fn bundle_sections() {
        let sections = json!({
            "chat": {"messages": [
                {"id": "msg_a", "updated_at": T, "data": {"content": "hé"}},
                {"id": "msg_b", "updated_at": T, "data": {"content": "ho"}}
            ]},
            "identity": {"tier": [{"id": "tier", "updated_at": T, "data": {"tier": "established"}}],
                         "attestations": []}
        });
        let parsed = parse_bundle_sections(sections.as_object().unwrap()).unwrap();
        assert_eq!(parsed["chat"]["messages"].len(), 2);
        assert_eq!(parsed["identity"]["attestations"].len(), 0);
        assert_eq!(
            parsed["chat"]["messages"][0].to_value(),
            sections["chat"]["messages"][0]
        );
        let bad_cases: Vec<Value> = vec![
            json!({"Chat": {}}),
            json!({"chat": []}),
            json!({"chat": {"messages": {}}}),
            json!({"chat": {"Messages": []}}),
            json!({"chat": {"messages": [{"id": "b", "updated_at": T, "data": 1},
                                         {"id": "a", "updated_at": T, "data": 1}]}}),
            json!({"chat": {"messages": [{"id": "a", "updated_at": T, "data": 1},
                                         {"id": "a", "updated_at": T, "data": 2}]}}),
            json!({"chat": {"messages": [{"id": "a", "updated_at": T, "data": null}]}}),
            json!({"chat": {"messages": [{"id": "a", "updated_at": T}]}}),
            json!({"chat": {"messages": [{"id": "a", "updated_at": "now", "data": 1}]}}),
            json!({"chat": {"messages": [{"id": "a", "updated_at": T, "data": 1, "deleted": true}]}}),
        ];
        for bad in bad_cases {
            assert_eq!(
                parse_bundle_sections(bad.as_object().unwrap())
                    .unwrap_err()
                    .code(),
                "BUNDLE_MALFORMED",
                "{bad}"
            );
        }
    }

    #[test]
    fn portable_names_and_keys() {
        assert!(is_portable_name("updated_at"));
        for bad in ["", "_a", "a1", "sha256", "A", "é", &"a".repeat(65)] {
            assert!(!is_portable_name(bad), "{bad}");
        }
        check_portable_keys(&json!({"a": [{"b_c": {"d": 1}}], "e": "Ö"})).unwrap();
        assert!(check_portable_keys(&json!({"a": [{"sha256": 1}]})).is_err());
        assert!(check_portable_keys(&json!([{"camelCase": 1}])).is_err());
    }
}

/// The fast paths give exactly what the general ones give.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)]
mod fast_paths {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const T: &str = "2026-03-09T16:45:00.123Z";

    fn node() -> Keypair {
        Keypair::from_seed(&[2; 32])
    }

    fn general(text: &str, node_did: &str) -> Result<VerifiedPage> {
        VerifiedPage::read_general(text, node_did)
    }

    /// The fast path alone, hashing as [`VerifiedPage::read`] does.
    fn fast_page(text: &str, node_did: &str) -> Option<VerifiedPage> {
        let prepared = PreparedPage::new(text)?;
        let (before, after) = prepared.unsigned();
        let hash: [u8; 32] = Sha256::digest(format!("{before}{after}")).into();
        prepared.finish(node_did, &hash)
    }

    fn same(text: &str, node_did: &str) {
        let fast = VerifiedPage::read(text, node_did);
        let slow = general(text, node_did);
        match (&fast, &slow) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "{a} / {b}"),
            _ => panic!("fast {fast:?} but general {slow:?} for {text}"),
        }
    }

    fn item_strategy() -> impl Strategy<Value = ExportItem> {
        let data = prop_oneof![
            Just(json!({"content": "hi", "n": 3})),
            Just(json!({"context": "ctx_1", "price": {"amount": 1250, "currency": "EUR"}})),
            Just(json!({"text": "Ça \"marche\" 👍\n\u{1}", "ratio": 0.25, "big": 1e21})),
            Just(json!({"\u{e000}": 1, "\u{1f600}": [true, null, -7]})),
            Just(json!([1, 2, {"a": "b"}])),
        ];
        (
            "[a-z]{1,8}",
            "[a-zA-Z0-9_\"\\\\\u{e9}]{1,12}",
            any::<bool>(),
            data,
        )
            .prop_map(|(collection, id, deleted, data)| ExportItem {
                collection,
                id,
                updated_at: T.into(),
                deleted,
                data: if deleted { Value::Null } else { data },
            })
    }

    fn signed_text(items: Vec<ExportItem>, done: bool) -> String {
        let page = ExportPage {
            did: Keypair::from_seed(&[1; 32]).did(),
            service: "chat".into(),
            section: "chat".into(),
            items,
            cursor: "c.5".into(),
            done,
        };
        canonical::to_canonical_string(&page.sign(&node(), T).unwrap()).unwrap()
    }

    #[test]
    fn a_canonical_page_takes_the_fast_path() {
        let items = vec![
            ExportItem::from_value(
                &json!({"collection": "messages", "id": "m\"1", "updated_at": T,
                "data": {"context": "c\u{1}", "content": "Ça marche 👍", "size": 12, "f": 1.5}}),
            )
            .unwrap(),
            ExportItem::from_value(
                &json!({"collection": "messages", "id": "m2", "updated_at": T,
                "deleted": true, "data": null}),
            )
            .unwrap(),
        ];
        let text = signed_text(items, true);
        let node_did = node().did_key();
        let fast = fast_page(&text, &node_did).expect("the fast path takes a canonical page");
        assert_eq!(fast, general(&text, &node_did).unwrap());
        assert_eq!(fast.items[0].context().as_deref(), Some("c\u{1}"));
        assert_eq!(fast.items[1].data, "null");
        // The same page pretty-printed goes the general way, to the same result.
        let pretty = serde_json::to_string_pretty(&canonical::parse(&text).unwrap()).unwrap();
        assert!(fast_page(&pretty, &node_did).is_none());
        assert_eq!(VerifiedPage::read(&pretty, &node_did).unwrap(), fast);
    }

    #[test]
    fn the_node_s_page_text_is_the_signed_page() {
        let node = node();
        let stored = [
            ("messages", "m1", false, Some(r#"{"a":1,"b":"x"}"#)),
            // Not canonical as stored: canonicalized on the way.
            ("messages", "m2", false, Some(r#"{ "b": 2.50, "a": 1E2 }"#)),
            ("messages", "m\"3", true, None),
        ];
        let text = signed_page_text(
            "did:imajin:x",
            "chat",
            "chat",
            stored.iter().map(|(c, id, deleted, data)| StoredItemText {
                collection: c,
                id,
                updated_at: T,
                deleted: *deleted,
                data: *data,
            }),
            "c.5",
            false,
            &node,
            T,
        )
        .unwrap();
        let page = ExportPage {
            did: "did:imajin:x".into(),
            service: "chat".into(),
            section: "chat".into(),
            items: stored
                .iter()
                .map(|(c, id, deleted, data)| ExportItem {
                    collection: (*c).into(),
                    id: (*id).into(),
                    updated_at: T.into(),
                    deleted: *deleted,
                    data: data.map_or(Value::Null, |d| canonical::parse(d).unwrap()),
                })
                .collect(),
            cursor: "c.5".into(),
            done: false,
        };
        let expected = canonical::to_canonical_string(&page.sign(&node, T).unwrap()).unwrap();
        assert_eq!(text, expected);
        assert!(canonical_text::is_canonical(&text, canonical::MAX_DEPTH));
        assert!(signed_page_text(
            "did:imajin:x",
            "chat",
            "chat",
            [StoredItemText {
                collection: "messages",
                id: "m",
                updated_at: T,
                deleted: false,
                data: Some("{\"a\":"),
            }],
            "c.5",
            false,
            &node,
            T,
        )
        .is_err());
    }

    #[test]
    fn bundle_sections_from_text_agree_with_the_general_path() {
        let general = |text: &str| -> Result<BundleSectionsText> {
            let value = canonical::parse(text)?;
            let sections = parse_bundle_sections(value["sections"].as_object().unwrap())?;
            Ok(sections
                .into_iter()
                .map(|(s, c)| {
                    let c = c
                        .into_iter()
                        .map(|(n, items)| {
                            let items = items
                                .into_iter()
                                .map(|i| BundleItemText {
                                    data: canonical::to_canonical_string(&i.data).unwrap(),
                                    id: i.id,
                                    updated_at: i.updated_at,
                                })
                                .collect();
                            (n, items)
                        })
                        .collect();
                    (s, c)
                })
                .collect())
        };
        let item = |id: &str, data: Value| json!({"id": id, "updated_at": T, "data": data});
        let cases = [
            json!({"chat": {"messages": [item("a", json!({"f": 1.5, "t": "x\"y"})), item("b", json!([1]))]}, "media": {}}),
            json!({"chat": {"messages": [item("b", json!(1)), item("a", json!(2))]}}),
            json!({"chat": {"messages": [item("a", Value::Null)]}}),
            json!({"Chat": {}}),
            json!({"chat": {"messages": {}}}),
            json!({"chat": {"messages": [{"id": "a", "updated_at": T, "data": 1, "x": 2}]}}),
            json!({"chat": {"messages": [item("a", json!(1)), item("a", json!(1))]}}),
        ];
        for sections in cases {
            let text =
                canonical::to_canonical_string(&json!({"did": "x", "sections": sections})).unwrap();
            let pretty = serde_json::to_string_pretty(&canonical::parse(&text).unwrap()).unwrap();
            for text in [text, pretty] {
                match (parse_bundle_sections_text(&text), general(&text)) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b),
                    (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
                    (a, b) => panic!("{a:?} / {b:?} for {text}"),
                }
            }
        }
    }

    proptest! {
        #[test]
        fn fast_and_general_agree(
            items in prop::collection::vec(item_strategy(), 0..6),
            done in any::<bool>(),
            cut in 0usize..4000,
            insert in prop_oneof![Just(""), Just(" "), Just("1"), Just("\""), Just(","), Just("x")],
            wrong_key in any::<bool>(),
        ) {
            let text = signed_text(items, done);
            let node_did = if wrong_key {
                Keypair::from_seed(&[3; 32]).did_key()
            } else {
                node().did_key()
            };
            same(&text, &node_did);
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            same(&format!("{}{}{}", &text[..at], insert, &text[at..]), &node_did);
        }
    }
}
