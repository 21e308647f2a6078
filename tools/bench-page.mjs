// The in-page half of `make bench` (tools/bench.mjs drives it in headless Chromium). Three ways of
// doing the same job on the same account of the same nodes, one step at a time:
//   - the vault (pkg/): pull, incremental pull, sign(), verifyBundle, signBytes(), verifyBundle of
//     those bytes, push;
//   - a plain-JS baseline, written as a web developer would without the vault: fetch + JSON.parse,
//     each page's node proof checked with the `canonicalize` npm package, WebCrypto SHA-256 and
//     WebCrypto Ed25519, one IndexedDB record per item in one transaction per page, a bundle
//     assembled from IndexedDB, canonicalized and signed (eddsa-jcs-2022), uploaded through the
//     transfer session endpoints with its receipt checked;
//   - limits: the same pages fetched and parsed with no processing, the same bytes written raw to
//     IndexedDB as byte arrays (one record per item, and 1,000-item chunk records), WebCrypto
//     SHA-256 of the canonical bundle bytes, and the upload of as many bytes without a commit.
// Both sides use one DID: the vault imports the seed as the platform's plain key file, the baseline
// imports the same seed into WebCrypto.
import init, * as pkg from "/pkg/bundle_vault.js";
import canonicalize from "/node_modules/canonicalize/lib/canonicalize.js";

const PAGE_LIMIT = 5000; // the vault's page size (src/wasm/pull.rs)
const GENESIS = "0".repeat(64);
const PASSPHRASE = "benchmark passphrase";
const enc = new TextEncoder();
const now = () => performance.now();
const ms = (t0) => Math.round((performance.now() - t0) * 10) / 10;

// ---- small helpers -------------------------------------------------------------------------

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function b58encode(bytes) {
  const digits = []; // base-58 digits, least significant first
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i] * 256;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = "";
  for (const byte of bytes) {
    if (byte !== 0) break;
    out += "1";
  }
  for (let i = digits.length - 1; i >= 0; i--) out += B58[digits[i]];
  return out;
}
function b58decode(text) {
  const bytes = []; // least significant first
  for (const ch of text) {
    let carry = B58.indexOf(ch);
    if (carry < 0) throw new Error(`not base58: ${ch}`);
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (const ch of text) {
    if (ch !== "1") break;
    bytes.push(0);
  }
  return Uint8Array.from(bytes.reverse());
}
const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => Uint8Array.from(text.match(/../g), (h) => parseInt(h, 16));
const sha256 = (bytes) => crypto.subtle.digest("SHA-256", bytes);

function idbOpen(name, upgrade) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => upgrade(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
const idbDone = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
const idbReq = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
const idbDelete = (name) => idbReq(indexedDB.deleteDatabase(name));
const usage = async () => (await navigator.storage.estimate()).usage ?? 0;

async function json(url, init = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

// ---- the baseline's Ed25519 / eddsa-jcs-2022 -----------------------------------------------

const PKCS8_ED25519 = unhex("302e020100300506032b657004220420");
function keyFromDid(did) {
  if (did.startsWith("did:key:z")) {
    const bytes = b58decode(did.slice("did:key:z".length));
    if (bytes[0] !== 0xed || bytes[1] !== 0x01 || bytes.length !== 34) throw new Error(`not an Ed25519 did:key: ${did}`);
    return bytes.slice(2);
  }
  if (did.startsWith("did:imajin:")) return b58decode(did.slice("did:imajin:".length));
  throw new Error(`unsupported DID ${did}`);
}
const verifyKeys = new Map();
async function verifyKey(publicKey) {
  const id = hex(publicKey);
  if (!verifyKeys.has(id)) {
    verifyKeys.set(id, await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]));
  }
  return verifyKeys.get(id);
}

// The signed bytes of eddsa-jcs-2022: SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document without proof)).
async function signedBytes(doc, config) {
  const { proof, ...body } = doc;
  const [a, b] = await Promise.all([sha256(enc.encode(canonicalize(config))), sha256(enc.encode(canonicalize(body)))]);
  const out = new Uint8Array(64);
  out.set(new Uint8Array(a), 0);
  out.set(new Uint8Array(b), 32);
  return out;
}
// Checks a document's proof against an expected signer DID (the node's did:key, or the user's DID).
async function verifyProof(doc, signerDid) {
  const { proofValue, ...config } = doc.proof ?? {};
  if (config.type !== "DataIntegrityProof" || config.cryptosuite !== "eddsa-jcs-2022" || !proofValue?.startsWith("z")) {
    throw new Error("proof malformed");
  }
  const [vmDid] = config.verificationMethod.split("#");
  const key = keyFromDid(vmDid);
  if (hex(key) !== hex(keyFromDid(signerDid))) throw new Error(`proof by ${vmDid}, expected ${signerDid}`);
  const ok = await crypto.subtle.verify("Ed25519", await verifyKey(key), b58decode(proofValue.slice(1)), await signedBytes(doc, config));
  if (!ok) throw new Error("signature invalid");
}

// ---- state of one page (one run) -------------------------------------------------------------

let S = null;

export async function setup({ seedHex, source, target, run }) {
  const wasm = await init();
  const seed = unhex(seedHex);
  const keypair = pkg.Keypair.fromSeed(seed);
  const publicKey = keypair.publicKey;
  const did = keypair.did; // did:imajin:<base58 key>
  if (did !== `did:imajin:${b58encode(publicKey)}`) throw new Error("base58 of the baseline differs from the vault's");
  const didKey = `did:key:z${b58encode(Uint8Array.from([0xed, 0x01, ...publicKey]))}`;
  if (didKey !== keypair.didKey) throw new Error("did:key of the baseline differs from the vault's");
  keypair.free();
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_ED25519, 0);
  pkcs8.set(seed, 16);
  const signingKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  S = {
    wasm, did, didKey, publicKey, signingKey, source, target, run,
    vaultName: `bench-vault-${run}`,
    baseName: `bench-baseline-${run}`,
    backup: JSON.stringify({ did, keypair: { privateKey: seedHex, publicKey: hex(publicKey) } }),
  };
  for (const name of [S.vaultName, S.baseName, `${S.baseName}-raw-items`, `${S.baseName}-raw-chunks`]) await idbDelete(name);
  return { did, wasmBytes: wasm.memory.buffer.byteLength };
}

