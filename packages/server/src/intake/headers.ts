import type { IncomingHttpHeaders } from "node:http";
import type { Source } from "@keel/engine";

// Connection-level and framing headers describe one hop, not the event: never kept.
const HOP_BY_HOP = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "expect",
  "te",
  "trailer",
  "proxy-authorization",
  "proxy-connection",
]);
// Not forwarded: Keel sets its own signature, identity and type, and a request from Keel is
// not from the client a proxy saw (decision 013).
const NOT_FORWARDED = /^(content-type|webhook-.*|keel-.*|forwarded|x-forwarded-.*|x-real-ip)$/i;
// Shown as [redacted] by the API and in rejections: values that may be credentials.
const CREDENTIAL = /auth|token|secret|password|cookie|session|api-?key/i;

/**
 * The request's headers as stored with the event: lowercase names, repeated headers joined,
 * hop-by-hop headers dropped, and for sources verified by a shared value (bearer, revenuecat)
 * that value's header dropped: it is the secret itself (decision 014).
 */
export function storedHeaders(
  headers: IncomingHttpHeaders,
  source: Pick<Source, "provider" | "settings">,
): Record<string, string> {
  const secretHeader =
    source.provider === "revenuecat"
      ? "authorization"
      : source.provider === "bearer"
        ? (source.settings.bearer?.header ?? "authorization").toLowerCase()
        : undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === secretHeader) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Headers with credential-like values replaced by `[redacted]`, for the API and rejections. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = CREDENTIAL.test(name) ? "[redacted]" : value;
  }
  return out;
}

/** The stored headers a delivery forwards to a route's target. */
export function forwardedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!NOT_FORWARDED.test(name) && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Request headers as one string per lowercase name. */
export function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
