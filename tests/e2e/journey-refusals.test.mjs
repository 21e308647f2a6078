// The app's refusals and recoveries, clicked through in headless Chromium against real reference nodes:
// a wrong passphrase, a cancelled pull that the next pull finishes, a delete refused before any backup,
// a node that cannot be reached, and restoring a key (encrypted backup, the platform's plain key file)
// in a fresh browser profile.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import {
  ARTIFACTS, startApp, startNodes, launchBrowser, openPage, devPost, saveDownload, tableRows, num,
} from "./harness.mjs";

const DEMO_ITEMS = 300;
const PASSPHRASE = "violet anchor drifting slowly";

const pkg = await import(new URL("../../pkg/bundle_vault.js", import.meta.url));
await pkg.default({ module_or_path: readFileSync(new URL("../../pkg/bundle_vault_bg.wasm", import.meta.url)) });

let nodes;
let app;
let browser;
let page;
let problems;
let messages;
let did;

/** A screenshot of the step's section. */
const shot = (p, name, section) => p.locator(section).screenshot({ path: `${ARTIFACTS}/refusals-${name}.png` });

async function open() {
  const opened = await openPage(browser, app.url);
  opened.page.setDefaultTimeout(120_000);
  await opened.page.waitForSelector("#status:has-text('Ready')");
  return opened;
}

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
  ({ page, problems, messages } = await open());
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await nodes?.stop();
});

test("a wrong passphrase is refused with a sentence; the right one unlocks", async () => {
  await page.fill("#create-pass", PASSPHRASE);
  await page.fill("#create-pass2", PASSPHRASE);
  await page.click("#create");
  await page.waitForSelector("#backup-prompt", { state: "visible" });
  did = await page.textContent("#did");
  await page.click("#backup-dismiss");
  await page.click("#lock");
  await page.waitForSelector("#unlock-form", { state: "visible" });
  assert.match(await page.textContent("#status"), /^Locked/);
  assert.equal(await page.isDisabled("#pull-start"), true);

  await page.fill("#unlock-pass", "violet anchor drifting slowlx");
  await page.press("#unlock-pass", "Enter");
  await page.waitForSelector("#unlock-error", { state: "visible" });
  assert.match(await page.textContent("#unlock-error"), /^That passphrase does not open this key\. Check it .* restore the key from your backup\. \(BAD_PASSPHRASE/);
  assert.equal(await page.isVisible("#vault-open"), false);
  await shot(page, "1-wrong-passphrase", "#vault");

  await page.fill("#unlock-pass", PASSPHRASE);
  await page.press("#unlock-pass", "Enter");
  await page.waitForSelector("#vault-open", { state: "visible" });
  assert.equal(await page.isHidden("#unlock-error"), true);
  assert.equal(await page.textContent("#did"), did);
});

test("a cancelled pull keeps what arrived, and the next pull finishes it", async () => {
  // The node answers this DID's first chat export page only after 20 s: the pull is still running once
  // the first services are done.
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "slow", delayMs: 20000, count: 1 });
  await page.click("#pull-start");
  const doneServices = await (await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#pull-progress .progress-row")];
    const done = rows.filter((r) => r.querySelector("span").textContent.startsWith("done")).map((r) => r.dataset.service);
    const chat = rows.find((r) => r.dataset.service === "chat");
    return chat && !chat.querySelector("span").textContent.startsWith("done") && done.length > 0 && done;
  })).jsonValue();
  await page.click("#pull-cancel");
  await page.waitForSelector("#pull-message:has-text('Pull cancelled')");
  assert.equal(await page.textContent("#pull-message"), "Pull cancelled. What had arrived is kept; Pull again continues where it stopped.");
  assert.equal(await page.textContent("[data-service=chat] span"), "cancelled: 0 items, 0 B");
  assert.equal(await page.isDisabled("#pull-cancel"), true);
  assert.equal(await page.isDisabled("#pull-start"), false);
  await page.waitForFunction(() => /the node at .* holds/.test(document.querySelector("#footprint-summary").textContent));
  const partial = await footprint();
  assert.equal(partial["chat/messages"][0], 0, "no message arrived");
  assert.ok(partial["chat/messages"][1] > 0);
  for (const service of doneServices) {
    for (const [key, [l, r]] of Object.entries(partial)) if (key.startsWith(`${service}/`)) assert.equal(l, r, `${key} was kept`);
  }
  await shot(page, "2-pull-cancelled", "#pull");

  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "none" });
  await page.click("#pull-start");
  await page.waitForSelector("#pull-report", { state: "visible" });
  const report = Object.fromEntries((await tableRows(page, "#pull-report")).map((cells) => [cells[0], cells]));
  assert.equal(num(report.chat[1]), partial["chat/messages"][1], "chat's messages arrive now");
  for (const service of doneServices) assert.equal(num(report[service][1]), 0, `${service} is not fetched twice`);
  for (const cells of Object.values(report)) assert.equal(cells[6], "✓ verified and saved");
  await page.waitForFunction(() => /holds 300 items; the node at .* holds 300/.test(document.querySelector("#footprint-summary").textContent));
  for (const [key, [l, r]] of Object.entries(await footprint())) assert.equal(l, r, key);
});

