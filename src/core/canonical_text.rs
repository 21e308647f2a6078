//! Recognizing text that already is canonical (RFC 8785), without building a value tree.
//!
//! The reference node sends its export pages, and the vault stores item data, in canonical form. For such
//! text the canonical bytes of the whole, and of every member and element in it, are slices of the text
//! itself: hashing and storing them needs no parse into a tree and no re-serialization. [`is_canonical`]
//! decides in one pass over the bytes whether that shortcut is sound; when it is not (whitespace, another
//! key order, another number or string form), callers take the general path of
//! [`canonical::parse`](super::canonical::parse) and canonicalization, which also gives the precise error
//! for bad input.

use std::borrow::Cow;

use super::canonical::{self, is_safe_float, MAX_SAFE_INTEGER};
use super::error::Result;

/// Whether `text` is exactly the RFC 8785 form of a JSON value that passes the guards of
/// [`canonical::parse`](super::canonical::parse): safe numbers, no duplicate keys (keys strictly
/// increasing), at most `max_depth` levels of arrays and objects.
///
/// Conservative: it answers `false` for the few canonical texts it does not check exactly (object keys
/// with escapes), never `true` for a text that is not canonical.
pub fn is_canonical(text: &str, max_depth: usize) -> bool {
    let mut r = Recognizer {
        b: text.as_bytes(),
        i: 0,
    };
    r.value(0, max_depth) && r.i == r.b.len()
}

/// `text` in RFC 8785 form: the text itself when it [already is](is_canonical) (one pass, no value
/// tree), otherwise parsed strictly and written canonically ([`canonical::canonicalize_str`], with its
/// errors).
pub fn canonical_form(text: &str) -> Result<Cow<'_, str>> {
    if is_canonical(text, canonical::MAX_DEPTH) {
        Ok(Cow::Borrowed(text))
    } else {
        canonical::canonicalize_str(text).map(Cow::Owned)
    }
}

/// The nesting depth of canonical `text` (a scalar is 0, `[]` is 1), or `None` when it is not
/// [canonical](is_canonical) within `max_depth`.
pub fn canonical_depth(text: &str, max_depth: usize) -> Option<usize> {
    let mut r = Recognizer {
        b: text.as_bytes(),
        i: 0,
    };
    let mut deepest = 0;
    (r.value_tracking(0, max_depth, &mut deepest) && r.i == r.b.len()).then_some(deepest)
}

/// The elements of `text` when it is an array in RFC 8785 form, each element within `max_depth`
/// containers: each element's text, read in the one pass that recognizes them as [`is_canonical`]
/// does. `None` when the text is not such an array.
pub fn canonical_elements(text: &str, max_depth: usize) -> Option<Vec<&str>> {
    let mut r = Recognizer {
        b: text.as_bytes(),
        i: 0,
    };
    if !r.eat(b'[') {
        return None;
    }
    let mut out = Vec::new();
    if !r.eat(b']') {
        loop {
            let start = r.i;
            if !r.value(0, max_depth) {
                return None;
            }
            // A span at ASCII delimiters: always char boundaries.
            out.push(text.get(start..r.i)?);
            if r.eat(b',') {
                continue;
            }
            if !r.eat(b']') {
                return None;
            }
            break;
        }
    }
    (r.i == r.b.len()).then_some(out)
}

/// The members of a canonical object, as [`canonical_members`] reads them.
#[derive(Debug)]
pub struct Members<'t> {
    /// Each member's key and value text, in order.
    pub members: Vec<(&'t str, &'t str)>,
    /// The members of the object that is the value of the member asked for, when it is one.
    pub inner: Vec<(&'t str, &'t str)>,
}

