// `make run`'s script (tools/run.sh) on free ports: both reference nodes and the app come up, the
// source node gives a new DID demo data, the app may talk to both nodes under its CSP, the node
// keys survive a restart, and one Ctrl-C stops all three processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function freePort() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts tools/run.sh and resolves once the two nodes and the app have said they are listening. */
async function startRun(env) {
  const child = spawn("tools/run.sh", [], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, like a terminal's foreground job
  });
  let out = "";
  const onData = (chunk) => (out += chunk);
  child.stdout.setEncoding("utf8").on("data", onData);
  child.stderr.setEncoding("utf8").on("data", onData);
  await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (/source listening/.test(out) && /target listening/.test(out) && /app: http/.test(out)) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`tools/run.sh exited (${code}) before it was ready:\n${out}`));
    });
  });
  return {
    output: () => out,
    /** Ctrl-C: SIGINT to the whole process group; resolves to the exit code. */
    async interrupt() {
      const exited = once(child, "exit");
      process.kill(-child.pid, "SIGINT");
      const [code] = await exited;
      return code;
    },
  };
}

const pkg = await import(new URL("../../pkg/bundle_vault.js", import.meta.url));
await pkg.default({ module_or_path: readFileSync(new URL("../../pkg/bundle_vault_bg.wasm", import.meta.url)) });

/** Logs in to a node as a new DID (the platform's challenge login) and sums its counts. */
async function demoCount(origin) {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  const did = pkg.didFromPublicKey(new Uint8Array(raw), "imajin");
  const post = async (path, body) => {
    const res = await fetch(origin + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return res.json();
  };
  const { challengeId, challenge } = await post("/auth/challenge", { did });
  const signature = sign(null, Buffer.from(challenge, "utf8"), privateKey).toString("hex");
  const { token } = await post("/auth/verify", { challengeId, did, signature });
  const manifest = await (await fetch(`${origin}/.well-known/bundle-node`)).json();
  let total = 0;
  for (const service of manifest.services) {
    const res = await fetch(`${origin}${service.count}?did=${encodeURIComponent(did)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    total += Object.values((await res.json()).counts).reduce((a, b) => a + b, 0);
  }
  return total;
}

function alive(pattern) {
  const ps = spawn("pgrep", ["-f", pattern]);
  return once(ps, "exit").then(([code]) => code === 0);
}

test("make run: source in demo mode, target, app; a restart keeps the node keys; Ctrl-C stops all", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bundle-vault-run-"));
  try {
    const ports = { APP_PORT: await freePort(), SOURCE_PORT: await freePort(), TARGET_PORT: await freePort() };
    const env = { ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), RUN_DIR: dir, DEMO_ITEMS: "50", NODE_PROFILE: "dev" };
    const source = `http://127.0.0.1:${ports.SOURCE_PORT}`;
    const target = `http://127.0.0.1:${ports.TARGET_PORT}`;

    let run = await startRun(env);
    const manifests = [];
    for (const [origin, name] of [[source, "source"], [target, "target"]]) {
      const res = await fetch(`${origin}/.well-known/bundle-node`);
      assert.equal(res.status, 200);
      const manifest = await res.json();
      assert.equal(manifest.node, name);
      assert.match(manifest.did, /^did:key:z6Mk/);
      assert.equal(manifest.services.length, 8);
      manifests.push(manifest);
    }
    const demo = await demoCount(source);
    assert.ok(demo >= 40 && demo <= 60, `about DEMO_ITEMS=50 demo items, got ${demo}`);
    assert.equal(await demoCount(target), 0, "the target is not in demo mode");
    const app = await fetch(`http://127.0.0.1:${ports.APP_PORT}/`);
    assert.equal(app.status, 200);
    const csp = app.headers.get("content-security-policy");
    assert.match(csp, new RegExp(`connect-src 'self' ${source} ${target}(;|$)`));
    assert.equal(await run.interrupt(), 130);
    for (const port of Object.values(ports)) {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`), "nothing listens after Ctrl-C");
    }
    assert.equal(await alive(`bundle-node .*${dir}`), false, "no node left running");

    // A restart keeps each node's key in RUN_DIR.
    run = await startRun(env);
    const again = await (await fetch(`${source}/.well-known/bundle-node`)).json();
    assert.equal(again.did, manifests[0].did);
    assert.equal(await run.interrupt(), 130);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