// ---- the baseline ----------------------------------------------------------------------------

async function login(manifestUrl) {
  const manifest = await json(manifestUrl);
  const at = (path) => new URL(path, manifestUrl).href;
  const { challengeId, challenge } = await json(at(manifest.auth.challenge), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ did: S.did }),
  });
  const signature = await crypto.subtle.sign("Ed25519", S.signingKey, enc.encode(challenge));
  const { token } = await json(at(manifest.auth.verify), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ challengeId, did: S.did, signature: hex(signature) }),
  });
  return { manifest, at, auth: { authorization: `Bearer ${token}` } };
}

// The account as the node counts it (live items), and a first login (the demo node creates the
// account then): not timed.
export async function prepare() {
  const { manifest, at, auth } = await login(S.source);
  let items = 0;
  for (const service of manifest.services) {
    const { counts } = await json(`${at(service.count)}?did=${encodeURIComponent(S.did)}`, { headers: auth });
    for (const n of Object.values(counts)) items += n;
  }
  S.items = items;
  return { items };
}

function openBaseline() {
  return idbOpen(S.baseName, (db) => {
    db.createObjectStore("items", { keyPath: ["section", "collection", "id"] });
    db.createObjectStore("cursors", { keyPath: "service" });
  });
}

// Pulls every service from its cursor (none: from the start), checking each page's node proof and
// writing its items in one transaction with the new cursor.
async function baselinePull(cursors) {
  const { manifest, at, auth } = await login(S.source);
  const db = S.baseDb ?? (S.baseDb = await openBaseline());
  let items = 0;
  let bytes = 0;
  for (const service of manifest.services) {
    let cursor = cursors?.[service.name];
    for (;;) {
      let url = `${at(service.export)}?did=${encodeURIComponent(S.did)}&limit=${PAGE_LIMIT}`;
      if (cursor) url += `&cursor=${encodeURIComponent(cursor)}`;
      const res = await fetch(url, { headers: auth });
      if (!res.ok) throw new Error(`export ${service.name}: ${res.status}`);
      const text = await res.text();
      bytes += text.length;
      const page = JSON.parse(text);
      if (page.did !== S.did || page.service !== service.name) throw new Error("page of another DID or service");
      await verifyProof(page, manifest.did);
      const tx = db.transaction(["items", "cursors"], "readwrite");
      const store = tx.objectStore("items");
      for (const item of page.items) {
        if (item.deleted) store.delete([page.section, item.collection, item.id]);
        else store.put({ section: page.section, collection: item.collection, id: item.id, updated_at: item.updated_at, data: item.data });
      }
      tx.objectStore("cursors").put({ service: service.name, cursor: page.cursor });
      await idbDone(tx);
      items += page.items.length;
      cursor = page.cursor;
      if (page.done) break;
    }
  }
  return { items, bytes };
}

