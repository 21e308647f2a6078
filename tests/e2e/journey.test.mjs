// The whole journey through the app, clicked through in headless Chromium against two real reference
// nodes: create a vault → download the key backup → pull → footprint equals the node's counts → browse
// and the log → sign & download → verify the downloaded file (and a tampered copy) → push → continuity →
// delete from the source with its receipts → reload → unlock → the data is still there.
// Each step is a test of its own (they run in order and share the page); a screenshot of each is saved.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  ARTIFACTS, startApp, startNodes, launchBrowser, openPage, dropFile, saveDownload, tableRows, num,
} from "./harness.mjs";

const DEMO_ITEMS = 600;
const PASSPHRASE = "correct horse battery staple";

const pkg = await import(new URL("../../pkg/bundle_vault.js", import.meta.url));
await pkg.default({ module_or_path: readFileSync(new URL("../../pkg/bundle_vault_bg.wasm", import.meta.url)) });

let nodes;
let app;
let browser;
let page;
let problems;
let did;
let bundlePath;

/** A screenshot of one step's section (legible), or of the whole page. */
const shot = (name, section) => (section
  ? page.locator(section).screenshot({ path: `${ARTIFACTS}/journey-${name}.png` })
  : page.screenshot({ path: `${ARTIFACTS}/journey-${name}.png`, fullPage: true }));
const text = (selector) => page.textContent(selector);

/** The footprint table as {"section/collection": [local, remote]}. */
async function footprint() {
  const out = {};
  for (const [section, collection, local, remote] of await tableRows(page, "#footprint-table")) {
    out[`${section}/${collection}`] = [num(local), remote === "—" ? null : num(remote)];
  }
  return out;
}

before(async () => {
  nodes = await startNodes({ demoItems: DEMO_ITEMS });
  app = await startApp({ connect: [nodes.source, nodes.target] });
  browser = await launchBrowser();
  ({ page, problems } = await openPage(browser, app.url));
  page.setDefaultTimeout(120_000);
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await nodes?.stop();
});

test("create a vault: a strength hint, then an immediate prompt to download the encrypted key backup", async () => {
  await page.waitForSelector("#status:has-text('Create a vault')");
  // The node URLs are prefilled with the nodes this server lets the page call.
  assert.equal(await page.inputValue("#source-url"), nodes.source);
  assert.equal(await page.inputValue("#target-url"), nodes.target);
  // Steps that need a key are disabled until there is one.
  assert.equal(await page.isDisabled("#pull-start"), true);

  await page.fill("#create-pass", "password1");
  assert.match(await text("#strength-text"), /^Weak/);
  await page.fill("#create-pass", PASSPHRASE);
  assert.match(await text("#strength-text"), /^Strong/);
  await page.fill("#create-pass2", "correct horse battery stapler");
  await page.click("#create");
  assert.match(await text("#create-error"), /two passphrases differ/);

  await page.fill("#create-pass2", PASSPHRASE);
  await page.press("#create-pass2", "Enter"); // the form submits from the keyboard
  await page.waitForSelector("#backup-prompt", { state: "visible" });
  did = await text("#did");
  assert.match(did, /^did:imajin:[1-9A-HJ-NP-Za-km-z]{43,44}$/);
  const didKey = await text("#did-key");
  assert.match(didKey, /^did:key:z6Mk/);
  assert.deepEqual(pkg.publicKeyFromDid(didKey), pkg.publicKeyFromDid(did));
  // The prompt has the focus, so Enter downloads the backup.
  assert.equal(await page.evaluate(() => document.activeElement.id), "backup-download");
  await shot("1-created", "#vault");

  const backup = await saveDownload(page, "#backup-download", "journey-key-backup.json");
  const sealed = JSON.parse(readFileSync(backup.path, "utf8"));
  assert.equal(sealed.format, "bundle-vault-key");
  assert.equal(sealed.did, did);
  assert.equal(typeof sealed.ciphertext, "string");
  assert.ok(!readFileSync(backup.path, "utf8").includes(PASSPHRASE));
  await page.waitForSelector("#backup-prompt", { state: "hidden" });
  assert.match(await text("#status"), /Key backup downloaded/);
  // The copy buttons put the DIDs on the clipboard.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(app.url).origin });
  // The copy is asynchronous (the Clipboard API): its status line says when it is done.
  const copied = (value) =>
    page.waitForFunction((v) => document.querySelector("#status").textContent === `Copied ${v}`, value);
  await page.click("button[data-copy=did]");
  await copied(did);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), did);
  await page.click("button[data-copy=did-key]");
  await copied(didKey);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), didKey);
  assert.equal(await page.isDisabled("#pull-start"), false);
});

