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
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`; no timestamp is signed.
 * Dedupe on `X-GitHub-Delivery`, type from `X-GitHub-Event`.
 */
export const github: Verifier = (request, _source, secrets) => {
  const header = request.headers["x-hub-signature-256"];
  if (!header) return missing("X-Hub-Signature-256");
  if (!header.startsWith("sha256=")) return bad("X-Hub-Signature-256 does not start with sha256=");
  const secret = matchingSecret(secrets, (s) =>
    sameText(header, `sha256=${hmac("sha256", s, [request.body]).toString("hex")}`),
  );
  if (secret === 0) return bad("the sha256 signature does not match");
  return {
    ok: true,
    secret,
    eventId: idText(request.headers["x-github-delivery"]),
    type: headerText(request.headers["x-github-event"]),
  };
};
