// `make bench`: the vault against a plain-JS baseline and against the limits of the platform, in
// one run, for accounts of 1,000, 10,000 and 100,000 items. For each size it starts two fresh local
// nodes (tools/with-nodes.sh) and runs tools/bench-run.mjs (headless Chromium, tools/bench-page.mjs)
// BENCH_RUNS times; every figure is the median of the runs. Prints a table, and writes the figures
// (results.json), the table (results.md) and a chart (chart.svg, chart.png) into BENCH_DIR.
//
//   BENCH_SIZES=1000,10000,100000  account sizes (items; BENCH_ITEMS=N is one size)
//   BENCH_RUNS=3                   runs per size
//   BENCH_DIR                      output directory: bench/ for the default sizes, else target/bench/
//   BENCH_SMOKE=1                  1,000 items, one run, into target/bench-smoke/: checks that every
//                                  step completed (counts, verification, continuity), not timings
//
// A benchmark, not a test: it fails only when a step did not complete (items missing, a bundle that
// does not verify, a push without continuity), never on a time.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpus, totalmem, release } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join } from "node:path";
import { chromium } from "playwright-core";

const smoke = process.env.BENCH_SMOKE === "1";
const defaultSizes = "1000,10000,100000";
const sizes = (smoke ? "1000" : (process.env.BENCH_SIZES ?? process.env.BENCH_ITEMS ?? defaultSizes)).split(",").map(Number);
const runs = smoke ? 1 : Number(process.env.BENCH_RUNS ?? 3);
const dir =
  process.env.BENCH_DIR ?? (smoke ? "target/bench-smoke" : sizes.join(",") === defaultSizes && runs >= 3 ? "bench" : "target/bench");
mkdirSync(dir, { recursive: true });
mkdirSync("target/bench-runs", { recursive: true }); // each size's runs, before they are summed up
const started = Date.now();
// pkg/ may be rebuilt while the bench runs (it takes minutes): then its figures mix two builds.
const wasmAtStart = readFileSync("pkg/bundle_vault_bg.wasm");

// ---- run every size ----------------------------------------------------------------------------

const perSize = [];
for (const items of sizes) {
  const out = join("target/bench-runs", `runs-${items}.json`);
  console.error(`bench: ${items} items, ${runs} run(s)`);
  const child = spawn("tools/with-nodes.sh", ["--demo-items", String(items), "--", process.execPath, "tools/bench-run.mjs"], {
    stdio: ["ignore", "inherit", "inherit"],
    // The optimized node for figures; the smoke run in `make test` takes the build the tests made.
    env: { NODE_PROFILE: smoke ? "dev" : "node", ...process.env, BENCH_RUNS: String(runs), BENCH_OUT: out },
  });
  const [code] = await once(child, "exit");
  if (code !== 0) {
    console.error(`bench: the run of ${items} items failed (exit ${code})`);
    process.exit(1);
  }
  perSize.push({ items, ...JSON.parse(readFileSync(out, "utf8")) });
}

// ---- completeness ------------------------------------------------------------------------------

