//! Strict JSON parsing and RFC 8785 (JCS) canonicalization.
//!
//! Canonical bytes are produced by the maintained `serde_json_canonicalizer` crate; this module adds the
//! guards that crate leaves to its caller:
//! - integers beyond ±(2^53−1) are refused (`UNSAFE_NUMBER`): JavaScript and I-JSON consumers cannot
//!   represent them exactly, so two parties would sign different values. Carry them as strings.
//! - non-finite or out-of-range numbers are refused (`UNSAFE_NUMBER`).
//! - nesting deeper than [`MAX_DEPTH`] is refused (`TOO_DEEP`) before any recursive code runs.
//! - duplicate object keys are refused (`INVALID_JSON`): RFC 8785 requires I-JSON, and a duplicate key
//!   lets two readers of the same signed text see different values.
//!
//! The checks on integers run on the raw text's number tokens, because a JSON parser turns an integer
//! literal beyond the 64-bit range into a float without saying so.
//!
//! Speed: most of the vault's data (export pages, items, log entries) has only integers and
//! ASCII-ordered keys. For such a value serde_json's compact output already *is* its RFC 8785 form, so
//! [`write_canonical`] writes it with serde_json directly and leaves everything else (any float, any
//! key order that UTF-16 and byte order might sort differently) to `serde_json_canonicalizer`. A
//! property test checks that both paths give the same bytes.

use std::fmt;
use std::io;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::error::{excerpt, Error, Result};

/// The deepest nesting of arrays and objects accepted anywhere in the vault.
pub const MAX_DEPTH: usize = 64;

/// The largest integer magnitude that every JSON consumer represents exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Parses JSON text strictly: valid JSON, no duplicate keys, safe numbers, bounded depth.
pub fn parse(text: &str) -> Result<Value> {
    scan(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let StrictValue(value) =
        StrictValue::deserialize(&mut de).map_err(|e| Error::InvalidJson(e.to_string()))?;
    de.end().map_err(|e| Error::InvalidJson(e.to_string()))?;
    Ok(value)
}

/// Canonicalizes JSON text (RFC 8785) after [`parse`]'s checks.
pub fn canonicalize_str(text: &str) -> Result<String> {
    let value = parse(text)?;
    to_canonical_string(&value)
}

/// Canonical text of a value (RFC 8785). Values built in code are checked like parsed ones.
pub fn to_canonical_string(value: &Value) -> Result<String> {
    let bytes = to_canonical_vec(value)?;
    String::from_utf8(bytes).map_err(|e| Error::InvalidJson(e.to_string()))
}

/// Canonical bytes of a value (RFC 8785).
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>> {
    let plain = check_value_plain(value)?;
    let mut out = Vec::new();
    write_canonical(value, plain, &mut out)?;
    Ok(out)
}

/// Writes the RFC 8785 form of `value`. `plain` says that serde_json's compact output of `value` is
/// already canonical (see [`check_value_plain`] and [`keys_are_plain`]); otherwise the canonicalizer
/// crate sorts and formats it. The caller has run the guards ([`check_value`]).
pub fn write_canonical<T: Serialize, W: io::Write>(
    value: &T,
    plain: bool,
    mut writer: W,
) -> Result<()> {
    if plain {
        serde_json::to_writer(writer, value)
    } else {
        serde_json_canonicalizer::to_writer(value, &mut writer)
    }
    .map_err(|e| Error::InvalidJson(e.to_string()))
}

/// Checks that a value nests no deeper than `max` levels (a scalar is level 0, `[]` level 1), without
/// recursion: `TOO_DEEP` otherwise.
pub fn check_depth(value: &Value, max: usize) -> Result<()> {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > max {
            return Err(Error::TooDeep(max));
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// Checks a value tree for the guards of this module, without recursion.
pub fn check_value(value: &Value) -> Result<()> {
    check_value_plain(value).map(|_| ())
}

/// [`check_value`], also telling whether the value is *plain*: no float anywhere, and every object's
/// keys [plain](keys_are_plain). serde_json's compact output of a plain value is its RFC 8785 form:
/// integers within ±(2^53−1) print the same as in ECMAScript, and serde_json escapes strings exactly
/// as RFC 8785 §3.2.2.2 does (the short escapes, `\u00xx` in lowercase hex for other controls,
/// nothing else).
pub fn check_value_plain(value: &Value) -> Result<bool> {
    let mut plain = true;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Array(items) => {
                if depth > MAX_DEPTH {
                    return Err(Error::TooDeep(MAX_DEPTH));
                }
                stack.extend(items.iter().map(|item| (item, depth + 1)));
            }
            Value::Object(map) => {
                if depth > MAX_DEPTH {
                    return Err(Error::TooDeep(MAX_DEPTH));
                }
                plain = plain && keys_are_plain(map.keys().map(String::as_str));
                stack.extend(map.values().map(|item| (item, depth + 1)));
            }
            Value::Number(n) => {
                check_number(n)?;
                plain = plain && !n.is_f64();
            }
            Value::Null | Value::Bool(_) | Value::String(_) => {}
        }
    }
    Ok(plain)
}

/// Whether keys, in the order given, are strictly increasing in both byte order and RFC 8785's UTF-16
/// order. The two orders can differ only where a key has a character from U+E000 up (UTF-8 lead byte
/// 0xEE or above), so such keys are never plain; the order is checked, not assumed from the map type.
pub fn keys_are_plain<'a>(keys: impl Iterator<Item = &'a str>) -> bool {
    let mut previous: Option<&str> = None;
    for key in keys {
        if key.bytes().any(|b| b >= 0xEE) || previous.is_some_and(|p| p >= key) {
            return false;
        }
        previous = Some(key);
    }
    true
}

