//! Property tests of the core: sign→verify holds, any change to any value of a signed document breaks
//! verification, and canonicalization is idempotent and independent of key order and spacing.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

use bundle_vault::core::{canonical, keys::Keypair, proof};
use proptest::prelude::*;
use serde_json::{Map, Value};

const CREATED: &str = "2026-03-09T16:45:00Z";

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        (-1.0e15f64..1.0e15).prop_map(Value::from),
        "[a-zA-Z0-9 _\\-é€😀\\\\\"\\n]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_A-Z€😀]{1,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_]{1,8}", json_value(), 1..6)
        .prop_map(|m| {
            Value::Object(
                m.into_iter()
                    .filter(|(k, _)| k != "proof")
                    .collect::<Map<_, _>>(),
            )
        })
        .prop_filter("non-empty", |v| {
            v.as_object().is_some_and(|m| !m.is_empty())
        })
}

/// JSON pointers of every scalar in a value.
fn leaf_paths(value: &Value, path: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaf_paths(item, format!("{path}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                leaf_paths(item, format!("{path}/{key}"), out);
            }
        }
        _ => out.push(path),
    }
}

/// A different value of a scalar.
fn changed(value: &Value) -> Value {
    match value {
        Value::Null => Value::from(0),
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i < (1i64 << 52) => Value::from(i + 1),
            Some(i) => Value::from(i - 1),
            None => Value::from(n.as_f64().unwrap_or(0.0) + 1.0),
        },
        Value::String(s) => Value::String(format!("{s}x")),
        other => Value::Array(vec![other.clone()]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn sign_then_verify_holds(doc in json_object(), seed in any::<[u8; 32]>()) {
        let kp = Keypair::from_seed(&seed);
        let signed = proof::sign(doc, &kp, CREATED).unwrap();
        let verified = proof::verify(&signed).unwrap();
        prop_assert_eq!(verified.public_key, kp.public_key());
        // Text round trip (as any JSON reader would do) keeps it verifiable.
        let reparsed = canonical::parse(&serde_json::to_string_pretty(&signed).unwrap()).unwrap();
        prop_assert!(proof::verify(&reparsed).is_ok());
    }

    #[test]
    fn any_change_to_any_value_breaks_verification(doc in json_object(), pick in any::<prop::sample::Index>()) {
        let kp = Keypair::from_seed(&[11u8; 32]);
        let signed = proof::sign(doc, &kp, CREATED).unwrap();
        let mut paths = Vec::new();
        leaf_paths(&signed, String::new(), &mut paths);
        let path = &paths[pick.index(paths.len())];
        let mut tampered = signed.clone();
        let target = tampered.pointer_mut(path).unwrap();
        *target = changed(target);
        prop_assert!(proof::verify(&tampered).is_err(), "still verifies after changing {}", path);
    }

    #[test]
    fn canonicalize_is_idempotent_and_ignores_formatting(doc in json_value()) {
        let once = canonical::to_canonical_string(&doc).unwrap();
        prop_assert_eq!(canonical::canonicalize_str(&once).unwrap(), once.clone());
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        prop_assert_eq!(canonical::canonicalize_str(&pretty).unwrap(), once);
    }
}
