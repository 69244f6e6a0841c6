import { asDatabaseError, ERROR_CODES, type ErrorCode, formatError } from "@keel/engine";
import type { FastifyRequest } from "fastify";
import { MAX_PARAM_LENGTH } from "../http/limits.js";

/** The registry codes only the HTTP API answers (they live in the engine's one registry). */
const API_ONLY = [
  "not_found",
  "unsupported_media_type",
  "idempotency_in_flight",
  "idempotency_key_reused",
  "internal_error",
] as const;
export type ApiErrorCode = (typeof API_ONLY)[number];
export const API_ERROR_CODES = Object.fromEntries(API_ONLY.map((code) => [code, ERROR_CODES[code]])) as Pick<
  typeof ERROR_CODES,
  ApiErrorCode
>;
export type AnyErrorCode = ErrorCode;

const REGISTRY: Record<string, { status: number; message: string }> = ERROR_CODES;

/** Every code the API can answer with its status, for the OpenAPI document and tests. */
export function errorStatus(code: AnyErrorCode): number {
  return (REGISTRY[code] as { status: number }).status;
}

/** An error the API answers as `{"error":{"code","message"}}`, with optional response headers. */
export class ApiError extends Error {
  readonly code: AnyErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    code: AnyErrorCode,
    params: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(formatError(code, params));
    this.name = "ApiError";
    this.code = code;
    this.status = errorStatus(code);
    this.headers = headers;
  }
}

/** What to answer for an error: status, headers and the envelope. */
export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

// Postgres refusing a value the validation let through: a client error, not a server fault.
const PG_DATA_ERRORS: Record<string, string> = {
  "22P05": "a string holds a character Postgres cannot store",
  "22021": "a string holds a character Postgres cannot store",
  "22P02": "a value is not valid JSON text for Postgres (an unpaired surrogate?)",
  "22008": "a date or time is out of range",
  "22003": "a number is out of range",
};

/**
 * Maps anything a route can throw to the error envelope: ApiError and engine KeelErrors as they
 * are (recognised by shape: tests run the engine from source, a second copy of the class),
 * Fastify's own errors to registry codes, the rest to a 500 without internals in production.
 */
export function describeError(err: unknown, request: FastifyRequest, production: boolean): ErrorReply {
  const e = err as { code?: unknown; status?: unknown; statusCode?: unknown; name?: unknown };
  const headers = err instanceof ApiError ? err.headers : {};
  if (
    err instanceof Error &&
    typeof e.code === "string" &&
    e.code in REGISTRY &&
    typeof e.status === "number"
  ) {
    if (e.code === "database_unavailable") return databaseUnavailable(err.message, production);
    return reply(e.status, e.code, err.message, headers);
  }
  const known = fastifyError(err, request);
  if (known) return known;
  const database = asDatabaseError(err);
  if (database !== err) return describeError(database, request, production);
  const pg = typeof e.code === "string" ? PG_DATA_ERRORS[e.code] : undefined;
  if (pg) return reply(400, "invalid_argument", `The request cannot be stored: ${pg}.`);
  const detail = production
    ? `Internal error. The server log has the details under request id ${request.id}.`
    : `Internal error (request id ${request.id}): ${err instanceof Error ? err.message : String(err)}`;
  return reply(500, "internal_error", detail);
}

function fastifyError(err: unknown, request: FastifyRequest): ErrorReply | undefined {
  const e = err as { code?: string; statusCode?: number };
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE": {
      const limit = request.routeOptions.bodyLimit;
      const size = request.headers["content-length"] ?? `more than ${limit}`;
      return reply(413, "payload_too_large", fill("payload_too_large", { size, limit }));
    }
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return reply(
        415,
        "unsupported_media_type",
        fill("unsupported_media_type", { contentType: String(request.headers["content-type"] ?? "") }),
      );
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return reply(
        400,
        "invalid_argument",
        "The request body is not valid JSON (keys named __proto__ or constructor.prototype are refused too).",
      );
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return reply(400, "invalid_argument", "The content-length header does not match the body sent.");
    // Raised by the router before any route runs (Fastify's frameworkErrors).
    case "FST_ERR_BAD_URL":
      return reply(400, "invalid_url", fill("invalid_url", { path: clip(request.url.split("?")[0]) }));
    case "FST_ERR_MAX_PARAM_LENGTH":
      return reply(414, "uri_too_long", fill("uri_too_long", { limit: MAX_PARAM_LENGTH }));
  }
  if (status === 404) {
    const path = request.url.split("?")[0];
    return reply(404, "not_found", fill("not_found", { method: request.method, path }));
  }
  return reply(status, "invalid_argument", err instanceof Error ? err.message : "Bad request.");
}

// Clients back off on 503; one second is about how long Keel takes to notice Postgres is back.
const DATABASE_RETRY_AFTER = { "retry-after": "1" };

/** In production without the driver's detail: it names the database host and port. */
function databaseUnavailable(message: string, production: boolean): ErrorReply {
  const text = production
    ? fill("database_unavailable", {
        detail: "Postgres did not answer or refused the connection (details in Keel's log)",
      })
    : message;
  return reply(503, "database_unavailable", text, DATABASE_RETRY_AFTER);
}

/** Text from the request, cut for an error message. */
function clip(text: string | undefined): string {
  const s = text ?? "";
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function fill(code: AnyErrorCode, params: Record<string, unknown>): string {
  return new ApiError(code, params).message;
}

function reply(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): ErrorReply {
  return { status, headers, body: { error: { code, message } } };
}
