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
  | "ABORTED"
  | "NOT_BACKED_UP";

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
  /** First sequence number to return: a whole number, default 0. */
  since?: number;
  /** Most entries to return: a whole number from 1, default 1000; at most 100,000 are returned. */
  limit?: number;
}

/** A progress event of `Vault.pull`. */
export interface PullProgress {
  service: string;
  /** `fetch` while its pages arrive, `merge` while one is verified and saved, then `done` or `error`. */
  phase: "fetch" | "merge" | "done" | "error";
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
  /**
   * Aborting rejects with `ABORTED`: what was committed stays, and the next pull resumes there. It also
   * ends the wait while another tab (or `Vault` object) of this vault writes; nothing is done then.
   */
  signal?: AbortSignal;
  /** Only these services (default: all the manifest lists). */
  services?: string[];
  /**
   * How long each request may take, body included, in whole milliseconds from 1 to 600000
   * (default 30000); a request that takes longer fails with `NETWORK`.
   */
  timeoutMs?: number;
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

/** A signed bundle, as `Vault.sign` returns it: the vault's backup, and what `Vault.push` uploads. */
export type SignedBundle = Bundle & { proof: DataIntegrityProof };

/** What `Vault.importBundle` did, per section. */
export interface ImportReport {
  did: string;
  sections: { section: string; added: number; updated: number; unchanged: number }[];
  /** The log after the import. */
  log: LogHead;
}

/** What `Vault.recordExport` recorded: an exported bundle the user keeps, a backup for `deleteRemote`. */
export interface ExportRecordReport {
  /** Hex SHA-256 of the bundle's RFC 8785 bytes. */
  bundleHash: string;
  /** The bundle's `exported_at`. */
  exportedAt: string;
  /** The log prefix the bundle commits to, and so backs up. */
  log: LogHead;
  /** True when this bundle was recorded before (nothing was written). */
  repeated: boolean;
  /** Whether it backs up everything the vault holds now (no data changed after its log prefix). */
  coversLatest: boolean;
}

/** A progress event of `Vault.push`. */
export interface PushProgress {
  phase: "sign" | "upload" | "commit" | "verify" | "done";
  /** The node's transfer session (from `upload` on). */
  sessionId?: string;
  /** Bytes the node has acknowledged. */
  bytes: number;
  /** Bytes of the bundle (0 while signing). */
  total: number;
}

/** Options of `Vault.push`. */
export interface PushOptions {
  onProgress?: (progress: PushProgress) => void;
  /**
   * Aborting rejects with `ABORTED`; the next push resumes from the last acknowledged chunk. It also
   * ends the wait while another tab (or `Vault` object) of this vault writes.
   */
  signal?: AbortSignal;
  /** How long each request may take, in whole milliseconds from 1 to 600000 (default 30000). */
  timeoutMs?: number;
}

/** A transfer receipt, signed by the target node's key. */
export interface TransferReceipt {
  type: "TransferReceipt";
  did: string;
  node: string;
  /** Lowercase hex SHA-256 of the uploaded bundle bytes. */
  bundle_hash: string;
  counts: Counts;
  received_at: string;
  proof: DataIntegrityProof;
}

/** A collection whose count on the node differs from the bundle's. */
export interface CountMismatch {
  section: string;
  collection: string;
  /** The bundle's count. */
  expected: number;
  /** The node's count. */
  actual: number;
}

/** What `Vault.push` did. */
export interface PushReport {
  node: string;
  nodeDid: string;
  bundleHash: string;
  /** Bytes of the bundle. */
  size: number;
  sessionId: string;
  /** Bytes the node had already acknowledged when this push started (the size when committed). */
  resumedFrom: number;
  /** Bytes this push uploaded. */
  uploaded: number;
  /** Whether the node had committed this bundle and the vault had its receipt: nothing was done. */
  repeated: boolean;
  receipt: TransferReceipt;
  /** The bundle's counts. */
  counts: Counts;
  /** Whether the node's counts equal the bundle's, after the import. */
  continuity: { ok: boolean; mismatches: CountMismatch[] };
  /** The log after the push (its receipt entry included). */
  log: LogHead;
}

/** Options of `Vault.deleteRemote`. */
export interface DeleteRemoteOptions {
  /** Only these services (default: all the manifest lists). */
  services?: string[];
  /**
   * Aborting rejects with `ABORTED`; the receipts recorded stay, and a service whose answer was lost is
   * asked again by the next deleteRemote. It also ends the wait while another tab (or `Vault` object)
   * of this vault writes.
   */
  signal?: AbortSignal;
  /** How long each request may take, in whole milliseconds from 1 to 600000 (default 30000). */
  timeoutMs?: number;
}

/** A deletion receipt, signed by the node's key. */
export interface DeletionReceipt {
  type: "DeletionReceipt";
  did: string;
  service: string;
  node: string;
  deleted: { [collection: string]: number };
  deleted_at: string;
  /** Lowercase hex SHA-256 of the RFC 8785 bytes of the signed delete request. */
  request_hash: string;
  proof: DataIntegrityProof;
}

/** What `Vault.deleteRemote` did for one service. */
export interface ServiceDeleteReport {
  service: string;
  section: string;
  /** `skipped`: deleted before (its receipt is in the log); `failed`: see `error`, retry later. */
  status: "deleted" | "skipped" | "failed";
  deleted?: { [collection: string]: number };
  receipt?: DeletionReceipt;
  error?: { code: VaultErrorCode; message: string };
}

/** The backup a delete relied on (`DeleteReport.backup`). */
export type DeleteBackup =
  | { kind: "export"; log: LogHead }
  | { kind: "transfer"; node: string; nodeDid: string; manifestUrl: string; log: LogHead };

/** What `Vault.deleteRemote` did. */
export interface DeleteReport {
  node: string;
  nodeDid: string;
  /** The footprint on the node before the delete. */
  footprint: RemoteCounts;
  /**
   * The backup the delete relied on: a bundle the user exported and keeps (`recordExport`), or a
   * bundle transferred to another node that, asked at the time of the delete, still held at least
   * the count of its transfer receipt in every collection.
   */
  backup: DeleteBackup;
  services: ServiceDeleteReport[];
  /** The log after the delete (a receipt entry per deleted service). */
  log: LogHead;
}
