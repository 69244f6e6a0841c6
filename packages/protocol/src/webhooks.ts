import { concat, fromBase64, toBase64, utf8 } from "./bytes.js";

/**
 * Standard Webhooks (https://www.standardwebhooks.com), once for Keel: the secret format,
 * signing and verification, with Web Crypto so it runs in Node 20+, edge runtimes, Deno and Bun.
 * Keel signs its deliveries with it; the SDK verifies them; intake verifies `standard` sources.
 */

/** A Standard Webhooks secret, checked and decoded once. */
export interface StandardKey {
  /** The HMAC key: the base64-decoded part after `whsec_`. */
  readonly bytes: Uint8Array;
}

/** Fewer key bytes than this are refused (128 bits); 24 or more are recommended. */
export const MIN_SECRET_BYTES = 16;

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * What is wrong with a secret, in words that never repeat it, or null when it is a valid
 * `whsec_<base64>` secret. The one rule for every secret Keel reads (its signing secret,
 * `standard` sources, the SDK's verifier): `whsec_`, then padded standard base64 (receivers'
 * libraries refuse unpadded keys) of at least 16 bytes.
 *
 * @example
 * standardSecretProblem("whsec_abc"); // "is not whsec_ followed by padded base64 (e.g. whsec_MfKQ9r8G…)"
 */
export function standardSecretProblem(secret: string): string | null {
  const decoded = decode(secret);
  return typeof decoded === "string" ? decoded : null;
}

/**
 * Decodes a secret (see `standardSecretProblem` for the rule). Throws a TypeError saying what is
 * wrong, never the secret itself.
 *
 * @example
 * const key = parseStandardSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 */
export function parseStandardSecret(secret: string): StandardKey {
  const decoded = decode(secret);
  if (typeof decoded === "string") throw new TypeError(`the signing secret ${decoded}`);
  return { bytes: decoded };
}

function decode(secret: string): Uint8Array | string {
  const encoded = SECRET.exec(secret.trim())?.[1];
  const bytes = encoded && encoded.length % 4 === 0 ? fromBase64(encoded) : undefined;
  if (!bytes) return "is not whsec_ followed by padded base64 (e.g. whsec_MfKQ9r8G…)";
  if (bytes.length < MIN_SECRET_BYTES) {
    return `decodes to ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} (24 or more recommended)`;
  }
  return bytes;
}

// Importing a key costs more than one HMAC: each StandardKey is imported once.
const imported = new WeakMap<StandardKey, Promise<CryptoKey>>();

function cryptoKey(key: StandardKey): Promise<CryptoKey> {
  let found = imported.get(key);
  if (!found) {
    found = crypto.subtle.importKey(
      "raw",
      key.bytes as BufferSource,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    imported.set(key, found);
  }
  return found;
}

/** What is signed: `id.timestamp.body`, the body as its exact bytes ("" when there is none). */
export interface SignedContent {
  /** The `webhook-id` header value. */
  id: string;
  /** The `webhook-timestamp` header value: unix seconds. */
  timestamp: number | string;
  /** The exact bytes sent, or their UTF-8 text. */
  body: string | Uint8Array;
}

function signedBytes(content: SignedContent): Uint8Array {
  return concat([utf8(`${content.id}.${content.timestamp}.`), utf8(content.body)]);
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per key,
 * space-separated (during rotation receivers may know only the old or only the new secret).
 *
 * @example
 * await signStandard({ id: "msg_1", timestamp: 1614265330, body: "{}" }, [key]);
 * // "v1,…"
 */
export async function signStandard(content: SignedContent, keys: readonly StandardKey[]): Promise<string> {
  if (keys.length === 0) throw new TypeError("give at least one signing secret");
  const data = signedBytes(content) as BufferSource;
  const signatures = await Promise.all(
    keys.map(
      async (key) =>
        `v1,${toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", await cryptoKey(key), data)))}`,
    ),
  );
  return signatures.join(" ");
}

const DIGEST_BYTES = 32;

/**
 * The 1-based position of the first key that made any `v1` signature of the header, or 0 when
 * none did. Every key is tried against every signature (Web Crypto's verify compares in
 * constant time): no early exit tells which matched.
 *
 * @example
 * const matched = await verifyStandard({ id, timestamp, body }, header, keys);
 * if (matched === 0) refuse();
 */
export async function verifyStandard(
  content: SignedContent,
  signatureHeader: string,
  keys: readonly StandardKey[],
): Promise<number> {
  const given = signatureHeader
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => canonicalDigest(entry.slice(3)))
    .filter((digest): digest is Uint8Array => digest !== undefined);
  if (given.length === 0 || keys.length === 0) return 0;
  const data = signedBytes(content) as BufferSource;
  const results = await Promise.all(
    keys.map(async (key) => {
      const k = await cryptoKey(key);
      const each = await Promise.all(
        given.map((digest) => crypto.subtle.verify("HMAC", k, digest as BufferSource, data)),
      );
      return each.some(Boolean);
    }),
  );
  return results.indexOf(true) + 1;
}

/**
 * The digest a signature's base64 encodes, only when that base64 is the canonical encoding of
 * 32 bytes: base64 decoders ignore the low bits of the last character, and a signature with
 * those bits changed is not the one Keel or the sender made (no malleable signatures).
 */
function canonicalDigest(encoded: string): Uint8Array | undefined {
  const digest = fromBase64(encoded);
  return digest?.length === DIGEST_BYTES && toBase64(digest) === encoded ? digest : undefined;
}

/** Whether `webhook-signature` holds at least one well-formed `v1,<base64>` entry. */
export function hasV1Signature(signatureHeader: string): boolean {
  return signatureHeader.split(" ").some((entry) => entry.startsWith("v1,"));
}