test("pull: one progress bar per service, the report per service", async () => {
  await page.click("#pull-start");
  await page.waitForSelector("#pull-report", { state: "visible" });
  const bars = await page.$$eval("#pull-progress progress", (list) => list.map((p) => [p.id, p.value, p.max]));
  assert.deepEqual(bars.map(([id]) => id).sort(), [
    "pull-chat", "pull-connections", "pull-events", "pull-fair", "pull-identity", "pull-learn", "pull-media", "pull-profile",
  ]);
  for (const [id, value, max] of bars) assert.equal(value, max, `${id} is full`);
  const report = await tableRows(page, "#pull-report");
  assert.equal(report.length, 8);
  let added = 0;
  for (const [service, add, , , , , result] of report) {
    assert.equal(result, "✓ verified and saved", service);
    added += num(add);
  }
  assert.equal(added, DEMO_ITEMS);
  assert.match(await text("#pull-message"), new RegExp(`Pulled from node “source”: ${DEMO_ITEMS} added`));
  assert.equal(await page.isHidden("#pull-error"), true);
  await shot("2-pulled", "#pull");
});

test("footprint: a table and a chart, local beside remote, and they are equal", async () => {
  await page.waitForFunction(() => /the node at .* holds/.test(document.querySelector("#footprint-summary").textContent));
  const rows = await footprint();
  let local = 0;
  for (const [key, [l, r]] of Object.entries(rows)) {
    assert.equal(l, r, key);
    local += l;
  }
  assert.equal(local, DEMO_ITEMS);
  assert.equal(Object.keys(rows).length, 14, "every collection of the eight services is listed");
  assert.equal(await text("#footprint-summary"), `Your vault holds ${DEMO_ITEMS} items; the node at ${nodes.source} holds ${DEMO_ITEMS} about you.`);
  // The chart has two bars (local, remote) per collection.
  assert.equal(await page.locator("#footprint-chart .bar.local").count(), Object.keys(rows).length);
  assert.equal(await page.locator("#footprint-chart .bar.remote").count(), Object.keys(rows).length);
  await page.locator("#footprint").screenshot({ path: `${ARTIFACTS}/journey-3-footprint.png` });
});

test("browse: sections and items, paged and searchable; the append log with its chain status", async () => {
  const messages = (await footprint())["chat/messages"][0];
  assert.ok(messages > 25, "more than one page of messages");
  await page.selectOption("#browse-collection", "chat/messages");
  assert.equal(await text("#browse-summary"), `${messages} items in chat / messages.`);
  assert.equal(await text("#browse-page"), `Page 1 of ${Math.ceil(messages / 25)}`);
  assert.equal(await page.locator("#browse-table tbody tr").count(), 25);
  await page.click("#browse-next");
  assert.equal(await text("#browse-page"), `Page 2 of ${Math.ceil(messages / 25)}`);
  const id = (await tableRows(page, "#browse-table"))[3][0];
  assert.match(id, /^msg_/);
  await page.fill("#browse-search", id);
  assert.equal(await text("#browse-summary"), `1 of ${messages} items in chat / messages match “${id}”.`);
  assert.equal((await tableRows(page, "#browse-table"))[0][0], id);
  await page.click("#browse-table tbody summary");
  assert.match(await text("#browse-table tbody pre"), /"/);
  await shot("4-browse", "#browse");
  await page.fill("#browse-search", "no such text anywhere");
  assert.equal(await text("#browse-summary"), "No item in chat / messages matches “no such text anywhere”.");

  // The log opens on its latest page, every link checked.
  await page.waitForFunction((n) => document.querySelector("#log-status").textContent.includes(`${n} entries`), DEMO_ITEMS);
  assert.match(await text("#log-status"), new RegExp(`^Chain intact on this page: every entry links to the one before and the last is the head. ${DEMO_ITEMS} entries`));
  assert.equal(await text("#log-page"), `Page ${Math.ceil(DEMO_ITEMS / 50)} of ${Math.ceil(DEMO_ITEMS / 50)}`);
  await page.click("#log-prev");
  // The page is read from the vault asynchronously: its label says when it is shown.
  const last = Math.ceil(DEMO_ITEMS / 50);
  await page.waitForFunction((label) => document.querySelector("#log-page").textContent === label, `Page ${last - 1} of ${last}`);
  assert.match(await text("#log-status"), /^Chain intact on this page/);
  const entries = await tableRows(page, "#log-table");
  assert.equal(entries.length, 50);
  assert.ok(entries.every((cells) => cells[5] === "✓"));
  await page.click("#log-verify");
  await page.waitForSelector("#log-status:has-text('whole chain')");
  assert.match(await text("#log-status"), new RegExp(`^The whole chain is intact: ${DEMO_ITEMS} entries`));
  await page.locator("#log").screenshot({ path: `${ARTIFACTS}/journey-4-log.png` });
});

test("readable on a narrow window, with the data shown", async () => {
  await page.setViewportSize({ width: 375, height: 800 });
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= client, `the page is ${scroll}px wide in a ${client}px window`);
  await shot("4-narrow");
  await page.setViewportSize({ width: 1280, height: 720 });
});

