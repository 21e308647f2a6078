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

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
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
    check_value(value)?;
    serde_json_canonicalizer::to_string(value).map_err(|e| Error::InvalidJson(e.to_string()))
}

/// Canonical bytes of a value (RFC 8785).
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>> {
    to_canonical_string(value).map(String::into_bytes)
}

/// Checks a value tree for the guards of this module, without recursion.
pub fn check_value(value: &Value) -> Result<()> {
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
                stack.extend(map.values().map(|item| (item, depth + 1)));
            }
            Value::Number(n) => check_number(n)?,
            Value::Null | Value::Bool(_) | Value::String(_) => {}
        }
    }
    Ok(())
}

fn check_number(n: &Number) -> Result<()> {
    let safe = if let Some(u) = n.as_u64() {
        u <= MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER
    } else {
        n.as_f64().is_some_and(f64::is_finite)
    };
    if safe {
        Ok(())
    } else {
        Err(Error::UnsafeNumber(format!(
            "{n} cannot be represented exactly by every JSON reader; carry it as a string"
        )))
    }
}

/// One pass over the raw text: nesting depth and number tokens. Strings are skipped.
fn scan(text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
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
            Ok(f) if !f.is_finite() => Err(unsafe_number()),
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
            canonicalize_str("[1e21, 1e-7, 0.000001, -0, 1E2, 123456789012345678e2]").unwrap(),
            "[1e+21,1e-7,0.000001,0,100,12345678901234567000]"
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
