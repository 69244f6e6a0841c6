import { createHmac, timingSafeEqual } from "node:crypto";
import { DeliveryVerificationError } from "./errors.js";

/** A Keel delivery that passed verification. Times are Dates. */
export interface KeelDelivery<P = unknown> {
  /** The job's id (authenticated: it is part of the signed `webhook-id`). */
  jobId: string;
  /** 1 on the first try; a retry of the same job has the same `jobId` and `webhookId`. */
  attempt: number;
  queue: string;
  tenant: string | null;
  /** The schedule that made the job, for scheduled runs. */
  schedule: string | null;
  /** The schedule slot's time (or a manual trigger's), for scheduled runs. */
  fireTime: Date | null;
  /** `webhook-id`: stable per job, the key to deduplicate on. */
  webhookId: string;
  /** `webhook-timestamp`: when this attempt was signed. */
  timestamp: Date;
  /** The body exactly as received (UTF-8). */
  body: string;
  /** The body parsed as JSON; undefined when there is none (GET deliveries). */
  payload: P;
}

export interface VerifyOptions {
  /**
   * `whsec_…` secrets (KEEL_SIGNING_SECRET). Give the old and the new one while rotating: a
   * delivery passes when any signature matches any secret.
   */
  secrets: string | readonly string[];
  /** How far `webhook-timestamp` may be from now, in seconds. Default 300 (Standard Webhooks). */
  toleranceSeconds?: number;
  /** The clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Request headers: a Fetch `Headers`, or Node's `req.headers`. */
export type HeadersInput = Headers | Record<string, string | string[] | undefined>;

export interface DeliveryInput {
  headers: HeadersInput;
  /** The raw body: the exact bytes received, or their UTF-8 text. Never a re-serialised object. */
  body: string | Uint8Array;
}

export type DeliveryVerifier = <P = unknown>(input: DeliveryInput) => KeelDelivery<P>;

const SECRET = /^(?:whsec_)?([A-Za-z0-9+/]+={0,2})$/;
const WEBHOOK_JOB = /^msg_([0-9]+)$/;
const DIGEST_BYTES = 32;

/**
 * Parses the secrets once and returns a function that verifies deliveries with them. Throws a
 * TypeError naming the position of a malformed secret (never its value).
 *
 * @example
 * const verify = createDeliveryVerifier({ secrets: process.env.KEEL_SIGNING_SECRET!.split(" ") });
 * const delivery = verify({ headers: req.headers, body: rawBody });
 */
export function createDeliveryVerifier(options: VerifyOptions): DeliveryVerifier {
  const list = typeof options.secrets === "string" ? [options.secrets] : [...options.secrets];
  if (list.length === 0) throw new TypeError("verifyDelivery: give at least one whsec_ secret");
  const keys = list.map((secret, i) => {
    const encoded = typeof secret === "string" ? SECRET.exec(secret.trim())?.[1] : undefined;
    if (!encoded) throw new TypeError(`verifyDelivery: secret #${i + 1} is not whsec_ followed by base64`);
    return Buffer.from(encoded, "base64");
  });
  const toleranceMs = (options.toleranceSeconds ?? 300) * 1000;
  if (!(toleranceMs >= 0)) throw new TypeError("verifyDelivery: toleranceSeconds must be 0 or more");
  const now = options.now ?? Date.now;

  return <P>(input: DeliveryInput): KeelDelivery<P> => {
    const id = header(input.headers, "webhook-id");
    const stamp = header(input.headers, "webhook-timestamp");
    const signature = header(input.headers, "webhook-signature");
    if (!id || !stamp || !signature) {
      throw new DeliveryVerificationError(
        "missing_signature",
        "webhook-id, webhook-timestamp and webhook-signature are required",
      );
    }
    if (!/^[0-9]{1,12}$/.test(stamp)) {
      throw new DeliveryVerificationError("invalid_timestamp", "webhook-timestamp is not unix seconds");
    }
    const timestamp = new Date(Number(stamp) * 1000);
    const skew = Math.abs(now() - timestamp.getTime());
    if (skew > toleranceMs) {
      throw new DeliveryVerificationError(
        "timestamp_out_of_tolerance",
        `signed ${Math.round(skew / 1000)} s away from this server's clock; the tolerance is ${toleranceMs / 1000} s`,
      );
    }
    const body = typeof input.body === "string" ? Buffer.from(input.body, "utf8") : input.body;
    if (!signatureMatches(keys, `${id}.${stamp}.`, body, signature)) {
      throw new DeliveryVerificationError("bad_signature", "no signature matches the configured secrets");
    }
    return describe<P>(input.headers, id, timestamp, Buffer.from(body).toString("utf8"));
  };
}

/**
 * Verifies one delivery (Standard Webhooks signature, timestamp tolerance, rotation) and returns
 * its typed details. Throws DeliveryVerificationError with a `reason`.
 *
 * @example
 * const delivery = verifyDelivery({ headers: req.headers, body: rawBody }, { secrets: ["whsec_…"] });
 * console.log(delivery.jobId, delivery.attempt, delivery.payload);
 */
export function verifyDelivery<P = unknown>(input: DeliveryInput, options: VerifyOptions): KeelDelivery<P> {
  return createDeliveryVerifier(options)<P>(input);
}

/** True when any `v1,` entry of the header is the HMAC of the content under any key. */
function signatureMatches(keys: Buffer[], prefix: string, body: Uint8Array, header: string): boolean {
  const given = header
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => Buffer.from(entry.slice(3), "base64"))
    .filter((digest) => digest.length === DIGEST_BYTES);
  let matched = false;
  for (const key of keys) {
    const expected = createHmac("sha256", key).update(prefix, "utf8").update(body).digest();
    // Every pair is compared, in constant time each: no early exit to time.
    for (const digest of given) matched = timingSafeEqual(expected, digest) || matched;
  }
  return matched;
}

