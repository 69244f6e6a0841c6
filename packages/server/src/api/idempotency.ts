import { createHash } from "node:crypto";
import type { BeginInput, BeginResult, StoredResponse } from "@keel/engine";
import type { IdempotencyOutcome } from "@keel/sdk";
import { ApiError, type ErrorReply } from "./errors.js";

/** The part of `engine.idempotency` the API uses. */
export interface IdempotencyStore {
  begin(input: BeginInput): Promise<BeginResult>;
  finish(input: { scope: string; key: string; fingerprint: string; response: StoredResponse }): Promise<void>;
}

export interface IdempotentRequest {
  /** The principal's id: two clients' keys never collide. */
  scope: string;
  key: string;
  method: string;
  /** The path without the query string. */
  path: string;
  body: unknown;
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * Runs `run` once per Idempotency-Key (IETF draft): a retry after it finished gets the stored
 * response, a retry while it runs a 409, the key with another request a 422. Errors below 500
 * are stored too (the same request fails the same way); 5xx are not, so a retry after the
 * outage runs again once the key's lock lapses (engine default: 60 s). `onOutcome` hears what
 * happened, once per request (`keel_idempotency_requests_total{outcome}`).
 *
 * @example
 * const out = await runIdempotent(engine.idempotency, req, () => create(), describe);
 * reply.code(out.response.status).send(out.response.body);
 */
export async function runIdempotent(
  store: IdempotencyStore,
  request: IdempotentRequest,
  run: () => Promise<{ status: number; body: unknown }>,
  describe: (err: unknown) => ErrorReply,
  onFinishFailed: (err: unknown) => void,
  onOutcome: (outcome: IdempotencyOutcome) => void = () => {},
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const { scope, key } = request;
  const fp = fingerprint(request);
  let begun: BeginResult;
  try {
    begun = await store.begin({ scope, key, fingerprint: fp });
  } catch (err) {
    onOutcome("unavailable");
    throw err;
  }
  switch (begun.state) {
    case "in_flight":
      onOutcome("in_flight");
      throw new ApiError("idempotency_in_flight", {}, { "retry-after": "1" });
    case "mismatch":
      onOutcome("mismatch");
      throw new ApiError("idempotency_key_reused");
    case "completed":
      onOutcome("replayed");
      return { response: begun.response, replayed: true };
  }
  onOutcome("started");
  let response: StoredResponse;
  try {
    const out = await run();
    response = { status: out.status, headers: { "content-type": JSON_TYPE }, body: JSON.stringify(out.body) };
  } catch (err) {
    const described = describe(err);
    if (described.status < 500) {
      const stored: StoredResponse = {
        status: described.status,
        headers: { ...described.headers, "content-type": JSON_TYPE },
        body: JSON.stringify(described.body),
      };
      await store.finish({ scope, key, fingerprint: fp, response: stored }).catch(onFinishFailed);
    }
    throw err;
  }
  // The work is done: a failure to store the response must not turn it into an error.
  await store.finish({ scope, key, fingerprint: fp, response }).catch(onFinishFailed);
  return { response, replayed: false };
}

/** SHA-256 of method, path and the body with object keys sorted (key order is not meaning). */
export function fingerprint(request: Pick<IdempotentRequest, "method" | "path" | "body">): string {
  return createHash("sha256")
    .update(`${request.method} ${request.path}\n${canonicalJson(request.body)}`)
    .digest("hex");
}

/** JSON with object keys sorted. Bodies reach here validated, so their depth is bounded. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
