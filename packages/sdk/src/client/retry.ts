import type { RetryMode } from "./operations.js";

export interface RetryOptions {
  /** Tries per call, the first included. Default 4. */
  attempts?: number;
  /** Backoff before the second try; doubles per try, with jitter. Default 250 ms. */
  baseDelayMs?: number;
  /** Longest backoff between tries. Default 5 s. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the error surfaces. Default 30 s. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
};

// Errors answered when a retry cannot help soon: a kill switch is an operator's decision.
const LASTING = new Set(["enqueue_disabled"]);
// Failures of the path to Keel, or of Keel for a moment.
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
// Connection errors raised before any byte of the request was sent.
const NOT_SENT = new Set(["ECONNREFUSED", "EAI_AGAIN", "ENOTFOUND", "ENETUNREACH", "EHOSTUNREACH"]);

/** Whether an error answer may be retried under `mode`. */
export function retryableAnswer(mode: RetryMode, status: number, code: string): boolean {
  // 429 comes from the authentication slow-down, before any route runs: nothing happened.
  if (status === 429) return true;
  if (mode === "unsafe") return false;
  if (status === 409) return code === "idempotency_in_flight";
  return TRANSIENT_STATUS.has(status) && !LASTING.has(code);
}

/** Whether a failed fetch may be retried under `mode`: for `unsafe`, only if nothing was sent. */
export function retryableFailure(mode: RetryMode, err: unknown): boolean {
  return mode !== "unsafe" || NOT_SENT.has(connectionErrorCode(err) ?? "");
}

/** The system error code behind undici's "fetch failed" (`ECONNREFUSED`…), if any. */
export function connectionErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  return typeof code === "string" ? code : undefined;
}

/** Milliseconds before try `next` (2, 3…): `Retry-After` when given, else capped exponential with equal jitter. */
export function retryDelay(
  options: Required<RetryOptions>,
  next: number,
  retryAfterSeconds?: number,
): number {
  if (retryAfterSeconds !== undefined) return retryAfterSeconds * 1000;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (next - 2));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Parses `Retry-After` (seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
