// Rate limiting: the limiter, the in-memory store, the RateLimit headers, key helpers.
// Stores: @keel/sdk/ratelimit/redis, @keel/sdk/ratelimit/postgres. Middleware: @keel/sdk/next,
// /hono, /express, /fastify. Everything here but keyByToken (node:crypto) is runtime-neutral.

export {
  createRateLimiter,
  DECISION_OUTCOMES,
  type DecisionEvent,
  type DecisionOutcome,
  FAIL_MODES,
  type FailMode,
  formatRateLimit,
  formatRateLimitPolicy,
  type GcraOutcome,
  type GcraParams,
  gcra,
  type HeaderSource,
  type LimitRequest,
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  POLICY_NAME,
  type Policy,
  type PolicyResult,
  policyProblems,
  type RateLimitDecision,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitLog,
  type RateLimitStore,
  type ResolvedPolicy,
  rateLimitHeaders,
  type StoreEntry,
  type StoreOutcome,
  StoreTimeoutError,
  validatePolicy,
} from "@keel/protocol/ratelimit";
export { type AddressKeyOptions, keyByAddress, keyByUser } from "./keys.js";
export type { RateLimitMiddlewareOptions } from "./middleware/shared.js";
export { keyByToken } from "./token-key.js";
