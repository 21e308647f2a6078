//! The properties the fuzz targets check, one function per target. Each takes the fuzzer's raw bytes
//! and panics when a property does not hold. `tests/fuzz_regressions.rs` includes this file and replays
//! saved inputs through the same functions in a native `cargo test`, so that it needs nothing but the
//! vault crate's own dependencies.
//!
//! - [`canonicalize`]: JSON text → RFC 8785. Accepted text is JSON; its canonical form is accepted
//!   again and is a fixed point; the core's bytes equal `serde_json_canonicalizer`'s (the core writes
//!   plain values with serde_json directly); refusals carry one of the parser's codes.
//! - [`export_page`]: JSON text → export page. An accepted page reads back from its own form, each item
//!   hashes and converts, and a node can sign it so that it verifies after a trip through JSON text;
//!   the fast page reader agrees with the general one on every text, including texts signed over
//!   their raw bytes; the node's page writer gives the signed page's canonical bytes; timestamps
//!   round-trip.
//! - [`merge`]: bytes → export items in a few pages, merged into the store in several orders. The
//!   bundle equals a model (the latest version of each item, ties broken by content hash) whatever the
//!   order; a second merge changes nothing; replaying the stored commits rebuilds the same store and
//!   log; the bundle text the store writes from its stored bodies is the bundle's canonical form, signs
//!   to the same bytes as the value path, verifies, and is accepted back.
//! - [`bundle_verify`]: bytes → either JSON text given to `verify_bundle` (it never panics, and what it
//!   accepts still verifies after canonicalization), or a bundle built and signed from the bytes, then
//!   altered at a few byte positions: it verifies exactly when its canonical form is unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use bundle_vault::core::bundle::{self, Bundle, GENESIS_HEAD};
use bundle_vault::core::canonical;
use bundle_vault::core::did;
use bundle_vault::core::export::{self, BundleItem, ExportItem, ExportPage, VerifiedPage};
use bundle_vault::core::keys::Keypair;
use bundle_vault::core::merge;
use bundle_vault::core::proof;
use bundle_vault::core::rights;
use bundle_vault::core::store::{Incoming, MergeReport, Store};
use serde_json::{json, Map, Number, Value};
use sha2::{Digest, Sha256};

/// The proofs' `created` (dateTime), the same for every input.
const CREATED: &str = "2026-03-09T16:45:00Z";
/// The log's `t` for every merge.
const NOW_SECS: u64 = 1_773_074_700;

fn node_key() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| Keypair::from_seed(&[7; 32]))
}

fn owner_key() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| Keypair::from_seed(&[9; 32]))
}

fn other_key() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| Keypair::from_seed(&[11; 32]))
}

/// The canonical text of a value: values are compared by it, since a number's spelling (`0.0`, `-0`,
/// `0`) may change on the way while its canonical form does not.
fn canonical_text(value: &Value) -> String {
    canonical::to_canonical_string(value).expect("an accepted value canonicalizes")
}

// ---------------------------------------------------------------------------------------------------
// canonicalize

/// Canonicalization of arbitrary text.
pub fn canonicalize(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let out = match canonical::canonicalize_str(text) {
        Ok(out) => out,
        Err(e) => {
            assert!(
                matches!(e.code(), "INVALID_JSON" | "UNSAFE_NUMBER" | "TOO_DEEP"),
                "unexpected refusal {}: {e}",
                e.code()
            );
            return;
        }
    };
    // Whatever the core accepts is JSON for a permissive reader too, with the same canonical form
    // (duplicate keys are refused, so both readers see the same value).
    let permissive: Value = serde_json::from_str(text).expect("accepted text is JSON");
    let value = canonical::parse(text).expect("canonicalize_str accepted it");
    let expected = serde_json_canonicalizer::to_string(&value).expect("the crate canonicalizes it");
    assert_eq!(out, expected, "the core's bytes differ from the crate's");
    assert_eq!(
        serde_json_canonicalizer::to_string(&permissive).expect("the crate canonicalizes it"),
        out
    );
    // The fast path: a plain value's serde_json text is already canonical.
    if canonical::check_value_plain(&value).expect("checked above") {
        assert_eq!(
            serde_json::to_string(&value).expect("serializes"),
            out,
            "a plain value's serde_json form is not canonical"
        );
    }
    // The canonical form is accepted again and is a fixed point.
    let again = canonical::canonicalize_str(&out)
        .unwrap_or_else(|e| panic!("canonical output {out:?} of {text:?} is refused: {e}"));
    assert_eq!(again, out, "canonicalization is not idempotent");
}