async function baselineCursors() {
  const tx = S.baseDb.transaction("cursors");
  const all = await idbReq(tx.objectStore("cursors").getAll());
  return Object.fromEntries(all.map((c) => [c.service, c.cursor]));
}

export async function baselineFull() {
  const before = await usage();
  const t = now();
  const { items, bytes } = await baselinePull(null);
  const fullMs = ms(t);
  const tx = S.baseDb.transaction("items");
  const stored = await idbReq(tx.objectStore("items").count());
  return { fullMs, pageItems: items, stored, jsonChars: bytes, idbBytes: (await usage()) - before };
}

export async function baselineIncremental() {
  const cursors = await baselineCursors();
  const t = now();
  const { items } = await baselinePull(cursors);
  return { incrementalMs: ms(t), pageItems: items };
}

// sign(): the bundle assembled from IndexedDB, canonicalized, hashed and signed.
export async function baselineSign() {
  let t = now();
  const tx = S.baseDb.transaction("items");
  const records = await idbReq(tx.objectStore("items").getAll()); // key order: section, collection, id
  const sections = {};
  for (const r of records) {
    const section = (sections[r.section] ??= {});
    (section[r.collection] ??= []).push({ id: r.id, updated_at: r.updated_at, data: r.data });
  }
  const manifest = await json(S.source);
  const bundle = { did: S.did, exported_at: new Date().toISOString(), node: manifest.node, sections, log: { length: 0, head: GENESIS } };
  const assembleMs = ms(t);
  t = now();
  const config = {
    type: "DataIntegrityProof",
    cryptosuite: "eddsa-jcs-2022",
    created: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    verificationMethod: `${S.didKey}#${S.didKey.slice("did:key:".length)}`,
    proofPurpose: "assertionMethod",
  };
  const signature = await crypto.subtle.sign("Ed25519", S.signingKey, await signedBytes(bundle, config));
  bundle.proof = { ...config, proofValue: `z${b58encode(new Uint8Array(signature))}` };
  const signMs = ms(t);
  S.baseBundle = bundle;
  return { assembleMs, canonicalSignMs: signMs, signTotalMs: Math.round((assembleMs + signMs) * 10) / 10, items: records.length };
}

// verifyBundle: shape, the DID's key is the signer's, the proof.
export async function baselineVerify() {
  const t = now();
  const b = S.baseBundle;
  if (typeof b.did !== "string" || typeof b.sections !== "object" || typeof b.log?.head !== "string") throw new Error("not a bundle");
  await verifyProof(b, b.did);
  return { verifyMs: ms(t) };
}

async function upload(manifestUrl, bytes, hash, commit) {
  const { manifest, at, auth } = await login(manifestUrl);
  const base = at(manifest.transfer);
  const session = await json(`${base}/sessions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ did: S.did, bundle_hash: hash, size: bytes.length }),
  });
  // As the vault uploads: two chunks in flight, each a Blob (Chromium sends a Blob body about three
  // times faster than a typed array).
  const count = Math.ceil(bytes.length / session.chunk_size);
  let next = 0;
  const sender = async () => {
    for (let i = next++; i < count; i = next++) {
      const off = i * session.chunk_size;
      await json(`${base}/sessions/${session.session_id}/chunks/${i}`, {
        method: "PUT",
        headers: { ...auth, "content-type": "application/octet-stream" },
        body: new Blob([bytes.subarray(off, Math.min(off + session.chunk_size, bytes.length))]),
      });
    }
  };
  await Promise.all([sender(), sender()]);
  if (!commit) return null;
  const receipt = await json(`${base}/sessions/${session.session_id}/commit`, { method: "POST", headers: auth });
  await verifyProof(receipt, manifest.did);
  return receipt;
}

// push(): canonical bytes of the signed bundle, their hash, the chunks, the commit, the receipt.
export async function baselinePush() {
  const t = now();
  const bytes = enc.encode(canonicalize(S.baseBundle));
  const hash = hex(await sha256(bytes));
  const receipt = await upload(S.target, bytes, hash, true);
  if (receipt.bundle_hash !== hash || receipt.did !== S.did) throw new Error("receipt for another bundle");
  const pushMs = ms(t);
  let continuity = true;
  for (const [section, collections] of Object.entries(S.baseBundle.sections)) {
    for (const [collection, items] of Object.entries(collections)) {
      if (receipt.counts?.[section]?.[collection] !== items.length) continuity = false;
    }
  }
  S.bundleBytes = bytes;
  return { pushMs, bytes: bytes.length, continuity };
}

// Empties the DID's data on the target (a signed bundle without sections), so that every timed push
// imports the whole account into the same state of the target. Not timed.
export async function resetTarget() {
  const bundle = { did: S.did, exported_at: new Date().toISOString(), node: "bench", sections: {}, log: { length: 0, head: GENESIS } };
  const config = {
    type: "DataIntegrityProof",
    cryptosuite: "eddsa-jcs-2022",
    created: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    verificationMethod: `${S.didKey}#${S.didKey.slice("did:key:".length)}`,
    proofPurpose: "assertionMethod",
  };
  const signature = await crypto.subtle.sign("Ed25519", S.signingKey, await signedBytes(bundle, config));
  bundle.proof = { ...config, proofValue: `z${b58encode(new Uint8Array(signature))}` };
  const bytes = enc.encode(canonicalize(bundle));
  await upload(S.target, bytes, hex(await sha256(bytes)), true);
  return {};
}

