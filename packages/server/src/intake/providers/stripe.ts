import {
  bad,
  checkTimestamp,
  DEFAULT_TOLERANCE,
  hmac,
  jsonBody,
  matchingSecret,
  missing,
  pathId,
  pathText,
  sameText,
  type Verifier,
} from "../verify.js";

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `t.body` keyed with the
 * whole `whsec_…` string; any v1 may match. Event id and type from the JSON body.
 */
export const stripe: Verifier = (request, source, secrets) => {
  const header = request.headers["stripe-signature"];
  if (!header) return missing("Stripe-Signature");
  let t: string | undefined;
  const v1: string[] = [];
  for (const item of header.split(",")) {
    const at = item.indexOf("=");
    const key = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    if (key === "t" && t === undefined) t = value;
    else if (key === "v1") v1.push(value);
  }
  if (t === undefined || !/^\d{1,12}$/.test(t) || v1.length === 0) {
    return bad("the Stripe-Signature header has no t= timestamp or no v1= signature");
  }
  const secret = matchingSecret(secrets, (s) => {
    const expected = hmac("sha256", s, [`${t}.`, request.body]).toString("hex");
    return v1.some((sig) => sameText(sig, expected));
  });
  if (secret === 0) return bad("no v1 signature matches");
  const timestamp = Number(t);
  const stale = checkTimestamp(timestamp, request.now, source.settings.toleranceSeconds ?? DEFAULT_TOLERANCE);
  if (stale) return stale;
  const body = jsonBody(request.body);
  return { ok: true, secret, timestamp, eventId: pathId(body, "id"), type: pathText(body, "type") };
};
