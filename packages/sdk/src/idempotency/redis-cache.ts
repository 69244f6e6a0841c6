import type { Redis } from "ioredis";
import { type BeginInput, type StoredResponse, withTimeout } from "./store.js";

export interface IdempotencyCacheOptions {
  redis: Redis;
  /** Key prefix. Default `keel:idem:`. */
  prefix?: string;
  /** A cache read slower than this is skipped (Postgres answers instead). Default 50 ms. */
  timeoutMs?: number;
  /** How long a completed response stays cached. Default 300 s. */
  ttlSeconds?: number;
  /** Cache failures, which never fail a request. */
  onError?: (err: unknown) => void;
}

interface CachedRecord {
  fingerprint: string;
  response: StoredResponse;
}

/** `scope` and `key` in one Redis key, length-prefixed so no two pairs collide. */
export function recordKey(prefix: string, scope: string, key: string): string {
  return `${prefix}${scope.length}:${scope}:${key}`;
}

/**
 * Completed responses in Redis, read before Postgres. Only completed records are cached: they
 * never change, so a stale entry can at worst replay a response (or refuse a reused key) a few
 * minutes past the Postgres record's expiry; it can never let a request run twice.
 */
export function redisCache(options: IdempotencyCacheOptions): {
  get(scope: string, key: string): Promise<CachedRecord | undefined>;
  set(
    input: Pick<BeginInput, "scope" | "key" | "fingerprint" | "ttlSeconds">,
    response: StoredResponse,
  ): Promise<void>;
} {
  const prefix = `${options.prefix ?? "keel:idem:"}c:`;
  const timeoutMs = options.timeoutMs ?? 50;
  const ttl = options.ttlSeconds ?? 300;
  const failed = (err: unknown) => {
    options.onError?.(err);
    return undefined;
  };
  return {
    async get(scope, key) {
      try {
        const raw = await withTimeout(
          options.redis.get(recordKey(prefix, scope, key)),
          timeoutMs,
          "idempotency cache read",
        );
        return raw ? (JSON.parse(raw) as CachedRecord) : undefined;
      } catch (err) {
        return failed(err);
      }
    },
    async set(input, response) {
      const seconds = Math.min(ttl, input.ttlSeconds ?? 86_400);
      const record: CachedRecord = { fingerprint: input.fingerprint, response };
      try {
        await withTimeout(
          options.redis.set(recordKey(prefix, input.scope, input.key), JSON.stringify(record), "EX", seconds),
          timeoutMs,
          "idempotency cache write",
        );
      } catch (err) {
        failed(err);
      }
    },
  };
}