test("locking during a pull cancels it and leaves the page locked and cleared", async () => {
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "slow", delayMs: 20000, count: 1 });
  await page.click("#pull-start");
  await page.waitForSelector("[data-service=chat]");
  await page.waitForFunction(() => document.querySelector("#browse-table").hidden === false);
  await page.click("#lock");
  await page.waitForSelector("#unlock-form", { state: "visible" });
  // The cancelled pull settles after the lock: it must not fill the views, or say anything, again.
  await page.waitForFunction(() => !document.querySelector("#pull-start").disabled);
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const id of ["#browse-table", "#log-table", "#footprint-table", "#pull-error", "#pull-report", "#vault-open"]) {
    assert.equal(await page.isHidden(id), true, `${id} stays hidden`);
  }
  assert.equal(await page.textContent("#pull-message"), "");
  assert.equal(await page.textContent("#pull-progress"), "");
  assert.match(await page.textContent("#status"), /^Locked/);
  await devPost(nodes.source, "/dev/fault", { did, service: "chat", fault: "none" });
  await page.fill("#unlock-pass", PASSPHRASE);
  await page.press("#unlock-pass", "Enter");
  await page.waitForSelector("#vault-open", { state: "visible" });
  await page.waitForSelector("#browse-table", { state: "visible" });
});

