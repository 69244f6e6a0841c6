import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { parseStandardSecret } from "@keel/protocol/webhooks";
import { memoByText } from "../memo.js";
import {
  bad,
  checkTimestamp,
  DEFAULT_TOLERANCE,
  jsonBody,
  missing,
  pathText,
  type Verifier,
} from "../verify.js";

/**
 * Standard Webhooks (and Svix, whose `svix-*` headers are the same scheme): HMAC-SHA256 of
 * `id.timestamp.body` keyed with the base64-decoded part of `whsec_…`; the signature header
 * lists space-separated `v1,<base64>` entries (rotation). Dedupe on `webhook-id`, type from the
 * JSON body's `type`. The scheme and the secret format are @keel/protocol/webhooks' (as for Keel's
 * own deliveries); the HMAC is node:crypto's here, synchronous: Web Crypto's queued `verify` was
 * the largest share of intake's CPU profile (decision 057).
 */
export const standard: Verifier = (request, source, secrets) => {
  const h = request.headers;
  const prefix = h["webhook-signature"] !== undefined ? "webhook" : "svix";
  const signature = h[`${prefix}-signature`];
  if (!signature) return missing("webhook-signature");
  const id = h[`${prefix}-id`];
  const t = h[`${prefix}-timestamp`];
  if (!id || !t || !/^\d{1,12}$/.test(t)) {
    return bad(`${prefix}-id and a numeric ${prefix}-timestamp must accompany ${prefix}-signature`);
  }
  if (!signature.split(" ").some((entry) => entry.startsWith("v1,"))) {
    return bad(`${prefix}-signature has no v1,<base64> entry`);
  }
  // Secrets were checked when the source was stored and when they were resolved (secrets.ts).
  const secret = verifyStandardSync(id, t, request.body, signature, secrets.map(keyOf));
  if (secret === 0) return bad("no v1 signature matches");
  const timestamp = Number(t);
  const stale = checkTimestamp(timestamp, request.now, source.settings.toleranceSeconds ?? DEFAULT_TOLERANCE);
  if (stale) return stale;
  return { ok: true, secret, timestamp, eventId: id, type: pathText(jsonBody(request.body), "type") };
};

// Decoding and importing the key on every request showed in intake profiles: keys are kept.
const keyOf = memoByText(256, (secret: string) => createSecretKey(parseStandardSecret(secret).bytes));

const DIGEST_BYTES = 32;

/**
 * `verifyStandard` of @keel/protocol/webhooks, with node:crypto: the 1-based position of the
 * first key that made any `v1` signature of the header, or 0. Only the canonical base64 of 32
 * bytes counts as a signature (no malleable signatures), and every key is compared with every
 * signature in constant time: no early exit tells which matched.
 */
export function verifyStandardSync(
  id: string,
  timestamp: string,
  body: Buffer,
  signatureHeader: string,
  keys: readonly KeyObject[],
): number {
  const given: Buffer[] = [];
  for (const entry of signatureHeader.split(" ")) {
    if (!entry.startsWith("v1,")) continue;
    const encoded = entry.slice(3);
    const digest = Buffer.from(encoded, "base64");
    if (digest.length === DIGEST_BYTES && digest.toString("base64") === encoded) given.push(digest);
  }
  if (given.length === 0 || keys.length === 0) return 0;
  let found = 0;
  keys.forEach((key, i) => {
    const mac = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
    let matched = false;
    for (const digest of given) if (timingSafeEqual(mac, digest)) matched = true;
    if (matched && found === 0) found = i + 1;
  });
  return found;
}