fn check_number(n: &Number) -> Result<()> {
    let safe = if let Some(u) = n.as_u64() {
        u <= MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER
    } else {
        n.as_f64().is_some_and(is_safe_float)
    };
    if safe {
        Ok(())
    } else {
        Err(Error::UnsafeNumber(format!(
            "{n} cannot be represented exactly by every JSON reader; carry it as a string"
        )))
    }
}

/// Whether a float is safe: finite, and not an integer beyond ±(2^53−1) that RFC 8785 writes without an
/// exponent (below 1e21), since that form is an integer literal [`parse`] refuses (`1e20` → `100…0`).
pub(crate) fn is_safe_float(f: f64) -> bool {
    f.is_finite() && !(f.abs() > MAX_SAFE_INTEGER as f64 && f.abs() < 1e21)
}

/// Whether JSON text holds at most `max` values, counted without parsing: each array or object, and
/// each value after a `,`, outside strings (text that is not JSON may count wrongly, and is refused by
/// the parser anyway).
pub fn values_at_most(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    let mut count = 1usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = closing_quote(bytes, i),
            b'[' | b'{' | b',' => {
                count += 1;
                if count > max {
                    return false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    true
}

/// The index of the quote that closes the string opening at `open` (or the text's length).
fn closing_quote(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    i
}

/// One pass over the raw text: nesting depth and number tokens. Strings are skipped.
fn scan(text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = closing_quote(bytes, i),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Error::TooDeep(MAX_DEPTH));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                check_number_token(&text[start..i])?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn check_number_token(token: &str) -> Result<()> {
    let unsafe_number = || {
        Error::UnsafeNumber(format!(
            "{} cannot be represented exactly by every JSON reader; carry it as a string",
            excerpt(token)
        ))
    };
    if token.contains(['.', 'e', 'E']) {
        // A malformed token is left to the parser, which reports it as invalid JSON.
        return match token.parse::<f64>() {
            Ok(f) if !is_safe_float(f) => Err(unsafe_number()),
            _ => Ok(()),
        };
    }
    let digits = token.strip_prefix('-').unwrap_or(token);
    let too_big = digits.len() > 16
        || (digits.len() == 16 && digits.parse::<u64>().map_or(true, |v| v > MAX_SAFE_INTEGER));
    if too_big && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unsafe_number());
    }
    Ok(())
}