// ---------------------------------------------------------------------------------------------------
// export pages

/// Export-page parsing of arbitrary text (and the protocol timestamp of the same text).
pub fn export_page(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ms) = export::parse_timestamp(text) {
        assert_eq!(
            export::format_timestamp(ms).expect("a parsed timestamp formats"),
            text,
            "a timestamp does not round-trip"
        );
    }
    check_fast_page(text);
    check_fast_page(&signed_as_is(text));
    let Ok(value) = canonical::parse(text) else {
        return;
    };
    let page = match ExportPage::from_value(&value) {
        Ok(page) => page,
        Err(e) => {
            assert!(
                matches!(
                    e.code(),
                    "EXPORT_MALFORMED" | "INVALID_DID" | "UNSAFE_NUMBER" | "TOO_DEEP"
                ),
                "unexpected refusal {}: {e}",
                e.code()
            );
            return;
        }
    };
    check_page(&value, &page);
}

fn check_page(value: &Value, page: &ExportPage) {
    assert_eq!(
        ExportPage::from_value(&page.to_value()).as_ref(),
        Ok(page),
        "a page does not read back from its own form"
    );
    for item in &page.items {
        merge::item_hash(
            &item.collection,
            &item.id,
            &item.updated_at,
            item.deleted,
            &item.data,
        )
        .expect("an accepted item hashes");
        assert_eq!(ExportItem::from_value(&item.to_value()).as_ref(), Ok(item));
        if let Some(bundle_item) = item.to_bundle_item() {
            assert_eq!(
                BundleItem::from_value(&bundle_item.to_value()).as_ref(),
                Ok(&bundle_item)
            );
        }
    }
    // Whatever page the vault accepts, a node can sign, and it verifies on arrival as JSON text, both
    // in serde_json's form (what the node sends) and in canonical form.
    let node = node_key();
    let signed = page
        .sign(node, CREATED)
        .expect("an accepted page can be signed");
    for text in [
        serde_json::to_string(&signed).expect("serializes"),
        canonical::to_canonical_string(&signed).expect("a signed page canonicalizes"),
    ] {
        let received = canonical::parse(&text)
            .unwrap_or_else(|e| panic!("the text of a signed page is refused: {e}: {text}"));
        check_fast_page(&text);
        let verified = ExportPage::verify(&received, &node.did_key()).unwrap_or_else(|e| {
            panic!("a signed page does not verify after a trip through text: {e}")
        });
        assert_eq!(
            canonical_text(&verified.to_value()),
            canonical_text(&page.to_value()),
            "a signed page reads back as another page"
        );
    }
    // The node writes its pages around the items' stored data text, without value trees: the same
    // bytes as the canonical form of the signed page, whether the stored text is canonical or not.
    let data_texts: Vec<Option<String>> = page
        .items
        .iter()
        .map(|item| (!item.deleted).then(|| serde_json::to_string(&item.data).expect("serializes")))
        .collect();
    let written = export::signed_page_text(
        &page.did,
        &page.service,
        &page.section,
        page.items
            .iter()
            .zip(&data_texts)
            .map(|(item, data)| export::StoredItemText {
                collection: &item.collection,
                id: &item.id,
                updated_at: &item.updated_at,
                deleted: item.deleted,
                data: data.as_deref(),
            }),
        &page.cursor,
        page.done,
        node,
        CREATED,
    )
    .expect("a node writes every accepted page");
    assert_eq!(
        written,
        canonical_text(&signed),
        "the node's page writer differs from the canonical form of the signed page"
    );
    // A proof the input brought is checked without panicking, whatever the answer.
    let _ = ExportPage::verify(value, &node.did_key());
}

/// `text` with a `proof` member by the node key over its bytes exactly as they are, inserted where
/// RFC 8785 puts it (before `,"section":`, else before the closing brace). When `text` is a canonical
/// page, that is the page signed; when it is not, only a reader that takes the bytes for canonical
/// would accept it.
pub fn signed_as_is(text: &str) -> String {
    let Some(body) = text.strip_suffix('}') else {
        return text.to_owned();
    };
    let at = body.rfind(",\"section\":").unwrap_or(body.len());
    let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let proof =
        proof::sign_prehashed(&hash, node_key(), CREATED).expect("the proof options are valid");
    let proof = canonical_text(&Value::Object(proof));
    format!("{},\"proof\":{proof}{}", &text[..at], &text[at..])
}

