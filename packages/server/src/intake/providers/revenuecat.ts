import {
  bad,
  jsonBody,
  matchingSecret,
  missing,
  pathId,
  pathText,
  sameSecret,
  type Verifier,
} from "../verify.js";

/**
 * RevenueCat: the `Authorization` header carries the value set in RevenueCat's dashboard, as
 * is; each secret is that whole value. Compared in constant time. Dedupe on the body's
 * `event.id`, type from `event.type`.
 */
export const revenuecat: Verifier = (request, _source, secrets) => {
  const header = request.headers.authorization;
  if (!header) return missing("Authorization");
  const secret = matchingSecret(secrets, (s) => sameSecret(header, s));
  if (secret === 0) return bad("the Authorization value does not match");
  const body = jsonBody(request.body);
  return { ok: true, secret, eventId: pathId(body, "event.id"), type: pathText(body, "event.type") };
};
