//! Incremental export: a done page's cursor, used later, returns exactly what changed since.

use serde_json::json;

use crate::common::*;

#[test]
fn cursor_after_mutation_returns_only_changes() {
    let node = TestNode::start("source", |c| {
        c.demo_items = 2000;
        c.dev_endpoints = true;
    });
    let client = node.client();
    let user = keypair(41);
    let did = user.did();
    let token = client.login(&user);
    let manifest = client.manifest();

    let mut cursors = Vec::new();
    let mut state = Sections::new();
    for service in &manifest.services {
        let (pages, cursor) =
            client.export_all(&token, &manifest.did, &service.name, &did, 1000, None);
        apply_pages(&mut state, &pages);
        // Nothing changed: the cursor gives an empty, done page.
        let (again, same) = client.export_all(
            &token,
            &manifest.did,
            &service.name,
            &did,
            1000,
            Some(&cursor),
        );
        assert_eq!(again.len(), 1);
        assert!(again[0].items.is_empty() && again[0].done);
        assert_eq!(same, cursor);
        cursors.push((service.name.clone(), cursor));
    }

    // Change 1% of the account.
    let mutated = client
        .post_json("/dev/mutate", None, &json!({"did": did, "fraction": 0.01}))
        .ok();
    assert_eq!(mutated["updated"], 20);
    let mut changed = 0;
    for (service, cursor) in &cursors {
        let (pages, _) = client.export_all(&token, &manifest.did, service, &did, 7, Some(cursor));
        for item in pages.iter().flat_map(|p| &p.items) {
            changed += 1;
            assert!(!item.deleted);
            let old = &state[service][&item.collection][&item.id];
            assert!(item.updated_at.as_str() > old["updated_at"].as_str().unwrap());
            assert_ne!(item.data, old["data"]);
            assert_eq!(item.data["revision"], 1);
        }
    }
    assert_eq!(changed, 20);

    // `since` filters by updated_at: nothing of the demo data is after its fixed end date, and the
    // mutated items (updated now) are.
    let mut recent = 0;
    for service in &manifest.services {
        let body = client
            .get(
                &format!(
                    "/services/{}/export?did={}&since={}&limit=5000",
                    service.name,
                    encode(&did),
                    encode("2026-03-01T00:00:00+00:00")
                ),
                Some(&token),
            )
            .ok();
        recent += body["items"].as_array().unwrap().len();
    }
    assert_eq!(recent, 20);

    // The dev endpoint is off unless enabled.
    let plain = TestNode::start("plain", |_| {});
    plain
        .client()
        .post_json("/dev/mutate", None, &json!({"did": did, "fraction": 0.5}))
        .err(404, "NOT_FOUND");
    client
        .post_json("/dev/mutate", None, &json!({"did": did, "fraction": 2}))
        .err(400, "INVALID_REQUEST");
}
