import type { BeginInput, BeginResult, StoredResponse } from "@keel/engine";

export type { BeginInput, BeginResult, StoredResponse };

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

/** Rejects with `timeout` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
