// `make bench`: figures of the vault against a local reference node, in headless Chromium with the
// release build. Run through tools/with-nodes.sh (it provides SOURCE_MANIFEST and a demo account per
// new DID):
//   tools/with-nodes.sh --demo-items 100000 -- node tools/bench.mjs
// Prints, for a fresh vault: key creation (Argon2id), a full pull (verified, merged into IndexedDB with
// its log), an incremental pull after 1% of the account changed, reopening the vault, bundle(),
// sign(), verifyBundle, push to the target node, and peak wasm memory. A benchmark, not a test: it
// only checks that the pulls were complete, the bundle verified and the push was continuous.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chromium } from "playwright-core";

const source = process.env.SOURCE_MANIFEST;
const target = process.env.TARGET_MANIFEST;
if (!source) {
  console.error("bench: run through tools/with-nodes.sh (SOURCE_MANIFEST is not set)");
  process.exit(2);
}
const origin = new URL(source).origin;
const targetOrigin = new URL(target).origin;

const app = spawn(process.execPath, ["tools/serve.mjs", "--port", "0", "--connect", origin, "--connect", targetOrigin], {
  stdio: ["ignore", "pipe", "inherit"],
});
const appUrl = await new Promise((resolve, reject) => {
  let out = "";
  app.stdout.setEncoding("utf8").on("data", (chunk) => {
    out += chunk;
    const match = out.match(/app: (http:\/\/\S+)/);
    if (match) resolve(match[1]);
  });
  app.once("exit", (code) => reject(new Error(`app server exited (${code})`)));
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  page.on("console", (msg) => console.log(`  [page] ${msg.text()}`));
  await page.goto(appUrl);
  const figures = await page.evaluate(
    async ({ source, origin, target }) => {
      const pkg = await import("/pkg/bundle_vault.js");
      const wasm = await pkg.default();
      const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
      const sum = (counts) =>
        Object.values(counts).reduce((a, s) => a + Object.values(s).reduce((b, n) => b + n, 0), 0);
      const name = `bench-${Date.now()}`;
      const out = {};
      let t = performance.now();
      const vault = await pkg.Vault.open(name);
      await vault.createKey("benchmark passphrase");
      out.createKeyMs = Math.round(performance.now() - t);

      // The node builds the demo account on first login: warm it up outside the timed pull.
      t = performance.now();
      const remote = await vault.remoteCount(source);
      out.accountSetupMs = Math.round(performance.now() - t);
      out.items = Object.values(remote).reduce(
        (a, s) => a + Object.values(s.counts).reduce((b, n) => b + n, 0),
        0,
      );

      let bytes = 0;
      t = performance.now();
      const full = await vault.pull(source, {
        onProgress: (p) => {
          if (p.done) bytes += p.bytes;
        },
      });
      out.fullPullMs = Math.round(performance.now() - t);
      out.fullPullMiB = mib(bytes);
      out.fullErrors = full.services.filter((s) => s.error).map((s) => `${s.service}: ${s.error.code}`);
      out.localItems = sum(await vault.count());
      out.memoryAfterFullMiB = mib(wasm.memory.buffer.byteLength);

      const mutated = await fetch(`${origin}/dev/mutate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ did: vault.did, fraction: 0.01 }),
      }).then((r) => r.json());
      out.changed = mutated.updated;
      bytes = 0;
      t = performance.now();
      const inc = await vault.pull(source, {
        onProgress: (p) => {
          if (p.done) bytes += p.bytes;
        },
      });
      out.incrementalPullMs = Math.round(performance.now() - t);
      out.incrementalMiB = mib(bytes);
      out.incrementalUpdated = inc.services.reduce((a, s) => a + s.updated, 0);
      out.logLength = vault.logHead.length;

      vault.close();
      t = performance.now();
      const reopened = await pkg.Vault.open(name);
      out.reopenMs = Math.round(performance.now() - t);
      out.reopenedLog = reopened.logHead.length;
      t = performance.now();
      const bundle = await reopened.bundle();
      out.bundleMs = Math.round(performance.now() - t);
      out.bundleItems = Object.values(bundle.sections).reduce(
        (a, s) => a + Object.values(s).reduce((b, items) => b + items.length, 0),
        0,
      );
      await reopened.unlock("benchmark passphrase");
      t = performance.now();
      const signed = await reopened.sign();
      out.signMs = Math.round(performance.now() - t);
      t = performance.now();
      const verified = pkg.verifyBundle(signed);
      out.verifyBundleMs = Math.round(performance.now() - t);
      out.verified = verified.verified;
      t = performance.now();
      const pushed = await reopened.push(target);
      out.pushMs = Math.round(performance.now() - t);
      out.pushMiB = mib(pushed.size);
      out.continuity = pushed.continuity?.ok ?? pushed.continuity;
      out.peakMemoryMiB = mib(wasm.memory.buffer.byteLength);
      reopened.close();
      await pkg.Vault.destroy(name);
      return out;
    },
    { source, origin, target },
  );

  const f = figures;
  const line = (label, value) => console.log(`${label.padEnd(34)} ${value}`);
  console.log(`\nbundle-vault benchmark — ${new Date().toISOString()}, headless Chromium, release build`);
  line("account (items on the node)", f.items);
  line("createKey (Argon2id 64 MiB, t=3)", `${f.createKeyMs} ms`);
  line("node account set-up (first login)", `${f.accountSetupMs} ms`);
  line("full pull", `${f.fullPullMs} ms, ${f.fullPullMiB} MiB of export pages, ${f.localItems} items`);
  line("incremental pull", `${f.incrementalPullMs} ms, ${f.changed} changed on the node, ${f.incrementalUpdated} updated, ${f.incrementalMiB} MiB`);
  line("incremental / full", `${Math.round((f.incrementalPullMs / f.fullPullMs) * 1000) / 10} %`);
  line("reopen (index rebuild, chain check)", `${f.reopenMs} ms, log ${f.reopenedLog} entries`);
  line("bundle() assembly", `${f.bundleMs} ms, ${f.bundleItems} items`);
  line("sign() (assemble + proof)", `${f.signMs} ms`);
  line("verifyBundle", `${f.verifyBundleMs} ms, verified: ${f.verified}`);
  line("push to the target (chunks, receipt)", `${f.pushMs} ms, ${f.pushMiB} MiB, continuity: ${JSON.stringify(f.continuity)}`);
  line("wasm memory after full pull", `${f.memoryAfterFullMiB} MiB`);
  line("peak wasm memory", `${f.peakMemoryMiB} MiB (${Math.round((f.peakMemoryMiB / f.fullPullMiB) * 100) / 100}× the pulled JSON)`);
  const problems = [];
  if (f.fullErrors.length) problems.push(`full pull errors: ${f.fullErrors.join(", ")}`);
  if (f.localItems !== f.items) problems.push(`pulled ${f.localItems} of ${f.items} items`);
  if (f.bundleItems !== f.items) problems.push(`bundle has ${f.bundleItems} of ${f.items} items`);
  if (!f.verified) problems.push("the signed bundle did not verify");
  if (f.continuity !== true) problems.push(`continuity after push: ${JSON.stringify(f.continuity)}`);
  if (f.incrementalUpdated !== f.changed) problems.push(`incremental pull updated ${f.incrementalUpdated} of ${f.changed}`);
  if (problems.length) {
    console.error(`bench: ${problems.join("; ")}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  app.kill("SIGTERM");
  await once(app, "exit");
}
