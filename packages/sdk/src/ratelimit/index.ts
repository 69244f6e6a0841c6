// Rate limiting: the limiter, the in-memory store, the RateLimit headers, key helpers.
// Stores: @keel/sdk/ratelimit/redis, @keel/sdk/ratelimit/postgres. Middleware: @keel/sdk/next,
// /hono, /express, /fastify. Everything here but keyByToken (node:crypto) is runtime-neutral.

export {
  FAIL_MODES,
  type FailMode,
  type GcraOutcome,
  type GcraParams,
  gcra,
  POLICY_NAME,
  type Policy,
  policyProblems,
  type ResolvedPolicy,
  validatePolicy,
} from "@keel/protocol/ratelimit";
export { formatRateLimit, formatRateLimitPolicy, type HeaderSource, rateLimitHeaders } from "./headers.js";
export { type AddressKeyOptions, keyByAddress, keyByUser } from "./keys.js";
export { createRateLimiter, RateLimiter, type RateLimiterOptions } from "./limiter.js";
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from "./memory-store.js";
export type { RateLimitMiddlewareOptions } from "./middleware/shared.js";
export type { RateLimitStore, StoreEntry, StoreOutcome } from "./store.js";
export { StoreTimeoutError } from "./timeout.js";
export { keyByToken } from "./token-key.js";
export {
  DECISION_OUTCOMES,
  type DecisionEvent,
  type DecisionOutcome,
  type LimitRequest,
  type PolicyResult,
  type RateLimitDecision,
  type RateLimitLog,
} from "./types.js";
