// Faults end to end, in headless Chromium against real reference nodes: a page reloaded in the middle
// of a pull, a push and a delete; the target node killed mid-push and restarted; two tabs of one vault
// pulling at once; a commit that would overwrite another; an import the browser refuses part way; the
// storage quota exhausted. Each ends with the store checked whole: local counts against the node's, no
// item twice, the log chain recomputed link by link, and the signed bundle's log commitment. Also: a
// backup node that does not answer when a delete asks it, and secrets left in the wasm memory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, startNodes, startNode, launchBrowser, launchPersistentBrowser, devPost } from "./harness.mjs";

const DEMO_ITEMS = 600;
const PASSPHRASE = "quiet harbour lanterns glowing";
/** Transfer chunks of the push targets: a bundle of DEMO_ITEMS items is a few dozen of them. */
const CHUNK_SIZE = 16384;



let nodes;
let target;
let app;
let browser;
let services;

before(async () => {
  [nodes, target] = await Promise.all([
    startNodes({ demoItems: DEMO_ITEMS }),
    startNode({ name: "target", args: ["--chunk-size", String(CHUNK_SIZE)] }),
  ]);
  // The test page (tests/e2e/pages/) is served like the app, under the same CSP.
  app = await startApp({ www: "tests/e2e/pages", connect: [nodes.source, nodes.target, target.origin] });
  browser = await launchBrowser();
  services = (await (await fetch(nodes.sourceManifest)).json()).services.map((s) => s.name);
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await nodes?.stop();
  await target?.stop();
});

/** A fresh browser context: its own IndexedDB. */
const newContext = () => browser.newContext();

async function openPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console: ${msg.text()}`));
  page.setDefaultTimeout(60_000);
  await page.goto(`${app.url}faults.html`);
  await page.waitForFunction(() => window.ready === true);
  return { page, problems };
}

/** Reloads the page (the vault's work in it stops dead) and waits until the package is loaded again. */
async function reload(page) {
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
}

const facts = (page, name) => page.evaluate((n) => window.facts(n), name);
const remote = (page, name, manifest) => page.evaluate(([n, m]) => window.remote(n, m), [name, manifest]);
const pull = (page, name, manifest) =>
  page.evaluate(([n, m]) => window.vaults[n].pull(m), [name, manifest]);

/** Polls `condition` (async) every 50 ms until it returns a truthy value, for at most `ms`. */
async function until(condition, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts a push of vault `name` to the target with every chunk acknowledged a second after it is
 * stored, its outcome kept in `window.pushed`; resolves to its progress once two chunks are acknowledged.
 */
async function startSlowPush(page, name, did) {
  await devPost(target.origin, "/dev/fault", { did, service: "transfer", fault: "slow-chunk", delayMs: 1000 });
  await page.evaluate(([n, m]) => {
    window.progress = [];
    window.pushed = window.vaults[n].push(m, { onProgress: (p) => window.progress.push(p) })
      .then(() => ({ ok: true }), (e) => ({ code: e.code, message: e.message }));
  }, [name, target.manifest]);
  return (await page.waitForFunction((size) => {
    const last = window.progress.filter((p) => p.phase === "upload").at(-1);
    return last && last.bytes >= 2 * size && last;
  }, CHUNK_SIZE)).jsonValue();
}

/** The whole store is consistent and complete: what the node holds, each item once, the log intact. */
function assertWhole(f, remoteCounts, what) {
  assert.deepEqual(f.counts, remoteCounts, `${what}: local counts equal the node's`);
  assert.equal(f.items, f.total, `${what}: the bundle holds every counted item`);
  assert.equal(f.uniqueItems, f.items, `${what}: no (section, collection, id) twice`);
  assert.equal(f.chainBrokenAt, null, `${what}: every log entry links to the one before`);
  assert.deepEqual(f.logHead, { length: f.entries, head: f.chainHead }, `${what}: the log head is the recomputed chain's end`);
  assert.deepEqual(f.signedLog, f.logHead, `${what}: the signed bundle commits to that head`);
  assert.equal(f.signedVerified, true, `${what}: the signed bundle verifies`);
  assert.equal(f.uniqueAdds, f.adds, `${what}: no item was added twice to the log`);
}

