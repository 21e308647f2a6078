//! JSON values across the boundary, moved in bulk as text.
//!
//! Coming in, a JavaScript value is serialized by the engine's own `JSON.stringify` (fast, and it
//! refuses cycles and BigInt). It writes non-finite numbers as `null`, silently; those are refused: a
//! walk looks for one when the text has a `null`, and a replacer then names the place. The text is
//! encoded into wasm memory as UTF-8 by `TextEncoder.encodeInto`, in a buffer about its size, and
//! then goes through the core's strict parser, which checks depth, unsafe integers and duplicate
//! keys. A caller who already has the JSON text (a file's contents) can hand it over as such, a string
//! or UTF-8 bytes ([`document_text`]): then nothing is serialized. Going out, the core's JSON text is
//! turned into objects by `JSON.parse`, in ASCII.

use js_sys::{ArrayBuffer, JsString, Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::core::{canonical, Error, Result};

#[wasm_bindgen(inline_js = r#"
const refuseNonFinite = (key, value) => {
  // A Number object is written as its number (after the replacer has seen it).
  const number = value instanceof Number ? value.valueOf() : value;
  if (typeof number === "number" && !Number.isFinite(number)) {
    const error = new RangeError(`${number} at ${key === "" ? "the top level" : JSON.stringify(key)} is not a finite number`);
    error.code = "UNSAFE_NUMBER";
    throw error;
  }
  return value;
};
// Whether the plain arrays and objects of `value` hold a number that is not finite. Undecided (null)
// when they hold anything else JSON.stringify converts (toJSON, boxed values): the replacer decides.
function holdsNonFinite(value) {
  if (typeof value === "number") return !Number.isFinite(value);
  if (value === null || typeof value !== "object") return false;
  // Only objects and arrays are stacked: numbers are checked, and strings skipped, where they are met.
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v.toJSON === "function") return null;
    let values = v;
    if (!Array.isArray(v)) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return null;
      values = Object.values(v);
    }
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (typeof x === "number") {
        if (!Number.isFinite(x)) return true;
      } else if (x !== null && typeof x === "object") {
        stack.push(x);
      }
    }
  }
  return false;
}
// Whether a string is Unicode text: no lone surrogate (which TextEncoder would silently replace).
export function isWellFormed(text) {
  return typeof text.isWellFormed === "function" ? text.isWellFormed() : !/\p{Cs}/u.test(text);
}
export function toJsonText(value) {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return { code: "INVALID_JSON", message: `${typeof value} is not a JSON value` };
    // JSON.stringify writes NaN and the infinities as null, silently: only a text with a null can hide
    // one. Then a walk looks for one, and the replacer (slower: a call per value) says where.
    if (text.includes("null") && holdsNonFinite(value) !== false) JSON.stringify(value, refuseNonFinite);
    return text;
  } catch (error) {
    const deep = error instanceof RangeError && /call stack/i.test(error.message);
    return { code: deep ? "TOO_DEEP" : error.code ?? "INVALID_JSON", message: String(error.message) };
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = toJsonText)]
    fn to_json_text(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = isWellFormed)]
    fn is_well_formed(text: &JsString) -> bool;
}

#[wasm_bindgen]
extern "C" {
    /// The platform's `TextEncoder` (browsers, workers and Node.js have it).
    #[wasm_bindgen(js_name = TextEncoder)]
    type Utf8Encoder;
    #[wasm_bindgen(constructor, js_class = "TextEncoder")]
    fn new() -> Utf8Encoder;
    /// Writes as much of `source` as fits into `destination`, which is wasm memory itself.
    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(
        this: &Utf8Encoder,
        source: &JsString,
        destination: &mut [u8],
    ) -> EncodeIntoResult;

    type EncodeIntoResult;
    #[wasm_bindgen(method, getter)]
    fn read(this: &EncodeIntoResult) -> u32;
    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeIntoResult) -> u32;
}

/// How many UTF-16 units of a string are encoded at a time: 256 Ki units (512 KiB of a two-byte
/// string). Measured in headless Chromium on a 61-million-unit bundle text with some non-ASCII
/// characters: one `encodeInto` call took 0.30–0.52 s, slices of 16 Ki to 256 Ki units 0.17–0.20 s
/// together, slices of 1 Mi units 0.25–0.30 s.
pub const SLICE_UNITS: usize = 1 << 18;

