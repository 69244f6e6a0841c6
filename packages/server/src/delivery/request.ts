import { DEFAULT_ATTEMPT_TIMEOUT_MS, type HttpTarget, type JobOrigin } from "@keel/engine";
import { webhookIdOf } from "@keel/protocol/delivery";
import type { Dispatcher } from "undici";
import { forwardedHeaders } from "../intake/headers.js";
import { type QStashSigningKeys, signQStash } from "../qstash/signature.js";
import {
  AddressRefusedError,
  DeliveryError,
  DeliveryRefusedError,
  DeliveryRetryAfterError,
} from "./errors.js";
import { keelHeaders, resolveTargetHeaders, type VariableAccess } from "./headers.js";
import { parseRetryAfter } from "./retry-after.js";
import { type SigningKey, signPayload } from "./signing.js";
import { undici } from "./undici.js";

/** How much of a response body an attempt keeps (the rest is never read). */
export const RESPONSE_BODY_LIMIT = 16 * 1024;

/** One attempt of one job, as the worker hands it over. */
export interface DeliveryAttempt {
  jobId: string;
  attempt: number;
  queue: string;
  tenant: string | null;
  /** The schedule slot or intake event that made the job; null for jobs enqueued directly. */
  origin?: JobOrigin | null;
  target: HttpTarget;
  payload: unknown;
  /**
   * A webhook event to forward instead of the payload: its raw body and content type, and the
   * provider's headers (signature headers included, so an existing handler keeps its checks).
   */
  forward?: ForwardedEvent;
}

/** What a delivery of a stored webhook event sends, read from the event at attempt time. */
export interface ForwardedEvent {
  body: Buffer;
  contentType: string | null;
  headers: Record<string, string>;
}

export interface SendOptions {
  /** The keep-alive Agent with the SSRF-guarded connector (see createDeliveryAgent). */
  dispatcher: Dispatcher;
  signingKeys: readonly SigningKey[];
  /** Sign `signing: "qstash"` targets with `current` (KEEL_QSTASH_*_SIGNING_KEY); never logged. */
  qstashKeys?: QStashSigningKeys | undefined;
  /**
   * Connect, response headers and recorded body together, when the target sets no `timeoutMs`
   * (deliver.ts passes the queue's `deliveryTimeoutMs` here). Default 30 s.
   */
  timeoutMs?: number;
  /** The job's signal: lease lost or worker stopping. The attempt is abandoned, not recorded. */
  signal?: AbortSignal;
  variables?: VariableAccess;
  /** Clock for `webhook-timestamp`, in milliseconds. Default `Date.now`. */
  now?: () => number;
}

export type DeliveryFailure = DeliveryError | DeliveryRefusedError | DeliveryRetryAfterError;

/** What one attempt saw. `error` is what the handler throws: its class decides the retry. */
export interface DeliveryResult {
  ok: boolean;
  status?: number;
  latencyMs: number;
  /** The first 16 KiB of the response body, as UTF-8 text. */
  body?: string;
  error?: DeliveryFailure;
}

/**
 * Makes one delivery attempt: a signed request to the target, the response classified.
 * Never throws for the endpoint's behaviour (that is in the result); rethrows only the job
 * signal's reason when the worker abandons the attempt.
 *
 * @example
 * const result = await sendDelivery(
 *   { jobId: "42", attempt: 1, queue: "hooks", tenant: null, target: { url }, payload: { a: 1 } },
 *   { dispatcher: agent, signingKeys: parseSigningSecrets([secret]) },
 * );
 */
