// Completes the package.json that wasm-pack writes from Cargo.toml, so that each build is a complete
// npm package: an `exports` map with its types, an honest `sideEffects`, a `files` list that names
// every file the JavaScript needs (wasm-bindgen's `snippets/` included), the CHANGELOG, and the
// keywords and engines of the target. Safe to run again on the same directory.
//
//   node tools/package.mjs pkg web | pkg-bundler bundler | pkg-node nodejs
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, target] = process.argv.slice(2);
const TARGETS = ["web", "bundler", "nodejs"];
if (!dir || !TARGETS.includes(target)) {
  console.error(`usage: node tools/package.mjs DIR ${TARGETS.join("|")}`);
  process.exit(2);
}

const path = join(dir, "package.json");
const generated = JSON.parse(readFileSync(path, "utf8"));
const base = generated.name.replace(/^@[^/]+\//, "").replace(/-/g, "_");
const js = `${base}.js`;
const dts = `${base}.d.ts`;
const wasm = `${base}_bg.wasm`;
for (const file of [js, dts, wasm]) {
  if (!existsSync(join(dir, file))) throw new Error(`${dir}/${file} is missing: run wasm-pack first`);
}

// The CHANGELOG travels with the package (npm adds README and LICENSE files by itself).
copyFileSync("CHANGELOG.md", join(dir, "CHANGELOG.md"));

// Every file wasm-pack produced that the package needs, snippets (inline JS of the bindings) included.
const files = readdirSync(dir)
  .filter((name) => ![".gitignore", "package.json", "README.md", "CHANGELOG.md"].includes(name))
  .filter((name) => !/^LICENSE/i.test(name))
  .map((name) => (name === "snippets" ? "snippets/" : name))
  .sort();
files.push("CHANGELOG.md");

const esm = target !== "nodejs";
const pkg = {
  name: generated.name,
  version: generated.version,
  description: generated.description,
  keywords: generated.keywords ?? [],
  license: generated.license,
  repository: generated.repository,
  ...(generated.homepage ? { homepage: generated.homepage } : {}),
  ...(esm ? { type: "module" } : {}),
  main: js,
  ...(esm ? { module: js } : {}),
  types: dts,
  exports: {
    ".": { types: `./${dts}`, default: `./${js}` },
    // The raw module, for apps that load it themselves (e.g. Vite's `?url` import for `init`).
    [`./${wasm}`]: `./${wasm}`,
    "./package.json": "./package.json",
  },
  // web: importing the module runs nothing until `init()`. bundler and nodejs: importing it
  // instantiates the WebAssembly module, which must not be dropped by tree shaking.
  sideEffects: target === "web" ? false : [`./${js}`, "./snippets/*"],
  files,
  ...(target === "nodejs" ? { engines: { node: ">=18" } } : {}),
};
writeFileSync(path, `${JSON.stringify(pkg, null, 2)}\n`);
console.log(`${path}: ${pkg.name}@${pkg.version} (${target}), ${files.length} entries in files`);
