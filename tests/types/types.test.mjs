// The package's TypeScript declarations (pkg/bundle_vault.d.ts, from `make build`) under `tsc --strict`:
// good.ts, which uses the whole API, compiles; every misuse in bad.ts is an error at its own line; the
// README's Vite example compiles; and no public declaration is `any`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = fileURLToPath(new URL(".", import.meta.url));
const dts = fileURLToPath(new URL("../../pkg/bundle_vault.d.ts", import.meta.url));
const { config } = ts.readConfigFile(`${here}tsconfig.json`, ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, here);

/** Type-checks one file (its text optionally replaced) and returns its diagnostics as `line: message`. */
function check(file, text) {
  const path = `${here}${file}`;
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile;
  const exists = host.fileExists;
  host.fileExists = (name) => (text !== undefined && name === path) || exists(name);
  host.getSourceFile = (name, language, ...rest) =>
    text !== undefined && name === path ? ts.createSourceFile(name, text, language) : read(name, language, ...rest);
  const program = ts.createProgram([path], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace(here, "")}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : "";
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
}

test("a file that uses the whole API compiles under --strict", () => {
  assert.equal(options.strict, true);
  assert.deepEqual(check("good.ts"), []);
});

test("each misuse in bad.ts is a compile error, and only those lines fail", () => {
  const source = readFileSync(`${here}bad.ts`, "utf8");
  // With its @ts-expect-error directives, the file compiles: every directive met its error.
  assert.deepEqual(check("bad.ts"), []);
  // Without them, each line after a directive fails, and no other line does.
  const lines = source.split("\n");
  const expected = [];
  const stripped = lines.map((line, i) => {
    if (!/^\s*\/\/ @ts-expect-error/.test(line)) return line;
    expected.push(`bad.ts:${i + 2}`);
    return "";
  });
  assert.ok(expected.length >= 25, `bad.ts lists ${expected.length} misuses`);
  const failed = [...new Set(check("bad.ts", stripped.join("\n")).map((d) => d.slice(0, d.indexOf(": "))))];
  assert.deepEqual(failed, expected);
});

test("the README's Vite example type-checks", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = readme.match(/Pull, sign and push[^\n]*\n\s*```ts\n([\s\S]*?)\n\s*```/)?.[1];
  assert.ok(block, "README has the Vite example");
  const code = block.replace(/^ {3}/gm, "");
  assert.deepEqual(check("readme-example.ts", `declare const passphrase: string;\n${code}\nexport {};\n`), []);
});

test("no public declaration of the package is `any`", () => {
  const text = readFileSync(dts, "utf8");
  // The InitOutput interface lists the raw wasm exports (numbers and tables), not API.
  const api = text.replace(/export interface InitOutput \{[\s\S]*?\n\}/, "");
  const anys = api.split("\n").filter((line) => /\bany\b/.test(line.replace(/\/\/.*|\/\*.*?\*\/|^\s*\*.*/g, "")));
  assert.deepEqual(anys, []);
});