/// A JSON value deserialized with duplicate keys refused.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {}",
                    excerpt(&key)
                )));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> &'static str {
        match canonicalize_str(text) {
            Ok(_) => "OK",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn sorts_keys_and_strips_whitespace() {
        assert_eq!(
            canonicalize_str(r#" { "b" : [1, 2.50, true, null], "a": "x" } "#).unwrap(),
            r#"{"a":"x","b":[1,2.5,true,null]}"#
        );
    }

    #[test]
    fn number_formatting_follows_ecmascript() {
        assert_eq!(
            canonicalize_str("[1e21, 1e-7, 0.000001, -0, 1E2]").unwrap(),
            "[1e+21,1e-7,0.000001,0,100]"
        );
    }

    #[test]
    fn refuses_unsafe_integers_but_not_safe_ones() {
        assert_eq!(code("9007199254740991"), "OK");
        assert_eq!(code("-9007199254740991"), "OK");
        assert_eq!(code("9007199254740992"), "UNSAFE_NUMBER");
        assert_eq!(code("-9007199254740992"), "UNSAFE_NUMBER");
        assert_eq!(code("[18446744073709551616]"), "UNSAFE_NUMBER");
        assert_eq!(
            code(r#"{"a":123456789012345678901234567890}"#),
            "UNSAFE_NUMBER"
        );
        assert_eq!(code("1e400"), "UNSAFE_NUMBER");
        // Floats whose canonical form is an integer literal beyond the safe range (found by fuzzing).
        assert_eq!(code("123456789012345678e2"), "UNSAFE_NUMBER");
        assert_eq!(code("-1e20"), "UNSAFE_NUMBER");
        assert_eq!(code("9007199254740992.0"), "UNSAFE_NUMBER");
        assert_eq!(code("9007199254740991.0"), "OK");
        assert_eq!(code("-1e21"), "OK");
        assert_eq!(code("-1e400"), "UNSAFE_NUMBER");
        // Digits inside strings are not numbers.
        assert_eq!(code(r#"{"big":"123456789012345678901234567890"}"#), "OK");
        assert_eq!(code(r#"{"s":"\"123456789012345678901234567890"}"#), "OK");
    }

    #[test]
    fn refuses_invalid_json_and_duplicates() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{'a':1}",
            "nul",
            "01",
            "[1] x",
            "\"\\ud800\"",
            "{\"a\":1,\"a\":2}",
            "NaN",
        ] {
            assert_eq!(code(bad), "INVALID_JSON", "{bad:?}");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(code(&ok), "OK");
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(code(&deep), "TOO_DEEP");
        // A hostile depth far beyond any stack: refused by the scan, not by a stack overflow.
        let hostile = "[{\"a\":".repeat(1_000_000);
        assert_eq!(code(&hostile), "TOO_DEEP");
    }

    #[test]
    fn checks_values_built_in_code() {
        let deep = (0..=MAX_DEPTH).fold(Value::Null, |inner, _| Value::Array(vec![inner]));
        assert_eq!(to_canonical_string(&deep).unwrap_err().code(), "TOO_DEEP");
        let big = serde_json::json!({"n": u64::MAX});
        assert_eq!(
            to_canonical_string(&big).unwrap_err().code(),
            "UNSAFE_NUMBER"
        );
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)]
mod plain_path {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Keys that exercise both orders: ASCII, Latin, CJK, U+E000–U+FFFF and supplementary characters.
    fn key() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just('a'),
                Just('B'),
                Just('_'),
                Just('é'),
                Just('語'),
                Just('\u{E000}'),
                Just('\u{FB33}'),
                Just('\u{1F600}'),
                Just('\u{10000}'),
            ],
            0..4,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(Value::from),
            prop::num::f64::NORMAL
                .prop_filter("a safe float", |f| is_safe_float(*f))
                .prop_map(Value::from),
            prop_oneof![Just(0.5), Just(1e21), Just(1e-7), Just(-0.0), Just(100.0)]
                .prop_map(Value::from),
            "[\\u{0}-\\u{7f}é語\\u{2028}\\u{1F600}]{0,6}".prop_map(Value::String),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn both_paths_give_the_crate_s_bytes(v in value()) {
            let expected = serde_json_canonicalizer::to_vec(&v).unwrap();
            prop_assert_eq!(to_canonical_vec(&v).unwrap(), expected.clone());
            if check_value_plain(&v).unwrap() {
                prop_assert_eq!(serde_json::to_vec(&v).unwrap(), expected);
            }
        }
    }

    #[test]
    fn depth_is_counted_in_containers() {
        let nested = |n: usize| parse(&format!("{}{}", "[".repeat(n), "]".repeat(n))).unwrap();
        assert!(check_depth(&json!(1), 0).is_ok());
        assert!(check_depth(&nested(3), 3).is_ok());
        assert_eq!(check_depth(&nested(4), 3).unwrap_err().code(), "TOO_DEEP");
        assert!(check_depth(&json!({"a": {"b": [1]}}), 3).is_ok());
        assert!(check_depth(&json!({"a": {"b": [[]]}}), 3).is_err());
    }

    #[test]
    fn what_is_plain() {
        let plain = |text: &str| check_value_plain(&parse(text).unwrap()).unwrap();
        assert!(plain(r#"{"a":[1,-2,{"b":"\u0001\u001f é 😀"}],"c":null}"#));
        assert!(!plain(r#"{"a":1.5}"#));
        assert!(!plain(r#"{"a":1.0}"#), "a float that looks integral");
        assert!(!plain(r#"{"\ue000":1,"😀":2}"#));
        assert!(keys_are_plain(["a", "b", "é"].into_iter()));
        assert!(!keys_are_plain(["b", "a"].into_iter()), "order is checked");
        assert!(!keys_are_plain(["a", "a"].into_iter()));
        assert!(!keys_are_plain(["\u{FB33}"].into_iter()));
    }
}
