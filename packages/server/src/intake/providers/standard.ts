import { memoByText } from "../memo.js";
import {
  bad,
  checkTimestamp,
  DEFAULT_TOLERANCE,
  hmac,
  jsonBody,
  matchingSecret,
  missing,
  pathText,
  sameText,
  type Verifier,
} from "../verify.js";

/**
 * Standard Webhooks (and Svix, whose `svix-*` headers are the same scheme): HMAC-SHA256 of
 * `id.timestamp.body` keyed with the base64-decoded part of `whsec_…`; the signature header
 * lists space-separated `v1,<base64>` entries (rotation). Dedupe on `webhook-id`, type from the
 * JSON body's `type`.
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
  const given = signature
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => entry.slice(3));
  if (given.length === 0) return bad(`${prefix}-signature has no v1,<base64> entry`);
  const secret = matchingSecret(secrets, (s) => {
    const key = decodedKey(s);
    const expected = hmac("sha256", key, [`${id}.${t}.`, request.body]).toString("base64");
    return given.some((sig) => sameText(sig, expected));
  });
  if (secret === 0) return bad("no v1 signature matches");
  const timestamp = Number(t);
  const stale = checkTimestamp(timestamp, request.now, source.settings.toleranceSeconds ?? DEFAULT_TOLERANCE);
  if (stale) return stale;
  return { ok: true, secret, timestamp, eventId: id, type: pathText(jsonBody(request.body), "type") };
};

// Decoding the whsec_ key on every request showed in intake profiles: keys are kept decoded.
const decodedKey = memoByText(256, (secret: string) => Buffer.from(secret.replace(/^whsec_/, ""), "base64"));