/** The typed details of a verified delivery. */
function describe<P>(
  headers: HeadersInput,
  webhookId: string,
  timestamp: Date,
  body: string,
): KeelDelivery<P> {
  const jobId = header(headers, "keel-job-id");
  const attempt = header(headers, "keel-attempt");
  const queue = header(headers, "keel-queue");
  if (!jobId || !attempt || !/^[0-9]+$/.test(attempt) || !queue) {
    throw new DeliveryVerificationError(
      "not_a_keel_delivery",
      "keel-job-id, keel-attempt and keel-queue are required",
    );
  }
  const signedJob = WEBHOOK_JOB.exec(webhookId)?.[1];
  if (signedJob !== undefined && signedJob !== jobId) {
    throw new DeliveryVerificationError("header_mismatch", "keel-job-id differs from the signed webhook-id");
  }
  let payload: unknown;
  if (body !== "") {
    try {
      payload = JSON.parse(body);
    } catch {
      throw new DeliveryVerificationError("invalid_payload", "the body is not JSON");
    }
  }
  const fire = header(headers, "keel-fire-time");
  const fireTime = fire ? new Date(fire) : null;
  return {
    jobId,
    attempt: Number(attempt),
    queue: unescapeName(queue),
    tenant: optionalName(header(headers, "keel-tenant")),
    schedule: optionalName(header(headers, "keel-schedule")),
    fireTime: fireTime && !Number.isNaN(fireTime.getTime()) ? fireTime : null,
    webhookId,
    timestamp,
    body,
    payload: payload as P,
  };
}

function optionalName(value: string | undefined): string | null {
  return value === undefined ? null : unescapeName(value);
}

/**
 * Keel sends names holding characters outside printable ASCII percent-encoded (headers cannot
 * carry them) and other names as they are; decoding only when the result holds such a character
 * tells the two apart (a name typed as `caf%C3%A9` would read as `café`).
 */
function unescapeName(value: string): string {
  if (!value.includes("%")) return value;
  try {
    const decoded = decodeURIComponent(value);
    return /[^\x20-\x7e]/.test(decoded) ? decoded : value;
  } catch {
    return value;
  }
}

/** One header's value from either kind of headers; the first of repeated ones. */
export function header(headers: HeadersInput, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}
