// The bundle-vault app: a vault in this browser (IndexedDB, key sealed with a passphrase), pulling a
// person's data from a node, showing it, signing it as a bundle, pushing it to another node and
// deleting it from the source once it is safe. Plain static files; the only servers are the nodes.
import init, {
  Vault, verifyBundle, verifyDocument, canonicalize, version, publicKeyFromDid, didFromPublicKey,
} from "./pkg/bundle_vault.js";
import { explain, meaning, Plain } from "./explain.js";

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString("en");
/** "1 item", "2 items". */
const many = (n, word, plural = `${word}s`) => `${fmt(n)} ${n === 1 ? word : plural}`;
const PAGE_ITEMS = 25;
const PAGE_LOG = 50;
const GENESIS = "0".repeat(64);

const state = {
  vault: null,
  keyBackup: null, // the encrypted key backup made right after creating the key
  sections: null, // the vault's items (from vault.bundle()), loaded for browsing
  browse: { key: "", page: 0, texts: new Map() },
  logPage: null, // index of the log page shown; null: the latest
  remote: null, // {url, counts} of the last remote count
  pullController: null,
  pushController: null,
  signed: null, // {file, name}: the bundle last signed and downloaded, until it is counted as a backup
};

// ---------------------------------------------------------------- small helpers

function say(text) {
  $("status").textContent = text;
}

/** The banner for problems that belong to no single step (e.g. the vault could not open). */
function problem(text) {
  $("problem-text").textContent = text;
  $("problem").hidden = false;
}

function showError(id, error) {
  const el = $(id);
  el.textContent = typeof error === "string" ? error : explain(error);
  el.hidden = false;
}

function clearError(id) {
  $(id).hidden = true;
  $(id).textContent = "";
}

/** Runs an action of a step: its errors go to the step's alert, nothing fails silently. */
async function step(errorId, action) {
  clearError(errorId);
  try {
    return await action();
  } catch (error) {
    showError(errorId, error);
    say("Something did not work; see the message in red.");
    return undefined;
  }
}

