//! The storage model: commits staged, applied, reloaded and assembled into the same bundle bytes.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

use bundle_vault::core::{
    canonical,
    store::{Head, HeadsRecord, Incoming, Store},
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn item(collection: &str, id: &str, t: u32, data: Value) -> Incoming {
    Incoming::new(
        collection.into(),
        id.into(),
        format!("2026-01-01T00:00:{t:02}.000Z"),
        false,
        &data,
    )
    .unwrap()
}

fn tombstone(collection: &str, id: &str, t: u32) -> Incoming {
    Incoming::new(
        collection.into(),
        id.into(),
        format!("2026-01-01T00:00:{t:02}.000Z"),
        true,
        &Value::Null,
    )
    .unwrap()
}

/// Stores written as the IndexedDB layer would: (number, heads, bodies, log) per non-empty commit.
#[derive(Default)]
struct Written(Vec<(u64, String, String, String)>);

impl Written {
    /// Keeps a staged commit's records, as the IndexedDB layer writes them (none for an empty one).
    fn record(&mut self, staged: &bundle_vault::core::store::StagedCommit) {
        if !staged.is_empty() {
            self.0.push((
                staged.number,
                staged.heads_json().unwrap(),
                staged.bodies_json().unwrap(),
                staged.log_json().unwrap(),
            ));
        }
    }

    /// `(number, heads, bodies)` of every commit, as `Store::assemble` takes them.
    fn commits(&self) -> impl Iterator<Item = (u64, &str, &str)> {
        self.0
            .iter()
            .map(|(n, h, b, _)| (*n, h.as_str(), b.as_str()))
    }
}

fn merge_page(
    store: &mut Store,
    written: &mut Written,
    section: &str,
    items: Vec<Incoming>,
) -> bundle_vault::core::store::MergeReport {
    let staged = store.stage(section, section, items, 1_709_000_000).unwrap();
    let report = staged.report;
    written.record(&staged);
    store.apply(staged).unwrap();
    report
}

fn bundle_text(store: &Store, written: &Written) -> String {
    let bundle = store
        .assemble(
            "did:imajin:x",
            "vault",
            "2026-03-09T16:45:00Z",
            written.commits(),
        )
        .unwrap();
    let general = canonical::to_canonical_string(&bundle.to_value().unwrap()).unwrap();
    // The fast assembly writes the same bytes straight from the records.
    let fast = store
        .assemble_text(
            "did:imajin:x",
            "vault",
            "2026-03-09T16:45:00Z",
            &store.chain().commitment(),
            written.commits(),
            false,
        )
        .unwrap();
    assert_eq!(fast.text, general);
    assert!(fast.text[fast.sections_at..].starts_with(",\"sections\":"));
    assert_eq!(
        fast.counts,
        bundle_vault::core::rights::bundle_counts(&bundle.sections)
    );
    general
}

#[test]
fn bodies_of_any_form_assemble_and_sign_like_the_general_path() {
    let mut store = Store::new();
    let mut written = Written::default();
    merge_page(
        &mut store,
        &mut written,
        "chat",
        vec![
            item(
                "messages",
                "m\"2",
                1,
                json!({"f": 1.5, "big": 1e21, "\u{e000}": 1, "\u{1f600}": [2]}),
            ),
            item("messages", "m1", 1, json!({"text": "Ça \u{1} marche"})),
            item("messages", "m3", 1, json!({"text": "é😀".repeat(500)})),
        ],
    );
    // A bodies record written by an older version: serde_json's form, not canonical for floats.
    let (n, h, _, l) = written.0.pop().unwrap();
    let old_bodies = format!(
        r#"[{{"big":1e21,"f":1.50,"😀":[2],"":1}},{{"text":"Ça \u0001 marche"}},{{"text":"{}"}}]"#,
        "é😀".repeat(500)
    );
    written.0.push((n, h, old_bodies, l));
    let text = bundle_text(&store, &written);
    assert!(text.contains(r#""big":1e+21"#), "{text}");

    let key = bundle_vault::core::keys::Keypair::from_seed(&[5; 32]);
    let did = key.did();
    let bundle = store
        .assemble(&did, "vault", "2026-03-09T16:45:00Z", written.commits())
        .unwrap();
    let general =
        canonical::to_canonical_string(&bundle.sign(&key, "2026-03-09T16:45:00Z").unwrap())
            .unwrap();
    let unsigned = store
        .assemble_text(
            &did,
            "vault",
            "2026-03-09T16:45:00Z",
            &store.chain().commitment(),
            written.commits(),
            true,
        )
        .unwrap();
    let fast = bundle_vault::core::bundle::sign_text(
        unsigned.text.clone(),
        unsigned.sections_at,
        &did,
        &key,
        "2026-03-09T16:45:00Z",
    )
    .unwrap();
    assert_eq!(fast, general);
    let other = bundle_vault::core::keys::Keypair::from_seed(&[6; 32]);
    assert_eq!(
        bundle_vault::core::bundle::sign_text(
            unsigned.text.clone(),
            unsigned.sections_at,
            &did,
            &other,
            "2026-03-09T16:45:00Z"
        )
        .unwrap_err()
        .code(),
        "DID_MISMATCH"
    );
    // Assembled with room for them, the proof and the ASCII form (5,000 bytes more here) fit in the
    // text's own buffer: a bundle is not copied to be signed and handed to JavaScript.
    let capacity = unsigned.text.capacity();
    let signed = bundle_vault::core::bundle::sign_text(
        unsigned.text,
        unsigned.sections_at,
        &did,
        &key,
        "2026-03-09T16:45:00Z",
    )
    .unwrap();
    assert_eq!(signed, general);
    assert_eq!(signed.capacity(), capacity);
    let ascii = bundle_vault::core::canonical_text::ascii_json(signed);
    assert!(ascii.is_ascii() && ascii.len() > general.len());
    assert_eq!(ascii.capacity(), capacity);
    assert_eq!(
        serde_json::from_str::<Value>(&ascii).unwrap(),
        serde_json::from_str::<Value>(&general).unwrap()
    );
}

fn pages() -> Vec<(&'static str, Vec<Incoming>)> {
    vec![
        (
            "chat",
            vec![
                item("messages", "msg_b", 1, json!({"content": "b"})),
                item("messages", "msg_a", 1, json!({"content": "a"})),
            ],
        ),
        (
            "media",
            vec![item("assets", "asset_1", 2, json!({"size": 10}))],
        ),
        (
            "chat",
            vec![
                item("messages", "msg_a", 5, json!({"content": "a2"})),
                tombstone("messages", "msg_b", 6),
                tombstone("messages", "msg_z", 6),
            ],
        ),
        (
            "chat",
            vec![item("messages", "msg_b", 3, json!({"content": "old copy"}))],
        ),
    ]
}

#[test]
fn merge_reports_and_bundle_content() {
    let mut store = Store::new();
    let mut written = Written::default();
    let reports: Vec<_> = pages()
        .into_iter()
        .map(|(s, items)| merge_page(&mut store, &mut written, s, items))
        .collect();
    assert_eq!((reports[0].added, reports[0].updated), (2, 0));
    assert_eq!(
        (reports[2].updated, reports[2].deleted, reports[2].unchanged),
        (1, 1, 1)
    );
    assert_eq!(
        (reports[3].added, reports[3].unchanged),
        (0, 1),
        "an older copy does not resurrect"
    );
    assert_eq!(store.counts()["chat"]["messages"], 1);
    assert_eq!(store.counts()["media"]["assets"], 1);
    // Log: 2 adds + 1 add + 1 update + 1 delete.
    assert_eq!(store.chain().length, 5);
    let bundle: Value = serde_json::from_str(&bundle_text(&store, &written)).unwrap();
    assert_eq!(
        bundle["sections"]["chat"]["messages"],
        json!([{"id": "msg_a", "updated_at": "2026-01-01T00:00:05.000Z", "data": {"content": "a2"}}])
    );
    assert_eq!(bundle["log"]["length"], 5);
}

#[test]
fn same_exports_in_any_order_give_the_same_bundle_sections() {
    let mut forward = (Store::new(), Written::default());
    for (s, items) in pages() {
        merge_page(&mut forward.0, &mut forward.1, s, items);
    }
    let mut backward = (Store::new(), Written::default());
    for (s, items) in pages().into_iter().rev() {
        merge_page(
            &mut backward.0,
            &mut backward.1,
            s,
            items.into_iter().rev().collect(),
        );
    }
    // Twice over: idempotent.
    for (s, items) in pages() {
        merge_page(&mut backward.0, &mut backward.1, s, items);
    }
    let sections = |(store, written): &(Store, Written)| {
        let b: Value = serde_json::from_str(&bundle_text(store, written)).unwrap();
        canonical::to_canonical_string(&b["sections"]).unwrap()
    };
    assert_eq!(sections(&forward), sections(&backward));
}

#[test]
fn reload_rebuilds_the_same_state_and_verifies_the_log() {
    let mut store = Store::new();
    let mut written = Written::default();
    for (s, items) in pages() {
        merge_page(&mut store, &mut written, s, items);
    }
    let mut reloaded = Store::new();
    for (n, heads, _, log) in &written.0 {
        reloaded.load_commit(*n, heads, log).unwrap();
    }
    assert_eq!(reloaded.chain(), store.chain());
    assert_eq!(reloaded.counts(), store.counts());
    assert_eq!(
        bundle_text(&reloaded, &written),
        bundle_text(&store, &written)
    );

    // A tampered log record is detected at load: an entry followed by others through the chain ...
    let mut broken = Store::new();
    let (n, heads, _, log) = &written.0[0];
    let tampered = log.replace("msg_b", "msg_q");
    assert_eq!(
        broken.load_commit(*n, heads, &tampered).unwrap_err().code(),
        "LOG_BROKEN"
    );
    // ... and the last entry through the head recorded beside the log.
    let mut last = Store::new();
    for (i, (n, heads, _, log)) in written.0.iter().enumerate() {
        let log = if i + 1 == written.0.len() {
            log.replace("msg_b", "msg_q")
        } else {
            log.clone()
        };
        last.load_commit(*n, heads, &log).unwrap();
    }
    assert_eq!(
        last.check_head(store.chain()).unwrap_err().code(),
        "LOG_BROKEN"
    );
    reloaded.check_head(store.chain()).unwrap();
}

#[test]
fn commits_staged_after_one_another_equal_commits_applied_one_by_one() {
    // An import's sections: each one commit, all staged before any is applied.
    let sections = || {
        vec![
            ("chat", vec![item("messages", "m1", 1, json!({"a": 1}))]),
            ("events", vec![]),
            (
                "media",
                vec![
                    item("assets", "a1", 2, json!({"size": 1})),
                    item("assets", "a2", 2, json!({"size": 2})),
                ],
            ),
        ]
    };
    let mut base = Store::new();
    let mut base_written = Written::default();
    merge_page(
        &mut base,
        &mut base_written,
        "tips",
        vec![item("given", "t1", 1, json!({}))],
    );
    let mut one_by_one = (Store::new(), Written::default());
    merge_page(
        &mut one_by_one.0,
        &mut one_by_one.1,
        "tips",
        vec![item("given", "t1", 1, json!({}))],
    );
    for (section, items) in sections() {
        merge_page(&mut one_by_one.0, &mut one_by_one.1, section, items);
    }

    let mut staged = Vec::new();
    for (section, items) in sections() {
        let next = match staged.last() {
            None => base.stage(section, section, items, 1_709_000_000),
            Some(previous) => base.stage_after(previous, section, section, items, 1_709_000_000),
        }
        .unwrap();
        staged.push(next);
    }
    assert_eq!(base.chain().length, 1, "nothing applied while staging");
    for commit in staged {
        base_written.record(&commit);
        base.apply(commit).unwrap();
    }
    assert_eq!(base.chain(), one_by_one.0.chain());
    assert_eq!(base.next_commit(), one_by_one.0.next_commit());
    assert_eq!(base.counts(), one_by_one.0.counts());
    assert_eq!(
        base_written.0, one_by_one.1 .0,
        "the same records, under the same numbers"
    );
    assert_eq!(
        bundle_text(&base, &base_written),
        bundle_text(&one_by_one.0, &one_by_one.1)
    );
}

#[test]
fn escaped_ids_and_times_assemble_like_the_general_path() {
    let mut store = Store::new();
    let mut written = Written::default();
    merge_page(
        &mut store,
        &mut written,
        "chat",
        vec![
            item("messages", "q\"uote\\d\n", 1, json!({"é": "😀"})),
            item("messages", "plain", 2, json!({})),
            item("threads", "tab\tid", 3, json!([1, "\u{1}"])),
        ],
    );
    // bundle_text checks the borrowed assembly against the general one.
    let bundle: Value = serde_json::from_str(&bundle_text(&store, &written)).unwrap();
    assert_eq!(
        bundle["sections"]["chat"]["messages"][1]["id"],
        "q\"uote\\d\n"
    );
    assert_eq!(bundle["sections"]["chat"]["threads"][0]["id"], "tab\tid");
}

#[test]
fn a_staged_commit_changes_nothing_until_applied() {
    let mut store = Store::new();
    let mut written = Written::default();
    merge_page(
        &mut store,
        &mut written,
        "chat",
        vec![item("messages", "m1", 1, json!({}))],
    );
    let before = (store.counts(), store.chain().clone(), store.next_commit());
    let staged = store
        .stage(
            "chat",
            "chat",
            vec![item("messages", "m2", 1, json!({}))],
            0,
        )
        .unwrap();
    drop(staged); // the write failed
    assert_eq!(
        (store.counts(), store.chain().clone(), store.next_commit()),
        before
    );
}

#[test]
fn duplicate_ids_in_a_page_are_refused() {
    let store = Store::new();
    let err = store
        .stage(
            "chat",
            "chat",
            vec![
                item("messages", "m1", 1, json!({})),
                item("messages", "m1", 2, json!({})),
            ],
            0,
        )
        .unwrap_err();
    assert_eq!(err.code(), "EXPORT_MALFORMED");
}

#[test]
fn a_missing_body_is_detected() {
    let mut store = Store::new();
    let mut written = Written::default();
    merge_page(
        &mut store,
        &mut written,
        "chat",
        vec![item("messages", "m1", 1, json!({}))],
    );
    let err = store
        .assemble(
            "did:imajin:x",
            "vault",
            "2026-03-09T16:45:00Z",
            std::iter::empty(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "LOG_BROKEN");
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_0-9]{0,12}",
        any::<String>(),
        "[\\x00-\\x1f\"\\\\/\u{7f}é😀\u{2028}]{0,8}",
    ]
}

proptest! {
    // A heads record written directly is what serde writes for it (and reads back).
    #[test]
    fn heads_record_json_is_serdes(
        service in text(),
        section in text(),
        rows in proptest::collection::vec((text(), text(), text(), any::<bool>(), text()), 0..5),
    ) {
        let record = HeadsRecord {
            service,
            section,
            rows: rows.into_iter().map(|(c, i, u, d, h)| Head(c, i, u, d, h)).collect(),
        };
        let text = record.to_json();
        prop_assert_eq!(&text, &serde_json::to_string(&record).unwrap());
        prop_assert_eq!(serde_json::from_str::<HeadsRecord>(&text).unwrap(), record);
    }
}