/// A JavaScript string as UTF-8, encoded straight into a buffer about its size, a slice of the string
/// at a time ([`SLICE_UNITS`]). (Taking a string the usual way reserves three bytes per UTF-16 unit as
/// soon as one character is not ASCII: 180 MiB for a 60 MB bundle, which wasm memory then keeps, as it
/// never shrinks.) The buffer starts at the string's length and a sixteenth; when a slice does not fit
/// in what is left, it grows by exactly what the text so far suggests for the rest. A slice never ends
/// between the two halves of a surrogate pair, which would each be encoded as U+FFFD.
fn utf8_of(text: &JsString) -> Result<String> {
    let units = text.length() as usize;
    let encoder = Utf8Encoder::new();
    let mut bytes = vec![0u8; units + units / 16 + 16];
    let (mut read, mut written) = (0usize, 0usize);
    while read < units {
        let mut end = (read + SLICE_UNITS).min(units);
        if end < units && (0xD800..0xDC00).contains(&(text.char_code_at(end as u32 - 1) as u32)) {
            end += 1;
        }
        let slice = if read == 0 && end == units {
            text.clone()
        } else {
            text.slice(read as u32, end as u32)
        };
        let result = encoder.encode_into(&slice, &mut bytes[written..]);
        let took = result.read() as usize;
        read += took;
        written += result.written() as usize;
        if read < end {
            // The rest of the slice did not fit (encodeInto writes whole characters only).
            let left = units - read;
            // Bytes per unit so far, with an eighth more, capped at three bytes per unit, and room
            // for a surrogate pair at least.
            let guess = left.saturating_mul(written.max(1)).div_ceil(read.max(1));
            let more = (guess + guess / 8).min(left.saturating_mul(3)) + 4;
            // Fewer than four bytes were left, so this grows the buffer, by that much and no more.
            let target = (written + more).max(bytes.len());
            bytes.reserve_exact(target - bytes.len());
            bytes.resize(target, 0);
        }
    }
    bytes.truncate(written);
    String::from_utf8(bytes).map_err(|e| Error::InvalidJson(e.to_string()))
}

/// The JSON text of a JavaScript value, or the typed reason it has none.
pub fn text_of(value: &JsValue) -> Result<String> {
    let out = to_json_text(value);
    if let Some(text) = out.dyn_ref::<JsString>() {
        return utf8_of(text);
    }
    let field = |name: &str| {
        Reflect::get(&out, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let message = field("message");
    Err(match field("code").as_str() {
        "UNSAFE_NUMBER" => Error::UnsafeNumber(message),
        "TOO_DEEP" => Error::TooDeep(canonical::MAX_DEPTH),
        _ => Error::InvalidJson(message),
    })
}

/// The JSON text of a document or bundle given either as a JavaScript value or as its JSON text: a
/// string, or UTF-8 bytes (a `Uint8Array` or an `ArrayBuffer`, a file's contents; a leading byte-order
/// mark is skipped, as `File.text()` does). Text given as such is taken as it is, without the cost of
/// serializing an object tree; it goes through the same strict parser afterwards.
pub fn document_text(value: &JsValue) -> Result<String> {
    if let Some(text) = value.dyn_ref::<JsString>() {
        if !is_well_formed(text) {
            return Err(Error::InvalidJson(
                "the text has a lone surrogate: it is not Unicode text".into(),
            ));
        }
        return utf8_of(text);
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return text_of_bytes(bytes.to_vec());
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return text_of_bytes(Uint8Array::new(buffer).to_vec());
    }
    text_of(value)
}

fn text_of_bytes(mut bytes: Vec<u8>) -> Result<String> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    String::from_utf8(bytes)
        .map_err(|e| Error::InvalidJson(format!("the bytes are not UTF-8: {e}")))
}

/// A JavaScript value read strictly into a core JSON value.
pub fn value_of(value: &JsValue) -> Result<Value> {
    canonical::parse(&text_of(value)?)
}

/// A core JSON value as a JavaScript value.
pub fn to_js(value: &Value) -> Result<JsValue> {
    parse(serde_json::to_string(value).map_err(|e| Error::InvalidJson(e.to_string()))?)
}

/// JSON text as a JavaScript value (`JSON.parse`), handed over in ASCII
/// ([`ascii_json`](crate::core::canonical_text::ascii_json), in the text's own buffer), which
/// JavaScript decodes much faster.
pub fn parse(text: String) -> Result<JsValue> {
    js_sys::JSON::parse(&crate::core::canonical_text::ascii_json(text))
        .map_err(|_| Error::InvalidJson("JSON.parse refused the output".into()))
}