/// The vault's page reader takes a fast path for canonical pages; it must agree with the general
/// path (strict parse, shape check, proof over the canonical form) on every text: the same page, or
/// the same error.
fn check_fast_page(text: &str) {
    let node = node_key().did_key();
    match (
        VerifiedPage::read(text, &node),
        VerifiedPage::read_general(text, &node),
    ) {
        (Ok(fast), Ok(general)) => assert_eq!(fast, general, "the fast path reads another page"),
        (Err(fast), Err(general)) => assert_eq!(fast.code(), general.code()),
        (fast, general) => panic!(
            "the fast path answers {:?}, the general path {:?}, for {text}",
            fast.map(|_| "a page"),
            general.map(|_| "a page")
        ),
    }
}

// ---------------------------------------------------------------------------------------------------
// merge

/// Reads the fuzzer's bytes front to back; past the end every byte is 0.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn pick<T: Clone>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()].clone()
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |n, _| (n << 8) | u64::from(self.byte()))
    }
}

/// Keys that sort differently in byte and UTF-16 order, need escaping, or are not portable names.
const KEYS: &[&str] = &[
    "a",
    "b",
    "context",
    "a_b",
    "B",
    "_",
    "é",
    "\u{e000}",
    "\u{1f600}",
    "\u{ff5e}",
    "",
];
/// Characters for strings: escapes, controls, line separators, astral and BMP-end characters.
const CHARS: &[char] = &[
    'a',
    'z',
    '"',
    '\\',
    '/',
    '\n',
    '\u{1}',
    '\u{1f}',
    '\u{7f}',
    'é',
    '\u{2028}',
    '\u{e000}',
    '\u{ffff}',
    '\u{1f600}',
    '<',
    ' ',
];
/// Numbers at the edges of JSON and ECMAScript formatting.
const FLOATS: &[f64] = &[
    0.5,
    -0.0,
    1e-7,
    1e-6,
    1e21,
    1e20,
    1e16,
    9_007_199_254_740_992.0,
    123.456,
    5e-324,
    1.7976931348623157e308,
];

fn string(input: &mut Bytes<'_>) -> String {
    let len = input.byte() % 6;
    (0..len).map(|_| input.pick(CHARS)).collect()
}