// ---- limits ----------------------------------------------------------------------------------

// fetch + JSON.parse of the pages a pull reads (from the given cursors), nothing else.
async function fetchParse(cursors) {
  const { manifest, at, auth } = await login(S.source);
  const t = now();
  const pages = [];
  let bytes = 0;
  for (const service of manifest.services) {
    let cursor = cursors?.[service.name];
    for (;;) {
      let url = `${at(service.export)}?did=${encodeURIComponent(S.did)}&limit=${PAGE_LIMIT}`;
      if (cursor) url += `&cursor=${encodeURIComponent(cursor)}`;
      const res = await fetch(url, { headers: auth });
      const buf = await res.arrayBuffer();
      bytes += buf.byteLength;
      const page = JSON.parse(new TextDecoder().decode(buf));
      pages.push(page);
      cursor = page.cursor;
      if (page.done) break;
    }
  }
  return { fetchParseMs: ms(t), pages, jsonBytes: bytes };
}

// The same items' bytes (their JSON text in UTF-8, encoded before the clock starts) written raw: one
// record per item, 1,000 per transaction; and one record per 1,000 items of a page, one transaction
// each. Bytes, as the vault stores them: Chromium writes a string of the same text several times
// slower.
async function rawWrites(pages, tag) {
  const texts = pages.map((p) => p.items.map((item) => [`${p.service}/${item.collection}/${item.id}`, JSON.stringify(item)]));
  const perItem = texts.map((page) => page.map(([key, text]) => [key, enc.encode(text)]));
  const chunks = pages.flatMap((p, i) => {
    const out = [];
    for (let at = 0; at < texts[i].length; at += 1000) {
      out.push([`${p.service}/${i}/${at}`, enc.encode(`[${texts[i].slice(at, at + 1000).map(([, s]) => s).join(",")}]`)]);
    }
    return out;
  });
  const out = {};
  for (const [kind, write] of [
    [
      "items",
      async (db) => {
        const flat = perItem.flat();
        for (let i = 0; i < flat.length; i += 1000) {
          const tx = db.transaction("raw", "readwrite");
          const store = tx.objectStore("raw");
          for (const [key, value] of flat.slice(i, i + 1000)) store.put(value, key);
          await idbDone(tx);
        }
      },
    ],
    [
      "chunks",
      async (db) => {
        for (const [key, value] of chunks) {
          const tx = db.transaction("raw", "readwrite");
          tx.objectStore("raw").put(value, key);
          await idbDone(tx);
        }
      },
    ],
  ]) {
    const db = await idbOpen(`${S.baseName}-raw-${kind}-${tag}`, (d) => d.createObjectStore("raw"));
    const before = await usage();
    const t = now();
    await write(db);
    out[`${kind}WriteMs`] = ms(t);
    out[`${kind}IdbBytes`] = (await usage()) - before;
    db.close();
    await idbDelete(`${S.baseName}-raw-${kind}-${tag}`);
  }
  return out;
}

export async function limitFull() {
  const { fetchParseMs, pages, jsonBytes } = await fetchParse(null);
  const items = pages.reduce((n, p) => n + p.items.length, 0);
  return { fetchParseMs, jsonBytes, items, pages: pages.length, ...(await rawWrites(pages, "full")) };
}

export async function limitIncremental() {
  const { fetchParseMs, pages, jsonBytes } = await fetchParse(await baselineCursors());
  const items = pages.reduce((n, p) => n + p.items.length, 0);
  return { fetchParseMs, jsonBytes, items, ...(await rawWrites(pages, "inc")) };
}

