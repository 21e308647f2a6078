// A small static server for the app: www/ at /, the built package pkg/ at /pkg/.
// Correct MIME types (application/wasm for streaming compilation) and a Content-Security-Policy that
// allows only what the app needs. No dependencies beyond Node itself.
//
//   node tools/serve.mjs [--host 127.0.0.1] [--port 8080] [--www www] [--pkg pkg] [--connect ORIGIN]…
// Each --connect origin (a node the app talks to) is added to the policy's connect-src.
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8080" },
    www: { type: "string", default: "www" },
    pkg: { type: "string", default: "pkg" },
    connect: { type: "string", multiple: true, default: [] },
  },
});

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".ts": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
};

function checkOrigin(text) {
  const url = new URL(text);
  if (!["http:", "https:"].includes(url.protocol)) throw new Error(`--connect ${text}: not http(s)`);
  return url.origin;
}

// 'wasm-unsafe-eval' lets the page compile WebAssembly; nothing else runs but our own modules.
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  ["connect-src 'self'", ...args.connect.map(checkOrigin)].join(" "),
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const roots = [
  ["/pkg/", resolve(args.pkg)],
  ["/", resolve(args.www)],
];

function locate(urlPath) {
  for (const [prefix, root] of roots) {
    if (!urlPath.startsWith(prefix)) continue;
    let rel = decodeURIComponent(urlPath.slice(prefix.length));
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = normalize(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) return null; // no escape from the root
    return file;
  }
  return null;
}

const server = createServer((req, res) => {
  const headers = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
    return;
  }
  let file;
  try {
    file = locate(new URL(req.url, "http://localhost").pathname);
  } catch {
    file = null;
  }
  let stat;
  try {
    stat = file && statSync(file);
  } catch {
    stat = null;
  }
  if (!stat || !stat.isFile()) {
    res.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8" }).end("not found\n");
    return;
  }
  res.writeHead(200, {
    ...headers,
    "Content-Type": MIME[extname(file)] ?? "application/octet-stream",
    "Content-Length": stat.size,
  });
  if (req.method === "HEAD") res.end();
  else createReadStream(file).pipe(res);
});

server.listen(Number(args.port), args.host, () => {
  const { port } = server.address();
  console.log(`app: http://${args.host}:${port}/`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