const problems = [];
for (const { items, runs: list } of perSize) {
  list.forEach((r, i) => {
    const at = `${items} items, run ${i + 1}`;
    const expect = (ok, what) => ok || problems.push(`${at}: ${what}`);
    expect(r.account.items === items, `the node holds ${r.account.items} items`);
    expect(r.vaultFull.errors.length === 0, `vault pull errors ${r.vaultFull.errors.join(", ")}`);
    expect(r.vaultFull.stored === items, `vault stored ${r.vaultFull.stored}`);
    expect(r.baselineFull.stored === items, `baseline stored ${r.baselineFull.stored}`);
    expect(r.limitFull.items === items, `limit fetched ${r.limitFull.items}`);
    expect(r.mutate.changed > 0, "nothing changed on the node");
    expect(r.vaultIncremental.updated === r.mutate.changed, `vault incremental updated ${r.vaultIncremental.updated} of ${r.mutate.changed}`);
    expect(r.baselineIncremental.pageItems === r.mutate.changed, `baseline incremental read ${r.baselineIncremental.pageItems} of ${r.mutate.changed}`);
    expect(r.vaultSignVerify.verified === true, `the vault's bundle did not verify (${r.vaultSignVerify.code})`);
    expect(r.vaultSignVerify.items === items, `the vault's bundle holds ${r.vaultSignVerify.items}`);
    expect(r.freshVerify.fileBytes === r.vaultSignVerify.fileBytes, `the fresh page verified ${r.freshVerify.fileBytes} bytes`);
    expect(r.baselineSign.items === items, `the baseline's bundle holds ${r.baselineSign.items}`);
    expect(r.vaultPush.continuity === true, "the vault's push is not continuous");
    expect(r.baselinePush.continuity === true, "the baseline's push is not continuous");
  });
}

// ---- medians and rows --------------------------------------------------------------------------