/// A JSON value from the bytes, at most `depth` containers deep.
fn json_value(input: &mut Bytes<'_>, depth: u8) -> Value {
    let tag = input.byte() % if depth == 0 { 7 } else { 9 };
    match tag {
        0 => Value::Null,
        1 => Value::Bool(input.byte() & 1 == 1),
        2 => Value::from(i64::from(input.byte() as i8)),
        3 => Value::from(input.u64() as i64),
        4 => Number::from_f64(f64::from_bits(input.u64())).map_or(Value::Null, Value::Number),
        5 => Value::from(input.pick(FLOATS)),
        6 => Value::String(string(input)),
        7 => Value::Array(
            (0..input.byte() % 4)
                .map(|_| json_value(input, depth - 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..input.byte() % 4 {
                let key = input.pick(KEYS).to_owned();
                let value = json_value(input, depth - 1);
                map.insert(key, value);
            }
            Value::Object(map)
        }
    }
}

/// The version of an item the model keeps: the maximum by `(updated_at, hash)`.
#[derive(Clone)]
struct ModelVersion {
    updated_at: String,
    hash: [u8; 32],
    deleted: bool,
    data: Value,
}

type ItemKey = (String, String, String);

/// One page to merge: service (= section) and items.
type Page = (String, Vec<ExportItem>);

/// Stored commits: number, heads, bodies and log records as JSON text.
type Commits = Vec<(u64, String, String, String)>;

/// Builds pages of valid export items from the bytes: what the vault merges after checking a page.
fn pages_from(input: &mut Bytes<'_>) -> Vec<Page> {
    const COLLECTIONS: &[&str] = &["messages", "assets", "tickets", "Messages"];
    const IDS: &[&str] = &["a", "b", "a_1", "é", "\u{1f600}", "b ", "z", "\u{e000}"];
    const TIMES: &[&str] = &[
        "2026-03-09T16:45:00.000Z",
        "2026-03-09T16:45:00.001Z",
        "2026-03-10T00:00:00.000Z",
        "2030-01-01T00:00:00.000Z",
        "2026-03-09T16:45:00Z",
    ];
    let count = usize::from(input.byte() % 5) + 1;
    let mut pages: Vec<Page> = (0..count)
        .map(|i| (["chat", "media"][i % 2].to_owned(), Vec::new()))
        .collect();
    while !input.is_empty() {
        let page = usize::from(input.byte()) % count;
        let deleted = input.byte().is_multiple_of(4);
        let mut item = json!({
            "collection": input.pick(COLLECTIONS),
            "id": input.pick(IDS),
            "updated_at": input.pick(TIMES),
            "data": if deleted { Value::Null } else { json_value(input, 3) },
        });
        if deleted {
            item["deleted"] = Value::Bool(true);
        }
        // Items a page check refuses (bad names, times, numbers) never reach the merge.
        let Ok(item) = ExportItem::from_value(&item) else {
            continue;
        };
        let items = &mut pages[page].1;
        // A page names an item at most once (the page check refuses it otherwise).
        if !items
            .iter()
            .any(|i| i.collection == item.collection && i.id == item.id)
        {
            items.push(item);
        }
    }
    pages
}

/// Merges pages in the given order, as the vault does: stage, write, apply.
fn merge_pages<'a>(
    store: &mut Store,
    commits: &mut Commits,
    pages: impl IntoIterator<Item = &'a Page>,
) -> MergeReport {
    let mut total = MergeReport::default();
    for (service, items) in pages {
        let incoming = items
            .iter()
            .cloned()
            .map(|item| Incoming::try_from(item).expect("a valid item is an incoming version"))
            .collect();
        let staged = store
            .stage(service, service, incoming, NOW_SECS)
            .expect("valid items merge");
        total.add(&staged.report);
        if staged.is_empty() {
            assert!(
                staged.entries.is_empty(),
                "log entries without a stored row"
            );
            continue;
        }
        commits.push((
            staged.number,
            staged.heads_json().expect("heads serialize"),
            staged.bodies_json().expect("bodies serialize"),
            staged.log_json().expect("log serializes"),
        ));
        store.apply(staged).expect("a staged commit applies");
    }
    total
}

fn assemble(store: &Store, commits: &Commits) -> Bundle {
    store
        .assemble(
            &owner_key().did(),
            "vault",
            CREATED,
            commits
                .iter()
                .map(|(n, heads, bodies, _)| (*n, heads.as_str(), bodies.as_str())),
        )
        .expect("the store assembles")
}

/// The bundle sections the merge must produce: for each item its maximum version; live ones listed,
/// sorted by id; every collection that ever received a version present (possibly empty).
fn model(pages: &[Page]) -> Value {
    let mut best: BTreeMap<ItemKey, ModelVersion> = BTreeMap::new();
    let mut collections: BTreeSet<(String, String)> = BTreeSet::new();
    for (section, items) in pages {
        for item in items {
            let hash = merge::item_hash(
                &item.collection,
                &item.id,
                &item.updated_at,
                item.deleted,
                &item.data,
            )
            .expect("valid items hash");
            collections.insert((section.clone(), item.collection.clone()));
            let key = (section.clone(), item.collection.clone(), item.id.clone());
            let candidate = ModelVersion {
                updated_at: item.updated_at.clone(),
                hash,
                deleted: item.deleted,
                data: item.data.clone(),
            };
            let wins = best.get(&key).is_none_or(|b| {
                (candidate.updated_at.as_str(), &candidate.hash) > (b.updated_at.as_str(), &b.hash)
            });
            if wins {
                best.insert(key, candidate);
            }
        }
    }
    let mut sections = Map::new();
    for (section, collection) in collections {
        let items: Vec<Value> = best
            .iter()
            .filter(|((s, c, _), v)| *s == section && *c == collection && !v.deleted)
            .map(|((_, _, id), v)| json!({"id": id, "updated_at": v.updated_at, "data": v.data}))
            .collect();
        let entry = sections
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        entry[collection.as_str()] = Value::Array(items);
    }
    Value::Object(sections)
}

fn live_count(store: &Store) -> u64 {
    store.counts().values().flat_map(|c| c.values()).sum()
}

/// Merging valid export items in any order, again, and after a reload.
pub fn merge(data: &[u8]) {
    let mut input = Bytes(data);
    let pages = pages_from(&mut input);
    let expected = model(&pages);

    let mut store = Store::new();
    let mut commits = Commits::new();
    let report = merge_pages(&mut store, &mut commits, &pages);
    let bundle = assemble(&store, &commits);
    assert_eq!(
        canonical_text(&Value::Object(bundle.sections.clone())),
        canonical_text(&expected),
        "the merged bundle is not the latest version of each item"
    );
    let bytes = canonical::to_canonical_vec(&bundle.to_value().expect("a bundle is JSON"))
        .expect("a merged bundle canonicalizes");

    // Counts: the log has one entry per visible change; live items are those added minus deleted.
    let changes = report.added + report.updated + report.deleted;
    assert_eq!(store.chain().length, changes, "one log entry per change");
    assert_eq!(live_count(&store), report.added - report.deleted);
    assert_eq!(bundle.log, store.chain().commitment());

    // Order independence: the same pages in reverse order, and rotated, give the same bytes (the log
    // differs: it records the order things happened in).
    let rotation = pages.len() / 2;
    let orders: [Vec<&Page>; 2] = [
        pages.iter().rev().collect(),
        pages[rotation..].iter().chain(&pages[..rotation]).collect(),
    ];
    for order in orders {
        let mut other = Store::new();
        let mut other_commits = Commits::new();
        merge_pages(&mut other, &mut other_commits, order);
        let other_bundle = assemble(&other, &other_commits);
        assert_eq!(other.counts(), store.counts());
        assert_eq!(
            canonical::to_canonical_vec(&Value::Object(other_bundle.sections))
                .expect("canonicalizes"),
            canonical::to_canonical_vec(&Value::Object(bundle.sections.clone()))
                .expect("canonicalizes"),
            "the merge depends on the order of pages"
        );
    }

    // Replay: a store rebuilt from the stored heads and log records is the same store.
    let mut reloaded = Store::new();
    for (number, heads, _, log) in &commits {
        reloaded
            .load_commit(*number, heads, log)
            .expect("stored commits reload");
    }
    reloaded
        .check_head(store.chain())
        .expect("the reloaded log ends where it did");
    assert_eq!(reloaded.counts(), store.counts());
    let reloaded_bundle = assemble(&reloaded, &commits);
    assert_eq!(
        canonical::to_canonical_vec(&reloaded_bundle.to_value().expect("a bundle is JSON"))
            .expect("canonicalizes"),
        bytes,
        "a reloaded store assembles another bundle"
    );

    // Idempotence: merging everything again stores nothing and logs nothing.
    let commits_before = commits.len();
    let again = merge_pages(&mut store, &mut commits, &pages);
    assert_eq!(
        (again.added, again.updated, again.deleted),
        (0, 0, 0),
        "a repeated merge changed something"
    );
    assert_eq!(
        commits.len(),
        commits_before,
        "a repeated merge stored something"
    );
    assert_eq!(store.chain().length, changes);

    // The merged bundle is well formed, and its canonical text (what is signed, pushed and saved as a
    // backup) reads back as the same bundle.
    export::parse_bundle_sections(&bundle.sections).expect("merged sections are well formed");
    let text = String::from_utf8(bytes).expect("UTF-8");
    // The vault writes that text straight from the stored bodies, and signs it as text: the same
    // bytes as the value path, the same counts, and a proof that verifies.
    let written = store
        .assemble_text(
            &owner_key().did(),
            "vault",
            CREATED,
            &store.chain().commitment(),
            commits
                .iter()
                .map(|(n, heads, bodies, _)| (*n, heads.as_str(), bodies.as_str())),
            false,
        )
        .expect("the store writes its bundle text");
    assert_eq!(
        written.text, text,
        "the bundle text differs from the bundle's canonical form"
    );
    assert_eq!(written.counts, rights::bundle_counts(&bundle.sections));
    let signed_text = bundle::sign_text(
        written.text,
        written.sections_at,
        &owner_key().did(),
        owner_key(),
        CREATED,
    )
    .expect("a merged bundle signs as text");
    let signed = bundle
        .sign(owner_key(), CREATED)
        .expect("a merged bundle signs");
    assert_eq!(
        signed_text,
        canonical_text(&signed),
        "the two signing paths differ"
    );
    let verified = bundle::verify_bundle(&canonical::parse(&signed_text).expect("parses"))
        .expect("a merged, signed bundle verifies");
    assert_eq!(verified.did, owner_key().did());
    let received = canonical::parse(&text)
        .unwrap_or_else(|e| panic!("the canonical text of a merged bundle is refused: {e}"));
    Bundle::check_shape(&received).expect("a merged bundle has a bundle's shape");
    assert_eq!(
        canonical::to_canonical_string(&received).expect("canonicalizes"),
        text
    );
}

// ---------------------------------------------------------------------------------------------------
// bundle verification

/// Bundle verification: arbitrary text (first byte even), or a signed bundle built from the bytes and
/// altered (first byte odd).
pub fn bundle_verify(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        verify_text(rest);
    } else {
        verify_built(&mut Bytes(rest));
    }
}