test("a page reloaded mid-pull resumes: no item twice, none missing, the log intact", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "reload-pull";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  // The node holds this DID's first chat page for 60 s: the other services commit meanwhile.
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "slow", delayMs: 60000, count: 1 });
  await page.evaluate(([n, m]) => {
    window.progress = [];
    window.vaults[n].pull(m, { onProgress: (p) => window.progress.push(p) }).catch(() => {});
  }, [name, nodes.sourceManifest]);
  const done = await (await page.waitForFunction(() => {
    const done = window.progress.filter((p) => p.done && p.phase === "done").map((p) => p.service);
    return done.length >= 2 && !done.includes("chat") && window.progress.some((p) => p.service === "chat") && done;
  })).jsonValue();
  // Chat's progress starts before its request reaches the node: reload only once the node holds it, so
  // that the fault is used up and the resumed pull is not held too.
  await until(async () => {
    const res = await fetch(`${nodes.source}/dev/fault?did=${encodeURIComponent(did)}`);
    return (await res.json()).faults.some((f) => f.service === "chat" && f.served === 1);
  }, "the node to hold chat's first page");
  await reload(page);

  await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  const partial = await facts(page, name);
  const full = await remote(page, name, nodes.sourceManifest);
  assert.equal(partial.counts.chat, undefined, "no chat item arrived before the reload");
  for (const service of done) assert.deepEqual(partial.counts[service], full[service], `${service} was committed before the reload`);
  assert.equal(partial.chainBrokenAt, null);

  const report = await pull(page, name, nodes.sourceManifest);
  const by = Object.fromEntries(report.services.map((s) => [s.service, s]));
  for (const s of report.services) assert.equal(s.error, undefined, `${s.service}: ${JSON.stringify(s.error)}`);
  for (const service of done) assert.equal(by[service].added, 0, `${service} is not added twice`);
  assert.equal(by.chat.added, Object.values(full.chat).reduce((a, b) => a + b, 0), "chat arrives now");
  const f = await facts(page, name);
  assertWhole(f, full, "after the resumed pull");
  assert.equal(f.adds, f.total, "one add entry per item");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a page reloaded mid-push resumes the same transfer session and ends with a verified receipt", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "reload-push";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await pull(page, name, nodes.sourceManifest);
  const before = await startSlowPush(page, name, did);
  assert.ok(before.bytes < before.total, "the push is unfinished at the reload");
  await reload(page);
  await devPost(target.origin, "/dev/fault", { did, service: "transfer", fault: "none" });

  await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  const report = await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, target.manifest]);
  assert.equal(report.sessionId, before.sessionId, "the same session resumes");
  assert.ok(report.resumedFrom >= before.bytes, `resumed from ${report.resumedFrom}, ${before.bytes} were acknowledged`);
  assert.equal(report.uploaded, report.size - report.resumedFrom, "only the rest is uploaded");
  assert.equal(report.repeated, false);
  assert.equal(report.continuity.ok, true, JSON.stringify(report.continuity));
  const receipt = await page.evaluate((r) => window.bv.verifyDocument(r), report.receipt);
  assert.equal(receipt.verified, true);
  assert.equal(receipt.did, report.nodeDid, "signed by the target's key");
  assert.equal(report.receipt.did, did);
  assert.equal(report.receipt.bundle_hash, report.bundleHash);

  const f = await facts(page, name);
  assertWhole(f, await remote(page, name, target.manifest), "the target after the push");
  assert.deepEqual(f.receipts, [{ service: "transfer", op: "receipt.transfer", node: report.nodeDid }], "one receipt, recorded once");
  const again = await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, target.manifest]);
  assert.equal(again.repeated, true, "pushing again is a no-op");
  assert.equal(again.uploaded, 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the target killed mid-push and restarted on its data: the push resumes and completes", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "kill-push";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await pull(page, name, nodes.sourceManifest);
  const before = await startSlowPush(page, name, did);
  await target.kill("SIGKILL");
  const failed = await page.evaluate(() => window.pushed);
  assert.equal(failed.code, "NETWORK", JSON.stringify(failed));
  await target.restart(); // same port, same data directory; the fault (in memory) is gone

  const report = await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, target.manifest]);
  assert.equal(report.sessionId, before.sessionId, "the session survived the crash");
  assert.ok(report.resumedFrom >= before.bytes, `resumed from ${report.resumedFrom}, ${before.bytes} were acknowledged`);
  assert.ok(report.resumedFrom < report.size);
  assert.equal(report.uploaded, report.size - report.resumedFrom);
  assert.equal(report.continuity.ok, true, JSON.stringify(report.continuity));
  assert.equal((await page.evaluate((r) => window.bv.verifyDocument(r), report.receipt)).verified, true);
  const f = await facts(page, name);
  assertWhole(f, await remote(page, name, target.manifest), "the restarted target");
  assert.equal(f.receipts.length, 1);
  // The only complaints are the browser's about the chunk uploads (two in flight) that the kill cut off.
  assert.ok(problems.length <= 2, problems.join("\n"));
  for (const p of problems) {
    assert.match(p, /^console: Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|SOCKET_NOT_CONNECTED)$/);
  }
  await context.close();
});