const median = (values) => {
  const v = values.filter((x) => typeof x === "number").sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const OPS = [
  ["full pull", (r) => r.vaultFull.fullMs, (r) => r.baselineFull.fullMs, (r) => r.limitFull.fetchParseMs + r.limitFull.chunksWriteMs],
  ["incremental pull (1% changed)", (r) => r.vaultIncremental.incrementalMs, (r) => r.baselineIncremental.incrementalMs, (r) => r.limitIncremental.fetchParseMs + r.limitIncremental.chunksWriteMs],
  ["sign()", (r) => r.vaultSignVerify.signMs, (r) => r.baselineSign.signTotalMs, (r) => r.limitHashUpload.sha256Ms],
  ["verifyBundle", (r) => r.vaultSignVerify.verifyMs, (r) => r.baselineVerify.verifyMs, (r) => r.limitHashUpload.sha256Ms],
  // The same two as bytes: the signed bundle as the file (baseline: its sign(), which makes no bytes),
  // and verifying the file's bytes (baseline: its verify of the object).
  ["signBytes()", (r) => r.vaultSignVerify.signBytesMs, (r) => r.baselineSign.signTotalMs, (r) => r.limitHashUpload.sha256Ms],
  ["verifyBundle(file bytes)", (r) => r.vaultSignVerify.verifyBytesMs, (r) => r.baselineVerify.verifyMs, (r) => r.limitHashUpload.sha256Ms],
  ["push()", (r) => r.vaultPush.pushMs, (r) => r.baselinePush.pushMs, (r) => r.limitHashUpload.uploadMs],
];
const EXTRA = {
  jsonBytes: (r) => r.limitFull.jsonBytes,
  bundleBytes: (r) => r.vaultPush.bytes,
  fetchParseMs: (r) => r.limitFull.fetchParseMs,
  rawItemsWriteMs: (r) => r.limitFull.itemsWriteMs,
  rawChunksWriteMs: (r) => r.limitFull.chunksWriteMs,
  vaultBundleMs: (r) => r.vaultSignVerify.bundleMs,
  stringifyMs: (r) => r.vaultSignVerify.stringifyMs,
  freshVerifyMs: (r) => r.freshVerify.freshVerifyMs,
  againVerifyMs: (r) => r.freshVerify.againVerifyMs,
  baselineAssembleMs: (r) => r.baselineSign.assembleMs,
  baselineCanonicalSignMs: (r) => r.baselineSign.canonicalSignMs,
  vaultMemoryAfterPullBytes: (r) => r.vaultFull.memoryBytes,
  peakWasmBytes: (r) => r.finish.peakWasmBytes,
  vaultIdbBytes: (r) => r.vaultFull.idbBytes,
  baselineIdbBytes: (r) => r.baselineFull.idbBytes,
  rawItemsIdbBytes: (r) => r.limitFull.itemsIdbBytes,
  rawChunksIdbBytes: (r) => r.limitFull.chunksIdbBytes,
};
const summary = perSize.map(({ items, runs: list }) => {
  const ops = OPS.map(([name, v, b, l]) => {
    const [vault, baseline, limit] = [v, b, l].map((f) => median(list.map(f)));
    return { name, vault, baseline, limit, vaultPerBaseline: vault / baseline, vaultPerLimit: vault / limit };
  });
  const extra = Object.fromEntries(Object.entries(EXTRA).map(([k, f]) => [k, median(list.map(f))]));
  return { items, runs: list.length, ops, ...extra };
});

const wasm = readFileSync("pkg/bundle_vault_bg.wasm");
const rebuilt = !wasm.equals(wasmAtStart);
const size = {
  raw: wasm.length,
  gzip: gzipSync(wasm, { level: 9 }).length,
  brotli: brotliCompressSync(wasm, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
};
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux ${release()}`;
const date = new Date().toISOString().slice(0, 10);

// ---- goals (on the largest account) ------------------------------------------------------------

const big = summary[summary.length - 1];
const op = (s, name) => s.ops.find((o) => o.name === name);
const goals = [];
{
  const full = op(big, "full pull");
  const sign = op(big, "sign()");
  const verify = op(big, "verifyBundle");
  const n = big.items.toLocaleString("en");
  const incremental = op(big, "incremental pull (1% changed)");
  const push = op(big, "push()");
  // The vault's issues set these for 100,000 items (about 60 MB of JSON); on a smaller largest account
  // they are reported all the same.
  goals.push([`full pull within 2.5 s, ${n} items`, full.vault <= 2500, secs(full.vault)]);
  goals.push([
    `incremental pull (1% changed) under 10% of the full pull, ${n} items`,
    incremental.vault < full.vault / 10,
    `${secs(incremental.vault)} vs ${secs(full.vault)}`,
  ]);
  goals.push([
    `wasm memory of the full pull under twice the account's JSON, ${n} items`,
    big.vaultMemoryAfterPullBytes < 2 * big.jsonBytes,
    `${mib(big.vaultMemoryAfterPullBytes)} vs ${mib(2 * big.jsonBytes)} (wasm memory never shrinks: its size after the pull is the pull's peak)`,
  ]);
  goals.push([`full pull within 2× of the limit (fetch + parse + chunked raw write), ${n} items`, full.vaultPerLimit <= 2, `${ratio(full.vaultPerLimit)}`]);
  goals.push([`full pull at least 2× faster than the JS baseline, ${n} items`, full.vaultPerBaseline <= 0.5, `${ratio(full.vaultPerBaseline)} of the baseline's time`]);
  goals.push([`sign() within 1 s, ${n} items`, sign.vault <= 1000, secs(sign.vault)]);
  goals.push([`verifyBundle within 1 s, ${n} items`, verify.vault <= 1000, secs(verify.vault)]);
  const signBytes = op(big, "signBytes()");
  const verifyBytes = op(big, "verifyBundle(file bytes)");
  goals.push([`sign() within 1 s as the file's bytes (signBytes()), ${n} items`, signBytes.vault <= 1000, secs(signBytes.vault)]);
  goals.push([`verifyBundle within 1 s of the file's bytes, ${n} items`, verifyBytes.vault <= 1000, secs(verifyBytes.vault)]);
  goals.push([
    `sign() faster than the baseline's canonicalize + sign, ${n} items`,
    sign.vault < big.baselineCanonicalSignMs,
    `${secs(sign.vault)} vs ${secs(big.baselineCanonicalSignMs)}`,
  ]);
  goals.push([
    `verifyBundle faster than the baseline's canonicalize + verify, ${n} items`,
    verify.vault < verify.baseline,
    `${secs(verify.vault)} vs ${secs(verify.baseline)}`,
  ]);
  goals.push([`push() to a local target within 5 s, ${n} items`, push.vault <= 5000, secs(push.vault)]);
  goals.push(["wasm under 300 KiB gzip", size.gzip < 300 * 1024, kib(size.gzip)]);
}

