import {
  bad,
  checkTimestamp,
  DEFAULT_TOLERANCE,
  hmac as digest,
  matchingSecret,
  missing,
  sameText,
  unixSeconds,
  type Verifier,
} from "../verify.js";
import { configuredId, configuredType } from "./fields.js";

/**
 * Generic HMAC: the configured header holds `<prefix><digest>` (hex or base64) of the signed
 * content, `{body}` or a template such as `{timestamp}.{body}` filled with the raw timestamp
 * header and the raw body. With a timestamp header the timestamp must be within the tolerance.
 */
export const hmac: Verifier = (request, source, secrets) => {
  const settings = source.settings.hmac;
  if (!settings) return bad("the source has no hmac settings");
  const header = request.headers[settings.header.toLowerCase()];
  if (!header) return missing(settings.header);
  const prefix = settings.prefix ?? "";
  if (!header.startsWith(prefix)) return bad(`${settings.header} does not start with ${prefix}`);
  let given = header.slice(prefix.length).trim();
  const encoding = settings.encoding ?? "hex";
  if (encoding === "hex") given = given.toLowerCase();
  let timestamp: number | undefined;
  let raw = "";
  if (settings.timestampHeader) {
    raw = request.headers[settings.timestampHeader.toLowerCase()] ?? "";
    if (!raw) return missing(settings.timestampHeader);
    timestamp = unixSeconds(raw);
    if (timestamp === undefined) return bad(`${settings.timestampHeader} is not unix seconds`);
  }
  const template = settings.signed ?? (settings.timestampHeader ? "{timestamp}.{body}" : "{body}");
  const [before = "", after = ""] = template.replaceAll("{timestamp}", raw).split("{body}");
  const secret = matchingSecret(secrets, (s) => {
    const expected = digest(settings.algorithm ?? "sha256", s, [before, request.body, after]);
    return sameText(given, expected.toString(encoding));
  });
  if (secret === 0) return bad(`the ${settings.header} signature does not match`);
  if (timestamp !== undefined) {
    const stale = checkTimestamp(
      timestamp,
      request.now,
      source.settings.toleranceSeconds ?? DEFAULT_TOLERANCE,
    );
    if (stale) return stale;
  }
  return {
    ok: true,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
    eventId: configuredId(request, source.settings.eventId),
    type: configuredType(request, source.settings.eventType),
  };
};
