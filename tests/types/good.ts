// Every public export of the package, used as a web app uses it. `tsc --strict` must accept this file,
// and each annotation below pins the type the package declares: a declaration that degraded to `any`
// or lost a member fails here or in bad.ts.
import init, {
  canonicalize,
  didFromPublicKey,
  isVaultError,
  Keypair,
  publicKeyFromDid,
  Vault,
  verifyBundle,
  verifyDocument,
  version,
} from "bundle-vault";
import type {
  Bundle,
  BundleItem,
  Counts,
  DataIntegrityProof,
  DeleteBackup,
  DeleteRemoteOptions,
  DeleteReport,
  DeletionReceipt,
  DidMethod,
  ExportRecordReport,
  ImportReport,
  InitInput,
  InitOutput,
  LogEntry,
  LogHead,
  LogOptions,
  PullOptions,
  PullProgress,
  PullReport,
  PushOptions,
  PushProgress,
  PushReport,
  RemoteCounts,
  ServiceDeleteReport,
  ServicePullReport,
  SignedBundle,
  SignedDocument,
  SignOptions,
  TransferReceipt,
  VaultError,
  VaultErrorCode,
  VerifyResult,
} from "bundle-vault";

/** Compiles only when `A` and `B` are the same type (and neither is `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}
declare function use(...values: unknown[]): void;

export async function everything(source: string, target: string, controller: AbortController): Promise<void> {
  // init: no argument (the .wasm file next to the JS), a URL, a Response, bytes or a module.
  const output: InitOutput = await init();
  await init({ module_or_path: new URL("https://example.org/bundle_vault_bg.wasm") });
  await init({ module_or_path: fetch("/bundle_vault_bg.wasm") });
  const input: InitInput = new Uint8Array(8);
  use(output.memory, input);

  const v: string = version();
  const canonical: string = canonicalize('{"b":1,"a":2}');
  const method: DidMethod = "key";
  const did: string = didFromPublicKey(new Uint8Array(32), method);
  const raw: Uint8Array = publicKeyFromDid(did);
  use(v, canonical, raw);

  // Keypair
  const key: Keypair = Keypair.generate();
  const seeded = Keypair.fromSeed(new Uint8Array(32));
  const publicKey: Uint8Array = key.publicKey;
  const ids: string[] = [key.did, key.didKey, key.verificationMethod];
  const options: SignOptions = { created: "2026-03-09T16:45:00Z" };
  const signed: SignedDocument = key.signDocument({ hello: "world" }, options);
  const unsignedDefault: SignedDocument = seeded.signDocument({ n: 1 });
  const proof: DataIntegrityProof = signed.proof;
  assertType<Equal<typeof proof.cryptosuite, "eddsa-jcs-2022">>();
  assertType<Equal<typeof proof.proofPurpose, "assertionMethod">>();
  const member: unknown = signed.hello;
  key.free();
  seeded[Symbol.dispose]?.();
  use(publicKey, ids, unsignedDefault, member);

  // Verification never throws; its code is a VaultErrorCode.
  const result: VerifyResult = verifyDocument(signed);
  const bundleResult: VerifyResult = verifyBundle(JSON.parse("{}"));
  const code: VaultErrorCode | undefined = result.code;
  const verified: boolean = bundleResult.verified;
  const signer: string | undefined = result.did ?? result.verificationMethod ?? result.message;
  use(code, verified, signer);

  // Errors
  try {
    canonicalize("{");
  } catch (error) {
    if (isVaultError(error)) {
      const e: VaultError = error;
      const c: VaultErrorCode = e.code;
      const name: "VaultError" = e.name;
      const err: Error = e;
      assertType<Equal<typeof c, VaultErrorCode>>();
      switch (c) {
        case "LOCKED":
        case "BAD_PASSPHRASE":
        case "NOT_BACKED_UP":
          break;
        default:
          use(c);
      }
      use(name, err);
    }
  }

  // Vault lifecycle
  const vault: Vault = await Vault.open();
  const named: Vault = await Vault.open("my-app");
  const state: [string, string | undefined, boolean, boolean, boolean | undefined] = [
    vault.name,
    vault.did,
    vault.hasKey,
    vault.locked,
    vault.persisted,
  ];
  const createdDid: string = await vault.createKey("correct horse battery");
  await vault.unlock("correct horse battery");
  vault.lock();
  const backup: string = await vault.exportKey("correct horse battery");
  const importedDid: string = await named.importKey(backup, "correct horse battery");
  use(state, createdDid, importedDid);

  // Pull
  const pullOptions: PullOptions = {
    onProgress: (p: PullProgress) => {
      const phase: "fetch" | "merge" | "done" | "error" = p.phase;
      use(phase, p.service, p.items, p.bytes, p.done);
    },
    signal: controller.signal,
    services: ["chat"],
    timeoutMs: 30_000,
  };
  const pulled: PullReport = await vault.pull(source, pullOptions);
  await vault.pull(source);
  const first: ServicePullReport | undefined = pulled.services[0];
  const pullError: VaultErrorCode | undefined = first?.error?.code;
  const logAfterPull: LogHead = pulled.log;
  use(pulled.node, pulled.nodeDid, first?.added, first?.unchanged, pullError, logAfterPull.head);

  // Counts, bundle, log
  const remote: RemoteCounts = await vault.remoteCount(source);
  const chatMessages: number | undefined = remote["chat"]?.counts["messages"];
  const counts: Counts = await vault.count();
  const bundle: Bundle = await vault.bundle();
  const items: BundleItem[] | undefined = bundle.sections["chat"]?.["messages"];
  const entries: LogEntry[] = await vault.log({ since: 0, limit: 10 } satisfies LogOptions);
  await vault.log();
  const entry: LogEntry | undefined = entries[0];
  const head: LogHead = vault.logHead;
  use(chatMessages, counts, items?.[0]?.updated_at, entry?.seq, entry?.item_hash, entry?.context, head.length);

  // Sign, push, restore
  const signedBundle: SignedBundle = await vault.sign();
  const bundleProof: DataIntegrityProof = signedBundle.proof;
  const pushOptions: PushOptions = {
    onProgress: ({ phase, sessionId, bytes, total }: PushProgress) => use(phase, sessionId, bytes, total),
    signal: controller.signal,
    timeoutMs: 60_000,
  };
  const pushed: PushReport = await vault.push(target, pushOptions);
  const receipt: TransferReceipt = pushed.receipt;
  const receiptType: "TransferReceipt" = receipt.type;
  const ok: boolean = pushed.continuity.ok;
  const mismatch = pushed.continuity.mismatches[0];
  use(bundleProof, receipt.bundle_hash, receiptType, ok, mismatch?.expected, pushed.repeated, pushed.resumedFrom);
  const imported: ImportReport = await named.importBundle(signedBundle);
  use(imported.sections[0]?.added, imported.log);

  // The signed bundle, kept as a file, is a backup
  const recorded: ExportRecordReport = await vault.recordExport(signedBundle);
  // or as the file's bytes, which every reader of a bundle takes as they are
  const file: Uint8Array = await vault.signBytes();
  const fromFile: ExportRecordReport = await vault.recordExport(file);
  const fromText: ImportReport = await named.importBundle(new TextDecoder().decode(file));
  const fromBuffer: VerifyResult = verifyBundle(file.buffer);
  use(fromFile, fromText, fromBuffer, verifyDocument(file));
  const covers: boolean = recorded.coversLatest;
  const recordedLog: LogHead = recorded.log;
  use(recorded.bundleHash, recorded.exportedAt, recorded.repeated, covers, recordedLog);

  // Delete on the source once backed up
  const deleteOptions: DeleteRemoteOptions = { services: ["chat"], signal: controller.signal, timeoutMs: 5000 };
  const deleted: DeleteReport = await vault.deleteRemote(source, deleteOptions);
  const service: ServiceDeleteReport | undefined = deleted.services[0];
  const status: "deleted" | "skipped" | "failed" | undefined = service?.status;
  const deletionReceipt: DeletionReceipt | undefined = service?.receipt;
  use(deleted.footprint, status, deletionReceipt?.request_hash, deletionReceipt?.deleted);
  const relied: DeleteBackup = deleted.backup;
  const backupNode: string | undefined = relied.kind === "transfer" ? relied.manifestUrl : undefined;
  const backupLog: LogHead = relied.log;
  use(backupNode, backupLog);

  // Test helpers that are part of the surface
  const digest: string = await vault.digest();
  use(digest);

  vault.close();
  named.close();
  await Vault.destroy("my-app");
}