// ---- output ------------------------------------------------------------------------------------

function secs(msValue) {
  if (msValue == null) return "—";
  if (msValue < 1) return `${msValue.toFixed(2)} ms`;
  if (msValue < 1000) return `${Math.round(msValue)} ms`;
  return `${(msValue / 1000).toFixed(msValue < 10000 ? 2 : 1)} s`;
}
function ratio(x) {
  if (!Number.isFinite(x)) return "—";
  return x >= 100 ? `${Math.round(x)}×` : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;
}
function mib(bytes) {
  return bytes == null ? "—" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
const num = (n) => n.toLocaleString("en");

const lines = [];
lines.push(
  `${date}, ${machine}, ${perSize[0].browser} headless, release build; medians of ${runs} run(s) per size; ` +
    `wasm ${kib(size.raw)} raw, ${kib(size.gzip)} gzip, ${kib(size.brotli)} brotli.`,
);
if (rebuilt) lines.push("", "**pkg/ was rebuilt while this bench ran: its figures mix two builds; run it again.**");
lines.push("");
lines.push("| operation | items (JSON) | vault | JS baseline | limit | vault / baseline | vault / limit |");
lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
for (const [i] of OPS.entries()) {
  for (const s of summary) {
    const o = s.ops[i];
    lines.push(
      `| ${o.name} | ${num(s.items)} (${mib(s.jsonBytes)}) | ${secs(o.vault)} | ${secs(o.baseline)} | ${secs(o.limit)} | ${ratio(o.vaultPerBaseline)} | ${ratio(o.vaultPerLimit)} |`,
    );
  }
}
lines.push("");
lines.push("| per account | " + summary.map((s) => num(s.items)).join(" | ") + " |");
lines.push("| --- | " + summary.map(() => "---:").join(" | ") + " |");
const row = (label, f) => lines.push(`| ${label} | ${summary.map(f).join(" | ")} |`);
row("export pages (JSON) / signed bundle (RFC 8785)", (s) => `${mib(s.jsonBytes)} / ${mib(s.bundleBytes)}`);
row("limit: fetch + `JSON.parse` of the pages", (s) => secs(s.fetchParseMs));
row("limit: raw IndexedDB write, a record per item", (s) => secs(s.rawItemsWriteMs));
row("limit: raw IndexedDB write, 1,000-item chunk records", (s) => secs(s.rawChunksWriteMs));
row("vault: `bundle()` alone (no hash, no signature) / `JSON.stringify` of the signed bundle", (s) => `${secs(s.vaultBundleMs)} / ${secs(s.stringifyMs)}`);
row("vault: `verifyBundle` of the file's bytes in a fresh page, its first call / its second", (s) => `${secs(s.freshVerifyMs)} / ${secs(s.againVerifyMs)}`);
row("baseline sign: assemble from IndexedDB / canonicalize + sign", (s) => `${secs(s.baselineAssembleMs)} / ${secs(s.baselineCanonicalSignMs)}`);
row("vault: wasm memory after the full pull / peak", (s) => `${mib(s.vaultMemoryAfterPullBytes)} / ${mib(s.peakWasmBytes)}`);
row("IndexedDB bytes: vault / baseline", (s) => `${mib(s.vaultIdbBytes)} / ${mib(s.baselineIdbBytes)}`);
row("IndexedDB bytes: raw per item / raw chunks", (s) => `${mib(s.rawItemsIdbBytes)} / ${mib(s.rawChunksIdbBytes)}`);
lines.push("");
lines.push(`Goals (${num(big.items)} items):`);
lines.push("");
for (const [what, met, figure] of goals) lines.push(`- ${met ? "met" : "**not met**"}: ${what} — ${figure}`);
const table = lines.join("\n");

const results = { date: new Date().toISOString(), machine, pkgRebuiltDuringRun: rebuilt, browser: perSize[0].browser, runsPerSize: runs, wasmSize: size, summary, goals: goals.map(([what, met, figure]) => ({ what, met, figure })), problems, raw: perSize };
writeFileSync(join(dir, "results.json"), JSON.stringify(results, null, 2));
writeFileSync(join(dir, "results.md"), `${table}\n`);
const svg = chart(summary);
writeFileSync(join(dir, "chart.svg"), svg);
await png(svg, join(dir, "chart.png"));

console.log(`\nbundle-vault benchmark\n\n${table}\n`);
console.log(`bench: ${dir}/results.json, results.md, chart.svg, chart.png; ${Math.round((Date.now() - started) / 1000)} s in all`);
if (rebuilt) console.error("bench: pkg/ was rebuilt while the bench ran: its figures mix two builds; run it again");
if (problems.length) {
  console.error(`bench: steps did not complete:\n  ${problems.join("\n  ")}`);
  process.exitCode = 1;
}

// ---- the chart ---------------------------------------------------------------------------------

// One panel per account size: each operation's vault, baseline and limit times as bars on a
// logarithmic axis.
function chart(summary) {
  const colors = { vault: "#1f6feb", baseline: "#d29922", limit: "#8b949e" };
  const panelW = 420;
  const rowH = 54;
  const left = 190;
  const top = 70;
  const panelH = OPS.length * rowH + 40;
  const width = left + summary.length * (panelW + 30) + 10;
  const height = top + panelH + 40;
  const lo = 0.1;
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...summary.flatMap((s) => s.ops.flatMap((o) => [o.vault, o.baseline, o.limit])))));
  const x = (v) => (Math.log10(Math.max(v, lo) / lo) / Math.log10(hi / lo)) * (panelW - 60);
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">bundle-vault: the vault, a plain-JS baseline and the limit (median time, log scale)</text>`);
  out.push(`<text x="10" y="42" fill="#555">${esc(`${date}, ${machine}, ${perSize[0].browser} headless; wasm ${kib(size.gzip)} gzip`)}</text>`);
  let lx = 10;
  for (const [k, c] of Object.entries(colors)) {
    out.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${c}"/><text x="${lx + 16}" y="62">${k === "baseline" ? "JS baseline" : k}</text>`);
    lx += 110;
  }
  OPS.forEach(([name], i) => out.push(`<text x="10" y="${top + 30 + i * rowH + 20}">${esc(name)}</text>`));
  summary.forEach((s, p) => {
    const px = left + p * (panelW + 30);
    out.push(`<text x="${px}" y="${top + 14}" font-weight="bold">${num(s.items)} items (${mib(s.jsonBytes)} JSON)</text>`);
    for (let t = lo; t <= hi; t *= 10) {
      const tx = px + x(t);
      out.push(`<line x1="${tx}" y1="${top + 24}" x2="${tx}" y2="${top + panelH}" stroke="#ddd"/>`);
      out.push(`<text x="${tx}" y="${top + panelH + 14}" text-anchor="middle" fill="#555">${t < 1000 ? `${+t.toPrecision(1)} ms` : `${+(t / 1000).toPrecision(2)} s`}</text>`);
    }
    s.ops.forEach((o, i) => {
      ["vault", "baseline", "limit"].forEach((k, j) => {
        const y = top + 30 + i * rowH + j * 15;
        const w = Math.max(1, x(o[k]));
        out.push(`<rect x="${px}" y="${y}" width="${w.toFixed(1)}" height="13" fill="${colors[k]}"/>`);
        out.push(`<text x="${(px + w + 4).toFixed(1)}" y="${y + 11}" font-size="10">${secs(o[k])}</text>`);
      });
    });
  });
  out.push("</svg>");
  return out.join("\n");
}

async function png(svgText, path) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    await page.setContent(`<body style="margin:0">${svgText}</body>`);
    await page.locator("svg").screenshot({ path });
  } finally {
    await browser.close();
  }
}
