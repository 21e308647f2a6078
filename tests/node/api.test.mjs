// The package built with `--target nodejs` (the verifier for node operators): exported API and error shape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const vault = require("../../pkg-node/bundle_vault.js");

test("exports exactly the documented API", () => {
  const expected = [
    "Keypair",
    "Vault",
    "canonicalize",
    "didFromPublicKey",
    "isVaultError",
    "publicKeyFromDid",
    "verifyBundle",
    "verifyDocument",
    "version",
  ];
  assert.deepEqual(Object.keys(vault).sort(), expected);
  assert.match(vault.version(), /^\d+\.\d+\.\d+$/);
  for (const name of ["generate", "fromSeed"]) assert.equal(typeof vault.Keypair[name], "function");
});

test("the Vault needs a browser: in Node it is a typed STORAGE error, not a crash", async () => {
  await assert.rejects(vault.Vault.open("node-test"), (error) => {
    assert.ok(vault.isVaultError(error));
    assert.equal(error.code, "STORAGE");
    assert.match(error.message, /indexed ?db/i);
    return true;
  });
});

test("keys, DIDs and the secret that is never readable", () => {
  const key = vault.Keypair.fromSeed(new Uint8Array(32).fill(1));
  assert.equal(key.publicKey.length, 32);
  assert.ok(key.publicKey instanceof Uint8Array);
  assert.equal(vault.didFromPublicKey(key.publicKey, "imajin"), key.did);
  assert.equal(vault.didFromPublicKey(key.publicKey, "key"), key.didKey);
  assert.deepEqual(vault.publicKeyFromDid(key.did), key.publicKey);
  assert.deepEqual(vault.publicKeyFromDid(key.didKey), key.publicKey);
  // No property of the object exposes 32 or 64 secret bytes.
  const seedHex = "01".repeat(32);
  const seen = JSON.stringify(Object.getOwnPropertyNames(Object.getPrototypeOf(key)));
  assert.doesNotMatch(seen, /secret|seed|private/i);
  assert.ok(!JSON.stringify(key).includes(seedHex));
  // Fresh keys differ.
  assert.notDeepEqual(vault.Keypair.generate().publicKey, vault.Keypair.generate().publicKey);
});

test("sign and verify documents and bundles", () => {
  const key = vault.Keypair.fromSeed(new Uint8Array(32).fill(2));
  const bundle = {
    did: key.did,
    exported_at: "2026-03-09T16:45:00Z",
    node: "jin.imajin.ai",
    sections: { chat: { messages: [{ id: "msg_1", updated_at: "2026-03-09T16:45:00.000Z", data: { content: "héllo 👋", edited_at: null } }] } },
    log: { length: 0, head: "0".repeat(64) },
  };
  const signed = key.signDocument(bundle, { created: "2026-03-09T16:45:00Z" });
  assert.equal(signed.proof.created, "2026-03-09T16:45:00Z");
  assert.deepEqual(vault.verifyBundle(signed), {
    verified: true,
    did: key.did,
    verificationMethod: key.verificationMethod,
  });
  // Same key and time: Ed25519 is deterministic, and key order does not matter (JCS).
  const reordered = Object.fromEntries(Object.entries(bundle).reverse());
  assert.equal(key.signDocument(reordered, { created: "2026-03-09T16:45:00Z" }).proof.proofValue, signed.proof.proofValue);

  const tampered = structuredClone(signed);
  tampered.sections.chat.messages[0].data.content = "hello";
  const result = vault.verifyBundle(tampered);
  assert.equal(result.verified, false);
  assert.equal(result.code, "SIGNATURE_INVALID");
  assert.equal(typeof result.message, "string");

  // A bundle file as an operator reads it: its bytes (a Buffer), or its text, are verified as they are.
  const file = Buffer.from(JSON.stringify(signed, null, 2));
  const expected = { verified: true, did: key.did, verificationMethod: key.verificationMethod };
  assert.deepEqual(vault.verifyBundle(file), expected);
  assert.deepEqual(vault.verifyBundle(file.toString("utf8")), expected);
  assert.deepEqual(vault.verifyDocument(file).verified, true);
  assert.equal(vault.verifyBundle(Buffer.from(JSON.stringify(tampered))).code, "SIGNATURE_INVALID");
  assert.equal(vault.verifyBundle(Buffer.from([0x7b, 0xff, 0x7d])).code, "INVALID_JSON");
});

test("errors are VaultError instances of Error with a stable code", () => {
  const cases = [
    [() => vault.canonicalize("{"), "INVALID_JSON"],
    [() => vault.canonicalize("[9007199254740993]"), "UNSAFE_NUMBER"],
    [() => vault.canonicalize("[".repeat(100) + "]".repeat(100)), "TOO_DEEP"],
    [() => vault.publicKeyFromDid("did:example:123"), "INVALID_DID"],
    [() => vault.didFromPublicKey(new Uint8Array(3), "key"), "INVALID_KEY"],
    [() => vault.Keypair.fromSeed(new Uint8Array(31)), "INVALID_KEY"],
    [() => vault.Keypair.generate().signDocument({ x: Infinity }), "UNSAFE_NUMBER"],
    [() => vault.Keypair.generate().signDocument({ x: 2 ** 60 }), "UNSAFE_NUMBER"],
    [() => vault.Keypair.generate().signDocument({ x: 1n }), "INVALID_JSON"],
  ];
  for (const [call, code] of cases) {
    assert.throws(call, (error) => {
      assert.ok(error instanceof Error, "an Error");
      assert.equal(error.name, "VaultError");
      assert.equal(error.code, code);
      assert.ok(vault.isVaultError(error));
      return true;
    });
  }
  assert.equal(vault.isVaultError(new Error("x")), false);
  assert.equal(vault.isVaultError({ name: "VaultError", code: "X" }), false);
  assert.equal(vault.isVaultError(undefined), false);
});
