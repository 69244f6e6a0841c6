import { createRequire } from "node:module";
import { type Engine, PostgresRateLimitStore } from "@keel/engine";
import {
  createRateLimiter,
  type Policy,
  type RateLimiter,
  RedisRateLimitStore,
  rateLimitRedisOptions,
} from "@keel/protocol/ratelimit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { KeelMetrics } from "../metrics/index.js";

export interface ServerRateLimiterOptions {
  /** The config file's policies (config/policies.ts `toPolicies`). */
  policies: Policy[];
  /** REDIS_URL: the store when set; else Keel's Postgres. */
  redisUrl: string | undefined;
  /** Where the Postgres store lives when there is no Redis. */
  engine: Pick<Engine, "pool" | "schema" | "namedStatements">;
  metrics: KeelMetrics;
  logger: Logger;
  /** How long a check waits for the store before the fail modes decide. Default 50 ms. */
  storeTimeoutMs?: number;
}

/**
 * The limiter behind POST /v1/ratelimit/check: Redis when REDIS_URL is set, else the engine's
 * Postgres; each decision counted in `keel_ratelimit_decisions_total{policy,outcome}`. Undefined
 * when the config file declares no policy (then no Redis connection is opened either). Redis
 * being down at start is not fatal: the fail modes answer until it connects.
 */
export function openRateLimiter(options: ServerRateLimiterOptions): RateLimiter | undefined {
  const { policies, metrics, logger } = options;
  if (policies.length === 0) return undefined;
  const timeoutMs = options.storeTimeoutMs ?? 50;
  const store = options.redisUrl
    ? // The schema in the prefix: Keels on different schemas may share one Redis.
      new RedisRateLimitStore({
        prefix: `keel:rl:${options.engine.schema}:`,
        client: openRedis(options.redisUrl, timeoutMs),
        owned: true,
      })
    : new PostgresRateLimitStore({
        pool: options.engine.pool,
        schema: options.engine.schema,
        namedStatements: options.engine.namedStatements,
      });
  const log = logger.child({ component: "ratelimit", store: store.kind });
  const limiter = createRateLimiter({
    store,
    policies,
    timeoutMs,
    onDecision: ({ policy, outcome }) => metrics.rateLimitDecisions.inc({ policy, outcome }),
    log: (level, message, fields) => log[level](fields, message),
  });
  // Known series start at 0 so rate() sees the first decision of each.
  for (const { name } of policies) {
    for (const outcome of ["allowed", "denied"]) metrics.rateLimitDecisions.inc({ policy: name, outcome }, 0);
  }
  return limiter;
}

/**
 * An ioredis client with the limiter's options (@keel/protocol's `rateLimitRedisOptions`):
 * commands fail at once while Redis is down and time out after `commandTimeoutMs`; it
 * reconnects by itself. Connection errors surface as failed checks, not as log noise. ioredis is
 * loaded here, when REDIS_URL is set: a Keel without Redis does not carry it (decision 023).
 */
export function openRedis(url: string, commandTimeoutMs: number): Redis {
  const { Redis } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  const client = new Redis(url, rateLimitRedisOptions(commandTimeoutMs));
  client.on("error", () => {});
  return client;
}
