/** A stable error code carried by every `VaultError`. */
export type VaultErrorCode =
  | "INVALID_JSON"
  | "UNSAFE_NUMBER"
  | "TOO_DEEP"
  | "TOO_LARGE"
  | "INVALID_DID"
  | "INVALID_KEY"
  | "INVALID_ARGUMENT"
  | "PROOF_MALFORMED"
  | "UNSUPPORTED_METHOD"
  | "SIGNATURE_INVALID"
  | "DID_MISMATCH"
  | "DID_UNVERIFIABLE"
  | "BUNDLE_MALFORMED"
  | "RANDOMNESS"
  | "BAD_PASSPHRASE"
  | "KEY_BACKUP_MALFORMED"
  | "LOG_BROKEN"
  | "EXPORT_MALFORMED"
  | "LOCKED"
  | "NO_KEY"
  | "KEY_EXISTS"
  | "STORAGE"
  | "QUOTA_EXCEEDED"
  | "NETWORK"
  | "HTTP_STATUS"
  | "AUTH_FAILED"
  | "ABORTED";

/** Every error this package throws: a real `Error` with `name === "VaultError"` and a stable `code`. */
export interface VaultError extends Error {
  readonly name: "VaultError";
  readonly code: VaultErrorCode;
}

/** The DID forms: `did:imajin:<base58btc key>` or `did:key:z6Mk…`. */
export type DidMethod = "imajin" | "key";

/** Options of `Keypair.signDocument`. */
export interface SignOptions {
  /** The proof's `created` time (XML Schema dateTime); defaults to now, in whole seconds. */
  created?: string;
}

/** A W3C Data Integrity proof with the `eddsa-jcs-2022` cryptosuite. */
export interface DataIntegrityProof {
  type: "DataIntegrityProof";
  cryptosuite: "eddsa-jcs-2022";
  created?: string;
  verificationMethod: string;
  proofPurpose: "assertionMethod";
  proofValue: string;
  "@context"?: unknown;
}

/** A JSON object with a Data Integrity proof. */
export type SignedDocument = { [member: string]: unknown; proof: DataIntegrityProof };

/** The outcome of `verifyDocument` or `verifyBundle`. */
export interface VerifyResult {
  verified: boolean;
  /** The signer (`did:key`) for a document; the bundle's owner DID for a bundle. */
  did?: string;
  verificationMethod?: string;
  /** Why it did not verify. */
  code?: VaultErrorCode;
  message?: string;
}

/** Live items per section and collection: `{chat: {messages: 312}, media: {assets: 47}}`. */
export type Counts = { [section: string]: { [collection: string]: number } };

/** An item in a bundle collection. */
export interface BundleItem {
  id: string;
  /** `YYYY-MM-DDTHH:MM:SS.sssZ`, UTC. */
  updated_at: string;
  data: unknown;
}

/** The append log's length and the hash of its last entry (64 zeros when empty). */
export interface LogHead {
  length: number;
  head: string;
}

/** An unsigned bundle (`proof` present once signed). */
export interface Bundle {
  did: string;
  exported_at: string;
  node: string;
  sections: { [section: string]: { [collection: string]: BundleItem[] } };
  log: LogHead;
  proof?: DataIntegrityProof;
}

/** One entry of the append log. */
export interface LogEntry {
  seq: number;
  /** Unix seconds. */
  t: number;
  service: string;
  /** e.g. `messages.add`, `assets.update`, `tickets.delete`. */
  op: string;
  ref: string;
  context?: string;
  item_hash: string;
  prev: string;
}

/** Options of `Vault.log`. */
export interface LogOptions {
  /** First sequence number to return (default 0). */
  since?: number;
  /** Most entries to return (default 1000). */
  limit?: number;
}

/** A progress event of `Vault.pull`. */
export interface PullProgress {
  service: string;
  phase: "auth" | "fetch" | "merge" | "done" | "error";
  /** Items received from this service so far. */
  items: number;
  /** Bytes received from this service so far. */
  bytes: number;
  /** Whether this service is finished. */
  done: boolean;
}

/** Options of `Vault.pull`. */
export interface PullOptions {
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /** Only these services (default: all the manifest lists). */
  services?: string[];
}

/** What a pull did for one service. */
export interface ServicePullReport {
  service: string;
  section: string;
  added: number;
  updated: number;
  deleted: number;
  unchanged: number;
  pages: number;
  bytes: number;
  error?: { code: VaultErrorCode; message: string };
}

/** What `Vault.pull` did. */
export interface PullReport {
  node: string;
  nodeDid: string;
  services: ServicePullReport[];
  /** The log after the pull. */
  log: LogHead;
}

/** Remote counts per service: `{service: {section, counts: {collection: n}}}`. */
export type RemoteCounts = { [service: string]: { section: string; counts: { [collection: string]: number } } };
