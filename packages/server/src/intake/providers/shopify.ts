import {
  bad,
  headerText,
  hmac,
  idText,
  matchingSecret,
  missing,
  sameText,
  type Verifier,
} from "../verify.js";

/**
 * Shopify: `X-Shopify-Hmac-SHA256` = base64 HMAC-SHA256 of the body with the app's secret; no
 * timestamp is signed. Dedupe on `X-Shopify-Webhook-Id` (or `X-Shopify-Event-Id`), type from
 * `X-Shopify-Topic`.
 */
export const shopify: Verifier = (request, _source, secrets) => {
  const header = request.headers["x-shopify-hmac-sha256"];
  if (!header) return missing("X-Shopify-Hmac-SHA256");
  const secret = matchingSecret(secrets, (s) =>
    sameText(header, hmac("sha256", s, [request.body]).toString("base64")),
  );
  if (secret === 0) return bad("the HMAC does not match");
  const h = request.headers;
  return {
    ok: true,
    secret,
    eventId: idText(h["x-shopify-webhook-id"]) ?? idText(h["x-shopify-event-id"]),
    type: headerText(h["x-shopify-topic"]),
  };
};