function element(tag, text, className) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  if (className) el.className = className;
  return el;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function download(name, content) {
  const url = URL.createObjectURL(new Blob([content], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The manifest URL of a node from what the person typed (an origin is enough). */
function manifestUrl(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Plain(`“${text}” is not a web address. Enter the node's address, e.g. http://127.0.0.1:7001.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Plain("The node's address must start with http:// or https://.");
  }
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/.well-known/bundle-node";
  return url.href;
}

function total(counts) {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Remote counts `{service: {section, counts}}` as `{section: {collection: n}}`. */
function bySection(remote) {
  const out = {};
  for (const { section, counts } of Object.values(remote)) {
    out[section] = { ...(out[section] ?? {}), ...counts };
  }
  return out;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A log entry's hash: SHA-256 of its RFC 8785 form, as the vault chains them. */
function entryHash(entry) {
  return sha256Hex(canonicalize(JSON.stringify(entry)));
}

// ---------------------------------------------------------------- node URLs

/** Prefills the node URLs: `?source=&target=`, else the nodes this server's CSP lets the page call, else :7001/:7002. */
async function prefillNodes() {
  const query = new URLSearchParams(location.search);
  let origins = [];
  try {
    const res = await fetch(location.pathname, { method: "HEAD", cache: "no-store" });
    const policy = res.headers.get("content-security-policy") ?? "";
    const connect = policy.split(";").map((d) => d.trim().split(/\s+/)).find((d) => d[0] === "connect-src");
    origins = (connect ?? []).slice(1).filter((s) => /^https?:\/\//.test(s));
  } catch {
    // A static host without the header (or a file): fall back to the local demo ports.
  }
  const host = location.hostname || "127.0.0.1";
  $("source-url").value = query.get("source") ?? origins[0] ?? `http://${host}:7001`;
  $("target-url").value = query.get("target") ?? origins[1] ?? `http://${host}:7002`;
}

// ---------------------------------------------------------------- the vault: create, unlock, restore, lock

function render() {
  const vault = state.vault;
  const hasKey = Boolean(vault?.hasKey);
  const unlocked = Boolean(vault && !vault.locked);
  $("vault-new").hidden = !vault || hasKey;
  $("unlock-form").hidden = !hasKey || unlocked;
  $("restore").hidden = !vault || unlocked;
  $("vault-open").hidden = !unlocked;
  if (hasKey) {
    $("locked-did").textContent = vault.did;
    $("did").textContent = vault.did;
    $("did-key").textContent = didFromPublicKey(publicKeyFromDid(vault.did), "key");
  }
  const persisted = vault?.persisted;
  $("persisted").textContent = persisted === true
    ? "Persistent: the browser will not clear it on its own."
    : "Best effort: the browser may clear it when space runs low — keep your key backup and a signed bundle.";
  for (const fieldset of document.querySelectorAll("fieldset.keyed")) fieldset.disabled = !unlocked;
  for (const note of document.querySelectorAll(".needs-key")) note.hidden = unlocked;
}

function strength(pass) {
  if (!pass) return [0, "Type a passphrase."];
  if (pass.length < 8) return [0, `Too short: ${pass.length} characters, at least 8 are needed.`];
  let pool = 0;
  if (/[a-z]/.test(pass)) pool += 26;
  if (/[A-Z]/.test(pass)) pool += 26;
  if (/[0-9]/.test(pass)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(pass)) pool += 33;
  const distinct = new Set(pass).size;
  let bits = Math.min(pass.length, distinct * 2) * Math.log2(pool);
  if (/^(password|passwort|qwerty|azerty|letmein|12345678|iloveyou)/i.test(pass) || distinct <= 3) bits = Math.min(bits, 20);
  if (bits < 40) return [1, "Weak: easy to guess. Add more words or characters."];
  if (bits < 60) return [2, "Fair: add another word to make it strong."];
  if (bits < 80) return [3, "Good."];
  return [4, "Strong."];
}

async function create(event) {
  event.preventDefault();
  await step("create-error", async () => {
    const pass = $("create-pass").value;
    if (pass.length < 8) throw new Plain("The passphrase needs at least 8 characters.");
    if (pass !== $("create-pass2").value) throw new Plain("The two passphrases differ. Type the same passphrase twice.");
    $("create").disabled = true;
    let backupError = null;
    try {
      say("Creating your key and sealing it with your passphrase…");
      await state.vault.createKey(pass);
      // The key exists from here on: whatever happens to its backup, the page shows the open vault.
      try {
        state.keyBackup = await state.vault.exportKey(pass);
      } catch (error) {
        state.keyBackup = null;
        backupError = error;
      }
    } finally {
      $("create").disabled = false;
    }
    $("create-pass").value = "";
    $("create-pass2").value = "";
    updateStrength();
    render();
    if (backupError) {
      $("export-form").closest("details").open = true;
      showError("export-error", `Your key is created, but its backup file could not be made (${backupError?.message ?? backupError}). Make one now: give a passphrase here and download it.`);
      $("export-pass").focus();
      say("Your vault is ready, but make a key backup now: see the message in red.");
    } else {
      $("backup-prompt").hidden = false;
      $("backup-download").focus();
      say("Your vault is ready. Download your key backup now, then pull your data.");
    }
    await unlocked();
  });
}

function didTail() {
  return state.vault.did.slice(-8);
}

function downloadBackup() {
  download(`bundle-vault-key-${didTail()}.json`, state.keyBackup);
  state.keyBackup = null;
  $("backup-prompt").hidden = true;
  say("Key backup downloaded. Keep it somewhere safe, away from this device; it is encrypted with your passphrase.");
}

async function exportKey(event) {
  event.preventDefault();
  await step("export-error", async () => {
    const pass = $("export-pass").value;
    if (pass.length < 8) throw new Plain("The passphrase needs at least 8 characters.");
    const backup = await state.vault.exportKey(pass);
    $("export-pass").value = "";
    download(`bundle-vault-key-${didTail()}.json`, backup);
    say("Key backup downloaded, encrypted with the passphrase you just gave.");
  });
}

async function unlock(event) {
  event.preventDefault();
  await step("unlock-error", async () => {
    const pass = $("unlock-pass").value;
    $("unlock").disabled = true;
    try {
      say("Unlocking…");
      await state.vault.unlock(pass);
    } catch (error) {
      $("unlock-pass").select();
      throw error;
    } finally {
      $("unlock").disabled = false;
    }
    $("unlock-pass").value = "";
    render();
    say("Unlocked.");
    await unlocked();
  });
}

async function restore(event) {
  event.preventDefault();
  await step("restore-error", async () => {
    const file = $("restore-file").files[0];
    if (!file) throw new Plain("Choose your key backup file first.");
    const pass = $("restore-pass").value;
    if (pass.length < 8) throw new Plain("The passphrase needs at least 8 characters.");
    $("restore-button").disabled = true;
    try {
      say("Restoring your key…");
      await state.vault.importKey(await file.text(), pass);
    } finally {
      $("restore-button").disabled = false;
    }
    $("restore-pass").value = "";
    $("restore-file").value = "";
    $("restore").open = false;
    render();
    say(`Key restored: your vault is unlocked as ${state.vault.did}.`);
    await unlocked();
  });
}

function lock() {
  state.pullController?.abort();
  state.pushController?.abort();
  state.vault.lock();
  state.sections = null;
  for (const id of ["browse-table", "log-table", "footprint-table", "footprint-chart", "delete-confirm", "delete-report", "push-result", "pull-report"]) {
    $(id).hidden = true;
  }
  for (const id of ["footprint-summary", "browse-summary", "log-status", "sign-result", "delete-message", "pull-message"]) $(id).textContent = "";
  $("pull-progress").replaceChildren();
  $("push-progress-row").hidden = true;
  for (const id of ["export-error", "pull-error", "footprint-error", "browse-error", "log-error", "sign-error", "push-error", "delete-error"]) clearError(id);
  $("backup-prompt").hidden = true;
  $("sign-keep").hidden = true;
  state.signed = null;
  render();
  $("unlock-pass").focus();
  say("Locked: your key is wiped from memory. Enter your passphrase to unlock.");
}

/** Fills the views once the vault is unlocked. */
async function unlocked() {
  await Promise.all([refreshFootprint(null), loadItems(), showLog(true)]);
}

// ---------------------------------------------------------------- pull

function progressRow(service, totalItems) {
  const rowEl = element("div", undefined, "progress-row");
  rowEl.dataset.service = service;
  const label = element("label", service);
  label.htmlFor = `pull-${service}`;
  const bar = element("progress");
  bar.id = `pull-${service}`;
  bar.max = Math.max(totalItems, 1);
  bar.value = 0;
  const text = element("span", "waiting");
  rowEl.append(label, bar, text);
  $("pull-progress").append(rowEl);
  return { rowEl, bar, text, total: totalItems };
}

const PHASES = { fetch: "fetching", merge: "verifying and saving", done: "done", error: "failed" };

async function pull(event) {
  event.preventDefault();
  clearError("pull-error");
  $("pull-report").hidden = true;
  $("pull-progress").replaceChildren();
  let url;
  try {
    url = manifestUrl($("source-url").value);
  } catch (error) {
    showError("pull-error", error);
    return;
  }
  const controller = new AbortController();
  state.pullController = controller;
  $("pull-start").disabled = true;
  $("pull-cancel").disabled = false;
  const rows = new Map();
  try {
    $("pull-message").textContent = "Logging in to the node with your DID…";
    say("Pulling…");
    // The node's counts size the progress bars; without them (a count that fails) the pull goes on,
    // and each service's bar appears with its first progress.
    let counted = true;
    try {
      const remote = await state.vault.remoteCount(url);
      state.remote = { url, counts: remote };
      for (const [service, { counts }] of Object.entries(remote)) rows.set(service, progressRow(service, total(counts)));
    } catch (error) {
      if (error?.code === "ABORTED" || controller.signal.aborted) throw error;
      counted = false;
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    $("pull-message").textContent = counted
      ? "Fetching, verifying and saving your data…"
      : "Fetching, verifying and saving your data (the node did not say how much it holds, so the bars grow as items arrive)…";
    const report = await state.vault.pull(url, {
      signal: controller.signal,
      onProgress: ({ service, phase, items, bytes: received, done }) => {
        if (controller.signal.aborted) return; // cancelled (or locked): the rows stay as they are
        const r = rows.get(service) ?? rows.set(service, progressRow(service, items)).get(service);
        r.bar.max = Math.max(r.total, items, 1);
        r.bar.value = phase === "done" ? r.bar.max : items;
        Object.assign(r, { items, received, done });
        r.rowEl.classList.toggle("failed", phase === "error");
        r.text.textContent = `${PHASES[phase] ?? phase}: ${fmt(items)} items, ${bytes(received)}`;
        if (done && phase !== "error") r.text.textContent = `done: ${fmt(items)} items, ${bytes(received)}`;
      },
    });
    // Locked just as it finished: the cleared page stays so.
    if (state.vault.locked) return;
    showPullReport(report);
  } catch (error) {
    // Locked meanwhile (which cancels the pull): the cleared page stays so.
    if (state.vault.locked) return;
    if (error?.code === "ABORTED" || controller.signal.aborted) {
      for (const r of rows.values()) {
        if (r.done && !r.rowEl.classList.contains("failed")) continue;
        r.rowEl.classList.remove("failed");
        r.text.textContent = `cancelled: ${fmt(r.items ?? 0)} items, ${bytes(r.received ?? 0)}`;
      }
      $("pull-message").textContent = "Pull cancelled. What had arrived is kept; Pull again continues where it stopped.";
      say("Pull cancelled.");
    } else {
      for (const r of rows.values()) {
        if (r.done) continue;
        r.text.textContent = `not finished: ${fmt(r.items ?? 0)} items, ${bytes(r.received ?? 0)}`;
      }
      $("pull-message").textContent = "";
      showError("pull-error", error);
      say("The pull did not work; see the message in red.");
    }
  } finally {
    state.pullController = null;
    $("pull-start").disabled = false;
    $("pull-cancel").disabled = true;
  }
  state.sections = null;
  // Locked meanwhile (which cancels the pull): the views stay cleared.
  if (state.vault.locked) return;
  await Promise.all([refreshFootprint(url), loadItems(), showLog(true)]);
}

function showPullReport(report) {
  const body = $("pull-report").tBodies[0];
  body.replaceChildren();
  const failed = [];
  for (const s of report.services) {
    const result = s.error
      ? `failed — ${meaning(s.error.code)} (${s.error.code}: ${s.error.message})`
      : "✓ verified and saved";
    if (s.error) failed.push(s.service);
    const tr = row([s.service, fmt(s.added), fmt(s.updated), fmt(s.deleted), fmt(s.unchanged), fmt(s.pages), result]);
    if (s.error) tr.className = "bad";
    body.append(tr);
  }
  $("pull-report").hidden = false;
  const added = report.services.reduce((n, s) => n + s.added, 0);
  const updated = report.services.reduce((n, s) => n + s.updated, 0);
  const deleted = report.services.reduce((n, s) => n + s.deleted, 0);
  $("pull-message").textContent = `Pulled from node “${report.node}”: ${fmt(added)} added, ${fmt(updated)} updated, ${fmt(deleted)} deleted. Every page was checked against the node's key.`;
  if (failed.length) {
    showError("pull-error", `${failed.length === 1 ? "One service" : `${failed.length} services`} failed: ${failed.join(", ")}. The others were saved. The table says why; pull again to retry them.`);
    say("Pull finished with errors.");
  } else {
    say("Pull finished.");
  }
}

// ---------------------------------------------------------------- footprint

/** Local counts beside the node's; `url` asks the node again, null reuses the last answer. */
async function refreshFootprint(url) {
  await step("footprint-error", async () => {
    const local = await state.vault.count();
    let remoteError = null;
    if (url) {
      try {
        state.remote = { url, counts: await state.vault.remoteCount(url) };
      } catch (error) {
        remoteError = error;
      }
    }
    drawFootprint(local, state.remote);
    if (remoteError) throw new Plain(`Could not get the node's counts. ${explain(remoteError)}`);
  });
}

function drawFootprint(local, remote) {
  const remoteCounts = remote ? bySection(remote.counts) : {};
  const keys = new Map();
  for (const source of [local, remoteCounts]) {
    for (const [section, counts] of Object.entries(source)) {
      for (const collection of Object.keys(counts)) keys.set(`${section}/${collection}`, [section, collection]);
    }
  }
  const rows = [...keys.values()].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
  const body = $("footprint-table").tBodies[0];
  body.replaceChildren();
  const chart = $("footprint-chart").querySelector(".chart");
  chart.replaceChildren();
  let localTotal = 0;
  let remoteTotal = 0;
  const max = Math.max(1, ...rows.flatMap(([s, c]) => [local[s]?.[c] ?? 0, remoteCounts[s]?.[c] ?? 0]));
  for (const [section, collection] of rows) {
    const l = local[section]?.[collection] ?? 0;
    const r = remote ? remoteCounts[section]?.[collection] ?? 0 : null;
    localTotal += l;
    remoteTotal += r ?? 0;
    const same = r === null ? "—" : l === r ? "✓ same" : "≠ differs";
    const tr = row([section, collection, fmt(l), r === null ? "—" : fmt(r), same]);
    tr.dataset.key = `${section}/${collection}`;
    body.append(tr);

    const bars = element("div", undefined, "bars");
    bars.append(element("span", `${section} / ${collection}`, "bar-label"));
    for (const [kind, n] of [["local", l], ["remote", r]]) {
      if (n === null) continue;
      const bar = element("span", undefined, `bar ${kind}`);
      bar.style.width = `${(n / max) * 85}%`; // the rest of the line holds the number
      const line = element("span", undefined, "bar-line");
      line.append(bar, element("span", fmt(n), "bar-value"));
      bars.append(line);
    }
    chart.append(bars);
  }
  $("footprint-table").hidden = rows.length === 0;
  $("footprint-chart").hidden = rows.length === 0;
  $("footprint-summary").textContent = remote
    ? `Your vault holds ${fmt(localTotal)} items; the node at ${new URL(remote.url).origin} holds ${fmt(remoteTotal)} about you.`
    : `Your vault holds ${fmt(localTotal)} items. Pull (or Refresh) to compare with the node.`;
}

// ---------------------------------------------------------------- browse

async function loadItems() {
  await step("browse-error", async () => {
    $("browse-summary").textContent = "Loading your items…";
    const bundle = await state.vault.bundle();
    state.sections = bundle.sections;
    state.browse.texts = new Map();
    const select = $("browse-collection");
    const previous = select.value;
    select.replaceChildren();
    for (const [section, collections] of Object.entries(state.sections)) {
      for (const [collection, items] of Object.entries(collections)) {
        const option = element("option", `${section} / ${collection} (${fmt(items.length)})`);
        option.value = `${section}/${collection}`;
        select.append(option);
      }
    }
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
    state.browse.page = 0;
    showItems();
  });
}

function showItems() {
  const key = $("browse-collection").value;
  if (!state.sections || !key) {
    $("browse-table").hidden = true;
    $("browse-summary").textContent = state.sections ? "Your vault holds no items yet. Pull your data first." : "";
    $("browse-prev").disabled = $("browse-next").disabled = true;
    $("browse-page").textContent = "";
    return;
  }
  const [section, collection] = key.split("/");
  const all = state.sections[section]?.[collection] ?? [];
  const query = $("browse-search").value.trim().toLowerCase();
  let items = all;
  if (query) {
    items = all.filter((item) => {
      let text = state.browse.texts.get(item);
      if (text === undefined) {
        text = `${item.id} ${JSON.stringify(item.data)}`.toLowerCase();
        state.browse.texts.set(item, text);
      }
      return text.includes(query);
    });
  }
  const pages = Math.max(1, Math.ceil(items.length / PAGE_ITEMS));
  const page = Math.min(state.browse.page, pages - 1);
  state.browse.page = page;
  const shown = items.slice(page * PAGE_ITEMS, (page + 1) * PAGE_ITEMS);
  const body = $("browse-table").tBodies[0];
  body.replaceChildren();
  for (const item of shown) {
    const details = element("details");
    const json = JSON.stringify(item.data);
    details.append(element("summary", json.length > 100 ? `${json.slice(0, 100)}…` : json), element("pre", JSON.stringify(item.data, null, 2)));
    body.append(row([element("code", item.id), item.updated_at, details]));
  }
  $("browse-table").hidden = shown.length === 0;
  const where = `${section} / ${collection}`;
  $("browse-summary").textContent = query
    ? items.length
      ? `${fmt(items.length)} of ${fmt(all.length)} items in ${where} match “${query}”.`
      : `No item in ${where} matches “${query}”.`
    : `${fmt(all.length)} items in ${where}.`;
  $("browse-page").textContent = `Page ${page + 1} of ${pages}`;
  $("browse-prev").disabled = page === 0;
  $("browse-next").disabled = page >= pages - 1;
}

// ---------------------------------------------------------------- the append log

/** Shows a page of the log (`latest`: its last page), checking every link on it. */
async function showLog(latest = false) {
  if (latest) state.logPage = null;
  await step("log-error", async () => {
    const head = state.vault.logHead;
    const pages = Math.max(1, Math.ceil(head.length / PAGE_LOG));
    const page = state.logPage === null ? pages - 1 : Math.min(state.logPage, pages - 1);
    const start = page * PAGE_LOG;
    // One entry before the page, to check the page's first link; none past the head this vault object
    // knows (another tab may have committed more since, which the next operation here picks up).
    const fetched = head.length === 0 ? [] : await state.vault.log({ since: Math.max(0, start - 1), limit: Math.min(PAGE_LOG, head.length - start) + (start > 0 ? 1 : 0) });
    const entries = start > 0 ? fetched.slice(1) : fetched;
    let previous = start > 0 ? await entryHash(fetched[0]) : GENESIS;
    let broken = 0;
    const body = $("log-table").tBodies[0];
    body.replaceChildren();
    for (const entry of entries) {
      const linked = entry.prev === previous;
      if (!linked) broken += 1;
      previous = await entryHash(entry);
      const reference = entry.context ? `${entry.ref} (${entry.context})` : entry.ref;
      const tr = row([fmt(entry.seq), new Date(entry.t * 1000).toISOString().replace(".000Z", "Z"), entry.service, entry.op, element("code", reference), linked ? "✓" : "✗ broken"]);
      if (!linked) tr.className = "bad";
      body.append(tr);
    }
    const lastPage = page === pages - 1;
    const headOk = !lastPage || entries.length === 0 || previous === head.head;
    $("log-table").hidden = entries.length === 0;
    $("log-page").textContent = `Page ${page + 1} of ${pages}`;
    $("log-prev").disabled = page === 0;
    $("log-next").disabled = lastPage;
    const summary = `${fmt(head.length)} entries, head ${head.head.slice(0, 16)}…`;
    if (head.length === 0) {
      $("log-status").textContent = "The log is empty: nothing has happened in this vault yet.";
    } else if (broken === 0 && headOk) {
      $("log-status").textContent = `Chain intact on this page: every entry links to the one before${lastPage ? " and the last is the head" : ""}. ${summary}`;
      $("log-status").className = "ok";
    } else {
      $("log-status").textContent = `Chain broken on this page: ${broken} entries do not link to the one before${headOk ? "" : ", and the last is not the head"}. Your vault's history was altered; do not trust this copy. ${summary}`;
      $("log-status").className = "bad";
    }
    state.logPage = page;
  });
}

async function verifyChain() {
  await step("log-error", async () => {
    const head = state.vault.logHead;
    $("log-status").textContent = "Checking every link…";
    let previous = GENESIS;
    let count = 0;
    for (let since = 0; since < head.length; since += 1000) {
      for (const entry of await state.vault.log({ since, limit: Math.min(1000, head.length - since) })) {
        if (entry.prev !== previous || entry.seq !== count) {
          $("log-status").textContent = `Chain broken at entry ${fmt(entry.seq)}: it does not link to the one before. Your vault's history was altered; do not trust this copy.`;
          $("log-status").className = "bad";
          return;
        }
        previous = await entryHash(entry);
        count += 1;
      }
    }
    const ok = count === head.length && previous === head.head;
    $("log-status").textContent = ok
      ? `The whole chain is intact: ${fmt(count)} entries, each linked to the one before, ending at the head ${head.head.slice(0, 16)}….`
      : `The chain does not end at the vault's head (${fmt(count)} entries read, ${fmt(head.length)} expected). Do not trust this copy.`;
    $("log-status").className = ok ? "ok" : "bad";
  });
}

// ---------------------------------------------------------------- sign and download

async function signAndDownload() {
  $("sign-result").textContent = "";
  $("sign-keep").hidden = true;
  state.signed = null;
  await step("sign-error", async () => {
    $("sign-download").disabled = true;
    try {
      say("Signing your bundle…");
      // The file's bytes straight from the vault: no object tree of every item to build and write back.
      const file = await state.vault.signBytes();
      // The page cannot see whether the browser saved the file, so it becomes a backup (recordExport)
      // only once the person says they keep it.
      const name = `bundle-${didTail()}-${new Date().toISOString().slice(0, 10)}.json`;
      download(name, file);
      const items = Object.values(await state.vault.count()).flatMap((s) => Object.values(s)).reduce((n, c) => n + c, 0);
      state.signed = { file, name };
      $("sign-result").textContent = `Signed ${fmt(items)} items and downloaded ${name} (${bytes(file.length)}). Keep the file: it is your backup. Once it is saved, count it as one, and deleting from a node is allowed for what it covers. Check it any time under Verify.`;
      $("sign-keep").hidden = false;
      say("Bundle signed and downloaded. Once the file is saved, count it as your backup.");
    } finally {
      $("sign-download").disabled = false;
    }
  });
}

async function keepSigned() {
  const signed = state.signed;
  if (!signed) return;
  await step("sign-error", async () => {
    $("sign-keep").disabled = true;
    try {
      const record = await state.vault.recordExport(signed.file);
      $("sign-keep").hidden = true;
      $("sign-result").textContent = `${signed.name} is recorded as your backup (log of ${fmt(record.log.length)} entries). Keep the file: deleting from a node is allowed for what it covers.`;
      say("Recorded as your backup.");
    } finally {
      $("sign-keep").disabled = false;
    }
  });
  if (!state.vault.locked) await showLog(true);
}

// ---------------------------------------------------------------- verify (no vault needed)

async function verifyFile(file) {
  const out = $("verify-result");
  out.className = "";
  if (!file) {
    out.hidden = true;
    out.textContent = "";
    return;
  }
  // Never the previous file's verdict while this one is read.
  out.hidden = false;
  out.textContent = `Verifying ${file.name}…`;
  // The verifier reads the file's own bytes (strictly: they must be UTF-8 JSON); the parsed copy only
  // says what kind of file it is and what it holds.
  const content = new Uint8Array(await file.arrayBuffer());
  let doc;
  try {
    doc = JSON.parse(new TextDecoder().decode(content));
  } catch (error) {
    out.className = "bad";
    out.textContent = `✗ ${file.name} is not verified: it is not JSON (${error.message}). Choose a bundle file.`;
    return;
  }
  const isBundle = doc !== null && typeof doc === "object" && "sections" in doc && "log" in doc;
  const result = isBundle ? verifyBundle(content) : verifyDocument(content);
  if (!result.verified) {
    out.className = "bad";
    out.textContent = `✗ ${file.name} is not verified. ${meaning(result.code)} (${result.code}: ${result.message})`;
    return;
  }
  out.className = "ok";
  if (isBundle) {
    const collections = Object.values(doc.sections).flatMap((s) => Object.values(s));
    const items = collections.reduce((n, list) => n + list.length, 0);
    out.textContent = `✓ ${file.name} is verified: a bundle of ${result.did}, signed by its own key, unchanged since. ` +
      `${many(items, "item")} in ${many(collections.length, "collection")}, exported ${doc.exported_at}, log of ${many(doc.log.length, "entry", "entries")}.`;
  } else {
    out.textContent = `✓ ${file.name} is verified: signed by ${result.did}, unchanged since.`;
  }
  say("Verification done.");
}

// ---------------------------------------------------------------- push

const PUSH_PHASES = { sign: "signing your bundle", upload: "uploading", commit: "the node is importing", verify: "checking the receipt", done: "done" };

async function push(event) {
  event.preventDefault();
  clearError("push-error");
  $("push-result").hidden = true;
  let url;
  try {
    url = manifestUrl($("target-url").value);
  } catch (error) {
    showError("push-error", error);
    return;
  }
  const controller = new AbortController();
  state.pushController = controller;
  $("push-start").disabled = true;
  $("push-cancel").disabled = false;
  $("push-progress-row").hidden = false;
  const bar = $("push-progress");
  bar.removeAttribute("value"); // indeterminate while signing
  $("push-progress-text").textContent = "signing your bundle";
  say("Pushing…");
  try {
    const report = await state.vault.push(url, {
      signal: controller.signal,
      onProgress: ({ phase, bytes: sent, total: size }) => {
        if (controller.signal.aborted) return;
        if (size > 0) {
          bar.max = size;
          bar.value = sent;
        }
        $("push-progress-text").textContent = size > 0
          ? `${PUSH_PHASES[phase] ?? phase}: ${bytes(sent)} of ${bytes(size)}`
          : PUSH_PHASES[phase] ?? phase;
      },
    });
    if (state.vault.locked) return;
    bar.max = 1;
    bar.value = 1;
    $("push-progress-text").textContent = `done: ${bytes(report.size)}`;
    showPushReport(report);
    say(report.continuity.mismatches.every((m) => m.actual >= m.expected) ? "Pushed, and the target holds all of it." : "Pushed, but the target holds less than you pushed.");
  } catch (error) {
    if (state.vault.locked) return;
    if (error?.code === "ABORTED" || controller.signal.aborted) {
      $("push-progress-text").textContent = "cancelled";
      showError("push-error", "Push cancelled. Push again to resume from the last piece the node acknowledged.");
      say("Push cancelled.");
    } else {
      // The bar shows where it stopped, not an upload still going.
      if (!bar.hasAttribute("value")) bar.value = 0;
      $("push-progress-text").textContent = `failed — ${$("push-progress-text").textContent}`;
      showError("push-error", error);
      say("The push did not work; see the message in red.");
    }
  } finally {
    state.pushController = null;
    $("push-start").disabled = false;
    $("push-cancel").disabled = true;
  }
  if (!state.vault.locked) await showLog(true);
}

function showPushReport(report) {
  const counts = report.counts;
  const items = Object.values(counts).reduce((n, c) => n + total(c), 0);
  const collections = Object.values(counts).reduce((n, c) => n + Object.keys(c).length, 0);
  const continuity = $("continuity");
  if (report.continuity.ok) {
    continuity.textContent = `✓ Continuity: node “${report.node}” holds exactly what you pushed — ${fmt(items)} items in ${fmt(collections)} collections.`;
    continuity.className = "ok";
  } else {
    const mismatches = report.continuity.mismatches;
    const diffs = mismatches.map((m) => `${m.section} / ${m.collection}: ${fmt(m.expected)} pushed, ${fmt(m.actual)} on the node`);
    if (mismatches.every((m) => m.actual >= m.expected)) {
      // Other data of this identity was already there: the push is whole, and counts as a backup.
      continuity.textContent = `✓ Continuity: node “${report.node}” holds all you pushed, and more of yours that was there already (${diffs.join("; ")}).`;
      continuity.className = "ok";
    } else {
      continuity.textContent = `✗ Continuity broken: the node holds less than your bundle (${diffs.join("; ")}). This push does not count as a backup. Push again; if it stays so, the target node is faulty — do not delete from the source.`;
      continuity.className = "bad";
    }
  }
  const receipt = report.receipt;
  const dl = $("receipt");
  dl.replaceChildren();
  const entries = [
    ["Receipt", "Signed by the target node's key; your vault checked the signature, the DID, the bundle's hash and its counts, and recorded it in your log."],
    ["Node", `${receipt.node} (${report.nodeDid})`],
    ["Received", receipt.received_at],
    ["Bundle hash (SHA-256)", receipt.bundle_hash],
    ["Size", report.repeated
      ? `${bytes(report.size)} — the node already had this exact bundle; nothing was uploaded again.`
      : `${bytes(report.size)}, ${bytes(report.uploaded)} uploaded now${report.resumedFrom ? `, resumed after ${bytes(report.resumedFrom)}` : ""}.`],
  ];
  for (const [term, value] of entries) {
    dl.append(element("dt", term));
    const dd = element("dd");
    dd.append(term.startsWith("Bundle hash") ? element("code", value) : value);
    dl.append(dd);
  }
  $("push-result").hidden = false;
}

// ---------------------------------------------------------------- delete from the source

async function reviewDelete() {
  $("delete-confirm").hidden = true;
  $("delete-report").hidden = true;
  $("delete-message").textContent = "";
  await step("delete-error", async () => {
    const url = manifestUrl($("source-url").value);
    say("Asking the source node what it holds about you…");
    const footprint = await state.vault.remoteCount(url);
    const list = Object.values(footprint).flatMap(({ counts }) => Object.entries(counts)).filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const sum = list.reduce((n, [, c]) => n + c, 0);
    state.deleteUrl = url;
    const origin = new URL(url).origin;
    if (sum === 0) {
      $("delete-message").textContent = `The node at ${origin} holds nothing about you: there is nothing to delete.`;
      say("Nothing to delete.");
      return;
    }
    $("delete-summary").textContent = `On the node at ${origin} you have ${list.map(([c, n]) => `${fmt(n)} ${c}`).join(", ")} — ${fmt(sum)} items in all. ` +
      "Deleting asks the node to remove all of them; each service answers with a receipt signed by the node.";
    $("delete-understand").checked = false;
    $("delete-start").disabled = true;
    $("delete-confirm").hidden = false;
    $("delete-understand").focus();
    say("Review what would be deleted, then confirm.");
  });
}

async function deleteFromSource() {
  $("delete-report").hidden = true;
  await step("delete-error", async () => {
    if (!$("delete-understand").checked) throw new Plain("Tick the box to confirm first.");
    $("delete-start").disabled = true;
    say("Deleting from the source node…");
    let report;
    try {
      report = await state.vault.deleteRemote(state.deleteUrl);
    } catch (error) {
      $("delete-understand").checked = false; // a retry needs a new confirmation
      $("delete-start").disabled = true;
      if (state.vault.locked) return; // locked meanwhile: the cleared page stays so
      throw error;
    }
    // Locked while the node deleted: the receipts are in the log; the cleared page stays so.
    if (state.vault.locked) return;
    $("delete-confirm").hidden = true;
    const body = $("delete-report").tBodies[0];
    body.replaceChildren();
    let deleted = 0;
    const failed = [];
    for (const s of report.services) {
      const n = s.deleted ? total(s.deleted) : 0;
      deleted += n;
      const what = s.deleted ? Object.entries(s.deleted).map(([c, k]) => `${fmt(k)} ${c}`).join(", ") : "—";
      let result = "✓ deleted";
      if (s.status === "skipped") result = "✓ deleted earlier (receipt in your log)";
      if (s.status === "failed") {
        result = `failed — ${meaning(s.error?.code)} (${s.error?.code}: ${s.error?.message})`;
        failed.push(s.service);
      }
      const receipt = s.receipt ? `verified, ${s.receipt.deleted_at}, request ${s.receipt.request_hash.slice(0, 12)}…` : "—";
      const tr = row([s.service, result, what, receipt]);
      if (s.status === "failed") tr.className = "bad";
      body.append(tr);
    }
    $("delete-report").hidden = false;
    const backup = report.backup?.kind === "transfer"
      ? `your transfer to “${report.backup.node}”, which your vault asked first: it still holds all of it`
      : "the bundle you exported and keep";
    $("delete-message").textContent = `The node “${report.node}” deleted ${fmt(deleted)} items and signed a receipt for each service; your vault verified them and recorded them in its log. Your vault still holds its copy, and the backup this relied on is ${backup}.`;
    if (failed.length) showError("delete-error", `Not deleted yet: ${failed.join(", ")}. Press “Review what would be deleted” and delete again to retry them.`);
    say(failed.length ? "Deletion finished with errors." : "Deleted from the source node.");
  });
  if (!state.vault.locked) await Promise.all([refreshFootprint(state.deleteUrl), showLog(true)]);
}

// ---------------------------------------------------------------- wiring

function updateStrength() {
  const [level, text] = strength($("create-pass").value);
  $("strength").value = level;
  $("strength-text").textContent = text;
}

function wire() {
  $("problem-close").addEventListener("click", () => ($("problem").hidden = true));
  $("create-form").addEventListener("submit", create);
  $("create-pass").addEventListener("input", updateStrength);
  $("unlock-form").addEventListener("submit", unlock);
  $("restore-form").addEventListener("submit", restore);
  $("lock").addEventListener("click", lock);
  $("backup-download").addEventListener("click", downloadBackup);
  $("backup-dismiss").addEventListener("click", () => {
    $("backup-prompt").hidden = true;
    state.keyBackup = null;
  });
  $("export-form").addEventListener("submit", exportKey);
  $("sign-keep").addEventListener("click", keepSigned);
  $("pull-form").addEventListener("submit", pull);
  $("pull-cancel").addEventListener("click", () => state.pullController?.abort());
  $("footprint-refresh").addEventListener("click", () => {
    let url = null;
    try {
      url = manifestUrl($("source-url").value);
    } catch (error) {
      showError("footprint-error", error);
      return;
    }
    refreshFootprint(url);
  });
  $("browse-collection").addEventListener("change", () => {
    state.browse.page = 0;
    showItems();
  });
  $("browse-search").addEventListener("input", () => {
    state.browse.page = 0;
    showItems();
  });
  $("browse-prev").addEventListener("click", () => {
    state.browse.page -= 1;
    showItems();
  });
  $("browse-next").addEventListener("click", () => {
    state.browse.page += 1;
    showItems();
  });
  $("log-prev").addEventListener("click", () => {
    state.logPage -= 1;
    showLog();
  });
  $("log-next").addEventListener("click", () => {
    state.logPage += 1;
    showLog();
  });
  $("log-verify").addEventListener("click", verifyChain);
  $("sign-download").addEventListener("click", signAndDownload);
  $("verify-file").addEventListener("change", (e) => verifyFile(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    verifyFile(e.dataTransfer.files[0]);
  });
  // A file dropped elsewhere on the page must not make the browser navigate away from the vault.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  $("push-form").addEventListener("submit", push);
  $("push-cancel").addEventListener("click", () => state.pushController?.abort());
  $("delete-review").addEventListener("click", reviewDelete);
  $("delete-understand").addEventListener("change", (e) => ($("delete-start").disabled = !e.target.checked));
  $("delete-start").addEventListener("click", deleteFromSource);
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText($(button.dataset.copy).textContent);
        say(`Copied ${$(button.dataset.copy).textContent}`);
      } catch {
        say("The browser refused clipboard access; select the text and copy it by hand.");
      }
    });
  }
  // Nothing fails silently: whatever escapes a step is shown.
  window.addEventListener("unhandledrejection", (e) => problem(explain(e.reason)));
  window.addEventListener("error", (e) => problem(explain(e.error ?? e.message)));
}

async function main() {
  try {
    await init();
  } catch (error) {
    say("");
    problem(`The app's WebAssembly module failed to load (${error.message}). Reload the page; if it persists, use a current browser.`);
    return;
  }
  $("version").textContent = `bundle-vault ${version()}`;
  wire();
  await prefillNodes();
  try {
    state.vault = await Vault.open();
  } catch (error) {
    say("");
    problem(`Your vault in this browser could not be opened. ${explain(error)}`);
    return;
  }
  render();
  if (state.vault.hasKey) {
    say("Your vault is locked. Enter your passphrase to unlock it.");
    $("unlock-pass").focus();
  } else {
    say("Ready. Create a vault to begin, or restore a key you have. Verifying a bundle needs no vault.");
  }
}

main();