test("a backup node that cannot be asked covers no delete; once it answers again, the delete goes ahead", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "backup-down";
  await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await pull(page, name, nodes.sourceManifest);
  const pushed = await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, target.manifest]);
  assert.equal(pushed.continuity.ok, true, JSON.stringify(pushed.continuity));
  const held = await remote(page, name, nodes.sourceManifest);
  const before = await page.evaluate((n) => window.vaults[n].digest(), name);

  await target.kill("SIGKILL");
  const refused = await page.evaluate(([n, m]) => window.vaults[n].deleteRemote(m).then(
    () => ({ ok: true }), (e) => ({ code: e.code, message: e.message })), [name, nodes.sourceManifest]);
  assert.equal(refused.code, "NOT_BACKED_UP", JSON.stringify(refused));
  assert.match(refused.message, /could not be asked whether it still holds the backup \(NETWORK/);
  assert.deepEqual(await remote(page, name, nodes.sourceManifest), held, "nothing deleted at the source");
  assert.equal(await page.evaluate((n) => window.vaults[n].digest(), name), before, "the vault unchanged");

  await target.restart();
  const report = await page.evaluate(([n, m]) => window.vaults[n].deleteRemote(m), [name, nodes.sourceManifest]);
  assert.deepEqual(report.backup, {
    kind: "transfer", node: pushed.node, nodeDid: pushed.nodeDid, manifestUrl: target.manifest,
    log: { length: pushed.log.length - 1, head: report.backup.log.head },
  });
  assert.ok(report.services.every((s) => s.status === "deleted"), JSON.stringify(report.services));
  assert.deepEqual(await remote(page, name, nodes.sourceManifest), {}, "the source holds nothing");
  // The only complaints are the browser's about the requests to the killed node.
  for (const p of problems) assert.match(p, /^console: Failed to load resource: net::ERR_CONNECTION_REFUSED$/);
  await context.close();
});

test("no secret stays in wasm memory: a passphrase (nor its ASCII part), a private key once locked", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  // The part before the first non-ASCII character is what a string argument's copy into wasm memory
  // would leave behind when the copy grows to make room for the rest.
  const marker = "harbour-lanterns-7QX4-glowing";
  const passphrase = `${marker} café ☕ nights`;
  const counts = await page.evaluate(async ([m, p]) => {
    const seen = {};
    const vault = await window.bv.Vault.open("secret-copies");
    await vault.createKey(p);
    seen.createKey = window.inMemory(m);
    vault.lock();
    await vault.unlock(p);
    seen.unlock = window.inMemory(m);
    const backup = await vault.exportKey(p);
    seen.exportKey = window.inMemory(m);
    const other = await window.bv.Vault.open("secret-copies-restored");
    await other.importKey(backup, p);
    seen.importKey = window.inMemory(m);
    return seen;
  }, [marker, passphrase]);
  assert.deepEqual(counts, { createKey: 0, unlock: 0, exportKey: 0, importKey: 0 });

  // A plain key file's private key: in memory while the vault is unlocked (which shows the scan finds
  // it), in no form once it is locked, nor after the vault is closed.
  const key = await page.evaluate(async (p) => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const hex = [...seed].map((b) => b.toString(16).padStart(2, "0")).join("");
    const seen = {};
    const vault = await window.bv.Vault.open("secret-copies-plain");
    await vault.importKey(JSON.stringify({ privateKey: hex }), p);
    seen.unlocked = window.inMemory(seed) > 0;
    // Signing expands the seed (SHA-512): neither half of that may stay either.
    await vault.signBytes();
    const expanded = new Uint8Array(await crypto.subtle.digest("SHA-512", seed));
    vault.lock();
    seen.locked = [window.inMemory(seed), window.inMemory(hex), window.inMemory(hex.toUpperCase())];
    seen.expanded = [window.inMemory(expanded.subarray(0, 32)), window.inMemory(expanded.subarray(32))];
    await vault.unlock(p);
    vault.close();
    seen.closed = [window.inMemory(seed), window.inMemory(hex)];
    return seen;
  }, passphrase);
  assert.deepEqual(key, { unlocked: true, locked: [0, 0, 0], expanded: [0, 0], closed: [0, 0] });
  assert.deepEqual(problems, []);
  await context.close();
});

