// The page of tests/e2e/faults.test.mjs: the package from /pkg/ and helpers that read a vault back whole.
import init, * as bv from "/pkg/bundle_vault.js";
const wasm = await init();
const GENESIS = "0".repeat(64);
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
const drop0 = (counts) => Object.fromEntries(Object.entries(counts)
  .map(([section, c]) => [section, Object.fromEntries(Object.entries(c).filter(([, n]) => n > 0))])
  .filter(([, c]) => Object.keys(c).length > 0));
window.bv = bv;
/** How many times `text` (its UTF-8 bytes) or the bytes themselves occur in the vault's wasm memory. */
window.inMemory = (text) => {
  const needle = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const memory = new Uint8Array(wasm.memory.buffer);
  let found = 0;
  for (let at = memory.indexOf(needle[0]); at !== -1; at = memory.indexOf(needle[0], at + 1)) {
    let i = 1;
    while (i < needle.length && memory[at + i] === needle[i]) i++;
    if (i === needle.length) found++;
  }
  return found;
};
window.vaults = {};
/** Opens (and unlocks, or gives a key to) the vault of this name. */
window.openVault = async (name, passphrase) => {
  const vault = await bv.Vault.open(name);
  if (vault.hasKey) await vault.unlock(passphrase); else await vault.createKey(passphrase);
  window.vaults[name] = vault;
  return vault.did;
};
/** A node's counts as {section: {collection: n}}, zeros left out. */
window.remote = async (name, manifest) => {
  const out = {};
  for (const { section, counts } of Object.values(await window.vaults[name].remoteCount(manifest))) {
    out[section] = { ...out[section], ...counts };
  }
  return drop0(out);
};
/** Everything a test asserts about a vault's store, read back through the API. */
window.facts = async (name) => {
  const vault = window.vaults[name];
  const counts = drop0(await vault.count());
  const bundle = await vault.bundle();
  const ids = new Set();
  let items = 0;
  for (const [section, collections] of Object.entries(bundle.sections)) {
    for (const [collection, list] of Object.entries(collections)) {
      for (const item of list) ids.add(section + "/" + collection + "/" + item.id);
      items += list.length;
    }
  }
  const entries = await vault.log({ limit: 100000 });
  let head = GENESIS;
  let brokenAt = null;
  for (const [i, entry] of entries.entries()) {
    if (entry.seq !== i || entry.prev !== head) { brokenAt = i; break; }
    head = await sha256(bv.canonicalize(JSON.stringify(entry)));
  }
  const adds = entries.filter((e) => e.op.endsWith(".add")).map((e) => e.service + " " + e.op + " " + e.ref);
  const receipts = entries.filter((e) => e.op.startsWith("receipt."));
  const signed = await vault.sign();
  return {
    counts,
    total: Object.values(counts).flatMap(Object.values).reduce((a, b) => a + b, 0),
    items,
    uniqueItems: ids.size,
    entries: entries.length,
    chainBrokenAt: brokenAt,
    chainHead: head,
    logHead: vault.logHead,
    adds: adds.length,
    uniqueAdds: new Set(adds).size,
    receipts: receipts.map((e) => ({ service: e.service, op: e.op, node: e.context })),
    signedLog: signed.log,
    signedVerified: bv.verifyBundle(signed).verified,
    digest: await vault.digest(),
  };
};
window.ready = true;
