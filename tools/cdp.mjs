// A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`, for the benchmark.
//
// Playwright enables DevTools' Network domain in every page it drives, and with it Chromium keeps a
// decoded copy of every response body for the Network panel: at 100,000 items about 1 s of the page's
// main thread goes to decoding the 60 MiB of export pages as text, work no user's browser does. This
// client enables only what it uses (Runtime, for evaluation and console messages), so the benchmark
// measures the page as a person runs it.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function launch({ executablePath, args = [] }) {
  const profile = mkdtempSync(join(tmpdir(), "bench-chromium-"));
  const child = spawn(
    executablePath,
    ["--remote-debugging-pipe", `--user-data-dir=${profile}`, "--no-first-run", "--no-default-browser-check", ...args, "about:blank"],
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
  );
  // Chromium's own messages, kept for the error when it fails.
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text) => {
    stderr = (stderr + text).slice(-4000);
  });
  const [toBrowser, fromBrowser] = [child.stdio[3], child.stdio[4]];
  let gone = null;
  let nextId = 1;
  const pending = new Map();
  const listeners = new Set();
  // The chunks of the message being received, none with its NUL terminator yet: a message is joined
  // once, when its end arrives (joining at every chunk took 47 s for an 80 MB answer).
  let parts = [];
  const failAll = (error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  fromBrowser.on("data", (chunk) => {
    let start = 0;
    let end;
    while ((end = chunk.indexOf(0, start)) >= 0) {
      parts.push(chunk.subarray(start, end));
      const message = JSON.parse(Buffer.concat(parts).toString("utf8"));
      parts = [];
      start = end + 1;
      if (message.id !== undefined) {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (!waiter) continue;
        if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
        else waiter.resolve(message.result);
      } else {
        for (const listener of listeners) listener(message);
      }
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  });
  const end = (why) => {
    gone ??= new Error(`${why}${stderr ? `\n${stderr.trim()}` : ""}`);
    failAll(gone);
  };
  child.once("error", (e) => end(`${executablePath} did not start: ${e.message}`));
  child.once("exit", (code, signal) => end(`chromium exited (${signal ?? code})`));
  toBrowser.on("error", () => end("chromium closed its DevTools pipe"));

  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const { product } = await send("Browser.getVersion");

  return {
    version: product.replace(/^(Headless)?Chrome\//, ""),
    /** A new page at `url`, loaded, with `evaluate(expression)` (awaits a promise, returns its JSON value). */
    async newPage(url, { onConsole } = {}) {
      // Its own browser context, as a Playwright context is: storage of its own, kept in memory.
      const { browserContextId } = await send("Target.createBrowserContext", { disposeOnDetach: true });
      const { targetId } = await send("Target.createTarget", { url: "about:blank", browserContextId });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
      const listener = (message) => {
        if (message.sessionId !== sessionId) return;
        if (message.method === "Runtime.consoleAPICalled" && onConsole) {
          onConsole(message.params.args.map((a) => a.value ?? a.description ?? "").join(" "));
        } else if (message.method === "Runtime.exceptionThrown" && onConsole) {
          onConsole(`page error: ${message.params.exceptionDetails.exception?.description ?? message.params.exceptionDetails.text}`);
        }
      };
      listeners.add(listener);
      await send("Runtime.enable", {}, sessionId);
      const evaluate = async (expression) => {
        const { result, exceptionDetails } = await send(
          "Runtime.evaluate",
          { expression, awaitPromise: true, returnByValue: true },
          sessionId,
        );
        if (exceptionDetails) {
          throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
        }
        return result.value;
      };
      const close = async () => {
        listeners.delete(listener);
        await send("Target.closeTarget", { targetId });
        await send("Target.disposeBrowserContext", { browserContextId });
      };
      try {
        const { errorText } = await send("Page.navigate", { url }, sessionId);
        if (errorText) throw new Error(`${url}: ${errorText}`);
        const loaded = `location.href === ${JSON.stringify(url)} && document.readyState === "complete"`;
        for (let waited = 0; !(await evaluate(loaded)); waited += 50) {
          if (waited >= 30_000) throw new Error(`${url} did not load within 30 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } catch (e) {
        await close().catch(() => {});
        throw e;
      }
      return {
        evaluate,
        /** A DevTools command to the page (e.g. `Profiler.start`). */
        send: (method, params) => send(method, params, sessionId),
        close,
      };
    },
    async close() {
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, "exit");
      send("Browser.close").catch(() => {});
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
