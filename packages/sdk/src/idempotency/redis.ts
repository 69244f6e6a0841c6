import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { recordKey } from "./redis-cache.js";
import {
  type BeginInput,
  type BeginResult,
  type FinishInput,
  type IdempotencyStore,
  withTimeout,
} from "./store.js";

// KEYS[1] the record; ARGV fingerprint, lock ms, keep ms. Time from Redis, not the app.
// Returns {state[, status, headers, body]}. A record past its lock with the same fingerprint
// was abandoned (its process died): the retry takes it over. The first write is the HSET: Redis
// refuses it when out of memory (noeviction), whereas a script that began with a DEL would be
// let through past maxmemory, since Redis lets a script that has written finish its writes.
const BEGIN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'fp', 'state', 'lock', 'status', 'headers', 'body')
local take = not r[1] or (r[2] == 'started' and r[1] == ARGV[1] and tonumber(r[3]) < now)
if take then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'started', 'lock', now + tonumber(ARGV[2]))
  redis.call('HDEL', KEYS[1], 'status', 'headers', 'body')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'started'}
end
if r[1] ~= ARGV[1] then return {'mismatch'} end
if r[2] == 'started' then return {'in_flight'} end
return {'completed', r[4], r[5], r[6]}
`;

// KEYS[1] the record; ARGV fingerprint, status, headers (JSON), body. Keeps the record's TTL.
const FINISH = `
local r = redis.call('HMGET', KEYS[1], 'fp', 'state')
if r[1] ~= ARGV[1] or r[2] ~= 'started' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'completed', 'status', ARGV[2], 'headers', ARGV[3], 'body', ARGV[4])
redis.call('HDEL', KEYS[1], 'lock')
return 1
`;

export interface RedisIdempotencyStoreOptions {
  /** An ioredis client you opened (and will close). */
  redis: Redis;
  /** Key prefix. Default `keel:idem:`. */
  prefix?: string;
  /** A store call slower than this fails (the middleware answers 503, nothing runs). Default 500 ms. */
  timeoutMs?: number;
}

/**
 * Idempotency-Key records in Redis: one hash per key, taken atomically by a Lua script with
 * Redis's clock, expired by its TTL. Without Postgres, Redis is the only copy: a Redis that
 * loses data (restart without persistence, eviction) forgets keys. Use `noeviction` and AOF, or
 * `postgresIdempotencyStore` with Redis as its cache (decision 020).
 *
 * @example
 * const store = redisIdempotencyStore({ redis: new Redis(process.env.REDIS_URL) });
 */
export function redisIdempotencyStore(options: RedisIdempotencyStoreOptions): IdempotencyStore {
  const { redis } = options;
  const prefix = `${options.prefix ?? "keel:idem:"}r:`;
  const timeoutMs = options.timeoutMs ?? 500;
  const run = (script: Script, key: string, args: (string | number)[]) =>
    withTimeout(evalScript(redis, script, key, args), timeoutMs, "idempotency store (Redis)");
  return {
    async begin(input: BeginInput): Promise<BeginResult> {
      const lockMs = (input.lockSeconds ?? 60) * 1000;
      const keepMs = (input.ttlSeconds ?? 86_400) * 1000;
      const out = (await run(BEGIN_SCRIPT, recordKey(prefix, input.scope, input.key), [
        input.fingerprint,
        lockMs,
        keepMs,
      ])) as string[];
      const [state, status, headers, body] = out;
      if (state === "completed") {
        return {
          state,
          response: { status: Number(status), headers: JSON.parse(headers ?? "{}"), body: body ?? "" },
        };
      }
      if (state === "started" || state === "in_flight" || state === "mismatch") return { state };
      throw new Error(`idempotency store (Redis): unexpected answer ${String(state)}`);
    },
    async finish(input: FinishInput): Promise<void> {
      const { response } = input;
      await run(FINISH_SCRIPT, recordKey(prefix, input.scope, input.key), [
        input.fingerprint,
        response.status,
        JSON.stringify(response.headers),
        response.body,
      ]);
    },
  };
}

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") });
const BEGIN_SCRIPT = script(BEGIN);
const FINISH_SCRIPT = script(FINISH);

/** EVALSHA, loading the script with EVAL when Redis does not have it yet (after a restart). */
async function evalScript(redis: Redis, s: Script, key: string, args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, 1, key, ...args);
  } catch (err) {
    if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
    return redis.eval(s.source, 1, key, ...args);
  }
}