test("sign & download: the file is a bundle any verifier accepts", async () => {
  const file = await saveDownload(page, "#sign-download", "journey-bundle.json");
  bundlePath = file.path;
  assert.match(file.name, /^bundle-.{8}-\d{4}-\d{2}-\d{2}\.json$/);
  const bundle = JSON.parse(readFileSync(bundlePath, "utf8"));
  // Checked outside the page, by the package in Node.
  const result = pkg.verifyBundle(bundle);
  assert.equal(result.verified, true, result.message);
  assert.equal(result.did, did);
  const items = Object.values(bundle.sections).flatMap((s) => Object.values(s)).reduce((n, l) => n + l.length, 0);
  assert.equal(items, DEMO_ITEMS);
  assert.equal(bundle.log.length, DEMO_ITEMS);
  // The result line follows the download, once the vault has counted the items.
  await page.waitForSelector("#sign-result:has-text('Signed')");
  assert.match(await text("#sign-result"), new RegExp(`^Signed ${DEMO_ITEMS} items and downloaded ${file.name}`));
  assert.match(await text("#sign-result"), /Keep the file: it is your backup/);
  await shot("5-signed", "#sign");
  // The page cannot know the file was saved: it counts as a backup once the person says so, with a
  // log entry.
  const wholeChain = async () => {
    await page.evaluate(() => (document.querySelector("#log-status").textContent = ""));
    await page.click("#log-verify");
    await page.waitForSelector("#log-status:has-text('whole chain')");
    return text("#log-status");
  };
  assert.match(await wholeChain(), new RegExp(`^The whole chain is intact: ${DEMO_ITEMS} entries`), "signing recorded nothing");
  await page.click("#sign-keep");
  await page.waitForSelector("#sign-result:has-text('is recorded as your backup')");
  assert.equal(await page.isHidden("#sign-keep"), true);
  await page.waitForFunction(() => [...document.querySelectorAll("#log-table tbody tr")].at(-1)?.cells[3].textContent.trim() === "receipt.export");
  assert.match(await wholeChain(), new RegExp(`^The whole chain is intact: ${DEMO_ITEMS + 1} entries`));
});

test("verify: the downloaded file, dropped on the page, verifies", async () => {
  await dropFile(page, "#drop", "journey-bundle.json", readFileSync(bundlePath, "utf8"));
  // The file is read asynchronously: the box says "Verifying…" until its verdict.
  await page.waitForSelector("#verify-result:has-text('is verified')");
  assert.match(await text("#verify-result"), new RegExp(`^✓ journey-bundle.json is verified: a bundle of ${did}, signed by its own key, unchanged since. ${DEMO_ITEMS} items`));
  await page.locator("#verify").screenshot({ path: `${ARTIFACTS}/journey-6-verified.png` });
});

test("verify: a tampered copy is refused, in a page without a vault", async () => {
  const bundle = JSON.parse(readFileSync(bundlePath, "utf8"));
  bundle.sections.chat.messages[0].data = { ...bundle.sections.chat.messages[0].data, content: "I never wrote this" };
  const { page: fresh, problems: freshProblems } = await openPage(browser, app.url);
  await fresh.waitForSelector("#status:has-text('Verifying a bundle needs no vault')");
  await dropFile(fresh, "#drop", "tampered.json", JSON.stringify(bundle));
  await fresh.waitForSelector("#verify-result.bad:has-text('not verified')");
  assert.match(await fresh.textContent("#verify-result"), /^✗ tampered.json is not verified. The signature does not match: the content was changed after it was signed.*SIGNATURE_INVALID/);
  assert.equal(await fresh.getAttribute("#verify-result", "class"), "bad");
  await fresh.locator("#verify").screenshot({ path: `${ARTIFACTS}/journey-7-tampered.png` });
  assert.deepEqual(freshProblems, []);
  await fresh.close();
});

