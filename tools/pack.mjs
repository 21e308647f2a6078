// Packs a built package directory (default pkg/) with `npm pack` into target/npm/<name>.tgz: the
// tarball an app installs (`npm install …/target/npm/bundle-vault.tgz`) before the package is on a
// registry. The file is replaced only when its content changes, and the packed file list is checked
// against the package's `exports` and `types`.
//
//   node tools/pack.mjs [DIR]
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const dir = resolve(process.argv[2] ?? "pkg");
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const out = resolve("target/npm");
const dest = join(out, `${pkg.name.replace(/^@/, "").replace("/", "-")}.tgz`);
mkdirSync(out, { recursive: true });

const scratch = mkdtempSync(join(tmpdir(), "bundle-vault-pack-"));
try {
  const [info] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--loglevel=error", "--pack-destination", scratch, dir], {
      encoding: "utf8",
    }),
  );
  const packed = new Set(info.files.map((f) => f.path));
  const promised = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)))];
  const missing = promised.map((p) => p.replace(/^\.\//, "")).filter((p) => !packed.has(p));
  if (missing.length) throw new Error(`the tarball lacks ${missing.join(", ")} (check "files" in ${dir}/package.json)`);

  const fresh = join(scratch, info.filename);
  const same = existsSync(dest) && readFileSync(dest).equals(readFileSync(fresh));
  if (!same) copyFileSync(fresh, dest);
  console.log(`${dest}: ${info.name}@${info.version}, ${info.entryCount} files, ${(info.size / 1024).toFixed(1)} KiB${same ? " (unchanged)" : ""}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
