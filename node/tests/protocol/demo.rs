//! Demo accounts: deterministic from the DID, realistic, and fast enough for 100,000 items.

use std::time::Instant;

use bundle_vault::core::export::check_portable_keys;

use crate::common::*;

#[test]
fn same_did_same_items_on_two_nodes() {
    let a = TestNode::start("a", |c| c.demo_items = 400);
    let b = TestNode::start("b", |c| c.demo_items = 400);
    let user = keypair(61);
    let did = user.did();
    let (ca, cb) = (a.client(), b.client());
    let (ta, tb) = (ca.login(&user), cb.login(&user));
    let state = export_state(&ca, &ta, &did);
    assert_eq!(state, export_state(&cb, &tb, &did));
    // Every section has data; keys are portable.
    assert_eq!(state.len(), 8);
    let total: usize = state
        .values()
        .flat_map(|s| s.values())
        .map(|c| c.len())
        .sum();
    assert_eq!(total, 400);
    for item in state
        .values()
        .flat_map(|s| s.values())
        .flat_map(|c| c.values())
    {
        check_portable_keys(&item["data"]).unwrap();
    }
    // Another DID gets another account.
    let other = keypair(62);
    let to = ca.login(&other);
    assert_ne!(
        sections_value(&export_state(&ca, &to, &other.did())),
        sections_value(&state)
    );
}

#[test]
fn hundred_thousand_items() {
    let node = TestNode::start("big", |c| c.demo_items = 100_000);
    let client = node.client();
    let user = keypair(63);
    let did = user.did();
    let started = Instant::now();
    let token = client.login(&user);
    let elapsed = started.elapsed();
    println!("demo account of 100000 items created in {elapsed:?} (debug build)");
    let manifest = client.manifest();
    let mut total = 0;
    for service in &manifest.services {
        total += client
            .count(&token, &service.name, &did)
            .values()
            .sum::<u64>();
    }
    assert_eq!(total, 100_000);
    let chat = client.count(&token, "chat", &did)["messages"];
    let assets = client.count(&token, "media", &did)["assets"];
    assert!(
        chat > assets && assets > 20_000,
        "{chat} messages, {assets} assets"
    );
    // A full page of the big account.
    let page = client
        .get(
            &format!("/services/chat/export?did={}&limit=5000", encode(&did)),
            Some(&token),
        )
        .ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 5000);
    assert_eq!(page["done"], false);
}
