import { bad, matchingSecret, missing, sameSecret, type Verifier } from "../verify.js";
import { configuredId, configuredType } from "./fields.js";

/**
 * A shared secret in a header: `<prefix><secret>` (default `Authorization: Bearer <secret>`),
 * compared in constant time. Event id and type from the configured header or JSON path.
 */
export const bearer: Verifier = (request, source, secrets) => {
  const name = source.settings.bearer?.header ?? "authorization";
  const prefix = source.settings.bearer?.prefix ?? "Bearer ";
  const header = request.headers[name.toLowerCase()];
  if (!header) return missing(name);
  const secret = matchingSecret(secrets, (s) => sameSecret(header, `${prefix}${s}`));
  if (secret === 0) return bad(`the ${name} value does not match`);
  return {
    ok: true,
    secret,
    eventId: configuredId(request, source.settings.eventId),
    type: configuredType(request, source.settings.eventType),
  };
};
