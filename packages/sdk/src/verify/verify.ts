import {
  DELIVERY_HEADER,
  decodeDeliveryMeta,
  isJsonContentType,
  jobIdOfWebhookId,
} from "@keel/protocol/delivery";
import { parseStandardSecret, type StandardKey, verifyStandard } from "@keel/protocol/webhooks";
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
  /** The intake source, for a forwarded webhook event. */
  source: string | null;
  /** The stored event's id (`keel events get <id>`), for a forwarded webhook event. */
  event: string | null;
  /** `webhook-id`: stable per job, the key to deduplicate on. */
  webhookId: string;
  /** `webhook-timestamp`: when this attempt was signed. */
  timestamp: Date;
  /** The request's content type: `application/json` for jobs; a forwarded event's own. */
  contentType: string | null;
  /** The body exactly as received (UTF-8). */
  body: string;
  /**
   * The body parsed as JSON when it is JSON (jobs always are); undefined when there is none
   * (GET deliveries) or when a forwarded event is in another content type (read `body`, e.g.
   * `new URLSearchParams(delivery.body)` for a form-encoded one).
   */
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

export type DeliveryVerifier = <P = unknown>(input: DeliveryInput) => Promise<KeelDelivery<P>>;

/**
 * Parses the secrets once and returns a function that verifies deliveries with them. Throws a
 * TypeError naming the position of a malformed secret (never its value). Runs wherever Web
 * Crypto does: Node 20+, edge runtimes, Deno, Bun.
 *
 * @example
 * const verify = createDeliveryVerifier({ secrets: process.env.KEEL_SIGNING_SECRET!.split(" ") });
 * const delivery = await verify({ headers: req.headers, body: rawBody });
 */
export function createDeliveryVerifier(options: VerifyOptions): DeliveryVerifier {
  const list = typeof options.secrets === "string" ? [options.secrets] : [...options.secrets];
  if (list.length === 0) throw new TypeError("verifyDelivery: give at least one whsec_ secret");
  const keys: StandardKey[] = list.map((secret, i) => {
    try {
      return parseStandardSecret(String(secret));
    } catch (err) {
      throw new TypeError(`verifyDelivery: secret #${i + 1}: ${(err as Error).message}`);
    }
  });
  const toleranceMs = (options.toleranceSeconds ?? 300) * 1000;
  if (!(toleranceMs >= 0)) throw new TypeError("verifyDelivery: toleranceSeconds must be 0 or more");
  const now = options.now ?? Date.now;

  return async <P>(input: DeliveryInput): Promise<KeelDelivery<P>> => {
    const id = header(input.headers, DELIVERY_HEADER.id);
    const stamp = header(input.headers, DELIVERY_HEADER.timestamp);
    const signature = header(input.headers, DELIVERY_HEADER.signature);
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
    if ((await verifyStandard({ id, timestamp: stamp, body: input.body }, signature, keys)) === 0) {
      throw new DeliveryVerificationError("bad_signature", "no signature matches the configured secrets");
    }
    const body = typeof input.body === "string" ? input.body : new TextDecoder().decode(input.body);
    return describe<P>(input.headers, id, timestamp, body);
  };
}

/**
 * Verifies one delivery (Standard Webhooks signature, timestamp tolerance, rotation) and returns
 * its typed details. Rejects with DeliveryVerificationError carrying a `reason`.
 *
 * @example
 * const delivery = await verifyDelivery({ headers: req.headers, body: rawBody }, { secrets: ["whsec_…"] });
 * console.log(delivery.jobId, delivery.attempt, delivery.payload);
 */
export function verifyDelivery<P = unknown>(
  input: DeliveryInput,
  options: VerifyOptions,
): Promise<KeelDelivery<P>> {
  return createDeliveryVerifier(options)<P>(input);
}

/** The typed details of a verified delivery. */
function describe<P>(
  headers: HeadersInput,
  webhookId: string,
  timestamp: Date,
  body: string,
): KeelDelivery<P> {
  const meta = decodeDeliveryMeta((name) => header(headers, name));
  if (typeof meta === "string") throw new DeliveryVerificationError("not_a_keel_delivery", meta);
  const signedJob = jobIdOfWebhookId(webhookId);
  if (signedJob !== undefined && signedJob !== meta.jobId) {
    throw new DeliveryVerificationError("header_mismatch", "keel-job-id differs from the signed webhook-id");
  }
  const contentType = header(headers, "content-type") ?? null;
  let payload: unknown;
  // Jobs are JSON; a forwarded event keeps its own content type (form-encoded, XML, text…).
  if (body !== "" && (contentType === null || isJsonContentType(contentType))) {
    try {
      payload = JSON.parse(body);
    } catch {
      throw new DeliveryVerificationError(
        "invalid_payload",
        "the body is not JSON, though its content type says so",
      );
    }
  }
  const fireTime = meta.fireTime ? new Date(meta.fireTime) : null;
  return {
    jobId: meta.jobId,
    attempt: meta.attempt,
    queue: meta.queue,
    tenant: meta.tenant,
    schedule: meta.schedule,
    fireTime: fireTime && !Number.isNaN(fireTime.getTime()) ? fireTime : null,
    source: meta.source,
    event: meta.event,
    webhookId,
    timestamp,
    contentType,
    body,
    payload: payload as P,
  };
}

/** One header's value from either kind of headers; the first of repeated ones. */
export function header(headers: HeadersInput, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}
