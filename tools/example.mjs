// Builds the Vite example app (examples/vite-app) against the package as an app gets it: packs pkg/
// into target/npm/bundle-vault.tgz, installs the example's dependencies from its lockfile (`npm ci`)
// when they are missing or older than the lockfile or the tarball, then runs its `npm run build`
// (`tsc --noEmit && vite build`) into examples/vite-app/dist.
//
//   node tools/example.mjs [--no-build]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const app = "examples/vite-app";
const tarball = "target/npm/bundle-vault.tgz";
const run = (cmd, args, cwd = ".") => execFileSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });

run(process.execPath, ["tools/pack.mjs", "pkg"]);

// The lockfile pins every dependency but bundle-vault's integrity (the tarball changes with each
// build), so `npm ci` installs the tarball as it is now; a stamp records which one is installed.
const stamp = join(app, "node_modules", ".bundle-vault.sha256");
const installed = join(app, "node_modules", ".package-lock.json");
const hash = createHash("sha256").update(readFileSync(tarball)).digest("hex");
const current =
  existsSync(installed) &&
  statSync(installed).mtimeMs >= statSync(join(app, "package-lock.json")).mtimeMs &&
  existsSync(stamp) &&
  readFileSync(stamp, "utf8") === hash;
if (!current) {
  console.log(`${app}: npm ci`);
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], app);
  writeFileSync(stamp, hash);
}

if (!process.argv.includes("--no-build")) run("npm", ["run", "--silent", "build"], app);