/// Recognizes canonical object `text` as [`is_canonical`] does, in the same one pass reading each
/// member's key and value text, and those of the object that is the value of member `open`. `None`
/// when the text is not a [canonical](is_canonical) object within `max_depth`.
pub fn canonical_members<'t>(text: &'t str, max_depth: usize, open: &str) -> Option<Members<'t>> {
    let mut r = Recognizer {
        b: text.as_bytes(),
        i: 0,
    };
    if r.peek() != Some(b'{') {
        return None;
    }
    let (mut outer, mut inner, mut deepest) = (Vec::new(), Vec::new(), 0);
    let sink = Some((open.as_bytes(), &mut inner));
    if !r.object_spans(1, max_depth, &mut deepest, &mut outer, sink) || r.i != r.b.len() {
        return None;
    }
    // Spans of a str at ASCII delimiters (quotes, colons, brackets): always char boundaries.
    let pairs = |spans: Vec<[usize; 4]>| -> Option<Vec<(&'t str, &'t str)>> {
        spans
            .into_iter()
            .map(|[k0, k1, v0, v1]| Some((text.get(k0..k1)?, text.get(v0..v1)?)))
            .collect()
    };
    Some(Members {
        members: pairs(outer)?,
        inner: pairs(inner)?,
    })
}

/// Whether a JSON string of `text` has an escape: a control character, `"` or `\`.
pub fn needs_escape(text: &str) -> bool {
    plain_prefix(text.as_bytes()) < text.len()
}

/// How many bytes at the start of `bytes` a JSON string holds as they are: the length up to the first
/// control character, `"` or `\`. Eight bytes at a time (a byte is below 0x20, or equal to `"` or
/// `\`, when a subtraction borrows into its top bit; the lowest such byte of a word is exact), since
/// every string the vault reads or writes passes here, and most of a JSON text is in its strings.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & TOPS;
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let special = (x.wrapping_sub(ONES * 0x20) & !x & TOPS)
            | zero_bytes(x ^ (ONES * u64::from(b'"')))
            | zero_bytes(x ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            return done + special.trailing_zeros() as usize / 8;
        }
        done += 8;
    }
    let rest = chunks.remainder();
    done + rest
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .unwrap_or(rest.len())
}