test("a push that fails on one chunk cancels its other upload at once; the next push completes", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "failing-chunk";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await pull(page, name, nodes.sourceManifest);
  // Chunk 1 is refused at once; chunk 0, uploaded beside it, is stored but answered only after 20 s.
  await devPost(target.origin, "/dev/fault", { did, service: "transfer", fault: "failing-chunk", delayMs: 20_000, count: 2 });
  const chunk0 = /\/chunks\/0$/;
  const ended = [];
  page.on("requestfailed", (r) => chunk0.test(r.url()) && ended.push({ failure: r.failure()?.errorText, at: Date.now() }));
  page.on("requestfinished", (r) => chunk0.test(r.url()) && ended.push({ failure: null, at: Date.now() }));
  const failed = await page.evaluate(([n, m]) =>
    window.vaults[n].push(m).then(() => ({ ok: true }), (e) => ({ code: e.code, message: e.message })), [name, target.manifest]);
  const rejectedAt = Date.now();
  assert.equal(failed.code, "HTTP_STATUS", JSON.stringify(failed));
  assert.match(failed.message, /CHUNK_UNAVAILABLE/);
  // The upload of chunk 0 is cancelled with the push, not left to wait out the node's 20 s.
  const [chunk] = await until(() => ended.length > 0 && ended, "the end of chunk 0's upload", 10_000);
  assert.match(chunk.failure ?? "finished", /ERR_ABORTED/);
  assert.ok(chunk.at - rejectedAt < 5_000, `chunk 0 ended ${chunk.at - rejectedAt} ms after the push failed`);

  await devPost(target.origin, "/dev/fault", { did, service: "transfer", fault: "none" });
  const report = await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, target.manifest]);
  assert.equal(report.continuity.ok, true, JSON.stringify(report.continuity));
  const f = await facts(page, name);
  assertWhole(f, await remote(page, name, target.manifest), "the target after the second push");
  assert.equal(f.receipts.length, 1);
  // The only complaint is the browser's about the refused chunk.
  assert.ok(problems.length <= 1, problems.join("\n"));
  for (const p of problems) assert.match(p, /^console: Failed to load resource: the server responded with a status of 503/);
  await context.close();
});

