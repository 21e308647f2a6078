// Pull a user's data from one node, sign it, push it to another: the whole flow of a web app that
// uses bundle-vault. Nodes are reference nodes (`make run` starts two on :7001 and :7002); the page
// also takes them from its URL: `?source=<manifest URL>&target=<manifest URL>`.
import init, { Vault, isVaultError, verifyBundle, version } from "bundle-vault";
import type { PullProgress, PushProgress } from "bundle-vault";
import "./style.css";

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

const ui = {
  status: element("status"),
  source: element<HTMLInputElement>("source"),
  target: element<HTMLInputElement>("target"),
  passphrase: element<HTMLInputElement>("passphrase"),
  pull: element<HTMLButtonElement>("pull"),
  pullProgress: element("pull-progress"),
  pullReport: element<HTMLTableElement>("pull-report"),
  pullResult: element("pull-result"),
  sign: element<HTMLButtonElement>("sign"),
  signResult: element("sign-result"),
  download: element<HTMLAnchorElement>("download"),
  push: element<HTMLButtonElement>("push"),
  pushProgress: element("push-progress"),
  pushResult: element("push-result"),
  error: element("error"),
  did: element("did"),
  version: element("version"),
};

const params = new URLSearchParams(location.search);
ui.source.value = params.get("source") ?? "http://127.0.0.1:7001/.well-known/bundle-node";
ui.target.value = params.get("target") ?? "http://127.0.0.1:7002/.well-known/bundle-node";

// Loads the WebAssembly module (Vite serves and bundles the .wasm file next to the package's JS).
await init();
ui.version.textContent = `bundle-vault ${version()}`;

// One IndexedDB database per vault name; the key inside is sealed with the user's passphrase.
const vault = await Vault.open("vite-example");
showState();

function showState(): void {
  ui.did.textContent = vault.did ?? "none yet";
  ui.status.textContent = vault.hasKey
    ? `Ready: a vault with a key (${vault.locked ? "locked" : "unlocked"}).`
    : "Ready: a new vault. Pulling creates your key, sealed with your passphrase.";
  ui.pull.disabled = false;
  ui.sign.disabled = !vault.hasKey;
  ui.push.disabled = !vault.hasKey;
}

async function unlocked(): Promise<void> {
  const passphrase = ui.passphrase.value;
  if (!vault.hasKey) await vault.createKey(passphrase);
  else if (vault.locked) await vault.unlock(passphrase);
}

/** Runs one step with the buttons disabled and shows a `VaultError` by its code. */
async function step(run: () => Promise<void>): Promise<void> {
  ui.error.textContent = "";
  for (const button of [ui.pull, ui.sign, ui.push]) button.disabled = true;
  try {
    await run();
  } catch (error) {
    if (!isVaultError(error)) throw error;
    // error.code is a VaultErrorCode: the union of every code the package throws.
    ui.error.textContent = `${error.code}: ${error.message}`;
  } finally {
    showState();
  }
}

ui.pull.addEventListener("click", () =>
  step(async () => {
    await unlocked();
    const onProgress = ({ service, phase, items }: PullProgress) => {
      ui.pullProgress.textContent = `${service}: ${phase}, ${items} items`;
    };
    const report = await vault.pull(ui.source.value, { onProgress });
    const body = ui.pullReport.tBodies[0];
    body.replaceChildren();
    for (const s of report.services) {
      const row = body.insertRow();
      for (const cell of [s.service, s.added, s.updated, s.deleted, s.error?.code ?? ""]) {
        row.insertCell().textContent = String(cell);
      }
    }
    ui.pullReport.hidden = false;
    const failed = report.services.filter((s) => s.error).length;
    const total = Object.values(await vault.count())
      .flatMap((collections) => Object.values(collections))
      .reduce((sum, n) => sum + n, 0);
    ui.pullResult.textContent =
      `Pulled ${report.services.length - failed} of ${report.services.length} services from ${report.node}: ` +
      `${total} items in the vault, log length ${report.log.length}.`;
  }),
);

ui.sign.addEventListener("click", () =>
  step(async () => {
    await unlocked();
    // The signed bundle as the file it is saved as: the UTF-8 bytes of its RFC 8785 text. For a large
    // vault this is much faster than `sign()`, which also builds an object for every item.
    const file = await vault.signBytes();
    const check = verifyBundle(file);
    const items = Object.values(await vault.count())
      .flatMap((collections) => Object.values(collections))
      .reduce((sum, n) => sum + n, 0);
    ui.signResult.textContent = check.verified
      ? `Signed ${items} items by ${check.verificationMethod}: verified.`
      : `Signed, but it does not verify: ${check.code}`;
    URL.revokeObjectURL(ui.download.href);
    // The bytes are over a plain ArrayBuffer, which TypeScript's DOM types want said for a Blob part.
    const part = file as Uint8Array<ArrayBuffer>;
    ui.download.href = URL.createObjectURL(new Blob([part], { type: "application/json" }));
    ui.download.hidden = false;
  }),
);

ui.push.addEventListener("click", () =>
  step(async () => {
    await unlocked();
    const onProgress = ({ phase, bytes, total }: PushProgress) => {
      ui.pushProgress.textContent = `${phase}: ${bytes} of ${total} bytes`;
    };
    const report = await vault.push(ui.target.value, { onProgress });
    ui.pushResult.textContent =
      `Pushed ${report.size} bytes to ${report.node}; receipt for ${report.receipt.bundle_hash}; ` +
      (report.continuity.ok
        ? "the target holds every item."
        : `${report.continuity.mismatches.length} collections differ on the target.`);
  }),
);
