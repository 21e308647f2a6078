// The Vite example app (examples/vite-app) as a web developer gets it: the package installed from the
// `npm pack` tarball, `tsc --noEmit && vite build`, the built app served under a strict CSP, and a
// pull, sign and push driven in headless Chromium against two fresh reference nodes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { ARTIFACTS, launchBrowser, openPage } from "./harness.mjs";

const require = createRequire(import.meta.url);

const APP = "examples/vite-app";

// Terminal colour codes. Tools such as Vite colour their output when the environment has `CI` set, even
// into a pipe, which splits a URL like `http://127.0.0.1:5173/` with codes around the port.
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Spawns a long-running command and resolves once its output (colour codes removed) matches `ready`, to
 * `{match, stop}`. Rejects, and kills the command, if that takes longer than `readyMs`.
 */
async function start(cmd, args, ready, { readyMs = 120_000, ...options } = {}) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...options });
  let out = "";
  let timer;
  const match = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      out += chunk;
      const found = out.replace(ANSI, "").match(ready);
      if (found) resolve(found);
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    child.once("exit", (code) => reject(new Error(`${cmd} ${args.join(" ")} exited (${code}):\n${out.replace(ANSI, "")}`)));
    timer = setTimeout(() => {
      child.stdin.end();
      child.kill("SIGTERM");
      reject(new Error(`${cmd} ${args.join(" ")} printed nothing matching ${ready} in ${readyMs} ms:\n${out.replace(ANSI, "")}`));
    }, readyMs);
  }).finally(() => clearTimeout(timer));
  return {
    match,
    async stop(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      if (signal) child.kill(signal);
      else child.stdin.end();
      await exited;
    },
  };
}

async function freePort() {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

let nodes;
let server;
let browser;
let source;
let target;

before(async () => {
  // The build an app's developer runs: pack, install from the tarball, type-check and bundle.
  execFileSync(process.execPath, ["tools/example.mjs"], { stdio: ["ignore", "inherit", "inherit"] });

  // tools/with-nodes.sh starts the two nodes and stops them when its command (which holds until its
  // stdin closes) ends.
  const hold =
    'console.log("nodes " + JSON.stringify([process.env.SOURCE_MANIFEST, process.env.TARGET_MANIFEST]));' +
    'process.stdin.resume().on("end", () => process.exit(0));';
  nodes = await start("tools/with-nodes.sh", ["--", process.execPath, "-e", hold], /nodes (\[.*\])/);
  [source, target] = JSON.parse(nodes.match[1]);

  server = await start(
    process.execPath,
    ["tools/serve.mjs", "--port", "0", "--www", `${APP}/dist`, "--connect", source, "--connect", target],
    /app: (http:\/\/\S+)/,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop("SIGTERM");
  await nodes?.stop();
});

test("the build bundles the package's .wasm file as an asset", () => {
  const assets = readdirSync(`${APP}/dist/assets`);
  const wasm = assets.find((name) => name.endsWith(".wasm"));
  assert.ok(wasm, `a .wasm asset in ${assets.join(", ")}`);
  const bytes = readFileSync(`${APP}/dist/assets/${wasm}`);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
  // The example got the package from the tarball, with the package.json tools/package.mjs completed.
  const installed = JSON.parse(readFileSync(`${APP}/node_modules/bundle-vault/package.json`, "utf8"));
  assert.equal(installed.exports["."].types, "./bundle_vault.d.ts");
  assert.ok(existsSync(`${APP}/node_modules/bundle-vault/CHANGELOG.md`));
});

test("the built example pulls, signs and pushes under a strict CSP", async () => {
  const url = `${server.match[1]}?source=${encodeURIComponent(source)}&target=${encodeURIComponent(target)}`;
  const { page, problems } = await openPage(browser, url);
  await page.waitForSelector("#status:has-text('Ready')");
  assert.match(await page.textContent("#version"), /^bundle-vault \d+\.\d+\.\d+/);
  await page.fill("#passphrase", "correct horse battery");

  await page.click("#pull");
  await page.waitForSelector("#pull-result:has-text('Pulled')", { timeout: 120_000 });
  const pulled = await page.textContent("#pull-result");
  const [, ok, all, items, logLength] = pulled.match(/Pulled (\d+) of (\d+) services .*: (\d+) items in the vault, log length (\d+)/);
  assert.equal(ok, all);
  assert.ok(Number(items) > 0, pulled);
  assert.equal(Number(logLength), Number(items), "one log entry per pulled item");
  const did = await page.textContent("#did");
  assert.match(did, /^did:imajin:[1-9A-HJ-NP-Za-km-z]{43,44}$/);
  assert.equal(await page.locator("#pull-report tbody tr").count(), Number(all));
  await page.screenshot({ path: `${ARTIFACTS}/example-1-pulled.png`, fullPage: true });

  await page.click("#sign");
  await page.waitForSelector("#sign-result:has-text('Signed')", { timeout: 120_000 });
  assert.match(await page.textContent("#sign-result"), new RegExp(`^Signed ${items} items by did:key:z6Mk\\S+: verified\\.$`));
  // The download is the signed bundle's file: it verifies (with the Node.js package), names the vault's
  // DID, holds every item and carries the owner's proof.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  assert.equal(download.suggestedFilename(), "bundle.json");
  const bytes = readFileSync(await download.path());
  const check = require("../../pkg-node/bundle_vault.js").verifyBundle(new Uint8Array(bytes));
  assert.equal(check.verified, true, JSON.stringify(check));
  assert.equal(check.did, did);
  const file = JSON.parse(bytes.toString("utf8"));
  assert.equal(file.did, did);
  const fileItems = Object.values(file.sections).flatMap((c) => Object.values(c)).reduce((n, list) => n + list.length, 0);
  assert.equal(fileItems, Number(items));
  assert.equal(file.proof.cryptosuite, "eddsa-jcs-2022");

  await page.click("#push");
  await page.waitForSelector("#push-result:has-text('Pushed')", { timeout: 120_000 });
  const pushed = await page.textContent("#push-result");
  assert.match(pushed, /receipt for [0-9a-f]{64}; the target holds every item\.$/);
  // The reports name the node of each manifest (with-nodes.sh names them source and target).
  assert.match(pulled, /services from source:/);
  assert.match(pushed, /^Pushed \d+ bytes to target; /);
  await page.screenshot({ path: `${ARTIFACTS}/example-2-pushed.png`, fullPage: true });

  assert.equal(await page.textContent("#error"), "");
  assert.deepEqual(problems, []);
});

test("the dev server (vite, as `npm run dev` starts it) serves the package and its .wasm file", async () => {
  const port = await freePort();
  const dev = await start(
    "node_modules/.bin/vite",
    ["--host", "127.0.0.1", "--port", String(port), "--strictPort"],
    /(http:\/\/127\.0\.0\.1:\d+\/)/,
    { cwd: APP },
  );
  try {
    const { page, problems } = await openPage(browser, dev.match[1]);
    await page.waitForSelector("#status:has-text('Ready')", { timeout: 60_000 });
    assert.match(await page.textContent("#version"), /^bundle-vault \d+\.\d+\.\d+/);
    assert.match(await page.textContent("#status"), /a new vault/);
    assert.deepEqual(problems, []);
  } finally {
    await dev.stop("SIGTERM");
  }
});
