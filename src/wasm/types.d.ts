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