test("a page reloaded mid-delete: the next deleteRemote completes, nothing deleted twice, the local data intact", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "reload-delete";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await pull(page, name, nodes.sourceManifest);
  const pushed = await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, nodes.targetManifest]);
  assert.equal(pushed.continuity.ok, true);
  const kept = await facts(page, name);
  const onSource = await remote(page, name, nodes.sourceManifest);
  // Services are deleted in the manifest's order; the node deletes the fourth's data at once but
  // answers its receipt only after 60 s: the page reloads while the answer is on its way.
  const slow = services[3];
  const slowSection = (await (await fetch(nodes.sourceManifest)).json()).services[3].section;
  await devPost(nodes.source, "/dev/fault", { did, service: slow, fault: "slow-delete", delayMs: 60000, count: 1 });
  await page.evaluate(([n, m]) => {
    window.vaults[n].deleteRemote(m).catch(() => {});
  }, [name, nodes.sourceManifest]);
  await until(async () => {
    const res = await fetch(`${nodes.source}/dev/fault?did=${encodeURIComponent(did)}`);
    return (await res.json()).faults.some((f) => f.service === slow && f.served === 1);
  }, "the node to delete the slow service");
  await reload(page);

  await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  const between = await facts(page, name);
  assert.deepEqual(between.counts, kept.counts, "the local data is intact after the reload");
  const deletions = (f) => f.receipts.filter((r) => r.op === "receipt.delete").map((r) => r.service);
  assert.deepEqual(deletions(between), services.slice(0, 3), "the receipts before the reload were recorded");
  assert.equal((await remote(page, name, nodes.sourceManifest))[slowSection], undefined, "the node did delete the slow service");

  const report = await page.evaluate(([n, m]) => window.vaults[n].deleteRemote(m), [name, nodes.sourceManifest]);
  const by = Object.fromEntries(report.services.map((s) => [s.service, s]));
  for (const service of services.slice(0, 3)) assert.equal(by[service].status, "skipped", `${service} is not asked again`);
  for (const service of services.slice(3)) assert.equal(by[service].status, "deleted", `${service}: ${JSON.stringify(by[service].error)}`);
  // The slow service's request is sent again as it was: the node answers the receipt of the lost
  // answer, counting what that request deleted, and deletes nothing anew.
  for (const service of services.slice(3)) {
    const section = report.services.find((s) => s.service === service).section;
    const deleted = Object.fromEntries(Object.entries(by[service].deleted).filter(([, n]) => n > 0));
    assert.deepEqual(deleted, onSource[section] ?? {}, `${service}: its receipt counts what the node held`);
  }
  assert.ok(Object.keys(onSource[slowSection] ?? {}).length > 0, "the slow service held data");
  for (const s of report.services.filter((s) => s.status === "deleted")) {
    const verified = await page.evaluate((r) => window.bv.verifyDocument(r), s.receipt);
    assert.equal(verified.verified, true, s.service);
    assert.equal(verified.did, report.nodeDid, `${s.service}: signed by the source's key`);
    assert.equal(s.receipt.did, did);
  }
  assert.deepEqual(await remote(page, name, nodes.sourceManifest), {}, "nothing is left on the source");

  // The tombstones of these deletions never delete the vault's own copy.
  await pull(page, name, nodes.sourceManifest);
  const f = await facts(page, name);
  assertWhole(f, kept.counts, "the vault after the delete and a pull");
  assert.deepEqual(deletions(f), services, "one deletion receipt per service");
  assert.deepEqual(problems, []);
  await context.close();
});

test("two tabs of one vault pulling at once: one waits for the other, and the store is consistent", async () => {
  const context = await newContext();
  const [a, b] = [await openPage(context), await openPage(context)];
  const name = "two-tabs";
  const did = await a.page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  assert.equal(await b.page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]), did, "tab B sees tab A's key");
  // The first pull takes at least 2 s (one slow page), so the two overlap.
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "slow", delayMs: 2000, count: 1 });
  const timed = (page) => page.evaluate(async ([n, m]) => {
    const called = Date.now();
    let first;
    const report = await window.vaults[n].pull(m, { onProgress: () => (first ??= Date.now()) });
    return { called, first, ended: Date.now(), report };
  }, [name, nodes.sourceManifest]);
  const runs = await Promise.all([timed(a.page), timed(b.page)]);
  const [earlier, later] = [...runs].sort((x, y) => x.ended - y.ended);
  assert.ok(later.first >= earlier.ended, "the later pull starts work only when the earlier one has ended");
  assert.ok(later.called < earlier.ended, "it was called while the earlier one ran");
  const full = await remote(a.page, name, nodes.sourceManifest);
  const total = Object.values(full).flatMap(Object.values).reduce((x, y) => x + y, 0);
  const added = (run) => run.report.services.reduce((sum, s) => sum + s.added + s.updated, 0);
  for (const run of runs) for (const s of run.report.services) assert.equal(s.error, undefined, `${s.service}: ${JSON.stringify(s.error)}`);
  assert.equal(added(earlier), total, "the earlier pull brought everything");
  assert.equal(added(later), 0, "the later one found it committed and added nothing");

  const [fa, fb] = [await facts(a.page, name), await facts(b.page, name)];
  assertWhole(fa, full, "tab A");
  assertWhole(fb, full, "tab B");
  assert.equal(fa.digest, fb.digest, "both tabs see the same database");
  assert.deepEqual(fa.logHead, fb.logHead, "and the same log head");
  assert.equal(fa.adds, total);

  // Tab B writes (a pull of changed items); tab A's next write and reads start from B's commits.
  await devPost(nodes.source, "/dev/mutate", { did, fraction: 0.1 });
  const changed = await pull(b.page, name, nodes.sourceManifest);
  assert.ok(changed.services.some((s) => s.updated > 0));
  const fa2 = await facts(a.page, name);
  assert.deepEqual(fa2.logHead, (await facts(b.page, name)).logHead, "tab A reads tab B's commits");
  assert.equal(fa2.chainBrokenAt, null);
  const again = await pull(a.page, name, nodes.sourceManifest);
  assert.equal(again.services.reduce((sum, s) => sum + s.added + s.updated, 0), 0, "tab A pulls nothing twice");
  assert.deepEqual([...a.problems, ...b.problems], []);
  await context.close();
});

