// Shared set-up of the end-to-end tests: the app server on an ephemeral port, the two reference nodes
// (tools/with-nodes.sh) and Debian's Chromium driven by playwright-core (which downloads no browser).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * Starts tools/serve.mjs on a free port (its CSP allowing calls to `connect` origins), serving `www`
 * (default: the app) at / and the package at /pkg/; resolves to `{url, stop}`.
 */
export async function startApp({ connect = [], www } = {}) {
  const args = [
    "tools/serve.mjs", "--port", "0", ...(www ? ["--www", www] : []), ...connect.flatMap((origin) => ["--connect", origin]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8");
  const url = await new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(/app: (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`app server exited (${code}) before it was ready`)));
  });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/**
 * Starts a source node (demo mode, `demoItems` per new DID) and an empty target node on free ports, both
 * with the development endpoints, through tools/with-nodes.sh; resolves to
 * `{source, target, sourceManifest, targetManifest, stop}` (origins and manifest URLs). The nodes live
 * while the script's stdin is open, so they also stop if the test process dies.
 */
export async function startNodes({ demoItems = 600 } = {}) {
  const child = spawn(
    "tools/with-nodes.sh",
    ["--demo-items", String(demoItems), "--", "sh", "-c", 'echo "nodes: $SOURCE_MANIFEST $TARGET_MANIFEST"; exec cat >/dev/null'],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.setEncoding("utf8");
  const [sourceManifest, targetManifest] = await new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(/nodes: (\S+) (\S+)\n/);
      if (match) resolve([match[1], match[2]]);
    });
    child.once("exit", (code) => reject(new Error(`tools/with-nodes.sh exited (${code}) before the nodes were ready`)));
  });
  return {
    source: new URL(sourceManifest).origin,
    target: new URL(targetManifest).origin,
    sourceManifest,
    targetManifest,
    async stop() {
      const exited = once(child, "exit");
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * Starts one reference node (the dev build, with the development endpoints) that a test can kill and
 * start again on the same data directory and port, as a crash and a restart would: resolves to
 * `{origin, manifest, port, kill(signal), restart(), stop()}`. `args` are further node flags (e.g.
 * `["--chunk-size", "16384"]`); `demoItems` > 0 runs it in demo mode. `stop()` ends it and removes its
 * data directory.
 */
export async function startNode({ name = "node", demoItems = 0, args = [] } = {}) {
  execFileSync("cargo", ["build", "--quiet", "-p", "bundle-node"], { stdio: "inherit" });
  const bin = new URL("../../target/debug/bundle-node", import.meta.url).pathname;
  const data = mkdtempSync(join(tmpdir(), `bundle-node-${name}-`));
  const flags = ["--name", name, "--data", data, "--dev-endpoints", ...(demoItems > 0 ? ["--demo-items", String(demoItems)] : []), ...args];
  let child;
  let listen = "127.0.0.1:0";
  let manifest;
  async function launch() {
    child = spawn(bin, ["--listen", listen, ...flags], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => (err += chunk));
    const exited = once(child, "exit");
    manifest = await new Promise((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const match = out.match(/listening: (http:\/\/\S+\/\.well-known\/bundle-node)/);
        if (match) resolve(match[1]);
      });
      exited.then(([code, signal]) => reject(new Error(`node ${name} exited (${code ?? signal}) before it was ready: ${err}`)));
    });
    listen = new URL(manifest).host;
    return { exited };
  }
  let { exited } = await launch();
  const node = {
    get origin() {
      return new URL(manifest).origin;
    },
    get manifest() {
      return manifest;
    },
    get port() {
      return Number(new URL(manifest).port);
    },
    /** Sends the process `signal` (default SIGKILL: no shutdown at all) and waits until it is gone. */
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    /** Starts it again on the same port and data directory. */
    async restart() {
      ({ exited } = await launch());
    },
    async stop() {
      await node.kill("SIGTERM");
      rmSync(data, { recursive: true, force: true });
    },
  };
  return node;
}

/** POSTs JSON to a node's development endpoint (§9 of docs/protocol.md) and returns its answer. */
export async function devPost(origin, path, body) {
  const res = await fetch(origin + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** How headless Chromium is launched here: Debian's build, with the flags this machine needs. */
const CHROMIUM = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

/** Launches headless Chromium with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch(CHROMIUM);
}

/** Launches it on a profile directory that outlives the browser: resolves to its only context. */
export function launchPersistentBrowser(userDataDir) {
  return chromium.launchPersistentContext(userDataDir, CHROMIUM);
}

/** A page that records console errors, page errors and CSP violations for later assertions. */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  const problems = [];
  // Every console message of every kind, for scans (no secret may ever reach the console).
  const messages = [];
  page.on("console", (msg) => {
    messages.push(msg.text());
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  await page.goto(url);
  return { page, problems, messages };
}

/** Drops a file with this text on the element, as a person dragging it from their desktop does. */
export async function dropFile(page, selector, name, text) {
  const transfer = await page.evaluateHandle(([fileName, body]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([body], fileName, { type: "application/json" }));
    return dt;
  }, [name, text]);
  await page.dispatchEvent(selector, "dragover", { dataTransfer: transfer });
  await page.dispatchEvent(selector, "drop", { dataTransfer: transfer });
}

/** Clicks what starts a download and saves the file in the artefacts; resolves to `{name, path}`. */
export async function saveDownload(page, selector, as) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const path = `${ARTIFACTS}/${as ?? download.suggestedFilename()}`;
  await download.saveAs(path);
  return { name: download.suggestedFilename(), path };
}

/** The cells' text of a table's body rows. */
export function tableRows(page, selector) {
  return page.$$eval(`${selector} tbody tr`, (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
}

/** A number as the app prints it ("1,234"). */
export const num = (text) => Number(String(text).replace(/,/g, ""));
