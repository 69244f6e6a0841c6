import type { BeginInput, BeginResult, Client, StoredResponse } from "@keel/engine";
import { requestFingerprint } from "@keel/protocol/json";
import type { IdempotencyOutcome } from "@keel/protocol/names";
import { ApiError, type ErrorReply } from "./errors.js";

/** The part of `engine.idempotency` the API uses. */
export interface IdempotencyStore {
  begin(input: BeginInput): Promise<BeginResult>;
  finish(
    input: { scope: string; key: string; fingerprint: string; response: StoredResponse },
    options?: { client?: Client },
  ): Promise<void>;
}

/** Runs a function in one Postgres transaction (`engine.transaction`). */
export type Transaction = <T>(fn: (client: Client) => Promise<T>) => Promise<T>;

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
 * response, a retry while it runs a 409, the key with another request a 422. `run` gets the
 * client of one transaction in which it makes its change (and its audit row) and the response
 * is stored: a crash or failure anywhere before the commit leaves neither, so the retry that
 * takes the key over once its lock lapses (engine default: 60 s) makes the change once.
 * Errors below 500 are stored too (the same request fails the same way), after the rollback;
 * 5xx are not. `onOutcome` hears what happened, once per request
 * (`keel_idempotency_requests_total{outcome}`).
 *
 * @example
 * const out = await runIdempotent(engine.idempotency, req, (client) => create(client), (fn) => engine.transaction(fn), describe, logFailure);
 * reply.code(out.response.status).send(out.response.body);
 */
export async function runIdempotent(
  store: IdempotencyStore,
  request: IdempotentRequest,
  run: (client: Client) => Promise<{ status: number; body: unknown }>,
  transaction: Transaction,
  describe: (err: unknown) => ErrorReply,
  onFinishFailed: (err: unknown) => void,
  onOutcome: (outcome: IdempotencyOutcome) => void = () => {},
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const { scope, key } = request;
  const fp = await fingerprint(request);
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
    response = await transaction(async (client) => {
      const out = await run(client);
      const stored = {
        status: out.status,
        headers: { "content-type": JSON_TYPE },
        body: JSON.stringify(out.body),
      };
      await store.finish({ scope, key, fingerprint: fp, response: stored }, { client });
      return stored;
    });
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
  return { response, replayed: false };
}

/**
 * The request's fingerprint (@keel/protocol/json, as the SDK's middleware computes it): SHA-256
 * of method, path and the body with object keys sorted (key order is not meaning).
 */
export function fingerprint(request: Pick<IdempotentRequest, "method" | "path" | "body">): Promise<string> {
  return requestFingerprint({ method: request.method, url: request.path, body: request.body ?? null });
}
