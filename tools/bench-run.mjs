// One account size of `make bench` (tools/bench.mjs runs it through tools/with-nodes.sh, which
// provides SOURCE_MANIFEST and TARGET_MANIFEST). Runs tools/bench-page.mjs in headless Chromium
// BENCH_RUNS times, each run in a fresh page of a fresh browser context (a fresh wasm instance, fresh
// databases), and writes every run's figures to BENCH_OUT as JSON. The browser is driven through
// tools/cdp.mjs, not Playwright, whose network instrumentation would add its own work to every fetch.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { launch } from "./cdp.mjs";

const source = process.env.SOURCE_MANIFEST;
const target = process.env.TARGET_MANIFEST;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const outPath = process.env.BENCH_OUT;
if (!source || !target || !outPath) {
  console.error("bench-run: run by tools/bench.mjs (SOURCE_MANIFEST, TARGET_MANIFEST and BENCH_OUT are needed)");
  process.exit(2);
}
const log = (text) => process.stderr.write(`${text}\n`);

// The repository's root at / (tools/bench.html, tools/bench-page.mjs, the `canonicalize` package in
// node_modules/), the package at /pkg/, under the app's CSP with both nodes allowed.
const connect = [source, target].flatMap((url) => ["--connect", new URL(url).origin]);
const app = spawn(process.execPath, ["tools/serve.mjs", "--port", "0", "--www", ".", ...connect], { stdio: ["ignore", "pipe", "inherit"] });
const appUrl = await new Promise((resolve, reject) => {
  let out = "";
  app.stdout.setEncoding("utf8").on("data", (chunk) => {
    out += chunk;
    const match = out.match(/app: (http:\/\/\S+)/);
    if (match) resolve(match[1]);
  });
  app.once("exit", (code) => reject(new Error(`app server exited (${code})`)));
});

// Runs the export `name` of tools/bench-page.mjs in `page` with `arg`, and logs its answer and time.
async function runStep(page, run, name, arg) {
  const t = Date.now();
  const out = await page.evaluate(
    `import("/tools/bench-page.mjs").then((m) => m[${JSON.stringify(name)}](${JSON.stringify(arg ?? null)}))`,
  );
  log(`  run ${run + 1}/${runs} ${name.padEnd(20)} ${String(Date.now() - t).padStart(7)} ms  ${JSON.stringify(out)}`);
  return out;
}

// The signed bundle of `page`'s vaultSignVerify verified from its bytes by a fresh page (a fresh
// browser context, so a fresh wasm instance and compiled code): the file goes through target/, which
// the app server serves.
const freshDir = "target/bench-fresh";
async function freshVerify(page, run) {
  const base64 = await page.evaluate(`import("/tools/bench-page.mjs").then((m) => m.fileBase64())`);
  mkdirSync(freshDir, { recursive: true });
  const file = `${freshDir}/bundle-${run}.json`;
  writeFileSync(file, Buffer.from(base64, "base64"));
  const fresh = await browser.newPage(new URL("/tools/bench.html", appUrl).href, {
    onConsole: (text) => log(`  [fresh page] ${text}`),
  });
  try {
    return await runStep(fresh, run, "freshVerify", `/${file}`);
  } finally {
    await fresh.close();
    rmSync(file, { force: true });
  }
}

const browser = await launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--js-flags=--max-old-space-size=8192"],
});
const results = { browser: `Chromium ${browser.version}`, runs: [] };
// One DID for every run, the vault's and the baseline's: the node creates its account once.
const seedHex = randomBytes(32).toString("hex");
try {
  for (let run = 0; run < runs; run++) {
    const page = await browser.newPage(new URL("/tools/bench.html", appUrl).href, {
      onConsole: (text) => log(`  [page] ${text}`),
    });
    const step = (name, arg) => runStep(page, run, name, arg);
    const r = {};
    r.setup = await step("setup", { seedHex, source, target, run });
    r.account = await step("prepare");
    await step("vaultOpen");
    r.vaultFull = await step("vaultFull");
    r.baselineFull = await step("baselineFull");
    r.limitFull = await step("limitFull");
    r.mutate = await step("mutate");
    r.vaultIncremental = await step("vaultIncremental");
    r.limitIncremental = await step("limitIncremental");
    r.baselineIncremental = await step("baselineIncremental");
    r.vaultSignVerify = await step("vaultSignVerify");
    r.freshVerify = await freshVerify(page, run);
    r.baselineSign = await step("baselineSign");
    r.baselineVerify = await step("baselineVerify");
    await step("resetTarget");
    r.vaultPush = await step("vaultPush");
    await step("resetTarget");
    r.baselinePush = await step("baselinePush");
    r.limitHashUpload = await step("limitHashUpload");
    r.finish = await step("finish");
    results.runs.push(r);
    await page.close();
  }
  writeFileSync(outPath, JSON.stringify(results, null, 2));
} finally {
  await browser.close();
  app.kill("SIGTERM");
  await once(app, "exit");
}
