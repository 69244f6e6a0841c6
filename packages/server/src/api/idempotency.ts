import { hash } from "node:crypto";
import type { BeginInput, BeginResult, Client, KeyedWrite, StoredResponse } from "@keel/engine";
import { fingerprintBytes } from "@keel/protocol/json";
import type { IdempotencyOutcome } from "@keel/protocol/names";
import { ApiError, type ErrorReply } from "./errors.js";

/** The part of `engine.idempotency` the API uses. */
export interface IdempotencyStore {
  begin(input: BeginInput): Promise<BeginResult>;
  finish(
    input: { scope: string; key: string; fingerprint: string; response: StoredResponse },
    options?: { client?: Client },
  ): Promise<void>;
  /** Gives back a key whose request failed before its change committed (`Idempotency.release`). */
  release?(input: { scope: string; key: string; fingerprint: string }): Promise<void>;
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

/** A request's key once it holds it: the handler's write may complete it (`keyedWrite`). */
export interface HeldKey {
  scope: string;
  key: string;
  fingerprint: string;
  /** The response the handler's write stored with its change, once it took it; sent as is. */
  stored?: StoredResponse;
}

export interface IdempotentRun {
  /**
   * Runs the request. With `transaction`, in it: `client` is the transaction the change joins
   * and the response is stored on it. Without, the handler stores the response with its own
   * write through `held` (`keyedWrite`: a grouped enqueue commits the job and the record
   * together); a handler that stored nothing has its response stored after it returns.
   */
  run: (client: Client | undefined, held: HeldKey) => Promise<{ status: number; body: unknown }>;
  transaction?: Transaction;
  describe: (err: unknown) => ErrorReply;
  onFinishFailed: (err: unknown) => void;
  /** Hears what happened, once per request (`keel_idempotency_requests_total{outcome}`). */
  onOutcome?: (outcome: IdempotencyOutcome) => void;
}

const JSON_TYPE = "application/json; charset=utf-8";

/** What is stored and sent for a handler's answer. */
export function storedResponse(out: { status: number; body: unknown }): StoredResponse {
  return { status: out.status, headers: { "content-type": JSON_TYPE }, body: JSON.stringify(out.body) };
}

/**
 * The engine's `KeyedWrite` for a handler's one write: the response `respond` makes of what the
 * write made is stored in the write's transaction. Undefined when the request holds no key.
 *
 * @example
 * const created = (job: EnqueueResult) => ({ status: 201, body: job });
 * return created(await engine.enqueue(input, { ...as(call), idempotency: keyedWrite(call.held, created) }));
 */
export function keyedWrite<R>(
  held: HeldKey | undefined,
  respond: (result: R) => { status: number; body: unknown },
): KeyedWrite<R> | undefined {
  if (!held) return undefined;
  const { scope, key, fingerprint } = held;
  return {
    scope,
    key,
    fingerprint,
    response: (result) => {
      held.stored = storedResponse(respond(result));
      return held.stored;
    },
  };
}

/**
 * Runs `run` once per Idempotency-Key (IETF draft): a retry after it finished gets the stored
 * response, a retry while it runs a 409, the key with another request a 422. The response is
 * stored in the transaction that makes the request's change (and its audit row): a crash or
 * failure anywhere before the commit leaves neither, so the retry that takes the key over once
 * its lock lapses (engine default: 60 s) makes the change once. Errors below 500 are stored
 * too (the same request fails the same way), after the rollback; 5xx are not, and when the
 * handler itself failed (nothing committed) the key is released so a retry runs at once.
 *
 * @example
 * const out = await runIdempotent(engine.idempotency, req, { run: (client) => create(client), transaction: (fn) => engine.transaction(fn), describe, onFinishFailed });
 * reply.code(out.response.status).send(out.response.body);
 */
export async function runIdempotent(
  store: IdempotencyStore,
  request: IdempotentRequest,
  options: IdempotentRun,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const { scope, key } = request;
  const onOutcome = options.onOutcome ?? (() => {});
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
  const held: HeldKey = { scope, key, fingerprint: fp };
  const finish = (response: StoredResponse, client?: Client) =>
    store.finish({ scope, key, fingerprint: fp, response }, client ? { client } : {});
  let response: StoredResponse;
  // Whether the handler's change may have committed apart from the record: a handler without a
  // transaction that returned. In the runner's transaction any failure rolls the change back.
  let committedApart = false;
  try {
    const { transaction } = options;
    if (transaction) {
      response = await transaction(async (client) => {
        const stored = storedResponse(await options.run(client, held));
        await finish(stored, client);
        return stored;
      });
    } else {
      const out = await options.run(undefined, held);
      committedApart = true;
      // What the write stored is what is sent: a replay gets the same bytes.
      response = held.stored ?? storedResponse(out);
      if (!held.stored) await finish(response);
    }
  } catch (err) {
    const described = options.describe(err);
    if (described.status < 500) {
      await finish({
        status: described.status,
        headers: { ...described.headers, "content-type": JSON_TYPE },
        body: JSON.stringify(described.body),
      }).catch(options.onFinishFailed);
    } else if (!committedApart && store.release) {
      // Nothing committed (the transaction, or the handler's keyed write, rolled back; a lost
      // commit acknowledgement left the record completed, which release leaves): retry at once.
      await store.release({ scope, key, fingerprint: fp }).catch(options.onFinishFailed);
    }
    throw err;
  }
  return { response, replayed: false };
}

/**
 * The request's fingerprint (@keel/protocol/json's `requestFingerprint`, as the SDK's middleware
 * computes it): SHA-256 of method, path and the body with object keys sorted (key order is not
 * meaning), hashed here with node:crypto.
 */
export function fingerprint(request: Pick<IdempotentRequest, "method" | "path" | "body">): string {
  return hash(
    "sha256",
    fingerprintBytes({ method: request.method, url: request.path, body: request.body ?? null }),
    "hex",
  );
}