test("a pull waiting for another tab's lock aborts with ABORTED before doing anything", async () => {
  const context = await newContext();
  const [a, b] = [await openPage(context), await openPage(context)];
  const name = "lock-abort";
  const did = await a.page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await b.page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "slow", delayMs: 3000, count: 1 });
  await a.page.evaluate(([n, m]) => {
    window.progress = [];
    window.running = window.vaults[n].pull(m, { onProgress: (p) => window.progress.push(p) })
      .then((report) => ({ report, ended: Date.now() }));
  }, [name, nodes.sourceManifest]);
  await a.page.waitForFunction(() => window.progress.length > 0); // tab A holds the lock
  const waited = await b.page.evaluate(async ([n, m]) => {
    const controller = new AbortController();
    let events = 0;
    const pulled = window.vaults[n].pull(m, { signal: controller.signal, onProgress: () => events++ });
    setTimeout(() => controller.abort(), 300);
    try {
      await pulled;
      return { resolved: true };
    } catch (error) {
      return { code: error.code, at: Date.now(), events };
    }
  }, [name, nodes.sourceManifest]);
  const { report, ended } = await a.page.evaluate(() => window.running);
  assert.equal(waited.code, "ABORTED", JSON.stringify(waited));
  assert.equal(waited.events, 0, "the aborted pull never started");
  assert.ok(waited.at < ended, "it was aborted while tab A still held the lock");
  for (const s of report.services) assert.equal(s.error, undefined, `${s.service}: ${JSON.stringify(s.error)}`);
  const full = await remote(a.page, name, nodes.sourceManifest);
  const [fa, fb] = [await facts(a.page, name), await facts(b.page, name)];
  assertWhole(fa, full, "tab A");
  assert.equal(fb.digest, fa.digest);
  assert.deepEqual([...a.problems, ...b.problems], []);
  await context.close();
});

