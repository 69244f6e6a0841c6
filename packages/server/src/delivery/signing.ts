import { createHmac } from "node:crypto";
import { KeelError } from "@keel/engine";

/** A Standard Webhooks secret, checked and decoded once. */
export interface SigningKey {
  /** The HMAC key: the base64-decoded part after `whsec_`. */
  key: Buffer;
}

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * Checks and decodes `whsec_<base64>` secrets. Fails on anything else, without echoing the
 * value: a typo caught at start beats every receiver rejecting every delivery.
 *
 * @example
 * const keys = parseSigningSecrets(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
 */
export function parseSigningSecrets(secrets: readonly string[]): SigningKey[] {
  const problems: string[] = [];
  if (secrets.length === 0) problems.push("give at least one signing secret (whsec_<base64>)");
  const keys = secrets.map((secret, i) => {
    const key = decodeSecret(secret);
    if (typeof key === "string") problems.push(`signing secret #${i + 1} ${key}`);
    return key;
  });
  if (problems.length > 0) {
    throw new KeelError("invalid_config", { problems: `- ${problems.join("\n- ")}`, list: problems });
  }
  return keys as SigningKey[];
}

/** The decoded key, or what is wrong with the secret (never the secret itself). */
function decodeSecret(secret: string): SigningKey | string {
  const encoded = SECRET.exec(secret.trim())?.[1];
  // Padded base64 only: receivers' libraries (standardwebhooks) refuse unpadded keys.
  if (!encoded || encoded.length % 4 !== 0)
    return "is not whsec_ followed by padded base64 (e.g. whsec_MfKQ9r8G…)";
  const key = Buffer.from(encoded, "base64");
  // The spec recommends 24 to 64 random bytes; 16 is the floor loadEnv also applies.
  if (key.length < 16) return `decodes to ${key.length} bytes; use at least 16 (24 or more recommended)`;
  return { key };
}

export interface SignInput {
  /** The `webhook-id` header value. */
  id: string;
  /** Unix seconds: the `webhook-timestamp` header value. */
  timestamp: number;
  /** The exact bytes sent as the body ("" when there is none); text is signed as UTF-8. */
  body: string | Uint8Array;
  /** Every active secret: during rotation receivers may know only the old or only the new one. */
  secrets: readonly (string | SigningKey)[];
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per
 * secret, space-separated.
 *
 * @example
 * signPayload({ id: "msg_1", timestamp: 1614265330, body: "{}", secrets: ["whsec_…"] });
 * // "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
 */
export function signPayload(input: SignInput): string {
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new KeelError("invalid_argument", { detail: "timestamp must be whole unix seconds" });
  }
  const head = `${input.id}.${input.timestamp}.`;
  const strings = input.secrets.filter((s) => typeof s === "string");
  // Parse the strings together so a bad one is reported by position; keys pass through.
  const parsed = strings.length > 0 ? parseSigningSecrets(strings) : [];
  const keys = input.secrets.map((s) => (typeof s === "string" ? (parsed.shift() as SigningKey) : s));
  if (keys.length === 0)
    throw new KeelError("invalid_argument", { detail: "give at least one signing secret" });
  return keys
    .map(
      ({ key }) => `v1,${createHmac("sha256", key).update(head, "utf8").update(input.body).digest("base64")}`,
    )
    .join(" ");
}
