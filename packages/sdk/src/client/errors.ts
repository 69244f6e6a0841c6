import type { ErrorCode } from "@keel/protocol/errors";

/**
 * A code from Keel's error registry (docs/reference/errors.md); any other string when the server
 * is newer than this SDK, or `unexpected_response` when the answer was not Keel's error envelope
 * (a proxy's HTML 502, say).
 */
export type ApiErrorCode = ErrorCode | "unexpected_response" | (string & {});

export interface ApiErrorInit {
  code: ApiErrorCode;
  message: string;
  status: number;
  method: string;
  /** The path under /v1, without the query string. */
  path: string;
  requestId?: string;
  /** From the `Retry-After` header, when the server sent one. */
  retryAfterSeconds?: number;
}

/**
 * Keel answered with an error. Match on `code` (stable); `message` says what to change.
 *
 * @example
 * try { await keel.jobs.get("42"); }
 * catch (err) { if (err instanceof KeelApiError && err.code === "job_not_found") return null; throw err; }
 */
export class KeelApiError extends Error {
  override name = "KeelApiError";
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly method: string;
  readonly path: string;
  /** The `x-request-id` of the answer: quote it when asking about a 500. */
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.code = init.code;
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** 400, 413, 415, 422: the request itself must change (`invalid_argument`, `unknown_option`…). */
export class KeelInvalidRequestError extends KeelApiError {
  override name = "KeelInvalidRequestError";
}

/** 401 `unauthorized` or 403 `forbidden`: a missing, revoked or too narrow token. */
export class KeelAuthError extends KeelApiError {
  override name = "KeelAuthError";
}

/** 404: `job_not_found`, `queue_not_found`, `token_not_found`, `not_found`. */
export class KeelNotFoundError extends KeelApiError {
  override name = "KeelNotFoundError";
}

/** 409: the resource's state forbids it now (`job_not_retryable`, `idempotency_in_flight`…). */
export class KeelConflictError extends KeelApiError {
  override name = "KeelConflictError";
}

/** 429 `too_many_requests`; `retryAfterSeconds` says when to come back. */
export class KeelRateLimitedError extends KeelApiError {
  override name = "KeelRateLimitedError";
}

/** 5xx: Keel or something in front of it failed (`internal_error`, `enqueue_disabled`…). */
export class KeelServerError extends KeelApiError {
  override name = "KeelServerError";
}

/**
 * No answer came: the connection failed, was dropped, or the attempt timed out. For calls sent
 * with an Idempotency-Key the client has already retried with the same key before this surfaces.
 */
export class KeelNetworkError extends Error {
  override name = "KeelNetworkError";
  constructor(
    message: string,
    readonly method: string,
    readonly path: string,
    /** True when the attempt ran past `timeoutMs`. */
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The typed error for an answer's status. */
export function apiError(init: ApiErrorInit): KeelApiError {
  const { status } = init;
  if (status === 401 || status === 403) return new KeelAuthError(init);
  if (status === 404) return new KeelNotFoundError(init);
  if (status === 409) return new KeelConflictError(init);
  if (status === 429) return new KeelRateLimitedError(init);
  if (status >= 500) return new KeelServerError(init);
  if (status >= 400) return new KeelInvalidRequestError(init);
  return new KeelApiError(init);
}
