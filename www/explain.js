// Errors as plain sentences: what happened, and what to do about it. Every VaultError code has one.
import { isVaultError } from "./pkg/bundle_vault.js";

const EXPLAIN = {
  INVALID_JSON: "The file or answer is not valid JSON. Check that you chose the right file; if it came from a node, the node sent something broken — try again later.",
  UNSAFE_NUMBER: "It contains a number that cannot be represented exactly everywhere (too large, or not finite). Such numbers must be written as strings.",
  TOO_DEEP: "It is nested too deeply to be handled safely.",
  TOO_LARGE: "It is larger than this vault accepts.",
  INVALID_DID: "A DID in it is malformed.",
  INVALID_KEY: "The key is not a valid Ed25519 key. Check that you chose the right key file.",
  INVALID_ARGUMENT: "A value given to the vault is outside what it accepts.",
  PROOF_MALFORMED: "Its proof is missing or malformed, or is not an eddsa-jcs-2022 Data Integrity proof.",
  UNSUPPORTED_METHOD: "Its proof names a key that cannot be looked up offline (only did:key and key-bearing did:imajin are).",
  SIGNATURE_INVALID: "The signature does not match: the content was changed after it was signed, or it was signed by another key.",
  DID_MISMATCH: "It belongs to another DID than the key that signed it, or than this vault.",
  DID_UNVERIFIABLE: "Its DID does not contain a key, so who signed it cannot be checked offline.",
  BUNDLE_MALFORMED: "It looks like a bundle but is missing parts of the bundle format.",
  RANDOMNESS: "The browser could not provide secure randomness. Use a current browser and try again.",
  BAD_PASSPHRASE: "That passphrase does not open this key. Check it (is Caps Lock on?) and try again. If you have forgotten it, restore the key from your backup.",
  KEY_BACKUP_MALFORMED: "That file is not a key backup this vault can read. Choose the encrypted backup this app gave you, or the platform's key file.",
  LOG_BROKEN: "The vault's history in this browser was altered: its log chain no longer links up. Do not trust this copy; restore from a signed bundle or pull again into a new vault.",
  EXPORT_MALFORMED: "The node answered something that is not the protocol's shape. Check the URL points at a bundle node; if it does, the node is faulty — try again later.",
  LOCKED: "The vault is locked. Unlock it with your passphrase first.",
  NO_KEY: "This vault has no key yet. Create a vault or restore a key first.",
  KEY_EXISTS: "This browser already has a vault with a key.",
  STORAGE: "The browser's storage (IndexedDB) failed, and nothing was written. Try again; if it keeps failing, make sure the page is not in a private window that blocks storage, then reload.",
  QUOTA_EXCEEDED: "The browser has run out of storage space for this site. Free some space (or allow more) and try again.",
  NETWORK: "The node could not be reached, or did not answer in time. Check the URL and your connection, and that the node is running; then try again. (This page may call only the nodes its server allows.)",
  HTTP_STATUS: "The node answered with an error.",
  AUTH_FAILED: "The node refused to log you in with your DID. Check the URL; if it is right, the node does not accept this DID.",
  ABORTED: "Cancelled.",
  NOT_BACKED_UP: "Refused: your data is not backed up yet. Push it to another node first (step 8), or sign and download your bundle and keep the file (step 6); once a backup covers everything you pulled, you can delete from the source.",
};

/** An error whose message is already a plain sentence for the person. */
export class Plain extends Error {
  constructor(message) {
    super(message);
    this.name = "Plain";
  }
}

/** A sentence for any error; a VaultError's code and message follow in brackets for reference. */
export function explain(error) {
  if (isVaultError(error)) {
    const text = EXPLAIN[error.code] ?? "The vault reported a problem.";
    return `${text} (${error.code}: ${error.message})`;
  }
  if (error instanceof Plain) return error.message;
  if (error instanceof Error) return `Something went wrong that the app did not expect: ${error.message}. Reload the page and try again.`;
  return `Something went wrong that the app did not expect: ${String(error)}. Reload the page and try again.`;
}

/** The sentence alone for a code (no technical detail), for verification results. */
export function meaning(code) {
  return EXPLAIN[code] ?? "";
}
