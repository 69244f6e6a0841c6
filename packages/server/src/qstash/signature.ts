import { createHash, createHmac, randomBytes } from "node:crypto";

/** The keys QStash receivers verify with (`Receiver({ currentSigningKey, nextSigningKey })`). */
export interface QStashSigningKeys {
  /** Signs every delivery now. */
  current: string;
  /** The key receivers try when the current one fails: the one that signs after a rotation. */
  next: string;
}

/** How long a signature stays valid, as QStash issues them (five minutes). */
const LIFETIME_SECONDS = 300;

export interface QStashSignInput {
  /** The destination URL as the message names it: the JWT's `sub`, compared by receivers. */
  url: string;
  /** The exact body sent ("" when there is none); text is hashed as UTF-8. */
  body: string | Uint8Array;
  /** Signing key: KEEL_QSTASH_CURRENT_SIGNING_KEY. */
  key: string;
  /** Unix seconds; default now. */
  now?: number;
}

/**
 * The `Upstash-Signature` header value: an HS256 JWT with QStash's claims (iss `Upstash`, sub
 * the URL, iat/nbf now, exp in five minutes, a fresh jti, and `body`, the base64url SHA-256 of
 * the body), which `Receiver` from `@upstash/qstash` verifies. The key is the raw key text,
 * as QStash's receivers use it.
 *
 * @example
 * signQStash({ url: "https://app.example.com/api/job", body: '{"a":1}', key: process.env.KEEL_QSTASH_CURRENT_SIGNING_KEY });
 */
export function signQStash(input: QStashSignInput): string {
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const header = { alg: "HS256", typ: "JWT" };
  const claims = {
    iss: "Upstash",
    sub: input.url,
    exp: now + LIFETIME_SECONDS,
    nbf: now,
    iat: now,
    jti: `jwt_${randomBytes(12).toString("hex")}`,
    body: createHash("sha256").update(input.body).digest("base64url"),
  };
  const unsigned = `${segment(header)}.${segment(claims)}`;
  const signature = createHmac("sha256", input.key).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

function segment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