test("push to the target node: progress, the verified receipt and continuity", async () => {
  await page.click("#push-start");
  await page.waitForSelector("#push-result", { state: "visible" });
  const continuity = await text("#continuity");
  assert.match(continuity, /^✓ Continuity: node “target” holds exactly what you pushed — 600 items in \d+ collections\.$/);
  const receipt = await page.$$eval("#receipt dd", (dds) => dds.map((dd) => dd.textContent));
  assert.match(receipt[1], /^target \(did:key:z6Mk/);
  assert.match(receipt[3], /^[0-9a-f]{64}$/);
  assert.equal(await page.$eval("#push-progress", (p) => p.value === p.max), true);
  assert.equal(await page.isHidden("#push-error"), true);
  // The receipt entered the log, after the entry recording the downloaded bundle as a backup.
  await page.waitForFunction((n) => document.querySelector("#log-status").textContent.includes(`${n} entries`), DEMO_ITEMS + 2);
  assert.equal((await tableRows(page, "#log-table")).at(-2)[3], "receipt.export");
  assert.equal((await tableRows(page, "#log-table")).at(-1)[3], "receipt.transfer");
  await shot("8-pushed", "#push");
});

test("delete from the source: the review, an explicit confirmation, the receipts", async () => {
  await page.click("#delete-review");
  await page.waitForSelector("#delete-confirm", { state: "visible" });
  const summary = await text("#delete-summary");
  const rows = await footprint();
  const messages = rows["chat/messages"][1];
  const assets = rows["media/assets"][1];
  assert.match(summary, new RegExp(`^On the node at ${nodes.source} you have .*${messages} messages.*${assets} assets.* — ${DEMO_ITEMS} items in all\\.`));
  // Nothing happens before the box is ticked.
  assert.equal(await page.isDisabled("#delete-start"), true);
  await page.check("#delete-understand");
  await shot("9-delete-review", "#delete");
  await page.click("#delete-start");
  await page.waitForSelector("#delete-report", { state: "visible" });
  const receipts = await tableRows(page, "#delete-report");
  assert.equal(receipts.length, 8);
  let deleted = 0;
  for (const [service, result, what, receipt] of receipts) {
    assert.equal(result, "✓ deleted", service);
    assert.match(receipt, /^verified, \d{4}-\d{2}-\d{2}T/);
    for (const match of what.matchAll(/(\d[\d,]*) [a-z_]+/g)) deleted += num(match[1]);
  }
  assert.equal(deleted, DEMO_ITEMS, JSON.stringify(receipts));
  assert.match(await text("#delete-message"), new RegExp(`deleted ${DEMO_ITEMS} items`));
  // The journey saved and recorded the signed bundle: that covers the delete without asking the target.
  assert.match(await text("#delete-message"), /the backup this relied on is the bundle you exported and keep\.$/);
  // The footprint now shows the node empty and the vault still full.
  await page.waitForFunction(() => /holds 0 about you/.test(document.querySelector("#footprint-summary").textContent));
  for (const [key, [l, r]] of Object.entries(await footprint())) {
    assert.equal(r, 0, key);
    assert.ok(l >= 0);
  }
  assert.match(await text("#footprint-summary"), new RegExp(`^Your vault holds ${DEMO_ITEMS} items`));
  await shot("10-deleted", "#delete");
});

test("reload, unlock: the data is still there", async () => {
  await page.reload();
  await page.waitForSelector("#unlock-form", { state: "visible" });
  assert.equal(await text("#locked-did"), did);
  assert.equal(await page.isDisabled("#sign-download"), true);
  await page.fill("#unlock-pass", PASSPHRASE);
  await page.press("#unlock-pass", "Enter");
  await page.waitForSelector("#vault-open", { state: "visible" });
  await page.waitForFunction(() => /Your vault holds/.test(document.querySelector("#footprint-summary").textContent));
  assert.match(await text("#footprint-summary"), new RegExp(`^Your vault holds ${DEMO_ITEMS} items\\.`));
  // 600 items, the exported bundle, a transfer receipt and eight deletion receipts.
  await page.waitForFunction((n) => document.querySelector("#log-status").textContent.includes(`${n} entries`), DEMO_ITEMS + 10);
  assert.match(await text("#log-status"), /^Chain intact on this page/);
  await page.waitForFunction(() => document.querySelector("#browse-collection").options.length > 0);
  const options = await page.$$eval("#browse-collection option", (list) => list.map((o) => o.textContent));
  assert.ok(options.some((o) => o.startsWith("chat / messages (")));
  await shot("11-reloaded");
  assert.deepEqual(problems, []);
});
