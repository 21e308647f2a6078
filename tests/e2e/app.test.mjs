// The page served by `make run`, with the release (wasm-opt optimized) build, in headless Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
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

test("the page loads the release build under its CSP and signs and verifies", async () => {
  const { page, problems } = await openPage(browser, app.url);
  await page.waitForSelector("#status:has-text('Ready')");
  assert.match(await page.textContent("#version"), /^bundle-vault \d+\.\d+\.\d+/);
  await page.screenshot({ path: `${ARTIFACTS}/app-1-ready.png`, fullPage: true });

  await page.click("#generate");
  const did = await page.textContent("#did");
  const didKey = await page.textContent("#did-key");
  assert.match(did, /^did:imajin:[1-9A-HJ-NP-Za-km-z]{43,44}$/);
  assert.match(didKey, /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/);
  assert.match(await page.textContent("#public-key"), /^[0-9a-f]{64}$/);

  await page.click("#sign");
  const signed = JSON.parse(await page.inputValue("#sign-output"));
  assert.equal(signed.did, did);
  assert.equal(signed.proof.cryptosuite, "eddsa-jcs-2022");
  assert.equal(signed.proof.verificationMethod, `${didKey}#${didKey.slice("did:key:".length)}`);
  await page.screenshot({ path: `${ARTIFACTS}/app-2-signed.png`, fullPage: true });

  await page.click("#use-signed");
  assert.match(await page.textContent("#verify-result"), /^✓ Verified: signed by did:key:z6Mk/);

  // Tampered: one character of the content changed.
  const tampered = { ...signed, note: `${signed.note}!` };
  await page.fill("#verify-input", JSON.stringify(tampered));
  await page.click("#verify");
  assert.match(await page.textContent("#verify-result"), /Not verified: .*SIGNATURE_INVALID/);
  await page.screenshot({ path: `${ARTIFACTS}/app-3-tampered.png`, fullPage: true });

  // Invalid JSON is explained, not thrown.
  await page.fill("#sign-input", "{ not json");
  await page.click("#sign");
  assert.match(await page.textContent("#sign-error"), /not valid JSON/);

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
  await page.waitForSelector("#verify-result:not([hidden])");
  assert.match(await page.textContent("#verify-result"), new RegExp(`^✓ Verified bundle of ${good.did}`));

  writeFileSync(file, JSON.stringify(foreign));
  await page.setInputFiles("#verify-file", []);
  await page.setInputFiles("#verify-file", file);
  await page.waitForFunction(() => document.querySelector("#verify-result").textContent.includes("DID_MISMATCH"));
  await page.screenshot({ path: `${ARTIFACTS}/app-4-foreign-bundle.png`, fullPage: true });
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