test("a delete whose answer was lost: a pull keeps the vault's copy, and deleteRemote then completes", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "lost-delete";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  await pull(page, name, nodes.sourceManifest);
  await page.evaluate(([n, m]) => window.vaults[n].push(m), [name, nodes.targetManifest]);
  const kept = await facts(page, name);
  const onSource = await remote(page, name, nodes.sourceManifest);
  const slow = services[1];
  const slowSection = (await (await fetch(nodes.sourceManifest)).json()).services[1].section;
  assert.ok(Object.keys(onSource[slowSection] ?? {}).length > 0, "the slow service holds data");
  await devPost(nodes.source, "/dev/fault", { did, service: slow, fault: "slow-delete", delayMs: 60000, count: 1 });
  // The caller gives up while the node, having deleted, holds back its answer.
  const aborted = await page.evaluate(async ([n, m, slowService]) => {
    const controller = new AbortController();
    const deleting = window.vaults[n].deleteRemote(m, { signal: controller.signal });
    const armed = new URL("/dev/fault?did=" + encodeURIComponent(window.vaults[n].did), m);
    for (const deadline = Date.now() + 30000; ; await new Promise((r) => setTimeout(r, 50))) {
      const { faults } = await (await fetch(armed)).json();
      if (faults.some((f) => f.service === slowService && f.served === 1)) break;
      if (Date.now() > deadline) throw new Error("the node never deleted " + slowService);
    }
    controller.abort();
    return deleting.then(() => ({ resolved: true }), (e) => ({ code: e.code }));
  }, [name, nodes.sourceManifest, slow]);
  assert.equal(aborted.code, "ABORTED");

  // The node's tombstones of this deletion (and of the one before, whose receipt was recorded) are
  // not applied: the vault keeps its copy.
  const pulled = await pull(page, name, nodes.sourceManifest);
  assert.equal(pulled.services.reduce((n, s) => n + s.deleted, 0), 0, "no tombstone applied");
  assert.deepEqual((await facts(page, name)).counts, kept.counts);

  const report = await page.evaluate(([n, m]) => window.vaults[n].deleteRemote(m), [name, nodes.sourceManifest]);
  const by = Object.fromEntries(report.services.map((s) => [s.service, s]));
  assert.equal(by[services[0]].status, "skipped");
  for (const service of services.slice(1)) assert.equal(by[service].status, "deleted", `${service}: ${JSON.stringify(by[service].error)}`);
  // Sent again as it was, the lost request gets the receipt it had: what it deleted, nothing anew.
  const deleted = Object.fromEntries(Object.entries(by[slow].deleted).filter(([, n]) => n > 0));
  assert.deepEqual(deleted, onSource[slowSection], "the lost answer's receipt, recovered");
  assert.deepEqual(await remote(page, name, nodes.sourceManifest), {});
  await pull(page, name, nodes.sourceManifest);
  const f = await facts(page, name);
  assertWhole(f, kept.counts, "after the delete and a pull");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a commit that would overwrite another writer's is refused whole (STORAGE), nothing half-written", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const name = "conflict";
  const did = await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
  // 15 s: time for the seven other services to commit and for the foreign write, on a busy machine,
  // within the vault's 30 s request timeout.
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "slow", delayMs: 15000, count: 1 });
  // While chat's page is on its way, a writer that ignores the lock (an older version of the package
  // in another tab, say) takes the next commit numbers directly in IndexedDB.
  const outcome = await page.evaluate(async ([n, m, others]) => {
    const progress = [];
    const pulled = window.vaults[n].pull(m, { onProgress: (p) => progress.push(p) });
    const done = () => progress.filter((p) => p.service !== "chat" && p.phase === "done").length;
    for (const deadline = Date.now() + 30000; done() < others; await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) throw new Error("the other services did not finish");
    }
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open("bundle-vault/" + n);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = (store) => new Promise((resolve) => {
      const req = db.transaction(store).objectStore(store).getAllKeys();
      req.onsuccess = () => resolve(req.result);
    });
    const taken = (await all("heads")).length;
    const foreign = new TextEncoder().encode('{"foreign":true}');
    await new Promise((resolve, reject) => {
      const tx = db.transaction("heads", "readwrite");
      for (let k = taken; k < taken + 8; k++) tx.objectStore("heads").add(foreign, k);
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    const report = await pulled;
    const stores = { heads: await all("heads"), bodies: await all("bodies"), log: await all("log") };
    db.close();
    return { taken, report, stores };
  }, [name, nodes.sourceManifest, services.length - 1]);
  const chat = outcome.report.services.find((s) => s.service === "chat");
  assert.equal(chat.error?.code, "STORAGE", JSON.stringify(chat));
  assert.match(chat.error.message, /another tab wrote to this vault at the same time; nothing was written: try again/);
  assert.equal(chat.added, 0);
  for (const s of outcome.report.services.filter((s) => s.service !== "chat")) assert.equal(s.error, undefined, s.service);
  assert.deepEqual(outcome.stores.bodies, outcome.stores.log, "bodies and log records pair up");
  assert.equal(outcome.stores.log.length, outcome.taken, "the refused commit wrote no body and no log record");
  assert.equal(outcome.stores.heads.length, outcome.taken + 8, "the other writer's records are untouched");
  assert.deepEqual(problems, []);
  await context.close();
});

test("an import that cannot be written whole writes nothing: no section of it is stored", async () => {
  const context = await newContext();
  const { page, problems } = await openPage(context);
  const outcome = await page.evaluate(async ([p, m]) => {
    const source = await window.bv.Vault.open("import-whole-source");
    await source.createKey(p);
    await source.pull(m);
    const signed = await source.sign();
    const backup = await source.exportKey(p);
    const vault = await window.bv.Vault.open("import-whole");
    await vault.importKey(backup, p);
    // The browser refuses the write of the import's second section (an IndexedDB error of its own
    // making): its first section must not be stored either.
    const counted = (store) => new Promise((resolve, reject) => {
      const req = indexedDB.open("bundle-vault/import-whole");
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        const keys = db.transaction(store).objectStore(store).getAllKeys();
        keys.onsuccess = () => { db.close(); resolve(keys.result.length); };
      };
    });
    const second = (await counted("heads")) + 1;
    const add = IDBObjectStore.prototype.add;
    IDBObjectStore.prototype.add = function (value, key) {
      if (this.name === "heads" && key === second) throw new DOMException("injected failure", "UnknownError");
      return add.call(this, value, key);
    };
    const before = await vault.digest();
    let refused;
    try {
      refused = await vault.importBundle(signed).then(() => null, (e) => ({ code: e.code, message: e.message }));
    } finally {
      IDBObjectStore.prototype.add = add;
    }
    const after = await vault.digest();
    const counts = await vault.count();
    const imported = await vault.importBundle(signed);
    const same = JSON.stringify(await vault.bundle().then((b) => b.sections)) === JSON.stringify(signed.sections);
    const length = vault.logHead.length;
    source.close();
    vault.close();
    return { sections: Object.keys(signed.sections).length, refused, unchanged: before === after, counts, imported, same, length };
  }, [PASSPHRASE, nodes.sourceManifest]);
  assert.ok(outcome.sections > 1, "the bundle has several sections");
  assert.equal(outcome.refused?.code, "STORAGE", JSON.stringify(outcome.refused));
  assert.ok(outcome.unchanged, "the database is byte-identical after the refused import");
  assert.deepEqual(outcome.counts, {});
  assert.equal(outcome.imported.sections.length, outcome.sections);
  assert.ok(outcome.same, "with the failure gone, the whole bundle is imported");
  assert.equal(outcome.length, outcome.imported.sections.reduce((n, s) => n + s.added, 0));
  assert.deepEqual(problems, []);
  await context.close();
});

