// The Idempotency-Key store contract, once: the engine's Postgres store has this shape, the SDK's
// Redis and Postgres stores implement it, and runtime-neutral code types against it without the
// engine.

/** A stored response, replayed to retries of the same request. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type BeginResult =
  /** This request holds the key: run it, then call `finish`. */
  | { state: "started" }
  /** The first request with this key is still running: answer 409. */
  | { state: "in_flight" }
  /** The key was used with a different request: answer 422. */
  | { state: "mismatch" }
  /** The first request finished: replay its response. */
  | { state: "completed"; response: StoredResponse };

export interface BeginInput {
  /** Whose key: a token id or tenant, so two clients' keys never collide. */
  scope: string;
  key: string;
  /** A digest of what makes the request the same request (method, path, body). */
  fingerprint: string;
  /** How long the record is kept; default 24 h. */
  ttlSeconds?: number;
  /** After this long a started request counts as abandoned and a retry may take over; default 60 s. */
  lockSeconds?: number;
}

export interface FinishInput {
  scope: string;
  key: string;
  fingerprint: string;
  response: StoredResponse;
}

/**
 * Where Idempotency-Key records live. `begin` must be atomic: of any number of concurrent
 * requests with one key, exactly one gets `started`. Postgres (`postgresIdempotencyStore`) and
 * Redis (`redisIdempotencyStore`) are provided; engine's `Idempotency` has this shape too.
 */
export interface IdempotencyStore {
  begin(input: BeginInput): Promise<BeginResult>;
  /** Stores the response of the request that got `started`. */
  finish(input: FinishInput): Promise<void>;
  /** Releases what the store opened itself (not a client or engine you passed in). */
  close?(): Promise<void>;
}
