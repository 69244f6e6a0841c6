import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { isStorableText, type Source } from "@keel/engine";

/** Why a request was refused; each is a registry code and a `result` of keel_intake_events_total. */
export const REJECTION_REASONS = [
  "unknown_source",
  "missing_signature",
  "bad_signature",
  "timestamp_out_of_tolerance",
  "body_too_large",
  "source_misconfigured",
  "event_id_too_long",
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** A request as the verifiers see it: lowercase header names, the raw body, the time. */
export interface IntakeRequest {
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** Unix seconds. */
  now: number;
}

/** A request that passed: which secret matched, the signed timestamp, the event's id and type. */
export interface Verified {
  ok: true;
  /** 1-based position of the matching secret. */
  secret: number;
  /** The signed timestamp (unix seconds), for providers that sign one. */
  timestamp?: number;
  /**
   * The provider's event id as sent, of any length (the route refuses one over
   * MAX_EVENT_ID_LENGTH); null when the request carries none (the body's digest is used).
   */
  eventId: string | null;
  type: string | null;
}

export interface Refused {
  ok: false;
  reason: Exclude<
    RejectionReason,
    "unknown_source" | "body_too_large" | "source_misconfigured" | "event_id_too_long"
  >;
  /** Message parameters: never a secret or a computed signature. */
  params: Record<string, string | number>;
}

export type Verdict = Verified | Refused;

/** A provider's check of one request against the source's resolved secrets. */
export type Verifier = (
  request: IntakeRequest,
  source: Source,
  secrets: readonly string[],
) => Verdict | Promise<Verdict>;

export const DEFAULT_TOLERANCE = 300;

export function missing(header: string): Refused {
  return { ok: false, reason: "missing_signature", params: { header } };
}

export function bad(detail: string): Refused {
  return { ok: false, reason: "bad_signature", params: { detail } };
}

/**
 * Compares a received value with the expected one in constant time. Lengths are compared
 * first (the expected length is public: it is the digest's); the bytes only when equal.
 */
export function sameText(received: string, expected: string): boolean {
  const a = Buffer.from(received, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Compares secrets of any length in constant time: their SHA-256 digests are compared. */
export function sameSecret(received: string, expected: string): boolean {
  return timingSafeEqual(sha256(received), sha256(expected));
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** HMAC over the parts in order (text as UTF-8, buffers as they are). */
export function hmac(algorithm: string, key: string | Buffer, parts: readonly (string | Buffer)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** The first secret (1-based) for which `matches` holds, or 0. Every secret is tried: no early exit reveals which. */
export function matchingSecret(secrets: readonly string[], matches: (secret: string) => boolean): number {
  let found = 0;
  secrets.forEach((secret, i) => {
    if (matches(secret) && found === 0) found = i + 1;
  });
  return found;
}

/** Refuses a timestamp further than `tolerance` seconds from now, either way. */
export function checkTimestamp(timestamp: number, now: number, tolerance: number): Refused | undefined {
  const age = Math.round(now - timestamp);
  if (Math.abs(age) <= tolerance) return undefined;
  return { ok: false, reason: "timestamp_out_of_tolerance", params: { age, tolerance } };
}

/** Unix seconds from a header value of digits (13 or more digits are read as milliseconds). */
export function unixSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return value.length >= 13 ? Math.floor(n / 1000) : n;
}

/** The body as JSON, or undefined when it is not JSON (form-encoded bodies, plain text). */
export function jsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The string (or number) at a dotted path of a JSON value, as an event type; null when absent. */
export function pathText(value: unknown, path: string): string | null {
  return headerText(pathId(value, path) ?? undefined);
}

/**
 * The string (or number) at a dotted path of a JSON value, as an event id: not cut to any
 * length, so an id too long to store is refused rather than silently replaced by the digest.
 */
export function pathId(value: unknown, path: string): string | null {
  let at: unknown = value;
  for (const key of path.split(".")) {
    if (at === null || typeof at !== "object" || !Object.hasOwn(at, key)) return null;
    at = (at as Record<string, unknown>)[key];
  }
  if (typeof at === "string") return idText(at);
  if (typeof at === "number" && Number.isFinite(at)) return String(at);
  return null;
}

/** A value usable as an event type: 1–255 characters Postgres can store; else null. */
export function headerText(value: string | undefined): string | null {
  const text = idText(value);
  return text !== null && text.length <= 255 ? text : null;
}

/** A value usable as an event id, of any length (the route checks it): text Postgres can store; else null. */
export function idText(value: string | undefined): string | null {
  return value !== undefined && value.length > 0 && isStorableText(value) ? value : null;
}