test("delete is refused, with what to do, until the data is pushed to another node", async () => {
  await page.click("#delete-review");
  await page.waitForSelector("#delete-confirm", { state: "visible" });
  assert.match(await page.textContent("#delete-summary"), new RegExp(`— ${DEMO_ITEMS} items in all\\.`));
  await page.check("#delete-understand");
  await page.click("#delete-start");
  await page.waitForSelector("#delete-error", { state: "visible" });
  assert.match(await page.textContent("#delete-error"), /^Refused: your data is not backed up yet\. Push it to another node first \(step 8\), or sign and download your bundle and keep the file \(step 6\).*\(NOT_BACKED_UP/);
  assert.equal(await page.isHidden("#delete-report"), true);
  assert.equal(await page.isChecked("#delete-understand"), false, "a retry needs a new confirmation");
  await shot(page, "3-delete-refused", "#delete");
  // Nothing was deleted on the node: the footprint, read again (the old summary cleared first, so that
  // only the new reading can match), still counts every item there.
  await page.evaluate(() => (document.querySelector("#footprint-summary").textContent = ""));
  await page.click("#footprint-refresh");
  await page.waitForFunction(() => /holds 300 about you/.test(document.querySelector("#footprint-summary").textContent));
});

test("a node that cannot be reached, or an address that is not one, is explained", async () => {
  await page.fill("#source-url", "not a url");
  await page.click("#pull-start");
  assert.match(await page.textContent("#pull-error"), /^“not a url” is not a web address\. Enter the node's address/);
  await page.fill("#source-url", "http://127.0.0.1:9");
  await page.click("#pull-start");
  await page.waitForSelector("#pull-error:has-text('NETWORK')");
  assert.match(await page.textContent("#pull-error"), /^The node could not be reached, or did not answer in time\. Check the URL/);
  await shot(page, "4-unreachable", "#pull");
  await page.fill("#source-url", nodes.source);
  // The app reports these in its own words; the browser logs the refused connections.
  assert.ok(problems.every((p) => /127\.0\.0\.1:9|Content Security Policy|ERR_/.test(p)), problems.join("\n"));
});

test("a key is restored in a fresh browser from its encrypted backup, or from the platform's plain key file", async () => {
  await page.click("#vault-open details summary");
  await page.fill("#export-pass", "a second backup passphrase");
  const backup = await saveDownload(page, "#export-key", "refusals-key-backup.json");

  // The encrypted backup, with the wrong passphrase first.
  const fresh = await open();
  await fresh.page.click("#restore summary");
  await fresh.page.setInputFiles("#restore-file", backup.path);
  await fresh.page.fill("#restore-pass", PASSPHRASE);
  await fresh.page.click("#restore-button");
  await fresh.page.waitForSelector("#restore-error:has-text('BAD_PASSPHRASE')");
  await fresh.page.fill("#restore-pass", "a second backup passphrase");
  await fresh.page.click("#restore-button");
  await fresh.page.waitForSelector("#vault-open", { state: "visible" });
  assert.equal(await fresh.page.textContent("#did"), did);
  await shot(fresh.page, "5-restored", "#vault");
  assert.deepEqual(fresh.problems, []);
  await fresh.page.close();

  // The platform's plain key file: {did, keypair: {privateKey, publicKey}} in hex.
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d, "base64url");
  const plainDid = pkg.didFromPublicKey(new Uint8Array(pub), "imajin");
  const plainPath = `${ARTIFACTS}/refusals-plain-key.json`;
  writeFileSync(plainPath, JSON.stringify({ did: plainDid, keypair: { privateKey: seed.toString("hex"), publicKey: pub.toString("hex") } }));
  const notKeyPath = `${ARTIFACTS}/refusals-not-a-key.json`;
  writeFileSync(notKeyPath, JSON.stringify({ hello: "world" }));

  const other = await open();
  await other.page.click("#restore summary");
  await other.page.setInputFiles("#restore-file", notKeyPath);
  await other.page.fill("#restore-pass", PASSPHRASE);
  await other.page.click("#restore-button");
  await other.page.waitForSelector("#restore-error:has-text('KEY_BACKUP_MALFORMED')");
  assert.match(await other.page.textContent("#restore-error"), /^That file is not a key backup this vault can read/);
  await other.page.setInputFiles("#restore-file", plainPath);
  await other.page.click("#restore-button");
  await other.page.waitForSelector("#vault-open", { state: "visible" });
  assert.equal(await other.page.textContent("#did"), plainDid);
  assert.deepEqual(other.problems, []);
  // Nothing secret reached the console of any page, in any form: the passphrases, the plain key's
  // seed (hex in either case, base64), or anything of the sealed backup's secret material.
  const consoleText = [...messages, ...fresh.messages, ...other.messages].join("\n");
  for (const secret of [
    PASSPHRASE,
    "a second backup passphrase",
    seed.toString("hex"),
    seed.toString("hex").toUpperCase(),
    seed.toString("base64"),
    JSON.parse(readFileSync(backup.path, "utf8")).ciphertext,
  ]) {
    assert.ok(secret && !consoleText.includes(secret), "a secret reached the console");
  }
  // And the app keeps nothing in localStorage or sessionStorage.
  assert.deepEqual(
    await other.page.evaluate(() => [localStorage.length, sessionStorage.length]),
    [0, 0],
  );
  await other.page.close();
});