// SHA-256 of the canonical bundle bytes (the floor of signing and verifying), and the upload of as
// many bytes to the target without a commit (the floor of pushing, less the node's import).
export async function limitHashUpload() {
  const bytes = S.bundleBytes;
  let t = now();
  await sha256(bytes);
  const sha256Ms = ms(t);
  t = now();
  await upload(S.target, bytes, hex(crypto.getRandomValues(new Uint8Array(32))), false);
  return { sha256Ms, uploadMs: ms(t), bytes: bytes.length };
}

// ---- the vault -------------------------------------------------------------------------------

const sumCounts = (counts) => Object.values(counts).reduce((a, s) => a + Object.values(s).reduce((b, n) => b + n, 0), 0);

export async function vaultOpen() {
  S.vault = await pkg.Vault.open(S.vaultName);
  await S.vault.importKey(S.backup, PASSPHRASE);
  if (S.vault.did !== S.did) throw new Error("the vault's DID is not the baseline's");
  return {};
}

export async function vaultFull() {
  const before = await usage();
  const t = now();
  const report = await S.vault.pull(S.source);
  const fullMs = ms(t);
  return {
    fullMs,
    errors: report.services.filter((s) => s.error).map((s) => `${s.service}: ${s.error.code}`),
    bytes: report.services.reduce((n, s) => n + s.bytes, 0),
    stored: sumCounts(await S.vault.count()),
    idbBytes: (await usage()) - before,
    memoryBytes: S.wasm.memory.buffer.byteLength,
  };
}

export async function mutate() {
  const r = await json(`${new URL(S.source).origin}/dev/mutate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ did: S.did, fraction: 0.01 }),
  });
  return { changed: r.updated };
}

export async function vaultIncremental() {
  const t = now();
  const report = await S.vault.pull(S.source);
  return {
    incrementalMs: ms(t),
    updated: report.services.reduce((n, s) => n + s.updated, 0),
    errors: report.services.filter((s) => s.error).map((s) => `${s.service}: ${s.error.code}`),
  };
}

export async function vaultSignVerify() {
  let t = now();
  const signed = await S.vault.sign();
  const signMs = ms(t);
  t = now();
  const result = pkg.verifyBundle(signed);
  const verifyMs = ms(t);
  const items = Object.values(signed.sections).reduce((a, s) => a + Object.values(s).reduce((b, l) => b + l.length, 0), 0);
  // Where the time goes: the bundle as an object tree without hash or signature, and the JSON text of
  // the signed bundle (what verifying a JavaScript object must produce first).
  t = now();
  await S.vault.bundle();
  const bundleMs = ms(t);
  t = now();
  JSON.stringify(signed);
  const stringifyMs = ms(t);
  // The same as the file: the signed bundle's bytes, and verifying those bytes as they are.
  t = now();
  const file = await S.vault.signBytes();
  const signBytesMs = ms(t);
  S.file = file; // for freshVerify, in another page
  t = now();
  const fileResult = pkg.verifyBundle(file);
  const verifyBytesMs = ms(t);
  if (!fileResult.verified) throw new Error(`the signed bytes do not verify: ${fileResult.code}`);
  return { signMs, verifyMs, verified: result.verified, code: result.code ?? null, items, bundleMs, stringifyMs, signBytesMs, verifyBytesMs, fileBytes: file.length };
}

// The signed bundle's bytes of vaultSignVerify, in base64: tools/bench-run.mjs writes them to a file
// that another page fetches (freshVerify).
export function fileBase64() {
  let binary = "";
  for (let i = 0; i < S.file.length; i += 0x8000) binary += String.fromCharCode(...S.file.subarray(i, i + 0x8000));
  S.file = undefined;
  return btoa(binary);
}

// verifyBundle of a bundle file's bytes as the first call of a fresh page, as in an app opened to
// check a backup, and once more: V8 runs a wasm function's optimized code only from a later call on.
export async function freshVerify(url) {
  await init();
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  let t = now();
  const first = pkg.verifyBundle(bytes);
  const freshVerifyMs = ms(t);
  t = now();
  const again = pkg.verifyBundle(bytes);
  const againVerifyMs = ms(t);
  if (!first.verified || !again.verified) throw new Error(`the file does not verify: ${first.code ?? again.code}`);
  return { freshVerifyMs, againVerifyMs, fileBytes: bytes.length };
}

export async function vaultPush() {
  const t = now();
  const pushed = await S.vault.push(S.target);
  return { pushMs: ms(t), bytes: pushed.size, continuity: pushed.continuity.ok };
}

export async function finish() {
  const peak = S.wasm.memory.buffer.byteLength;
  S.vault?.close();
  S.baseDb?.close();
  await pkg.Vault.destroy(S.vaultName);
  await idbDelete(S.baseName);
  return { peakWasmBytes: peak };
}
