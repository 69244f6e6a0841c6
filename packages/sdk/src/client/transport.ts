import { type ApiErrorCode, apiError, type KeelApiError, KeelNetworkError } from "./errors.js";
import type { RetryMode } from "./operations.js";
import {
  DEFAULT_RETRY,
  parseRetryAfter,
  type RetryOptions,
  retryableAnswer,
  retryableFailure,
  retryDelay,
  sleep,
} from "./retry.js";

export interface ClientOptions {
  /** Keel's address, e.g. `http://localhost:7070` (a trailing `/v1` is accepted). */
  baseUrl: string;
  /** An API token (`keel_…`) or the admin token. Sent as `Authorization: Bearer`. */
  token?: string;
  /** Per attempt, until the whole answer is read. Default 30 s. */
  timeoutMs?: number;
  /** Retry policy; `false` sends each call once. */
  retry?: RetryOptions | false;
  /** Extra headers on every request (not `authorization` or `idempotency-key`). */
  headers?: Record<string, string>;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Sees every answer, retries included (for logs and metrics). Must not throw. */
  onResponse?: (info: ResponseInfo) => void;
}

export interface ResponseInfo {
  method: string;
  path: string;
  status: number;
  /** 1 on the first try. */
  attempt: number;
  requestId: string | undefined;
  /** True when Keel replayed the stored answer of an earlier try with the same Idempotency-Key. */
  replayed: boolean;
}

/** What `KeelClient.request` sends; the typed methods are built on it. */
export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Under /v1, parameters already filled in: `/jobs/42`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Default: `keyed` for POST, `safe` for the other methods. */
  retry?: RetryMode;
  /** For `keyed` calls; default one random key per call, reused by its retries. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** Per-call options of the typed methods. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Per-call options of create calls. */
export interface CreateOptions extends CallOptions {
  /** Your own key (1–255 characters), e.g. derived from the business event; default random per call. */
  idempotencyKey?: string;
}

/** Sends requests to one Keel: auth, JSON, timeouts, retries and typed errors. */
export class Transport {
  private readonly root: string;
  private readonly retry: Required<RetryOptions>;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    if (!URL.canParse(options.baseUrl)) {
      throw new TypeError("KeelClient: baseUrl must be an absolute URL such as http://localhost:7070");
    }
    this.root = `${options.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`;
    this.retry =
      options.retry === false ? { ...DEFAULT_RETRY, attempts: 1 } : { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async send<T>(spec: RequestSpec): Promise<T> {
    const mode = spec.retry ?? (spec.method === "POST" ? "keyed" : "safe");
    const key = mode === "keyed" ? (spec.idempotencyKey ?? globalThis.crypto.randomUUID()) : undefined;
    const url = this.url(spec);
    const headers: Record<string, string> = {
      accept: "application/json",
      ...this.options.headers,
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      ...(key ? { "idempotency-key": key } : {}),
      ...(spec.body === undefined ? {} : { "content-type": "application/json" }),
    };
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.retry.attempts;
      let failure: KeelApiError | KeelNetworkError;
      let retryAfter: number | undefined;
      try {
        const out = await this.attempt<T>(spec, url, headers, body, attempt);
        if (out.ok) return out.value;
        failure = out.error;
        retryAfter = out.error.retryAfterSeconds;
        if (last || !retryableAnswer(mode, out.error.status, out.error.code)) throw failure;
      } catch (err) {
        if (!(err instanceof KeelNetworkError)) throw err;
        if (last || !retryableFailure(mode, err.cause)) throw err;
        failure = err;
      }
      const wait = retryDelay(this.retry, attempt + 1, retryAfter);
      if (wait > this.retry.maxRetryAfterMs) throw failure;
      await sleep(wait, spec.signal);
    }
  }

  private url(spec: RequestSpec): string {
    const url = new URL(this.root + spec.path);
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** One try: the parsed answer, or its typed error; throws KeelNetworkError when none came. */
  private async attempt<T>(
    spec: RequestSpec,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    attempt: number,
  ): Promise<{ ok: true; value: T } | { ok: false; error: KeelApiError }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    let status: number;
    let text: string;
    let response: Response;
    try {
      response = await this.fetch(url, { method: spec.method, headers, body, signal, redirect: "manual" });
      status = response.status;
      text = await response.text();
    } catch (err) {
      // The caller's own abort is theirs to handle, not a network failure to retry.
      if (spec.signal?.aborted) throw spec.signal.reason;
      const timedOut = timeout.aborted;
      const why = timedOut ? `no answer within ${this.timeoutMs} ms` : describe(err);
      throw new KeelNetworkError(`${spec.method} ${spec.path}: ${why}`, spec.method, spec.path, timedOut, {
        cause: err,
      });
    }
    const requestId = response.headers.get("x-request-id") ?? undefined;
    this.options.onResponse?.({
      method: spec.method,
      path: spec.path,
      status,
      attempt,
      requestId,
      replayed: response.headers.get("idempotent-replayed") === "true",
    });
    const parsed = parseJson(text);
    if (status >= 200 && status < 300 && parsed.ok) return { ok: true, value: parsed.value as T };
    const envelope = parsed.ok ? (parsed.value as { error?: { code?: unknown; message?: unknown } }) : {};
    const known = typeof envelope?.error?.code === "string" && typeof envelope.error.message === "string";
    const code = (known ? envelope.error?.code : "unexpected_response") as ApiErrorCode;
    const message = known
      ? String(envelope.error?.message)
      : `${spec.method} ${spec.path}: unexpected ${status} answer${text ? `: ${text.slice(0, 200)}` : ""}`;
    return {
      ok: false,
      error: apiError({
        code,
        message,
        status,
        method: spec.method,
        path: spec.path,
        requestId,
        retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")),
      }),
    };
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
  return err instanceof Error ? err.message : String(err);
}
