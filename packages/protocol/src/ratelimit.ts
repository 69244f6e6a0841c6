// Rate limiting, runtime-neutral: GCRA on integer microseconds, policies, the limiter with its
// fail modes, the in-memory store, the Redis store over a client the caller brings, the
// RateLimit headers. Keel's `/v1/ratelimit` and the SDK's middleware use the same code.
export { admits, type GcraOutcome, type GcraParams, gcra } from "./ratelimit/gcra.js";
export {
  formatRateLimit,
  formatRateLimitPolicy,
  type HeaderSource,
  rateLimitHeaders,
} from "./ratelimit/headers.js";
export { createRateLimiter, RateLimiter, type RateLimiterOptions } from "./ratelimit/limiter.js";
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from "./ratelimit/memory-store.js";
export {
  FAIL_MODES,
  type FailMode,
  MAX_LIMIT,
  MAX_REPLICAS,
  MAX_WINDOW_SECONDS,
  POLICY_NAME,
  type Policy,
  policyProblems,
  type ResolvedPolicy,
  validatePolicy,
} from "./ratelimit/policy.js";
export {
  type RateLimitRedisOptions,
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  type RedisScriptClient,
  rateLimitRedisOptions,
} from "./ratelimit/redis-store.js";
export { decide, type RateLimitStore, type StoreEntry, type StoreOutcome } from "./ratelimit/store.js";
export { StoreTimeoutError, withTimeout } from "./ratelimit/timeout.js";
export {
  DECISION_OUTCOMES,
  type DecisionEvent,
  type DecisionOutcome,
  type LimitRequest,
  type PolicyResult,
  type RateLimitDecision,
  type RateLimitLog,
} from "./ratelimit/types.js";