/// Appends `text` as a JSON string in its RFC 8785 form (serde_json escapes exactly as RFC 8785
/// §3.2.2.2 does: the short escapes, `\u00xx` in lowercase hex for other controls, nothing else).
pub fn push_string(out: &mut String, text: &str) {
    if !needs_escape(text) {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        // Serializing a string cannot fail.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

/// JSON `text` with every non-ASCII character written as a `\uXXXX` escape (a surrogate pair above
/// U+FFFF): the same JSON value in ASCII. Only strings hold non-ASCII characters, and in a string the
/// escape means the character, so the text stays valid. The vault hands large JSON text to JavaScript
/// in this form: decoding ASCII bytes into a JavaScript string is several times faster than decoding
/// UTF-8 with some non-ASCII characters, which also makes the whole string two bytes per character.
/// The escapes are written into the text's own buffer, from the end backward, after it has grown
/// once to its final size: a large text is not held twice. Unchanged when it is ASCII already.
pub fn ascii_json(text: String) -> String {
    let extra = ascii_json_extra(&text);
    if extra == 0 {
        return text;
    }
    let mut bytes = text.into_bytes();
    // Invariant: the text before `read` is still to be converted; what it becomes ends at `write`.
    let mut read = bytes.len();
    bytes.resize(read + extra, 0);
    let mut write = bytes.len();
    let escape_last: EscapeLast = super::apart(escape_last);
    while let Some((r, w)) = escape_last(&mut bytes, read, write) {
        (read, write) = (r, w);
    }
    debug_assert_eq!(read, write);
    // ASCII, from valid UTF-8.
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// [`escape_last`] as a function pointer.
type EscapeLast = fn(&mut [u8], usize, usize) -> Option<(usize, usize)>;

/// One step of [`ascii_json`]: moves the ASCII run after the last non-ASCII character before `read`
/// to end at `write`, and writes that character's escape before it; the new `read` and `write`.
/// `None` when no such character is left. A function of its own (see [`apart`](super::apart)),
/// called once per character: V8 moves a wasm function to optimized code only between calls (see
/// [`hash`](super::hash)), so the whole conversion in one loop ran in baseline code the first time
/// in a page.
#[inline(never)]
fn escape_last(bytes: &mut [u8], read: usize, mut write: usize) -> Option<(usize, usize)> {
    let last = last_non_ascii(&bytes[..read])?;
    let end = last + 1;
    let run = read - end;
    bytes.copy_within(end..read, write - run);
    write -= run;
    let mut start = last;
    while start > 0 && bytes[start] & 0xC0 == 0x80 {
        start -= 1;
    }
    // The character is read before its escape, which may overwrite it, is written.
    let c = std::str::from_utf8(&bytes[start..end])
        .ok()
        .and_then(|s| s.chars().next())?;
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units).iter().rev() {
        let escape = [
            b'\\',
            b'u',
            HEX[usize::from(unit >> 12)],
            HEX[usize::from((unit >> 8) & 0xf)],
            HEX[usize::from((unit >> 4) & 0xf)],
            HEX[usize::from(unit & 0xf)],
        ];
        bytes[write - escape.len()..write].copy_from_slice(&escape);
        write -= escape.len();
    }
    Some((start, write))
}

/// The bytes [`ascii_json`] adds to `text`: an escape `\uxxxx` (6 bytes) for a character of 2 or 3
/// UTF-8 bytes, a surrogate pair of them (12 bytes) for one of 4; a lead byte says which.
pub fn ascii_json_extra(text: &str) -> usize {
    // In slices, each one call: see `escape_last`.
    let ascii_extra_of: fn(&[u8]) -> usize = super::apart(ascii_extra_of);
    text.as_bytes()
        .chunks(super::hash::SLICE)
        .map(ascii_extra_of)
        .sum()
}

/// [`ascii_json_extra`] of a slice of the text (slices end anywhere: only lead bytes count).
#[inline(never)]
fn ascii_extra_of(bytes: &[u8]) -> usize {
    // Mostly ASCII: blocks are skipped with the word-at-a-time `is_ascii`.
    bytes
        .chunks(ASCII_BLOCK)
        .filter(|block| !block.is_ascii())
        .flatten()
        .map(|b| match b {
            0xC0..=0xDF => 4,
            0xE0..=0xEF => 3,
            0xF0..=0xFF => 8,
            _ => 0,
        })
        .sum()
}

/// Lowercase hexadecimal digits, for the escapes of [`ascii_json`].
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes per block that the scans for non-ASCII bytes test at once.
const ASCII_BLOCK: usize = 64;

/// Where the last byte of `bytes` that is not ASCII lies.
fn last_non_ascii(bytes: &[u8]) -> Option<usize> {
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(ASCII_BLOCK);
        let block = &bytes[start..end];
        if !block.is_ascii() {
            return block.iter().rposition(|&b| b >= 0x80).map(|at| start + at);
        }
        end = start;
    }
    None
}

/// Where the `proof` member of a canonical object's `text` lies, given its value `proof` (a slice of
/// `text`, e.g. a borrowed `RawValue`): the start of `,"proof":` and the end of the value. Cutting that
/// span out gives the canonical form of the object without its proof. `None` when `proof` is not a
/// slice of `text` preceded by `,"proof":` (a proof that is the first member: no signed document of
/// this crate has one).
pub fn proof_member_span(text: &str, proof: &str) -> Option<(usize, usize)> {
    const MEMBER: &str = ",\"proof\":";
    let at = (proof.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = at
        .checked_add(proof.len())
        .filter(|end| *end <= text.len())?;
    let start = at.checked_sub(MEMBER.len())?;
    (text.get(start..at)? == MEMBER).then_some((start, end))
}

struct Recognizer<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Recognizer<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize, max: usize) -> bool {
        let mut deepest = 0;
        self.value_tracking(depth, max, &mut deepest)
    }

    /// One value at nesting `depth` (the number of containers around it); `deepest` is raised to the
    /// deepest container seen.
    fn value_tracking(&mut self, depth: usize, max: usize, deepest: &mut usize) -> bool {
        match self.peek() {
            Some(b'{') => {
                if depth + 1 > max {
                    return false;
                }
                *deepest = (*deepest).max(depth + 1);
                self.object(depth + 1, max, deepest)
            }
            Some(b'[') => {
                if depth + 1 > max {
                    return false;
                }
                *deepest = (*deepest).max(depth + 1);
                self.array(depth + 1, max, deepest)
            }
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn array(&mut self, depth: usize, max: usize, deepest: &mut usize) -> bool {
        self.i += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value_tracking(depth, max, deepest) {
                return false;
            }
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']');
        }
    }

    fn object(&mut self, depth: usize, max: usize, deepest: &mut usize) -> bool {
        self.i += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous = None;
        loop {
            if self.member_key(&mut previous).is_none() || !self.value_tracking(depth, max, deepest)
            {
                return false;
            }
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}');
        }
    }

    /// A member's key and its colon: the span of the key, which must have no escape and come after
    /// `previous` (then becomes it) in RFC 8785 order.
    fn member_key(&mut self, previous: &mut Option<&'a [u8]>) -> Option<(usize, usize)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let (start, end, escaped) = self.string()?;
        let b: &'a [u8] = self.b;
        let key = &b[start..end];
        if escaped || previous.is_some_and(|p| !key_less(p, key)) || !self.eat(b':') {
            return None;
        }
        *previous = Some(key);
        Some((start, end))
    }

    /// [`Recognizer::object`] at `depth` (its opening brace next), pushing each member's key and value
    /// spans to `spans`; the value of the member named by `open`, when an object, has its members'
    /// spans pushed to the other vector.
    fn object_spans(
        &mut self,
        depth: usize,
        max: usize,
        deepest: &mut usize,
        spans: &mut Vec<[usize; 4]>,
        mut open: Option<(&[u8], &mut Vec<[usize; 4]>)>,
    ) -> bool {
        if depth > max {
            return false;
        }
        *deepest = (*deepest).max(depth);
        self.i += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous = None;
        loop {
            let Some((start, end)) = self.member_key(&mut previous) else {
                return false;
            };
            let key = &self.b[start..end];
            let at = self.i;
            let recognized = match open.as_mut() {
                Some((name, inner)) if *name == key && self.peek() == Some(b'{') => {
                    self.object_spans(depth + 1, max, deepest, inner, None)
                }
                _ => self.value_tracking(depth, max, deepest),
            };
            if !recognized {
                return false;
            }
            spans.push([start, end, at, self.i]);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}');
        }
    }

    /// A string in its RFC 8785 form: no raw control characters, and only the escapes ECMAScript's
    /// `JSON.stringify` writes (`\"`, `\\`, the five short ones, and `\u00xx` in lowercase hex for the
    /// other control characters). Answers the span of its contents and whether it had an escape.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i += plain_prefix(self.b.get(self.i..)?);
            match *self.b.get(self.i)? {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some((start, end, escaped));
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(self.i + 1)? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            let digit = |c: u8| match c {
                                b'0'..=b'9' => Some(c - b'0'),
                                b'a'..=b'f' => Some(c - b'a' + 10),
                                _ => None,
                            };
                            if hex[0] != b'0' || hex[1] != b'0' {
                                return None;
                            }
                            let code = digit(hex[2])? * 16 + digit(hex[3])?;
                            if code >= 0x20 || matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                // A control character: nothing else ends a plain run.
                _ => return None,
            }
        }
    }

    /// A number token in ECMAScript's form and within the safe range.
    fn number(&mut self) -> bool {
        let start = self.i;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.i += 1;
        }
        let token = &self.b[start..self.i];
        if !token.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
            let digits = token.strip_prefix(b"-").unwrap_or(token);
            let well_formed = !digits.is_empty()
                && digits.iter().all(u8::is_ascii_digit)
                && (digits == b"0" || digits[0] != b'0')
                && token != b"-0";
            return well_formed
                && digits.len() <= 16
                && std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse::<u64>().ok())
                    .is_some_and(|v| v <= MAX_SAFE_INTEGER);
        }
        let Some(value) = std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
        else {
            return false;
        };
        is_safe_float(value) && ryu_js::Buffer::new().format_finite(value).as_bytes() == token
    }
}