export async function sendDelivery(attempt: DeliveryAttempt, options: SendOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let prepared: Prepared;
  try {
    prepared = await prepare(attempt, options);
  } catch (err) {
    if (err instanceof DeliveryError || err instanceof DeliveryRefusedError) {
      return { ok: false, latencyMs: elapsed(), error: err };
    }
    throw err;
  }
  const { url, method, headers, body } = prepared;

  const timeoutMs = attemptTimeoutMs(attempt.target, options.timeoutMs);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal;
  let status: number | undefined;
  const chunks: Buffer[] = [];
  try {
    // undici's own header and body timeouts (300 s by default) would cut a longer attempt: this
    // attempt's timer is the one limit.
    const res = await undici().request(url, {
      dispatcher: options.dispatcher,
      method,
      headers,
      body,
      signal,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    status = res.statusCode;
    await readStart(res.body, RESPONSE_BODY_LIMIT, chunks);
    const error = classifyStatus(res.statusCode, res.headers);
    return { ok: error === undefined, status, latencyMs: elapsed(), body: asText(chunks), error };
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    const error = transportError(err, timeout.signal, timeoutMs, status);
    // Whatever arrived before a timeout is kept; without a status there is no body.
    const body = status === undefined ? undefined : asText(chunks);
    return { ok: false, status, latencyMs: elapsed(), body, error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The time limit of one attempt: the target's `timeoutMs`, else `fallbackMs` (the queue's
 * `deliveryTimeoutMs` or the deliverer's default), else 30 s (decision 028).
 *
 * @example
 * attemptTimeoutMs({ url, timeoutMs: 300_000 }, 60_000); // 300000
 */
export function attemptTimeoutMs(target: HttpTarget, fallbackMs?: number | null): number {
  const own = target.timeoutMs;
  // Targets are validated when stored; a row written by hand falls back rather than failing.
  if (typeof own === "number" && Number.isInteger(own) && own > 0) return own;
  return fallbackMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
}

interface Prepared {
  url: URL;
  method: NonNullable<HttpTarget["method"]>;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

/** The signed request for one attempt; throws a delivery error when the target cannot be sent. */
async function prepare(attempt: DeliveryAttempt, options: SendOptions): Promise<Prepared> {
  const url = targetUrl(attempt.target.url);
  const method = attempt.target.method ?? "POST";
  const { forward } = attempt;
  const { contentType } = attempt.target;
  const body = method === "GET" ? undefined : forward ? forward.body : bodyOf(attempt.payload, contentType);
  // Stable per job, so receivers can deduplicate retries and at-least-once duplicates.
  const webhookId = webhookIdOf(attempt.jobId);
  const timestamp = Math.floor((options.now ?? Date.now)() / 1000);
  // A forwarded event is signed over its raw bytes, exactly as sent.
  const signature = await signPayload({
    id: webhookId,
    timestamp,
    body: body ?? "",
    secrets: options.signingKeys,
  });
  const own = keelHeaders({ ...attempt, webhookId, timestamp, signature, hasBody: body !== undefined });
  if (forward) {
    delete own["content-type"];
    if (body !== undefined && forward.contentType) own["content-type"] = forward.contentType;
  } else if (body !== undefined && contentType) own["content-type"] = contentType;
  if (attempt.target.signing === "qstash") {
    Object.assign(own, qstashHeaders(attempt, body ?? "", options, timestamp));
  }
  // The provider's own headers, without those Keel sets (its signature, identity, framing).
  const original = forward ? forwardedHeaders(forward.headers) : {};
  const target = resolveTargetHeaders(attempt.target.headers, options.variables, attempt.origin);
  // Originals and the target may replace user-agent; every other Keel header is reserved (headers.ts).
  for (const name of [...Object.keys(original), ...Object.keys(target)]) delete own[name.toLowerCase()];
  for (const name of Object.keys(target)) delete original[name.toLowerCase()];
  return { url, method, headers: { ...own, ...original, ...target }, body };
}

/** A target's body: with `contentType`, a string payload as is; otherwise the payload's JSON. */
function bodyOf(payload: unknown, contentType: string | undefined): string {
  if (contentType && typeof payload === "string") return payload;
  return JSON.stringify(payload ?? null);
}

/**
 * The headers QStash's receivers read: the `Upstash-Signature` JWT over the URL and body as
 * sent, the message id and how often it was retried. A worker without the key retries later
 * (the key can be added and Keel restarted) rather than sending an unsigned request.
 */
function qstashHeaders(
  attempt: DeliveryAttempt,
  body: string | Buffer,
  options: SendOptions,
  now: number,
): Record<string, string> {
  const key = options.qstashKeys?.current;
  if (!key) {
    throw new DeliveryError(
      "delivery_signing_unconfigured",
      'the target asks for signing "qstash" and this worker has no KEEL_QSTASH_CURRENT_SIGNING_KEY; set it (and KEEL_QSTASH_NEXT_SIGNING_KEY) and restart the worker',
    );
  }
  return {
    "upstash-signature": signQStash({ url: attempt.target.url, body, key, now }),
    "upstash-message-id": webhookIdOf(attempt.jobId),
    "upstash-retried": String(attempt.attempt - 1),
  };
}

function targetUrl(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new DeliveryRefusedError(
      "delivery_invalid_target",
      "the target url is not an absolute http(s) URL",
    );
  }
  if (url.username || url.password) {
    // Stored and logged with the job: credentials belong in headers with ${VAR}.
    throw new DeliveryRefusedError(
      "delivery_invalid_target",
      "the target url contains credentials; send them as a header using ${VAR} instead",
    );
  }
  return url;
}

/**
 * Reads at most `limit` bytes into `chunks`, then destroys the stream: a huge body is never
 * read into memory and an endless one does not hold the attempt (the timeout cuts one that
 * stalls first; what arrived until then stays in `chunks`).
 */
async function readStart(stream: AsyncIterable<Buffer>, limit: number, chunks: Buffer[]): Promise<void> {
  let size = 0;
  for await (const chunk of stream) {
    const part = chunk.subarray(0, limit - size);
    chunks.push(part);
    size += part.length;
    // Leaving the loop destroys the stream: undici then drops the connection.
    if (size >= limit) break;
  }
}

function asText(chunks: Buffer[]): string {
  // Postgres text cannot hold NUL; a binary body is kept as lossy text.
  return new TextDecoder().decode(Buffer.concat(chunks)).replaceAll("\u0000", "\uFFFD");
}

function classifyStatus(
  status: number,
  headers: Record<string, string | string[] | undefined>,
): DeliveryFailure | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 410) {
    return new DeliveryRefusedError(
      "delivery_gone",
      "the endpoint answered 410 Gone; the job is not retried",
    );
  }
  if (status >= 300 && status < 400) {
    const location = String(headers.location ?? "").slice(0, 200);
    return new DeliveryError(
      "delivery_redirect",
      `the endpoint answered ${status}${location ? ` (to ${location})` : ""}; redirects are not followed: use the final URL as the target`,
    );
  }
  if (status === 429 || status === 503) {
    const seconds = parseRetryAfter(headers["retry-after"]);
    if (seconds !== undefined) {
      return new DeliveryRetryAfterError(
        seconds,
        `the endpoint answered ${status} with Retry-After: retrying in ${seconds}s`,
      );
    }
  }
  return new DeliveryError("delivery_status", `the endpoint answered ${status}`);
}

function transportError(
  err: unknown,
  timedOut: AbortSignal,
  timeoutMs: number,
  status: number | undefined,
): DeliveryError {
  const code = (err as { code?: unknown }).code;
  if (timedOut.aborted || code === "UND_ERR_CONNECT_TIMEOUT") {
    const during = status === undefined ? "" : ` (status ${status} received, body still arriving)`;
    return new DeliveryError("delivery_timeout", `no complete response within ${timeoutMs} ms${during}`);
  }
  if (err instanceof AddressRefusedError) {
    return new DeliveryError(
      "delivery_address_refused",
      `${err.message}: refused by the delivery address policy; if this target is trusted, add it to KEEL_TARGET_ALLOWLIST`,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DeliveryError("delivery_network", typeof code === "string" ? `${code}: ${message}` : message);
}
