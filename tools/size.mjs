// Prints the size of a built WebAssembly module: raw, gzip and brotli (maximum compression).
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const path = process.argv[2] ?? "pkg/bundle_vault_bg.wasm";
const bytes = readFileSync(path);
const gzip = gzipSync(bytes, { level: 9 }).length;
const brotli = brotliCompressSync(bytes, {
  params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
}).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`wasm size ${path}: raw ${kb(bytes.length)} (${bytes.length} B), gzip ${kb(gzip)} (${gzip} B), brotli ${kb(brotli)} (${brotli} B)`);
