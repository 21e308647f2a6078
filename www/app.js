// The bundle-vault page: generate a key, sign a JSON document, verify a signed document or bundle.
// Everything runs in this page with the WebAssembly package; nothing is sent over the network.
import init, { Keypair, verifyDocument, verifyBundle, isVaultError, version } from "/pkg/bundle_vault.js";

const $ = (id) => document.getElementById(id);
let keypair = null;

const SAMPLE = {
  did: "did:imajin:…",
  note: "Any JSON object can be signed. Its key order and spacing do not matter: it is signed in canonical form (RFC 8785).",
  created_for: "bundle-vault",
  items: [{ id: "msg_1", content: "Hello, world 👋" }],
};

// What each error code means for a person, and what to do about it.
const EXPLAIN = {
  INVALID_JSON: "The text is not valid JSON. Check for a missing quote, comma or bracket.",
  UNSAFE_NUMBER: "It contains a number that cannot be represented exactly everywhere (too large, or not finite). Write such numbers as strings.",
  TOO_DEEP: "It is nested too deeply to be handled safely.",
  TOO_LARGE: "It is too large.",
  INVALID_DID: "A DID in it is malformed.",
  INVALID_KEY: "The key is not a valid Ed25519 key.",
  INVALID_ARGUMENT: "Only a JSON object without a proof can be signed. Remove any existing \"proof\" to sign it again.",
  PROOF_MALFORMED: "Its proof is missing or malformed, or is not an eddsa-jcs-2022 Data Integrity proof.",
  UNSUPPORTED_METHOD: "Its proof names a key that cannot be looked up offline (only did:key and key-bearing did:imajin are).",
  SIGNATURE_INVALID: "The signature does not match: the document was changed after it was signed, or signed by another key.",
  DID_MISMATCH: "The bundle belongs to one DID but was signed by another key.",
  DID_UNVERIFIABLE: "The bundle's DID does not contain a key, so who signed it cannot be checked offline.",
  BUNDLE_MALFORMED: "It looks like a bundle but is missing parts of the bundle format.",
  RANDOMNESS: "The browser could not provide secure randomness.",
};

function describe(error) {
  if (isVaultError(error)) return `${EXPLAIN[error.code] ?? error.message} (${error.code}: ${error.message})`;
  return `Unexpected error: ${error?.message ?? error}`;
}

function show(el, text, kind) {
  el.textContent = text;
  el.className = kind ?? "";
  el.hidden = false;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function generate() {
  keypair?.free();
  keypair = Keypair.generate();
  $("did").textContent = keypair.did;
  $("did-key").textContent = keypair.didKey;
  $("public-key").textContent = hex(keypair.publicKey);
  $("key-info").hidden = false;
  $("sign").disabled = false;
  const sample = { ...SAMPLE, did: keypair.did };
  if (!$("sign-input").value.trim() || $("sign-input").value.includes('"did:imajin:…"')) {
    $("sign-input").value = JSON.stringify(sample, null, 2);
  }
  $("status").textContent = "Key generated. It lives in this page only and is gone when you close it.";
}

function sign() {
  $("sign-error").hidden = true;
  let doc;
  try {
    doc = JSON.parse($("sign-input").value);
  } catch (e) {
    show($("sign-error"), `The text is not valid JSON: ${e.message}`, "error");
    return;
  }
  try {
    const signed = keypair.signDocument(doc);
    $("sign-output").value = JSON.stringify(signed, null, 2);
    $("use-signed").disabled = false;
    $("status").textContent = "Signed.";
  } catch (e) {
    show($("sign-error"), describe(e), "error");
  }
}

function verify() {
  const out = $("verify-result");
  let doc;
  try {
    doc = JSON.parse($("verify-input").value);
  } catch (e) {
    show(out, `✗ Not verified: the text is not valid JSON (${e.message}).`, "bad");
    return;
  }
  const isBundle = doc && typeof doc === "object" && "sections" in doc && "log" in doc;
  const result = isBundle ? verifyBundle(doc) : verifyDocument(doc);
  if (result.verified) {
    show(out, isBundle
      ? `✓ Verified bundle of ${result.did}, signed by its own key (${result.verificationMethod}).`
      : `✓ Verified: signed by ${result.did}.`, "ok");
  } else {
    show(out, `✗ Not verified: ${EXPLAIN[result.code] ?? ""} (${result.code}: ${result.message})`, "bad");
  }
}

async function loadFile(file) {
  if (!file) return;
  $("verify-input").value = await file.text();
  verify();
}

async function main() {
  try {
    await init();
  } catch (e) {
    $("status").textContent = `The WebAssembly module failed to load: ${e.message}. Reload the page; if it persists, use a current browser.`;
    $("status").className = "error";
    return;
  }
  $("version").textContent = `bundle-vault ${version()}`;
  $("sign-input").value = JSON.stringify(SAMPLE, null, 2);
  for (const id of ["generate", "verify"]) $(id).disabled = false;
  $("generate").addEventListener("click", generate);
  $("sign").addEventListener("click", sign);
  $("use-signed").addEventListener("click", () => {
    $("verify-input").value = $("sign-output").value;
    verify();
  });
  $("verify").addEventListener("click", verify);
  $("verify-file").addEventListener("change", (e) => loadFile(e.target.files[0]));
  const drop = $("verify-input");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    loadFile(e.dataTransfer.files[0]);
  });
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const text = $(button.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        $("status").textContent = "Copied.";
      } catch {
        $("status").textContent = "The browser refused clipboard access; select the text and copy it by hand.";
      }
    });
  }
  $("status").textContent = "Ready. Generate a key to sign, or verify a document you have.";
}

main();
