// The page served by `make run`, with the release (wasm-opt optimized) build, in headless Chromium,
// without nodes: it loads under its CSP, its controls are labelled, it fits a narrow window, and it
// verifies bundle files without a vault. (The journey with nodes is in journey*.test.mjs.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { ARTIFACTS, startApp, launchBrowser, openPage } from "./harness.mjs";

let app;
let browser;

before(async () => {
  app = await startApp();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
});

test("the page loads the release build under its CSP, every control labelled", async () => {
  const { page, problems } = await openPage(browser, app.url);
  await page.waitForSelector("#status:has-text('Ready')");
  assert.match(await page.textContent("#version"), /^bundle-vault \d+\.\d+\.\d+/);
  // A new browser has no vault: the create form shows, the steps that need a key are disabled.
  assert.equal(await page.isVisible("#create-form"), true);
  assert.equal(await page.isVisible("#unlock-form"), false);
  for (const id of ["pull-start", "footprint-refresh", "sign-download", "push-start", "delete-review"]) {
    assert.equal(await page.isDisabled(`#${id}`), true, id);
  }
  // Without nodes named by the server's CSP, the node URLs fall back to the local demo's ports.
  assert.equal(await page.inputValue("#source-url"), "http://127.0.0.1:7001");
  assert.equal(await page.inputValue("#target-url"), "http://127.0.0.1:7002");
  // Every form control has an accessible name (a label, or aria-label), so it can be used by keyboard and screen reader.
  const unnamed = await page.$$eval("input, select, textarea, button, meter, progress", (els) =>
    els.filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || (el.tagName === "BUTTON" && el.textContent.trim())))
      .map((el) => el.id || el.outerHTML));
  assert.deepEqual(unnamed, []);
  await page.screenshot({ path: `${ARTIFACTS}/app-1-ready.png`, fullPage: true });

  // The passphrase hint.
  await page.fill("#create-pass", "short");
  assert.match(await page.textContent("#strength-text"), /^Too short: 5 characters/);
  await page.fill("#create-pass", "aaaaaaaaaaaa");
  assert.match(await page.textContent("#strength-text"), /^Weak/);
  await page.fill("#create-pass", "correct horse battery staple");
  assert.match(await page.textContent("#strength-text"), /^Strong/);
  await page.click("#create");
  assert.match(await page.textContent("#create-error"), /^The two passphrases differ/);
  assert.equal(await page.isVisible("#vault-open"), false);
  assert.deepEqual(problems, []);
});

test("readable on a narrow window: nothing wider than the screen", async () => {
  const { page, problems } = await openPage(browser, app.url);
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForSelector("#status:has-text('Ready')");
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= client, `the page is ${scroll}px wide in a ${client}px window`);
  await page.screenshot({ path: `${ARTIFACTS}/app-2-narrow.png`, fullPage: true });
  assert.deepEqual(problems, []);
});

test("a signed bundle file verifies from a file, and a foreign one is refused", async () => {
  const { page, problems } = await openPage(browser, app.url);
  await page.waitForSelector("#status:has-text('Ready')");
  // Build a bundle with the page's own package: sign it with a key from a fixed seed.
  const { good, foreign } = await page.evaluate(async () => {
    const { Keypair } = await import("/pkg/bundle_vault.js");
    const owner = Keypair.fromSeed(new Uint8Array(32).fill(7));
    const other = Keypair.fromSeed(new Uint8Array(32).fill(8));
    const bundle = (did) => ({
      did,
      exported_at: "2026-03-09T16:45:00Z",
      node: "jin.imajin.ai",
      sections: { events: { tickets: [{ id: "tkt_1", updated_at: "2026-03-09T16:45:00.000Z", data: { price_paid: { amount: 2500, currency: "CAD" } } }] } },
      log: { length: 0, head: "0".repeat(64) },
    });
    return {
      good: owner.signDocument(bundle(owner.did)),
      foreign: owner.signDocument(bundle(other.did)),
    };
  });
  const file = `${ARTIFACTS}/bundle.json`;
  writeFileSync(file, JSON.stringify(good));
  await page.setInputFiles("#verify-file", file);
  // The file is read asynchronously: the box says "Verifying…" until its verdict.
  await page.waitForSelector("#verify-result:has-text('is verified')");
  assert.match(await page.textContent("#verify-result"), new RegExp(`^✓ bundle.json is verified: a bundle of ${good.did}, signed by its own key, unchanged since. 1 item in 1 collection, `));

  writeFileSync(file, JSON.stringify(foreign));
  await page.setInputFiles("#verify-file", []);
  await page.setInputFiles("#verify-file", file);
  await page.waitForFunction(() => document.querySelector("#verify-result").textContent.includes("DID_MISMATCH"));
  assert.match(await page.textContent("#verify-result"), /^✗ bundle.json is not verified. It belongs to another DID than the key that signed it/);
  await page.locator("#verify").screenshot({ path: `${ARTIFACTS}/app-3-foreign-bundle.png` });

  // Not JSON at all.
  writeFileSync(file, "%PDF-1.7");
  await page.setInputFiles("#verify-file", []);
  await page.setInputFiles("#verify-file", file);
  await page.waitForFunction(() => document.querySelector("#verify-result").textContent.includes("not JSON"));
  assert.match(await page.textContent("#verify-result"), /^✗ bundle.json is not verified: it is not JSON .* Choose a bundle file\.$/);
  assert.deepEqual(problems, []);
});

test("the CSP blocks inline script on the app's origin", async () => {
  const { page } = await openPage(browser, app.url);
  await page.waitForSelector("#status:has-text('Ready')");
  const ran = await page.evaluate(() => {
    window.__inline = false;
    const s = document.createElement("script");
    s.textContent = "window.__inline = true";
    document.body.append(s);
    return window.__inline;
  });
  assert.equal(ran, false);
});

test("the app works from a plain static host, in a subfolder, without our server", async () => {
  // What publishing does: www/ with the built pkg/ copied into it, under some folder of a static host
  // that knows the .wasm MIME type and sends no CSP of ours.
  const root = mkdtempSync(join(tmpdir(), "bundle-vault-static-"));
  cpSync("www", join(root, "vault"), { recursive: true });
  cpSync("pkg", join(root, "vault", "pkg"), { recursive: true });
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path.endsWith("/")) path += "index.html";
    try {
      const body = readFileSync(join(root, path));
      res.writeHead(200, { "Content-Type": types[extname(path)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { page, problems } = await openPage(browser, `http://127.0.0.1:${server.address().port}/vault/`);
    await page.waitForSelector("#status:has-text('Ready')");
    assert.equal(await page.inputValue("#source-url"), "http://127.0.0.1:7001");
    const file = `${ARTIFACTS}/static-not-json.json`;
    writeFileSync(file, "not json");
    await page.setInputFiles("#verify-file", file);
    await page.waitForSelector("#verify-result:has-text('not JSON')");
    assert.deepEqual(problems, []);
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});
