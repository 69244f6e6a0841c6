import { createHmac, randomBytes } from "node:crypto";

/**
 * Standard Webhooks signing for the bench's own senders (load generators, the hand-built
 * graphile-worker + fetch baseline): written here rather than taken from Keel, so a baseline
 * never runs Keel's code.
 */

/** A fresh `whsec_…` secret (32 random bytes). */
export function newWhsec(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The HMAC key of a `whsec_…` secret. */
export function whsecKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ""), "base64");
}

/** The headers of a signed JSON webhook: content type, id, timestamp (now) and `v1` signature. */
export function signedHeaders(key: Buffer, id: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest("base64");
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": `v1,${signature}`,
  };
}
