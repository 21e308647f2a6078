// Misuses of the package that must not compile. Each `@ts-expect-error` line says the next line is a
// type error: `tsc` fails if one of them compiles (an unused directive is an error), and
// types.test.mjs also checks that, with the directives removed, exactly these lines fail.
import init, {
  canonicalize,
  didFromPublicKey,
  isVaultError,
  Keypair,
  Vault,
  verifyDocument,
} from "bundle-vault";
import type { PullProgress, PullReport, SignedBundle, VaultErrorCode, Counts, LogEntry } from "bundle-vault";

declare const url: string;
declare function use(...values: unknown[]): void;

export async function misuses(): Promise<void> {
  // @ts-expect-error init resolves to the module's exports, not a number
  const exports: number = await init();
  // @ts-expect-error canonicalize takes JSON text, not an object
  canonicalize({ a: 1 });
  // @ts-expect-error the DID methods are "imajin" and "key"
  didFromPublicKey(new Uint8Array(32), "web");
  // @ts-expect-error a seed is bytes
  Keypair.fromSeed("seed");
  // @ts-expect-error a Keypair comes from generate() or fromSeed(), never a constructor
  new Keypair();

  const key = Keypair.generate();
  // @ts-expect-error the secret key is never readable
  use(key.secretKey);
  // @ts-expect-error the DID is read-only
  key.did = "did:key:z6Mk";
  // @ts-expect-error a document is an object, not text
  key.signDocument('{"a":1}');
  // @ts-expect-error `created` is a dateTime string
  key.signDocument({ a: 1 }, { created: 1_700_000_000 });

  const result = verifyDocument({});
  // @ts-expect-error `verified` is a boolean
  const text: string = result.verified;
  // @ts-expect-error `code` is one of the error codes
  if (result.code === "NOT_A_CODE") use(text);
  // @ts-expect-error not an error code
  const code: VaultErrorCode = "UNKNOWN";
  use(code);

  try {
    canonicalize("{");
  } catch (error) {
    // @ts-expect-error a caught value is unknown until isVaultError says otherwise
    use(error.code);
    if (isVaultError(error)) {
      // @ts-expect-error a VaultError's code is a string-literal union
      const n: number = error.code;
      use(n);
    }
  }

  // @ts-expect-error a vault's name is a string
  await Vault.open(42);
  // @ts-expect-error a Vault comes from Vault.open(), never a constructor
  new Vault();
  const vault = await Vault.open();
  // @ts-expect-error count() is asynchronous
  const counts: Counts = vault.count();
  // @ts-expect-error createKey needs the passphrase
  await vault.createKey();
  // @ts-expect-error pull needs the node's manifest URL
  await vault.pull();
  // @ts-expect-error services is a list
  await vault.pull(url, { services: "chat" });
  // @ts-expect-error there is no `timeout` option (it is timeoutMs)
  await vault.pull(url, { timeout: 5000 });
  // @ts-expect-error a progress event has no `percent`
  await vault.pull(url, { onProgress: (p) => use(p.percent) });

  const report: PullReport = await vault.pull(url);
  // @ts-expect-error counts are numbers
  report.services[0]?.added.toUpperCase();
  // @ts-expect-error push reports PushProgress, not PullProgress
  await vault.push(url, { onProgress: (p: PullProgress) => use(p.service) });
  // @ts-expect-error an unsigned bundle is not a SignedBundle
  const signed: SignedBundle = await vault.bundle();
  // @ts-expect-error importBundle wants a signed bundle
  await vault.importBundle(await vault.bundle());
  // @ts-expect-error recordExport wants a signed bundle
  await vault.recordExport(await vault.bundle());
  // @ts-expect-error importBundle takes bytes, not a number array
  await vault.importBundle([123, 125]);
  // @ts-expect-error signBytes resolves to bytes, not a bundle
  const notBundle: SignedBundle = await vault.signBytes();

  const pushed = await vault.push(url);
  // @ts-expect-error a push gives a transfer receipt
  if (pushed.receipt.type === "DeletionReceipt") use(pushed);
  const deleted = await vault.deleteRemote(url);
  // @ts-expect-error a service's status is deleted, skipped or failed
  if (deleted.services[0]?.status === "ok") use(deleted);
  // @ts-expect-error services are names
  await vault.deleteRemote(url, { services: [1] });

  const entries: LogEntry[] = await vault.log({ limit: 10 });
  // @ts-expect-error a log entry's seq is a number
  const seq: string = entries[0]!.seq;
  // @ts-expect-error the log head is read-only
  vault.logHead = { length: 0, head: "" };
  use(exports, counts, signed, seq);
}