test("storage quota exhausted: QUOTA_EXCEEDED, nothing written (a pull, an import); with room again both complete", async () => {
  // Chromium applies a quota override to IndexedDB only until the origin's first write of a browser
  // session: the vault gets its key in one session, and the next starts under the override.
  const profile = mkdtempSync(join(tmpdir(), "bundle-vault-quota-"));
  const name = "quota";
  const origin = new URL(app.url).origin;
  let context = await launchPersistentBrowser(profile);
  try {
    let { page } = await openPage(context);
    await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
    await context.close();

    context = await launchPersistentBrowser(profile);
    const cdp = await context.newCDPSession(context.pages()[0] ?? (await context.newPage()));
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 1 });
    let problems;
    ({ page, problems } = await openPage(context));
    await page.evaluate(([n, p]) => window.openVault(n, p), [name, PASSPHRASE]);
    const digest = await page.evaluate((n) => window.vaults[n].digest(), name);

    const report = await pull(page, name, nodes.sourceManifest);
    for (const s of report.services) {
      assert.equal(s.error?.code, "QUOTA_EXCEEDED", `${s.service}: ${JSON.stringify(s)}`);
      assert.match(s.error.message, /storage for this site is full.*nothing was written/);
      assert.equal(s.added, 0);
    }
    assert.equal(report.log.length, 0);
    assert.equal(await page.evaluate((n) => window.vaults[n].digest(), name), digest, "the database is byte-identical");

    // A backup of the same key made elsewhere: its import is refused whole, not section by section.
    const backup = await page.evaluate(([n, p]) => window.vaults[n].exportKey(p), [name, PASSPHRASE]);
    const elsewhere = await newContext();
    const { page: other } = await openPage(elsewhere);
    const signed = await other.evaluate(async ([n, b, p, m]) => {
      const vault = await window.bv.Vault.open(n);
      await vault.importKey(b, p);
      await vault.pull(m);
      return vault.sign();
    }, [name, backup, PASSPHRASE, nodes.sourceManifest]);
    await elsewhere.close();
    assert.ok(Object.keys(signed.sections).length > 1, "the backup has several sections");
    const refused = await page.evaluate((args) => window.vaults[args[0]].importBundle(args[1]).then(() => "imported", (e) => e.code), [name, signed]);
    assert.equal(refused, "QUOTA_EXCEEDED");
    assert.equal(await page.evaluate((n) => window.vaults[n].digest(), name), digest, "no section of the import was written");

    await cdp.send("Storage.overrideQuotaForOrigin", { origin });
    const imported = await page.evaluate((args) => window.vaults[args[0]].importBundle(args[1]), [name, signed]);
    assert.deepEqual(imported.sections.map((s) => s.section).sort(), Object.keys(signed.sections).sort());
    assert.equal(imported.log.length, imported.sections.reduce((n, s) => n + s.added, 0));
    const again = await pull(page, name, nodes.sourceManifest);
    for (const s of again.services) assert.equal(s.error, undefined, `${s.service}: ${JSON.stringify(s.error)}`);
    const f = await facts(page, name);
    assertWhole(f, await remote(page, name, nodes.sourceManifest), "after the quota was lifted");
    assert.equal(f.adds, f.total);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