fn verify_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = canonical::parse(text) else {
        return;
    };
    let Ok(verified) = bundle::verify_bundle(&value) else {
        return;
    };
    // Accepted: its DID names the signing key, its shape reads, and its canonical text verifies too.
    let key = proof::resolve_method(&verified.verification_method).expect("a verified method");
    assert_eq!(did::public_key(&verified.did).ok(), Some(key));
    Bundle::from_value(&value).expect("a verified bundle has a bundle's shape");
    let canonical_text = canonical::to_canonical_string(&value).expect("canonicalizes");
    let again = canonical::parse(&canonical_text).expect("canonical text parses");
    assert_eq!(bundle::verify_bundle(&again), Ok(verified));
}

fn verify_built(input: &mut Bytes<'_>) {
    let (owner, other) = (owner_key(), other_key());
    let did = input.pick(&[
        owner.did(),
        owner.did_key(),
        other.did(),
        "did:imajin:alice".to_owned(),
    ]);
    let mut sections = Map::new();
    for _ in 0..input.byte() % 4 {
        let name = input.pick(&["chat", "media", "identity", "Chat", "a_b"]);
        let section = json_value(input, 4);
        sections.insert(name.to_owned(), section);
    }
    let head = if input.byte() & 1 == 0 {
        GENESIS_HEAD.to_owned()
    } else {
        format!("{:064x}", input.u64())
    };
    let unsigned = json!({
        "did": did,
        "exported_at": CREATED,
        "node": string(input),
        "sections": sections,
        "log": {"length": input.u64() >> 12, "head": head},
    });
    let shape_ok = Bundle::check_shape(&unsigned).is_ok();
    let Ok(signed) = proof::sign(unsigned, owner, CREATED) else {
        return;
    };
    let result = bundle::verify_bundle(&signed);
    let expected = if !shape_ok {
        None
    } else if did == owner.did() || did == owner.did_key() {
        Some("OK")
    } else if did == other.did() {
        Some("DID_MISMATCH")
    } else {
        Some("DID_UNVERIFIABLE")
    };
    let got = result.as_ref().map_or_else(|e| e.code(), |_| "OK");
    if let Some(code) = expected {
        assert_eq!(got, code, "{signed}");
    } else {
        assert!(result.is_err(), "a malformed bundle verified: {signed}");
    }
    if got != "OK" {
        return;
    }
    // Altered at a few positions: it verifies exactly when its canonical form is unchanged.
    let original = canonical::to_canonical_vec(&signed).expect("canonicalizes");
    let mut altered = original.clone();
    for _ in 0..input.byte() % 3 + 1 {
        let at = ((usize::from(input.byte()) << 8) | usize::from(input.byte())) % altered.len();
        altered[at] = input.byte();
    }
    let Ok(text) = std::str::from_utf8(&altered) else {
        return;
    };
    let Ok(value) = canonical::parse(text) else {
        return;
    };
    let same = canonical::to_canonical_vec(&value).is_ok_and(|c| c == original);
    let verifies = bundle::verify_bundle(&value).is_ok();
    assert_eq!(
        verifies, same,
        "an altered bundle {text} verifies: {verifies}, is the same: {same}"
    );
}
