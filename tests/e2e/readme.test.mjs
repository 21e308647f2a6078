// The README's browser example, run as written in Chromium against the release build.
// The block after `<!-- example: browser -->` imports "bundle-vault"; an import map points that name at
// /pkg/ as a bundler or a CDN would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startApp, launchBrowser } from "./harness.mjs";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const example = readme.match(/<!-- example: browser -->\s*```js\n([\s\S]*?)```/)?.[1];

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

test("the README's browser example runs and prints what its comments say", async () => {
  assert.ok(example, "README has a browser example block");
  const page = await browser.newPage();
  const logs = [];
  const errors = [];
  page.on("console", (msg) => (msg.type() === "error" ? errors : logs).push(msg.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  // Served from the app's origin, so the package loads exactly as for any page there.
  await page.route(`${app.url}readme-example.html`, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><script type="importmap">{"imports":{"bundle-vault":"/pkg/bundle_vault.js"}}</script>
<script type="module">${example}\nconsole.log("example finished");</script>`,
    }),
  );
  await page.goto(`${app.url}readme-example.html`);
  for (let waited = 0; !logs.includes("example finished") && errors.length === 0 && waited < 60000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(errors, []);
  // Each `// → value` comment in the example is a line the example prints.
  const promised = [...example.matchAll(/\/\/ → (.+)$/gm)].map((m) => m[1].trim());
  assert.ok(promised.length >= 3, "the example documents its output");
  assert.equal(logs.at(-1), "example finished");
  const printed = logs.slice(0, -1);
  assert.equal(printed.length, promised.length, `printed: ${JSON.stringify(printed)}`);
  promised.forEach((expected, i) => {
    const pattern = new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/…/g, ".+")}$`);
    assert.match(printed[i], pattern);
  });
});