/// RFC 8785 key order (UTF-16 code units) for unescaped keys. Byte order agrees with it except where
/// the first differing character is from U+E000 up on one side (UTF-8 lead byte 0xEE or above) and
/// outside the Basic Multilingual Plane on the other: so only a first differing byte of 0xEE or above
/// needs a look at the characters. (A difference in a continuation byte has the same lead byte, so
/// the same range, on both sides.)
fn key_less(a: &[u8], b: &[u8]) -> bool {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(common), b.get(common)) {
        (Some(&x), Some(&y)) if x >= 0xEE || y >= 0xEE => {
            match (std::str::from_utf8(a), std::str::from_utf8(b)) {
                (Ok(a), Ok(b)) => a.encode_utf16().lt(b.encode_utf16()),
                _ => false,
            }
        }
        (Some(x), Some(y)) => x < y,
        // One is a prefix of the other (or they are equal).
        _ => a.len() < b.len(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::canonical::{self, MAX_DEPTH};
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    #[test]
    fn ascii_json_is_the_same_value_in_ascii() {
        let text = r#"{"a":"é😀 x\u00e9\n","b":["ü",1,null],"ké":"€"}"#;
        let ascii = ascii_json(text.to_owned());
        assert!(ascii.is_ascii(), "{ascii}");
        assert_eq!(
            ascii,
            r#"{"a":"\u00e9\ud83d\ude00 x\u00e9\n","b":["\u00fc",1,null],"k\u00e9":"\u20ac"}"#
        );
        let parsed: Value = serde_json::from_str(&ascii).unwrap();
        assert_eq!(parsed, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(ascii_json(r#"{"a":1}"#.to_owned()), r#"{"a":1}"#);
    }

    proptest! {
        // The eight-bytes-at-a-time scan answers as a byte-by-byte one, wherever the bytes that need
        // an escape lie (one or two, in one word or in two), next to any other bytes (non-ASCII ones
        // included).
        #[test]
        fn plain_prefix_is_the_bytewise_scan(
            text in "[ -~é😀\u{80}\u{ff}]{0,40}",
            specials in prop::collection::vec(
                (prop::sample::select(vec!['\0', '\u{1f}', '"', '\\', ' ', '!', '#', '[', ']', '\u{7f}']), any::<prop::sample::Index>()),
                0..3,
            ),
        ) {
            let bytewise = |t: &str| t.bytes().position(|b| b < 0x20 || b == b'"' || b == b'\\').unwrap_or(t.len());
            let mut with: Vec<char> = text.chars().collect();
            for (special, at) in specials {
                with.insert(at.index(with.len() + 1), special);
            }
            let with: String = with.into_iter().collect();
            prop_assert_eq!(plain_prefix(with.as_bytes()), bytewise(&with));
            prop_assert_eq!(needs_escape(&with), bytewise(&with) < with.len());
        }

        // Written backward in place, the text is what a forward, character-by-character writer gives:
        // for any text, and for long ASCII runs between characters that are not, across the blocks
        // the scans skip.
        #[test]
        fn ascii_json_escapes_each_non_ascii_character(
            text in prop_oneof![
                any::<String>(),
                "([ -~]{0,150}[é😀東€\u{80}\u{7ff}\u{ffff}\u{10000}]{0,3}){0,12}",
            ],
        ) {
            let mut forward = String::new();
            for c in text.chars() {
                if c.is_ascii() {
                    forward.push(c);
                } else {
                    for unit in c.encode_utf16(&mut [0u16; 2]) {
                        forward.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
            prop_assert_eq!(ascii_json(text), forward);
        }

        #[test]
        fn ascii_json_parses_to_the_same_value(text in any::<String>()) {
            let json = serde_json::to_string(&serde_json::json!({"s": text, "t": [text.clone()]})).unwrap();
            let ascii = ascii_json(json.clone());
            prop_assert!(ascii.is_ascii());
            prop_assert_eq!(
                serde_json::from_str::<Value>(&ascii).unwrap(),
                serde_json::from_str::<Value>(&json).unwrap()
            );
        }
    }

    #[test]
    fn canonical_members_reads_members_in_the_recognizing_pass() {
        let text = r#"{"a":[1,{"x":"y"}],"s":{"m":{"k":1},"n":[]},"z":"\n"}"#;
        let found = canonical_members(text, MAX_DEPTH, "s").unwrap();
        assert_eq!(
            found.members,
            [
                ("a", r#"[1,{"x":"y"}]"#),
                ("s", r#"{"m":{"k":1},"n":[]}"#),
                ("z", r#""\n""#)
            ]
        );
        assert_eq!(found.inner, [("m", r#"{"k":1}"#), ("n", "[]")]);
        assert!(canonical_members(text, MAX_DEPTH, "none")
            .unwrap()
            .inner
            .is_empty());
        assert!(canonical_members(r#"{"s":[{"a":1}]}"#, MAX_DEPTH, "s")
            .unwrap()
            .inner
            .is_empty());
        // Exactly what is_canonical accepts, objects only.
        for bad in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1} "#,
            r#"{"a": 1}"#,
            "[1]",
            "1",
            r#"{"s":{"b":1,"a":1}}"#,
        ] {
            assert!(canonical_members(bad, MAX_DEPTH, "s").is_none(), "{bad}");
        }
        // The depth limit counts the object asked for like any other.
        assert!(canonical_members(r#"{"s":{"a":{}}}"#, 3, "s").is_some());
        assert!(canonical_members(r#"{"s":{"a":{}}}"#, 2, "s").is_none());
        assert!(!is_canonical(r#"{"s":{"a":{}}}"#, 2));
    }

    proptest! {
        #[test]
        fn canonical_members_agrees_with_is_canonical(v in value(), cut in 0usize..64, insert in "[ ,:{}\\[\\]\"0-9eE.+-]{0,2}") {
            let text = canonical::to_canonical_string(&serde_json::json!({"k": v, "s": {"t": v}})).unwrap();
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            for text in [text.clone(), format!("{}{}{}", &text[..at], insert, &text[at..])] {
                let found = canonical_members(&text, MAX_DEPTH, "s");
                prop_assert_eq!(found.is_some(), text.starts_with('{') && is_canonical(&text, MAX_DEPTH));
                if let Some(found) = found {
                    let whole: Value = serde_json::from_str(&text).unwrap();
                    let object = whole.as_object().unwrap();
                    prop_assert_eq!(found.members.len(), object.len());
                    for (key, value) in &found.members {
                        prop_assert_eq!(&serde_json::from_str::<Value>(value).unwrap(), &object[*key]);
                    }
                    let inner = object.get("s").and_then(Value::as_object);
                    prop_assert_eq!(found.inner.len(), inner.map_or(0, |o| o.len()));
                    for (key, value) in &found.inner {
                        prop_assert_eq!(&serde_json::from_str::<Value>(value).unwrap(), &inner.unwrap()[*key]);
                    }
                }
            }
        }
    }
    #[test]
    fn recognizes_canonical_text() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            r#"[1e+21,1e-7,0.000001,0,-5,1.5,"\u001f\n\"\\"]"#,
            r#""é😀\u0000""#,
            r#"{"":0,"a":{},"b":[]}"#,
            "9007199254740991",
            "-9007199254740991",
        ] {
            assert!(is_canonical(text, MAX_DEPTH), "{text}");
            assert_eq!(canonical::canonicalize_str(text).unwrap(), text);
        }
    }

    #[test]
    fn refuses_what_is_not_canonical() {
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a": 1}"#,
            " 1",
            "1 ",
            "[1,]",
            "{}}",
            "01",
            "-0",
            "1.0",
            "1E2",
            "1e21",
            "0.10",
            "9007199254740992",
            "1e400",
            r#""\u0041""#,
            r#""\u001F""#,
            r#""\/""#,
            "\"\u{1}\"",
            r#"{"\n":1}"#,
            "tru",
            "",
            "[",
            "\"abc",
        ] {
            assert!(!is_canonical(text, MAX_DEPTH), "{text}");
        }
    }

    #[test]
    fn depth() {
        assert_eq!(canonical_depth("1", 2), Some(0));
        assert_eq!(canonical_depth("[[],{\"a\":[[]]}]", 4), Some(4));
        assert_eq!(canonical_depth("[[],{\"a\":[[]]}]", 3), None);
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!is_canonical(&deep, MAX_DEPTH));
    }

    #[test]
    fn utf16_key_order() {
        // U+1F600 is a surrogate pair (0xD83D…) and sorts before U+E000 in UTF-16, after it in bytes.
        let canonical_form = "{\"\u{1f600}\":1,\"\u{e000}\":2}";
        assert_eq!(
            canonical::canonicalize_str(canonical_form).unwrap(),
            canonical_form
        );
        assert!(is_canonical(canonical_form, MAX_DEPTH));
        assert!(!is_canonical("{\"\u{e000}\":2,\"\u{1f600}\":1}", MAX_DEPTH));
    }

    #[test]
    fn canonical_elements_reads_each_canonical_element() {
        let text = r#"[{"a":[1,"x\n"]},"é",null,[],-1.5]"#;
        assert_eq!(
            canonical_elements(text, MAX_DEPTH).unwrap(),
            [r#"{"a":[1,"x\n"]}"#, r#""é""#, "null", "[]", "-1.5"]
        );
        assert_eq!(
            canonical_elements("[]", MAX_DEPTH).unwrap(),
            Vec::<&str>::new()
        );
        // Depth counts from each element.
        assert!(canonical_elements("[[[1]]]", 2).is_some());
        assert!(canonical_elements("[[[1]]]", 1).is_none());
        for bad in [
            "",
            "{}",
            "1",
            "[",
            "]",
            "[1,]",
            "[,1]",
            "[1 ]",
            " [1]",
            "[1] ",
            "[1][2]",
            "[1,2",
            r#"[{"b":1,"a":2}]"#,
            "[1.0]",
            r#"["\u0041"]"#,
        ] {
            assert!(canonical_elements(bad, MAX_DEPTH).is_none(), "{bad}");
        }
    }

    proptest! {
        // Keys compare as their UTF-16 code units do, whatever characters they share or differ by.
        #[test]
        fn key_order_is_utf16_order(
            a in "[a-bé\u{7ff}\u{800}\u{d7ff}\u{e000}\u{ffff}\u{10000}😀]{0,5}",
            b in "[a-bé\u{7ff}\u{800}\u{d7ff}\u{e000}\u{ffff}\u{10000}😀]{0,5}",
        ) {
            let utf16 = a.encode_utf16().lt(b.encode_utf16());
            prop_assert_eq!(key_less(a.as_bytes(), b.as_bytes()), utf16);
            // With a shared start, as sorted keys often have.
            let (pa, pb) = (format!("k😀{a}"), format!("k😀{b}"));
            prop_assert_eq!(key_less(pa.as_bytes(), pb.as_bytes()), utf16);
        }
    }

    fn has_escaped_key(v: &Value) -> bool {
        match v {
            Value::Array(items) => items.iter().any(has_escaped_key),
            Value::Object(map) => map.iter().any(|(k, v)| {
                k.chars().any(|c| c == '"' || c == '\\' || c < ' ') || has_escaped_key(v)
            }),
            _ => false,
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| is_safe_float(*f))
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z\u{e000}\u{1f600}\"\\\\\u{0}-\u{1f} é]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\u{e000}\u{1f600} _\"\u{1}]{0,4}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // An array's elements are read exactly when the array is canonical (the recognizer takes no
        // escaped key), and are its elements.
        #[test]
        fn canonical_elements_agrees_with_is_canonical(v in prop::collection::vec(value(), 0..4), cut in 0usize..64, insert in "[ ,:{}\\[\\]\"0-9eE.+-]{0,2}") {
            prop_assume!(!v.iter().any(has_escaped_key));
            let text = canonical::to_canonical_string(&Value::Array(v.clone())).unwrap();
            let elements = canonical_elements(&text, MAX_DEPTH).unwrap();
            let expected: Vec<String> = v.iter().map(|e| canonical::to_canonical_string(e).unwrap()).collect();
            prop_assert_eq!(elements, expected);
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let broken = format!("{}{}{}", &text[..at], insert, &text[at..]);
            prop_assert_eq!(canonical_elements(&broken, MAX_DEPTH).is_some(), broken.starts_with('[') && is_canonical(&broken, MAX_DEPTH));
        }

        /// Every canonical text the canonicalizer makes is recognized unless it has escaped keys.
        #[test]
        fn canonical_output_is_recognized(v in value()) {
            let text = canonical::to_canonical_string(&v).unwrap();
            prop_assert!(is_canonical(&text, MAX_DEPTH) || has_escaped_key(&v), "{}", text);
        }

        /// A recognized text is its own canonical form (never a false `true`), for any text, including
        /// mutations of canonical text.
        #[test]
        fn recognized_text_is_canonical(v in value(), cut in 0usize..64, insert in "[ ,:{}\\[\\]\"0-9eE.+-]{0,2}") {
            let text = canonical::to_canonical_string(&v).unwrap();
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
            if is_canonical(&mutated, MAX_DEPTH) {
                prop_assert_eq!(canonical::canonicalize_str(&mutated).unwrap(), mutated);
            }
        }
    }
}
