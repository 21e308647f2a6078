// The three builds of the npm package (`make build`, `make build-bundler-pkg`, `make build-node-pkg`)
// are complete packages, and the two that do not need a browser load where they are meant to: the
// bundler build through WebAssembly ES module integration (what webpack 5 and Vite's wasm plugins
// implement; Node's --experimental-wasm-modules here), the nodejs build with require() and import.
// The web build is driven in Chromium by example.test.mjs and the other end-to-end tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const cargo = readFileSync("Cargo.toml", "utf8");
const cargoVersion = cargo.match(/^\[package\][\s\S]*?^version = "([^"]+)"/m)[1];
const BUILDS = { pkg: "web", "pkg-bundler": "bundler", "pkg-node": "nodejs" };

for (const [dir, target] of Object.entries(BUILDS)) {
  test(`${dir}/ (${target}) is a complete npm package`, () => {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    assert.equal(pkg.name, "bundle-vault");
    assert.equal(pkg.version, cargoVersion);
    for (const field of ["description", "license"]) assert.ok(pkg[field], `${field} is set`);
    assert.ok(pkg.repository?.url, "repository is set");
    assert.ok(pkg.keywords.length > 0, "keywords are set");
    assert.equal(pkg.types, "bundle_vault.d.ts");
    assert.deepEqual(pkg.exports["."], { types: "./bundle_vault.d.ts", default: "./bundle_vault.js" });
    assert.equal(pkg.type, target === "nodejs" ? undefined : "module");
    assert.equal(pkg.sideEffects, target === "web" ? false : pkg.sideEffects);
    if (target !== "web") assert.ok(pkg.sideEffects.includes("./bundle_vault.js"), "instantiation is a side effect");
    for (const entry of pkg.files) assert.ok(existsSync(join(dir, entry)), `${dir}/${entry} exists`);
    // Every module the JavaScript imports is in the package (wasm-bindgen's inline snippets included).
    const js = readdirSync(dir)
      .filter((name) => name.endsWith(".js"))
      .map((name) => readFileSync(join(dir, name), "utf8"))
      .join("\n");
    // (In the bundler build the WebAssembly module imports them itself.)
    const wasm = new WebAssembly.Module(readFileSync(join(dir, "bundle_vault_bg.wasm")));
    const imports = [
      ...[...js.matchAll(/(?:from |require\()\s*['"](\.\/[^'"]+)['"]/g)].map((m) => m[1]),
      ...(target === "bundler" ? WebAssembly.Module.imports(wasm).map((i) => i.module) : []),
    ]
      .filter((path) => path.startsWith("./"))
      .map((path) => path.slice(2));
    assert.ok(imports.some((path) => path.startsWith("snippets/")), "the bindings import their snippets");
    for (const path of imports) {
      assert.ok(pkg.files.some((entry) => path === entry || path.startsWith(entry)), `${path} is in files`);
    }
  });
}

const smoke = `
  const m = await import(process.argv[1]);
  const key = m.Keypair.generate();
  const signed = key.signDocument({ hello: "world" });
  const result = m.verifyDocument(signed);
  let code;
  try { m.canonicalize("{"); } catch (error) { code = m.isVaultError(error) && error.code; }
  console.log(JSON.stringify({ version: m.version(), verified: result.verified, did: result.did === key.didKey, code }));
`;

function run(args) {
  return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
}

test("the bundler build loads through WebAssembly ES module integration, with no init()", () => {
  const entry = new URL("../../pkg-bundler/bundle_vault.js", import.meta.url).href;
  const out = run(["--experimental-wasm-modules", "--input-type=module", "-e", smoke, entry]);
  assert.deepEqual(out, { version: cargoVersion, verified: true, did: true, code: "INVALID_JSON" });
});

test("the nodejs build loads with import and with require()", () => {
  const entry = new URL("../../pkg-node/bundle_vault.js", import.meta.url);
  const viaImport = run(["--input-type=module", "-e", smoke, entry.href]);
  assert.deepEqual(viaImport, { version: cargoVersion, verified: true, did: true, code: "INVALID_JSON" });
  const required = execFileSync(
    process.execPath,
    ["-e", "const m = require(process.argv[1]); console.log(m.version(), typeof m.Vault.open)", entry.pathname],
    { encoding: "utf8" },
  );
  assert.equal(required.trim(), `${cargoVersion} function`);
});
