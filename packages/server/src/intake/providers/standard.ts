import { parseStandardSecret, verifyStandard } from "@keel/protocol/webhooks";
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
 * JSON body's `type`. Signing and verification are @keel/protocol/webhooks', as for Keel's own
 * deliveries.
 */
export const standard: Verifier = async (request, source, secrets) => {
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
  const secret = await verifyStandard(
    { id, timestamp: t, body: request.body },
    signature,
    secrets.map(keyOf),
  );
  if (secret === 0) return bad("no v1 signature matches");
  const timestamp = Number(t);
  const stale = checkTimestamp(timestamp, request.now, source.settings.toleranceSeconds ?? DEFAULT_TOLERANCE);
  if (stale) return stale;
  return { ok: true, secret, timestamp, eventId: id, type: pathText(jsonBody(request.body), "type") };
};

// Decoding and importing the key on every request showed in intake profiles: keys are kept.
const keyOf = memoByText(256, parseStandardSecret);
